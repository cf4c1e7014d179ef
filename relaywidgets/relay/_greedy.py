"""The fast greedy shrinking-subset search on integer state codes (METHOD.md, "Cost").

For one (concept, time) the search keeps an integer partition code of the complement Z: every
sample's group is the joint state of the nodes already removed from R. A step evaluates all
candidates a in R at once: the refined code ``(group, state of a)`` joined with the output O is
turned into one integer key per (sample, candidate) and counted with a single ``bincount``;
H(O | Z + a) for all candidates then comes from the counts through a table of k log2 k
(the estimator's hook, through :mod:`._counts`). The removed node refines the partition, which is re-densified once per step.

Two exact shortcuts keep the cost low, each allowed by a capability flag of the estimator. With
``drops_pure_groups`` (plug-in, Miller-Madow), a group whose samples all have the same output
contributes 0 to H(O | ...) for every refinement, so its samples are dropped from all later steps.
With ``monotone_in_given`` (plug-in), H(O | Z) never increases when Z grows, so once
I_R(R) = H(O | Z) - H(O | N) reaches 0 every later step is 0 too and the search ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..info.backends import NumpyBackend
from ._counts import CountingEstimator

__all__ = ["PathResult", "greedy_path", "conditional_columns", "pair_terms", "marginal_terms", "TIE_TOL"]

#: Candidates whose relay information lies within this many bits of the best are ties.
TIE_TOL = 1e-9


@dataclass
class PathResult:
    """Outcome of one greedy search.

    Attributes
    ----------
    order : ndarray of int64, shape (n,)
        Node positions in the order they were removed.
    terms : ndarray of float64, shape (n + 1,)
        The conditional term T(Z_s) after ``s`` removals (H(O | Z_s) for ``source="input"``,
        I(Y; O | Z_s) for ``source="label"``); NaN after an early stop.
    stopped : int
        Number of removals actually evaluated (``n`` unless stopped early).
    """

    order: np.ndarray
    terms: np.ndarray
    stopped: int


class _Partition:
    """Samples still in play and their dense group code in the current partition."""

    def __init__(self, ops: Any, act: Any, g: Any, n_groups: int) -> None:
        self.ops = ops
        self.act = act
        self.g = g
        self.n_groups = n_groups

    def refine(self, col: Any, k: int, o: Any, n_out: int, drop_pure: bool) -> Any:
        """Refine by one node's codes (``col`` over all samples).

        Returns the mask of kept samples when pure groups were dropped, else None.
        """
        ops = self.ops
        if self.n_groups == 0:
            return None
        key = self.g * k + col[self.act]
        self.g, self.n_groups = ops.densify(key, self.n_groups * k)
        return self.drop_pure(o, n_out) if drop_pure else None

    def drop_pure(self, o: Any, n_out: int) -> Any:
        """Drop the samples of groups whose output is constant (``o`` over all samples).

        Returns the mask of kept samples, or None when every group is mixed.
        """
        ops = self.ops
        cnt = ops.bincount(self.g * n_out + o[self.act], self.n_groups * n_out).reshape(self.n_groups, n_out)
        mixed = (cnt > 0).sum(1) > 1
        n_mixed = int(mixed.sum())
        if n_mixed == self.n_groups:
            return None
        keep = mixed[self.g]
        self.act = self.act[keep]
        self.g = (mixed.cumsum(0) - 1)[self.g[keep]]
        self.n_groups = n_mixed
        return keep


def greedy_path(
    codes: Any,
    out: Any,
    n_out: int,
    levels: int,
    estimator: CountingEstimator,
    *,
    label: Any = None,
    n_label: int = 0,
    t_full: float,
    tiebreak: np.ndarray,
    log2_levels: np.ndarray | None = None,
    log2_k_o: float = 0.0,
    floor: float | None = None,
    largest: bool = True,
) -> PathResult:
    """Run the greedy elimination for one output variable.

    Parameters
    ----------
    codes : int array (ops backend), shape (sample, node)
        State codes ``0 .. levels - 1`` of every node.
    out : int array, shape (sample,)
        Output states ``0 .. n_out - 1``.
    n_out : int
        Number of output states.
    levels : int
        One more than the largest code.
    estimator : CountingEstimator
        How entropies are obtained from counts.
    label : int array, shape (sample,), optional
        True labels ``0 .. n_label - 1``; given, the search runs on ``source="label"``:
        T(Z) = I(Y; O | Z) = H(O | Z) - H(O | Z, Y).
    t_full : float
        T(N), the term with every node in the complement.
    tiebreak : ndarray, shape (node,)
        Among tied candidates the one with the smallest value here is removed first (for
        ``order="least-loss"`` the marginal information, so the least informative node goes
        first; for ``"most-loss"`` its negative), then the lowest position.
    log2_levels : ndarray, shape (node,), optional
        log2 of each node's number of observed states (shrinkage only).
    log2_k_o : float
        log2 of the number of observed output states (shrinkage only).
    floor : float, optional
        Stop once I_R(R) = T(Z) - T(N) drops to this value or below (early stop).
    largest : bool, default True
        Remove the candidate whose removal leaves the largest relay information (``order="least-loss"``);
        False removes the one leaving the smallest (``"most-loss"``).

    Returns
    -------
    PathResult
    """
    ops = estimator.ops
    n_samples, n_nodes = codes.shape
    order = np.full(n_nodes, -1, dtype=np.int64)
    terms = np.full(n_nodes + 1, np.nan)
    drop = estimator.drops_pure
    monotone = estimator.monotone and label is None

    all_idx = ops.arange(n_samples)
    parts = [_Partition(ops, all_idx, all_idx * 0, 1)]
    if label is not None:
        parts.append(_Partition(ops, all_idx, label, n_label))
    if drop:
        # A partition starts pure when O is constant (within each label for the second one).
        for p in parts:
            p.drop_pure(out, n_out)

    log2_z = 0.0
    alive = np.ones(n_nodes, dtype=bool)
    k = max(int(levels), 2)
    cols = np.arange(n_nodes)  # columns present in the work matrices
    indicators = _indicators(ops, codes, k)
    works: list[Any] = [None] * len(parts)
    terms[0] = _term_now(estimator, parts, out, n_out, n_samples, log2_z, log2_k_o, label, n_label)

    for step in range(n_nodes):
        live = np.flatnonzero(alive[cols])
        current = terms[step]
        if len(live) == 1 or all(p.n_groups == 0 for p in parts) or (
            (monotone and current - t_full <= TIE_TOL) or (floor is not None and current - t_full <= floor)
        ):
            return _finish(order, terms, step, alive, tiebreak, t_full, floor, current, monotone, parts)
        if len(live) < 0.5 * len(cols):
            # Compact the work matrices to the candidates still in R.
            keep_cols = ops.asarray((np.arange(k - 1)[:, None] * len(cols) + live[None, :]).ravel(), np.int64)
            works = [None if w is None else _contiguous(ops, w[:, keep_cols]) for w in works]
            cols = cols[live]
            live = np.arange(len(cols))
        ncol = len(cols)
        vals = np.zeros(ncol)
        for i, p in enumerate(parts):
            if p.n_groups == 0:
                continue
            if works[i] is None:
                sel = ops.asarray((np.arange(k - 1)[:, None] * n_nodes + cols[None, :]).ravel(), np.int64)
                works[i] = _contiguous(ops, indicators[p.act][:, sel])
            cnt = _candidate_counts(ops, p, out, n_out, k, ncol, works[i])
            l2w = None
            if estimator.needs_alphabet:
                l2w = ops.table(log2_z + log2_levels[cols] + (np.log2(n_label) if i == 1 else 0.0))
            h = ops.to_numpy(
                estimator.conditional(cnt, n_samples, log2_cells_w=l2w, log2_k_o=log2_k_o)
            )
            vals += h if i == 0 else -h
        cand = vals[live]
        if largest:
            tied = live[cand >= cand.max() - TIE_TOL]
        else:
            tied = live[cand <= cand.min() + TIE_TOL]
        if tied.size == 1:
            j = int(tied[0])
        else:
            nodes_tied = cols[tied]
            j = int(tied[np.lexsort((nodes_tied, tiebreak[nodes_tied]))[0]])
        pick = int(cols[j])
        order[step] = pick
        alive[pick] = False
        terms[step + 1] = vals[j]
        column = codes[:, pick]
        for i, p in enumerate(parts):
            keep = p.refine(column, k, out, n_out, drop)
            if keep is not None and works[i] is not None:
                works[i] = works[i][keep] if p.n_groups else None
        if log2_levels is not None:
            log2_z += float(log2_levels[pick])
    terms[n_nodes] = t_full
    return PathResult(order, terms, n_nodes)


def _contiguous(ops: Any, x: Any) -> Any:
    """Row-major copy when needed (column selections come back column-major)."""
    return np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x.contiguous()


def _indicators(ops: Any, codes: Any, k: int) -> Any:
    """float32 (sample, (k - 1) * node) indicators: column ``(v - 1) * node + j`` is [code_j == v]."""
    if k == 2:
        return ops.astype(codes, np.float32)
    blocks = [ops.astype(codes == v, np.float32) for v in range(1, k)]
    return ops.concat(blocks, 1)


def _candidate_counts(ops: Any, p: _Partition, out: Any, n_out: int, k: int, ncol: int, work: Any) -> Any:
    """Joint counts (group, output, state of candidate, candidate) for every candidate at once.

    Counts of states v >= 1 are sums of indicator rows per (group, output) cell; state 0 is the
    cell size minus those.
    """
    key = p.g * n_out + out[p.act]
    n_keys = p.n_groups * n_out
    sums = ops.group_sums(key, n_keys, work)  # (n_keys, (k - 1) * ncol), exact small integers
    sums = ops.astype(sums, np.int64).reshape(p.n_groups, n_out, k - 1, ncol)
    size = ops.bincount(key, n_keys).reshape(p.n_groups, n_out, 1, 1)
    zero = size - sums.sum(2).reshape(p.n_groups, n_out, 1, ncol)
    return ops.concat([zero, sums], 2)


def _term_now(
    estimator: CountingEstimator,
    parts: list[_Partition],
    out: Any,
    n_out: int,
    n_samples: int,
    log2_z: float,
    log2_k_o: float,
    label: Any,
    n_label: int,
) -> float:
    """T(Z) of the current partitions (used for the empty complement at step 0)."""
    ops = estimator.ops
    total = 0.0
    for i, p in enumerate(parts):
        if p.n_groups == 0:
            continue
        cnt = ops.bincount(p.g * n_out + out[p.act], p.n_groups * n_out).reshape(p.n_groups, n_out, 1, 1)
        l2w = None
        if estimator.needs_alphabet:
            l2w = ops.table(np.array([log2_z + (np.log2(n_label) if i == 1 else 0.0)]))
        h = float(ops.to_numpy(estimator.conditional(cnt, n_samples, log2_cells_w=l2w, log2_k_o=log2_k_o))[0])
        total += h if i == 0 else -h
    return total


def _finish(
    order: np.ndarray,
    terms: np.ndarray,
    step: int,
    alive: np.ndarray,
    tiebreak: np.ndarray,
    t_full: float,
    floor: float | None,
    current: float,
    monotone: bool,
    parts: list[_Partition],
) -> PathResult:
    """Complete the order once the remaining steps are known (or not needed)."""
    rest = np.flatnonzero(alive)
    rest = rest[np.lexsort((rest, tiebreak[rest]))]
    n_nodes = order.size
    order[step:] = rest
    exact = len(rest) == 1 or all(p.n_groups == 0 for p in parts) or (monotone and current - t_full <= TIE_TOL)
    if exact:
        # Everything left is pure (T stays at its value, 0 for these estimators), or a monotone estimator has
        # reached T(N): every further removal keeps T(Z) = T(N).
        if len(rest) == 1:
            terms[n_nodes] = t_full
        else:
            terms[step + 1 :] = t_full if monotone else current
            terms[n_nodes] = t_full
        return PathResult(order, terms, n_nodes)
    terms[n_nodes] = t_full
    return PathResult(order, terms, step)


def conditional_columns(
    estimator: CountingEstimator,
    groups: Any,
    n_groups: int,
    out: Any,
    n_out: int,
    *,
    label: Any = None,
    n_label: int = 0,
    log2_cells: np.ndarray | None = None,
    log2_k_o: float = 0.0,
) -> np.ndarray:
    """T(W_j) for several conditioning variables at once, each given as a column of dense codes.

    Parameters
    ----------
    groups : ndarray of int, shape (sample, M)
        Column ``j`` holds the dense joint state (``0 .. n_groups - 1``) of conditioning set W_j.
    n_groups : int
        Upper bound of the codes.
    label : ndarray of int, optional
        For ``source="label"``: T(W) = H(O | W) - H(O | W, Y).
    log2_cells : ndarray, shape (M,), optional
        log2 of the number of cells of each W_j (shrinkage only).

    Returns
    -------
    ndarray of float64, shape (M,)
    """
    n, m = groups.shape
    s_idx = np.repeat(np.arange(n), m)
    col = np.tile(np.arange(m), n)
    return pair_terms(
        estimator, s_idx, col, groups.ravel(), n_groups, m, out, n_out, n,
        label=label, n_label=n_label, log2_cells=log2_cells, log2_k_o=log2_k_o,
    )


_PAIR_CELLS = 1 << 22


def pair_terms(
    estimator: CountingEstimator,
    s_idx: np.ndarray,
    col: np.ndarray,
    grp: np.ndarray,
    n_groups: int,
    m: int,
    out: np.ndarray,
    n_out: int,
    n_total: int,
    *,
    label: np.ndarray | None = None,
    n_label: int = 0,
    log2_cells: np.ndarray | None = None,
    log2_k_o: float = 0.0,
) -> np.ndarray:
    """T(W_j) for ``m`` conditioning partitions given as (sample, column, group) triples (numpy).

    Samples may be left out of a column when their group holds only them (a group of one sample adds
    0 to H(O | W) under plug-in and Miller-Madow); ``n_total`` is the number of samples.
    """
    result = np.zeros(m)
    variants = [(grp, n_groups, 0.0, 1.0)]
    if label is not None:
        variants.append((grp * n_label + label[s_idx], n_groups * n_label, float(np.log2(max(n_label, 1))), -1.0))
    o = out[s_idx]
    for g, bound_g, extra, sign in variants:
        g, bound_g = NumpyBackend().densify(np.asarray(g, dtype=np.int64), bound_g) if g.size else (g, 1)
        bound_g = max(bound_g, 1)
        step = max(1, _PAIR_CELLS // (bound_g * n_out))
        for c0 in range(0, m, step):
            c1 = min(m, c0 + step)
            sel = slice(None) if (c0 == 0 and c1 == m) else (col >= c0) & (col < c1)
            width = c1 - c0
            keys = (g[sel] * n_out + o[sel]) * width + (col[sel] - c0)
            cnt = np.bincount(keys, minlength=bound_g * n_out * width).reshape(bound_g, n_out, 1, width)
            l2w = None if log2_cells is None else np.asarray(log2_cells, dtype=np.float64)[c0:c1] + extra
            result[c0:c1] += sign * estimator.conditional(cnt, n_total, log2_cells_w=l2w, log2_k_o=log2_k_o)
    return result


def marginal_terms(
    estimator: CountingEstimator,
    codes: np.ndarray,
    levels: int,
    out: np.ndarray,
    n_out: int,
    *,
    log2_levels: np.ndarray | None = None,
    log2_k_o: float = 0.0,
) -> np.ndarray:
    """H(O | h_j) for every node j at once (numpy), from one pass of indicator sums."""
    ops = NumpyBackend()
    n_samples, n_nodes = codes.shape
    k = max(int(levels), 2)
    part = _Partition(ops, np.arange(n_samples), np.zeros(n_samples, dtype=np.int64), 1)
    cnt = _candidate_counts(ops, part, out, n_out, k, n_nodes, _indicators(ops, codes, k))
    return np.asarray(estimator.conditional(cnt, n_samples, log2_cells_w=log2_levels, log2_k_o=log2_k_o))
