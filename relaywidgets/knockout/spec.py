"""The knockout specification: which hidden units to clamp, in which layer, when, and to what value.

A :class:`Knockout` is a plain description; :func:`compile_knockouts` turns one or several of them into
per-layer masks that :class:`~relaywidgets.models.RecurrentClassifier` applies between time steps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from ..contract import check_relays, concept_classes, node_label, resolve_concept
from ..contract import parse_node_label as _parse_node_label
from ..errors import KnockoutError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    import xarray as xr

__all__ = [
    "Knockout",
    "KnockoutPlan",
    "compile_knockouts",
    "stack_knockouts",
    "relay_units",
    "parse_node_label",
    "node_label",
    "KNOCKOUT_VALUES",
]

KNOCKOUT_VALUES = ("zero", "mean", "median")


def parse_node_label(label: str) -> tuple[int, int]:
    """Split a node label such as ``"l1.h5"`` into ``(layer, unit)``, raising :class:`KnockoutError`.

    The grammar lives in :func:`relaywidgets.contract.parse_node_label`; this spelling keeps the
    knockout family's error type.
    """
    return _parse_node_label(label, error=KnockoutError)


TimeSpec = Union[None, slice, int, Sequence[int]]


@dataclass(frozen=True)
class Knockout:
    """Clamp hidden units of one layer to a fixed value over a window of time steps.

    Right after the recurrent cell computes ``h_t`` at a step ``t`` inside the window, ``h_t[nodes]``
    is replaced by the knockout value before it feeds step ``t + 1``, the next layer and the readout
    (METHOD.md, "Knockouts").

    Parameters
    ----------
    nodes : int, str or sequence of int or str
        Unit indices within ``layer``, or recording labels such as ``"l0.h17"`` (the layer is then read
        from the labels).
    layer : int, optional
        Layer of the units; default 0 for integer nodes, inferred from labels otherwise.
    times : None, int, slice or sequence of int
        Steps at which to clamp; ``None`` means every step. Negative indices count from the end.
    value : {"zero", "mean", "median"} or float
        Value the units are set to. ``"mean"`` and ``"median"`` are per node, over all valid steps and
        samples of ``reference``.
    clamp_cell : bool
        For an LSTM, also set the cell state ``c_t[nodes]`` (to the reference's cell mean/median, or to
        the same number for "zero" and floats).
    reference : xarray.Dataset, optional
        A recording (``relaywidgets.record``) to take means or medians from.

    Examples
    --------
    >>> from relaywidgets import Knockout
    >>> Knockout([3, 5], layer=0, times=slice(10, None))
    Knockout(nodes=(3, 5), layer=0, times=slice(10, None, None), value='zero', clamp_cell=False)
    """

    nodes: tuple[int, ...]
    layer: int = 0
    times: Any = None
    value: Union[str, float] = "zero"
    clamp_cell: bool = False
    reference: Any = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        nodes: int | str | Iterable[int | str],
        layer: int | None = None,
        times: TimeSpec = None,
        value: str | float = "zero",
        clamp_cell: bool = False,
        reference: "xr.Dataset | None" = None,
    ) -> None:
        if isinstance(nodes, (int, np.integer, str)):
            nodes = [nodes]
        try:
            items = list(nodes)
        except TypeError:
            raise KnockoutError(
                f"Knockout nodes must be an int, a label like 'l0.h3', or a list of them; got {type(nodes).__name__}."
            ) from None
        units: list[int] = []
        label_layers: set[int] = set()
        for item in items:
            if isinstance(item, (str, np.str_)):
                lay, unit = parse_node_label(str(item))
                label_layers.add(lay)
                units.append(unit)
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if item < 0:
                    raise KnockoutError(f"Knockout node indices must be >= 0; got {int(item)}.")
                units.append(int(item))
            else:
                raise KnockoutError(
                    f"Knockout nodes must be unit indices (int) or labels like 'l0.h3'; got {item!r}."
                )
        if len(label_layers) > 1:
            raise KnockoutError(
                f"One Knockout acts on one layer, but its labels name layers {sorted(label_layers)}; "
                "pass one Knockout per layer (a list of them combines)."
            )
        if label_layers:
            (inferred,) = label_layers
            if layer is not None and layer != inferred:
                raise KnockoutError(
                    f"Knockout labels name layer {inferred} but layer={layer} was given; drop `layer` or fix the labels."
                )
            layer = inferred
        if layer is None:
            layer = 0
        if not isinstance(layer, (int, np.integer)) or layer < 0:
            raise KnockoutError(f"The 'layer' parameter of Knockout must be an int >= 0. Got {layer!r} instead.")
        if isinstance(value, str):
            if value not in KNOCKOUT_VALUES:
                raise KnockoutError(
                    f"The 'value' parameter of Knockout must be one of 'zero', 'mean', 'median' or a float. "
                    f"Got {value!r} instead."
                )
            if value in ("mean", "median") and reference is None:
                raise KnockoutError(
                    f"Knockout value {value!r} needs a reference recording to take it from: "
                    f"Knockout(..., value={value!r}, reference=relaywidgets.record(model, X, y))."
                )
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            if not np.isfinite(value):
                raise KnockoutError(f"Knockout value must be finite; got {value!r}.")
            value = float(value)
        else:
            raise KnockoutError(
                f"The 'value' parameter of Knockout must be one of 'zero', 'mean', 'median' or a float. "
                f"Got {value!r} instead."
            )
        if times is not None and not isinstance(times, slice):
            if isinstance(times, (int, np.integer)):
                times = (int(times),)
            else:
                try:
                    times = tuple(int(t) for t in times)
                except (TypeError, ValueError):
                    raise KnockoutError(
                        f"Knockout times must be None, an int, a slice or a list of ints; got {times!r}."
                    ) from None
        object.__setattr__(self, "nodes", tuple(dict.fromkeys(units)))
        object.__setattr__(self, "layer", int(layer))
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "clamp_cell", bool(clamp_cell))
        object.__setattr__(self, "reference", reference)

    @classmethod
    def from_relays(
        cls,
        relays: "xr.Dataset",
        concept: int | str,
        time: int | Sequence[int] | None = None,
        layer: int | None = None,
        *,
        times: TimeSpec = None,
        value: str | float = "zero",
        clamp_cell: bool = False,
        reference: "xr.Dataset | None" = None,
        significant_only: bool = True,
    ) -> "Knockout":
        """Knock out the relay set that a relay analysis found for one concept.

        Parameters
        ----------
        relays : xarray.Dataset
            Result of :func:`relaywidgets.find_relays` (or :func:`relaywidgets.relays_at`), with a boolean
            ``is_relay (concept, time, node)`` variable.
        concept : int or str
            The concept: a value of the ``concept`` coordinate, or a class index.
        time : int or sequence of int, optional
            Analysis step(s), as values of the ``time`` coordinate (negative ints count from the last
            analysed step). A single step takes its relay set; ``None`` (default) or a list takes the
            union of the relay sets over those steps.
        layer : int, optional
            Keep the relays of this layer only. Needed when the relay set spans several layers
            (one Knockout acts on one layer).
        times, value, clamp_cell, reference
            The knockout window and value, as in :class:`Knockout`. ``times`` is the window of steps at
            which the units are clamped (default: every step), not the analysis step ``time``.
        significant_only : bool, default True
            Ignore steps whose relay set is not significant (when ``relays`` has a ``significant``
            variable), so that the union does not pick up sets found in noise.

        Returns
        -------
        Knockout
            Empty (with a warning) when the selection holds no relay; an empty Knockout is a no-op.

        Examples
        --------
        >>> ko = Knockout.from_relays(relays, concept=1, time=-1)  # doctest: +SKIP
        """
        by_layer, info = relay_units(
            relays, concept, time, significant_only=significant_only, owner="Knockout.from_relays"
        )
        if layer is not None:
            if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool) or layer < 0:
                raise KnockoutError(
                    f"The 'layer' parameter of Knockout.from_relays must be an int >= 0. Got {layer!r} instead."
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
        else:
            lay = int(layer) if layer is not None else min(info["layers"], default=0)
            units = []
            warnings.warn(
                f"The relay set of concept {info['concept']!r} at {info['when']} is empty; the Knockout does nothing.",
                UserWarning,
                stacklevel=2,
            )
        return cls(units, layer=lay, times=times, value=value, clamp_cell=clamp_cell, reference=reference)

    @classmethod
    def random_like(
        cls,
        spec: "Knockout",
        seed: int | np.random.Generator | None,
        *,
        hidden_size: int | None = None,
        exclude: Iterable[int] = (),
    ) -> "Knockout":
        """A Knockout of as many units as ``spec``, drawn uniformly from the same layer.

        Window, value, ``clamp_cell`` and reference are copied from ``spec``, so a ``"mean"`` knockout of
        random units sets each of them to its own mean.

        Parameters
        ----------
        spec : Knockout
            The knockout to match in size and layer.
        seed : int, numpy.random.Generator or None
            Seed of the draw; the same int gives the same units. Pass one Generator to several calls to
            draw several different sets reproducibly.
        hidden_size : int, optional
            Units in the layer. Default: the ``hidden_size`` attribute of ``spec.reference``.
        exclude : iterable of int, optional
            Units never drawn (for example the relay set itself).

        Returns
        -------
        Knockout

        Examples
        --------
        >>> Knockout.random_like(Knockout([3, 5], layer=1), seed=0, hidden_size=8)
        Knockout(nodes=(5, 7), layer=1, times=None, value='zero', clamp_cell=False)
        """
        if not isinstance(spec, Knockout):
            raise KnockoutError(f"Knockout.random_like needs a Knockout to match; got {type(spec).__name__}.")
        if hidden_size is None and spec.reference is not None:
            hidden_size = getattr(spec.reference, "attrs", {}).get("hidden_size")
        if hidden_size is None:
            raise KnockoutError(
                "Knockout.random_like needs the layer's size to draw from: pass hidden_size=model.hidden_size."
            )
        if not isinstance(hidden_size, (int, np.integer)) or isinstance(hidden_size, bool) or hidden_size < 1:
            raise KnockoutError(
                "The 'hidden_size' parameter of Knockout.random_like must be an int in [1, inf). "
                f"Got {hidden_size!r} instead."
            )
        too_big = [u for u in spec.nodes if u >= hidden_size]
        if too_big:
            raise KnockoutError(f"Knockout node(s) {too_big} are out of range for a layer of {hidden_size} units.")
        excluded = {int(u) for u in exclude}
        pool = np.array([u for u in range(int(hidden_size)) if u not in excluded], dtype=np.int64)
        if len(spec.nodes) > pool.size:
            raise KnockoutError(
                f"Cannot draw {len(spec.nodes)} random units from the {pool.size} unit(s) left in layer "
                f"{spec.layer} after excluding {sorted(excluded)}."
            )
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        units = np.sort(rng.choice(pool, size=len(spec.nodes), replace=False))
        return cls(
            units.tolist(),
            layer=spec.layer,
            times=spec.times,
            value=spec.value,
            clamp_cell=spec.clamp_cell,
            reference=spec.reference,
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """Recording labels (``"l0.h3"``) of the knocked-out nodes."""
        return tuple(node_label(self.layer, u) for u in self.nodes)

    def time_indices(self, seq_len: int) -> np.ndarray:
        """Return the sorted step indices of the window for sequences of ``seq_len`` steps."""
        if self.times is None:
            return np.arange(seq_len)
        if isinstance(self.times, slice):
            return np.arange(seq_len)[self.times]
        idx = np.asarray(self.times, dtype=np.int64)
        bad = (idx < -seq_len) | (idx >= seq_len)
        if bad.any():
            raise KnockoutError(
                f"Knockout times {idx[bad].tolist()} lie outside the sequence's {seq_len} steps "
                f"(valid: 0 .. {seq_len - 1}, or negative from the end)."
            )
        return np.unique(np.where(idx < 0, idx + seq_len, idx))

    def _reference_values(self, variable: str) -> np.ndarray:
        ref = self.reference
        if ref is None or variable not in getattr(ref, "data_vars", {}):
            raise KnockoutError(
                f"Knockout value {self.value!r} with clamp_cell needs a reference recording with a {variable!r} "
                "variable (an LSTM recording)."
            )
        data = ref[variable]
        sel = data.sel(node=list(self.labels)) if "node" in data.dims else data
        arr = np.asarray(sel.values, dtype=np.float64).reshape(len(self.nodes), -1)
        if self.value == "mean":
            vals = np.nanmean(arr, axis=1)
        else:
            vals = np.nanmedian(arr, axis=1)
        return vals.astype(np.float32)

    def resolved_values(self, variable: str = "hidden") -> np.ndarray:
        """Per-node values the units are set to (float32, one per node)."""
        if self.value == "zero":
            return np.zeros(len(self.nodes), dtype=np.float32)
        if isinstance(self.value, float):
            return np.full(len(self.nodes), self.value, dtype=np.float32)
        missing = [lab for lab in self.labels if "node" in self.reference.coords and lab not in set(self.reference.node.values.tolist())]
        if missing:
            raise KnockoutError(f"The reference recording has no node(s) {missing}; record the same model.")
        return self._reference_values(variable)


@dataclass
class KnockoutPlan:
    """Per-layer masks compiled from knockout specs for one sequence length.

    ``masks[layer]`` is a bool tensor of shape ``(time, batch or 1, hidden)``, ``values[layer]`` the
    float tensor of the same shape holding the clamp values; the ``cell_*`` dicts hold the same for an
    LSTM's cell state. ``active_steps[layer]`` lists the steps at which anything is clamped.
    """

    masks: dict[int, "torch.Tensor"]
    values: dict[int, "torch.Tensor"]
    cell_masks: dict[int, "torch.Tensor"]
    cell_values: dict[int, "torch.Tensor"]
    seq_len: int
    steps: "dict[int, frozenset[int]] | None" = None
    """Steps at which each layer clamps anything. ``None``: derived from the masks. When given, the masks
    are read only at these steps (so a mask may be a stride-0 view, expanded over time, of one row)."""

    @property
    def first_step(self) -> int:
        """Earliest step at which any unit is clamped (``seq_len`` when none is)."""
        layers = set(self.masks) | set(self.cell_masks)
        starts = [min(self.active_steps(layer)) for layer in layers if self.active_steps(layer)]
        return min(starts, default=self.seq_len)

    def active_steps(self, layer: int) -> frozenset[int]:
        """Steps at which anything is clamped in ``layer`` (cached per plan)."""
        if self.steps is not None:
            return self.steps.get(layer, frozenset())
        cache = self.__dict__.setdefault("_active", {})
        if layer not in cache:
            rows: set[int] = set()
            for d in (self.masks, self.cell_masks):
                if layer in d:
                    m = d[layer]
                    rows |= set(m.reshape(m.shape[0], -1).any(dim=1).nonzero().flatten().tolist())
            cache[layer] = frozenset(rows)
        return cache[layer]

    def step_active(self, layer: int, t: int) -> bool:
        """Whether anything is clamped in ``layer`` at step ``t``."""
        return t in self.active_steps(layer)

    @property
    def batch_size(self) -> int:
        """Batch size the masks are shaped for (1 when one mask serves every sequence)."""
        sizes = {m.shape[1] for d in (self.masks, self.cell_masks) for m in d.values()}
        return max(sizes, default=1)


def _as_list(knockout: Any) -> list:
    if knockout is None:
        return []
    if isinstance(knockout, (Knockout, KnockoutPlan)):
        return [knockout]
    try:
        items = list(knockout)
    except TypeError:
        raise KnockoutError(f"knockout must be a Knockout, a list of Knockouts or None; got {type(knockout).__name__}.") from None
    for k in items:
        if not isinstance(k, Knockout):
            raise KnockoutError(f"knockout must be a Knockout, a list of Knockouts or None; found {k!r} in the list.")
    return items


def compile_knockouts(
    knockout: Any,
    *,
    seq_len: int,
    hidden_size: int,
    num_layers: int,
    arch: str,
    device: "torch.device | str" = "cpu",
) -> KnockoutPlan | None:
    """Turn Knockout specs into a :class:`KnockoutPlan` for sequences of ``seq_len`` steps.

    Returns ``None`` when nothing would be clamped (no spec, or only empty node sets, which warn).
    A ``KnockoutPlan`` passed in is returned unchanged.
    """
    import torch

    specs = _as_list(knockout)
    if len(specs) == 1 and isinstance(specs[0], KnockoutPlan):
        return specs[0]
    masks: dict[int, torch.Tensor] = {}
    values: dict[int, torch.Tensor] = {}
    cell_masks: dict[int, torch.Tensor] = {}
    cell_values: dict[int, torch.Tensor] = {}
    for spec in specs:
        if not spec.nodes:
            warnings.warn("Knockout with an empty node set does nothing; it is ignored.", UserWarning, stacklevel=3)
            continue
        if spec.layer >= num_layers:
            raise KnockoutError(
                f"Knockout names layer {spec.layer} but the model has {num_layers} layer(s) (0 .. {num_layers - 1})."
            )
        too_big = [u for u in spec.nodes if u >= hidden_size]
        if too_big:
            raise KnockoutError(
                f"Knockout node(s) {too_big} are out of range: layer {spec.layer} has {hidden_size} units "
                f"(0 .. {hidden_size - 1})."
            )
        if spec.clamp_cell and arch != "lstm":
            raise KnockoutError(f"clamp_cell=True applies to LSTMs only; this model is a {arch.upper()}.")
        steps = spec.time_indices(seq_len)
        if steps.size == 0:
            warnings.warn(f"Knockout window {spec.times!r} contains no step of {seq_len}; it is ignored.", UserWarning, stacklevel=3)
            continue
        nodes = torch.as_tensor(spec.nodes, dtype=torch.long)
        t_idx = torch.as_tensor(steps, dtype=torch.long)
        targets = [(masks, values, "hidden")]
        if spec.clamp_cell:
            targets.append((cell_masks, cell_values, "cell"))
        for mask_d, value_d, variable in targets:
            if spec.layer not in mask_d:
                mask_d[spec.layer] = torch.zeros(seq_len, 1, hidden_size, dtype=torch.bool)
                value_d[spec.layer] = torch.zeros(seq_len, 1, hidden_size, dtype=torch.float32)
            vals = torch.as_tensor(spec.resolved_values(variable), dtype=torch.float32)
            grid_t, grid_n = torch.meshgrid(t_idx, nodes, indexing="ij")
            mask_d[spec.layer][grid_t, 0, grid_n] = True
            value_d[spec.layer][grid_t, 0, grid_n] = vals.expand(len(steps), -1)
    if not masks and not cell_masks:
        return None
    move = lambda d: {k: v.to(device) for k, v in d.items()}  # noqa: E731
    return KnockoutPlan(move(masks), move(values), move(cell_masks), move(cell_values), seq_len)


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
        requested = [time] if isinstance(time, (int, np.integer)) else list(time)
        t_pos = []
        for t in requested:
            if not isinstance(t, (int, np.integer)) or isinstance(t, bool):
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
        parsed = [parse_node_label(lab) for lab in labels]
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


def stack_knockouts(
    knockout_sets: Sequence[Any],
    repeats: int,
    *,
    seq_len: int,
    hidden_size: int,
    num_layers: int,
    arch: str,
    device: "torch.device | str" = "cpu",
) -> KnockoutPlan | None:
    """Compile several knockout sets into one plan whose masks are stacked along the batch dimension.

    Rows ``j * repeats .. (j + 1) * repeats - 1`` of the batch are knocked out by ``knockout_sets[j]``,
    so running a batch that repeats the same ``repeats`` sequences once per set evaluates every set in
    one pass of the network.

    Parameters
    ----------
    knockout_sets : sequence of (Knockout, list of Knockout or None)
        One entry per block of rows; ``None`` or an empty list leaves the block intact.
    repeats : int
        Rows (sequences) per block.
    seq_len, hidden_size, num_layers, arch, device
        As in :func:`compile_knockouts`.

    Returns
    -------
    KnockoutPlan or None
        Masks of shape ``(time, len(knockout_sets) * repeats, hidden)``; ``None`` when nothing is clamped.
        When every set of a layer clamps the same units at all its steps, and all sets share those steps
        (the usual case: random sets with one window), the masks are stride-0 views over time, so memory
        grows with the batch, not with batch x time.
    """
    import torch

    n_sets = len(knockout_sets)
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise KnockoutError(
            f"The 'repeats' parameter of stack_knockouts must be an int in [1, inf). Got {repeats!r} instead."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty set is a legitimate intact block here
        plans = [
            compile_knockouts(
                ks if ks is not None else [],
                seq_len=seq_len,
                hidden_size=hidden_size,
                num_layers=num_layers,
                arch=arch,
                device="cpu",
            )
            for ks in knockout_sets
        ]
    layers = sorted({lay for p in plans if p is not None for lay in (*p.masks, *p.cell_masks)})
    if not layers:
        return None
    out: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
    steps: dict[int, frozenset[int]] = {}
    batch = n_sets * int(repeats)
    for layer in layers:
        kinds = [("masks", "values", 0, 1)]
        if any(p is not None and layer in p.cell_masks for p in plans):
            kinds.append(("cell_masks", "cell_values", 2, 3))
        per_set_steps = [p.active_steps(layer) if p is not None else frozenset() for p in plans]
        common = {s for s in per_set_steps if s}
        compact = len(common) == 1
        if compact:
            (window,) = common
            rows = sorted(window)
            for mask_name, value_name, _, _ in kinds:
                for p in plans:
                    if p is None:
                        continue
                    m = getattr(p, mask_name).get(layer)
                    v = getattr(p, value_name).get(layer)
                    if m is None:
                        if mask_name == "cell_masks":
                            compact = False  # this set clamps h but not c here; rows would differ
                        continue
                    if not (m[rows] == m[rows[0]]).all() or not (v[rows] == v[rows[0]]).all():
                        compact = False
                    if m.reshape(seq_len, -1).any(dim=1).nonzero().flatten().tolist() != rows:
                        compact = False
        steps[layer] = frozenset().union(*per_set_steps)
        for mask_name, value_name, mi, vi in kinds:
            if compact:
                (window,) = common
                t_ref = min(window)
                m_rows = torch.zeros(n_sets, hidden_size, dtype=torch.bool)
                v_rows = torch.zeros(n_sets, hidden_size, dtype=torch.float32)
                for j, p in enumerate(plans):
                    if p is not None and layer in getattr(p, mask_name):
                        m_rows[j] = getattr(p, mask_name)[layer][t_ref, 0]
                        v_rows[j] = getattr(p, value_name)[layer][t_ref, 0]
                m_full = m_rows.to(device).repeat_interleave(int(repeats), dim=0)
                v_full = v_rows.to(device).repeat_interleave(int(repeats), dim=0)
                out[mi][layer] = m_full.unsqueeze(0).expand(seq_len, batch, hidden_size)
                out[vi][layer] = v_full.unsqueeze(0).expand(seq_len, batch, hidden_size)
            else:
                m_all = torch.zeros(seq_len, n_sets, hidden_size, dtype=torch.bool)
                v_all = torch.zeros(seq_len, n_sets, hidden_size, dtype=torch.float32)
                for j, p in enumerate(plans):
                    if p is not None and layer in getattr(p, mask_name):
                        m_all[:, j] = getattr(p, mask_name)[layer][:, 0]
                        v_all[:, j] = getattr(p, value_name)[layer][:, 0]
                out[mi][layer] = m_all.to(device).repeat_interleave(int(repeats), dim=1)
                out[vi][layer] = v_all.to(device).repeat_interleave(int(repeats), dim=1)
    return KnockoutPlan(out[0], out[1], out[2], out[3], seq_len, steps=steps)
