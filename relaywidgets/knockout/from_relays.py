"""Reading relay sets out of a relay result (docs/relays.md), for knockouts of the relays a search found."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validation import is_int
from ..contract import NODE_LABEL, check_relays, concept_classes, resolve_concept
from ..contract import parse_node_label as _parse_node_label
from ..errors import KnockoutError

__all__ = ["relay_units", "relay_set_units"]


def relay_units(
    relays: "xr.Dataset",
    concept: Any,
    time: Any = None,
    *,
    significant_only: bool = True,
    owner: str = "relay_units",
) -> tuple[dict[int, list[int]], dict[str, Any]]:
    """The relay units of one concept, by layer: the set at one step or the union over several.

    Parameters
    ----------
    relays : xarray.Dataset
        A relay analysis with ``is_relay (concept, time, node)``.
    concept : int or str
        A value of the ``concept`` coordinate or a class index.
    time : int, sequence of int or None
        Values of the ``time`` coordinate (negative ints count from the last analysed step);
        ``None`` takes every analysed step.
    significant_only : bool
        Skip steps whose ``significant`` flag is False (when the variable exists).
    owner : str
        The function asking, named in error messages.

    Returns
    -------
    units : dict of int to list of int
        Sorted unit indices per layer (every layer of the relays' nodes is a key).
    info : dict
        ``concept`` (its coordinate value), ``class_index`` (-1 for "all", -2 when unknown), ``times``
        (the steps used), ``layers`` (all layers of the nodes) and ``when`` (text for messages).
    """
    check_relays(relays, owner, error=KnockoutError)
    is_relay = relays["is_relay"]
    pos = resolve_concept(relays, concept, owner, error=KnockoutError)
    class_index = concept_classes(relays)[pos]
    class_index = -2 if class_index is None else class_index  # a named concept whose class the relays do not record
    concept_value = relays["concept"].values[pos]
    concept_value = concept_value.item() if hasattr(concept_value, "item") else concept_value
    time_values = [int(t) for t in relays["time"].values]
    if time is None:
        t_pos = list(range(len(time_values)))
    else:
        if is_int(time):
            requested = [time]
        elif isinstance(time, (list, tuple, np.ndarray, range)) and len(time) > 0:
            requested = list(time)
        else:
            raise KnockoutError(
                f"The 'time' parameter must be an int, a non-empty list of ints or None (every analysed step). "
                f"Got {time!r} instead."
            )
        t_pos = []
        for t in requested:
            if not is_int(t):
                raise KnockoutError(f"The 'time' parameter must be an int, a list of ints or None. Got {t!r} instead.")
            if int(t) in time_values:
                t_pos.append(time_values.index(int(t)))
            elif -len(time_values) <= t < 0:
                t_pos.append(len(time_values) + int(t))
            else:
                shown = time_values if len(time_values) <= 8 else time_values[:3] + ["..."] + time_values[-3:]
                raise KnockoutError(f"Step {int(t)} was not analysed; the relays cover steps {shown}.")
    sel = is_relay.isel(concept=pos, time=t_pos).transpose("time", "node", ...)
    flags = np.asarray(sel.values, dtype=bool).reshape(len(t_pos), sel.sizes["node"], -1).any(axis=2)
    used = [time_values[i] for i in t_pos]
    if significant_only and "significant" in relays.data_vars:
        sig = relays["significant"].isel(concept=pos)
        if "time" in sig.dims:
            sig = sig.isel(time=t_pos).transpose("time", ...)
            keep = np.asarray(sig.values, dtype=bool).reshape(len(t_pos), -1).all(axis=1)
        else:
            keep = np.full(len(t_pos), bool(np.all(sig.values)))
        if flags.any() and not (flags[keep].any() if keep.any() else False):
            warnings.warn(
                f"The relay set(s) of concept {concept_value!r} at step(s) {used} are not significant; they are "
                "left out. Pass significant_only=False to use them anyway.",
                UserWarning,
                stacklevel=3,
            )
        flags = flags[keep]
        used = [u for u, k in zip(used, keep) if k]
    node_mask = flags.any(axis=0) if flags.size else np.zeros(sel.sizes["node"], dtype=bool)
    labels = [str(n) for n in relays["node"].values]
    if "layer" in relays.coords and "unit" in relays.coords and relays["layer"].dims == ("node",):
        layers = [int(v) for v in relays["layer"].values]
        units = [int(v) for v in relays["unit"].values]
    else:
        parsed = [_parse_node_label(lab, error=KnockoutError) for lab in labels]
        layers = [lay for lay, _ in parsed]
        units = [u for _, u in parsed]
    by_layer: dict[int, list[int]] = {lay: [] for lay in sorted(set(layers))}
    for flag, lay, unit in zip(node_mask, layers, units):
        if flag:
            by_layer[lay].append(unit)
    by_layer = {lay: sorted(u) for lay, u in by_layer.items()}
    if time is not None and len(t_pos) == 1:
        when = f"step {time_values[t_pos[0]]}"
    else:
        when = f"steps {used if len(used) <= 8 else f'{used[0]}..{used[-1]}'}"
    info = {
        "concept": concept_value,
        "class_index": class_index,
        "times": used,
        "layers": sorted(set(layers)),
        "when": when,
        "labels": labels,
        "node_layers": layers,
        "node_units": units,
    }
    return by_layer, info


def relay_set_units(
    relays: xr.Dataset,
    concept: Any,
    time: Any,
    layer: Any,
    *,
    significant_only: bool,
    owner: str,
) -> tuple[list[int] | list[str], int | None, str | None]:
    """The relay set of one concept as Knockout arguments: (units, layer, None), or (labels, None, None) for the
    submodule-named nodes of a wrapped model, whose labels carry layer and submodule."""
    by_layer, info = relay_units(relays, concept, time, significant_only=significant_only, owner=owner)
    if layer is not None:
        if not is_int(layer) or layer < 0:
            raise KnockoutError(
                f"The 'layer' parameter of {owner} must be an int >= 0. Got {layer!r} instead."
            )
        if int(layer) not in info["layers"]:
            raise KnockoutError(
                f"The relays hold nodes of layer(s) {sorted(info['layers'])} only; got layer={layer}."
            )
        by_layer = {int(layer): by_layer.get(int(layer), [])}
    nonempty = {lay: units for lay, units in by_layer.items() if units}
    if len(nonempty) > 1:
        raise KnockoutError(
            f"The relay set of concept {info['concept']!r} spans layers {sorted(nonempty)}, but one Knockout "
            "acts on one layer. Pass layer=... to pick one, or build one Knockout per layer "
            "(a list of Knockouts combines)."
        )
    if nonempty:
        ((lay, units),) = nonempty.items()
        # Nodes of a wrapped model are named by submodule ("lstm:l0.h5"): keep the names, so that the
        # knockout's labels are the recording's (its `layer` counts layers across submodules).
        wanted = set(units)
        labels = [
            lab
            for lab, node_layer, unit in zip(info["labels"], info["node_layers"], info["node_units"])
            if node_layer == lay and unit in wanted
        ]
        matches = [NODE_LABEL.match(lab) for lab in labels]
        if labels and all(m is not None and m.group("module") for m in matches):
            return labels, None, None
    else:
        lay = int(layer) if layer is not None else min(info["layers"], default=0)
        units = []
        warnings.warn(
            f"The relay set of concept {info['concept']!r} at {info['when']} is empty; the Knockout does nothing.",
            UserWarning,
            stacklevel=3,
        )
    return list(units), int(lay), None
