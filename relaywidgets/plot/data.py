"""What each figure shows, computed once and free of any plotting library (numpy and xarray only).

Every figure of :mod:`relaywidgets.plot` is drawn in two steps: a function reads the relay result
(this module: the heat map and the elimination curve; :mod:`~relaywidgets.plot.series_data`: the
comparisons; :mod:`~relaywidgets.plot.knockout_data`: knockout tests) into a small frozen record of
arrays, labels, colour limits and titles, and a backend module (:mod:`~relaywidgets.plot.draw_matplotlib`,
:mod:`~relaywidgets.plot.draw_bqplot`) turns the record into marks. The explorer's heat map and its
static export read the same :class:`HeatmapData`, so every drawing of a relay map shows the same
numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._validation import is_int
from ..contract import check_relays, concept_title, resolve_concept
from ..errors import InputError

__all__ = [
    "HeatmapData",
    "CurveData",
    "heatmap_data",
    "curve_data",
    "ARCH_COLORS",
    "SERIES_COLORS",
    "RELAY_VALUES",
    "VALUE_LABELS",
]

#: matplotlib's tab10: one colour per series (concept or architecture), colour-blind friendlier than a rainbow.
SERIES_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f",
)
#: Fixed colours of the three architectures, so that every figure of a comparison agrees.
ARCH_COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
#: The per-node scores of a relay result a heat map can show, with their colour-bar labels.
VALUE_LABELS = {
    "contribution": "contribution (bits)",
    "aggregated_score": "aggregated relay score",
    "marginal_mi": "marginal information I(O; h[n]) (bits)",
    "unique_relay": "unique relay information (bits)",
}
RELAY_VALUES = tuple(VALUE_LABELS)
#: Most tick labels a static axis shows before it labels every k-th position only.
MAX_TIME_TICKS, MAX_NODE_TICKS = 25, 40


def series_color(name: str, i: int) -> str:
    """The architecture's fixed colour, else the ``i``-th colour of :data:`SERIES_COLORS`."""
    return ARCH_COLORS.get(str(name).lower(), SERIES_COLORS[i % len(SERIES_COLORS)])


def thinned_ticks(labels: np.ndarray, max_ticks: int) -> tuple[np.ndarray, list[str]]:
    """Positions and text of the tick labels of an index axis, every k-th one when there are many."""
    step = max(1, int(np.ceil(labels.size / max_ticks)))
    return np.arange(labels.size)[::step], [str(v) for v in labels[::step]]


def with_threshold(result: xr.Dataset, threshold: Any) -> xr.Dataset:
    """The relay sets of ``result`` at ``threshold`` (:func:`~relaywidgets.relay.relays_at`); None keeps its own."""
    if threshold is None:
        return result
    from ..relay import relays_at

    return relays_at(result, threshold)


@contextmanager
def quiet_nan_means() -> Iterator[None]:
    """Silence numpy's "mean of empty slice": a step that is NaN in every run is legitimately NaN here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# --------------------------------------------------------------------------------------------------
# relay heat map


@dataclass(frozen=True)
class HeatmapData:
    """A node x time map of one relay score for one concept, with the relay cells.

    Attributes
    ----------
    concept : str
        The concept label.
    value : str
        The variable shown (e.g. ``"contribution"``).
    values : numpy.ndarray
        ``(node, time)`` float array of ``value``, NaN where a step has no value.
    is_relay : numpy.ndarray
        ``(node, time)`` bool array: the relay cells.
    significant : numpy.ndarray
        ``(time,)`` bool array: whether each step's relay information is significant.
    nodes, times : numpy.ndarray
        Node labels (str) and time steps, in the result's order.
    time_labels : numpy.ndarray
        The time steps as text (ordinal axes keep text labels in the given order).
    relay_node, relay_time : numpy.ndarray
        Row and column index of every relay cell.
    relay_significant : numpy.ndarray
        Whether the step of each relay cell is significant (filled marker) or not (hollow marker).
    vmin, vmax : float
        Colour limits: 0 and the largest finite value (1 when there is none).
    title, value_label : str
        Default title and the colour-bar label.
    x_ticks, y_ticks : tuple of (numpy.ndarray, list of str)
        Tick positions and labels of a static figure (thinned when there are many steps or nodes).
    """

    concept: str
    value: str
    values: np.ndarray
    is_relay: np.ndarray
    significant: np.ndarray
    nodes: np.ndarray
    times: np.ndarray
    time_labels: np.ndarray
    relay_node: np.ndarray
    relay_time: np.ndarray
    relay_significant: np.ndarray
    vmin: float
    vmax: float
    title: str
    value_label: str
    x_ticks: tuple[np.ndarray, list[str]]
    y_ticks: tuple[np.ndarray, list[str]]


def heatmap_data(
    result: xr.Dataset,
    concept: Any,
    *,
    value: str = "contribution",
    threshold: float | None = None,
    alpha: float | None = None,
    title: str | None = None,
    owner: str = "heatmap_data",
) -> HeatmapData:
    """What the relay heat map of ``concept`` shows.

    Parameters
    ----------
    result : xarray.Dataset
        A relay result (:func:`relaywidgets.relay.find_relays`).
    concept : str or int
        A concept label of ``result`` or a class index.
    value : {"contribution", "aggregated_score", "marginal_mi", "unique_relay"}, default "contribution"
    threshold : float in [0, 1], optional
        Relay sets at this threshold instead of the result's own.
    alpha : float, optional
        A step is significant where ``p_value < alpha``; default the result's ``significant`` variable.
        Without either, no step is significant.
    title : str, optional
        Default ``"Relays of <concept> over time"``.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    HeatmapData

    Raises
    ------
    InputError
        When ``result`` is not a relay result, or holds no such concept or ``value``.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=3, n_samples=400), concepts=[1], n_perm=0, progress=False)
    >>> data = heatmap_data(res, 1)
    >>> data.values.shape, data.relay_node.tolist(), data.title
    ((4, 3), [2, 2, 2], 'Relays of class 1 over time')
    """
    result = with_threshold(check_relays(result, owner), threshold)
    if value not in RELAY_VALUES or value not in result:
        raise InputError(
            f"The 'value' parameter of {owner} must be one of {list(RELAY_VALUES)} (a variable of the relay "
            f"result). Got {value!r} instead."
        )
    ci = resolve_concept(result, concept, owner)
    label = str(result["concept"].values[ci])
    sel = result.isel(concept=ci)
    values = sel[value].transpose("node", "time").values.astype(float)
    is_relay = sel["is_relay"].transpose("node", "time").values.astype(bool)
    if alpha is not None and "p_value" in sel:
        p = sel["p_value"].transpose("time").values.astype(float)
        with np.errstate(invalid="ignore"):
            significant = np.where(np.isnan(p), False, p < alpha)
    elif "significant" in sel:
        significant = sel["significant"].transpose("time").values.astype(bool)
    else:
        significant = np.zeros(is_relay.shape[1], bool)
    nodes = np.asarray(result["node"].values).astype(str)
    times = np.asarray(result["time"].values)
    relay_node, relay_time = np.nonzero(is_relay)
    finite = values[np.isfinite(values)]
    return HeatmapData(
        concept=label,
        value=value,
        values=values,
        is_relay=is_relay,
        significant=significant,
        nodes=nodes,
        times=times,
        time_labels=np.array([str(t) for t in times]),
        relay_node=relay_node,
        relay_time=relay_time,
        relay_significant=significant[relay_time],
        vmin=0.0,
        vmax=float(max(finite.max(), 1e-9)) if finite.size else 1.0,
        title=title if title is not None else f"Relays of {concept_title(label)} over time",
        value_label=VALUE_LABELS[value],
        x_ticks=thinned_ticks(times, MAX_TIME_TICKS),
        y_ticks=thinned_ticks(nodes, MAX_NODE_TICKS),
    )


# --------------------------------------------------------------------------------------------------
# elimination curve


@dataclass(frozen=True)
class CurveData:
    """The greedy elimination path at one step: relay information (bits) against the size of R.

    ``sizes`` and ``curve`` are the path (all nodes first); ``threshold * total`` is the cut line,
    ``relay_size`` the relay set, ``null`` the permutation null mean (NaN when untested), ``top`` the
    height of the relay-set marker.
    """

    sizes: np.ndarray
    curve: np.ndarray
    threshold: float
    total: float
    relay_size: int
    null: float
    top: float
    ylabel: str
    title: str


def curve_data(
    result: xr.Dataset,
    concept: Any,
    time: Any,
    *,
    threshold: float | None = None,
    title: str | None = None,
    owner: str = "curve_data",
) -> CurveData:
    """The elimination path of ``concept`` at step ``time``.

    Parameters
    ----------
    result : xarray.Dataset
        A relay result with ``curve``, ``total`` and ``relay_size``.
    concept : str or int
        A concept label or class index.
    time : int
        A value of the result's ``time`` coordinate.
    threshold : float in [0, 1], optional
        Default the result's ``threshold`` attribute.
    title : str, optional
        Replaces the default title.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    CurveData

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=1000)
    >>> data = curve_data(find_relays(rec, concepts=[1], n_perm=0, progress=False), 1, 0)
    >>> data.sizes.tolist(), data.relay_size
    ([4, 3, 2, 1, 0], 2)
    """
    result = check_relays(result, owner, require=("curve", "total", "relay_size"))
    if threshold is None:
        threshold = float(result.attrs.get("threshold", 0.9))
    result = with_threshold(result, threshold)
    ci = resolve_concept(result, concept, owner)
    times = np.asarray(result["time"].values)
    if not is_int(time) or int(time) not in times.tolist():
        # a result sliced to no steps has no range to name (and numpy's min of nothing is a raw error)
        steps = f"{times.min()} .. {times.max()}" if times.size else "it has none: pass a result with time steps"
        raise InputError(
            f"The 'time' parameter of {owner} must be a time step of the relay result ({steps}). Got {time!r} instead."
        )
    sel = result.isel(concept=ci).sel(time=int(time))
    curve = np.asarray(sel["curve"].values, dtype=float)
    sizes = np.asarray(result["set_size"].values) if "set_size" in result.coords else np.arange(curve.size)[::-1]
    total = float(sel["total"].values)
    label = str(result["concept"].values[ci])
    return CurveData(
        sizes=sizes,
        curve=curve,
        threshold=float(threshold),
        total=total,
        relay_size=int(sel["relay_size"].values),
        null=float(sel["null_mean"].values) if "null_mean" in sel else np.nan,
        top=max(total, np.nanmax(curve) if np.isfinite(curve).any() else 0.0, 1e-9),
        ylabel="relay information I_R(R) (bits)",
        title=title if title is not None else f"Elimination path, {concept_title(label)}, t = {int(time)}",
    )
