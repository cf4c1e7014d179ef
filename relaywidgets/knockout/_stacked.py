"""Many knockouts of one network on one data set in few passes: the engine under effect maps, causal sets and
deletion curves.

:class:`StackedRunner` is the one place where these analyses touch the model. It runs the intact network once,
keeps its states, and evaluates batches of knockout sets by replicating the samples along the batch, one block
of rows per set, each block with its own mask rows (a :class:`~relaywidgets.models.plan.KnockoutPlan`). A window
that starts at step ``t0`` resumes from the cached states at ``t0 - 1``. The model is reached only through
``run(x, lengths, plan, start=, initial=, keep_states=)`` and a handful of shape attributes, so another model
type that offers the same ``run`` plugs in here.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import xarray as xr

from .._validation import is_int, is_real
from ..errors import InputError, KnockoutError
from ..models.plan import KnockoutPlan
from ..models.protocol import check_model_inputs
from .evaluate import check_batch_size, check_model, class_names, model_on
from .spec import KNOCKOUT_VALUES, Knockout

__all__ = ["StackedRunner", "check_metric", "METRICS", "set_blocks", "drops_block", "class_correct_block"]

#: Rows (samples x knockout sets) per pass of the network unless the caller sets ``batch_size``. A step's
#: working set of 8192 rows stays in cache: the effect map of a 32-unit LSTM (1,000 x 20) took 1.9-2.3 s
#: with 8192 rows, 2.2-2.6 s with 2048-4096 and 3.0-3.2 s with 32768 (one thread, same run).
DEFAULT_ROWS = 8192
METRICS = ("accuracy", "margin")


def check_metric(metric: Any, owner: str) -> str:
    """``metric`` when it is "accuracy" or "margin", else an InputError naming both."""
    if not isinstance(metric, str) or metric not in METRICS:
        raise InputError(f"The 'metric' parameter of {owner} must be 'accuracy' or 'margin'. Got {metric!r} instead.")
    return metric


class StackedRunner:
    """The intact network's states and scores on ``X, y``, and stacked evaluation of knockout sets.

    Parameters
    ----------
    model : RecurrentClassifier
        The network (anything :func:`relaywidgets.knockout.evaluate.check_model` accepts).
    X, y, lengths
        Evaluation sequences, their true classes and optional valid lengths.
    value : {"zero", "mean", "median"} or float
        What a knocked-out unit is set to; "mean"/"median" are per node over ``reference``.
    clamp_cell : bool
        For an LSTM, also clamp the cell state.
    reference : xarray.Dataset or array-like, optional
        A recording (per-node means or medians of its ``hidden``/``cell``), or one fill value per node
        (array of shape ``(node,)`` or a DataArray over ``node``), used for the hidden and the cell state.
    batch_size : int, optional
        Rows per pass (default :data:`DEFAULT_ROWS`).
    device : {"auto", "cpu", "cuda"} or torch.device
        Where to compute.
    owner : str
        The public function, named in error messages.
    """

    def __init__(
        self,
        model: Any,
        X: Any,
        y: Any,
        *,
        lengths: Any = None,
        value: Any = "zero",
        clamp_cell: bool = False,
        reference: Any = None,
        batch_size: int | None = None,
        device: Any = "auto",
        owner: str = "StackedRunner",
    ) -> None:
        model = check_model(model, owner)
        Xn, yn, ln = check_model_inputs(model, X, y, lengths)  # token ids stay integers for wrapped models
        if yn is None:
            raise InputError(f"{owner}() needs the true classes y (one per sample) to score the decisions.")
        self.owner = owner
        self.rows_per_pass = check_batch_size(batch_size, owner) or DEFAULT_ROWS
        self.net = net = model_on(model, device)
        self.device = net.device
        self.n_samples, self.seq_len = int(Xn.shape[0]), int(Xn.shape[1])
        self.num_layers, self.hidden_size, self.num_classes = net.num_layers, net.hidden_size, net.num_classes
        self.node_labels = list(net.node_labels)
        self.class_names = class_names(model)
        self.y = yn
        self.lengths = ln if ln is not None else np.full(self.n_samples, self.seq_len, dtype=np.int64)
        self._has_lengths = ln is not None
        self.x = torch.from_numpy(Xn).to(self.device)
        self._len = torch.from_numpy(ln).to(self.device) if ln is not None else None
        self._y = torch.from_numpy(yn).to(self.device)
        if clamp_cell and net.arch != "lstm":
            raise KnockoutError(f"clamp_cell=True applies to LSTMs only; this model is a {net.arch.upper()}.")
        self.clamp_cell = bool(clamp_cell)
        self.value = value
        self.fill, self.cell_fill = self._fill_values(value, reference)
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                states = net.run(self.x, self._len, None, keep_states=True)
        finally:
            net.train(was_training)
        self.hidden = states.hidden  # per layer (sample, time, unit)
        self.cell = states.cell
        self.base_logits = states.logits
        self.base_correct, self.base_margin = self.score(states.logits.unsqueeze(0), np.arange(self.n_samples))
        self.base_correct, self.base_margin = self.base_correct[0], self.base_margin[0]

    # ------------------------------------------------------------------ settings
    def _fill_values(self, value: Any, reference: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-layer clamp values ``(layer, unit)`` for the hidden and (when clamped) the cell state."""
        L, H = self.num_layers, self.hidden_size
        if isinstance(value, str):
            if value not in KNOCKOUT_VALUES:
                raise KnockoutError(
                    f"The 'value' parameter of {self.owner} must be one of {', '.join(map(repr, KNOCKOUT_VALUES))} "
                    f"or a float. Got {value!r} instead."
                )
        elif not is_real(value) or not np.isfinite(value):
            raise KnockoutError(
                f"The 'value' parameter of {self.owner} must be 'zero', 'mean', 'median' or a finite float. "
                f"Got {value!r} instead."
            )
        if value == "zero" or not isinstance(value, str):
            fill = np.full((L, H), 0.0 if value == "zero" else float(value), dtype=np.float32)
            cell = fill
        elif reference is None:
            raise KnockoutError(
                f"{self.owner}(value={value!r}) needs reference=: a recording of the same model "
                "(relaywidgets.record(model, X, y)) or one value per node."
            )
        elif isinstance(reference, xr.Dataset):
            # Knockout resolves means and medians from a recording; one spec per layer covers every unit.
            specs = [Knockout(range(H), layer=lay, value=value, reference=reference) for lay in range(L)]
            fill = np.stack([s.resolved_values("hidden") for s in specs])
            cell = np.stack([s.resolved_values("cell") for s in specs]) if self.clamp_cell else fill
        else:
            fill = self._per_node(reference).reshape(L, H)
            cell = fill
        to = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        return to(fill), (to(cell) if self.clamp_cell else None)

    def _per_node(self, reference: Any) -> np.ndarray:
        n = len(self.node_labels)
        if isinstance(reference, xr.DataArray):
            if reference.dims != ("node",):
                raise KnockoutError(f"A reference DataArray must have the single dim 'node'; got {reference.dims}.")
            missing = sorted(set(self.node_labels) - {str(v) for v in reference["node"].values})
            if missing:
                raise KnockoutError(f"The reference has no value for node(s) {missing[:5]}; give one per model node.")
            arr = np.asarray(reference.sel(node=self.node_labels).values, dtype=np.float64)
        else:
            arr = np.asarray(reference, dtype=np.float64)
            if arr.shape != (n,):
                raise KnockoutError(
                    f"reference must be a recording or one value per node, shape ({n},); got shape {arr.shape}."
                )
        if not np.all(np.isfinite(arr)):
            raise KnockoutError("reference values must be finite.")
        return arr.astype(np.float32)

    def window(self, times: Any) -> np.ndarray:
        """Sorted steps of a window given as in :class:`~relaywidgets.Knockout` (None: every step)."""
        steps = Knockout([0], times=times).time_indices(self.seq_len)
        if steps.size == 0:
            raise KnockoutError(f"The window {times!r} holds no step of the {self.seq_len}-step sequences.")
        return steps

    def concepts(self) -> tuple[list[str], list[int]]:
        """Concept labels and class indices: one per class (named as find_relays names them), then "all"."""
        names = self.class_names
        if not (len(set(names)) == len(names) and "all" not in names and all(names)):
            names = [f"class {c}" for c in range(self.num_classes)]
        return [*names, "all"], [*range(self.num_classes), -1]

    def resolve_concept(self, concept: Any) -> tuple[str, int]:
        """``(label, class index)`` of a concept: a class index, a class name or label, or "all" (-1)."""
        labels, classes = self.concepts()
        if is_int(concept):
            if 0 <= int(concept) < self.num_classes:
                return labels[int(concept)], int(concept)
        elif isinstance(concept, (str, np.str_)):
            spellings: dict[str, int] = {}
            for c in range(self.num_classes):  # later spellings never override earlier ones
                for text in (labels[c], self.class_names[c], str(c), f"class {c}"):
                    spellings.setdefault(text, c)
            spellings["all"] = -1
            if str(concept) in spellings:
                c = spellings[str(concept)]
                return labels[c], c
        raise InputError(
            f"Concept {concept!r} is not a class of the model. The 'concept' parameter of {self.owner} must be a "
            f"class index 0 .. {self.num_classes - 1}, one of the labels {labels}, or a class name."
        )

    def concept_rows(self, class_index: int) -> np.ndarray:
        """Samples whose accuracy and margin make up a concept: those of the class, or all for "all"."""
        rows = np.arange(self.n_samples) if class_index < 0 else np.flatnonzero(self.y == class_index)
        if rows.size == 0:
            raise InputError(f"y holds no sample of class {class_index}; the analysis needs samples of that class.")
        return rows

    def layer_pool(self, layer: Any) -> np.ndarray:
        """Node positions of one layer, or of every layer when ``layer`` is None."""
        n = len(self.node_labels)
        if layer is None:
            return np.arange(n)
        if not is_int(layer) or not 0 <= layer < self.num_layers:
            raise KnockoutError(
                f"The 'layer' parameter of {self.owner} must be None or a layer index 0 .. {self.num_layers - 1}. "
                f"Got {layer!r} instead."
            )
        return np.arange(int(layer) * self.hidden_size, (int(layer) + 1) * self.hidden_size)

    # ------------------------------------------------------------------ scoring
    def score(self, logits: torch.Tensor, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct decisions and true-class margins ``(set, row)`` of logits ``(set, row, class)``.

        The margin is the true-class logit minus the largest other logit, in float64.
        """
        y = self._y[torch.as_tensor(rows, device=self.device)]
        correct = logits.argmax(dim=2) == y
        lg = logits.double()
        true = lg.gather(2, y.view(1, -1, 1).expand(lg.shape[0], -1, 1)).squeeze(2)
        other = lg.scatter(2, y.view(1, -1, 1).expand(lg.shape[0], -1, 1), float("-inf")).amax(dim=2)
        return correct.cpu().numpy(), (true - other).cpu().numpy()

    # ------------------------------------------------------------------ stacked knockouts
    def sets_per_pass(self, steps: Sequence[int], rows: np.ndarray | None = None) -> int:
        """Knockout sets :meth:`logits` evaluates per pass of the network for this window and these rows.

        Callers that cut many sets into blocks (one task each on a cluster) cut at multiples of this, so that
        a block's passes are the passes of the whole call.
        """
        rows = np.arange(self.n_samples) if rows is None else np.asarray(rows, dtype=np.int64)
        start = min((int(s) for s in steps), default=0)
        live = int(np.count_nonzero(self.lengths[rows] > start))
        return max(1, self.rows_per_pass // max(1, live))

    @torch.no_grad()
    def logits(self, masks: torch.Tensor | np.ndarray, steps: Sequence[int], rows: np.ndarray | None = None) -> torch.Tensor:
        """Logits ``(set, row, class)`` with each set's units knocked out at ``steps``.

        Parameters
        ----------
        masks : bool array, shape (set, node)
            The units each set knocks out (node positions, layer-major as in :attr:`node_labels`).
        steps : sequence of int
            The window (steps at which the units are clamped).
        rows : int array, optional
            The samples to evaluate (default all).
        """
        masks = torch.as_tensor(np.asarray(masks, dtype=bool)).to(self.device)
        n_sets = masks.shape[0]
        rows = np.arange(self.n_samples) if rows is None else np.asarray(rows, dtype=np.int64)
        out = self.base_logits[torch.as_tensor(rows, device=self.device)].unsqueeze(0).repeat(n_sets, 1, 1)
        steps = sorted({int(s) for s in steps})
        if n_sets == 0 or not steps or not bool(masks.any()):
            return out
        start = steps[0]
        # A sequence that ends at or before the window's first step never sees the knockout.
        live = np.flatnonzero(self.lengths[rows] > start)
        if live.size == 0:
            return out
        masks = masks.view(n_sets, self.num_layers, self.hidden_size)
        per_pass = max(1, self.rows_per_pass // live.size)
        for r0 in range(0, live.size, self.rows_per_pass):
            part = live[r0 : r0 + self.rows_per_pass]
            idx = torch.as_tensor(rows[part], device=self.device)
            for s0 in range(0, n_sets, per_pass):
                chunk = masks[s0 : s0 + per_pass]
                logits = self._run_stacked(chunk, steps, idx)
                out[s0 : s0 + chunk.shape[0], torch.as_tensor(part, device=self.device)] = logits
        return out

    def _run_stacked(self, masks: torch.Tensor, steps: list[int], idx: torch.Tensor) -> torch.Tensor:
        k, m = masks.shape[0], idx.shape[0]
        T, H = self.seq_len, self.hidden_size
        active = frozenset(steps)
        plan = {"masks": {}, "values": {}, "cell_masks": {}, "cell_values": {}, "steps": {}}
        for layer in range(self.num_layers):
            lm = masks[:, layer]
            if not bool(lm.any()):
                continue
            # One mask row per batch row, read only at the window's steps: a stride-0 view over time.
            rows_mask = lm.repeat_interleave(m, dim=0).unsqueeze(0).expand(T, k * m, H)
            plan["masks"][layer] = rows_mask
            plan["values"][layer] = self.fill[layer].view(1, 1, H).expand(T, k * m, H)
            if self.cell_fill is not None:
                plan["cell_masks"][layer] = rows_mask
                plan["cell_values"][layer] = self.cell_fill[layer].view(1, 1, H).expand(T, k * m, H)
            plan["steps"][layer] = active
        knockout = KnockoutPlan(
            plan["masks"], plan["values"], plan["cell_masks"], plan["cell_values"], T, steps=plan["steps"]
        )
        start = steps[0]
        x = self.x[idx].repeat(k, *[1] * (self.x.dim() - 1))
        lengths = self._len[idx].repeat(k) if self._len is not None else None
        initial = self._initial(start, idx, k)
        return self._run(x, lengths, knockout, start, initial).view(k, m, -1)

    def _initial(self, start: int, idx: torch.Tensor, k: int) -> tuple[list[torch.Tensor], list[torch.Tensor] | None] | None:
        """The intact states at ``start - 1`` of the rows ``idx``, repeated ``k`` times (None at step 0)."""
        if start == 0:
            return None
        hidden = [h[idx, start - 1].repeat(k, 1) for h in self.hidden]
        cell = [c[idx, start - 1].repeat(k, 1) for c in self.cell] if self.cell is not None else None
        return hidden, cell

    def _run(self, x: torch.Tensor, lengths: torch.Tensor | None, plan: Any, start: int, initial: Any) -> torch.Tensor:
        """The single call into the model (eval mode, states not kept)."""
        net = self.net
        was_training = net.training
        net.eval()
        try:
            return net.run(x, lengths, plan, start=start, initial=initial, keep_states=False).logits
        finally:
            net.train(was_training)

    # ------------------------------------------------------------------ gradients (attribution baselines)
    def readout_weight(self) -> np.ndarray:
        """Weights ``(class, unit)`` of the readout from the last layer's units."""
        readout = getattr(self.net, "readout", None)
        if not isinstance(getattr(readout, "weight", None), torch.Tensor):
            raise KnockoutError(
                f"{self.owner}: the 'readout' ranking needs a linear readout from the last recurrent layer "
                "(a RecurrentClassifier); this model's head is its own. Rank its units with 'grad_x_act', "
                "'integrated_gradients' or 'effect' instead."
            )
        return readout.weight.detach().cpu().numpy().astype(np.float64)

    def states_at(self, t: int, idx: torch.Tensor) -> torch.Tensor:
        """The intact hidden states of every layer at step ``t``, ``(row, node)`` layer-major."""
        return torch.cat([h[idx, t] for h in self.hidden], dim=1)

    def logits_from_states(self, states: torch.Tensor, idx: torch.Tensor, t: int) -> torch.Tensor:
        """Logits when every layer's hidden state at step ``t`` is replaced by ``states`` (differentiable).

        The replacement is a knockout of every unit at step ``t`` whose clamp values are ``states``
        (one row per sample), so the gradient of the logits with respect to ``states`` is their gradient
        with respect to the hidden units at step ``t`` (for an LSTM with the cell state held fixed).
        """
        T, H, L = self.seq_len, self.hidden_size, self.num_layers
        b = states.shape[0]
        ones = torch.ones(1, 1, H, dtype=torch.bool, device=self.device).expand(T, b, H)
        values = {lay: states[:, lay * H : (lay + 1) * H].unsqueeze(0).expand(T, b, H) for lay in range(L)}
        plan = KnockoutPlan({lay: ones for lay in range(L)}, values, {}, {}, T, steps={lay: frozenset([t]) for lay in range(L)})
        if t > 0:
            initial = self._initial(t, idx, 1)
        else:
            zeros = [torch.zeros(b, H, device=self.device) for _ in range(L)]
            initial = (zeros, [z.clone() for z in zeros] if self.cell is not None else None)
        # Leaf states that ask for gradients make the model take its autograd path even when its own
        # parameters are frozen (the in-place path cannot carry gradients to the clamp values).
        hidden = [h.detach().clone().requires_grad_(True) for h in initial[0]]
        cell = [c.detach().clone().requires_grad_(True) for c in initial[1]] if initial[1] is not None else None
        lengths = self._len[idx] if self._len is not None else None
        with torch.enable_grad():
            return self._run(self.x[idx], lengths, plan, t, (hidden, cell))


# ---------------------------------------------------------------------- blocks of knockout sets
def set_blocks(runner: StackedRunner, masks: np.ndarray, steps: Sequence[int], rows: np.ndarray | None = None) -> list[np.ndarray]:
    """``masks`` (set, node) cut into blocks of whole stacked passes, the unit of work on a cluster.

    A block's passes are exactly the passes :meth:`StackedRunner.logits` makes for all ``masks`` at once, so
    the results do not depend on whether the blocks run here or on workers.
    """
    per_pass = runner.sets_per_pass(steps, rows)
    return [masks[s0 : s0 + per_pass] for s0 in range(0, masks.shape[0], per_pass)]


def drops_block(runner: StackedRunner, masks: np.ndarray, steps: Sequence[int], rows: np.ndarray) -> np.ndarray:
    """Drops ``(2, set)`` of a concept's accuracy (row 0) and mean true-class margin (row 1), on ``rows``."""
    correct, margin = runner.score(runner.logits(masks, steps, rows), rows)
    base_acc = runner.base_correct[rows].sum() / rows.size
    base_margin = float(runner.base_margin[rows].mean())
    return np.stack([base_acc - correct.sum(axis=1) / rows.size, base_margin - margin.mean(axis=1)])


def class_correct_block(runner: StackedRunner, masks: np.ndarray, steps: Sequence[int], classes: Sequence[int]) -> np.ndarray:
    """Correct decisions ``(set, concept)`` over every sample, counted per concept (class, or -1 for all)."""
    correct, _ = runner.score(runner.logits(masks, steps), np.arange(runner.n_samples))
    out = np.zeros((masks.shape[0], len(classes)), dtype=np.int64)
    for j, c in enumerate(classes):
        sel = np.arange(runner.n_samples) if c < 0 else np.flatnonzero(runner.y == c)
        out[:, j] = correct[:, sel].sum(axis=1)
    return out
