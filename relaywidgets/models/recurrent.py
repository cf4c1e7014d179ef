"""Recurrent classifiers (RNN, LSTM, GRU) that step through time so knockouts can act between steps.

The parameters live in a standard fused ``torch.nn.RNN/LSTM/GRU`` (``.rnn``) and a ``torch.nn.Linear``
readout (``.readout``); the forward pass recomputes each cell step by step from those same parameters, with
the stepping kernel of :mod:`relaywidgets.models.stepping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._resources import check_memory
from .._validation import check_inputs, check_lengths, check_sequence_shape, is_int
from ..errors import InputError
from ..contract import node_label
from .device import resolve_device
from .plan import compile_knockouts
from .stepping import layer_clamp, run_layer

__all__ = ["RecurrentClassifier", "RecurrentStates", "ARCHITECTURES"]

ARCHITECTURES = ("rnn", "lstm", "gru")
_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


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
            if not is_int(value) or value < low:
                raise InputError(
                    f"The {name!r} parameter of RecurrentClassifier must be an int in [{low}, inf). Got {value!r} instead."
                )
        if seed is not None and not (is_int(seed) and 0 <= seed < 2**63):
            raise InputError(
                f"The 'seed' parameter of RecurrentClassifier must be None or an int in [0, 2**63). Got {seed!r} instead."
            )
        # the float32 weights (gates x hidden x (inputs + hidden) and biases per layer, and the readout), estimated
        # before torch allocates them: a typo such as hidden_size=10**9 is our error, not torch's overflow
        gates = {"rnn": 1, "gru": 3, "lstm": 4}[arch.lower()]
        h = int(hidden_size)
        weights = gates * h * ((int(input_size) + h + 2) + (int(num_layers) - 1) * (2 * h + 2)) + (h + 1) * int(num_classes)
        check_memory(4.0 * weights, f"RecurrentClassifier({arch!r}, {input_size}, {hidden_size}, {num_classes}, "
                     f"{num_layers}) with {weights:,} weights", "Pass a smaller hidden_size, num_layers or input_size.")
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

    @classmethod
    def from_torch(cls, rnn: nn.Module, readout: nn.Module, *, metadata: dict[str, Any] | None = None) -> "RecurrentClassifier":
        """A RecurrentClassifier holding copies of the parameters of a torch recurrent module and linear readout.

        Covers the plain "recurrent layer + linear readout on the last step" model. The returned model takes
        inputs of shape ``(batch, time, feature)`` (batch first, whatever ``rnn.batch_first`` says) and reads
        the last layer's state at the last valid step, as ``readout(output[:, -1])`` does. For any other
        model (an embedding, an MLP head, several recurrent modules) use :func:`relaywidgets.stepwise`.

        Parameters
        ----------
        rnn : torch.nn.RNN (tanh), torch.nn.LSTM or torch.nn.GRU
            Unidirectional, without ``proj_size``; any number of layers.
        readout : torch.nn.Linear
            Maps ``rnn.hidden_size`` features to at least two class logits.
        metadata : dict, optional
            ``task``, ``seed``, ``class_names`` to record with the model.

        Returns
        -------
        RecurrentClassifier
            On the device of ``rnn``; the modules passed in are not changed.

        Raises
        ------
        InputError
            When ``rnn`` is not a supported recurrent module or ``readout`` does not fit it.

        Examples
        --------
        >>> import torch
        >>> lstm, head = torch.nn.LSTM(3, 8, batch_first=True), torch.nn.Linear(8, 2)
        >>> model = RecurrentClassifier.from_torch(lstm, head)
        >>> x = torch.randn(4, 5, 3)
        >>> bool(torch.allclose(model(x), head(lstm(x)[0][:, -1]), atol=1e-6))
        True
        """
        arch = _torch_arch(rnn, "RecurrentClassifier.from_torch")
        if arch == "rnn" and rnn.nonlinearity != "tanh":
            raise InputError(
                "RecurrentClassifier.from_torch supports nn.RNN with nonlinearity='tanh' only; got "
                f"{rnn.nonlinearity!r}. Wrap the model with relaywidgets.stepwise(model) instead, which steps relu RNNs."
            )
        if not isinstance(readout, nn.Linear):
            raise InputError(
                f"The 'readout' parameter of RecurrentClassifier.from_torch must be a torch.nn.Linear; got "
                f"{type(readout).__name__}. For another head use relaywidgets.stepwise(model)."
            )
        if readout.in_features != rnn.hidden_size:
            raise InputError(
                f"The readout takes {readout.in_features} features but the {arch.upper()} has hidden_size "
                f"{rnn.hidden_size}; the readout must map the last layer's {rnn.hidden_size} units to class logits."
            )
        if readout.out_features < 2:
            raise InputError(
                f"The readout has {readout.out_features} output(s); a classifier needs one logit per class (>= 2)."
            )
        device = next(rnn.parameters()).device
        model = cls(arch, rnn.input_size, rnn.hidden_size, readout.out_features, rnn.num_layers, device=device)
        with torch.no_grad():
            for layer in range(rnn.num_layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    target = getattr(model.rnn, f"{name}_l{layer}")
                    source = getattr(rnn, f"{name}_l{layer}", None) if rnn.bias or name.startswith("w") else None
                    target.copy_(source) if source is not None else target.zero_()
            model.readout.weight.copy_(readout.weight)
            if readout.bias is not None:
                model.readout.bias.copy_(readout.bias)
            else:
                model.readout.bias.zero_()
        model.metadata.update(metadata or {})
        return model

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
            hs, cs = run_layer(self.arch, layer_input, *self._layer_weights(layer), h0, c0,
                               layer_clamp(plan, layer), start=start, keep_cell=keep_states,
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


def _torch_arch(module: Any, owner: str) -> str:
    """``"rnn"``, ``"lstm"`` or ``"gru"`` for a supported torch recurrent module, else an InputError saying why."""
    supported = "torch.nn.RNN (tanh or relu), torch.nn.LSTM and torch.nn.GRU, unidirectional, without proj_size"
    arch = next((name for name, kind in _MODULES.items() if type(module) is kind), None)
    if arch is None:
        for name, kind in _MODULES.items():
            if isinstance(module, kind):  # a subclass may change the forward pass we re-implement
                arch = name
                break
        if arch is None:
            raise InputError(f"{owner} supports {supported}; got {type(module).__name__}.")
    if module.bidirectional:
        raise InputError(
            f"{owner}: bidirectional recurrent modules are not supported (a knockout at step t would act on the "
            f"backward pass too, which has no single time step); supported: {supported}."
        )
    if getattr(module, "proj_size", 0):
        raise InputError(
            f"{owner}: LSTMs with proj_size > 0 are not supported (the projected state is not the cell's hidden "
            f"state); supported: {supported}."
        )
    return arch
