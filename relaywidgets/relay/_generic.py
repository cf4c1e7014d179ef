"""The greedy search with any estimator object, one estimator call per candidate set.

Used for the continuous estimators (``gcmi``, ``ksg``: no coarse-graining) and for discrete estimators
the counting search does not know. Slower than :mod:`._greedy` (n(n+1)/2 estimator calls per
concept and time step) but the same algorithm, including the tie-break.
"""

from __future__ import annotations

import warnings
import numpy as np

from ..info import Estimator
from ._greedy import TIE_TOL, PathResult

__all__ = ["GenericTerms", "generic_path"]


class GenericTerms:
    """T(W) for node subsets W of one time slice, through an estimator's public methods.

    ``source="input"``: T(W) = H(O | h[W]); ``source="label"``: T(W) = I(Y; O | h[W]) =
    H(O | h[W]) - H(O | h[W], Y), the second term averaged over the label's strata for a continuous
    estimator (which cannot condition on a mixed continuous/discrete variable).
    """

    def __init__(self, estimator: Estimator, data: np.ndarray, label: np.ndarray | None = None) -> None:
        self.est = estimator
        self.data = data
        self.label = label
        self.continuous = estimator.kind == "continuous"
        if label is not None:
            self.strata = [np.flatnonzero(label == v) for v in np.unique(label)]

    def _h(self, out: np.ndarray, rows: np.ndarray | None, cols: np.ndarray) -> float:
        o = out if rows is None else out[rows]
        x = self.data if rows is None else self.data[rows]
        return self._conditional(o, x[:, cols])

    def _conditional(self, o: np.ndarray, given: np.ndarray) -> float:
        """H(O | given); 0 for a constant output."""
        if o.size == 0 or np.all(o == o[0]):
            return 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undersampling is reported once by the caller
            return float(self.est.conditional_entropy(o, given))

    def term(self, out: np.ndarray, cols: np.ndarray) -> float:
        cols = np.asarray(cols, dtype=np.int64)
        h = self._h(out, None, cols)
        if self.label is None:
            return h
        if self.continuous:
            n = out.size
            h_y = sum(idx.size / n * self._h(out, idx, cols) for idx in self.strata)
        else:
            h_y = self._conditional(out, np.column_stack([self.data[:, cols], self.label]))
        return h - h_y


def generic_path(
    terms_of: GenericTerms,
    out: np.ndarray,
    n_nodes: int,
    *,
    t_full: float,
    tiebreak: np.ndarray,
    floor: float | None = None,
    largest: bool = True,
) -> PathResult:
    """Greedy elimination with one estimator call per candidate (see :func:`._greedy.greedy_path`)."""
    order = np.full(n_nodes, -1, dtype=np.int64)
    terms = np.full(n_nodes + 1, np.nan)
    alive = np.ones(n_nodes, dtype=bool)
    z: list[int] = []
    terms[0] = terms_of.term(out, np.array(z, dtype=np.int64))
    for step in range(n_nodes):
        live = np.flatnonzero(alive)
        if len(live) == 1:
            order[step] = live[0]
            break
        if floor is not None and terms[step] - t_full <= floor:
            rest = live[np.lexsort((live, tiebreak[live]))]
            order[step:] = rest
            terms[n_nodes] = t_full
            return PathResult(order, terms, step)
        vals = np.array([terms_of.term(out, np.array(z + [int(a)], dtype=np.int64)) for a in live])
        tied = live[vals >= vals.max() - TIE_TOL] if largest else live[vals <= vals.min() + TIE_TOL]
        pick = int(tied[np.lexsort((tied, tiebreak[tied]))[0]])
        order[step] = pick
        alive[pick] = False
        z.append(pick)
        terms[step + 1] = vals[np.flatnonzero(live == pick)[0]]
    terms[n_nodes] = t_full
    return PathResult(order, terms, n_nodes)
