"""The compiled knockout plan: per-layer masks and clamp values that the recurrent model applies between steps.

The model runs any plan it is handed and knows nothing of how it was made: a :class:`KnockoutPlan`, or
any object with a ``compile(*, seq_len, hidden_size, num_layers, arch, device)`` method returning one
(such as :class:`relaywidgets.Knockout`), or a list of those. The experiment that builds the plans
(:mod:`relaywidgets.knockout`) sits on the floor above and is never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

import torch

from .._validation import is_int
from ..errors import KnockoutError

__all__ = ["KnockoutPlan", "Compilable", "compile_knockouts", "stack_knockouts"]


@runtime_checkable
class Compilable(Protocol):
    """Anything that compiles itself into a :class:`KnockoutPlan` for a given model and sequence length."""

    def compile(
        self, *, seq_len: int, hidden_size: int, num_layers: int, arch: str, device: "torch.device | str" = "cpu"
    ) -> "KnockoutPlan | None": ...


@dataclass
class KnockoutPlan:
    """Per-layer masks compiled from knockout specs for one sequence length.

    ``masks[layer]`` is a bool tensor of shape ``(time, batch or 1, hidden)``, ``values[layer]`` the
    float tensor of the same shape holding the clamp values; the ``cell_*`` dicts hold the same for an
    LSTM's cell state. ``active_steps[layer]`` lists the steps at which anything is clamped.

    Examples
    --------
    >>> import torch
    >>> mask = torch.zeros(4, 1, 3, dtype=torch.bool)
    >>> mask[2:, 0, 1] = True  # unit 1 from step 2 on
    >>> plan = KnockoutPlan({0: mask}, {0: torch.zeros(4, 1, 3)}, {}, {}, seq_len=4)
    >>> plan.first_step, sorted(plan.active_steps(0))
    (2, [2, 3])
    """

    masks: dict[int, torch.Tensor]
    values: dict[int, torch.Tensor]
    cell_masks: dict[int, torch.Tensor]
    cell_values: dict[int, torch.Tensor]
    seq_len: int
    steps: "dict[int, frozenset[int]] | None" = None
    """Steps at which each layer clamps anything. ``None``: derived from the masks. When given, the masks
    are read only at these steps (so a mask may be a stride-0 view, expanded over time, of one row)."""

    @property
    def layers(self) -> list[int]:
        """Layers in which anything is clamped (hidden or cell state)."""
        return sorted(set(self.masks) | set(self.cell_masks))

    @property
    def first_step(self) -> int:
        """Earliest step at which any unit is clamped (``seq_len`` when none is)."""
        starts = [min(self.active_steps(layer)) for layer in self.layers if self.active_steps(layer)]
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

    def to(self, device: "torch.device | str") -> "KnockoutPlan":
        """The same plan with every tensor on ``device``."""
        move = lambda d: {k: v.to(device) for k, v in d.items()}  # noqa: E731
        return KnockoutPlan(
            move(self.masks), move(self.values), move(self.cell_masks), move(self.cell_values), self.seq_len, self.steps
        )

    def batch_rows(self, rows: slice) -> "KnockoutPlan":
        """The part of a batch-shaped plan that applies to ``rows`` of the batch (self when batch-free)."""
        if self.batch_size == 1:
            return self

        def cut(d: dict) -> dict:
            return {k: (v[:, rows] if v.shape[1] > 1 else v) for k, v in d.items()}

        # derive the steps from the whole plan once, so that each slice does not recompute them
        steps = self.steps if self.steps is not None else {layer: self.active_steps(layer) for layer in self.layers}
        return KnockoutPlan(
            cut(self.masks), cut(self.values), cut(self.cell_masks), cut(self.cell_values), self.seq_len, steps
        )


def _as_list(knockout: Any) -> list:
    if knockout is None:
        return []
    if isinstance(knockout, (KnockoutPlan, Compilable)):
        return [knockout]
    try:
        items = list(knockout)
    except TypeError:
        raise KnockoutError(
            f"knockout must be a Knockout, a list of Knockouts or None; got {type(knockout).__name__}."
        ) from None
    for k in items:
        if not isinstance(k, (KnockoutPlan, Compilable)):
            raise KnockoutError(f"knockout must be a Knockout, a list of Knockouts or None; found {k!r} in the list.")
    return items


def _overlay(plans: Sequence[KnockoutPlan], seq_len: int) -> KnockoutPlan:
    """One plan doing what ``plans`` do; where two clamp the same unit at the same step, the later wins."""
    out: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
    for plan in plans:
        for mi, vi, masks, values in ((0, 1, plan.masks, plan.values), (2, 3, plan.cell_masks, plan.cell_values)):
            for layer, mask in masks.items():
                if layer not in out[mi]:
                    out[mi][layer], out[vi][layer] = mask.clone(), values[layer].clone()
                    continue
                m_acc, v_acc = torch.broadcast_tensors(out[mi][layer], mask)
                out[vi][layer] = torch.where(mask, values[layer], out[vi][layer].expand_as(v_acc))
                out[mi][layer] = m_acc | mask
    return KnockoutPlan(out[0], out[1], out[2], out[3], seq_len)


def compile_knockouts(
    knockout: Any,
    *,
    seq_len: int,
    hidden_size: int,
    num_layers: int,
    arch: str,
    device: "torch.device | str" = "cpu",
    layout: "Sequence[Any] | None" = None,
) -> KnockoutPlan | None:
    """Turn knockouts into one :class:`KnockoutPlan` for sequences of ``seq_len`` steps.

    Parameters
    ----------
    knockout : KnockoutPlan, object with a ``compile`` method, list of them, or None
        What to clamp; each item compiles itself (:meth:`relaywidgets.Knockout.compile`). Where two
        items clamp the same unit at the same step, the later one's value wins.
    seq_len, hidden_size, num_layers, arch
        The sequence length and the model's shape.
    device : torch.device or str, default "cpu"
        Where the masks live (the model's device).
    layout : sequence of RecurrentLayer, optional
        The recurrent layers of a model wrapped with :func:`relaywidgets.stepwise` (its ``layout``): their
        submodules, sizes and cells. Passed on to each item's ``compile`` only when given, so that
        compilable objects without a ``layout`` argument keep working for a RecurrentClassifier.

    Returns
    -------
    KnockoutPlan or None
        ``None`` when nothing would be clamped (no item, or only items that compile to nothing). A
        single ``KnockoutPlan`` passed in is returned unchanged.

    Examples
    --------
    >>> from relaywidgets import Knockout
    >>> plan = compile_knockouts([Knockout([1], times=slice(4, 6))], seq_len=9, hidden_size=3, num_layers=1,
    ...                          arch="rnn")
    >>> plan.masks[0].shape, plan.first_step
    (torch.Size([9, 1, 3]), 4)
    """
    items = _as_list(knockout)
    if len(items) == 1 and isinstance(items[0], KnockoutPlan):
        return items[0]
    shape = {"seq_len": seq_len, "hidden_size": hidden_size, "num_layers": num_layers, "arch": arch}
    if layout is not None:
        shape["layout"] = tuple(layout)
    plans = [k if isinstance(k, KnockoutPlan) else k.compile(**shape, device="cpu") for k in items]
    plans = [p for p in plans if p is not None and p.layers]
    if not plans:
        return None
    plan = plans[0] if len(plans) == 1 else _overlay(plans, seq_len)
    return plan.to(device)


def stack_knockouts(
    knockout_sets: Sequence[Any],
    repeats: int,
    *,
    seq_len: int,
    hidden_size: int,
    num_layers: int,
    arch: str,
    device: "torch.device | str" = "cpu",
    layout: "Sequence[Any] | None" = None,
) -> KnockoutPlan | None:
    """Compile several knockout sets into one plan whose masks are stacked along the batch dimension.

    Rows ``j * repeats .. (j + 1) * repeats - 1`` of the batch are knocked out by ``knockout_sets[j]``,
    so running a batch that repeats the same ``repeats`` sequences once per set evaluates every set in
    one pass of the network.

    Parameters
    ----------
    knockout_sets : sequence of (knockout, list of knockouts or None)
        One entry per block of rows, anything :func:`compile_knockouts` takes; ``None`` or an empty list
        leaves the block intact.
    repeats : int
        Rows (sequences) per block.
    seq_len, hidden_size, num_layers, arch, device, layout
        As in :func:`compile_knockouts`.

    Returns
    -------
    KnockoutPlan or None
        Masks of shape ``(time, len(knockout_sets) * repeats, hidden)``; ``None`` when nothing is clamped.
        When every set of a layer clamps the same units at all its steps, and all sets share those steps
        (the usual case: random sets with one window), the masks are stride-0 views over time, so memory
        grows with the batch, not with batch x time.

    Examples
    --------
    >>> from relaywidgets import Knockout
    >>> plan = stack_knockouts([[Knockout([0])], None], 2, seq_len=5, hidden_size=3, num_layers=1, arch="gru")
    >>> plan.masks[0].shape, plan.masks[0][0, :, 0].tolist()
    (torch.Size([5, 4, 3]), [True, True, False, False])
    """
    import warnings

    if not isinstance(knockout_sets, Sequence) or isinstance(knockout_sets, (str, bytes)):
        raise KnockoutError(
            "The 'knockout_sets' parameter of stack_knockouts must be a list of knockouts (each a Knockout, a list of "
            f"Knockouts or None). Got {type(knockout_sets).__name__} instead."
        )
    n_sets = len(knockout_sets)
    if not is_int(repeats) or repeats < 1:
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
                layout=layout,
            )
            for ks in knockout_sets
        ]
    layers = sorted({lay for p in plans if p is not None for lay in p.layers})
    if not layers:
        return None
    out: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
    steps: dict[int, frozenset[int]] = {}
    batch = n_sets * int(repeats)
    for layer in layers:
        size = int(layout[layer].hidden_size) if layout is not None else hidden_size
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
                m_rows = torch.zeros(n_sets, size, dtype=torch.bool)
                v_rows = torch.zeros(n_sets, size, dtype=torch.float32)
                for j, p in enumerate(plans):
                    if p is not None and layer in getattr(p, mask_name):
                        m_rows[j] = getattr(p, mask_name)[layer][t_ref, 0]
                        v_rows[j] = getattr(p, value_name)[layer][t_ref, 0]
                m_full = m_rows.to(device).repeat_interleave(int(repeats), dim=0)
                v_full = v_rows.to(device).repeat_interleave(int(repeats), dim=0)
                out[mi][layer] = m_full.unsqueeze(0).expand(seq_len, batch, size)
                out[vi][layer] = v_full.unsqueeze(0).expand(seq_len, batch, size)
            else:
                m_all = torch.zeros(seq_len, n_sets, size, dtype=torch.bool)
                v_all = torch.zeros(seq_len, n_sets, size, dtype=torch.float32)
                for j, p in enumerate(plans):
                    if p is not None and layer in getattr(p, mask_name):
                        m_all[:, j] = getattr(p, mask_name)[layer][:, 0]
                        v_all[:, j] = getattr(p, value_name)[layer][:, 0]
                out[mi][layer] = m_all.to(device).repeat_interleave(int(repeats), dim=1)
                out[vi][layer] = v_all.to(device).repeat_interleave(int(repeats), dim=1)
    return KnockoutPlan(out[0], out[1], out[2], out[3], seq_len, steps=steps)
