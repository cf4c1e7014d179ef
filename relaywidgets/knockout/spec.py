"""The knockout specification: which hidden units to clamp, in which layer, when, and to what value.

A :class:`Knockout` is a plain description; :meth:`Knockout.compile` turns it into the per-layer masks
(:class:`relaywidgets.models.plan.KnockoutPlan`) that :class:`~relaywidgets.models.RecurrentClassifier`
applies between time steps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from .._validation import is_int
from ..contract import node_label
from ..contract import parse_node_label as _parse_node_label
from ..errors import KnockoutError
from ..models.plan import KnockoutPlan
from ._arguments import KNOCKOUT_VALUES, check_flag, check_times, check_value, parse_nodes
from .from_relays import relay_set_units

if TYPE_CHECKING:  # pragma: no cover
    import torch
    import xarray as xr

__all__ = ["Knockout", "parse_node_label", "KNOCKOUT_VALUES"]



def parse_node_label(label: str, *, with_module: bool = False) -> tuple[int, int] | tuple[str | None, int, int]:
    """Split a node label such as ``"l1.h5"`` into ``(layer, unit)``, raising :class:`KnockoutError`.

    With ``with_module=True`` return ``(module, layer, unit)`` (``module`` None for a plain label). The grammar
    lives in :func:`relaywidgets.contract.parse_node_label`; this spelling keeps the knockout family's error type.
    """
    return _parse_node_label(label, error=KnockoutError, with_module=with_module)


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
        Unit indices within ``layer``, or recording labels such as ``"l0.h17"`` or, in a model wrapped with
        :func:`relaywidgets.stepwise`, ``"encoder.lstm:l0.h5"`` (layer and submodule are then read from
        the labels).
    layer : int, optional
        Layer of the units; default 0 for integer nodes, inferred from labels otherwise. With ``module``
        it is the layer within that submodule; without, in a wrapped model, it counts the recurrent
        layers of all submodules in node-label order (the recording's ``layer`` coordinate).
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
    module : str, optional
        The recurrent submodule of a model wrapped with :func:`relaywidgets.stepwise` (``"encoder.lstm"``);
        read from labels that carry it.

    Examples
    --------
    >>> from relaywidgets import Knockout
    >>> Knockout([3, 5], layer=0, times=slice(10, None))
    Knockout(nodes=(3, 5), layer=0, times=slice(10, None, None), value='zero', clamp_cell=False)
    >>> Knockout(["encoder.lstm:l0.h5", "encoder.lstm:l0.h7"]).labels
    ('encoder.lstm:l0.h5', 'encoder.lstm:l0.h7')
    """

    nodes: tuple[int, ...]
    layer: int = 0
    times: Any = None
    value: Union[str, float] = "zero"
    clamp_cell: bool = False
    reference: Any = field(default=None, repr=False, compare=False)
    module: Union[str, None] = None

    def __init__(
        self,
        nodes: int | str | Iterable[int | str],
        layer: int | None = None,
        times: TimeSpec = None,
        value: str | float = "zero",
        clamp_cell: bool = False,
        reference: "xr.Dataset | None" = None,
        module: str | None = None,
    ) -> None:
        units, layer, module = parse_nodes(nodes, layer, module)
        value = check_value(value, reference)
        times = check_times(times)
        clamp_cell = check_flag(clamp_cell, "clamp_cell")
        object.__setattr__(self, "nodes", tuple(dict.fromkeys(units)))
        object.__setattr__(self, "layer", int(layer))
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "clamp_cell", bool(clamp_cell))
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "module", module)

    def __repr__(self) -> str:
        where = f", module={self.module!r}" if self.module is not None else ""
        return (
            f"Knockout(nodes={self.nodes!r}, layer={self.layer!r}{where}, times={self.times!r}, "
            f"value={self.value!r}, clamp_cell={self.clamp_cell!r})"
        )

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
        units, layer, module = relay_set_units(
            relays, concept, time, layer, significant_only=significant_only, owner="Knockout.from_relays"
        )
        return cls(units, layer=layer, module=module, times=times, value=value, clamp_cell=clamp_cell,
                   reference=reference)

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
        if not is_int(hidden_size) or hidden_size < 1:
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
            module=spec.module,
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """Recording labels (``"l0.h3"``, or ``"encoder.lstm:l0.h3"`` with a submodule) of the knocked-out nodes."""
        return tuple(node_label(self.layer, u, module=self.module) for u in self.nodes)

    def _reference_nodes(self) -> tuple[list[str], list[str]]:
        """Labels of this knockout's nodes in the reference recording, and the labels it lacks.

        Without a submodule, in a recording of a wrapped model, ``layer`` counts layers across submodules:
        the nodes are found by the recording's ``layer`` and ``unit`` coordinates, not by plain labels.
        """
        ref = self.reference
        known = [str(v) for v in ref["node"].values] if "node" in getattr(ref, "coords", {}) else []
        if self.module is None and "module" in ref.coords and "layer" in ref.coords and "unit" in ref.coords:
            pos = {(int(lay), int(u)): lab for lab, lay, u in zip(known, ref["layer"].values, ref["unit"].values)}
            found = [pos.get((self.layer, u)) for u in self.nodes]
            missing = [f"layer {self.layer}, unit {u}" for u, lab in zip(self.nodes, found) if lab is None]
            return [lab for lab in found if lab is not None], missing
        members = set(known)
        return list(self.labels), [lab for lab in self.labels if known and lab not in members]

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
        sel = data.sel(node=self._reference_nodes()[0]) if "node" in data.dims else data
        # a Dask-backed reference (a Zarr store) is reduced without being loaded whole
        from ._reference import node_statistic

        return node_statistic(sel, self.value, len(self.nodes)).astype(np.float32)

    def resolved_values(self, variable: str = "hidden") -> np.ndarray:
        """Per-node values the units are set to (float32, one per node)."""
        if self.value == "zero":
            return np.zeros(len(self.nodes), dtype=np.float32)
        if isinstance(self.value, float):
            return np.full(len(self.nodes), self.value, dtype=np.float32)
        missing = self._reference_nodes()[1]
        if missing:
            raise KnockoutError(f"The reference recording has no node(s) {missing}; record the same model.")
        return self._reference_values(variable)

    def __hash__(self) -> int:
        # The generated hash would hash `times` as is, and a slice is unhashable before Python 3.12;
        # hash the same fields that __eq__ compares, with a slice as its (start, stop, step).
        times = self.times
        if isinstance(times, slice):
            times = ("slice", times.start, times.stop, times.step)
        return hash((self.nodes, self.layer, times, self.value, self.clamp_cell, self.module))

    def compile(
        self,
        *,
        seq_len: int,
        hidden_size: int,
        num_layers: int,
        arch: str,
        device: "torch.device | str" = "cpu",
        layout: "Sequence[Any] | None" = None,
    ) -> KnockoutPlan | None:
        """The masks of this knockout for a model of this shape and sequences of ``seq_len`` steps.

        The model calls this itself when it is handed a Knockout; call it to reuse one plan over many runs.

        Parameters
        ----------
        seq_len : int
            Steps of the sequences the plan is for.
        hidden_size, num_layers, arch
            The model's shape (``model.hidden_size``, ``model.num_layers``, ``model.arch``).
        device : torch.device or str, default "cpu"
            Where the masks live.
        layout : sequence of RecurrentLayer, optional
            The recurrent layers of a model wrapped with :func:`relaywidgets.stepwise` (``model.layout``).
            When given, the knockout's submodule and layer are looked up in it, and its size and cell
            replace ``hidden_size`` and ``arch``.

        Returns
        -------
        KnockoutPlan or None
            ``None`` (with a warning) when nothing would be clamped: an empty node set, or a window
            holding no step of ``seq_len``.

        Raises
        ------
        KnockoutError
            When the layer or a unit does not exist in the model, or ``clamp_cell`` is set for a
            model that is not an LSTM.

        Examples
        --------
        >>> plan = Knockout([1], times=slice(4, 6)).compile(seq_len=9, hidden_size=3, num_layers=1, arch="rnn")
        >>> plan.masks[0][:, 0, 1].nonzero().flatten().tolist()
        [4, 5]
        """
        import torch

        if not self.nodes:
            warnings.warn("Knockout with an empty node set does nothing; it is ignored.", UserWarning, stacklevel=3)
            return None
        target = self.layer
        if layout is not None:
            target, hidden_size, arch = self._locate(layout)
            num_layers = len(layout)
        elif self.module is not None:
            raise KnockoutError(
                f"Knockout names the submodule {self.module!r}, but this model has no named recurrent submodules "
                "(a RecurrentClassifier's nodes are labelled 'l<layer>.h<unit>'); drop the module prefix, or wrap "
                "your own model with relaywidgets.stepwise(model)."
            )
        if target >= num_layers:
            raise KnockoutError(
                f"Knockout names layer {self.layer} but the model has {num_layers} layer(s) (0 .. {num_layers - 1})."
            )
        too_big = [u for u in self.nodes if u >= hidden_size]
        if too_big:
            where = f"layer {self.layer}" + (f" of {self.module!r}" if self.module is not None else "")
            raise KnockoutError(
                f"Knockout node(s) {too_big} are out of range: {where} has {hidden_size} units "
                f"(0 .. {hidden_size - 1})."
            )
        if self.clamp_cell and arch != "lstm":
            raise KnockoutError(f"clamp_cell=True applies to LSTMs only; this model is a {arch.upper()}.")
        steps = self.time_indices(seq_len)
        if steps.size == 0:
            warnings.warn(
                f"Knockout window {self.times!r} contains no step of {seq_len}; it is ignored.", UserWarning, stacklevel=3
            )
            return None
        grid_t, grid_n = torch.meshgrid(
            torch.as_tensor(steps, dtype=torch.long), torch.as_tensor(self.nodes, dtype=torch.long), indexing="ij"
        )
        masks: list[dict[int, torch.Tensor]] = [{}, {}, {}, {}]
        variables = [("hidden", 0, 1)] + ([("cell", 2, 3)] if self.clamp_cell else [])
        for variable, mi, vi in variables:
            mask = torch.zeros(seq_len, 1, hidden_size, dtype=torch.bool)
            values = torch.zeros(seq_len, 1, hidden_size, dtype=torch.float32)
            mask[grid_t, 0, grid_n] = True
            values[grid_t, 0, grid_n] = torch.as_tensor(self.resolved_values(variable)).expand(len(steps), -1)
            masks[mi][target] = mask.to(device)
            masks[vi][target] = values.to(device)
        return KnockoutPlan(masks[0], masks[1], masks[2], masks[3], seq_len)

    def _locate(self, layout: "Sequence[Any]") -> tuple[int, int, str]:
        """Position in ``layout``, size and cell of the layer this knockout acts on."""
        layout = list(layout)
        if self.module is None:
            if self.layer >= len(layout):
                raise KnockoutError(
                    f"Knockout names layer {self.layer} but the model has {len(layout)} recurrent layer(s) "
                    f"(0 .. {len(layout) - 1}, counted across its submodules in node-label order)."
                )
            spec = layout[self.layer]
            return self.layer, int(spec.hidden_size), str(spec.arch)
        in_module = [(g, spec) for g, spec in enumerate(layout) if spec.module == self.module]
        if not in_module:
            names = list(dict.fromkeys(spec.module for spec in layout))
            raise KnockoutError(
                f"Knockout names the submodule {self.module!r}, which is not a recurrent submodule of this model; "
                f"its recurrent submodules are {names}."
            )
        for g, spec in in_module:
            if spec.layer == self.layer:
                return g, int(spec.hidden_size), str(spec.arch)
        raise KnockoutError(
            f"Knockout names layer {self.layer} of {self.module!r}, which has {len(in_module)} layer(s) "
            f"(0 .. {len(in_module) - 1})."
        )
