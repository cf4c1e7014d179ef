"""Draw the prepared figure data with matplotlib: static figures for papers, reports and export.

Each function takes a record of :mod:`relaywidgets.plot.data` (or ``series_data``, ``knockout_data``)
and an optional axes, and returns the :class:`matplotlib.figure.Figure` it drew into. matplotlib is
imported here only, and this module only on first use by :func:`relaywidgets.plot.backends.drawer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .causal_data import DeletionData, EffectMapData
from .data import MAX_TIME_TICKS, SERIES_COLORS, CurveData, HeatmapData, thinned_ticks
from .knockout_data import KnockoutPanel
from .series_data import RunsData, SeriesData

__all__ = ["relay_heatmap", "effect_heatmap", "deletion_plot", "series", "runs", "elimination_curve", "knockout_axes",
           "knockout_drops"]


def new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """``(figure, axes)``: those of ``ax``, or a new figure of ``figsize`` inches when ``ax`` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def relay_heatmap(data: HeatmapData, *, ax: Any = None, cmap: str = "Blues", marker_size: float = 20) -> Any:
    """The node x time image of ``data.values`` with a colour bar; filled / hollow dots on the relay cells.

    ``ax.images[0]`` holds the values (NaN masked), ``ax.collections[0]`` and ``[1]`` the relay cells
    of significant and other steps (x = time index, y = node index).
    """
    n_nodes, n_times = data.values.shape
    fig, ax = new_axes(ax, (max(4.0, 0.35 * n_times + 2.5), max(3.0, 0.25 * n_nodes + 1.5)))
    image = ax.imshow(np.ma.masked_invalid(data.values), aspect="auto", cmap=cmap, vmin=data.vmin,
                      interpolation="nearest")
    sig = data.relay_significant
    ax.scatter(data.relay_time[sig], data.relay_node[sig], s=marker_size, facecolors="black", edgecolors="white",
               linewidths=0.6, label="relay (significant step)")
    ax.scatter(data.relay_time[~sig], data.relay_node[~sig], s=marker_size, facecolors="none", edgecolors="black",
               linewidths=0.9, label="relay (step not significant)")
    ax.set_xticks(*data.x_ticks)
    ax.set_yticks(*data.y_ticks)
    ax.set_xlabel("time step")
    ax.set_ylabel("node")
    ax.set_title(data.title)
    fig.colorbar(image, ax=ax, label=data.value_label)
    return fig


def effect_heatmap(data: EffectMapData, *, ax: Any = None, cmap: str = "RdBu_r") -> Any:
    """The node x time image of ``data.values`` on a diverging colour map centred at 0, with a colour bar.

    The figure is laid out as :func:`relay_heatmap` (size, ticks, rows top-down in node order), so the two
    maps read side by side. ``ax.images[0]`` holds the drops (NaN masked).
    """
    n_nodes, n_times = data.values.shape
    fig, ax = new_axes(ax, (max(4.0, 0.35 * n_times + 2.5), max(3.0, 0.25 * n_nodes + 1.5)))
    image = ax.imshow(np.ma.masked_invalid(data.values), aspect="auto", cmap=cmap, vmin=data.vmin, vmax=data.vmax,
                      interpolation="nearest")
    ax.set_xticks(*data.x_ticks)
    ax.set_yticks(*data.y_ticks)
    ax.set_xlabel("time step" if data.window == 1 else f"first step of the {data.window}-step window")
    ax.set_ylabel("node")
    ax.set_title(data.title)
    fig.colorbar(image, ax=ax, label=data.value_label)
    return fig


def deletion_plot(data: DeletionData, *, ax: Any = None) -> Any:
    """The random k-sets' 5-95 % band and mean (grey), one line per ranking, the intact value dotted.

    ``ax.lines`` are the random mean first, then one line per ranking (legend: area and p-value), then
    the intact value when known; ``ax.collections[0]`` is the band.
    """
    fig, ax = new_axes(ax, (5.4, 3.4))
    ks = data.ks
    ax.fill_between(ks, data.random_low, data.random_high, color="#bbbbbb", alpha=0.5, linewidth=0,
                    label=f"random k-sets, 5-95 % ({data.n_random})")
    ax.plot(ks, data.random_mean, color="#777777", linestyle="--", linewidth=1.2, label="random k-sets, mean")
    for r in data.rankings:
        ax.plot(ks, r.values, marker="o", ms=4, color=r.color, label=r.label)
    if np.isfinite(data.baseline) and data.metric == "accuracy":
        ax.axhline(data.baseline, color="#555555", linestyle=":", linewidth=1.0, label="intact accuracy (all lost)")
        ax.set_ylim(top=max(ax.get_ylim()[1], data.baseline + 0.05))  # the line must not sit on the frame
    if ks.size > 1 and ks.max() / ks.min() >= 4:  # k doubles by default: even spacing on a log axis
        ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("units knocked out (k)")
    ax.set_ylabel(data.ylabel)
    ax.set_title(data.title)
    ax.legend(fontsize="x-small", frameon=False)
    return fig


def series(data: SeriesData, *, ax: Any = None) -> Any:
    """Bars (one series) or lines with run-range bands (several); references dashed.

    Bars stand at index positions labelled with the steps; lines use the steps as x.
    """
    times = data.times
    fig, ax = new_axes(ax, (max(5.0, 0.3 * times.size + 3.0), 3.2))
    if data.bars:
        one = data.series[0]
        ax.bar(np.arange(times.size), np.nan_to_num(one.values, nan=0.0), color=one.color, label=one.name)
        ax.set_xticks(*thinned_ticks(times, MAX_TIME_TICKS))
        xs = np.arange(times.size)
    else:
        xs = times
        for s in data.series:
            if s.band is not None:
                ax.fill_between(times, s.band[0], s.band[1], color=s.color, alpha=0.2, linewidth=0)
            ax.plot(times, s.values, marker="o", ms=3.5, color=s.color, label=s.name)
    for ref in data.references:
        ax.plot(xs, ref.values, linestyle="--", color=ref.color, linewidth=1.2, label=ref.name)
    if data.ylim is not None:
        ax.set_ylim(*data.ylim)
    ax.set_xlabel("time step")
    ax.set_ylabel(data.ylabel)
    ax.set_title(data.title)
    if not data.bars or data.references:
        ax.legend(fontsize="small", frameon=False)
    return fig


def runs(data: RunsData, *, ax: Any = None) -> Any:
    """A translucent bar at each group's mean and a black dot per run (grey crosses: the runs' chance)."""
    n = len(data.groups)
    fig, ax = new_axes(ax, (1.2 * n + 2.0, 3.2))
    ax.bar(np.arange(n), data.means, color=data.colors, alpha=0.35, width=0.6, label="mean over runs")
    ax.scatter(data.run_x, data.run_values, color="black", s=18, zorder=3, label="run")
    if data.chance is not None:
        ax.scatter(data.run_x + 0.18, data.chance, color="#888888", marker="x", s=24, zorder=3,
                   label="chance (random sets of the same sizes)")
    ax.set_xticks(np.arange(n))
    ax.set_xticklabels(data.groups)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel(data.ylabel)
    ax.set_title(data.title)
    ax.legend(fontsize="small", frameon=False)
    return fig


def elimination_curve(data: CurveData, *, ax: Any = None) -> Any:
    """The path (first line), the dashed cut, the dotted null mean and the vertical relay-set line."""
    fig, ax = new_axes(ax, (5.0, 3.2))
    ax.plot(data.sizes, data.curve, marker="o", ms=3.5, color=SERIES_COLORS[0], label="I_R(R)")
    ax.axhline(data.threshold * data.total, linestyle="--", color="#555555", linewidth=1.0,
               label=f"{data.threshold:g} x I_R(N)")
    if np.isfinite(data.null):
        ax.axhline(data.null, linestyle=":", color="#888888", linewidth=1.0, label="null mean (bias floor)")
    ax.axvline(data.relay_size, color="#d62728", linewidth=1.2, label=f"relay set ({data.relay_size} nodes)")
    ax.set_xlim(data.sizes.max() + 0.5, data.sizes.min() - 0.5)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("size of R (nodes kept)")
    ax.set_ylabel(data.ylabel)
    ax.set_title(data.title)
    ax.legend(fontsize="small", frameon=False)
    return fig


def knockout_axes(panel: KnockoutPanel, *, ax: Any = None) -> Any:
    """Histogram of the random drops, the relay drop as a red line and the test's numbers; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.hist(panel.drops, bins=panel.edges, color="0.7", edgecolor="0.4", label=f"{panel.drops.size} random sets")
    ax.axvline(panel.relay_drop, color="C3", linewidth=2, label="relay set")
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel("random sets")
    ax.text(0.98, 0.95, panel.summary, transform=ax.transAxes, ha="right", va="top", fontsize="small")
    ax.legend(loc="center right", fontsize="small", frameon=False)
    return ax


def knockout_drops(panels: Sequence[KnockoutPanel], *, ncols: int, title: str | None = None) -> Any:
    """One :func:`knockout_axes` panel per test, ``ncols`` to a row, titled by the panel."""
    n = len(panels)
    cols = min(ncols, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 0.4, 2.8 * rows + 0.6), layout="constrained",
                             squeeze=False)
    for ax, panel in zip(axes.ravel(), panels):
        knockout_axes(panel, ax=ax)
        ax.set_title(panel.title, fontsize="medium")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    if title is not None:
        fig.suptitle(title)
    return fig
