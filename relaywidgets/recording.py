"""Recording a network's activations into the labelled xarray Dataset every analysis reads.

The contract (dims, variables, attributes) is documented in ``docs/recording.md`` and enforced by
:func:`check_recording`.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import xarray as xr

from ._validation import check_inputs
from ._version import __version__
from .contract import RECORDING_FORMAT, check_recording
from .errors import InputError, RecordingError
from .models import RecurrentClassifier

__all__ = ["record", "check_recording", "save_recording", "load_recording", "RECORDING_FORMAT"]

@torch.no_grad()
def record(
    model: RecurrentClassifier,
    X: Any,
    y: Any,
    lengths: Any = None,
    *,
    knockout: Any = None,
    batch_size: int = 1024,
    class_names: Sequence[str] | None = None,
    task: str | None = None,
    seed: int | None = None,
) -> xr.Dataset:
    """Run ``model`` over ``X`` and return its activations as a labelled Dataset.

    Parameters
    ----------
    model : RecurrentClassifier
        A (trained) network.
    X : array-like, shape (sample, time, feature)
        Input sequences (pad variable-length ones with 0 and pass ``lengths``).
    y : array-like of int, shape (sample,)
        True labels.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence; later steps are NaN in the recording.
    knockout : Knockout or list of Knockout, optional
        Record the network with these units clamped.
    batch_size : int
        Sequences per forward pass.
    class_names : sequence of str, optional
        Names of the classes (default: model metadata, else "0", "1", …).
    task, seed : optional
        Provenance stored in the attrs (default: the model's metadata).

    Returns
    -------
    xarray.Dataset
        See ``docs/recording.md``: ``hidden (node, time, sample)`` float32 and, for an LSTM,
        ``cell``; ``input``, ``label``, ``prediction``, ``logits``, ``length``.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task, record
    >>> X, y = make_task("delayed-cue", n_samples=16, seq_len=6, seed=0)
    >>> rec = record(RecurrentClassifier("lstm", 4, 5, 4, device="cpu"), X, y)
    >>> dict(rec.hidden.sizes)
    {'node': 5, 'time': 6, 'sample': 16}
    """
    if not isinstance(model, RecurrentClassifier):
        raise InputError(f"record() needs a RecurrentClassifier; got {type(model).__name__}.")
    Xn, yn, ln = check_inputs(X, y, lengths, num_features=model.input_size, num_classes=model.num_classes)
    if yn is None:
        raise InputError("record() needs the true labels y (one per sample).")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"The 'batch_size' parameter of record must be an int in [1, inf). Got {batch_size!r} instead.")
    n, T, F = Xn.shape
    H, L = model.hidden_size, model.num_layers
    is_lstm = model.arch == "lstm"
    # Preallocated once in the model's own time-major (time, sample, unit) order, so each batch is one
    # block copy; the Dataset exposes the (node, time, sample) transpose as a view: no second copy.
    hidden_buf = np.empty((T, n, L * H), dtype=np.float32)
    cell_buf = np.empty((T, n, L * H), dtype=np.float32) if is_lstm else None
    logits = np.empty((model.num_classes, n), dtype=np.float32)
    on_cpu = model.device.type == "cpu"
    views = [slice(layer * H, (layer + 1) * H) for layer in range(L)]
    was_training = model.training
    model.eval()
    try:
        for s0 in range(0, n, batch_size):
            s1 = min(n, s0 + batch_size)
            xb = torch.from_numpy(Xn[s0:s1]).to(model.device)
            lb = None if ln is None else torch.from_numpy(ln[s0:s1]).to(model.device)
            out = None
            if on_cpu:  # the model writes its states straight into the recording's arrays
                out = ([torch.from_numpy(hidden_buf)[:, s0:s1, u] for u in views],
                       [torch.from_numpy(cell_buf)[:, s0:s1, u] for u in views] if is_lstm else None)
            states = model.run(xb, lb, knockout, out=out)
            if not on_cpu:
                for layer, units in enumerate(views):
                    hidden_buf[:, s0:s1, units] = states.hidden[layer].transpose(0, 1).cpu().numpy()
                    if is_lstm:
                        cell_buf[:, s0:s1, units] = states.cell[layer].transpose(0, 1).cpu().numpy()
            logits[:, s0:s1] = states.logits.cpu().numpy().T
    finally:
        model.train(was_training)
    hidden = hidden_buf.transpose(2, 0, 1)
    cell = cell_buf.transpose(2, 0, 1) if is_lstm else None
    length = ln if ln is not None else np.full(n, T, dtype=np.int64)
    inputs = Xn.copy().transpose(2, 1, 0)  # our own copy: NaN padding must never touch the caller's X
    if ln is not None:
        past = np.arange(T)[:, None] >= length[None, :]  # (time, sample)
        if past.any():
            hidden[:, past] = np.nan
            inputs[:, past] = np.nan
            if is_lstm:
                cell[:, past] = np.nan
    names = _class_names(class_names, model)
    layer_of = np.repeat(np.arange(L, dtype=np.int64), H)
    unit_of = np.tile(np.arange(H, dtype=np.int64), L)
    coords = {
        "node": ("node", np.array(model.node_labels)),
        "layer": ("node", layer_of),
        "unit": ("node", unit_of),
        "time": ("time", np.arange(T, dtype=np.int64)),
        "sample": ("sample", np.arange(n, dtype=np.int64)),
        "class": ("class", np.arange(model.num_classes, dtype=np.int64)),
        "class_name": ("class", np.array(names)),
        "feature": ("feature", np.arange(F, dtype=np.int64)),
    }
    data_vars = {
        "hidden": (("node", "time", "sample"), hidden, {"long_name": "hidden state h_t", "units": "activation"}),
        "input": (("feature", "time", "sample"), inputs, {"long_name": "network input x_t"}),
        "label": (("sample",), yn, {"long_name": "true class"}),
        "prediction": (("sample",), logits.argmax(axis=0).astype(np.int64), {"long_name": "argmax of final logits"}),
        "logits": (("class", "sample"), logits, {"long_name": "final logits"}),
        "length": (("sample",), length.astype(np.int64), {"long_name": "valid steps"}),
    }
    if is_lstm:
        data_vars["cell"] = (("node", "time", "sample"), cell, {"long_name": "LSTM cell state c_t"})
    attrs = {
        "arch": model.arch,
        "input_size": model.input_size,
        "hidden_size": H,
        "num_layers": L,
        "num_classes": model.num_classes,
        "task": str(task if task is not None else model.metadata.get("task", "") or ""),
        "seed": int(seed if seed is not None else model.metadata.get("seed", -1)),
        "relaywidgets_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "relaywidgets_format": RECORDING_FORMAT,
        "knockout": "" if knockout is None else repr(knockout),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _class_names(class_names: Sequence[str] | None, model: RecurrentClassifier) -> list[str]:
    names = class_names if class_names is not None else model.metadata.get("class_names")
    if names is None:
        return [str(c) for c in range(model.num_classes)]
    names = [str(c) for c in names]
    if len(names) != model.num_classes:
        raise InputError(f"class_names has {len(names)} entries but the model has {model.num_classes} classes.")
    return names


def save_recording(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a recording to a netCDF-4 file (h5netcdf); the round trip is exact.

    The file is written next to ``path`` first and moved into place, so an existing file is never
    left half-overwritten.
    """
    check_recording(ds)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return path


def load_recording(path: str | os.PathLike) -> xr.Dataset:
    """Read a recording written by :func:`save_recording` (fully into memory) and check it.

    Raises
    ------
    RecordingError
        When the file is missing, unreadable as netCDF, or not a relaywidgets recording.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"No recording file at {str(path)!r}.")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as handle:
            ds = handle.load()
    except Exception as exc:  # h5py/xarray raise many types for foreign files
        raise RecordingError(
            f"{str(path)!r} is not a netCDF recording ({type(exc).__name__}: {exc}). "
            "Write recordings with relaywidgets.save_recording(ds, path)."
        ) from None
    for name in ("node", "class_name"):
        if name in ds.coords and ds[name].dtype == object:
            ds = ds.assign_coords({name: (ds[name].dims, ds[name].values.astype(str))})
    return check_recording(ds)
