"""The Miller-Madow estimator: plug-in entropy plus its first-order bias correction."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..backends import get_backend
from .base import DiscreteEstimator
from .plugin import plugin_conditional, plugin_entropies

__all__ = ["MillerMadowEstimator"]

_LN2 = float(np.log(2.0))


class MillerMadowEstimator(DiscreteEstimator):
    """Miller-Madow entropy, mutual information and CMI of discrete variables.

    Each joint entropy is the plug-in entropy plus ``(m - 1) / (2 n)`` nats, ``m`` the number of
    occupied states and ``n`` the number of samples; mutual informations are the corresponding
    sums of corrected entropies (so they can be slightly negative).

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
    >>> from relaywidgets.info.estimation.miller_madow import MillerMadowEstimator
    >>> round(MillerMadowEstimator().entropy(np.array([0, 1] * 10)), 4)
    1.0361
    """

    name: ClassVar[str] = "miller-madow"
    description: ClassVar[str] = (
        "Plug-in entropies plus the Miller-Madow bias correction (m - 1) / 2N nats, m = occupied states."
    )
    citation: ClassVar[str] = (
        "Miller G. A. (1955) Note on the bias of information estimates. In H. Quastler (ed.), "
        "Information Theory in Psychology: Problems and Methods, 95-100. Free Press."
    )
    vectorised_counts: ClassVar[bool] = True
    supports_torch: ClassVar[bool] = True
    # A pure group adds one occupied cell to both (O, W) and W: the correction's difference is unchanged.
    drops_pure_groups: ClassVar[bool] = True

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
        """Miller-Madow entropies in bits over ``axis`` (see :meth:`DiscreteEstimator.entropy_from_counts`)."""
        be = get_backend(backend)
        h, m, n = plugin_entropies(be.asarray(counts), axis, n_samples, be)
        return h + be.to_float(m - 1) / (2.0 * n * _LN2)

    def conditional_entropy_from_counts(
        self,
        counts: Any,
        n_samples: int,
        *,
        backend: Any = None,
        log2_cells_w: Any = None,
        log2_k_o: float = 0.0,
    ) -> Any:
        """H(O | W_m) per candidate: plug-in plus ``(m_OW - m_W) / (2 N ln 2)`` bits.

        See :meth:`DiscreteEstimator.conditional_entropy_from_counts`; ``log2 N`` and the ``- 1``
        of the corrections cancel, so groups pure in O may be left out of ``counts``.
        """
        be = get_backend(backend)
        if counts.shape[0] == 0:
            return be.to_float(counts.sum((0, 1, 2)))
        n_w = counts.sum(1)
        h = plugin_conditional(counts, n_w, n_samples, be)
        m_ow = (counts > 0).sum((0, 1, 2))
        m_w = (n_w > 0).sum((0, 1))
        return h + be.to_float(m_ow - m_w) / (2.0 * n_samples * _LN2)
