"""Conditional entropies H(O | W) straight from joint count arrays, for many candidate W at once.

The greedy search counts the joint states of the output O and of every candidate conditioning set W
with one ``bincount``; these functions turn such count arrays into entropies in bits, vectorized over
the candidates. They reproduce, number for number, the discrete estimators of
:mod:`relaywidgets.info` (``H(O | W) = H(O, W) - H(W)`` with each joint entropy estimated from its
counts):

- ``plugin``: ``(sum_w f(n_w) - sum_{o,w} f(n_ow)) / N`` with ``f(k) = k log2 k`` from a table;
- ``miller-madow``: plug-in plus ``(m_OW - m_W) / (2 N ln 2)``, ``m`` the numbers of occupied cells
  (Miller 1955);
- ``shrinkage``: James-Stein shrinkage of the joint (O, W) cell frequencies towards uniform over
  ``K = |O| * prod_j |W_j|`` cells, with one intensity lambda for the joint and its marginal
  (Hausser & Strimmer 2009, as in :class:`relaywidgets.info` ``ShrinkageEstimator``).

A count array has shape ``(G, K, V, M)``: groups ``g`` of a base partition, output states ``o``,
sub-cells ``v`` that refine each group (the states of a candidate node), and candidates ``m``.
The conditioning cells of candidate ``m`` are the pairs ``(g, v)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CountsEntropy", "DISCRETE_FAST"]

DISCRETE_FAST = ("plugin", "miller-madow", "shrinkage")
_LN2 = float(np.log(2.0))


class CountsEntropy:
    """Vectorized H(O | W) from count arrays, for one of the discrete estimators.

    Parameters
    ----------
    name : {"plugin", "miller-madow", "shrinkage"}
    ops : NumpyOps or TorchOps
        Array backend the counts live on.
    """

    def __init__(self, name: str, ops: Any) -> None:
        self.name = name
        self.ops = ops
        # Groups whose samples all share one output value contribute exactly 0 to H(O | W) for every
        # refinement under plug-in and Miller-Madow, so the search may drop their samples. Shrinkage
        # couples all cells through one intensity, so it keeps every sample.
        self.drops_pure = name in ("plugin", "miller-madow")
        self.needs_alphabet = name == "shrinkage"
        self._table_np = np.zeros(1)
        self._table = ops.table(self._table_np)

    def _flogf(self, n: int) -> Any:
        if self._table_np.size <= n:
            size = max(int(n) + 1, 2 * self._table_np.size)
            k = np.arange(size, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(k > 0, k * np.log2(np.maximum(k, 1.0)), 0.0)
            self._table_np = t
            self._table = self.ops.table(t)
        return self._table

    def conditional(
        self,
        cnt: Any,
        n_total: int,
        *,
        log2_cells_w: Any = None,
        log2_k_o: float = 0.0,
    ) -> Any:
        """H(O | W_m) in bits for every candidate ``m``.

        Parameters
        ----------
        cnt : int array, shape (G, K, V, M)
            Joint counts; only groups holding samples need to be present (for plug-in and
            Miller-Madow, groups pure in O may be left out).
        n_total : int
            Number of samples N (including any left-out pure groups).
        log2_cells_w : float array, shape (M,), optional
            log2 of the number of cells of each W (shrinkage only).
        log2_k_o : float
            log2 of the number of output states (shrinkage only).

        Returns
        -------
        array of float64, shape (M,)
        """
        ops = self.ops
        if cnt.shape[0] == 0:
            return ops.to_float(cnt.sum((0, 1, 2)))
        n_w = cnt.sum(1)  # (G, V, M)
        if self.name == "shrinkage":
            return self._shrinkage(cnt, n_w, n_total, log2_cells_w, log2_k_o)
        table = self._flogf(n_total)
        s = ops.take(table, n_w).sum((0, 1)) - ops.take(table, cnt).sum((0, 1, 2))
        h = s / float(n_total)
        if self.name == "miller-madow":
            m_ow = (cnt > 0).sum((0, 1, 2))
            m_w = (n_w > 0).sum((0, 1))
            h = h + ops.to_float(m_ow - m_w) / (2.0 * n_total * _LN2)
        return h

    def _shrinkage(self, cnt: Any, n_w: Any, n: int, log2_w: Any, log2_k_o: float) -> Any:
        ops = self.ops
        c = ops.to_float(cnt)
        cw = ops.to_float(n_w)
        nf = float(n)
        log2_ow = log2_w + log2_k_o
        inv_k = 2.0**-log2_ow
        u2 = (c * c).sum((0, 1, 2)) / (nf * nf)
        denom = (nf - 1.0) * (u2 - inv_k)
        safe = ops.where(denom > 0, denom, 1.0)
        lam = ops.where(denom > 0, ops.clip((1.0 - u2) / safe, 0.0, 1.0), 1.0)
        h_ow = _shrunk(ops, c, (0, 1, 2), lam, inv_k, log2_ow, nf)
        h_w = _shrunk(ops, cw, (0, 1), lam, 2.0**-log2_w, log2_w, nf)
        return h_ow - h_w


def _shrunk(ops: Any, c: Any, axes: tuple[int, ...], lam: Any, inv_k: Any, log2_k: Any, n: float) -> Any:
    """Entropy of ``(1 - lam) c / n + lam / K`` over K cells, per candidate (last axis)."""
    occupied = c > 0
    p = (1.0 - lam) * c / n + lam * inv_k
    plogp = ops.where(occupied, p * ops.log2(ops.where(occupied, p, 1.0)), 0.0)
    m = ops.to_float(occupied.sum(axes))
    h = -plogp.sum(axes)
    safe_lam = ops.where(lam > 0, lam, 1.0)
    h = h - ops.where(lam > 0, lam * (1.0 - m * inv_k) * (ops.log2(safe_lam) - log2_k), 0.0)
    return h
