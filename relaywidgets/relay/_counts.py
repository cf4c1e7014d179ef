"""A vectorised discrete estimator bound to the array backend the search's counts live on.

The greedy search (:mod:`._greedy`) and the per-slice scores (:mod:`._slice`) count the joint states
of the output O and of many candidate conditioning sets W with one ``bincount``, and hand the count
array to the estimator's hook :meth:`~relaywidgets.info.DiscreteEstimator.conditional_entropy_from_counts`.
The formulas live in the estimator classes (``relaywidgets.info.estimation``); this module only
binds an estimator to a backend and reads its capability flags.
"""

from __future__ import annotations

from typing import Any

from ..info import DiscreteEstimator
from ..info.backends import Backend

__all__ = ["CountingEstimator", "counting_fast_path"]


def counting_fast_path(est: Any) -> bool:
    """Whether the counting search applies: a discrete estimator whose count hooks are vectorised."""
    return isinstance(est, DiscreteEstimator) and bool(est.vectorised_counts)


class CountingEstimator:
    """H(O | W) from count arrays through ``est``'s hook, on the backend ``ops``.

    Parameters
    ----------
    est : DiscreteEstimator
        With ``vectorised_counts``; its flags ``drops_pure_groups``, ``monotone_in_given`` and
        ``needs_alphabet`` steer the search's exact shortcuts.
    ops : NumpyBackend or TorchBackend
        Where the counts live (a torch backend only for estimators with ``supports_torch``).
    """

    def __init__(self, est: DiscreteEstimator, ops: Backend) -> None:
        self.est = est
        self.ops = ops
        self.drops_pure = bool(est.drops_pure_groups)
        self.monotone = bool(est.monotone_in_given)
        self.needs_alphabet = bool(est.needs_alphabet)

    def conditional(self, cnt: Any, n_total: int, *, log2_cells_w: Any = None, log2_k_o: float = 0.0) -> Any:
        """H(O | W_m) in bits for every candidate ``m`` of the (G, K, V, M) counts ``cnt``."""
        return self.est.conditional_entropy_from_counts(
            cnt, n_total, backend=self.ops, log2_cells_w=log2_cells_w, log2_k_o=log2_k_o
        )
