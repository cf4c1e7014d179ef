"""Accuracy of a network, intact or with units knocked out, as a labelled Dataset."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import xarray as xr

from .._validation import is_int
from ..errors import InputError, KnockoutError
from ..metrics import class_accuracy, confusion_matrix
from ..models import resolve_device
from ..models.plan import KnockoutPlan, compile_knockouts
from ..models.protocol import check_model as _check_model
from ..models.protocol import RecurrentModel, check_model_inputs, knockout_shape

__all__ = ["evaluate"]


def evaluate(
    model: RecurrentModel,
    X: Any,
    y: Any,
    *,
    knockout: Any = None,
    lengths: Any = None,
    batch_size: int | None = None,
    device: str | torch.device = "auto",
) -> xr.Dataset:
    """Run ``model`` over ``X`` (optionally with units knocked out) and score its decisions.

    Parameters
    ----------
    model : RecurrentClassifier or StepwiseModel
        A trained network (your own PyTorch model wrapped with :func:`relaywidgets.stepwise` works too).
    X : array-like, shape (sample, time, feature)
        Input sequences (pad variable-length ones with 0 and pass ``lengths``); for a wrapped model,
        whatever its forward takes with samples first and time second, e.g. ``(sample, time)`` token ids.
    y : array-like of int, shape (sample,)
        True classes.
    knockout : Knockout, list of Knockout or KnockoutPlan, optional
        Units to clamp (see :class:`relaywidgets.Knockout`); ``None`` scores the intact network.
        A plan with batch-shaped masks must have one row per sample.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence.
    batch_size : int, optional
        Sequences per pass; default all of them at once.
    device : {"auto", "cpu", "cuda"} or torch.device, default "auto"
        Where to compute; "auto" uses the device the model is on. Another device runs a copy of the
        model there (the model itself is not moved).

    Returns
    -------
    xarray.Dataset
        ``accuracy`` (scalar, fraction of correct decisions), ``class_accuracy (class)`` (recall per
        class, NaN for a class without samples), ``support (class)``, ``confusion (class, predicted)``
        (counts, true class by decision), ``logits (class, sample)``, ``prediction (sample)`` and
        ``label (sample)``; coordinates ``class``, ``class_name (class)``, ``predicted``, ``sample``.
        The ``knockout`` attribute holds the spec's repr ("" when intact).

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, Knockout, make_task
    >>> from relaywidgets.knockout import evaluate
    >>> X, y = make_task("delayed-cue", n_samples=32, seq_len=6, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 8, 4, device="cpu")
    >>> intact = evaluate(model, X, y)
    >>> knocked = evaluate(model, X, y, knockout=Knockout([0, 1, 2]))
    >>> drop = intact.class_accuracy - knocked.class_accuracy  # per-class functional loss
    >>> dict(drop.sizes)
    {'class': 4}
    """
    model = check_model(model, "evaluate")
    Xn, yn, ln = check_model_inputs(model, X, y, lengths)
    if yn is None:
        raise InputError("evaluate() needs the true classes y (one per sample) to score the decisions.")
    batch_size = check_batch_size(batch_size, "evaluate")
    net = model_on(model, device)
    x_t = torch.from_numpy(Xn).to(net.device)
    len_t = torch.from_numpy(ln).to(net.device) if ln is not None else None
    plan = compile_knockouts(knockout, seq_len=Xn.shape[1], device=net.device, **knockout_shape(net))
    if plan is not None and plan.batch_size not in (1, Xn.shape[0]):
        raise KnockoutError(
            f"The knockout plan's masks are shaped for a batch of {plan.batch_size} sequences but X holds "
            f"{Xn.shape[0]}; build the plan for these samples (or use one mask for all of them)."
        )
    logits = batched_logits(net, x_t, len_t, plan, batch_size).cpu().numpy()
    return scores_dataset(logits, yn, class_names(model), knockout_repr=repr_knockout(knockout))


# ---------------------------------------------------------------------- shared helpers (package-private)
def check_model(model: Any, owner: str) -> RecurrentModel:
    """``model`` when it is a RecurrentClassifier or a model wrapped with :func:`relaywidgets.stepwise`.

    Raises
    ------
    InputError
        Otherwise, saying how to make one (:func:`relaywidgets.models.protocol.check_model`).
    """
    return _check_model(model, owner)


def check_batch_size(batch_size: Any, owner: str) -> int | None:
    """Validate an optional positive batch size."""
    if batch_size is None:
        return None
    if not is_int(batch_size) or batch_size < 1:
        raise InputError(
            f"The 'batch_size' parameter of {owner} must be None or an int in [1, inf). Got {batch_size!r} instead."
        )
    return int(batch_size)


def model_on(model: RecurrentModel, device: Any) -> RecurrentModel:
    """``model`` itself when it already lives on ``device`` ("auto": wherever it is), else a copy there."""
    if isinstance(device, str) and device == "auto":
        return model
    target = resolve_device(device)
    current = model.device
    if target.type == current.type and (target.index is None or target.index == current.index):
        return model
    return copy.deepcopy(model).to(target)


def class_names(model: RecurrentModel) -> list[str]:
    """The model's class names (metadata), else "0", "1", …."""
    names = model.metadata.get("class_names") if hasattr(model, "metadata") else None
    if names is None or len(names) != model.num_classes:
        return [str(c) for c in range(model.num_classes)]
    return [str(c) for c in names]


def repr_knockout(knockout: Any) -> str:
    """A short text for the ``knockout`` attribute ("" when intact)."""
    if knockout is None:
        return ""
    if isinstance(knockout, KnockoutPlan):
        return f"KnockoutPlan(layers={sorted(set(knockout.masks) | set(knockout.cell_masks))})"
    return repr(knockout)


def slice_plan(plan: KnockoutPlan | None, rows: slice) -> KnockoutPlan | None:
    """The part of a batch-shaped plan that applies to ``rows`` of the batch."""
    return None if plan is None else plan.batch_rows(rows)


@torch.no_grad()
def batched_logits(
    net: RecurrentModel,
    x: torch.Tensor,
    lengths: torch.Tensor | None,
    plan: KnockoutPlan | None,
    batch_size: int | None,
) -> torch.Tensor:
    """Logits ``(sample, class)`` of ``x`` under ``plan``, ``batch_size`` sequences per pass."""
    n = x.shape[0]
    step = n if batch_size is None else batch_size
    chunks = []
    for s0 in range(0, n, step):
        rows = slice(s0, min(n, s0 + step))
        sub_len = lengths[rows] if lengths is not None else None
        chunks.append(net.run(x[rows], sub_len, slice_plan(plan, rows), keep_states=False).logits)
    return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


def scores_dataset(
    logits: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    knockout_repr: str = "",
) -> xr.Dataset:
    """The Dataset :func:`evaluate` returns, from logits ``(sample, class)`` and labels."""
    n_classes = logits.shape[1]
    pred = logits.argmax(axis=1).astype(np.int64)
    conf = confusion_matrix(y, pred, n_classes)
    per_class = class_accuracy(y, pred, n_classes)
    classes = np.arange(n_classes, dtype=np.int64)
    return xr.Dataset(
        {
            "accuracy": ((), float(np.mean(pred == y)), {"long_name": "fraction of correct decisions"}),
            "class_accuracy": (("class",), per_class, {"long_name": "accuracy (recall) per true class"}),
            "support": (("class",), conf.sum(axis=1).astype(np.int64), {"long_name": "samples per class"}),
            "confusion": (("class", "predicted"), conf, {"long_name": "counts of true class by decision"}),
            "logits": (("class", "sample"), np.ascontiguousarray(logits.T, dtype=np.float32), {"long_name": "logits"}),
            "prediction": (("sample",), pred, {"long_name": "argmax of final logits"}),
            "label": (("sample",), np.asarray(y, dtype=np.int64), {"long_name": "true class"}),
        },
        coords={
            "class": ("class", classes),
            "class_name": ("class", np.array(names)),
            "predicted": ("predicted", classes.copy()),
            "sample": ("sample", np.arange(len(y), dtype=np.int64)),
        },
        attrs={"knockout": knockout_repr, "n_samples": int(len(y))},
    )
