"""Relays over time: Jaccard persistence between consecutive steps, and comparisons of networks.

Low persistence is "information drift" (the relay role moves between nodes), high persistence is
"localized storage" (the same nodes keep it) — METHOD.md, "Relays over time".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..contract import check_relays
from ..errors import InputError

__all__ = ["relay_drift", "compare_architectures", "jaccard"]


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard index |A ∩ B| / |A ∪ B| of boolean membership arrays along the last axis.

    NaN where both sets are empty (no relay at either step: persistence is undefined).
    """
    inter = np.logical_and(a, b).sum(axis=-1)
    union = np.logical_or(a, b).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def relay_drift(result: xr.Dataset, *, significant_only: bool = False) -> xr.Dataset:
    """Persistence of the relay sets between consecutive time steps, per concept.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`find_relays` (or :func:`relays_at`) over several time steps.
    significant_only : bool, default False
        Treat the relay set of a (concept, step) whose total relay information is not significant
        as empty.

    Returns
    -------
    xarray.Dataset
        - ``persistence`` (concept, time): Jaccard index between the relay sets at the previous
          step and this one (NaN at the first step, and where both sets are empty);
        - ``persistence_index`` (concept): mean of ``persistence`` over steps (NaN-skipping);
        - ``relay_size`` (concept, time) and ``mean_relay_size`` (concept).

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays, relay_drift
    >>> rec = latched_cue(n_nodes=4, n_steps=4, n_samples=1000)
    >>> res = find_relays(rec, concepts=[1], n_perm=0, progress=False)
    >>> float(relay_drift(res).persistence_index.item())
    1.0
    """
    result = check_relays(result, "relay_drift", name="result", require=("significant",) if significant_only else ())
    members = result["is_relay"].transpose("concept", "time", "node").values.copy()
    if significant_only:
        sig = result["significant"].transpose("concept", "time").values
        members[~sig] = False
    times = result["time"].values
    persistence = np.full(members.shape[:2], np.nan)
    if members.shape[1] > 1:
        persistence[:, 1:] = jaccard(members[:, :-1], members[:, 1:])
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(persistence), axis=1)
        index = np.where(counts > 0, np.nansum(persistence, axis=1) / np.maximum(counts, 1), np.nan)
    size = members.sum(axis=-1)
    coords = {"concept": result["concept"].values, "time": times}
    if "concept_class" in result.coords:
        coords["concept_class"] = ("concept", result["concept_class"].values)
    return xr.Dataset(
        {
            "persistence": (("concept", "time"), persistence, {"long_name": "Jaccard index with the previous step"}),
            "persistence_index": (("concept",), index, {"long_name": "mean persistence over steps"}),
            "relay_size": (("concept", "time"), size.astype(np.int64)),
            "mean_relay_size": (("concept",), size.mean(axis=1)),
        },
        coords=coords,
        attrs={"significant_only": int(bool(significant_only)), "threshold": result.attrs.get("threshold", np.nan)},
    )


def compare_architectures(
    results: Mapping[str, xr.Dataset | Sequence[xr.Dataset]] | Sequence[xr.Dataset],
    *,
    significant_only: bool = False,
) -> Any:
    """A tidy table comparing relay maps of several networks (e.g. RNN, LSTM, GRU over seeds).

    Parameters
    ----------
    results : mapping of name to result (or list of results), or a list of results
        Outputs of :func:`find_relays`. Given a list, each result is named by its recording's
        ``arch`` attribute.
    significant_only : bool, default False
        Passed to :func:`relay_drift`.

    Returns
    -------
    pandas.DataFrame
        One row per (architecture, run, concept) with columns ``architecture``, ``run`` (index
        within the architecture), ``seed`` (the recording's seed, -1 if unknown), ``concept``,
        ``persistence_index``, ``mean_relay_size``, ``fraction_significant`` (share of steps whose
        total relay information is significant), ``mean_total`` (bits), ``n_steps``.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays, compare_architectures
    >>> res = find_relays(latched_cue(n_nodes=3, n_steps=3, n_samples=500), concepts=[1], n_perm=0, progress=False)
    >>> compare_architectures({"latch": [res]})[["architecture", "persistence_index"]].values.tolist()
    [['latch', 1.0]]
    """
    import pandas as pd

    grouped: dict[str, list[xr.Dataset]] = {}
    if isinstance(results, Mapping):
        for name, value in results.items():
            if not isinstance(value, (xr.Dataset, Sequence)) or isinstance(value, (str, bytes)):
                raise InputError(
                    f"compare_architectures: the entry {name!r} must be a find_relays result or a list of them "
                    f"(e.g. one per seed); got {type(value).__name__}."
                )
            grouped[str(name)] = [value] if isinstance(value, xr.Dataset) else list(value)
    elif isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        for res in results:
            res = check_relays(res, "compare_architectures", name="each result", require=("significant", "total"))
            grouped.setdefault(str(res.attrs.get("arch", "unknown")), []).append(res)
    else:
        raise InputError(
            "compare_architectures needs a dict of name -> find_relays result(s) or a list of results; "
            f"got {type(results).__name__}."
        )
    rows = []
    for arch, runs in grouped.items():
        for run, res in enumerate(runs):
            res = check_relays(res, "compare_architectures", name="each result", require=("significant", "total"))
            drift = relay_drift(res, significant_only=significant_only)
            sig = res["significant"].transpose("concept", "time").values
            total = res["total"].transpose("concept", "time").values
            seed = res.attrs.get("recording_seed", res.attrs.get("seed_recording", -1))
            for ci, concept in enumerate(res["concept"].values):
                rows.append(
                    {
                        "architecture": arch,
                        "run": run,
                        "seed": int(seed) if np.ndim(seed) == 0 else -1,
                        "concept": str(concept),
                        "persistence_index": float(drift["persistence_index"].values[ci]),
                        "mean_relay_size": float(drift["mean_relay_size"].values[ci]),
                        "fraction_significant": float(np.mean(sig[ci])) if sig.shape[1] else np.nan,
                        "mean_total": float(np.nanmean(total[ci])) if np.isfinite(total[ci]).any() else np.nan,
                        "n_steps": int(sig.shape[1]),
                    }
                )
    return pd.DataFrame(rows)
