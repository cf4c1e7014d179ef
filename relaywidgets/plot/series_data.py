"""What the comparison figures show: per-step series of several concepts or networks, values per run.

Backend-free like :mod:`relaywidgets.plot.data` (numpy, xarray and, for tables, pandas objects given
by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..contract import check_relays, concept_title, resolve_concept
from ..errors import InputError
from .data import SERIES_COLORS, quiet_nan_means, series_color, with_threshold

__all__ = ["Series", "SeriesData", "RunsData", "series_data", "runs_data", "group_results"]


# --------------------------------------------------------------------------------------------------
# per-step series: relay-set size and persistence


@dataclass(frozen=True)
class Series:
    """One curve: its name, colour, values per step and, for a group of runs, the run-to-run range."""

    name: str
    color: str
    values: np.ndarray
    band: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class SeriesData:
    """Per-step values of one or several series; ``bars`` when a single series is shown as bars.

    ``references`` are dashed comparison curves (e.g. chance levels), ``ylim`` fixed y limits.
    """

    times: np.ndarray
    series: list[Series]
    bars: bool
    ylabel: str
    title: str
    ylim: tuple[float, float] | None = None
    references: tuple[Series, ...] = ()


def group_results(results: Any, owner: str) -> dict[str, list[xr.Dataset]]:
    """``{name: [result, ...]}`` from a mapping of name -> relay result(s), each checked."""
    if not isinstance(results, Mapping):
        raise InputError(
            f"{owner} compares networks given as a dict of name -> find_relays result (or list of results, "
            f"e.g. one per seed); got {type(results).__name__}."
        )
    grouped: dict[str, list[xr.Dataset]] = {}
    for name, value in results.items():
        runs = [value] if isinstance(value, xr.Dataset) else list(value)
        if not runs:
            raise InputError(f"{owner}: the entry {name!r} holds no result; give at least one find_relays result.")
        grouped[str(name)] = [check_relays(r, owner) for r in runs]
    if not grouped:
        raise InputError(f"{owner} got an empty dict; give at least one name -> find_relays result.")
    return grouped


def series_data(
    results: Any,
    concept: Any,
    variable: str,
    *,
    threshold: float | None = None,
    significant_only: bool = False,
    ylabel: str,
    title: str | None = None,
    title_prefix: str,
    ylim: tuple[float, float] | None = None,
    chance: Mapping[str, Any] | None = None,
    bars: bool = False,
    owner: str = "series_data",
) -> SeriesData:
    """Per-step series of a :func:`~relaywidgets.relay.relay_drift` variable (``relay_size``, ``persistence``).

    One result gives a series per concept (or the chosen concept); a mapping of name -> result(s)
    gives a series per name: the mean over its runs (and over its concepts, unless ``concept`` is
    given), with the run-to-run range as the band.

    Parameters
    ----------
    results : xarray.Dataset or dict of str to Dataset or list of Dataset
        One relay result, or networks to compare.
    concept : str or int or None
        One concept only, or every concept (None).
    variable : {"relay_size", "persistence"}
        The :func:`~relaywidgets.relay.relay_drift` variable shown.
    threshold : float in [0, 1], optional
        Relay sets at this threshold instead of the results' own.
    significant_only : bool, default False
        Passed to :func:`~relaywidgets.relay.relay_drift`.
    ylabel, title_prefix : str
        The y label, and the title before the parenthesis that says what is averaged.
    title : str, optional
        Replaces the default title.
    ylim : (float, float), optional
        Fixed y limits.
    chance : dict of str to array-like, optional
        A reference curve per series name (one value per step), drawn dashed.
    bars : bool, default False
        Draw the single series of one result and one concept as bars.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    SeriesData

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=3, n_samples=400), concepts=[1], n_perm=0, progress=False)
    >>> data = series_data({"gru": [res, res]}, None, "relay_size", ylabel="nodes", title_prefix="Size")
    >>> data.series[0].values.tolist(), data.title
    ([1.0, 1.0, 1.0], 'Size (mean over runs and concepts)')
    """
    from ..relay import relay_drift

    def per_concept(res: xr.Dataset) -> np.ndarray:
        drift = relay_drift(with_threshold(res, threshold), significant_only=significant_only)
        return np.asarray(drift[variable].transpose("concept", "time").values, dtype=float)

    one_series = False
    if isinstance(results, xr.Dataset):
        res = check_relays(results, owner)
        values = per_concept(res)
        labels = [str(c) for c in res["concept"].values]
        times = np.asarray(res["time"].values)
        if concept is not None:
            ci = resolve_concept(res, concept, owner)
            one_series = True
            series = [(labels[ci], values[ci], None)]
            what = concept_title(labels[ci])
        else:
            series = [(f"class {lab}" if lab != "all" else "all", values[i], None) for i, lab in enumerate(labels)]
            what = "every concept"
    else:
        times, series = _run_means(group_results(results, owner), concept, per_concept, owner)
        what = "mean over runs and concepts" if concept is None else f"{concept_title(concept)}, mean over runs"
    bars = bars and one_series
    if bars:
        shown = [Series(series[0][0], SERIES_COLORS[0], series[0][1])]
    else:
        shown = [Series(name, series_color(name, i), v, band) for i, (name, v, band) in enumerate(series)]
    references = tuple(
        Series(f"{name} (chance)", "#555555" if bars else series_color(name, i), np.asarray(v, float))
        for i, (name, v) in enumerate((chance or {}).items())
    )
    return SeriesData(times=times, series=shown, bars=bars, ylabel=ylabel,
                      title=title if title is not None else f"{title_prefix} ({what})", ylim=ylim,
                      references=references)


def _run_means(
    grouped: dict[str, list[xr.Dataset]], concept: Any, per_concept: Any, owner: str
) -> tuple[np.ndarray, list[tuple[str, np.ndarray, tuple[np.ndarray, np.ndarray] | None]]]:
    """Times and ``(name, mean over runs, (min, max) over runs or None)`` of each group."""
    times: np.ndarray | None = None
    series = []
    for name, runs in grouped.items():
        per_run = []
        for res in runs:
            values = per_concept(res)
            if concept is not None:
                values = values[[resolve_concept(res, concept, owner)]]
            run_times = np.asarray(res["time"].values)
            if times is None:
                times = run_times
            elif not np.array_equal(times, run_times):
                raise InputError(
                    f"{owner} needs every result on the same time steps; {name!r} has {run_times.tolist()}, "
                    f"another one {times.tolist()}. Run find_relays with the same `times=`."
                )
            with quiet_nan_means():
                per_run.append(np.nanmean(values, axis=0))
        stack = np.vstack(per_run)
        with quiet_nan_means():
            mean = np.nanmean(stack, axis=0)
            band = (np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)) if len(runs) > 1 else None
        series.append((name, mean, band))
    assert times is not None  # group_results refuses an empty mapping
    return times, series


# --------------------------------------------------------------------------------------------------
# one value per run, grouped by architecture


@dataclass(frozen=True)
class RunsData:
    """One value per run (dots) grouped by architecture, with a bar at each group's mean.

    ``run_x`` is the position of each run's group, ``run_group`` its name; ``chance`` (optional) the
    run's chance level.
    """

    groups: list[str]
    means: np.ndarray
    colors: list[str]
    run_x: np.ndarray
    run_group: np.ndarray
    run_values: np.ndarray
    chance: np.ndarray | None
    ylabel: str
    title: str


def runs_data(
    table: Any, value: str, *, chance: str | None = None, title: str | None = None, owner: str = "runs_data"
) -> RunsData:
    """The per-run values of a :func:`~relaywidgets.relay.compare_architectures` table (rows of a run averaged).

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``architecture``, ``run``, ``value`` (and ``chance`` when given).
    value : str
        The column shown.
    chance : str, optional
        A column with each run's chance level.
    title : str, optional
        Replaces the default title.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    RunsData

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"architecture": ["rnn", "rnn", "gru"], "run": [0, 1, 0], "x": [0.2, 0.4, 0.9]})
    >>> runs_data(table, "x").means.round(2).tolist()
    [0.3, 0.9]
    """
    for arg, text in (("value", value), ("chance", chance)):
        if not isinstance(text, str) and not (arg == "chance" and text is None):
            raise InputError(
                f"The '{arg}' parameter of {owner} must be a column name (a str) of the compare_architectures "
                f"table. Got {text!r} instead."
            )
    needed = {"architecture", "run", value} | ({chance} if chance else set())
    columns = set(getattr(table, "columns", []))
    if not hasattr(table, "groupby") or not needed <= columns:
        raise InputError(
            f"{owner} needs a pandas DataFrame with the columns {sorted(needed)} (the output of "
            f"relaywidgets.relay.compare_architectures); got {type(table).__name__} with columns {sorted(columns)}."
        )
    cols = [value] + ([chance] if chance else [])
    runs = table.groupby(["architecture", "run"], sort=False)[cols].mean().reset_index()
    groups = [str(a) for a in dict.fromkeys(runs["architecture"].tolist())]
    pos = {a: i for i, a in enumerate(groups)}
    run_group = runs["architecture"].to_numpy().astype(str)
    x = np.array([pos[a] for a in run_group], dtype=float)
    y = runs[value].to_numpy(dtype=float)
    with quiet_nan_means():
        means = np.array([np.nanmean(y[x == i]) for i in range(len(groups))])
    ylabel = value.replace("_", " ")
    return RunsData(
        groups=groups, means=means, colors=[series_color(a, i) for i, a in enumerate(groups)], run_x=x,
        run_group=run_group, run_values=y, chance=runs[chance].to_numpy(dtype=float) if chance else None,
        ylabel=ylabel, title=title if title is not None else f"{ylabel.capitalize()} per architecture (dots: runs)",
    )
