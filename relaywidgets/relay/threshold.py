"""Relay sets at another threshold, re-derived from the stored elimination curves (no recomputation)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ._greedy import TIE_TOL
from ._prepare import check_threshold

__all__ = ["relays_at", "relay_cuts"]


def relay_cuts(curve: np.ndarray, total: np.ndarray, threshold: float) -> np.ndarray:
    """Number of removals s* giving the smallest relay set with I_R >= threshold * total.

    Parameters
    ----------
    curve : ndarray, shape (..., n + 1)
        I_R after each removal (NaN where not computed).
    total : ndarray, shape (...)
        I_R(N) (``curve[..., 0]``).
    threshold : float

    Returns
    -------
    ndarray of int64, shape (...)
        ``n`` (empty relay set) where the total is not positive.
    """
    n = curve.shape[-1] - 1
    with np.errstate(invalid="ignore"):
        ok = curve >= threshold * total[..., None] - TIE_TOL
    # the last True along the path, counted from the end
    last = n - np.argmax(ok[..., ::-1], axis=-1)
    last = np.where(ok.any(axis=-1), last, 0)
    with np.errstate(invalid="ignore"):
        positive = total > TIE_TOL
    return np.where(positive, last, n).astype(np.int64)


def relays_at(result: xr.Dataset, threshold: float) -> xr.Dataset:
    """The relay map at another threshold, from the curves stored by :func:`find_relays`.

    Only ``is_relay``, ``relay_size`` and the ``threshold`` attribute change (pure numpy on the
    stored arrays, fast enough for a slider). The relay set's permutation test was run at the
    threshold of :func:`find_relays` (attribute ``tested_threshold``): where the relay set differs
    from the tested one, ``p_value_relay`` and ``null_mean_relay`` become NaN. ``p_value`` and
    ``significant`` (the test of the total) do not depend on the threshold.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`find_relays`.
    threshold : float in [0, 1]

    Returns
    -------
    xarray.Dataset
        A shallow copy of ``result`` with the new relay sets.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays, relays_at
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=1000)
    >>> res = find_relays(rec, concepts=[1], n_perm=0, progress=False)
    >>> int(relays_at(res, 0.5).relay_size.item()), int(relays_at(res, 0.9).relay_size.item())
    (1, 2)
    """
    if not isinstance(result, xr.Dataset) or "curve" not in result or "elimination_rank" not in result:
        raise InputError(
            "relays_at needs the Dataset returned by find_relays (with 'curve' and 'elimination_rank'); "
            f"got {type(result).__name__}."
        )
    threshold = check_threshold(threshold, "relays_at")
    curve = result["curve"].transpose("concept", "time", "step").values
    total = result["total"].transpose("concept", "time").values
    rank = result["elimination_rank"].transpose("concept", "time", "node").values
    n = rank.shape[-1]
    cut = relay_cuts(curve, total, threshold)
    is_relay = rank >= cut[..., None]
    out = result.copy()
    out["is_relay"] = (("concept", "time", "node"), is_relay, result["is_relay"].attrs)
    out["relay_size"] = (("concept", "time"), (n - cut).astype(np.int64), result["relay_size"].attrs)
    tested = float(result.attrs.get("tested_threshold", result.attrs.get("threshold", threshold)))
    if threshold != tested and "p_value_relay" in result:
        old_cut = relay_cuts(curve, total, tested)
        changed = old_cut != cut
        for key in ("p_value_relay", "null_mean_relay"):
            vals = result[key].transpose("concept", "time").values.copy()
            vals[changed] = np.nan
            out[key] = (("concept", "time"), vals, result[key].attrs)
    out.attrs = {**result.attrs, "threshold": threshold}
    return out

