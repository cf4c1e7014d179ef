"""Knockouts and recordings inside a user's own PyTorch model: :func:`stepwise` wraps a copy of it.

Every ``torch.nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` submodule of the copy is made to step cell by cell with
its own parameters (the kernel of :mod:`relaywidgets.models.stepping`), taking the same inputs and returning
the same outputs as before, so the model's own ``forward`` runs unchanged. During :meth:`StepwiseModel.run`
the stepped submodules apply the knockout plan they are handed and hand back their states, which is all the
analyses need.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .._validation import as_numpy, check_inputs, check_lengths, first_bad_positions, is_int
from ..contract import node_label
from ..errors import InputError, RelaywidgetsError
from .plan import compile_knockouts
from .protocol import RecurrentLayer, knockout_shape
from .recurrent import RecurrentStates, _torch_arch
from .stepped_modules import CELLS, STEPPED, SUPPORTED, RunContext, Stepped, find_recurrent

__all__ = ["stepwise", "StepwiseModel", "find_recurrent"]

# ---------------------------------------------------------------------------------------------------- the wrapper
def _default_call(module: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None) -> Any:
    if lengths is None:
        return module(x)
    try:
        inspect.signature(module.forward).bind(x, lengths)
    except TypeError:
        raise InputError(
            f"lengths were given but {type(module).__name__}.forward takes no second argument to pass them in. "
            "Tell stepwise how to call the model: stepwise(model, call=lambda module, x, lengths: module(x)) to "
            "ignore them, or a call that passes them the way your forward expects."
        ) from None
    except ValueError:  # no signature to inspect: try it
        pass
    return module(x, lengths)


def _default_decision(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor) and output.dim() == 2:
        return output
    what = f"a tensor of shape {tuple(output.shape)}" if isinstance(output, torch.Tensor) else f"a {type(output).__name__}"
    raise InputError(
        f"The model returns {what}; relaywidgets reads the decision from output logits of shape (batch, class). "
        "Pass decision= to stepwise to pick them, e.g. stepwise(model, decision=lambda output: output[0]) for a "
        "model that returns (logits, extra)."
    )


class StepwiseModel(nn.Module):
    """A user's PyTorch model whose recurrent submodules step cell by cell, for recordings and knockouts.

    Made by :func:`stepwise`, which see. Calling it (``wrapped(x, ...)``) runs the user's ``forward``
    unchanged; :meth:`run` and :meth:`predict` are the protocol every analysis of the package uses.

    Attributes
    ----------
    module : torch.nn.Module
        The wrapped copy of the user's model (its recurrent submodules are ``SteppedLSTM`` & co., subclasses
        of the torch modules with the same parameters and ``state_dict`` keys).
    layout : tuple of RecurrentLayer
        Every recurrent layer, in node-label order: submodule path, layer within it, cell and size.
    node_labels : list of str
        ``"<module>:l<layer>.h<unit>"`` for every hidden unit (``"l0.h5"`` when the model itself is the
        recurrent module).
    num_classes : int
        Logits of the decision.
    input_size : int or None
        Features per step when given to :func:`stepwise` (checked against X), else None.
    metadata : dict
        ``task``, ``seed`` and ``class_names`` recorded with the model.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        decision: Callable[[Any], torch.Tensor] | None = None,
        call: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], Any] | None = None,
        num_classes: int | None = None,
        input_size: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise InputError(f"stepwise needs a torch.nn.Module; got {type(module).__name__}.")
        for name, value in (("decision", decision), ("call", call)):
            if value is not None and not callable(value):
                raise InputError(f"The {name!r} parameter of stepwise must be a callable or None. Got {value!r} instead.")
        found = find_recurrent(module)
        if not found:
            cells = [name or type(module).__name__ for name, m in module.named_modules() if isinstance(m, CELLS)]
            extra = (
                f" It holds recurrent cell(s) {cells} stepped by the model's own loop, which stepwise cannot "
                "clamp between steps." if cells else ""
            )
            raise InputError(
                f"stepwise found no recurrent layer in {type(module).__name__}; it wraps {SUPPORTED}.{extra} "
                "A model with a custom recurrent cell needs its own knockout hooks; build a "
                "relaywidgets.RecurrentClassifier or record its activations with recording_from_arrays instead."
            )
        layout: list[RecurrentLayer] = []
        for path, sub in found:
            owner = f"stepwise (submodule {path!r})" if path else "stepwise"
            arch = _torch_arch(sub, owner)
            base = type(sub)
            if isinstance(sub, Stepped):
                raise InputError(f"{owner}: this model is already wrapped; pass the original model to stepwise.")
            if base.forward is not {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[arch].forward:
                raise InputError(
                    f"{owner}: {base.__name__} overrides the forward pass of torch's {arch.upper()}; stepwise "
                    f"wraps {SUPPORTED} themselves."
                )
            sub.__class__ = STEPPED[arch]
            sub._relay_path = path
            layout.extend(RecurrentLayer(path, layer, arch, int(sub.hidden_size)) for layer in range(sub.num_layers))
        self.module = module
        self.layout: tuple[RecurrentLayer, ...] = tuple(layout)
        self._stepped = [m for _, m in found]
        self._offsets: dict[str, int] = {}
        for g, spec in enumerate(self.layout):
            self._offsets.setdefault(spec.module, g)
        self.decision = decision
        self.call = call
        if num_classes is None:
            # A guess that every run checks against the decision's shape, with a message saying what to pass.
            linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
            if not linears:
                raise InputError(
                    "stepwise cannot tell how many classes the model decides between (it has no nn.Linear to "
                    "read them from); pass num_classes= to stepwise."
                )
            num_classes = linears[-1].out_features
        if not is_int(num_classes) or num_classes < 2:
            raise InputError(f"The 'num_classes' parameter of stepwise must be an int in [2, inf). Got {num_classes!r} instead.")
        if input_size is not None and (
            not is_int(input_size) or input_size < 1
        ):
            raise InputError(f"The 'input_size' parameter of stepwise must be None or an int in [1, inf). Got {input_size!r} instead.")
        self.num_classes = int(num_classes)
        self.input_size = None if input_size is None else int(input_size)
        self.metadata: dict[str, Any] = {"task": "", "seed": -1, "class_names": None, **(metadata or {})}

    # ------------------------------------------------------------------ description
    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter (the CPU for a model without parameters)."""
        for p in self.module.parameters():
            return p.device
        return torch.device("cpu")

    @property
    def num_layers(self) -> int:
        """Recurrent layers of all submodules together."""
        return len(self.layout)

    @property
    def hidden_size(self) -> int:
        """Units per recurrent layer, when every layer has the same number (see :attr:`layout` otherwise)."""
        sizes = {spec.hidden_size for spec in self.layout}
        if len(sizes) != 1:
            raise InputError(
                f"The recurrent layers of this model have different sizes {sorted(sizes)}; this analysis needs one "
                "size for all. Read the sizes from model.layout."
            )
        return sizes.pop()

    @property
    def arch(self) -> str:
        """``"rnn"``, ``"lstm"`` or ``"gru"`` when all recurrent layers share the cell, else ``"mixed"``."""
        archs = {spec.arch for spec in self.layout}
        return archs.pop() if len(archs) == 1 else "mixed"

    @property
    def node_labels(self) -> list[str]:
        """Labels of all hidden units in node order: submodule by submodule, layer by layer."""
        return [
            node_label(spec.layer, unit, module=spec.module or None)
            for spec in self.layout
            for unit in range(spec.hidden_size)
        ]

    def extra_repr(self) -> str:
        return f"layers={[node_label(s.layer, 0, module=s.module or None).rsplit('.h', 1)[0] for s in self.layout]}"

    # ------------------------------------------------------------------ inputs
    def check_inputs(self, X: Any, y: Any = None, lengths: Any = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Validate data for this model: ``X`` with samples first and time second, labels and lengths.

        Integer ``X`` of shape ``(sample, time)`` (token ids for an embedding) is kept as int64; real ``X`` of
        shape ``(sample, time, ...)`` becomes float32 and must be finite.

        Returns
        -------
        X : ndarray (int64 or float32), y : ndarray of int64 or None, lengths : ndarray of int64 or None
        """
        Xn = as_numpy(X)
        if Xn.dtype == object or not (np.issubdtype(Xn.dtype, np.integer) or np.issubdtype(Xn.dtype, np.floating)):
            raise InputError(f"X must hold real numbers or integer token ids; got dtype {Xn.dtype}.")
        if Xn.ndim < 2 or 0 in Xn.shape:
            raise InputError(
                f"X must have samples on axis 0 and time steps on axis 1 (e.g. (sample, time) token ids or "
                f"(sample, time, feature)); got shape {Xn.shape}."
            )
        if np.issubdtype(Xn.dtype, np.integer) and Xn.ndim == 2:
            Xn = np.ascontiguousarray(Xn, dtype=np.int64)
        else:
            Xn = np.ascontiguousarray(Xn, dtype=np.float32)
            bad = ~np.isfinite(Xn)
            if bad.any():
                raise InputError(
                    f"X contains {int(bad.sum())} NaN or infinite value(s), first at {first_bad_positions(bad)}. "
                    "Replace or drop them; for variable-length sequences pad with 0 and pass `lengths`."
                )
            if self.input_size is not None and (Xn.ndim != 3 or Xn.shape[2] != self.input_size):
                raise InputError(
                    f"X has shape {Xn.shape} but the model expects (sample, time, {self.input_size}) "
                    "(the input_size given to stepwise)."
                )
        n, steps = Xn.shape[0], Xn.shape[1]
        # check_inputs validates labels and lengths; a stand-in X of the right size carries the shape.
        _, yn, ln = check_inputs(np.zeros((n, steps, 1), dtype=np.float32), y, lengths, num_classes=self.num_classes)
        return Xn, yn, ln

    def _as_tensor(self, x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            if x.dim() < 2:
                raise InputError(f"x must have samples on axis 0 and time on axis 1; got shape {tuple(x.shape)}.")
            if x.is_floating_point():
                return x.to(device=self.device, dtype=self._float_dtype())
            return x.to(self.device)
        Xn, _, _ = self.check_inputs(x)
        t = torch.from_numpy(Xn).to(self.device)
        return t.to(self._float_dtype()) if t.is_floating_point() else t

    def _float_dtype(self) -> torch.dtype:
        for p in self.module.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.float32

    # ------------------------------------------------------------------ passes
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The user's own forward pass (stepping cell by cell; outputs equal the original model's)."""
        return self.module(*args, **kwargs)

    def run(
        self,
        x: Any,
        lengths: Any = None,
        knockout: Any = None,
        *,
        start: int = 0,
        initial: Any = None,
        keep_states: bool = True,
    ) -> RecurrentStates:
        """Run the model's forward over ``x`` with ``knockout`` applied; return every recurrent layer's states.

        Parameters
        ----------
        x : array-like or Tensor, samples on axis 0 and time on axis 1
            What the model's forward takes (through ``call``): ``(batch, time, feature)`` floats or
            ``(batch, time)`` token ids.
        lengths : array-like of int, shape (batch,), optional
            Valid steps per sequence, passed to the model's forward (see ``call`` in :func:`stepwise`).
        knockout : Knockout, list of Knockout or KnockoutPlan, optional
            Units to clamp; plan layers count the recurrent layers of all submodules in node-label order.
        start : int, default 0
            First step whose states are returned. The layers after a recurrent one may depend on the whole
            sequence, so a wrapped model cannot resume from cached states: it recomputes from step 0 and
            returns the states from ``start`` on (with the knockout plan applied where it says, which is what
            callers resuming at a plan's first clamped step expect).
        initial : ignored
            Accepted for the protocol (:meth:`RecurrentClassifier.run` resumes from it); see ``start``.
        keep_states : bool, default True
            Return the whole state sequences; when False only the last step of each.

        Returns
        -------
        RecurrentStates
            ``hidden[g]`` (and ``cell[g]`` for LSTM layers; NaN for other layers of a mixed model) of shape
            ``(batch, time - start, hidden)`` per recurrent layer ``g`` in :attr:`layout` order, and the logits
            ``(batch, class)`` read by ``decision``.

        Raises
        ------
        InputError
            When the forward pass fails on ``x`` (the message keeps torch's), a recurrent submodule does not
            run once over the input's time axis, or the decision is not ``(batch, num_classes)`` logits.
        """
        xt = self._as_tensor(x)
        batch, seq_len = int(xt.shape[0]), int(xt.shape[1])
        len_t = None
        if lengths is not None:
            len_np = check_lengths(as_numpy(lengths), batch, seq_len)
            len_t = torch.as_tensor(len_np, dtype=torch.long)  # on the CPU, as pack_padded_sequence wants it
        if not isinstance(start, (int, np.integer)) or not 0 <= start < seq_len:
            raise InputError(f"start must lie in 0 .. {seq_len - 1}; got {start!r}.")
        plan = compile_knockouts(knockout, seq_len=seq_len, device=self.device, **knockout_shape(self))
        ctx = RunContext(plan, seq_len, self._offsets)
        for sub in self._stepped:
            sub._relay_context = ctx
        call = self.call or _default_call
        try:
            output = call(self.module, xt, len_t)
        except RelaywidgetsError:
            raise
        except (RuntimeError, TypeError, ValueError, IndexError) as exc:
            raise InputError(
                f"The model's forward failed on x of shape {tuple(xt.shape)} ({xt.dtype}): {type(exc).__name__}: "
                f"{exc}. Check that X has the shape and type the model's forward takes (samples first, time second)."
            ) from exc
        finally:
            for sub in self._stepped:
                sub._relay_context = None
        logits = (self.decision or _default_decision)(output)
        if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (batch, self.num_classes):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise InputError(
                f"The decision read from the model's output is {shape}; it must be logits of shape (batch, class) = "
                f"({batch}, {self.num_classes}). Pass decision= (a callable picking the logits from the output) or "
                "num_classes= to stepwise."
            )
        missing = [p or type(self.module).__name__ for p, g in self._offsets.items() if g not in ctx.hidden]
        if missing:
            raise InputError(
                f"The recurrent submodule(s) {missing} did not run in the model's forward pass; relaywidgets needs "
                "every recurrent submodule to run once over the input."
            )
        hidden = [ctx.hidden[g].transpose(0, 1) for g in range(self.num_layers)]
        cell = None
        if ctx.cell:
            cell = [
                ctx.cell[g].transpose(0, 1) if g in ctx.cell else torch.full_like(hidden[g], float("nan"))
                for g in range(self.num_layers)
            ]
        cut = slice(start, None) if keep_states else slice(seq_len - 1, None)
        hidden = [h[:, cut] for h in hidden]
        cell = [c[:, cut] for c in cell] if cell is not None else None
        return RecurrentStates(hidden, cell, logits, start)

    @torch.no_grad()
    def predict(self, x: Any, lengths: Any = None, knockout: Any = None) -> np.ndarray:
        """Predicted class of each sequence (argmax of the decision logits) as an int64 numpy array."""
        was_training = self.training
        self.eval()
        try:
            return self.run(x, lengths, knockout, keep_states=False).logits.argmax(dim=1).cpu().numpy().astype(np.int64)
        finally:
            self.train(was_training)


def stepwise(
    model: nn.Module,
    *,
    decision: Callable[[Any], torch.Tensor] | None = None,
    call: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], Any] | None = None,
    num_classes: int | None = None,
    input_size: int | None = None,
) -> StepwiseModel:
    """A copy of ``model`` whose recurrent layers step cell by cell, so relaywidgets can record and knock out their units.

    Every ``torch.nn.RNN`` (tanh or relu), ``nn.LSTM`` and ``nn.GRU`` inside a deep copy of ``model`` (at any
    depth, any number of layers, ``batch_first`` either way) is made to compute its cells one step at a time
    from its own parameters. It takes the same inputs (a tensor or a ``PackedSequence``, optional ``hx``) and
    returns the same outputs, equal to torch's within float rounding, so the model's own ``forward`` runs
    unchanged. ``model`` itself is not touched.

    The hidden units are named by submodule path, layer and unit: ``"encoder.lstm:l0.h5"``. Knockouts name
    them that way (``Knockout(["encoder.lstm:l0.h5"])``), and :func:`relaywidgets.record`, ``find_relays``,
    ``evaluate``, ``KnockoutSession``, the effect maps and the explorer take the wrapped model.

    Parameters
    ----------
    model : torch.nn.Module
        Your model, containing at least one torch recurrent module; its forward must run every recurrent
        submodule once, along the time axis of its input (axis 1, with samples on axis 0).
    decision : callable, optional
        ``decision(output) -> logits (batch, class)``: where the decision is in the model's output. Default:
        the output itself, which must then be a ``(batch, class)`` tensor.
    call : callable, optional
        ``call(module, x, lengths) -> output``: how to call the model on a batch. Default: ``module(x)``, or
        ``module(x, lengths)`` when lengths are given (``lengths`` is a CPU int64 tensor).
    num_classes : int, optional
        Number of classes; default the ``out_features`` of the model's last registered ``nn.Linear`` (every
        run checks that the decision has this many logits).
    input_size : int, optional
        Features per step of float inputs, checked against X before running (default: not checked here; the
        recurrent layers still check their own inputs).

    Returns
    -------
    StepwiseModel
        An ``nn.Module`` on the device of ``model``: call it as you call ``model``; :meth:`StepwiseModel.run`
        and :meth:`StepwiseModel.predict` serve the analyses.

    Raises
    ------
    InputError
        When ``model`` holds no torch recurrent module, or one that cannot be stepped (bidirectional, an LSTM
        with ``proj_size``, a subclass that overrides ``forward``); the message says what is supported.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import relaywidgets as rw
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.embed, self.lstm, self.head = nn.Embedding(10, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, 3)
    ...     def forward(self, tokens):
    ...         out, _ = self.lstm(self.embed(tokens))
    ...         return self.head(out[:, -1])
    >>> net = Net()
    >>> model = rw.stepwise(net)
    >>> tokens = torch.randint(0, 10, (5, 7))
    >>> bool(torch.allclose(model(tokens), net(tokens), atol=1e-6))
    True
    >>> model.node_labels[:2]
    ['lstm:l0.h0', 'lstm:l0.h1']
    >>> model.predict(tokens, knockout=rw.Knockout(["lstm:l0.h1", "lstm:l0.h4"])).shape
    (5,)
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"stepwise needs a torch.nn.Module; got {type(model).__name__}.")
    if isinstance(model, StepwiseModel):
        raise InputError("This model is already wrapped by stepwise; use it as it is.")
    if not find_recurrent(model):
        StepwiseModel(model)  # raises the error that says what is supported, without copying the model first
    return StepwiseModel(
        copy.deepcopy(model), decision=decision, call=call, num_classes=num_classes, input_size=input_size
    )
