"""The plug-in (maximum-likelihood) estimator: entropies of the empirical distribution of states."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..counting import entropy_from_counts
from .base import DiscreteEstimator

__all__ = ["PluginEstimator"]


class PluginEstimator(DiscreteEstimator):
    """Plug-in (maximum-likelihood) entropy, mutual information and CMI of discrete variables.

    Each entropy is that of the sample's empirical distribution, ``-sum p log2 p`` with
    ``p = count / n``. Exact for the sample, biased for the population when states are many
    compared with samples (entropies low, mutual informations high).

    Parameters
    ----------
    backend : {"numpy", "torch"}
        Where joint states are packed and counted; both give the same numbers.
    device : str, optional
        Torch device for ``backend="torch"`` (``"cpu"``, ``"cuda"``).
    min_samples_per_state : float
        Warn when the joint variable has more than ``n / min_samples_per_state`` observed states.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info.estimation.plugin import PluginEstimator
    >>> x = np.array([0, 0, 1, 1] * 5)
    >>> PluginEstimator().mutual_information(x, x)
    1.0
    """

    name: ClassVar[str] = "plugin"
    description: ClassVar[str] = (
        "Plug-in (maximum-likelihood) estimate: entropies of the empirical distribution of joint states."
    )
    citation: ClassVar[str] = (
        "Paninski L. (2003) Estimation of entropy and mutual information. Neural Computation "
        "15(6):1191-1253."
    )
    _non_negative: ClassVar[bool] = True

    def _entropies(
        self, counts: list[np.ndarray], n: int, log2_alphabets: list[float] | None, full: int
    ) -> list[float]:
        return [entropy_from_counts(c) for c in counts]
