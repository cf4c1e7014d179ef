"""What the causal figures show: an effect map on the relay map's axes, and a deletion curve against its random band.

Backend-free like :mod:`relaywidgets.plot.data`. It reads the Datasets of
:func:`relaywidgets.knockout.effect_map` and :func:`relaywidgets.knockout.deletion_curve` by their variables
and never imports the knockout package, so drawing a result needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..contract import concept_title, resolve_concept
from ..errors import InputError
from .data import MAX_NODE_TICKS, MAX_TIME_TICKS, series_color, thinned_ticks

__all__ = [
    "EffectMapData",
    "DeletionData",
    "Ranking",
    "EFFECT_VARIABLES",
    "effect_map_data",
    "deletion_data",
]

#: The drops an effect map holds, with their colour-bar labels.
EFFECT_VARIABLES = {
    "accuracy_drop": "drop in accuracy",
    "margin_drop": "drop in mean true-class margin (logits)",
}
#: Names of the built-in rankings as a legend shows them.
RANKING_LABELS = {
    "aggregated_score": "relay: aggregated score",
    "contribution": "relay: contribution",
    "unique_relay": "relay: unique relay",
    "marginal_mi": "relay: marginal information",
    "elimination_rank": "relay: elimination order",
    "readout": "readout weight",
    "grad_x_act": "gradient x activation",
    "integrated_gradients": "integrated gradients",
    "effect": "single-unit effect",
}


@dataclass(frozen=True)
class EffectMapData:
    """A node x time map of one knockout drop for one concept, ready to draw with a diverging colour map.

    Attributes
    ----------
    concept, variable : str
        The concept label and the variable shown (``"accuracy_drop"`` or ``"margin_drop"``).
    values : numpy.ndarray
        ``(node, time)`` float array of the drop (positive: the knockout hurts), NaN where unmeasured.
    low, high : numpy.ndarray
        ``(node, time)`` bootstrap bounds of the drop (NaN without a bootstrap).
    nodes, times, time_labels : numpy.ndarray
        Node labels, first steps of the knockout windows, and the steps as text (ordinal axes).
    window : int
        Steps per knockout window.
    baseline : float
        The concept's intact accuracy (or mean margin): the largest drop there can be for accuracy.
    vmin, vmax : float
        Symmetric colour limits ``-m, m`` with ``m`` the largest finite ``|value|``, so 0 is the centre.
    title, value_label : str
        Default title and the colour-bar label.
    x_ticks, y_ticks : tuple of (numpy.ndarray, list of str)
        Tick positions and labels of a static figure, thinned as in the relay heat map.
    """

    concept: str
    variable: str
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    nodes: np.ndarray
    times: np.ndarray
    time_labels: np.ndarray
    window: int
    baseline: float
    vmin: float
    vmax: float
    title: str
    value_label: str
    x_ticks: tuple[np.ndarray, list[str]]
    y_ticks: tuple[np.ndarray, list[str]]


def check_effect_map(effects: Any, owner: str) -> xr.Dataset:
    """Return ``effects`` if it is an :func:`~relaywidgets.knockout.effect_map` result, else raise."""
    if not (
        isinstance(effects, xr.Dataset)
        and all(v in effects.data_vars for v in EFFECT_VARIABLES)
        and set(effects["accuracy_drop"].dims) == {"concept", "node", "time"}
    ):
        raise InputError(
            f"{owner} needs the Dataset returned by relaywidgets.knockout.effect_map (dims concept, node, time, "
            f"variables {', '.join(EFFECT_VARIABLES)}); got {type(effects).__name__}. unit_effects results have "
            "no time axis: draw them as bars."
        )
    return effects


def _select(effects: xr.Dataset, dim: str, wanted: Any, owner: str) -> xr.Dataset:
    """``effects`` at the given labels of ``dim`` (None: all), with a message naming missing labels."""
    if wanted is None:
        return effects
    values = [str(v) for v in np.asarray(wanted).ravel()] if dim == "node" else [int(v) for v in np.asarray(wanted).ravel()]
    have = set(str(v) for v in effects[dim].values) if dim == "node" else set(int(v) for v in effects[dim].values)
    missing = [v for v in values if v not in have]
    if missing:
        raise InputError(
            f"The '{dim}s' parameter of {owner} names {dim}(s) {missing[:5]} that the effect map lacks; "
            f"compute the effect map on the model whose relay map you compare it with."
        )
    return effects.sel({dim: values})


def effect_map_data(
    effects: xr.Dataset,
    concept: Any,
    *,
    variable: str = "accuracy_drop",
    nodes: Sequence[str] | None = None,
    times: Sequence[int] | None = None,
    title: str | None = None,
    owner: str = "effect_map_data",
) -> EffectMapData:
    """What the effect heat map of ``concept`` shows.

    Parameters
    ----------
    effects : xarray.Dataset
        An effect map (:func:`relaywidgets.knockout.effect_map`).
    concept : str or int
        A concept label of ``effects`` (e.g. ``"2"`` or ``"all"``) or a class index.
    variable : {"accuracy_drop", "margin_drop"}, default "accuracy_drop"
    nodes : sequence of str, optional
        Rows to show, in this order (default: every node of the effect map). Pass a relay map's
        ``node`` values to lay the two maps out alike.
    times : sequence of int, optional
        Columns to show (default: every step), e.g. a relay map's ``time`` values.
    title : str, optional
        Default ``"Knockout effects on <concept>"``.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    EffectMapData

    Raises
    ------
    InputError
        When ``effects`` is not an effect map, or holds no such concept, variable, node or step.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> drops = np.arange(12.0).reshape(1, 2, 6) / 20
    >>> effects = xr.Dataset(
    ...     {"accuracy_drop": (("concept", "node", "time"), drops), "margin_drop": (("concept", "node", "time"), -drops),
    ...      "baseline_accuracy": ("concept", [0.9])},
    ...     coords={"concept": ["1"], "concept_class": ("concept", [1]), "node": ["l0.h0", "l0.h1"],
    ...             "time": np.arange(6)}, attrs={"window": 1})
    >>> data = effect_map_data(effects, 1, variable="margin_drop", times=[4, 5])
    >>> data.values.tolist(), data.vmin, data.vmax
    ([[-0.2, -0.25], [-0.5, -0.55]], -0.55, 0.55)
    """
    effects = check_effect_map(effects, owner)
    if not isinstance(variable, str) or variable not in EFFECT_VARIABLES:
        raise InputError(
            f"The 'variable' parameter of {owner} must be one of {list(EFFECT_VARIABLES)}. Got {variable!r} instead."
        )
    ci = resolve_concept(effects, concept, owner)
    label = str(effects["concept"].values[ci])
    sel = _select(_select(effects.isel(concept=ci), "node", nodes, owner), "time", times, owner)
    values = sel[variable].transpose("node", "time").values.astype(float)

    def bound(name: str) -> np.ndarray:
        return sel[name].transpose("node", "time").values.astype(float) if name in sel else np.full_like(values, np.nan)

    finite = np.abs(values[np.isfinite(values)])
    top = float(max(finite.max(), 1e-9)) if finite.size else 1.0
    base_name = "baseline_accuracy" if variable == "accuracy_drop" else "baseline_margin"
    baseline = float(sel[base_name].values) if base_name in sel else np.nan
    node_labels = np.asarray(sel["node"].values).astype(str)
    steps = np.asarray(sel["time"].values)
    window = int(effects.attrs.get("window", 1))
    span = "" if window == 1 else f", windows of {window} steps"
    return EffectMapData(
        concept=label,
        variable=variable,
        values=values,
        low=bound(f"{variable}_low"),
        high=bound(f"{variable}_high"),
        nodes=node_labels,
        times=steps,
        time_labels=np.array([str(t) for t in steps]),
        window=window,
        baseline=baseline,
        vmin=-top,
        vmax=top,
        title=title if title is not None else f"Knockout effects on {concept_title(label)}{span}",
        value_label=EFFECT_VARIABLES[variable],
        x_ticks=thinned_ticks(steps, MAX_TIME_TICKS),
        y_ticks=thinned_ticks(node_labels, MAX_NODE_TICKS),
    )


# --------------------------------------------------------------------------------------------------
# deletion curve


@dataclass(frozen=True)
class Ranking:
    """One ranking's deletion curve: its name, legend label, colour, drops per k, area and p-value."""

    name: str
    label: str
    color: str
    values: np.ndarray
    area: float
    p_value: float


@dataclass(frozen=True)
class DeletionData:
    """Deletion curves of one or several rankings against the band of random k-sets.

    ``random_mean``, ``random_low`` and ``random_high`` are the random sets' mean and 5th / 95th
    percentiles per k; ``baseline`` is the concept's intact value (the largest possible accuracy drop).
    """

    ks: np.ndarray
    rankings: list[Ranking]
    random_mean: np.ndarray
    random_low: np.ndarray
    random_high: np.ndarray
    n_random: int
    baseline: float
    metric: str
    ylabel: str
    title: str


def deletion_data(curve: Any, *, title: str | None = None, owner: str = "deletion_data") -> DeletionData:
    """What the deletion plot of a :func:`~relaywidgets.knockout.deletion_curve` result shows.

    Parameters
    ----------
    curve : xarray.Dataset
        A deletion-curve result, with one ranking or several (a ``ranking`` dim).
    title : str, optional
        Default ``"Deletion curves, <concept>"``.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    DeletionData

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> dc = xr.Dataset(
    ...     {"curve": (("ranking", "k"), [[0.2, 0.5]]), "area": ("ranking", [0.25]), "p_value": ("ranking", [0.02]),
    ...      "random_mean": ("k", [0.0, 0.1]), "random_low": ("k", [0.0, 0.0]), "random_high": ("k", [0.05, 0.2]),
    ...      "baseline": 0.9},
    ...     coords={"ranking": ["readout"], "k": [1, 2]}, attrs={"concept": "1", "metric": "accuracy", "n_random": 50})
    >>> data = deletion_data(dc)
    >>> data.rankings[0].label, data.ks.tolist()
    ('readout weight (area +0.250, p = 0.02)', [1, 2])
    """
    needed = ("curve", "area", "p_value", "random_mean", "random_low", "random_high")
    if not isinstance(curve, xr.Dataset) or not all(v in curve.data_vars for v in needed):
        raise InputError(
            f"{owner} needs the Dataset returned by relaywidgets.knockout.deletion_curve (variables "
            f"{', '.join(needed)}); got {type(curve).__name__}."
        )
    several = "ranking" in curve["curve"].dims
    if several:
        names = [str(v) for v in curve["ranking"].values]
    else:  # a single ranking: deletion_curve kept its name as a scalar coordinate
        names = [str(curve["ranking"].values) if "ranking" in curve.coords else "scores"]
    ks = np.asarray(curve["k"].values, dtype=np.int64)
    rankings = []
    for i, name in enumerate(names):
        one = curve.isel(ranking=i) if several else curve
        area, p = float(one["area"].values), float(one["p_value"].values)
        rankings.append(Ranking(
            name=name,
            label=f"{RANKING_LABELS.get(name, name)} (area {area:+.3f}, p = {p:.3g})",
            color=series_color(name, i),
            values=one["curve"].transpose("k").values.astype(float),
            area=area,
            p_value=p,
        ))
    metric = str(curve.attrs.get("metric", "accuracy"))
    concept = str(curve.attrs.get("concept", ""))
    n_random = int(curve.attrs.get("n_random", curve.sizes.get("random", 0)))
    what = f", {concept_title(concept)}" if concept else ""
    return DeletionData(
        ks=ks,
        rankings=rankings,
        random_mean=curve["random_mean"].values.astype(float),
        random_low=curve["random_low"].values.astype(float),
        random_high=curve["random_high"].values.astype(float),
        n_random=n_random,
        baseline=float(curve["baseline"].values) if "baseline" in curve else np.nan,
        metric=metric,
        ylabel=f"drop in {metric}" + (" (logits)" if metric == "margin" else ""),
        title=title if title is not None else f"Deletion curves{what}",
    )
