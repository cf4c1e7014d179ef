"""The plug-in (maximum-likelihood) estimator: entropies of the empirical distribution of states."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..backends import get_backend
from .base import DiscreteEstimator

__all__ = ["PluginEstimator"]


def _sum(x: Any, axis: int | tuple[int, ...] | None) -> Any:
    """Sum over ``axis`` (every axis when None) for numpy arrays and torch tensors alike."""
    return x.sum() if axis is None else x.sum(axis)


def plugin_entropies(
    counts: Any, axis: int | tuple[int, ...] | None, n_samples: int | None, be: Any
) -> tuple[Any, Any, Any]:
    """Plug-in entropies in bits over ``axis``, with the numbers of occupied cells and of samples.

    ``H = log2(n) - sum(k log2 k) / n`` over the counts ``k`` (``k log2 k`` from a table); exactly 0
    for a distribution with one occupied cell.
    """
    m = _sum(counts > 0, axis)
    if n_samples is None:
        n = be.to_float(_sum(counts, axis))
        log2_n = be.log2(be.where(n > 0, n, 1.0))
    else:
        n, log2_n = float(n_samples), float(np.log2(max(n_samples, 1)))
        n_samples = int(n_samples)
    s = _sum(be.klogk(counts, n_samples), axis)
    h = log2_n - s / n
    return be.where(m > 1, h, 0.0), m, n


def plugin_conditional(counts: Any, n_w: Any, n_samples: int, be: Any) -> Any:
    """Plug-in H(O | W_m) = (sum_w f(n_w) - sum_{o,w} f(n_ow)) / N, f(k) = k log2 k, per candidate.

    ``counts`` (G, K, V, M) and ``n_w = counts.sum(1)``; groups pure in O may be missing (they add
    ``f(n_w) - f(n_w) = 0``), which is why ``N`` is passed rather than summed.
    """
    n = int(n_samples)
    return (_sum(be.klogk(n_w, n), (0, 1)) - _sum(be.klogk(counts, n), (0, 1, 2))) / float(n)


class PluginEstimator(DiscreteEstimator):
    """Plug-in (maximum-likelihood) entropy, mutual information and CMI of discrete variables.

    Each entropy is that of the sample's empirical distribution, ``-sum p log2 p`` with
    ``p = count / n``. Exact for the sample, biased for the population when states are many
    compared with samples (entropies low, mutual informations high).

    Parameters
    ----------
    backend, device : optional
        Where joint states are packed and counted (``backend="numpy"``, or ``"torch"`` with a
        ``device`` such as ``"cpu"`` or ``"cuda"``); both give the same numbers.
    min_samples_per_state : float
        Warn when the joint variable has more than ``n / min_samples_per_state`` observed states.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info.estimation.plugin import PluginEstimator
    >>> x = np.array([0, 0, 1, 1] * 5)
    >>> PluginEstimator().mutual_information(x, x)
    1.0
    >>> PluginEstimator().entropy_from_counts(np.array([[5, 5], [9, 1]]), axis=1).round(3).tolist()
    [1.0, 0.469]
    """

    name: ClassVar[str] = "plugin"
    description: ClassVar[str] = (
        "Plug-in (maximum-likelihood) estimate: entropies of the empirical distribution of joint states."
    )
    citation: ClassVar[str] = (
        "Paninski L. (2003) Estimation of entropy and mutual information. Neural Computation "
        "15(6):1191-1253."
    )
    vectorised_counts: ClassVar[bool] = True
    supports_torch: ClassVar[bool] = True
    drops_pure_groups: ClassVar[bool] = True
    monotone_in_given: ClassVar[bool] = True  # conditioning never increases a plug-in entropy
    non_negative: ClassVar[bool] = True

    def entropy_from_counts(
        self,
        counts: Any,
        *,
        axis: int | tuple[int, ...] | None = None,
        n_samples: int | None = None,
        log2_cells: Any = None,
        fit: Any = None,
        backend: Any = None,
    ) -> Any:
        """Plug-in entropies in bits over ``axis`` (see :meth:`DiscreteEstimator.entropy_from_counts`)."""
        be = get_backend(backend)
        return plugin_entropies(be.asarray(counts), axis, n_samples, be)[0]

    def conditional_entropy_from_counts(
        self,
        counts: Any,
        n_samples: int,
        *,
        backend: Any = None,
        log2_cells_w: Any = None,
        log2_k_o: float = 0.0,
    ) -> Any:
        """H(O | W_m) per candidate (see :meth:`DiscreteEstimator.conditional_entropy_from_counts`).

        The same entropies as :meth:`entropy_from_counts` with ``log2 N`` cancelled, so that
        groups pure in O may be left out of ``counts``.
        """
        be = get_backend(backend)
        if counts.shape[0] == 0:
            return be.to_float(counts.sum((0, 1, 2)))
        return plugin_conditional(counts, counts.sum(1), n_samples, be)
