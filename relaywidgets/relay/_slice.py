"""Everything computed for one (concept, time step): path, scores and permutation null.

:class:`DiscreteSlice` works on integer state codes with the counting search; :class:`GenericSlice`
calls an estimator object. Both return a :class:`SliceResult` of plain numpy arrays, which
:func:`~relaywidgets.relay.find_relays` stacks into the result Dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..info import joint_codes
from ..info import DiscreteEstimator, Estimator
from ..info.backends import NumpyBackend
from ._counts import CountingEstimator
from ._generic import GenericTerms, generic_path
from ._greedy import TIE_TOL, PathResult, greedy_path, marginal_terms, pair_terms
from .threshold import RelayRule

__all__ = ["SliceResult", "DiscreteSlice", "GenericSlice", "p_value"]

# Rows of codes hash into one integer with fixed random odd 64-bit weights (collisions: ~N^2 / 2^64).
_HASH_SEED = 20230222
# Keep the count arrays of the vectorised null below about this many cells.
_NULL_CELLS = 1 << 22


@dataclass
class SliceResult:
    """Arrays of one (concept, time); shapes use n = number of nodes."""

    order: np.ndarray  # (n,) node positions in removal order
    curve: np.ndarray  # (n + 1,) I_R after s removals
    marginal: np.ndarray  # (n,)
    unique: np.ndarray  # (n,)
    p_value: float = np.nan
    null_mean: float = np.nan
    p_value_relay: float = np.nan
    null_mean_relay: float = np.nan
    null_critical: float = np.nan  # largest total not significant against its permutation null


def p_value(null: np.ndarray, observed: float) -> float:
    """Empirical p-value with the +1 correction: (1 + #{null >= observed}) / (1 + n_perm)."""
    return float((1 + np.count_nonzero(null >= observed - TIE_TOL)) / (1 + null.size))


class DiscreteSlice:
    """One time step of state codes, shared by all concepts at that step.

    Parameters
    ----------
    codes : ndarray of int8, shape (sample, node)
    levels : int
    log2_levels : ndarray, shape (node,)
    estimator : DiscreteEstimator
        With ``vectorised_counts`` (its hook gives every entropy).
    ops : NumpyBackend or TorchBackend
        Backend of the greedy search (the scores and the null always run on numpy).
    label : ndarray of int64, optional
        Dense true labels for ``source="label"``.
    """

    def __init__(
        self,
        codes: np.ndarray,
        levels: int,
        log2_levels: np.ndarray,
        estimator: DiscreteEstimator,
        ops: Any,
        label: np.ndarray | None = None,
    ) -> None:
        self.codes = codes
        self.n_samples, self.n_nodes = codes.shape
        self.levels = max(int(levels), 1)
        self.log2_levels = log2_levels
        self.ops = ops
        on_numpy = isinstance(ops, NumpyBackend)
        self.est = CountingEstimator(estimator, ops if on_numpy else NumpyBackend())
        self.est_ops = self.est if on_numpy else CountingEstimator(estimator, ops)
        self.codes_ops = codes if on_numpy else ops.asarray(codes.astype(np.int64))
        self.label = label
        self.n_label = int(label.max()) + 1 if label is not None and label.size else 0
        self.label_ops = None
        if label is not None:
            self.label_ops = label if isinstance(ops, NumpyBackend) else ops.asarray(label)
        self.full, self.n_full = joint_codes(codes)
        self.full = np.asarray(self.full)
        self._drop_one: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None = None
        self._alpha = self.est.needs_alphabet

    # ------------------------------------------------------------------ shared partitions
    def drop_one(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The partitions by every node but one, as (sample, column, group) triples.

        Rows hash into one 64-bit integer; removing node j subtracts its term, so all n partitions
        come from one sort per column. Groups of a single sample are left out when the estimator
        allows it (they add 0 to H(O | W)).
        """
        if self._drop_one is None:
            n, m = self.codes.shape
            w = np.random.default_rng(_HASH_SEED).integers(1, 2**63, size=m, dtype=np.uint64) | np.uint64(1)
            c = self.codes.astype(np.uint64)
            with np.errstate(over="ignore"):
                prod = c * w[None, :]
                h = prod.sum(axis=1, dtype=np.uint64)
                without = h[:, None] - prod
            rows = np.ascontiguousarray(without.T)  # (node, sample): each sort runs on contiguous memory
            order = np.argsort(rows, axis=1)
            srt = np.take_along_axis(rows, order, axis=1)
            new = np.ones((m, n), dtype=bool)
            new[:, 1:] = srt[:, 1:] != srt[:, :-1]
            ids = np.cumsum(new, axis=1) - 1
            dense_t = np.empty((m, n), dtype=np.int64)
            np.put_along_axis(dense_t, order, ids, axis=1)
            dense = dense_t.T
            n_groups = int(ids[:, -1].max()) + 1 if n else 1
            if self.est.drops_pure:
                flat = dense * m + np.arange(m)[None, :]
                size = np.bincount(flat.ravel(), minlength=n_groups * m)
                keep = size[flat] > 1
                s_idx, col = np.nonzero(keep)
                grp = dense[s_idx, col]
            else:
                s_idx = np.repeat(np.arange(n), m)
                col = np.tile(np.arange(m), n)
                grp = dense.ravel()
            self._drop_one = (s_idx, col, grp, n_groups)
        return self._drop_one

    def _full_triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        g = self.full
        if self.est.drops_pure:
            keep = np.flatnonzero(np.bincount(g, minlength=self.n_full)[g] > 1)
            return keep, np.zeros(keep.size, np.int64), g[keep], self.n_full
        return np.arange(g.size), np.zeros(g.size, np.int64), g, self.n_full

    def _terms(
        self, triples: tuple, m: int, out: np.ndarray, n_out: int, log2_cells: np.ndarray, log2_k_o: float
    ) -> np.ndarray:
        s_idx, col, grp, n_groups = triples
        return pair_terms(
            self.est, s_idx, col, grp, n_groups, m, out, n_out, self.n_samples,
            label=self.label, n_label=self.n_label,
            log2_cells=log2_cells if self._alpha else None, log2_k_o=log2_k_o,
        )

    # ------------------------------------------------------------------ one concept
    def analyse(
        self,
        out: np.ndarray,
        n_out: int,
        *,
        rule: RelayRule,
        perms: np.ndarray | None,
        floor_from_null: bool,
    ) -> SliceResult:
        n, m = self.codes.shape
        l2 = self.log2_levels
        total_cells = float(l2.sum())
        log2_k_o = float(np.log2(max(np.unique(out).size, 1)))
        # Marginal information I(O; h_j) = H(O) - H(O | h_j), estimated like everything else.
        h_o = self.est.conditional(
            np.bincount(out, minlength=n_out).reshape(1, n_out, 1, 1), n,
            log2_cells_w=np.zeros(1), log2_k_o=log2_k_o,
        )[0]
        h_cond = marginal_terms(self.est, self.codes, self.levels, out, n_out,
                                log2_levels=l2 if self._alpha else None, log2_k_o=log2_k_o)
        marginal = h_o - h_cond
        t_full = float(self._terms(self._full_triples(), 1, out, n_out, np.array([total_cells]), log2_k_o)[0])
        unique = self._terms(self.drop_one(), m, out, n_out, total_cells - l2, log2_k_o) - t_full
        null_floor = None
        null_total = t_full_perm = None
        if perms is not None:
            o_perm = _permuted_indicators(out, n_out, perms)
            t_full_perm = self._null(self.full, self.n_full, o_perm, n_out, total_cells, log2_k_o)
            if self.label is None:
                t_empty_perm = np.full(perms.shape[0], h_o)  # H(O) does not change under shuffling
            else:
                t_empty_perm = self._null(np.zeros(n, np.int64), 1, o_perm, n_out, 0.0, log2_k_o)
            null_total = t_empty_perm - t_full_perm
            if floor_from_null:
                null_floor = float(np.mean(null_total))
        ops = self.ops
        out_ops = out if isinstance(ops, NumpyBackend) else ops.asarray(out)
        path: PathResult = greedy_path(
            self.codes_ops,
            out_ops,
            n_out,
            self.levels,
            self.est_ops,
            label=self.label_ops,
            n_label=self.n_label,
            t_full=t_full,
            tiebreak=rule.tiebreak(marginal),
            log2_levels=l2 if self._alpha else None,
            log2_k_o=log2_k_o,
            floor=null_floor,
            largest=rule.largest,
        )
        curve = path.terms - t_full
        res = SliceResult(path.order, curve, marginal, unique)
        if perms is not None:
            total = curve[0]
            res.p_value = p_value(null_total, total)
            res.null_mean = float(np.mean(null_total))
            res.null_critical = rule.critical(null_total)
            cut = rule.cut(curve, res.null_critical)
            relay = rule.relay_set(path.order, cut)
            if relay.size == 0:
                res.p_value_relay, res.null_mean_relay = 1.0, 0.0
            else:
                z = np.setdiff1d(np.arange(m), relay)
                if z.size:
                    gz, nz = joint_codes(self.codes[:, z])
                    gz = np.asarray(gz)
                else:
                    gz, nz = np.zeros(n, np.int64), 1
                t_z = self._null(gz, nz, o_perm, n_out, float(l2[z].sum()), log2_k_o)
                null_relay = t_z - t_full_perm
                if rule.largest:
                    observed = curve[cut]  # the kept set is on the path
                else:  # the removed prefix is not: T(Z) of the rest, through the same counting
                    identity = _permuted_indicators(out, n_out, np.arange(n)[None])
                    observed = float(self._null(gz, nz, identity, n_out, float(l2[z].sum()), log2_k_o)[0]) - t_full
                res.p_value_relay = p_value(null_relay, observed)
                res.null_mean_relay = float(np.mean(null_relay))
        return res

    def _null(
        self,
        g: np.ndarray,
        n_groups: int,
        o_perm: np.ndarray,
        n_out: int,
        log2_cells: float,
        log2_k_o: float,
    ) -> np.ndarray:
        """T_pi(W) of the partition ``g`` for every permutation pi of the output."""
        return _null_terms(self.est, g, n_groups, o_perm, n_out, self.label, self.n_label, log2_cells, log2_k_o)


def _permuted_indicators(out: np.ndarray, n_out: int, perms: np.ndarray) -> np.ndarray:
    """float32 (sample, (n_out - 1) * n_perm): column ``(o - 1) * n_perm + p`` is [out[perm_p] == o]."""
    shuffled = out[perms].T  # (sample, n_perm)
    if n_out == 2:
        return np.ascontiguousarray(shuffled, dtype=np.float32)
    return np.ascontiguousarray(
        np.concatenate([(shuffled == o) for o in range(1, n_out)], axis=1), dtype=np.float32
    )


def _null_terms(
    est: CountingEstimator,
    g: np.ndarray,
    n_groups: int,
    o_perm: np.ndarray,
    n_out: int,
    label: np.ndarray | None,
    n_label: int,
    log2_cells: float,
    log2_k_o: float,
) -> np.ndarray:
    """T(W) with O shuffled by every permutation at once (one sparse pass per partition).

    ``o_perm`` holds the shuffled output indicators (see :func:`_permuted_indicators`).
    """
    n = g.size
    n_perm = o_perm.shape[1] // max(n_out - 1, 1)
    ops = NumpyBackend()
    variants = [(np.asarray(g, dtype=np.int64), n_groups, log2_cells, 1.0)]
    if label is not None:
        variants.append((variants[0][0] * n_label + label, n_groups * n_label,
                         log2_cells + float(np.log2(max(n_label, 1))), -1.0))
    total = np.zeros(n_perm)
    for gg, bound_g, l2, sign in variants:
        if est.drops_pure:
            # A group of one sample is pure under every permutation: it adds 0 to H(O | W).
            keep = np.flatnonzero(np.bincount(gg, minlength=bound_g)[gg] > 1)
            if keep.size == 0:
                continue
            gk, bound_k = ops.densify(gg[keep], bound_g)
            rows = o_perm[keep]
        else:
            gk, bound_k, rows = gg, bound_g, o_perm
        sums = ops.group_sums(gk, bound_k, np.ascontiguousarray(rows)).astype(np.int64)
        sums = sums.reshape(bound_k, n_out - 1, 1, n_perm)
        size = np.bincount(gk, minlength=bound_k).reshape(bound_k, 1, 1, 1)
        zero = size - sums.sum(1).reshape(bound_k, 1, 1, n_perm)
        cnt = np.concatenate([zero, sums], axis=1)
        l2w = np.full(n_perm, l2) if est.needs_alphabet else None
        total += sign * est.conditional(cnt, n, log2_cells_w=l2w, log2_k_o=log2_k_o)
    return total


class GenericSlice:
    """One time step analysed with an estimator object (continuous, or an unknown discrete one)."""

    def __init__(self, estimator: Estimator, data: np.ndarray, label: np.ndarray | None = None) -> None:
        self.est = estimator
        self.data = data
        self.label = label
        self.terms_of = GenericTerms(estimator, data, label)
        self.n_samples, self.n_nodes = data.shape

    def analyse(
        self,
        out: np.ndarray,
        n_out: int,
        *,
        rule: RelayRule,
        perms: np.ndarray | None,
        floor_from_null: bool,
    ) -> SliceResult:
        n, m = self.data.shape
        every = np.arange(m)
        t_full = self.terms_of.term(out, every)
        h_o = self.terms_of._h(out, None, np.zeros(0, np.int64))
        marginal = np.array([h_o - self.terms_of._h(out, None, np.array([j])) for j in range(m)])
        unique = np.array([self.terms_of.term(out, np.delete(every, j)) for j in range(m)]) - t_full
        null_total = None
        floor = None
        if perms is not None:
            t0 = self.terms_of.term(out, np.zeros(0, np.int64))
            null_total = np.array([t0 if self.label is None else self.terms_of.term(out[p], np.zeros(0, np.int64))
                                   for p in perms]) - np.array([self.terms_of.term(out[p], every) for p in perms])
            if floor_from_null:
                floor = float(np.mean(null_total))
        path = generic_path(
            self.terms_of, out, m, t_full=t_full, tiebreak=rule.tiebreak(marginal), floor=floor, largest=rule.largest
        )
        curve = path.terms - t_full
        res = SliceResult(path.order, curve, marginal, unique)
        if perms is not None:
            res.p_value = p_value(null_total, curve[0])
            res.null_mean = float(np.mean(null_total))
            res.null_critical = rule.critical(null_total)
            cut = rule.cut(curve, res.null_critical)
            relay = rule.relay_set(path.order, cut)
            if relay.size == 0:
                res.p_value_relay, res.null_mean_relay = 1.0, 0.0
            else:
                z = np.setdiff1d(every, relay)
                null_relay = np.array(
                    [self.terms_of.term(out[p], z) - self.terms_of.term(out[p], every) for p in perms]
                )
                observed = curve[cut] if rule.largest else self.terms_of.term(out, z) - t_full
                res.p_value_relay = p_value(null_relay, observed)
                res.null_mean_relay = float(np.mean(null_relay))
        return res
