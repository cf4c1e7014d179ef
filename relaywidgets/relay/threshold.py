"""Relay sets from the stored elimination curves: the greedy orders, the threshold rules, and
:func:`relays_at`, which re-derives the sets for another threshold or rule without recomputation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError
from .._validation import check_choice
from ._greedy import TIE_TOL
from ._prepare import check_threshold

__all__ = [
    "relays_at",
    "relay_cuts",
    "relay_members",
    "critical_value",
    "RelayRule",
    "ORDERS",
    "RULES",
    "check_order",
    "check_rule",
]

#: Greedy orders (docs/method.md): remove first the node whose removal keeps the most relay information
#: (the kept nodes are the relay set), or the one whose removal leaves the least (the removed ones are).
ORDERS = ("least-loss", "most-loss")
#: Threshold rules: a fraction of the total, or "not significantly different" under the permutation null.
RULES = ("fraction", "significance")


def check_order(order: Any, owner: str) -> str:
    return check_choice(order, "order", owner, ORDERS)


def check_rule(rule: Any, owner: str) -> str:
    return check_choice(rule, "rule", owner, RULES)


def critical_value(null: np.ndarray, alpha: float) -> float:
    """The largest value that is *not* significant against a permutation null, at level ``alpha``.

    With the +1-corrected p-value ``p(x) = (1 + #{null >= x}) / (1 + m)`` of ``p_value`` and
    ``p_value_relay``, ``p(x) >= alpha`` holds exactly when ``x`` is at most the k-th largest null
    value, ``k = ceil(alpha * (1 + m) - 1)``; that value is returned (``+inf`` when ``k < 1``: with
    so few permutations nothing can be significant). Ties within 1e-9 bits count as reaching it.

    Examples
    --------
    >>> import numpy as np
    >>> critical_value(np.arange(99.0), 0.05)  # 99 shuffles: p(95) = 5/100, p(95.5) = 4/100
    95.0
    >>> critical_value(np.arange(19.0), 0.05)  # 19 shuffles: p >= 1/20 for every value
    inf
    """
    vals = np.sort(np.asarray(null, dtype=np.float64))[::-1]
    k = int(np.ceil(alpha * (1 + vals.size) - 1 - 1e-9))  # the tolerance absorbs float error in alpha * m
    return float(vals[k - 1]) if k >= 1 else float("inf")


def relay_cuts(
    curve: np.ndarray,
    total: np.ndarray,
    threshold: float,
    *,
    order: str = "least-loss",
    rule: str = "fraction",
    critical: np.ndarray | None = None,
) -> np.ndarray:
    """Number of removals s* that ends the relay set, for every (concept, time) at once.

    ``order="least-loss"``: the relay set is the nodes still kept after s* removals (positions
    ``removed[s* + 1:]``), the smallest kept set that qualifies, i.e. the largest qualifying s.
    ``order="most-loss"``: the relay set is the first s* nodes removed, the smallest removed prefix
    that qualifies, i.e. the smallest qualifying s.

    A step s qualifies (``d(s) = total - curve[s]``, the relay information lost by the removals):

    ====================  ====================================  =====================================
    rule                  least-loss: kept set R_s              most-loss: removed prefix Z_s
    ====================  ====================================  =====================================
    ``"fraction"``        ``curve[s] >= threshold * total``     ``d(s) >= threshold * total``
    ``"significance"``    ``d(s) <= critical``                  ``curve[s] <= critical``
    ====================  ====================================  =====================================

    where ``critical`` is the largest value not significant at level alpha against the permutation
    null of the total (:func:`critical_value`; see docs/method.md). Under ``"significance"`` a lost
    (least-loss) or remaining (most-loss) information of at most 0 always qualifies.

    Parameters
    ----------
    curve : ndarray, shape (..., n + 1)
        I_R after each removal (NaN where not computed, after an early stop).
    total : ndarray, shape (...)
        I_R(N) (``curve[..., 0]``).
    threshold : float
        The fraction of the ``"fraction"`` rule (unused by ``"significance"``).
    order : {"least-loss", "most-loss"}
    rule : {"fraction", "significance"}
    critical : ndarray, shape (...), optional
        The critical value of the total's permutation null; needed by ``rule="significance"``.

    Returns
    -------
    ndarray of int64, shape (...)
        The cut s*. Where the total is not positive the relay set is empty (``n`` for least-loss,
        0 for most-loss). For most-loss, when no computed step qualifies (an early stop), the
        last computed step.

    Examples
    --------
    >>> import numpy as np
    >>> curve = np.array([[1.0, 1.0, 0.95, 0.5, 0.0]])
    >>> relay_cuts(curve, curve[:, 0], 0.9).tolist(), relay_cuts(curve, curve[:, 0], 0.9, order="most-loss").tolist()
    ([2], [4])
    """
    curve = np.asarray(curve, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    n = curve.shape[-1] - 1
    most = order == "most-loss"
    with np.errstate(invalid="ignore"):
        lost = total[..., None] - curve
        if rule == "fraction":
            if most:
                ok = lost >= threshold * total[..., None] - TIE_TOL
            else:
                ok = curve >= threshold * total[..., None] - TIE_TOL
        else:
            if critical is None:
                raise InputError("rule='significance' needs the permutation null of the total; pass n_perm > 0.")
            tested = curve if most else lost
            ok = (tested <= np.asarray(critical, dtype=np.float64)[..., None] + TIE_TOL) | (tested <= TIE_TOL)
        positive = total > TIE_TOL
    if most:
        first = np.argmax(ok, axis=-1)
        finite = np.isfinite(curve)
        last_finite = n - np.argmax(finite[..., ::-1], axis=-1)
        cut = np.where(ok.any(axis=-1), first, last_finite)
        return np.where(positive, cut, 0).astype(np.int64)
    last = n - np.argmax(ok[..., ::-1], axis=-1)  # the last True along the path, counted from the end
    last = np.where(ok.any(axis=-1), last, 0)
    return np.where(positive, last, n).astype(np.int64)


def relay_members(rank: np.ndarray, cut: np.ndarray, order: str) -> np.ndarray:
    """Relay-set membership from the elimination ranks (0 = removed first) and the cuts.

    Least-loss: the nodes removed after the cut (``rank >= cut``); most-loss: the first ``cut``
    removed (``rank < cut``).
    """
    cut = np.asarray(cut)[..., None]
    return rank < cut if order == "most-loss" else rank >= cut


@dataclass(frozen=True)
class RelayRule:
    """How one search is run and cut: the greedy order and the threshold rule (see :func:`relay_cuts`)."""

    threshold: float = 0.9
    order: str = "least-loss"
    rule: str = "fraction"
    alpha: float = 0.05

    @property
    def largest(self) -> bool:
        """Whether each step removes the candidate leaving the most relay information."""
        return self.order == "least-loss"

    def tiebreak(self, marginal: np.ndarray) -> np.ndarray:
        """Key of the greedy tie-break (smallest first): the least informative node goes first when removing
        the least loss, the most informative when removing the most loss."""
        return marginal if self.largest else -marginal

    def critical(self, null: np.ndarray | None) -> float:
        """The critical value of a permutation null of the total at this rule's alpha (NaN without one)."""
        return float("nan") if null is None else critical_value(null, self.alpha)

    def cut(self, curve: np.ndarray, critical: float) -> int:
        """s* of one path (``critical``: :meth:`critical` of the null of its total)."""
        curve = np.asarray(curve, dtype=np.float64)
        crit = None if self.rule == "fraction" else np.asarray([critical])
        cuts = relay_cuts(curve[None], curve[:1], self.threshold, order=self.order, rule=self.rule, critical=crit)
        return int(cuts[0])

    def relay_set(self, removal_order: np.ndarray, cut: int) -> np.ndarray:
        """Node positions of the relay set, given the removal order and the cut."""
        return removal_order[:cut] if self.order == "most-loss" else removal_order[cut:]


def relays_at(result: xr.Dataset, threshold: float | None = None, *, rule: str | None = None) -> xr.Dataset:
    """The relay map at another threshold or rule, from the curves stored by :func:`find_relays`.

    Only ``is_relay``, ``relay_size`` and the attributes ``threshold`` and ``rule`` change (pure
    numpy on the stored arrays, fast enough for a slider). The greedy order is the one
    :func:`find_relays` used (attribute ``order``), and so is the significance level ``alpha``
    (the stored ``null_critical`` is at that level). The relay set's permutation test was run at
    the threshold and rule of :func:`find_relays` (attributes ``tested_threshold``,
    ``tested_rule``): where the relay set differs from the tested one, ``p_value_relay`` and
    ``null_mean_relay`` become NaN. ``p_value`` and ``significant`` (the test of the total) do not
    change.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`find_relays`.
    threshold : float in [0, 1], optional
        Fraction of the total for ``rule="fraction"``; default: the result's ``threshold``.
    rule : {"fraction", "significance"}, optional
        Default: the result's ``rule``. ``"significance"`` reads ``null_critical`` (the result must
        come from ``find_relays(..., n_perm > 0)``).

    Returns
    -------
    xarray.Dataset
        A shallow copy of ``result`` with the new relay sets.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays, relays_at
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=1000)
    >>> res = find_relays(rec, concepts=[1], n_perm=20, progress=False)
    >>> int(relays_at(res, 0.5).relay_size.item()), int(relays_at(res, 0.9).relay_size.item())
    (1, 2)
    >>> int(relays_at(res, rule="significance").relay_size.item())
    2
    """
    if not isinstance(result, xr.Dataset) or "curve" not in result or "elimination_rank" not in result:
        raise InputError(
            "relays_at needs the Dataset returned by find_relays (with 'curve' and 'elimination_rank'); "
            f"got {type(result).__name__}."
        )
    attrs = result.attrs
    threshold = check_threshold(attrs.get("threshold", 0.9) if threshold is None else threshold, "relays_at")
    rule = check_rule(attrs.get("rule", "fraction") if rule is None else rule, "relays_at")
    order = check_order(attrs.get("order", "least-loss"), "relays_at")
    curve = result["curve"].transpose("concept", "time", "step").values
    total = result["total"].transpose("concept", "time").values
    rank = result["elimination_rank"].transpose("concept", "time", "node").values
    cut = relay_cuts(curve, total, threshold, order=order, rule=rule, critical=_stored_critical(result, rule))
    is_relay = relay_members(rank, cut, order)
    out = result.copy()
    out["is_relay"] = (("concept", "time", "node"), is_relay, result["is_relay"].attrs)
    out["relay_size"] = (("concept", "time"), is_relay.sum(-1).astype(np.int64), result["relay_size"].attrs)
    tested_rule = str(attrs.get("tested_rule", "fraction"))
    tested = float(attrs.get("tested_threshold", attrs.get("threshold", threshold)))
    if (threshold, rule) != (tested, tested_rule) and "p_value_relay" in result:
        old_cut = relay_cuts(
            curve, total, tested, order=order, rule=tested_rule, critical=_stored_critical(result, tested_rule)
        )
        changed = old_cut != cut
        for key in ("p_value_relay", "null_mean_relay"):
            vals = result[key].transpose("concept", "time").values.copy()
            vals[changed] = np.nan
            out[key] = (("concept", "time"), vals, result[key].attrs)
    out.attrs = {**attrs, "threshold": threshold, "rule": rule}
    return out


def _stored_critical(result: xr.Dataset, rule: str) -> np.ndarray | None:
    """The stored critical value of the total's permutation null (concept, time), for the significance rule."""
    if rule != "significance":
        return None
    if "null_critical" not in result or not int(result.attrs.get("n_perm", 0)):
        raise InputError(
            "rule='significance' compares with the permutation null of the total, which this result does not "
            "hold (it was computed with n_perm=0, or by an older version). Rerun find_relays(..., n_perm=100) "
            "or so, or use rule='fraction'."
        )
    return result["null_critical"].transpose("concept", "time").values
