"""The knockout specification: which hidden units to clamp, in which layer, when, and to what value.

A :class:`Knockout` is a plain description; :func:`compile_knockouts` turns one or several of them into
per-layer masks that :class:`~relaywidgets.models.RecurrentClassifier` applies between time steps.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from ..errors import KnockoutError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    import xarray as xr

__all__ = ["Knockout", "KnockoutPlan", "compile_knockouts", "parse_node_label", "node_label", "KNOCKOUT_VALUES"]

KNOCKOUT_VALUES = ("zero", "mean", "median")
_LABEL = re.compile(r"^l(\d+)\.h(\d+)$")


def node_label(layer: int, unit: int) -> str:
    """Return the recording's label of hidden unit ``unit`` of layer ``layer`` (``"l0.h17"``)."""
    return f"l{layer}.h{unit}"


def parse_node_label(label: str) -> tuple[int, int]:
    """Split a node label such as ``"l1.h5"`` into ``(layer, unit)``.

    Raises
    ------
    KnockoutError
        When the label does not have the form ``"l<layer>.h<unit>"``.
    """
    match = _LABEL.match(str(label))
    if match is None:
        raise KnockoutError(
            f"Node label {label!r} is not of the form 'l<layer>.h<unit>' (e.g. 'l0.h17'); "
            "use the labels of a recording's `node` coordinate or plain unit indices."
        )
    return int(match.group(1)), int(match.group(2))


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
