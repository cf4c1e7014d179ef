"""Permutation tests and bootstrap confidence intervals for information estimates.

Shuffling one argument across samples destroys its dependence on the others while keeping every
marginal distribution, so the estimates on shuffled data form the null distribution of "no
information". Its mean is the estimator's bias floor at this sample size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import is_int
from ..errors import InputError
from . import functions
from .._validation import UndersamplingWarning, check_float, check_int

__all__ = ["PermutationResult", "permutation_test"]

_STATISTICS = {
    "entropy": functions.entropy,
    "conditional_entropy": functions.conditional_entropy,
    "mutual_information": functions.mutual_information,
    "conditional_mutual_information": functions.conditional_mutual_information,
}


@dataclass(frozen=True)
class PermutationResult:
    """Outcome of :func:`permutation_test`. Information values are in bits.

    Attributes
    ----------
    estimate : float
        The statistic on the data as given.
    null_mean : float
        Mean of the statistic over the permutations: the bias floor.
    null_quantiles : dict of float to float
        Quantiles of the null distribution (keys are probabilities, e.g. 0.95).
    p_value : float
        ``(#{null >= estimate} + 1) / (n_perm + 1)``.
    ci : tuple of float or None
        Percentile bootstrap confidence interval at level ``1 - alpha``, when requested.
    n_perm : int
    seed : int
    alpha : float
    null : numpy.ndarray
        The statistic on each permutation (read-only).
    """

    estimate: float
    null_mean: float
    null_quantiles: dict[float, float]
    p_value: float
    ci: tuple[float, float] | None
    n_perm: int
    seed: int
    alpha: float = 0.05
    null: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    @property
    def significant(self) -> bool:
        """Whether ``p_value < alpha``."""
        return self.p_value < self.alpha

    @property
    def corrected(self) -> float:
        """The estimate minus the null mean (a bias-corrected estimate)."""
        return self.estimate - self.null_mean


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an argument (samples on the first axis, or a DataArray's ``sample`` dim)."""
    if hasattr(x, "dims") and hasattr(x, "isel") and "sample" in x.dims:
        return x.isel(sample=idx)
    if hasattr(x, "detach") and hasattr(x, "index_select"):
        import torch

        return x.index_select(0, torch.as_tensor(idx, device=x.device))
    return np.asarray(x)[idx]


def _n_samples(x: Any) -> int:
    if hasattr(x, "dims") and "sample" in getattr(x, "dims", ()):
        return int(x.sizes["sample"])
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    if len(shape) == 0:
        raise InputError("permutation_test arguments must be arrays with samples on the first axis; got a scalar.")
    return int(shape[0])


def permutation_test(
    statistic: Callable[..., float] | str,
    *args: Any,
    n_perm: int = 100,
    seed: int = 0,
    permute: str | int | Sequence[int] = "first",
    bootstrap: int = 0,
    alpha: float = 0.05,
    quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99),
    **kwargs: Any,
) -> PermutationResult:
    """Permutation null distribution, empirical p-value and optional bootstrap CI of a statistic.

    Parameters
    ----------
    statistic : callable or str
        ``statistic(*args, **kwargs) -> float``, e.g. :func:`~relaywidgets.info.mutual_information`,
        or the name of one of ``"entropy"``, ``"conditional_entropy"``, ``"mutual_information"``,
        ``"conditional_mutual_information"``.
    *args : arrays
        The statistic's data arguments, samples on the first axis (a DataArray's ``sample`` dim).
    n_perm : int
        Number of permutations (at least 1).
    seed : int
        Seed; the result is a deterministic function of the data and the seed.
    permute : "first", int or sequence of int
        Which arguments are shuffled: the first (default; e.g. the output variable), one index,
        or several indices shuffled together by the same permutation.
    bootstrap : int
        Number of bootstrap resamples (rows of all arguments drawn together with replacement) for a
        percentile confidence interval at level ``1 - alpha``; 0 (default) skips it.
    alpha : float
        Significance level, used by ``result.significant`` and the CI.
    quantiles : sequence of float
        Probabilities of the null quantiles to report.
    **kwargs
        Passed to the statistic (e.g. ``estimator="gcmi"``).

    Returns
    -------
    PermutationResult

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, 500); y = x ^ (rng.random(500) < 0.1)
    >>> res = permutation_test("mutual_information", x, y, n_perm=99, seed=1)
    >>> res.p_value, res.significant
    (0.01, True)
    """
    if isinstance(statistic, str):
        if statistic not in _STATISTICS:
            listed = ", ".join(repr(s) for s in _STATISTICS)
            raise InputError(
                f"Unknown statistic {statistic!r}. Pass a callable or one of {listed}."
            )
        statistic = _STATISTICS[statistic]
    if not callable(statistic):
        raise InputError(
            f"The 'statistic' parameter of permutation_test must be callable or a name. Got {statistic!r} instead."
        )
    if not args:
        raise InputError("permutation_test needs the statistic's data arguments after the statistic.")
    n_perm = check_int(n_perm, "n_perm", "permutation_test", 1)
    seed = check_int(seed, "seed", "permutation_test", 0)
    bootstrap = check_int(bootstrap, "bootstrap", "permutation_test", 0)
    alpha = check_float(alpha, "alpha", "permutation_test", 0.0, 1.0, low_open=True)
    if not isinstance(quantiles, (Sequence, np.ndarray)) or isinstance(quantiles, (str, bytes)):
        raise InputError(
            "The 'quantiles' parameter of permutation_test must be a sequence of floats in [0, 1], e.g. (0.5, 0.95). "
            f"Got {quantiles!r} instead."
        )
    probs = [check_float(q, "quantiles", "permutation_test", 0.0, 1.0) for q in quantiles]
    if permute == "first":
        which = [0]
    elif is_int(permute):
        which = [int(permute)]
    elif isinstance(permute, Sequence) and not isinstance(permute, str) and all(
        is_int(i) for i in permute
    ) and len(permute) > 0:
        which = [int(i) for i in permute]
    else:
        raise InputError(
            f"The 'permute' parameter of permutation_test must be 'first', an argument index or a "
            f"sequence of indices. Got {permute!r} instead."
        )
    bad = [i for i in which if not -len(args) <= i < len(args)]
    if bad:
        raise InputError(
            f"The 'permute' parameter of permutation_test names argument(s) {bad}, but only "
            f"{len(args)} argument(s) were given."
        )
    which = sorted({i % len(args) for i in which})
    sizes = [_n_samples(a) for a in args]
    if len(set(sizes)) != 1:
        raise InputError(
            f"All arguments must have the same number of samples; got {sizes}. Index them with the same samples."
        )
    n = sizes[0]

    estimate = float(statistic(*args, **kwargs))
    ss = np.random.SeedSequence(seed)
    perm_rng, boot_rng = (np.random.default_rng(s) for s in ss.spawn(2))
    null = np.empty(n_perm)
    with warnings.catch_warnings():
        # The estimate on the data already warned; one warning per permutation would drown it.
        warnings.simplefilter("ignore", UndersamplingWarning)
        for i in range(n_perm):  # loops over permutations, each fully vectorised over samples
            perm = perm_rng.permutation(n)
            shuffled = [(_take(a, perm) if j in which else a) for j, a in enumerate(args)]
            null[i] = statistic(*shuffled, **kwargs)
        ci = None
        if bootstrap:
            boots = np.empty(bootstrap)
            for i in range(bootstrap):
                idx = boot_rng.integers(0, n, n)
                boots[i] = statistic(*[_take(a, idx) for a in args], **kwargs)
            lo, hi = np.quantile(boots, [alpha / 2.0, 1.0 - alpha / 2.0])
            ci = (float(lo), float(hi))
    # Values equal up to rounding count as "at least as large" (e.g. a permutation that changes nothing).
    tol = 1e-12 * max(1.0, abs(estimate))
    count = int(np.count_nonzero(null >= estimate - tol))
    null.setflags(write=False)
    return PermutationResult(
        estimate=estimate,
        null_mean=float(null.mean()),
        null_quantiles={p: float(np.quantile(null, p)) for p in probs},
        p_value=(count + 1.0) / (n_perm + 1.0),
        ci=ci,
        n_perm=n_perm,
        seed=seed,
        alpha=alpha,
        null=null,
    )
