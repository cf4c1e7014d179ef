"""Recordings from plain arrays: activations from another framework, a simulation or a cluster run.

:func:`recording_from_arrays` wraps arrays in the recording contract (docs/recording.md), so that every
analysis of the package (relays, information, the explorer's relay views) runs on them. numpy/xarray only.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ._validation import as_numpy, check_choice, check_int, describe_positions
from ._version import __version__
from .contract import RECORDING_FORMAT, check_recording, node_label
from .errors import InputError

__all__ = ["recording_from_arrays"]

_OWNER = "recording_from_arrays"


def _real_array(value: Any, name: str) -> np.ndarray:
    arr = as_numpy(value)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InputError(
            f"The {name!r} argument of {_OWNER} must hold real numbers; got dtype {arr.dtype}. "
            "Convert it with numpy.asarray(..., dtype='float32')."
        )
    return arr


def _int_vector(value: Any, name: str, n_sample: int) -> np.ndarray:
    arr = as_numpy(value)
    if arr.ndim > 1 and arr.size == n_sample:  # a column or row vector
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] != n_sample:
        raise InputError(
            f"The {name!r} argument of {_OWNER} needs one entry per sample ({n_sample}); got shape {arr.shape}."
        )
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise InputError(
            f"The {name!r} argument of {_OWNER} must hold integers; got dtype {arr.dtype}. Map class "
            "labels to 0 .. n_classes-1 first (e.g. numpy.unique(labels, return_inverse=True))."
        )
    return arr.astype(np.int64)


def _node_time_sample(value: Any, name: str) -> np.ndarray:
    arr = _real_array(value, name)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3:
        raise InputError(
            f"The {name!r} argument of {_OWNER} must have shape (node, time, sample), or (node, sample) for "
            f"one step; got shape {arr.shape}. Arrays stored as (sample, time, node) need "
            "numpy.transpose(a, (2, 1, 0))."
        )
    return np.array(arr, dtype=np.float32)  # a copy: padding is written into it


def recording_from_arrays(
    hidden: Any,
    prediction: Any,
    label: Any | None = None,
    *,
    lengths: Any | None = None,
    cell: Any | None = None,
    inputs: Any | None = None,
    logits: Any | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    node_labels: Sequence[str] | None = None,
    num_layers: int = 1,
    arch: str = "rnn",
    task: str = "",
    seed: int = -1,
) -> xr.Dataset:
    """Build a recording (docs/recording.md) from plain arrays of activations and decisions.

    Parameters
    ----------
    hidden : array-like, shape (node, time, sample) or (node, sample)
        Hidden activations; a 2-D array is one time step. Steps at or after a sample's length are set to
        NaN (the contract's padding).
    prediction : array-like of int, shape (sample,)
        The network's decision (the argmax of its output) for every sample.
    label : array-like of int, shape (sample,), optional
        True classes; defaults to ``prediction`` (only ``source="label"`` analyses need true labels).
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sample, in ``1 .. time`` (default: every step is valid).
    cell : array-like, shape like ``hidden``, optional
        LSTM cell states (with ``arch="lstm"``; zeros when omitted).
    inputs : array-like, shape (feature, time, sample), optional
        Network inputs (default: one feature of zeros; only knockouts re-run inputs).
    logits : array-like, shape (class, sample), optional
        Final outputs (default: one-hot of ``prediction``).
    num_classes : int, optional
        Number of classes (default: ``max(prediction, label) + 1``, at least 2).
    class_names : sequence of str, optional
        Class names (default ``"0"``, ``"1"``, …).
    node_labels : sequence of str, optional
        Unique node labels (default ``"l{layer}.h{unit}"``).
    num_layers : int, default 1
        Layers the nodes are split into, in order and of equal size.
    arch : {"rnn", "lstm", "gru", "other"}, default "rnn"
        Architecture the activations came from (``"other"`` for anything else).
    task : str, default ""
        Name of the task or data set (provenance only).
    seed : int, default -1
        Seed of the run (provenance only; -1 when unknown).

    Returns
    -------
    xarray.Dataset
        A recording that passes :func:`relaywidgets.check_recording`.

    Raises
    ------
    InputError
        When an array has the wrong shape, type or values; the message says which and how to fix it.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets import recording_from_arrays
    >>> rng = np.random.default_rng(0)
    >>> hidden = rng.normal(size=(4, 5, 1000))          # 4 units, 5 steps, 1000 sequences
    >>> decision = (hidden[3, -1] > 0).astype(int)      # unit 3 decides
    >>> rec = recording_from_arrays(hidden, decision)
    >>> dict(rec.hidden.sizes)
    {'node': 4, 'time': 5, 'sample': 1000}
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(rec, concepts=[1], times=[4], n_perm=0, progress=False)
    >>> [str(n) for n in res.node.values[res.is_relay.values[0, 0]]]
    ['l0.h3']
    """
    h = _node_time_sample(hidden, "hidden")
    n_node, n_time, n_sample = h.shape
    if 0 in h.shape:
        raise InputError(f"The 'hidden' argument of {_OWNER} is empty (shape {h.shape}).")
    arch = check_choice(arch, "arch", _OWNER, ("rnn", "lstm", "gru", "other"))
    num_layers = check_int(num_layers, "num_layers", _OWNER, 1, n_node)
    seed = check_int(seed, "seed", _OWNER, -1)
    if not isinstance(task, str):
        raise InputError(f"The 'task' parameter of {_OWNER} must be a str. Got {task!r} instead.")
    pred = _int_vector(prediction, "prediction", n_sample)
    lab = pred.copy() if label is None else _int_vector(label, "label", n_sample)
    if num_classes is None:
        num_classes = max(2, int(max(pred.max(), lab.max())) + 1)
    num_classes = check_int(num_classes, "num_classes", _OWNER, 2)
    for name, vals in (("prediction", pred), ("label", lab)):
        bad = (vals < 0) | (vals >= num_classes)
        if bad.any():
            raise InputError(
                f"The {name!r} argument of {_OWNER} holds class(es) {sorted(set(vals[bad].tolist()))[:5]} "
                f"outside 0 .. {num_classes - 1}; pass num_classes= or map the classes to 0 .. n_classes-1."
            )
    if lengths is None:
        length = np.full(n_sample, n_time, dtype=np.int64)
    else:
        length = _int_vector(lengths, "lengths", n_sample)
        if length.min() < 1 or length.max() > n_time:
            raise InputError(f"The 'lengths' of {_OWNER} must lie in 1 .. {n_time} (the time steps of hidden).")
    past = np.arange(n_time)[:, None] >= length[None, :]
    valid_nan = np.isnan(h) & ~past[None]
    if np.isinf(h).any():
        raise InputError(
            f"'hidden' holds infinite values, at (node, time, sample) {describe_positions(np.isinf(h), 3)}; "
            "clip or drop them first."
        )
    if valid_nan.any():
        raise InputError(
            f"'hidden' holds NaN within the valid steps, at (node, time, sample) "
            f"{describe_positions(valid_nan, 3)}. Pass lengths= for sequences that end early (NaN marks "
            "steps after a sequence's end), or drop those samples."
        )
    h[:, past] = np.nan

    x = np.zeros((1, n_time, n_sample), dtype=np.float32) if inputs is None else _node_time_sample(inputs, "inputs")
    if x.shape[1:] != (n_time, n_sample):
        raise InputError(
            f"'inputs' must have shape (feature, {n_time}, {n_sample}) to match hidden; got {x.shape}."
        )
    x[:, past] = np.nan
    if logits is None:
        lg = np.zeros((num_classes, n_sample), dtype=np.float32)
        lg[pred, np.arange(n_sample)] = 1.0
    else:
        lg = np.asarray(_real_array(logits, "logits"), dtype=np.float32)
        if lg.shape != (num_classes, n_sample):
            raise InputError(
                f"'logits' must have shape (class, sample) = ({num_classes}, {n_sample}); got {lg.shape}."
            )
    if n_node % num_layers:
        raise InputError(f"{n_node} nodes cannot be split into {num_layers} equal layers; pass num_layers= "
                         "that divides the node count.")
    per_layer = n_node // num_layers
    layer = np.repeat(np.arange(num_layers, dtype=np.int64), per_layer)
    unit = np.tile(np.arange(per_layer, dtype=np.int64), num_layers)
    if node_labels is None:
        labels = [node_label(int(a), int(b)) for a, b in zip(layer, unit)]
    else:
        labels = [str(v) for v in node_labels]
        if len(labels) != n_node or len(set(labels)) != n_node:
            raise InputError(
                f"node_labels must hold {n_node} unique labels, one per node; got {len(labels)} label(s), "
                f"{len(labels) - len(set(labels))} of them repeated."
            )
    names = [str(c) for c in range(num_classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != num_classes:
        raise InputError(f"class_names must hold {num_classes} names, one per class; got {len(names)}.")
    coords = {
        "node": ("node", np.array(labels)),
        "layer": ("node", layer),
        "unit": ("node", unit),
        "time": ("time", np.arange(n_time, dtype=np.int64)),
        "sample": ("sample", np.arange(n_sample, dtype=np.int64)),
        "class": ("class", np.arange(num_classes, dtype=np.int64)),
        "class_name": ("class", np.array(names)),
        "feature": ("feature", np.arange(x.shape[0], dtype=np.int64)),
    }
    data_vars: dict[str, Any] = {
        "hidden": (("node", "time", "sample"), h),
        "input": (("feature", "time", "sample"), x),
        "label": (("sample",), lab),
        "prediction": (("sample",), pred),
        "logits": (("class", "sample"), lg),
        "length": (("sample",), length),
    }
    if arch == "lstm" or cell is not None:
        c = np.zeros_like(h) if cell is None else _node_time_sample(cell, "cell")
        if c.shape != h.shape:
            raise InputError(f"'cell' must have the shape of hidden {h.shape}; got {c.shape}.")
        c[:, past] = np.nan
        data_vars["cell"] = (("node", "time", "sample"), c)
    attrs = {
        "arch": arch,
        "input_size": int(x.shape[0]),
        "hidden_size": int(per_layer),
        "num_layers": int(num_layers),
        "num_classes": int(num_classes),
        "task": task,
        "seed": int(seed),
        "relaywidgets_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "relaywidgets_format": RECORDING_FORMAT,
    }
    return check_recording(xr.Dataset(data_vars, coords=coords, attrs=attrs))
