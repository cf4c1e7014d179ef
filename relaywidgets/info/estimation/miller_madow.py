"""The Miller-Madow estimator: plug-in entropy plus its first-order bias correction."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..counting import entropy_from_counts
from .base import DiscreteEstimator

__all__ = ["MillerMadowEstimator"]


class MillerMadowEstimator(DiscreteEstimator):
    """Miller-Madow entropy, mutual information and CMI of discrete variables.

    Each joint entropy is the plug-in entropy plus ``(m - 1) / (2 n)`` nats, ``m`` the number of
    occupied states and ``n`` the number of samples; mutual informations are the corresponding
    sums of corrected entropies (so they can be slightly negative).

    Parameters
    ----------
    backend : {"numpy", "torch"}
        Where joint states are packed and counted; both give the same numbers.
    device : str, optional
        Torch device for ``backend="torch"``.
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

    def _entropies(
        self, counts: list[np.ndarray], n: int, log2_alphabets: list[float] | None, full: int
    ) -> list[float]:
        out = []
        for c in counts:
            m = int(np.count_nonzero(c))
            out.append(entropy_from_counts(c) + (m - 1) / (2.0 * n * np.log(2.0)))
        return out
