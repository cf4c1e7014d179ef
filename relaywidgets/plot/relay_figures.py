"""Figures of relay results: heat map, relay-set sizes, persistence, persistence index, elimination path.

Each function checks its arguments, reads what the figure shows into a record of
:mod:`relaywidgets.plot.data` (or :mod:`~relaywidgets.plot.series_data`), and hands it to the drawing
module of the chosen backend, picked once by :func:`relaywidgets.plot.backends.drawer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from .backends import drawer
from .data import curve_data, heatmap_data
from .series_data import runs_data, series_data

__all__ = ["relay_heatmap", "relay_sizes", "relay_persistence", "persistence_index", "elimination_curve"]


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
    draw = drawer(backend, owner)
    data = heatmap_data(result, concept, value=value, threshold=threshold, title=title, owner=owner)
    return draw.relay_heatmap(data, ax=ax, cmap=cmap)


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
    draw = drawer(backend, owner)
    data = series_data(results, concept, "relay_size", threshold=threshold, significant_only=significant_only,
                       ylabel="relay-set size (nodes)", title=title, title_prefix="Relay-set size per step",
                       bars=True, owner=owner)
    return draw.series(data, ax=ax)


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
    draw = drawer(backend, owner)
    data = series_data(results, concept, "persistence", threshold=threshold, significant_only=significant_only,
                       ylabel="persistence (Jaccard)", title=title, title_prefix="Persistence of the relay sets",
                       ylim=(0.0, 1.05), chance=chance, owner=owner)
    return draw.series(data, ax=ax)


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
    draw = drawer(backend, owner)
    data = runs_data(table, value, chance=chance, title=title, owner=owner)
    return draw.runs(data, ax=ax)


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
    draw = drawer(backend, owner)
    data = curve_data(result, concept, time, threshold=threshold, title=title, owner=owner)
    return draw.elimination_curve(data, ax=ax)
