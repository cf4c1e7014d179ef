"""Interactive knockouts: a session that keeps the evaluation data on the device and answers toggles fast.

:class:`KnockoutSession` is the engine behind the knockout widget; it has no widget code of its own.
"""

from __future__ import annotations

import threading
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch

from .._validation import is_int
from ..errors import InputError, KnockoutError
from ..metrics import class_accuracy
from ..models.plan import compile_knockouts
from ..models.protocol import RecurrentModel, check_model_inputs, knockout_shape, layout_of, node_positions
from .evaluate import check_model, class_names, model_on
from .spec import Knockout, parse_node_label

__all__ = ["KnockoutSession", "KnockoutResult"]

_UNSET: Any = object()


@dataclass(frozen=True)
class KnockoutResult:
    """Accuracy of the network with one set of nodes knocked out (what :class:`KnockoutSession` publishes).

    Attributes
    ----------
    nodes : tuple of str
        Labels of the knocked-out nodes (empty: the intact network).
    accuracy : float
        Fraction of correct decisions over all samples.
    per_class : ndarray of float64, shape (class,)
        Accuracy (recall) per true class; NaN for a class without samples.
    baseline_accuracy, baseline_per_class
        The same for the intact network.
    generation : int
        The session's change counter when this state was requested.
    seconds : float
        Wall-clock time the computation took (0 for cached results).
    """

    nodes: tuple[str, ...]
    accuracy: float
    per_class: np.ndarray = field(repr=False)
    baseline_accuracy: float
    baseline_per_class: np.ndarray = field(repr=False)
    generation: int
    seconds: float = 0.0

    @property
    def drop(self) -> np.ndarray:
        """Per-class accuracy drop against the intact network (positive: the knockout hurts)."""
        return self.baseline_per_class - self.per_class

    @property
    def accuracy_drop(self) -> float:
        """Overall accuracy drop against the intact network."""
        return self.baseline_accuracy - self.accuracy


class KnockoutSession:
    """Toggle hidden nodes on and off and read the network's accuracy, fast enough for a widget.

    The evaluation data stay on the device; the intact network's states are computed once and cached.
    A knockout whose window starts at step ``t0 > 0`` resumes from the cached states at ``t0 - 1``
    instead of recomputing the steps before it (a model wrapped with :func:`relaywidgets.stepwise`
    recomputes from step 0: same results, slower).

    Changes (:meth:`toggle`, :meth:`set`, :meth:`reset`, :meth:`configure`) bump a generation counter
    under a lock. Computations run one at a time; one whose state has been superseded by a later
    change is skipped or, when it finishes late, never published. A burst of toggles from several
    threads therefore ends in the state of the last one.

    Parameters
    ----------
    model : RecurrentClassifier or StepwiseModel
        The trained network (or your own model wrapped with :func:`relaywidgets.stepwise`).
    X : array-like, shape (sample, time, feature)
        Evaluation sequences (for a wrapped model: what its forward takes, samples first, time second).
    y : array-like of int, shape (sample,)
        Their true classes.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence.
    device : {"auto", "cpu", "cuda"} or torch.device, default "auto"
        Where to keep the data and compute ("auto": where the model is; another device uses a copy of
        the model).
    times : None, int, slice or sequence of int, optional
        Window of steps at which the nodes are clamped (default every step).
    value : {"zero", "mean", "median"} or float, default "zero"
        Value the nodes are clamped to ("mean"/"median" need ``reference``).
    clamp_cell : bool, default False
        For an LSTM, clamp the cell state as well.
    reference : xarray.Dataset, optional
        Recording to take means or medians from.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import KnockoutSession
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=6, seed=0)
    >>> session = KnockoutSession(RecurrentClassifier("lstm", 4, 8, 4, device="cpu"), X, y)
    >>> _ = session.on_change(lambda result: print(result.nodes))
    >>> _ = session.toggle("l0.h3")
    ('l0.h3',)
    >>> session.per_class.shape
    (4,)
    """

    def __init__(
        self,
        model: RecurrentModel,
        X: Any,
        y: Any,
        *,
        lengths: Any = None,
        device: Any = "auto",
        times: Any = None,
        value: str | float = "zero",
        clamp_cell: bool = False,
        reference: Any = None,
    ) -> None:
        model = check_model(model, "KnockoutSession")
        Xn, yn, ln = check_model_inputs(model, X, y, lengths)
        if yn is None:
            raise InputError("KnockoutSession needs the true classes y (one per sample).")
        self.model = model
        self._net = model_on(model, device)
        dev = self._net.device
        self.device = dev
        self.n_samples, self.seq_len = int(Xn.shape[0]), int(Xn.shape[1])
        self.num_classes = model.num_classes
        self.class_names = class_names(model)
        self.node_labels = tuple(model.node_labels)
        self._label_index = {lab: i for i, lab in enumerate(self.node_labels)}
        self._positions = node_positions(self._net)  # (layer, unit) of each node index
        self._x = torch.from_numpy(Xn).to(dev)
        self._y = yn  # scored on the host: only the decisions cross over, once per evaluation
        self._len = torch.from_numpy(ln).to(dev) if ln is not None else None
        self._config = {"times": None, "value": "zero", "clamp_cell": False, "reference": None}
        self._check_config(times=times, value=value, clamp_cell=clamp_cell, reference=reference)
        self._config = {"times": times, "value": value, "clamp_cell": bool(clamp_cell), "reference": reference}

        self._state_lock = threading.Lock()  # guards nodes, generation, result, callbacks
        self._compute_lock = threading.RLock()  # one network pass at a time; callbacks may toggle again
        self._callbacks: list[Callable[[KnockoutResult], Any]] = []
        self._nodes: tuple[int, ...] = ()
        self._generation = 0

        with torch.no_grad():
            states = self._net.run(self._x, self._len)
        # Cached per layer as (batch, time, unit) views; resuming at t0 reads column t0 - 1.
        self._hidden = states.hidden
        self._cell = states.cell
        self._base_logits = states.logits
        acc, per_class = self._score(states.logits)
        self._baseline = (acc, per_class)
        self._result = KnockoutResult((), acc, per_class, acc, per_class.copy(), 0, 0.0)

    # ------------------------------------------------------------------ reading
    @property
    def result(self) -> KnockoutResult:
        """The latest published result."""
        return self._result

    @property
    def accuracy(self) -> float:
        """Overall accuracy with the current knockout."""
        return self._result.accuracy

    @property
    def per_class(self) -> np.ndarray:
        """Per-class accuracy with the current knockout, shape (class,)."""
        return self._result.per_class.copy()

    @property
    def baseline_accuracy(self) -> float:
        """Overall accuracy of the intact network."""
        return self._baseline[0]

    @property
    def baseline_per_class(self) -> np.ndarray:
        """Per-class accuracy of the intact network."""
        return self._baseline[1].copy()

    @property
    def nodes(self) -> tuple[str, ...]:
        """Labels of the nodes currently knocked out (the requested state, maybe not computed yet)."""
        return tuple(self.node_labels[i] for i in self._nodes)

    @property
    def generation(self) -> int:
        """Number of changes requested so far."""
        return self._generation

    @property
    def times(self) -> Any:
        """Window of clamped steps (None: every step)."""
        return self._config["times"]

    @property
    def value(self) -> str | float:
        """Value the knocked-out nodes are set to."""
        return self._config["value"]

    def knockouts(self) -> list[Knockout]:
        """The current state as Knockout specs (one per layer), e.g. to pass to :func:`evaluate`."""
        return self._specs(self._nodes, self._config)

    # ------------------------------------------------------------------ changing
    def toggle(self, node: int | str) -> KnockoutResult:
        """Knock ``node`` out, or restore it when it is already out.

        Parameters
        ----------
        node : int or str
            Index into :attr:`node_labels` (layer-major, as in a recording) or a label like ``"l0.h3"``.

        Returns
        -------
        KnockoutResult
            The session's result after this change (a later concurrent change may already have
            replaced it).
        """
        index = self._index(node)
        with self._state_lock:
            current = set(self._nodes)
            current.symmetric_difference_update({index})
            request = self._request(sorted(current))
        return self._compute(*request)

    def set(self, nodes: Iterable[int | str]) -> KnockoutResult:
        """Knock out exactly ``nodes`` (indices or labels); an empty list restores the intact network."""
        if isinstance(nodes, (str, int, np.integer)):
            nodes = [nodes]
        try:
            items = list(nodes)
        except TypeError:
            raise KnockoutError(
                f"KnockoutSession.set needs a list of node indices or labels; got {type(nodes).__name__}."
            ) from None
        indices = sorted({self._index(n) for n in items})
        with self._state_lock:
            request = self._request(indices)
        return self._compute(*request)

    def reset(self) -> KnockoutResult:
        """Restore every node (the intact network's cached result is published at once)."""
        with self._state_lock:
            request = self._request([])
        return self._compute(*request)

    def configure(
        self,
        *,
        times: Any = _UNSET,
        value: Any = _UNSET,
        clamp_cell: Any = _UNSET,
        reference: Any = _UNSET,
    ) -> KnockoutResult:
        """Change the knockout window or value (see :class:`KnockoutSession`) and recompute."""
        new = dict(self._config)
        for key, val in (("times", times), ("value", value), ("clamp_cell", clamp_cell), ("reference", reference)):
            if val is not _UNSET:
                new[key] = val
        new["clamp_cell"] = bool(new["clamp_cell"])
        self._check_config(**new)
        with self._state_lock:
            self._config = new
            request = self._request(list(self._nodes))
        return self._compute(*request)

    def on_change(self, callback: Callable[[KnockoutResult], Any], remove: bool = False) -> Callable:
        """Call ``callback(result)`` whenever a new result is published (``remove=True`` unregisters it).

        Callbacks run in the thread that computed the result, after the session's state is updated.
        Returns the callback, so this works as a decorator.
        """
        if not callable(callback):
            raise InputError(f"on_change needs a callable; got {type(callback).__name__}.")
        with self._state_lock:
            if remove:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)
            elif callback not in self._callbacks:
                self._callbacks.append(callback)
        return callback

    # ------------------------------------------------------------------ internals
    def _index(self, node: Any) -> int:
        n_nodes = len(self.node_labels)
        if is_int(node):
            if not 0 <= int(node) < n_nodes:
                raise KnockoutError(
                    f"Node index {int(node)} is out of range; the model has {n_nodes} nodes (0 .. {n_nodes - 1}, "
                    "layer-major as in a recording)."
                )
            return int(node)
        if isinstance(node, (str, np.str_)):
            label = str(node)
            if label in self._label_index:
                return self._label_index[label]
            module, layer, unit = parse_node_label(label, with_module=True)  # raises on a malformed label
            layout = layout_of(self._net)
            modules = list(dict.fromkeys(spec.module for spec in layout))
            if (module or "") not in modules:
                named = [m for m in modules if m]
                raise KnockoutError(
                    f"Node {label!r} names submodule {module!r}, which this model does not have"
                    + (f"; its recurrent submodules are {named}." if named else " (its labels carry no submodule).")
                )
            in_module = [spec for spec in layout if spec.module == (module or "")]
            if layer >= len(in_module):
                raise KnockoutError(
                    f"Node {label!r} names layer {layer} but the model has {len(in_module)} layer(s) "
                    f"(0 .. {len(in_module) - 1})" + (f" in {module!r}." if module else ".")
                )
            size = in_module[layer].hidden_size
            raise KnockoutError(f"Node {label!r} does not exist: layer {layer} has {size} units (0 .. {size - 1}).")
        raise KnockoutError(f"A node is an int index or a label like 'l0.h3'; got {node!r}.")

    def _request(self, indices: list[int]) -> tuple[int, tuple[int, ...], dict]:
        """Record a new requested state (caller holds the state lock)."""
        self._nodes = tuple(indices)
        self._generation += 1
        return self._generation, self._nodes, dict(self._config)

    def _specs(self, nodes: tuple[int, ...], config: dict) -> list[Knockout]:
        by_layer: dict[int, list[int]] = {}
        for i in nodes:
            layer, unit = self._positions[i]
            by_layer.setdefault(layer, []).append(unit)
        return [Knockout(units, layer=layer, **config) for layer, units in sorted(by_layer.items())]

    def _check_config(self, *, times: Any, value: Any, clamp_cell: Any, reference: Any) -> None:
        # A throw-away spec runs Knockout's own checks (value, window, reference) and compiles once.
        probe = Knockout([0], layer=0, times=times, value=value, clamp_cell=bool(clamp_cell), reference=reference)
        shape = knockout_shape(self._net)
        if clamp_cell and "lstm" in {spec.arch for spec in layout_of(self._net)}:
            # probe an LSTM layer: in a mixed model, layer 0 may be another cell
            probe = Knockout([0], layer=next(g for g, s in enumerate(layout_of(self._net)) if s.arch == "lstm"),
                             times=times, value=value, clamp_cell=True, reference=reference)
        compile_knockouts(probe, seq_len=self.seq_len, **shape)

    def _score(self, logits: torch.Tensor) -> tuple[float, np.ndarray]:
        pred = logits.argmax(dim=1).cpu().numpy()
        return float(np.mean(pred == self._y)), class_accuracy(self._y, pred, self.num_classes)

    @torch.no_grad()
    def _logits(self, nodes: tuple[int, ...], config: dict) -> torch.Tensor:
        net = self._net
        plan = compile_knockouts(
            self._specs(nodes, config), seq_len=self.seq_len, device=net.device, **knockout_shape(net)
        )
        if plan is None:
            return self._base_logits
        t0 = plan.first_step
        if t0 >= self.seq_len:
            return self._base_logits
        if t0 == 0:
            return net.run(self._x, self._len, plan, keep_states=False).logits
        # Nothing is clamped before t0: resume from the intact states at t0 - 1.
        if self._len is None:
            rows = None
        else:
            live = self._len > t0  # sequences that end before t0 are unaffected
            if not bool(live.any()):
                return self._base_logits
            rows = None if bool(live.all()) else live.nonzero().flatten()

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t if rows is None else t[rows]

        initial = (
            [pick(h[:, t0 - 1]) for h in self._hidden],
            [pick(c[:, t0 - 1]) for c in self._cell] if self._cell is not None else None,
        )
        out = net.run(
            pick(self._x), pick(self._len) if self._len is not None else None, plan,
            start=t0, initial=initial, keep_states=False,
        ).logits
        if rows is None:
            return out
        logits = self._base_logits.clone()
        logits[rows] = out
        return logits

    def _compute(self, generation: int, nodes: tuple[int, ...], config: dict) -> KnockoutResult:
        with self._compute_lock:
            if generation != self._generation:
                return self._result  # superseded before it started: the later request computes
            started = _time.perf_counter()
            if not nodes:
                acc, per_class = self._baseline
                per_class = per_class.copy()
            else:
                acc, per_class = self._score(self._logits(nodes, config))
            result = KnockoutResult(
                tuple(self.node_labels[i] for i in nodes),
                acc,
                per_class,
                self._baseline[0],
                self._baseline[1].copy(),
                generation,
                _time.perf_counter() - started,
            )
            with self._state_lock:
                if generation != self._generation:
                    return self._result  # superseded while computing: never published
                self._result = result
                callbacks = list(self._callbacks)
            # Still under the compute lock, so callbacks see results in publication order.
            for callback in callbacks:
                callback(result)
        return result

    def __repr__(self) -> str:
        return (
            f"KnockoutSession({str(self._net.arch).upper()}, {self.n_samples} samples x {self.seq_len} steps, "
            f"knocked out: {list(self.nodes) or 'none'}, accuracy {self.accuracy:.3f} "
            f"(intact {self.baseline_accuracy:.3f}))"
        )
