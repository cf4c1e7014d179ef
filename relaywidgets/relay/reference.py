"""A naive reference of the greedy search: every candidate's joint histogram recomputed from scratch.

Straight from the definitions (METHOD.md) with ``np.unique(..., axis=0)`` and plug-in entropies;
slow on purpose. The tests check the fast search against it and the benchmark measures the speed-up.
"""

from __future__ import annotations

import numpy as np

__all__ = ["naive_conditional_entropy", "naive_relay_path"]


def naive_conditional_entropy(out: np.ndarray, given: np.ndarray) -> float:
    """Plug-in H(O | W) = H(O, W) - H(W) in bits, from ``np.unique`` over rows."""
    n = out.shape[0]
    if given.shape[1] == 0:
        _, c = np.unique(out, return_counts=True)
        p = c / n
        return float(-(p * np.log2(p)).sum())
    _, c_ow = np.unique(np.column_stack([given, out]), axis=0, return_counts=True)
    _, c_w = np.unique(given, axis=0, return_counts=True)
    p_ow, p_w = c_ow / n, c_w / n
    return float(-(p_ow * np.log2(p_ow)).sum() + (p_w * np.log2(p_w)).sum())


def naive_relay_path(
    codes: np.ndarray, out: np.ndarray, tiebreak: np.ndarray | None = None, order: str = "least-loss"
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy elimination with plug-in entropies recomputed for every candidate subset.

    Parameters
    ----------
    codes : ndarray of int, shape (sample, node)
    out : ndarray of int, shape (sample,)
    tiebreak : ndarray, shape (node,), optional
        Tied candidates (within 1e-9 bits): the smallest value here goes first, then the lowest
        position (the fast search breaks ties by the marginal information, or by its negative for
        ``order="most-loss"``).
    order : {"least-loss", "most-loss"}
        Remove the candidate leaving the most relay information, or the least.

    Returns
    -------
    order : ndarray of int64, shape (node,)
        Removal order.
    curve : ndarray, shape (node + 1,)
        I_R after each removal.
    """
    n = codes.shape[1]
    tb = np.zeros(n) if tiebreak is None else np.asarray(tiebreak, dtype=float)
    h_full = naive_conditional_entropy(out, codes)
    z: list[int] = []
    rest = list(range(n))
    most = order == "most-loss"
    removed, curve = [], [naive_conditional_entropy(out, codes[:, []]) - h_full]
    while rest:
        vals = np.array([naive_conditional_entropy(out, codes[:, z + [a]]) - h_full for a in rest])
        if most:
            tied = [a for a, v in zip(rest, vals) if v <= vals.min() + 1e-9]
        else:
            tied = [a for a, v in zip(rest, vals) if v >= vals.max() - 1e-9]
        pick = min(tied, key=lambda a: (tb[a], a))
        removed.append(pick)
        curve.append(float(vals[rest.index(pick)]))
        rest.remove(pick)
        z.append(pick)
    return np.asarray(removed, dtype=np.int64), np.asarray(curve)
