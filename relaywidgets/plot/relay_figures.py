"""Figures of relay maps and knockout tests: static matplotlib figures for export, bqplot ones for notebooks.

Every function takes ``backend="matplotlib"`` (returns a :class:`matplotlib.figure.Figure`) or
``backend="bqplot"`` (returns a :class:`bqplot.Figure`, or an :class:`ipywidgets.Box` of figures when
there is one panel per class). matplotlib and bqplot are imported inside the functions, so
``import relaywidgets.plot`` stays light and the numerical core never loads a plotting library.

- :func:`relay_heatmap`: contribution (bits) of every node at every step for one concept, relay
  cells marked;
- :func:`relay_sizes`: relay-set size per step, for one concept, every concept, or per architecture;
- :func:`relay_persistence`: Jaccard persistence of the relay sets between consecutive steps;
- :func:`persistence_index`: the persistence index of each run, grouped by architecture;
- :func:`elimination_curve`: relay information along the greedy elimination path at one step;
- :func:`knockout_drops`: accuracy drop of a relay knockout against the drops of random node sets.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError

__all__ = [
    "relay_heatmap",
    "relay_sizes",
    "relay_persistence",
    "persistence_index",
    "elimination_curve",
    "knockout_drops",
    "BACKENDS",
    "ARCH_COLORS",
]

BACKENDS = ("matplotlib", "bqplot")

#: matplotlib's tab10: one colour per series (concept or architecture), colour-blind friendlier than a rainbow.
_SERIES_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f",
)
#: Fixed colours of the three architectures, so that every figure of a comparison agrees.
ARCH_COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
_RELAY_VALUES = ("contribution", "aggregated_score", "marginal_mi", "unique_relay")
_VALUE_LABELS = {
    "contribution": "contribution (bits)",
    "aggregated_score": "aggregated relay score",
    "marginal_mi": "marginal information I(O; h[n]) (bits)",
    "unique_relay": "unique relay information (bits)",
}


# --------------------------------------------------------------------------------------------------
# argument checks shared by the figures


def _check_backend(backend: Any, owner: str) -> str:
    if backend not in BACKENDS:
        raise InputError(
            f"The 'backend' parameter of {owner} must be one of 'matplotlib' (a static Figure for export) or "
            f"'bqplot' (an interactive figure for notebooks). Got {backend!r} instead."
        )
    return backend


def _check_result(result: Any, owner: str) -> xr.Dataset:
    if not isinstance(result, xr.Dataset) or "is_relay" not in result or "concept" not in result.dims:
        raise InputError(
            f"{owner} needs the Dataset returned by relaywidgets.relay.find_relays; got {type(result).__name__}. "
            "Run `result = relaywidgets.relay.find_relays(recording)` first."
        )
    return result


def _concept_index(result: xr.Dataset, concept: Any, owner: str) -> int:
    """Position of ``concept`` (a concept label, a class index, or "all") on the result's concept axis."""
    labels = [str(c) for c in result["concept"].values]
    classes = [int(k) for k in result["concept_class"].values] if "concept_class" in result.coords else None
    if isinstance(concept, str):
        if concept in labels:
            return labels.index(concept)
    elif isinstance(concept, numbers.Integral) and not isinstance(concept, bool):
        if classes is not None and int(concept) in classes:
            return classes.index(int(concept))
        if classes is None and str(int(concept)) in labels:
            return labels.index(str(int(concept)))
    raise InputError(
        f"The 'concept' parameter of {owner} must be a concept of the relay result: a label from {labels} "
        f"or its class index. Got {concept!r} instead. Pass `concepts=` to find_relays to analyse more concepts."
    )


def _with_threshold(result: xr.Dataset, threshold: Any) -> xr.Dataset:
    if threshold is None:
        return result
    from ..relay import relays_at

    return relays_at(result, threshold)


def _group_results(results: Any, owner: str) -> dict[str, list[xr.Dataset]]:
    """``{name: [result, ...]}`` from a mapping of name -> result(s)."""
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
        grouped[str(name)] = [_check_result(r, owner) for r in runs]
    if not grouped:
        raise InputError(f"{owner} got an empty dict; give at least one name -> find_relays result.")
    return grouped


def _series_color(name: str, i: int) -> str:
    return ARCH_COLORS.get(str(name).lower(), _SERIES_COLORS[i % len(_SERIES_COLORS)])


def _concept_title(label: str) -> str:
    return "the decision (all classes)" if label == "all" else f"class {label}"


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _time_ticks(ax: Any, times: np.ndarray, max_ticks: int = 25) -> None:
    """Label index positions 0 .. T-1 with the time coordinate (thinned when there are many steps)."""
    pos = np.arange(times.size)
    step = max(1, int(np.ceil(times.size / max_ticks)))
    ax.set_xticks(pos[::step])
    ax.set_xticklabels([str(t) for t in times[::step]])


# --------------------------------------------------------------------------------------------------
# relay heat map


def relay_heatmap(
    result: xr.Dataset,
    concept: Any,
    *,
    value: str = "contribution",
    threshold: float | None = None,
    backend: str = "matplotlib",
    ax: Any = None,
    cmap: str = "Blues",
    title: str | None = None,
) -> Any:
    """Node x time map of a relay score for one concept, with the relay cells marked.

    The colour of cell (node n, step t) is ``result[value]`` for the concept (by default the
    contribution: the relay information, in bits, lost when the greedy search removed n at step t).
    A dot marks each relay cell: filled (black) where the step's relay information is significant
    (``result.significant``, p < alpha), hollow where it is not (or where no permutation test was run).

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`relaywidgets.relay.find_relays`.
    concept : str or int
        A concept label of ``result`` (e.g. ``"2"`` or ``"all"``) or a class index.
    value : {"contribution", "aggregated_score", "marginal_mi", "unique_relay"}, default "contribution"
        The per-node score shown as colour.
    threshold : float in [0, 1], optional
        Mark the relay sets at this threshold (:func:`relaywidgets.relay.relays_at`) instead of the
        result's own.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (matplotlib only; a colour bar is added next to them).
    cmap : str, default "Blues"
        Colour map (a matplotlib name, or a bqplot colour scheme).
    title : str, optional
        Figure title; default names the concept.

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        matplotlib: ``fig.axes[0].images[0].get_array()`` is the (node, time) array of ``value``,
        ``fig.axes[0].collections`` the filled and hollow relay markers. bqplot: ``fig.marks[0]`` is a
        ``GridHeatMap`` whose ``color`` is that array, ``fig.marks[1]`` and ``fig.marks[2]`` the
        filled and hollow markers (``x`` step, ``y`` node label).

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> from relaywidgets.plot import relay_heatmap
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=5, n_samples=500), concepts=[1], n_perm=0, progress=False)
    >>> fig = relay_heatmap(res, 1)
    >>> fig.axes[0].images[0].get_array().shape
    (4, 5)
    """
    owner = "relay_heatmap"
    backend = _check_backend(backend, owner)
    result = _with_threshold(_check_result(result, owner), threshold)
    if value not in _RELAY_VALUES or value not in result:
        raise InputError(
            f"The 'value' parameter of {owner} must be one of {list(_RELAY_VALUES)} (a variable of the relay "
            f"result). Got {value!r} instead."
        )
    ci = _concept_index(result, concept, owner)
    label = str(result["concept"].values[ci])
    data = result[value].isel(concept=ci).transpose("node", "time").values.astype(float)
    relay = result["is_relay"].isel(concept=ci).transpose("node", "time").values.astype(bool)
    if "significant" in result:
        sig = result["significant"].isel(concept=ci).values.astype(bool)
    else:
        sig = np.zeros(relay.shape[1], bool)
    nodes = np.asarray(result["node"].values).astype(str)
    times = np.asarray(result["time"].values)
    node_i, time_i = np.nonzero(relay)
    filled = sig[time_i]
    title = title if title is not None else f"Relays of {_concept_title(label)} over time"
    clabel = _VALUE_LABELS[value]

    if backend == "bqplot":
        import bqplot

        x_scale = bqplot.OrdinalScale()
        y_scale = bqplot.OrdinalScale(reverse=True)
        grid = bqplot.GridHeatMap(
            color=data,
            row=nodes,
            column=times,
            scales={"row": y_scale, "column": x_scale, "color": bqplot.ColorScale(scheme=cmap, min=0.0)},
            stroke="white",
            null_color="#f4f4f4",
            tooltip=bqplot.Tooltip(
                fields=["row", "column", "color"], labels=["node", "time", clabel], formats=["", "", ".3f"]
            ),
        )
        marker = dict(scales={"x": x_scale, "y": y_scale}, marker="circle", default_size=24, stroke="#000000",
                      colors=["#ffffff"], enable_hover=False)
        sig_marks = bqplot.Scatter(x=times[time_i[filled]], y=nodes[node_i[filled]], fill=True, **marker)
        ns_marks = bqplot.Scatter(x=times[time_i[~filled]], y=nodes[node_i[~filled]], fill=False, **marker)
        axes = [
            bqplot.Axis(scale=x_scale, label="time step"),
            bqplot.Axis(scale=y_scale, side="left", label="node", label_offset="45px"),
            bqplot.ColorAxis(scale=grid.scales["color"], side="right", label=clabel),
        ]
        return bqplot.Figure(marks=[grid, sig_marks, ns_marks], axes=axes, title=title,
                             fig_margin={"top": 50, "bottom": 50, "left": 70, "right": 90})

    fig, ax = _new_axes(ax, (max(4.0, 0.35 * times.size + 2.5), max(3.0, 0.25 * nodes.size + 1.5)))
    image = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap=cmap, vmin=0.0, interpolation="nearest")
    ax.scatter(time_i[filled], node_i[filled], s=20, facecolors="black", edgecolors="white", linewidths=0.6,
               label="relay (significant step)")
    ax.scatter(time_i[~filled], node_i[~filled], s=20, facecolors="none", edgecolors="black", linewidths=0.9,
               label="relay (step not significant)")
    _time_ticks(ax, times)
    step = max(1, int(np.ceil(nodes.size / 40)))
    ax.set_yticks(np.arange(nodes.size)[::step])
    ax.set_yticklabels(nodes[::step])
    ax.set_xlabel("time step")
    ax.set_ylabel("node")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=clabel)
    return fig


# --------------------------------------------------------------------------------------------------
# relay-set size and persistence over time


def _per_step_series(
    results: Any,
    concept: Any,
    variable: str,
    threshold: float | None,
    significant_only: bool,
    owner: str,
) -> tuple[np.ndarray, list[tuple[str, np.ndarray, np.ndarray | None]], str]:
    """Times and ``(name, mean, (low, high) or None)`` per series of a per-step drift variable.

    A single result gives one series per concept (or the chosen concept); a mapping gives one series
    per name: the mean over its runs (and over concepts, or the chosen concept), with the run-to-run
    range as the band.
    """
    from ..relay import relay_drift

    def per_concept(res: xr.Dataset) -> tuple[np.ndarray, xr.Dataset]:
        drift = relay_drift(_with_threshold(res, threshold), significant_only=significant_only)
        return np.asarray(drift[variable].transpose("concept", "time").values, dtype=float), drift

    if isinstance(results, xr.Dataset):
        res = _check_result(results, owner)
        values, _ = per_concept(res)
        labels = [str(c) for c in res["concept"].values]
        times = np.asarray(res["time"].values)
        if concept is not None:
            ci = _concept_index(res, concept, owner)
            return times, [(labels[ci], values[ci], None)], _concept_title(labels[ci])
        series = [(f"class {lab}" if lab != "all" else "all", values[i], None) for i, lab in enumerate(labels)]
        return times, series, "every concept"

    grouped = _group_results(results, owner)
    times = None
    series = []
    for name, runs in grouped.items():
        per_run = []
        for res in runs:
            values, _ = per_concept(res)
            if concept is not None:
                values = values[[_concept_index(res, concept, owner)]]
            run_times = np.asarray(res["time"].values)
            if times is None:
                times = run_times
            elif not np.array_equal(times, run_times):
                raise InputError(
                    f"{owner} needs every result on the same time steps; {name!r} has {run_times.tolist()}, "
                    f"another one {times.tolist()}. Run find_relays with the same `times=`."
                )
            with np.errstate(all="ignore"), _quiet_nan_warnings():
                per_run.append(np.nanmean(values, axis=0))
        stack = np.vstack(per_run)
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(stack, axis=0)
            band = (np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)) if len(runs) > 1 else None
        series.append((name, mean, band))
    what = "mean over runs and concepts" if concept is None else f"{_concept_title(str(concept))}, mean over runs"
    return times, series, what


class _quiet_nan_warnings:
    """Silence numpy's "mean of empty slice" (all-NaN steps are legitimately NaN here)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def _series_figure(
    times: np.ndarray,
    series: list[tuple[str, np.ndarray, Any]],
    *,
    bars: bool,
    ylabel: str,
    title: str,
    backend: str,
    ax: Any,
    ylim: tuple[float, float] | None = None,
    reference: Mapping[str, np.ndarray] | None = None,
) -> Any:
    """Bars for one series, lines (with a run-to-run band) for several; dashed ``reference`` lines."""
    if backend == "bqplot":
        import bqplot

        x_scale = bqplot.OrdinalScale() if bars else bqplot.LinearScale()
        y_scale = bqplot.LinearScale(min=ylim[0], max=ylim[1]) if ylim else bqplot.LinearScale(min=0.0)
        scales = {"x": x_scale, "y": y_scale}
        marks = []
        if bars:
            name, values, _ = series[0]
            marks.append(bqplot.Bars(x=times, y=values, scales=scales, colors=[_SERIES_COLORS[0]],
                                     tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["time", ylabel])))
        else:
            for i, (name, values, band) in enumerate(series):
                color = _series_color(name, i)
                if band is not None:
                    marks.append(bqplot.Lines(x=times, y=np.vstack(band), scales=scales, fill="between",
                                              colors=[color], fill_colors=[color], fill_opacities=[0.2],
                                              opacities=[0.0, 0.0], enable_hover=False))
                marks.append(bqplot.Lines(x=times, y=values, scales=scales, colors=[color], labels=[name],
                                          marker="circle", marker_size=24, display_legend=True))
        for i, (name, values) in enumerate((reference or {}).items()):
            color = _series_color(name, i) if not bars else "#555555"
            marks.append(bqplot.Lines(x=times, y=np.asarray(values, float), scales=scales, colors=[color],
                                      line_style="dashed", labels=[f"{name} (chance)"], display_legend=True))
        axes = [bqplot.Axis(scale=x_scale, label="time step", tick_format="d" if not bars else None),
                bqplot.Axis(scale=y_scale, side="left", label=ylabel, label_offset="40px")]
        return bqplot.Figure(marks=marks, axes=axes, title=title, legend_location="bottom-right")

    fig, ax = _new_axes(ax, (max(5.0, 0.3 * times.size + 3.0), 3.2))
    if bars:
        name, values, _ = series[0]
        ax.bar(np.arange(times.size), np.nan_to_num(values, nan=0.0), color=_SERIES_COLORS[0], label=name)
        _time_ticks(ax, times)
        xs = np.arange(times.size)
    else:
        xs = times
        for i, (name, values, band) in enumerate(series):
            color = _series_color(name, i)
            if band is not None:
                ax.fill_between(times, band[0], band[1], color=color, alpha=0.2, linewidth=0)
            ax.plot(times, values, marker="o", ms=3.5, color=color, label=name)
    for i, (name, values) in enumerate((reference or {}).items()):
        color = "#555555" if bars else _series_color(name, i)
        ax.plot(xs, np.asarray(values, float), linestyle="--", color=color, linewidth=1.2, label=f"{name} (chance)")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("time step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if not bars or reference:
        ax.legend(fontsize="small", frameon=False)
    return fig


def relay_sizes(
    results: Any,
    concept: Any = None,
    *,
    threshold: float | None = None,
    significant_only: bool = False,
    backend: str = "matplotlib",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Number of nodes in the relay set at each time step.

    Parameters
    ----------
    results : xarray.Dataset or dict of str to Dataset or list of Dataset
        One :func:`~relaywidgets.relay.find_relays` result, or several networks to compare, e.g.
        ``{"rnn": [res_seed0, res_seed1], "lstm": [...], "gru": [...]}``.
    concept : str or int, optional
        Show this concept only. With one result and a concept, one bar per step; with one result and
        no concept, one line per concept. With a dict, one line per name: the mean over its runs (and
        over concepts, unless ``concept`` is given), the band spanning the runs' minimum to maximum.
    threshold : float in [0, 1], optional
        Relay sets at this threshold (:func:`~relaywidgets.relay.relays_at`) instead of the results' own.
    significant_only : bool, default False
        Count a step whose total relay information is not significant as an empty relay set.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        Bars: ``fig.axes[0].patches`` (matplotlib) or a ``bqplot.Bars`` mark whose ``y`` are the sizes.
        Lines: one ``Line2D`` (matplotlib) or ``bqplot.Lines`` mark per series.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> from relaywidgets.plot import relay_sizes
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=5, n_samples=500), concepts=[1], n_perm=0, progress=False)
    >>> [float(p.get_height()) for p in relay_sizes(res, 1).axes[0].patches]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    owner = "relay_sizes"
    backend = _check_backend(backend, owner)
    times, series, what = _per_step_series(results, concept, "relay_size", threshold, significant_only, owner)
    bars = isinstance(results, xr.Dataset) and concept is not None
    if title is None:
        title = f"Relay-set size per step ({what})"
    return _series_figure(times, series, bars=bars, ylabel="relay-set size (nodes)", title=title,
                          backend=backend, ax=ax)


def relay_persistence(
    results: Any,
    concept: Any = None,
    *,
    threshold: float | None = None,
    significant_only: bool = False,
    chance: Mapping[str, Any] | None = None,
    backend: str = "matplotlib",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Persistence of the relay sets: Jaccard index between the sets at step t-1 and step t.

    1 means the same nodes hold the concept from one step to the next (localized storage), values
    near the chance level mean the relay role moves between nodes (information drift). The first
    step and steps where both sets are empty have no value (gaps).

    Parameters
    ----------
    results : xarray.Dataset or dict of str to Dataset or list of Dataset
        As in :func:`relay_sizes`: one result (a line per concept, or the chosen concept) or a dict of
        networks (a line per name, mean over runs, band = run range).
    concept : str or int, optional
    threshold : float in [0, 1], optional
    significant_only : bool, default False
        Passed to :func:`~relaywidgets.relay.relay_drift`.
    chance : dict of str to array-like, optional
        Reference curves drawn dashed, e.g. the Jaccard index random node sets of the same sizes
        would have, keyed like the series (one value per step).
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        One line per series (``Line2D`` / ``bqplot.Lines``) whose y values are the persistence.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> from relaywidgets.plot import relay_persistence
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=5, n_samples=500), concepts=[1], n_perm=0, progress=False)
    >>> relay_persistence(res).axes[0].lines[0].get_ydata()[1:].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    owner = "relay_persistence"
    backend = _check_backend(backend, owner)
    times, series, what = _per_step_series(results, concept, "persistence", threshold, significant_only, owner)
    if title is None:
        title = f"Persistence of the relay sets ({what})"
    return _series_figure(times, series, bars=False, ylabel="persistence (Jaccard)", title=title,
                          backend=backend, ax=ax, ylim=(0.0, 1.05), reference=chance)


def persistence_index(
    table: Any,
    *,
    value: str = "persistence_index",
    chance: str | None = None,
    backend: str = "matplotlib",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """The persistence index of every run, grouped by architecture (one dot per run, a bar at the mean).

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`relaywidgets.relay.compare_architectures` (columns ``architecture``,
        ``run`` and ``value``); rows of the same run (one per concept) are averaged.
    value : str, default "persistence_index"
        The column to show (e.g. ``"mean_relay_size"``).
    chance : str, optional
        A column with each run's chance level (e.g. the persistence random node sets of the same sizes
        would have), drawn as grey crosses.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        matplotlib: ``fig.axes[0].collections[0]`` holds the runs' dots (x = architecture position),
        ``fig.axes[0].patches`` one bar per architecture at the mean. bqplot: a ``Bars`` mark (means)
        and a ``Scatter`` mark (runs).

    Examples
    --------
    >>> import pandas as pd
    >>> from relaywidgets.plot import persistence_index
    >>> table = pd.DataFrame({"architecture": ["rnn", "rnn", "gru"], "run": [0, 1, 0],
    ...                       "persistence_index": [0.2, 0.4, 0.9]})
    >>> [round(float(p.get_height()), 2) for p in persistence_index(table).axes[0].patches]
    [0.3, 0.9]
    """
    owner = "persistence_index"
    backend = _check_backend(backend, owner)
    needed = {"architecture", "run", value} | ({chance} if chance else set())
    columns = set(getattr(table, "columns", []))
    if not hasattr(table, "groupby") or not needed <= columns:
        raise InputError(
            f"{owner} needs a pandas DataFrame with the columns {sorted(needed)} (the output of "
            f"relaywidgets.relay.compare_architectures); got {type(table).__name__} with columns {sorted(columns)}."
        )
    cols = [value] + ([chance] if chance else [])
    runs = table.groupby(["architecture", "run"], sort=False)[cols].mean().reset_index()
    archs = list(dict.fromkeys(runs["architecture"].tolist()))
    pos = {a: i for i, a in enumerate(archs)}
    x = np.array([pos[a] for a in runs["architecture"]], dtype=float)
    y = runs[value].to_numpy(dtype=float)
    means = np.array([np.nanmean(y[x == i]) for i in range(len(archs))])
    colors = [_series_color(a, i) for i, a in enumerate(archs)]
    ylabel = value.replace("_", " ")
    title = title if title is not None else f"{ylabel.capitalize()} per architecture (dots: runs)"

    if backend == "bqplot":
        import bqplot

        x_scale, y_scale = bqplot.OrdinalScale(), bqplot.LinearScale(min=0.0)
        scales = {"x": x_scale, "y": y_scale}
        marks = [
            bqplot.Bars(x=np.array(archs), y=means, scales=scales, colors=colors, opacities=[0.35] * len(archs),
                        color_mode="element"),
            bqplot.Scatter(x=runs["architecture"].to_numpy().astype(str), y=y, scales=scales, colors=["#000000"],
                           default_size=40, tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["architecture", ylabel])),
        ]
        if chance:
            marks.append(bqplot.Scatter(x=runs["architecture"].to_numpy().astype(str),
                                        y=runs[chance].to_numpy(dtype=float), scales=scales, marker="cross",
                                        colors=["#888888"], default_size=40))
        axes = [bqplot.Axis(scale=x_scale, label="architecture"),
                bqplot.Axis(scale=y_scale, side="left", label=ylabel, label_offset="40px")]
        return bqplot.Figure(marks=marks, axes=axes, title=title)

    fig, ax = _new_axes(ax, (1.2 * len(archs) + 2.0, 3.2))
    ax.bar(np.arange(len(archs)), means, color=colors, alpha=0.35, width=0.6, label="mean over runs")
    ax.scatter(x, y, color="black", s=18, zorder=3, label="run")
    if chance:
        ax.scatter(x + 0.18, runs[chance].to_numpy(dtype=float), color="#888888", marker="x", s=24, zorder=3,
                   label="chance (random sets of the same sizes)")
    ax.set_xticks(np.arange(len(archs)))
    ax.set_xticklabels(archs)
    ax.set_xlim(-0.6, len(archs) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small", frameon=False)
    return fig


# --------------------------------------------------------------------------------------------------
# elimination curve


def elimination_curve(
    result: xr.Dataset,
    concept: Any,
    time: int,
    *,
    threshold: float | None = None,
    backend: str = "matplotlib",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Relay information along the greedy elimination path at one step, with the threshold and the cut.

    The x axis is the size of the remaining set R (all nodes on the left, none on the right); the
    dashed line is ``threshold * I_R(N)``, the dotted line the null mean (bias floor) of the total
    when a permutation test was run; the vertical line marks the relay set, the smallest R on the
    path above the dashed line.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`~relaywidgets.relay.find_relays`.
    concept : str or int
    time : int
        A value of the result's ``time`` coordinate.
    threshold : float in [0, 1], optional
        Default: the result's ``threshold`` attribute.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        The first line (``Line2D`` / ``bqplot.Lines``) has x = set size ``n, n-1, ..., 0`` and
        y = ``result.curve`` (bits).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> from relaywidgets.plot import elimination_curve
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=1000)
    >>> res = find_relays(rec, concepts=[1], n_perm=0, progress=False)
    >>> elimination_curve(res, 1, 0).axes[0].lines[0].get_xdata().tolist()
    [4, 3, 2, 1, 0]
    """
    owner = "elimination_curve"
    backend = _check_backend(backend, owner)
    result = _check_result(result, owner)
    if threshold is None:
        threshold = float(result.attrs.get("threshold", 0.9))
    result = _with_threshold(result, threshold)
    ci = _concept_index(result, concept, owner)
    times = np.asarray(result["time"].values)
    if not (isinstance(time, numbers.Integral) and not isinstance(time, bool)) or int(time) not in times.tolist():
        raise InputError(
            f"The 'time' parameter of {owner} must be a time step of the relay result ({times.min()} .. "
            f"{times.max()}). Got {time!r} instead."
        )
    sel = result.isel(concept=ci).sel(time=int(time))
    curve = np.asarray(sel["curve"].values, dtype=float)
    sizes = np.asarray(result["set_size"].values) if "set_size" in result.coords else np.arange(curve.size)[::-1]
    total = float(sel["total"].values)
    relay_size = int(sel["relay_size"].values)
    null = float(sel["null_mean"].values) if "null_mean" in sel else np.nan
    label = str(result["concept"].values[ci])
    title = title if title is not None else f"Elimination path, {_concept_title(label)}, t = {int(time)}"
    ylabel = "relay information I_R(R) (bits)"

    if backend == "bqplot":
        import bqplot

        x_scale = bqplot.LinearScale(reverse=True)
        y_scale = bqplot.LinearScale(min=0.0)
        scales = {"x": x_scale, "y": y_scale}
        top = max(total, np.nanmax(curve) if np.isfinite(curve).any() else 0.0, 1e-9)
        marks = [
            bqplot.Lines(x=sizes, y=curve, scales=scales, marker="circle", marker_size=24, labels=["I_R(R)"],
                         colors=[_SERIES_COLORS[0]], display_legend=True),
            bqplot.Lines(x=[sizes.max(), sizes.min()], y=[threshold * total] * 2, scales=scales, line_style="dashed",
                         colors=["#555555"], labels=[f"{threshold:g} x I_R(N)"], display_legend=True),
            bqplot.Lines(x=[relay_size, relay_size], y=[0.0, top], scales=scales, colors=["#d62728"],
                         labels=[f"relay set ({relay_size} nodes)"], display_legend=True),
        ]
        if np.isfinite(null):
            marks.append(bqplot.Lines(x=[sizes.max(), sizes.min()], y=[null] * 2, scales=scales, line_style="dotted",
                                      colors=["#888888"], labels=["null mean"], display_legend=True))
        axes = [bqplot.Axis(scale=x_scale, label="size of R (nodes kept)", tick_format="d"),
                bqplot.Axis(scale=y_scale, side="left", label=ylabel, label_offset="40px")]
        return bqplot.Figure(marks=marks, axes=axes, title=title, legend_location="top-right")

    fig, ax = _new_axes(ax, (5.0, 3.2))
    ax.plot(sizes, curve, marker="o", ms=3.5, color=_SERIES_COLORS[0], label="I_R(R)")
    ax.axhline(threshold * total, linestyle="--", color="#555555", linewidth=1.0, label=f"{threshold:g} x I_R(N)")
    if np.isfinite(null):
        ax.axhline(null, linestyle=":", color="#888888", linewidth=1.0, label="null mean (bias floor)")
    ax.axvline(relay_size, color="#d62728", linewidth=1.2, label=f"relay set ({relay_size} nodes)")
    ax.set_xlim(sizes.max() + 0.5, sizes.min() - 0.5)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("size of R (nodes kept)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small", frameon=False)
    return fig


# --------------------------------------------------------------------------------------------------
# knockout drops against random controls


_KNOCKOUT_VARS = ("random_drops", "relay_drop", "p_value", "effect_size")


def _knockout_tests(test: Any, owner: str) -> list[tuple[str, xr.Dataset]]:
    """``(class name, test)`` pairs from one knockout test, a dict of them or a list of them."""
    if isinstance(test, xr.Dataset):
        items: list[tuple[Any, Any]] = [(None, test)]
    elif isinstance(test, Mapping):
        items = list(test.items())
    elif isinstance(test, Sequence) and not isinstance(test, (str, bytes)):
        items = [(None, t) for t in test]
    else:
        items = [(None, test)]
    out = []
    for key, item in items:
        if not isinstance(item, xr.Dataset) or not all(v in item.data_vars for v in _KNOCKOUT_VARS):
            raise InputError(
                f"{owner} needs the Dataset returned by relaywidgets.knockout.relay_knockout_test (with variables "
                f"{', '.join(_KNOCKOUT_VARS)}), a dict of class -> such Dataset, or a list of them. "
                f"Got {type(item).__name__}."
            )
        out.append((str(key) if key is not None else str(item.attrs.get("concept", "")), item))
    if not out:
        raise InputError(f"{owner} got no knockout test to draw; pass relay_knockout_test(...) results.")
    return out


def _knockout_title(name: str, test: xr.Dataset) -> str:
    """"class 3, 2 relay nodes"; a panel name other than the tested class is shown as given."""
    concept = str(test.attrs.get("concept", ""))
    parts = [f"class {name}" if name and name == concept else name]
    if "relay_nodes" in test.variables:
        n = int(test.sizes.get("member", np.size(test["relay_nodes"])))
        parts.append(f"{n} relay node{'' if n == 1 else 's'}")
    return ", ".join(p for p in parts if p)


def _default_bins(drops: np.ndarray) -> int:
    """One bin per distinct drop, between 5 and 30 (also :func:`relaywidgets.knockout.plot_knockout_test`'s default)."""
    return int(min(30, max(5, np.unique(np.round(drops, 9)).size)))


def knockout_drops(
    test: Any,
    *,
    bins: int | Sequence[float] | None = None,
    backend: str = "matplotlib",
    ncols: int = 3,
    title: str | None = None,
) -> Any:
    """Histogram of the accuracy drops of random node sets, with the relay set's drop as a line, per class.

    If the relay set matters for the class more than a random set of the same size, its drop (red
    line) lies to the right of the random drops (grey bars); the p-value is the share of random sets
    (plus one) that dropped the accuracy at least as much. The matplotlib panels are drawn by
    :func:`relaywidgets.knockout.plot_knockout_test`, which also prints the p-value, the effect size
    and the mean drop of the other classes.

    Parameters
    ----------
    test : xarray.Dataset, dict of str to Dataset, or list of Dataset
        Result(s) of :func:`relaywidgets.knockout.relay_knockout_test`, e.g. one per class. A panel is
        titled "class <concept>" (the test's ``concept`` attribute); a dict key other than the concept
        is shown as the title instead (e.g. ``{"controls from other units": test}``).
    bins : int or sequence of float, optional
        Histogram bins (``numpy.histogram``); default one per distinct drop, between 5 and 30.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ncols : int, default 3
        Panels per row.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure or ipywidgets.GridBox
        matplotlib: one axes per class; ``ax.patches`` are the histogram bars (heights = counts),
        ``ax.lines[0]`` marks the relay drop. bqplot: one Figure (a single class) or a GridBox of
        Figures, each with a ``Bars`` mark of the counts and a ``Lines`` mark at the relay drop.

    Examples
    --------
    >>> import xarray as xr
    >>> from relaywidgets.plot import knockout_drops
    >>> test = xr.Dataset({"random_drops": ("control", [0.0, 0.005, 0.02]), "relay_drop": 0.4,
    ...                    "p_value": 0.25, "effect_size": 38.0}, attrs={"concept": "3"})
    >>> fig = knockout_drops(test, bins=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 1.0]
    """
    owner = "knockout_drops"
    backend = _check_backend(backend, owner)
    tests = _knockout_tests(test, owner)
    if not (isinstance(ncols, numbers.Integral) and not isinstance(ncols, bool) and ncols >= 1):
        raise InputError(f"The 'ncols' parameter of {owner} must be an int in [1, inf). Got {ncols!r} instead.")
    drops = []
    for name, t in tests:
        d = np.asarray(t["random_drops"].values, dtype=float).ravel()
        d = d[np.isfinite(d)]
        if d.size == 0:
            raise InputError(f"{owner}: the knockout test of class {name!r} holds no finite random drop.")
        drops.append(d)

    if backend == "bqplot":
        import bqplot
        import ipywidgets as widgets

        figures = []
        for (name, t), d in zip(tests, drops):
            counts, edges = np.histogram(d, bins=_default_bins(d) if bins is None else bins)
            relay = float(t["relay_drop"])
            lo, hi = float(min(edges[0], relay)), float(max(edges[-1], relay))
            pad = 0.05 * (hi - lo) + 1e-3
            x_scale, y_scale = bqplot.LinearScale(min=lo - pad, max=hi + pad), bqplot.LinearScale(min=0.0)
            scales = {"x": x_scale, "y": y_scale}
            bars = bqplot.Bars(x=0.5 * (edges[:-1] + edges[1:]), y=counts, scales=scales, colors=["#b0b0b0"],
                               padding=0.05, tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["drop", "random sets"]))
            line = bqplot.Lines(x=[relay, relay], y=[0.0, max(1.0, float(counts.max()))], scales=scales,
                                colors=["#d62728"], stroke_width=3)
            axes = [bqplot.Axis(scale=x_scale, label="drop in class accuracy", tick_format=".2f"),
                    bqplot.Axis(scale=y_scale, side="left", label="random sets", tick_format="d")]
            sub = f"{_knockout_title(name, t)}, p = {float(t['p_value']):.3g}"
            figures.append(bqplot.Figure(marks=[bars, line], axes=axes, title=sub,
                                         layout=widgets.Layout(width="320px", height="260px"),
                                         fig_margin={"top": 40, "bottom": 45, "left": 50, "right": 15}))
        if len(figures) == 1:
            return figures[0]
        columns = min(ncols, len(figures))
        return widgets.GridBox(figures, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, 330px)"))

    import matplotlib.pyplot as plt

    from .knockout_figures import plot_knockout_test

    n = len(tests)
    cols = min(ncols, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 0.4, 2.8 * rows + 0.6), layout="constrained",
                             squeeze=False)
    for ax, (name, t), d in zip(axes.ravel(), tests, drops):
        plot_knockout_test(t, ax=ax, bins=_default_bins(d) if bins is None else bins)
        ax.set_title(_knockout_title(name, t), fontsize="medium")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    if title is not None:
        fig.suptitle(title)
    return fig
