"""Draw the prepared figure data with bqplot: interactive figures for notebooks.

Each function takes a record of :mod:`relaywidgets.plot.data` (or ``series_data``, ``knockout_data``)
and returns a :class:`bqplot.Figure` (or an :class:`ipywidgets.GridBox` of figures). The functions
take the same keywords as those of :mod:`~relaywidgets.plot.draw_matplotlib`, so that a figure
function calls either without asking which; ``ax`` is ignored (a bqplot figure is always new). bqplot and
ipywidgets are imported here only, and this module only on first use by
:func:`relaywidgets.plot.backends.drawer`; the explorer's heat map reuses :func:`grid_cells`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from .causal_data import DeletionData, EffectMapData
from .data import SERIES_COLORS, CurveData, HeatmapData
from .knockout_data import KnockoutPanel
from .series_data import RunsData, SeriesData

__all__ = ["grid_cells", "relay_heatmap", "effect_heatmap", "deletion_plot", "diverging_scale", "deletion_marks",
           "series", "runs", "elimination_curve", "knockout_drops"]

#: Blue (the knockout helps) - white (no effect) - red (the knockout hurts), as matplotlib's RdBu_r.
DIVERGING_COLORS = ["#2166ac", "#f7f7f7", "#b2182b"]


def grid_cells(data: HeatmapData | EffectMapData, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(color, row labels, column labels)`` for a :class:`bqplot.GridHeatMap` of ``data.values``.

    bqplot squeezes a colour array with a single row or column to 1-D, which GridHeatMap cannot
    draw: such a map gets an empty (NaN) row or column labelled ``" "``.
    """
    color, rows, cols = data.values, data.nodes, np.asarray(columns)
    if color.shape[0] == 1:
        color, rows = np.vstack([color, np.full((1, color.shape[1]), np.nan)]), np.append(rows, " ")
    if color.shape[1] == 1:
        color, cols = np.hstack([color, np.full((color.shape[0], 1), np.nan)]), np.append(cols.astype(str), " ")
    return color, rows, cols


def relay_heatmap(data: HeatmapData, *, ax: Any = None, cmap: str = "Blues") -> Any:
    """A GridHeatMap of ``data.values`` (``marks[0]``), filled and hollow relay markers (``marks[1]``, ``[2]``).

    Columns and marker ``x`` are the time steps (as text when the map has a single step, see
    :func:`grid_cells`), rows and marker ``y`` the node labels.
    """
    columns = data.time_labels if data.values.shape[1] == 1 else data.times
    color, rows, cols = grid_cells(data, columns)
    x_scale = bqplot.OrdinalScale()
    y_scale = bqplot.OrdinalScale(reverse=True)
    grid = bqplot.GridHeatMap(
        color=color,
        row=rows,
        column=cols,
        scales={"row": y_scale, "column": x_scale, "color": bqplot.ColorScale(scheme=cmap, min=data.vmin)},
        stroke="white",
        null_color="#f4f4f4",
        tooltip=bqplot.Tooltip(
            fields=["row", "column", "color"], labels=["node", "time", data.value_label], formats=["", "", ".3f"]
        ),
    )
    marker = dict(scales={"x": x_scale, "y": y_scale}, marker="circle", default_size=24, stroke="#000000",
                  colors=["#ffffff"], enable_hover=False)
    sig = data.relay_significant
    x, y = np.asarray(columns)[data.relay_time], data.nodes[data.relay_node]
    sig_marks = bqplot.Scatter(x=x[sig], y=y[sig], fill=True, **marker)
    ns_marks = bqplot.Scatter(x=x[~sig], y=y[~sig], fill=False, **marker)
    axes = [
        bqplot.Axis(scale=x_scale, label="time step"),
        bqplot.Axis(scale=y_scale, side="left", label="node", label_offset="45px"),
        bqplot.ColorAxis(scale=grid.scales["color"], side="right", label=data.value_label),
    ]
    return bqplot.Figure(marks=[grid, sig_marks, ns_marks], axes=axes, title=data.title,
                         fig_margin={"top": 50, "bottom": 50, "left": 70, "right": 90})


def diverging_scale(vmin: float, vmax: float) -> Any:
    """A :class:`bqplot.ColorScale` from blue through white (at 0) to red over ``[vmin, vmax]``."""
    return bqplot.ColorScale(colors=DIVERGING_COLORS, min=vmin, max=vmax, mid=0.0)


def effect_heatmap(data: EffectMapData, *, ax: Any = None, cmap: Any = None) -> Any:
    """A GridHeatMap of ``data.values`` (``marks[0]``) on a diverging colour scale centred at 0.

    Rows are the node labels and columns the steps, as in :func:`relay_heatmap`. ``cmap`` is ignored:
    the colours are :data:`DIVERGING_COLORS` (a matplotlib name has no bqplot twin).
    """
    columns = data.time_labels if data.values.shape[1] == 1 else data.times
    color, rows, cols = grid_cells(data, columns)
    x_scale = bqplot.OrdinalScale()
    y_scale = bqplot.OrdinalScale(reverse=True)
    grid = bqplot.GridHeatMap(
        color=color,
        row=rows,
        column=cols,
        scales={"row": y_scale, "column": x_scale, "color": diverging_scale(data.vmin, data.vmax)},
        stroke="white",
        null_color="#f4f4f4",
        tooltip=bqplot.Tooltip(
            fields=["row", "column", "color"], labels=["node", "time", data.value_label], formats=["", "", ".3f"]
        ),
    )
    axes = [
        bqplot.Axis(scale=x_scale, label="time step"),
        bqplot.Axis(scale=y_scale, side="left", label="node", label_offset="45px"),
        bqplot.ColorAxis(scale=grid.scales["color"], side="right", label=data.value_label),
    ]
    return bqplot.Figure(marks=[grid], axes=axes, title=data.title,
                         fig_margin={"top": 50, "bottom": 50, "left": 70, "right": 90})


def deletion_marks(data: DeletionData, scales: dict) -> list:
    """The marks of a deletion plot: the random band, the random mean, one line per ranking, the intact value."""
    ks = data.ks.astype(float)
    marks = [
        bqplot.Lines(x=ks, y=np.vstack([data.random_low, data.random_high]), scales=scales, fill="between",
                     colors=["#bbbbbb"], fill_colors=["#bbbbbb"], fill_opacities=[0.5], opacities=[0.0, 0.0],
                     enable_hover=False),
        bqplot.Lines(x=ks, y=data.random_mean, scales=scales, colors=["#777777"], line_style="dashed",
                     labels=[f"random k-sets (mean, 5-95 % band of {data.n_random})"], display_legend=True),
    ]
    for r in data.rankings:
        marks.append(bqplot.Lines(x=ks, y=r.values, scales=scales, colors=[r.color], labels=[r.label],
                                  marker="circle", marker_size=24, display_legend=True))
    if np.isfinite(data.baseline) and data.metric == "accuracy":
        marks.append(bqplot.Lines(x=ks[[0, -1]], y=[data.baseline] * 2, scales=scales, colors=["#555555"],
                                  line_style="dotted", labels=["intact accuracy (all lost)"], display_legend=True))
    return marks


def deletion_plot(data: DeletionData, *, ax: Any = None) -> Any:
    """The random band (``marks[0]``), its mean (``marks[1]``), then one ``Lines`` mark per ranking."""
    log = data.ks.size > 1 and data.ks.max() / data.ks.min() >= 4
    x_scale = bqplot.LogScale() if log else bqplot.LinearScale()
    y_scale = bqplot.LinearScale()
    marks = deletion_marks(data, {"x": x_scale, "y": y_scale})
    axes = [bqplot.Axis(scale=x_scale, label="units knocked out (k)", tick_values=data.ks.astype(float),
                        tick_format="d"),
            bqplot.Axis(scale=y_scale, side="left", label=data.ylabel, label_offset="40px")]
    return bqplot.Figure(marks=marks, axes=axes, title=data.title, legend_location="top-left",
                         fig_margin={"top": 50, "bottom": 50, "left": 60, "right": 20})


def series(data: SeriesData, *, ax: Any = None) -> Any:
    """Bars (one series, ``marks[0]``) or, per series, a band (runs) and a line labelled by the series."""
    times = data.times
    x_scale = bqplot.OrdinalScale() if data.bars else bqplot.LinearScale()
    y_scale = bqplot.LinearScale(min=data.ylim[0], max=data.ylim[1]) if data.ylim else bqplot.LinearScale(min=0.0)
    scales = {"x": x_scale, "y": y_scale}
    marks = []
    if data.bars:
        one = data.series[0]
        marks.append(bqplot.Bars(x=times, y=one.values, scales=scales, colors=[one.color],
                                 tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["time", data.ylabel])))
    else:
        for s in data.series:
            if s.band is not None:
                marks.append(bqplot.Lines(x=times, y=np.vstack(s.band), scales=scales, fill="between",
                                          colors=[s.color], fill_colors=[s.color], fill_opacities=[0.2],
                                          opacities=[0.0, 0.0], enable_hover=False))
            marks.append(bqplot.Lines(x=times, y=s.values, scales=scales, colors=[s.color], labels=[s.name],
                                      marker="circle", marker_size=24, display_legend=True))
    for ref in data.references:
        marks.append(bqplot.Lines(x=times, y=ref.values, scales=scales, colors=[ref.color], line_style="dashed",
                                  labels=[ref.name], display_legend=True))
    axes = [bqplot.Axis(scale=x_scale, label="time step", tick_format="d" if not data.bars else None),
            bqplot.Axis(scale=y_scale, side="left", label=data.ylabel, label_offset="40px")]
    return bqplot.Figure(marks=marks, axes=axes, title=data.title, legend_location="bottom-right")


def runs(data: RunsData, *, ax: Any = None) -> Any:
    """Bars at the group means (``marks[0]``), a dot per run (``marks[1]``), crosses at the runs' chance."""
    x_scale, y_scale = bqplot.OrdinalScale(), bqplot.LinearScale(min=0.0)
    scales = {"x": x_scale, "y": y_scale}
    marks = [
        bqplot.Bars(x=np.array(data.groups), y=data.means, scales=scales, colors=data.colors,
                    opacities=[0.35] * len(data.groups), color_mode="element"),
        bqplot.Scatter(x=data.run_group, y=data.run_values, scales=scales, colors=["#000000"], default_size=40,
                       tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["architecture", data.ylabel])),
    ]
    if data.chance is not None:
        marks.append(bqplot.Scatter(x=data.run_group, y=data.chance, scales=scales, marker="cross",
                                    colors=["#888888"], default_size=40))
    axes = [bqplot.Axis(scale=x_scale, label="architecture"),
            bqplot.Axis(scale=y_scale, side="left", label=data.ylabel, label_offset="40px")]
    return bqplot.Figure(marks=marks, axes=axes, title=data.title)


def elimination_curve(data: CurveData, *, ax: Any = None) -> Any:
    """The path (``marks[0]``), the dashed cut, the relay-set line (``marks[2]``) and the null mean."""
    x_scale = bqplot.LinearScale(reverse=True)
    y_scale = bqplot.LinearScale(min=0.0)
    scales = {"x": x_scale, "y": y_scale}
    ends = [data.sizes.max(), data.sizes.min()]
    marks = [
        bqplot.Lines(x=data.sizes, y=data.curve, scales=scales, marker="circle", marker_size=24, labels=["I_R(R)"],
                     colors=[SERIES_COLORS[0]], display_legend=True),
        bqplot.Lines(x=ends, y=[data.threshold * data.total] * 2, scales=scales, line_style="dashed",
                     colors=["#555555"], labels=[f"{data.threshold:g} x I_R(N)"], display_legend=True),
        bqplot.Lines(x=[data.relay_size] * 2, y=[0.0, data.top], scales=scales, colors=["#d62728"],
                     labels=[f"relay set ({data.relay_size} nodes)"], display_legend=True),
    ]
    if np.isfinite(data.null):
        marks.append(bqplot.Lines(x=ends, y=[data.null] * 2, scales=scales, line_style="dotted",
                                  colors=["#888888"], labels=["null mean"], display_legend=True))
    axes = [bqplot.Axis(scale=x_scale, label="size of R (nodes kept)", tick_format="d"),
            bqplot.Axis(scale=y_scale, side="left", label=data.ylabel, label_offset="40px")]
    return bqplot.Figure(marks=marks, axes=axes, title=data.title, legend_location="top-right")


def _knockout_figure(panel: KnockoutPanel) -> Any:
    counts, edges, relay = panel.counts, panel.edges, panel.relay_drop
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
    return bqplot.Figure(marks=[bars, line], axes=axes, title=f"{panel.title}, p = {panel.p_value:.3g}",
                         layout=widgets.Layout(width="320px", height="260px"),
                         fig_margin={"top": 40, "bottom": 45, "left": 50, "right": 15})


def knockout_drops(panels: Sequence[KnockoutPanel], *, ncols: int, title: str | None = None) -> Any:
    """One Figure (a Bars mark of the counts, a Lines mark at the relay drop), or a GridBox of them.

    ``title`` is not drawn: a GridBox has no title (the panels carry their own).
    """
    figures = [_knockout_figure(panel) for panel in panels]
    if len(figures) == 1:
        return figures[0]
    columns = min(ncols, len(figures))
    return widgets.GridBox(figures, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, 330px)"))
