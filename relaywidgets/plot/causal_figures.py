"""Figures of knockout interventions: effect maps on the relay map's axes, and deletion curves of rankings.

What a figure shows is read by :mod:`relaywidgets.plot.causal_data`; the drawing module of the chosen backend
draws it (see :mod:`relaywidgets.plot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from .backends import drawer
from .causal_data import deletion_data, effect_map_data

__all__ = ["effect_heatmap", "deletion_plot"]


def effect_heatmap(
    effects: xr.Dataset,
    concept: Any,
    *,
    variable: str = "accuracy_drop",
    nodes: Sequence[str] | None = None,
    times: Sequence[int] | None = None,
    backend: str = "matplotlib",
    ax: Any = None,
    cmap: str = "RdBu_r",
    title: str | None = None,
) -> Any:
    """Node x time map of what knocking out each unit at each step costs one concept.

    Cell (node n, step t) is the drop of the concept's accuracy (or mean true-class logit margin) when
    n is knocked out at step t only (or over the effect map's window starting at t). The axes, tick
    thinning and orientation are those of :func:`relaywidgets.plot.relay_heatmap`, so the two maps of a
    network read side by side. Drops can be negative (a knockout that helps), so the colour map diverges
    from white at 0: red where the knockout hurts, blue where it helps, with symmetric limits.

    Parameters
    ----------
    effects : xarray.Dataset
        Output of :func:`relaywidgets.knockout.effect_map`.
    concept : str or int
        A concept label of ``effects`` (e.g. ``"2"`` or ``"all"``) or a class index.
    variable : {"accuracy_drop", "margin_drop"}, default "accuracy_drop"
        The drop shown as colour.
    nodes : sequence of str, optional
        Rows, in this order (default every node); pass ``relays.node.values`` to match a relay map.
    times : sequence of int, optional
        Columns (default every step); pass ``relays.time.values`` to match a relay map.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (matplotlib only; a colour bar is added next to them).
    cmap : str, default "RdBu_r"
        A diverging matplotlib colour map (bqplot always uses blue - white - red).
    title : str, optional
        Figure title; default names the concept.

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        matplotlib: ``fig.axes[0].images[0].get_array()`` is the (node, time) array of ``variable``,
        with colour limits ``-m, m``. bqplot: ``fig.marks[0]`` is a ``GridHeatMap`` whose ``color`` is that
        array and whose colour scale has ``mid = 0``.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import effect_map
    >>> from relaywidgets.plot import effect_heatmap
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> effects = effect_map(model, X, y, n_boot=0, progress=False)
    >>> fig = effect_heatmap(effects, 1, variable="margin_drop")
    >>> fig.axes[0].images[0].get_array().shape
    (6, 5)
    >>> lo, hi = fig.axes[0].images[0].get_clim()
    >>> bool(lo == -hi)
    True
    """
    owner = "effect_heatmap"
    draw = drawer(backend, owner)
    data = effect_map_data(effects, concept, variable=variable, nodes=nodes, times=times, title=title, owner=owner)
    return draw.effect_heatmap(data, ax=ax, cmap=cmap)


def deletion_plot(
    curve: xr.Dataset,
    *,
    backend: str = "matplotlib",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Deletion curves: the drop when the top-k units of each ranking are knocked out, against random k-sets.

    A ranking that predicts causal importance lies above the grey band of random k-sets (5th to 95th
    percentile, dashed mean); the legend gives each ranking's area between its curve and the random mean
    (mean over k) and the empirical p-value of that area. For accuracy, the dotted line is the concept's
    intact accuracy: the largest drop there can be.

    Parameters
    ----------
    curve : xarray.Dataset
        Output of :func:`relaywidgets.knockout.deletion_curve`, for one ranking or several.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (matplotlib only).
    title : str, optional
        Figure title; default names the concept.

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure
        matplotlib: ``ax.collections[0]`` is the band, ``ax.lines[0]`` the random mean, ``ax.lines[1:]``
        one line per ranking (y = ``curve.curve``), then the intact accuracy. bqplot: ``marks[0]`` the
        band (``y`` = low and high), ``marks[1]`` the random mean, ``marks[2:]`` the rankings.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import deletion_curve
    >>> from relaywidgets.plot import deletion_plot
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> dc = deletion_curve(model, X, y, ["readout", "grad_x_act"], 1, n_random=20, progress=False)
    >>> fig = deletion_plot(dc)
    >>> [line.get_label().split(" (")[0] for line in fig.axes[0].lines[1:3]]
    ['readout weight', 'gradient x activation']
    """
    owner = "deletion_plot"
    draw = drawer(backend, owner)
    return draw.deletion_plot(deletion_data(curve, title=title, owner=owner), ax=ax)
