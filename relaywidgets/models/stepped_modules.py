"""Drop-in replacements of ``torch.nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` that step cell by cell.

Each replacement keeps its module's parameters and takes and returns what the torch module does (a tensor or
``PackedSequence``, optional ``hx``); inside :meth:`relaywidgets.models.stepwise.StepwiseModel.run` it applies
the knockout plan it is handed and hands back its states. :func:`relaywidgets.stepwise` puts them in place.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from ..errors import InputError
from .stepping import layer_clamp, run_layer

__all__ = ["find_recurrent", "Stepped", "STEPPED", "SUPPORTED", "CELLS", "RunContext"]

SUPPORTED = "torch.nn.RNN (tanh or relu), torch.nn.LSTM and torch.nn.GRU (unidirectional, without proj_size)"
CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


def find_recurrent(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(path, submodule)`` of every torch RNN/LSTM/GRU inside ``module`` (itself included), in registration order."""
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.RNNBase)]


# ---------------------------------------------------------------------------------------------------- stepping
class RunContext:
    """What one :meth:`StepwiseModel.run` hands to the stepped submodules and gets back from them."""

    def __init__(self, plan: Any, seq_len: int, offsets: dict[str, int]) -> None:
        self.plan = plan
        self.seq_len = seq_len
        self.offsets = offsets
        self.hidden: dict[int, torch.Tensor] = {}  # global layer -> (time, batch, hidden)
        self.cell: dict[int, torch.Tensor] = {}
        self.calls: dict[str, int] = {}


class Stepped:
    """Mixin that makes a torch recurrent module step cell by cell (the class of each wrapped submodule).

    The parameters, buffers and ``state_dict`` keys stay those of the torch module; only ``forward`` changes.
    """

    _relay_path: str = ""
    _relay_arch: str = "rnn"
    _relay_context: RunContext | None = None

    def forward(self, input: Any, hx: Any = None) -> Any:  # noqa: A002 - torch's own argument name
        ctx = self._relay_context
        where = f"recurrent submodule {self._relay_path!r}" if self._relay_path else "the recurrent module"
        packed = isinstance(input, PackedSequence)
        unbatched = False
        lengths = None
        if packed:
            x, lengths = pad_packed_sequence(input)  # (time, batch, feature) in the caller's batch order
        else:
            if not isinstance(input, torch.Tensor) or input.dim() not in (2, 3):
                shape = tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__
                raise InputError(
                    f"{where} takes a 3-D tensor (batch and time first as batch_first says), a 2-D unbatched "
                    f"tensor or a PackedSequence; got {shape}."
                )
            unbatched = input.dim() == 2
            if unbatched:
                x = input.unsqueeze(1)
            else:
                x = input.transpose(0, 1) if self.batch_first else input
        if x.shape[-1] != self.input_size:
            raise InputError(
                f"{where} expects {self.input_size} feature(s) per step but its input has {x.shape[-1]}; "
                "check the feature size of X (or of the layer feeding it)."
            )
        batch = x.shape[1]
        h0, c0 = self._initial_states(hx, batch, unbatched, where)
        if ctx is not None:
            calls = ctx.calls.get(self._relay_path, 0)
            if calls:
                raise InputError(
                    f"{where} ran twice in one forward pass; relaywidgets records and knocks out each recurrent "
                    "submodule on one pass over the sequence. Wrap a model that calls each of them once."
                )
            ctx.calls[self._relay_path] = calls + 1
        offset = ctx.offsets[self._relay_path] if ctx is not None else 0
        layer_input = x
        h_n, c_n = [], []
        rows = torch.arange(batch, device=x.device)
        last = (lengths.to(x.device) - 1) if lengths is not None else None
        for layer in range(self.num_layers):
            clamp = layer_clamp(ctx.plan if ctx is not None else None, offset + layer)
            hs, cs = run_layer(
                self._relay_arch,
                layer_input,
                getattr(self, f"weight_ih_l{layer}"),
                getattr(self, f"weight_hh_l{layer}"),
                getattr(self, f"bias_ih_l{layer}", None) if self.bias else None,
                getattr(self, f"bias_hh_l{layer}", None) if self.bias else None,
                h0[layer] if h0 is not None else None,
                c0[layer] if c0 is not None else None,
                clamp,
                nonlinearity=getattr(self, "nonlinearity", "tanh"),
                keep_cell=ctx is not None or packed,
            )
            if last is None:
                h_n.append(hs[-1])
                if cs is not None:
                    c_n.append(cs[-1])
            else:  # each sequence's state at its own last step, as torch returns for packed input
                h_n.append(hs[last, rows])
                if cs is not None:
                    c_n.append(cs[last, rows])
            if ctx is not None:
                self._store(ctx, offset + layer, hs, cs, packed, where)
            layer_input = hs
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = nn.functional.dropout(hs, self.dropout, training=True)
        output = hs
        h_out = torch.stack(h_n)
        c_out = torch.stack(c_n) if c_n else None
        if packed:
            output = _pack_like(output, input)
        elif unbatched:
            output, h_out = output.squeeze(1), h_out.squeeze(1)
            c_out = c_out.squeeze(1) if c_out is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_out, c_out) if self._relay_arch == "lstm" else h_out)

    def _initial_states(
        self, hx: Any, batch: int, unbatched: bool, where: str
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(h0, c0)`` as ``(layer, batch, hidden)`` tensors, or None for zeros."""
        if hx is None:
            return None, None
        if self._relay_arch == "lstm":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise InputError(f"{where} is an LSTM: hx must be a tuple (h_0, c_0); got {type(hx).__name__}.")
            states = list(hx)
        else:
            states = [hx]
        out = []
        for s in states:
            s = s.unsqueeze(1) if unbatched else s
            if s.dim() != 3 or s.shape[0] != self.num_layers or s.shape[1] != batch or s.shape[2] != self.hidden_size:
                raise InputError(
                    f"{where}: an initial state has shape {tuple(s.shape)}; expected (num_layers, batch, hidden) = "
                    f"({self.num_layers}, {batch}, {self.hidden_size})."
                )
            out.append(s)
        return out[0], (out[1] if len(out) > 1 else None)

    def _store(
        self, ctx: RunContext, layer: int, hs: torch.Tensor, cs: torch.Tensor | None, packed: bool, where: str
    ) -> None:
        steps = hs.shape[0]
        if steps != ctx.seq_len:
            if not (packed and steps < ctx.seq_len):
                raise InputError(
                    f"{where} ran over {steps} step(s) but the input has {ctx.seq_len}. Recordings and knockouts "
                    "need every recurrent submodule to step along the input's time axis (axis 1 of X)."
                )
            # A packed batch runs to its longest sequence only; later steps lie past every length.
            pad = (0, 0, 0, 0, 0, ctx.seq_len - steps)
            hs = nn.functional.pad(hs, pad)
            cs = nn.functional.pad(cs, pad) if cs is not None else None
        ctx.hidden[layer] = hs
        if cs is not None:
            ctx.cell[layer] = cs


def _pack_like(output: torch.Tensor, template: PackedSequence) -> PackedSequence:
    """Time-major ``output`` (caller's batch order) packed with the batch sizes and order of ``template``."""
    batch_sizes = template.batch_sizes
    order = template.sorted_indices
    if order is not None:
        output = output.index_select(1, order.to(output.device))
    batch = output.shape[1]
    valid = torch.arange(batch)[None, :] < batch_sizes[:, None]  # (time, sorted position)
    data = output[valid.to(output.device)]
    return PackedSequence(data, batch_sizes, template.sorted_indices, template.unsorted_indices)


class _SteppedRNN(Stepped, nn.RNN):
    _relay_arch = "rnn"


class _SteppedLSTM(Stepped, nn.LSTM):
    _relay_arch = "lstm"


class _SteppedGRU(Stepped, nn.GRU):
    _relay_arch = "gru"


STEPPED = {"rnn": _SteppedRNN, "lstm": _SteppedLSTM, "gru": _SteppedGRU}
STEPPED_NAMES = {"rnn": "SteppedRNN", "lstm": "SteppedLSTM", "gru": "SteppedGRU"}
for _arch, _cls in STEPPED.items():
    _cls.__name__ = _cls.__qualname__ = STEPPED_NAMES[_arch]
