"""Recurrent classifiers (RNN, LSTM, GRU) that step through time so knockouts can act between steps.

The parameters live in a standard fused ``torch.nn.RNN/LSTM/GRU`` (``.rnn``) and a ``torch.nn.Linear``
readout (``.readout``); the forward pass recomputes each cell step by step from those same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._validation import check_inputs, check_lengths, check_sequence_shape
from ..errors import InputError
from ..contract import node_label
from .device import resolve_device
from .plan import KnockoutPlan, compile_knockouts

__all__ = ["RecurrentClassifier", "RecurrentStates", "ARCHITECTURES"]

ARCHITECTURES = ("rnn", "lstm", "gru")
_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Size of the reused buffer for the input projection of a block of steps (see _run_layer).
_PROJECTION_BYTES = 8 * 2**20


@dataclass
class RecurrentStates:
    """Hidden (and, for an LSTM, cell) states of every layer over time, plus the final logits.

    ``hidden[l]`` and ``cell[l]`` have shape ``(batch, time, hidden)`` for the steps that were computed
    (``start`` onwards); ``logits`` has shape ``(batch, class)``.
    """

    hidden: list[torch.Tensor]
    cell: list[torch.Tensor] | None
    logits: torch.Tensor
    start: int = 0
    extras: dict[str, Any] = field(default_factory=dict)


class RecurrentClassifier(nn.Module):
    """A recurrent sequence classifier whose hidden units can be recorded and knocked out.

    Parameters
    ----------
    arch : {"rnn", "lstm", "gru"}
        Recurrent architecture; ``"rnn"`` is the Elman network with tanh.
    input_size : int
        Features per time step.
    hidden_size : int
        Hidden units per layer.
    num_classes : int
        Number of output classes.
    num_layers : int, default 1
        Stacked recurrent layers.
    device : {"auto", "cpu", "cuda"} or torch.device, default "auto"
        Where the parameters live; "auto" uses CUDA when available, else the CPU.
    seed : int, optional
        Seed of the initial weights (torch's default initialisation, drawn from a private generator so
        the global random state is left alone). ``None`` draws from torch's global generator.

    Attributes
    ----------
    rnn : torch.nn.RNN | torch.nn.LSTM | torch.nn.GRU
        The fused module holding the recurrent parameters (``batch_first=True``).
    readout : torch.nn.Linear
        Maps the last layer's final hidden state to class logits.
    metadata : dict
        ``task`` and ``seed`` recorded with the model (set by :func:`relaywidgets.train` and the CLI).

    Examples
    --------
    >>> import torch
    >>> from relaywidgets import RecurrentClassifier, Knockout
    >>> model = RecurrentClassifier("lstm", input_size=3, hidden_size=8, num_classes=2, device="cpu")
    >>> x = torch.zeros(5, 10, 3)
    >>> model(x).shape
    torch.Size([5, 2])
    >>> model(x, knockout=Knockout([0, 1])).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        arch: Literal["rnn", "lstm", "gru"],
        input_size: int,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 1,
        *,
        device: str | torch.device = "auto",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(arch, str) or arch.lower() not in ARCHITECTURES:
            raise InputError(
                f"The 'arch' parameter of RecurrentClassifier must be one of 'rnn', 'lstm', 'gru'. Got {arch!r} instead."
            )
        for name, value, low in (
            ("input_size", input_size, 1),
            ("hidden_size", hidden_size, 1),
            ("num_classes", num_classes, 2),
            ("num_layers", num_layers, 1),
        ):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise InputError(
                    f"The {name!r} parameter of RecurrentClassifier must be an int in [{low}, inf). Got {value!r} instead."
                )
        self.arch = arch.lower()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_classes = int(num_classes)
        self.num_layers = int(num_layers)
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(int(seed))
            self.rnn = _MODULES[self.arch](
                self.input_size, self.hidden_size, num_layers=self.num_layers, batch_first=True
            )
            self.readout = nn.Linear(self.hidden_size, self.num_classes)
        self.metadata: dict[str, Any] = {"task": "", "seed": -1 if seed is None else int(seed), "class_names": None}
        self.to(resolve_device(device))

    # ------------------------------------------------------------------ configuration
    @property
    def device(self) -> torch.device:
        """The device the parameters live on."""
        return self.readout.weight.device

    @property
    def node_labels(self) -> list[str]:
        """Labels of all hidden units, layer by layer (``"l0.h0"``, …), as in a recording."""
        return [node_label(layer, unit) for layer in range(self.num_layers) for unit in range(self.hidden_size)]

    def config(self) -> dict[str, Any]:
        """Constructor arguments and metadata, JSON-serialisable (used by :func:`relaywidgets.save`)."""
        return {
            "arch": self.arch,
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_classes": self.num_classes,
            "num_layers": self.num_layers,
            "metadata": dict(self.metadata),
        }

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}"

    # ------------------------------------------------------------------ inputs
    def _prepare(self, x: Any, lengths: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(x, torch.Tensor):
            check_sequence_shape(tuple(x.shape), num_features=self.input_size, name="x")
            if not torch.isfinite(x).all():
                check_inputs(x, num_features=self.input_size, name="x")  # raises with positions
            x = x.to(device=self.device, dtype=torch.float32)
        else:
            xn, _, _ = check_inputs(x, num_features=self.input_size, name="x")
            x = torch.from_numpy(xn).to(self.device)
        len_t = None
        if lengths is not None:
            len_np = check_lengths(lengths, x.shape[0], x.shape[1])
            len_t = torch.as_tensor(len_np, dtype=torch.long, device=self.device)
        return x, len_t

    # ------------------------------------------------------------------ stepping
    def _layer_weights(self, layer: int) -> tuple[torch.Tensor, ...]:
        rnn = self.rnn
        return (
            getattr(rnn, f"weight_ih_l{layer}"),
            getattr(rnn, f"weight_hh_l{layer}"),
            getattr(rnn, f"bias_ih_l{layer}"),
            getattr(rnn, f"bias_hh_l{layer}"),
        )

    def run(
        self,
        x: Any,
        lengths: Any = None,
        knockout: Any = None,
        *,
        start: int = 0,
        initial: tuple[list[torch.Tensor], list[torch.Tensor] | None] | None = None,
        keep_states: bool = True,
        out: tuple[list[torch.Tensor], list[torch.Tensor] | None] | None = None,
    ) -> RecurrentStates:
        """Step the network through ``x`` and return every layer's states and the logits.

        Parameters
        ----------
        x : array-like or Tensor, shape (batch, time, feature)
            Input sequences.
        lengths : array-like of int, shape (batch,), optional
            Valid steps per sequence; the readout uses step ``lengths - 1``.
        knockout : KnockoutPlan, object with a ``compile`` method, or a list of them, optional
            Units to clamp: a :class:`relaywidgets.Knockout` (or list of them), or a plan compiled
            beforehand (see :func:`relaywidgets.models.plan.compile_knockouts`).
        start : int, default 0
            First step to compute. With ``start > 0``, ``initial`` must hold every layer's state at
            step ``start - 1`` (as cached from an earlier run); steps before ``start`` are not recomputed.
        initial : (hidden list, cell list or None), optional
            Per-layer states of shape ``(batch, hidden)`` at step ``start - 1``; zeros when omitted.
        keep_states : bool, default True
            Keep the whole state sequences; when False only what the readout needs is kept.
        out : (hidden list, cell list or None), optional
            Per-layer time-major buffers of shape ``(time - start, batch, hidden)`` to write the states
            into (used by :func:`relaywidgets.record` to fill its arrays without a copy). Only without
            autograd.

        Returns
        -------
        RecurrentStates
        """
        x, len_t = self._prepare(x, lengths)
        batch, seq_len, _ = x.shape
        plan = compile_knockouts(
            knockout,
            seq_len=seq_len,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            arch=self.arch,
            device=self.device,
        )
        if not 0 <= start < seq_len:
            raise InputError(f"start must lie in 0 .. {seq_len - 1}; got {start}.")
        if start > 0 and initial is None:
            raise InputError("run(start > 0) needs `initial`, the states at step start - 1.")
        # Layers pass time-major (time, batch, unit) tensors, so that each step reads and writes one
        # contiguous block; the states are handed out as (batch, time, unit) views of those buffers.
        layer_input = x[:, start:].transpose(0, 1)
        hidden_out: list[torch.Tensor] = []
        cell_out: list[torch.Tensor] | None = [] if self.arch == "lstm" else None
        for layer in range(self.num_layers):
            h0 = initial[0][layer] if initial is not None else None
            c0 = initial[1][layer] if (initial is not None and self.arch == "lstm") else None
            out_h = out[0][layer] if out is not None else None
            out_c = out[1][layer] if (out is not None and out[1] is not None) else None
            hs, cs = self._run_layer(layer, layer_input, plan, start, h0, c0, keep_cell=keep_states,
                                     out_hidden=out_h, out_cell=out_c)
            hidden_out.append(hs.transpose(0, 1))
            if cell_out is not None:
                cell_out.append(cs.transpose(0, 1))
            layer_input = hs
        last = hidden_out[-1]
        if len_t is None:
            final = last[:, -1]
        else:
            idx = (len_t - 1 - start).clamp(min=0)
            if (len_t - 1 < start).any():
                raise InputError(f"Some sequences end before step {start}; run them from start=0.")
            final = last[torch.arange(batch, device=last.device), idx]
        logits = self.readout(final)
        if not keep_states:
            hidden_out = [h[:, -1:] for h in hidden_out]
            cell_out = [c[:, -1:] for c in cell_out] if cell_out is not None else None
        return RecurrentStates(hidden_out, cell_out, logits, start)

    def _run_layer(
        self,
        layer: int,
        inputs: torch.Tensor,
        plan: KnockoutPlan | None,
        start: int,
        h0: torch.Tensor | None,
        c0: torch.Tensor | None,
        keep_cell: bool = True,
        out_hidden: torch.Tensor | None = None,
        out_cell: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Step one layer through time-major ``inputs`` (time, batch, feature); return time-major states.

        The cell states come back for every step, or only the last one (shape ``(1, batch, hidden)``)
        when ``keep_cell`` is False.
        """
        w_ih, w_hh, b_ih, b_hh = self._layer_weights(layer)
        tracked = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (w_ih, w_hh, b_ih, b_hh, inputs, h0, c0)
        )
        steps, batch, n_in = inputs.shape
        H = self.hidden_size
        arch = self.arch
        h = h0 if h0 is not None else inputs.new_zeros(batch, H)
        c = None
        if arch == "lstm":
            c = c0 if c0 is not None else inputs.new_zeros(batch, H)
        mask = plan.masks.get(layer) if plan is not None else None
        vals = plan.values.get(layer) if plan is not None else None
        cmask = plan.cell_masks.get(layer) if plan is not None else None
        cvals = plan.cell_values.get(layer) if plan is not None else None
        active = plan.active_steps(layer) if plan is not None else frozenset()
        # For RNN and LSTM both biases enter the input projection, so the sequential part is a single
        # addmm per step; a GRU keeps b_hh apart because r scales its candidate share.
        bias = b_ih if arch == "gru" else b_ih + b_hh
        w_ih_t, w_hh_t = w_ih.t(), w_hh.t()
        if tracked:
            return self._run_layer_tracked(
                inputs, bias, w_ih_t, w_hh_t, b_hh, h, c, start, active, mask, vals, cmask, cvals
            )

        # Without autograd every step works in place in preallocated buffers. The input projection is
        # computed a block of steps at a time into one reused buffer: allocating it for the whole
        # sequence at once costs more in fresh-memory page faults than the matmul itself.
        gate_size = w_ih.shape[0]
        block = max(1, min(steps, _PROJECTION_BYTES // max(1, batch * gate_size * 4)))
        buf = inputs.new_empty(block * batch, gate_size)
        hidden = out_hidden if out_hidden is not None else inputs.new_empty(steps, batch, H)
        cell = None
        spare: list[torch.Tensor] = []
        g = rec = None
        if arch == "lstm":
            g = inputs.new_empty(batch, H)
            if keep_cell:
                cell = out_cell if out_cell is not None else inputs.new_empty(steps, batch, H)
            else:
                spare = [inputs.new_empty(batch, H), inputs.new_empty(batch, H)]
        elif arch == "gru":
            rec = inputs.new_empty(batch, gate_size)
        for b0 in range(0, steps, block):
            b1 = min(steps, b0 + block)
            proj = buf[: (b1 - b0) * batch]
            torch.addmm(bias, inputs[b0:b1].reshape(-1, n_in), w_ih_t, out=proj)
            proj = proj.view(b1 - b0, batch, gate_size)
            for j in range(b1 - b0):
                i = b0 + j
                t = start + i
                gx = proj[j]
                hi = hidden[i]
                if arch == "rnn":
                    torch.tanh(gx.addmm_(h, w_hh_t), out=hi)
                elif arch == "lstm":
                    gx.addmm_(h, w_hh_t)  # columns: input, forget, cell, output gates
                    torch.tanh(gx[:, 2 * H : 3 * H], out=g)
                    gx.sigmoid_()  # the cell block's sigmoid is wasted: one call beats three
                    ci = cell[i] if cell is not None else spare[i % 2]
                    torch.mul(gx[:, H : 2 * H], c, out=ci)
                    ci.addcmul_(gx[:, :H], g)
                    if cmask is not None and t in active:
                        torch.where(cmask[t], cvals[t], ci, out=ci)
                    torch.tanh(ci, out=hi)
                    hi.mul_(gx[:, 3 * H :])
                    c = ci
                else:  # gru
                    torch.addmm(b_hh, h, w_hh_t, out=rec)
                    rz = gx[:, : 2 * H].add_(rec[:, : 2 * H]).sigmoid_()
                    n = gx[:, 2 * H :].addcmul_(rz[:, :H], rec[:, 2 * H :]).tanh_()
                    torch.sub(h, n, out=hi)
                    hi.mul_(rz[:, H:]).add_(n)
                if mask is not None and t in active:
                    torch.where(mask[t], vals[t], hi, out=hi)
                h = hi
        if arch == "lstm" and cell is None:
            cell = c.unsqueeze(0)
        return hidden, cell

    def _run_layer_tracked(
        self,
        inputs: torch.Tensor,
        bias: torch.Tensor,
        w_ih_t: torch.Tensor,
        w_hh_t: torch.Tensor,
        b_hh: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor | None,
        start: int,
        active: frozenset[int],
        mask: torch.Tensor | None,
        vals: torch.Tensor | None,
        cmask: torch.Tensor | None,
        cvals: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The same steps out of place, so that autograd can differentiate through them."""
        steps, batch, n_in = inputs.shape
        H = self.hidden_size
        arch = self.arch
        projected = torch.addmm(bias, inputs.reshape(steps * batch, n_in), w_ih_t).view(steps, batch, -1)
        hs: list[torch.Tensor] = []
        cs: list[torch.Tensor] = []
        for i in range(steps):
            t = start + i
            clamp = t in active
            if arch == "rnn":
                h = torch.tanh(torch.addmm(projected[i], h, w_hh_t))
            elif arch == "lstm":
                gates = torch.addmm(projected[i], h, w_hh_t)
                g = torch.tanh(gates[:, 2 * H : 3 * H])
                s = torch.sigmoid(gates)
                c = torch.addcmul(s[:, H : 2 * H] * c, s[:, :H], g)
                if clamp and cmask is not None:
                    c = torch.where(cmask[t], cvals[t], c)
                h = s[:, 3 * H :] * torch.tanh(c)
                cs.append(c)
            else:  # gru
                gx = projected[i]
                rec = torch.addmm(b_hh, h, w_hh_t)
                rz = torch.sigmoid(gx[:, : 2 * H] + rec[:, : 2 * H])
                n = torch.tanh(torch.addcmul(gx[:, 2 * H :], rz[:, :H], rec[:, 2 * H :]))
                h = n + rz[:, H:] * (h - n)
            if clamp and mask is not None:
                h = torch.where(mask[t], vals[t], h)
            hs.append(h)
        return torch.stack(hs), (torch.stack(cs) if arch == "lstm" else None)

    # ------------------------------------------------------------------ public passes
    def forward(self, x: Any, lengths: Any = None, knockout: Any = None) -> torch.Tensor:
        """Return class logits of shape ``(batch, class)``, stepping cell by cell.

        Parameters
        ----------
        x : array-like or Tensor, shape (batch, time, feature)
        lengths : array-like of int, shape (batch,), optional
            Valid steps per sequence (the readout takes step ``lengths - 1``).
        knockout : Knockout, list of Knockout, or KnockoutPlan, optional
            Hidden units to clamp between steps (METHOD.md, "Knockouts"); anything :meth:`run` takes.
        """
        return self.run(x, lengths, knockout, keep_states=False).logits

    def fused_forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from the fused torch module (fast; no knockouts). Used for training."""
        if lengths is None:
            out, _ = self.rnn(x)
            final = out[:, -1]
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
            h_n = state[0] if self.arch == "lstm" else state
            final = h_n[-1]
        return self.readout(final)

    @torch.no_grad()
    def predict(self, x: Any, lengths: Any = None, knockout: Any = None) -> np.ndarray:
        """Predicted class of each sequence (argmax of the logits) as an int64 numpy array."""
        was_training = self.training
        self.eval()
        try:
            return self(x, lengths, knockout).argmax(dim=1).cpu().numpy().astype(np.int64)
        finally:
            self.train(was_training)
