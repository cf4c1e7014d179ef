"""Public test helpers: contract-conforming recordings built from arrays, and planted-relay data sets.

Everything here is numpy/xarray only (no torch), so the numerical core can be tested without a model.
The planted data sets have a known relay set, which is what the relay tests assert against.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .contract import RECORDING_FORMAT
from .errors import InputError

__all__ = [
    "make_recording",
    "planted_relay",
    "latched_cue",
    "PLANTED_KINDS",
]

PLANTED_KINDS = ("single", "and", "copies", "xor", "independent")


def make_recording(
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
    """Build a recording (docs/recording.md) from plain arrays.

    Parameters
    ----------
    hidden : array-like, shape (node, time, sample) or (node, sample)
        Hidden activations; a 2-D array is one time step. Steps at or after a sample's length are
        set to NaN.
    prediction : array-like of int, shape (sample,)
        The network's decision (argmax of the logits).
    label : array-like of int, shape (sample,), optional
        True classes; defaults to ``prediction``.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sample (default: all steps).
    cell : array-like, shape like ``hidden``, optional
        LSTM cell states (required when ``arch="lstm"``; zeros are used when omitted).
    inputs : array-like, shape (feature, time, sample), optional
        Network inputs (default: one feature of zeros).
    logits : array-like, shape (class, sample), optional
        Final logits (default: one-hot of ``prediction``).
    num_classes : int, optional
        Number of classes (default: ``max(prediction, label) + 1``, at least 2).
    class_names : sequence of str, optional
        Class names (default ``"0"``, ``"1"``, …).
    node_labels : sequence of str, optional
        Node labels (default ``"l{layer}.h{unit}"``).
    num_layers : int, default 1
        Layers the nodes are split into (equal sizes).
    arch : {"rnn", "lstm", "gru"}, default "rnn"
    task : str, default ""
    seed : int, default -1

    Returns
    -------
    xarray.Dataset
        A Dataset that passes :func:`relaywidgets.check_recording`.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.testing import make_recording
    >>> rec = make_recording(np.zeros((3, 4, 10)), np.arange(10) % 2)
    >>> dict(rec.hidden.sizes)
    {'node': 3, 'time': 4, 'sample': 10}
    """
    h = np.asarray(hidden, dtype=np.float32)
    if h.ndim == 2:
        h = h[:, None, :]
    if h.ndim != 3:
        raise InputError(f"hidden must have shape (node, time, sample); got shape {h.shape}.")
    n_node, n_time, n_sample = h.shape
    pred = np.asarray(prediction).astype(np.int64).reshape(-1)
    if pred.shape[0] != n_sample:
        raise InputError(f"prediction has {pred.shape[0]} entries but hidden has {n_sample} samples.")
    lab = pred.copy() if label is None else np.asarray(label).astype(np.int64).reshape(-1)
    if lab.shape[0] != n_sample:
        raise InputError(f"label has {lab.shape[0]} entries but hidden has {n_sample} samples.")
    if num_classes is None:
        num_classes = max(2, int(max(pred.max(initial=0), lab.max(initial=0))) + 1)
    length = (
        np.full(n_sample, n_time, dtype=np.int64)
        if lengths is None
        else np.asarray(lengths).astype(np.int64).reshape(-1)
    )
    if length.shape[0] != n_sample:
        raise InputError(f"lengths has {length.shape[0]} entries but hidden has {n_sample} samples.")
    h = h.copy()
    past = np.arange(n_time)[:, None] >= length[None, :]
    h[:, past] = np.nan
    if inputs is None:
        x = np.zeros((1, n_time, n_sample), dtype=np.float32)
    else:
        x = np.asarray(inputs, dtype=np.float32).copy()
    x[:, past] = np.nan
    if logits is None:
        lg = np.zeros((num_classes, n_sample), dtype=np.float32)
        lg[pred, np.arange(n_sample)] = 1.0
    else:
        lg = np.asarray(logits, dtype=np.float32)
    if n_node % num_layers:
        raise InputError(f"{n_node} nodes cannot be split into {num_layers} equal layers.")
    per_layer = n_node // num_layers
    layer = np.repeat(np.arange(num_layers, dtype=np.int64), per_layer)
    unit = np.tile(np.arange(per_layer, dtype=np.int64), num_layers)
    labels = (
        [f"l{layer_}.h{unit_}" for layer_, unit_ in zip(layer, unit)] if node_labels is None else list(node_labels)
    )
    names = [str(c) for c in range(num_classes)] if class_names is None else [str(c) for c in class_names]
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
    if arch == "lstm":
        c = np.zeros_like(h) if cell is None else np.asarray(cell, dtype=np.float32).copy()
        if c.ndim == 2:
            c = c[:, None, :]
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
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _saturated(bits: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Map 0/1 bits to tanh-like levels -0.9/+0.9 with a little Gaussian jitter."""
    return (0.9 * (2.0 * bits - 1.0) + rng.normal(0.0, noise, size=bits.shape)).astype(np.float32)


def planted_relay(
    kind: str,
    *,
    n_nodes: int = 6,
    n_samples: int = 2000,
    n_steps: int = 1,
    seed: int = 0,
    noise: float = 0.05,
) -> tuple[xr.Dataset, set[int]]:
    """A recording whose output is a known function of planted nodes; every other node is noise.

    Every node is a saturated binary unit (levels near ±0.9 with jitter ``noise``); the two-means
    split recovers its bit exactly. The planted nodes are 0 and 1 (and 1 is a copy of 0 for
    ``"copies"``); the output ``prediction`` is

    - ``"single"``: bit 0;
    - ``"and"``: bit 0 AND bit 1;
    - ``"copies"``: bit 0, with node 1 an exact copy of node 0;
    - ``"xor"``: bit 0 XOR bit 1;
    - ``"independent"``: an independent fair coin.

    Parameters
    ----------
    kind : {"single", "and", "copies", "xor", "independent"}
    n_nodes : int, default 6
        Total number of nodes (at least 2).
    n_samples : int, default 2000
    n_steps : int, default 1
        Time steps; the same bits are held at every step.
    seed : int, default 0
    noise : float, default 0.05
        Jitter around the two activation levels.

    Returns
    -------
    recording : xarray.Dataset
    relays : set of int
        The planted nodes (for ``"xor"`` both, of which the search keeps one; empty for
        ``"independent"``).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> rec, truth = planted_relay("and", n_nodes=4, n_samples=200)
    >>> sorted(truth)
    [0, 1]
    """
    if kind not in PLANTED_KINDS:
        listed = ", ".join(repr(k) for k in PLANTED_KINDS)
        raise InputError(f"The 'kind' parameter of planted_relay must be one of {listed}. Got {kind!r} instead.")
    if n_nodes < 2:
        raise InputError(
            f"The 'n_nodes' parameter of planted_relay must be an int in [2, inf). Got {n_nodes!r} instead."
        )
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n_nodes, n_samples))
    if kind == "copies":
        bits[1] = bits[0]
    out = {
        "single": lambda: bits[0],
        "and": lambda: bits[0] & bits[1],
        "copies": lambda: bits[0],
        "xor": lambda: bits[0] ^ bits[1],
        "independent": lambda: rng.integers(0, 2, size=n_samples),
    }[kind]()
    truth = {"single": {0}, "and": {0, 1}, "copies": {0, 1}, "xor": {0, 1}, "independent": set()}[kind]
    hidden = np.stack([_saturated(bits, rng, noise) for _ in range(n_steps)], axis=1)
    rec = make_recording(hidden, out, out, num_classes=2, task=f"planted-{kind}", seed=seed)
    return rec, truth


def latched_cue(
    *,
    n_nodes: int = 6,
    n_steps: int = 8,
    n_samples: int = 2000,
    latch: int = 2,
    seed: int = 0,
    lengths: Any | None = None,
) -> xr.Dataset:
    """Record a hand-written numpy recurrence in which one unit latches a binary cue through time.

    The input is a cue ``x_0 = ±1`` at step 0 and Gaussian noise afterwards. Unit ``latch`` follows
    ``h_t = tanh(3 h_{t-1} + 2 x_t)`` at step 0 and ``h_t = tanh(3 h_{t-1} + 0.3 x_t)`` later, so it
    keeps the sign of the cue; every other unit is ``h_t = tanh(0.5 h_{t-1} + x'_t)`` driven by its
    own noise input ``x'_t``. The readout is the sign of the latch unit at the last valid step,
    so the decision is the cue, and the latch unit is the only relay at every step.

    Parameters
    ----------
    n_nodes : int, default 6
    n_steps : int, default 8
    n_samples : int, default 2000
    latch : int, default 2
        Index of the latching unit.
    seed : int, default 0
    lengths : array-like of int, optional
        Valid steps per sample; later steps are NaN and the readout uses the last valid step.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> rec = latched_cue(n_nodes=3, n_steps=4, n_samples=50)
    >>> bool((rec.prediction == rec.label).all())
    True
    """
    rng = np.random.default_rng(seed)
    cue = rng.integers(0, 2, size=n_samples)
    x = rng.normal(0.0, 1.0, size=(n_nodes, n_steps, n_samples))
    x[latch, 0] = 2.0 * cue - 1.0
    h = np.zeros((n_nodes, n_steps, n_samples))
    prev = np.zeros((n_nodes, n_samples))
    for t in range(n_steps):
        gain = np.full((n_nodes, 1), 1.0)
        recur = np.full((n_nodes, 1), 0.5)
        gain[latch] = 2.0 if t == 0 else 0.3
        recur[latch] = 3.0
        prev = np.tanh(recur * prev + gain * x[:, t])
        h[:, t] = prev
    length = np.full(n_samples, n_steps, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
    final = h[latch, length - 1, np.arange(n_samples)]
    prediction = (final > 0).astype(np.int64)
    inputs = x[latch][None].astype(np.float32)
    return make_recording(
        h, prediction, cue, lengths=length, inputs=inputs, num_classes=2, task="latched-cue", seed=seed
    )
