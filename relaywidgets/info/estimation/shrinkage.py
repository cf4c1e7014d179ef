"""The James-Stein shrinkage estimator of Hausser & Strimmer (2009)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..backends import get_backend
from .base import DiscreteEstimator
from .plugin import _sum

__all__ = ["ShrinkageEstimator", "shrinkage_intensity", "shrunk_entropy"]


def shrinkage_intensity(counts: np.ndarray, log2_cells: float) -> float:
    """Optimal James-Stein shrinkage intensity towards the uniform distribution.

    ``lambda = (1 - sum u^2) / ((n - 1) * sum (1/K - u)^2)`` with ``u = counts / n`` over the
    ``K = 2 ** log2_cells`` cells (unobserved cells have ``u = 0``, so
    ``sum (1/K - u)^2 = sum u^2 - 1/K``), clipped to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> round(shrinkage_intensity(np.array([12, 5, 2, 1]), 2.0), 4)
    0.1607
    """
    return float(ShrinkageEstimator().fit_counts(np.asarray(counts), log2_cells=float(log2_cells)))


def shrunk_entropy(counts: np.ndarray, log2_cells: float, lam: float) -> float:
    """Entropy in bits of ``(1 - lam) * counts / n + lam / K`` over ``K = 2 ** log2_cells`` cells.

    The ``K - m`` unobserved cells each get ``lam / K``; their total contribution is computed in
    closed form, so ``K`` may be astronomically large (e.g. ``2**64`` for 64 binary nodes).
    """
    est = ShrinkageEstimator()
    return float(est.entropy_from_counts(np.asarray(counts), log2_cells=float(log2_cells), fit=float(lam)))


class ShrinkageEstimator(DiscreteEstimator):
    """James-Stein shrinkage entropy, mutual information and CMI (Hausser & Strimmer 2009).

    The cell frequencies of the joint variable of all arguments are shrunk towards the uniform
    distribution over its cells with the analytic optimal intensity ``lambda``; each marginal
    entropy is that of the shrunk joint distribution (which is again a shrinkage with the same
    ``lambda``), so mutual informations are those of one proper distribution and never negative.
    The number of cells of a variable is the product over its columns of the number of distinct
    values observed in the column.

    Parameters
    ----------
    backend, device : optional
        Where joint states are packed and counted (``backend="numpy"``, or ``"torch"`` with a
        ``device``); both give the same numbers.
    min_samples_per_state : float
        Warn when the joint variable has more than ``n / min_samples_per_state`` observed states.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info.estimation.shrinkage import ShrinkageEstimator
    >>> x = np.repeat([0, 1, 2, 3], [12, 5, 2, 1])  # plug-in entropy: 1.4905 bits
    >>> round(ShrinkageEstimator().entropy(x), 4)
    1.6478
    """

    name: ClassVar[str] = "shrinkage"
    description: ClassVar[str] = (
        "James-Stein shrinkage of the joint cell frequencies towards uniform, with the analytic "
        "optimal intensity."
    )
    citation: ClassVar[str] = (
        "Hausser J. & Strimmer K. (2009) Entropy inference and the James-Stein estimator, with "
        "application to nonlinear gene association networks. J. Mach. Learn. Res. 10:1469-1484."
    )
    vectorised_counts: ClassVar[bool] = True
    supports_torch: ClassVar[bool] = True
    needs_alphabet: ClassVar[bool] = True
    # One intensity couples every cell, so a pure group still matters: no dropping, no monotonicity.
    non_negative: ClassVar[bool] = True

    def conditional_entropy_from_counts(
        self,
        counts: Any,
        n_samples: int,
        *,
        backend: Any = None,
        log2_cells_w: Any = None,
        log2_k_o: float = 0.0,
    ) -> Any:
        """H(O | W_m) per candidate (see :meth:`DiscreteEstimator.conditional_entropy_from_counts`)."""
        be = get_backend(backend)
        # Float once: the intensity and both entropies read the same (large) count array.
        return super().conditional_entropy_from_counts(
            be.to_float(counts), n_samples, backend=be, log2_cells_w=log2_cells_w, log2_k_o=log2_k_o
        )

    def fit_counts(
        self, counts: Any, *, axis: int | tuple[int, ...] | None = None, log2_cells: Any = None, backend: Any = None
    ) -> Any:
        """The shrinkage intensity lambda of each joint distribution (see :func:`shrinkage_intensity`)."""
        be = get_backend(backend)
        c = be.to_float(be.asarray(counts))
        n = _sum(c, axis)
        u2 = _sum(c * c, axis) / (n * n)
        denom = (n - 1.0) * (u2 - 2.0**-log2_cells)
        safe = be.where(denom > 0, denom, 1.0)
        return be.where(denom > 0, be.clip((1.0 - u2) / safe, 0.0, 1.0), 1.0)

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
        """Entropies in bits of the shrunk distributions over ``axis``.

        ``fit`` is the intensity of the joint variable (from :meth:`fit_counts`), computed from
        ``counts`` themselves when omitted. See :meth:`DiscreteEstimator.entropy_from_counts`.
        """
        be = get_backend(backend)
        c = be.to_float(be.asarray(counts))
        lam = self.fit_counts(c, axis=axis, log2_cells=log2_cells, backend=be) if fit is None else fit
        n = _sum(c, axis) if n_samples is None else float(n_samples)
        inv_k = 2.0**-log2_cells
        occupied = c > 0
        p = (1.0 - lam) * c / n + lam * inv_k
        plogp = be.where(occupied, p * be.log2(be.where(occupied, p, 1.0)), 0.0)
        m = be.to_float(_sum(occupied, axis))
        h = -_sum(plogp, axis)
        # The K - m unobserved cells, each of probability lam / K, in closed form (K may be 2**64).
        safe_lam = be.where(lam > 0, lam, 1.0)
        return h - be.where(lam > 0, lam * (1.0 - m * inv_k) * (be.log2(safe_lam) - log2_cells), 0.0)
