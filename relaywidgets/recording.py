"""Recording a network's activations into the labelled xarray Dataset every analysis reads.

The contract (dims, variables, attributes) is documented in ``docs/recording.md`` and enforced by
:func:`check_recording`.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import xarray as xr

from ._files import atomic_write, content_digest
from ._version import __version__
from .contract import RECORDING_FORMAT, check_recording
from .errors import InputError, RecordingError
from .models import RecurrentClassifier, stepwise
from .models.protocol import check_model, check_model_inputs, is_recurrent_model, layout_of

__all__ = ["record", "check_recording", "save_recording", "load_recording", "recording_digest", "RECORDING_FORMAT"]

#: Attribute of a saved recording holding the SHA-256 of its variables and coordinates (see recording_digest).
CHECKSUM_ATTR = "relaywidgets_sha256"

@torch.no_grad()
def record(
    model: Any,
    X: Any,
    y: Any,
    lengths: Any = None,
    *,
    knockout: Any = None,
    batch_size: int = 1024,
    class_names: Sequence[str] | None = None,
    task: str | None = None,
    seed: int | None = None,
    decision: Callable[[Any], torch.Tensor] | None = None,
    store: str | os.PathLike | None = None,
) -> xr.Dataset:
    """Run ``model`` over ``X`` and return its activations as a labelled Dataset.

    Parameters
    ----------
    model : RecurrentClassifier, StepwiseModel or torch.nn.Module
        A (trained) network: a RecurrentClassifier, your own model wrapped with :func:`relaywidgets.stepwise`,
        or your own ``nn.Module`` holding ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layers (wrapped here, on a copy;
        wrap it yourself to reuse the wrapped model for knockouts).
    X : array-like, shape (sample, time, feature)
        Input sequences (pad variable-length ones with 0 and pass ``lengths``). For your own model: what
        its forward takes, samples first and time second, e.g. ``(sample, time)`` token ids.
    y : array-like of int, shape (sample,)
        True labels.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence; later steps are NaN in the recording. Your own model receives them as
        its forward's second argument (see ``call`` in :func:`relaywidgets.stepwise`).
    knockout : Knockout or list of Knockout, optional
        Record the network with these units clamped.
    batch_size : int
        Sequences per forward pass.
    class_names : sequence of str, optional
        Names of the classes (default: model metadata, else "0", "1", …).
    task, seed : optional
        Provenance stored in the attrs (default: the model's metadata).
    decision : callable, optional
        For an unwrapped ``nn.Module`` only: ``decision(output) -> logits (batch, class)``, where the
        decision is in the model's output (default: the output itself). See :func:`relaywidgets.stepwise`.
    store : path, optional
        Write the recording batch by batch to this new Zarr store (a ``.zarr`` directory; chunks of
        ``batch_size`` samples) instead of building it in memory, and return it opened lazily (Dask-backed):
        for recordings larger than memory (docs/scaling.md). The store appears under its name only when
        complete.

    Returns
    -------
    xarray.Dataset
        See ``docs/recording.md``: ``hidden (node, time, sample)`` float32 and, for an LSTM,
        ``cell``; ``input``, ``label``, ``prediction``, ``logits``, ``length``. The nodes of a wrapped
        model are named ``"<submodule>:l<layer>.h<unit>"`` and carry the coordinates ``module`` and
        ``module_layer`` besides ``layer`` (counted across submodules) and ``unit``.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task, record
    >>> X, y = make_task("delayed-cue", n_samples=16, seq_len=6, seed=0)
    >>> rec = record(RecurrentClassifier("lstm", 4, 5, 4, device="cpu"), X, y)
    >>> dict(rec.hidden.sizes)
    {'node': 5, 'time': 6, 'sample': 16}

    Your own model (an ``nn.GRU`` feeding a linear head):

    >>> import torch
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.gru, self.head = torch.nn.GRU(4, 3, batch_first=True), torch.nn.Linear(3, 4)
    ...     def forward(self, x):
    ...         return self.head(self.gru(x)[0][:, -1])
    >>> rec = record(Net(), X, y)
    >>> rec.node.values[:2].tolist(), str(rec.module.values[0])
    (['gru:l0.h0', 'gru:l0.h1'], 'gru')
    """
    if store is not None:
        from .recording_store import record_to_store

        return record_to_store(record, model, X, y, lengths, store=store, batch_size=batch_size, decision=decision,
                               knockout=knockout, class_names=class_names, task=task, seed=seed)
    if isinstance(model, torch.nn.Module) and not is_recurrent_model(model):
        model = stepwise(model, decision=decision)  # raises, saying what is supported, without recurrent layers
    elif decision is not None:
        raise InputError(
            "record(decision=...) applies to an unwrapped torch model; a wrapped model reads its decision as "
            "stepwise(model, decision=...) was told."
        )
    model = check_model(model, "record")
    Xn, yn, ln = check_model_inputs(model, X, y, lengths)
    if yn is None:
        raise InputError("record() needs the true labels y (one per sample).")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"The 'batch_size' parameter of record must be an int in [1, inf). Got {batch_size!r} instead.")
    n, T = Xn.shape[0], Xn.shape[1]
    layout = layout_of(model)
    sizes = [spec.hidden_size for spec in layout]
    n_nodes = sum(sizes)
    bounds = np.cumsum([0, *sizes])
    views = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    lstm_layers = [g for g, spec in enumerate(layout) if spec.arch == "lstm"]
    # Preallocated once in the model's own time-major (time, sample, unit) order, so each batch is one
    # block copy; the Dataset exposes the (node, time, sample) transpose as a view: no second copy.
    hidden_buf = np.empty((T, n, n_nodes), dtype=np.float32)
    cell_buf = None
    if lstm_layers:
        cell_buf = np.empty((T, n, n_nodes), dtype=np.float32)
        for g, spec in enumerate(layout):
            if spec.arch != "lstm":  # the other cells of a mixed model have no cell state
                cell_buf[:, :, views[g]] = np.nan
    logits = np.empty((model.num_classes, n), dtype=np.float32)
    # A RecurrentClassifier on the CPU writes its states straight into the recording's arrays.
    direct = isinstance(model, RecurrentClassifier) and model.device.type == "cpu"
    was_training = model.training
    model.eval()
    try:
        for s0 in range(0, n, batch_size):
            s1 = min(n, s0 + batch_size)
            xb = torch.from_numpy(Xn[s0:s1]).to(model.device)
            lb = None if ln is None else torch.from_numpy(ln[s0:s1]).to(model.device)
            if direct:
                out = ([torch.from_numpy(hidden_buf)[:, s0:s1, u] for u in views],
                       [torch.from_numpy(cell_buf)[:, s0:s1, u] for u in views] if cell_buf is not None else None)
                states = model.run(xb, lb, knockout, out=out)
            else:
                states = model.run(xb, lb, knockout)
                for g, units in enumerate(views):
                    hidden_buf[:, s0:s1, units] = states.hidden[g].transpose(0, 1).float().cpu().numpy()
                    if g in lstm_layers:
                        cell_buf[:, s0:s1, units] = states.cell[g].transpose(0, 1).float().cpu().numpy()
            logits[:, s0:s1] = states.logits.float().cpu().numpy().T
    finally:
        model.train(was_training)
    hidden = hidden_buf.transpose(2, 0, 1)
    cell = cell_buf.transpose(2, 0, 1) if cell_buf is not None else None
    length = ln if ln is not None else np.full(n, T, dtype=np.int64)
    tokens = Xn.ndim == 2
    # our own float copy as (feature, time, sample): NaN padding must never touch the caller's X
    inputs = Xn.reshape(n, T, -1).astype(np.float32).transpose(2, 1, 0)
    if ln is not None:
        past = np.arange(T)[:, None] >= length[None, :]  # (time, sample)
        if past.any():
            hidden[:, past] = np.nan
            inputs[:, past] = np.nan
            if cell is not None:
                cell[:, past] = np.nan
    names = _class_names(class_names, model)
    wrapped = not isinstance(model, RecurrentClassifier)
    coords = {
        "node": ("node", np.array(model.node_labels)),
        "layer": ("node", np.repeat(np.arange(len(layout), dtype=np.int64), sizes)),
        "unit": ("node", np.concatenate([np.arange(size, dtype=np.int64) for size in sizes])),
        "time": ("time", np.arange(T, dtype=np.int64)),
        "sample": ("sample", np.arange(n, dtype=np.int64)),
        "class": ("class", np.arange(model.num_classes, dtype=np.int64)),
        "class_name": ("class", np.array(names)),
        "feature": ("feature", np.arange(inputs.shape[0], dtype=np.int64)),
    }
    if wrapped:
        coords["module"] = ("node", np.array([spec.module for spec in layout for _ in range(spec.hidden_size)]))
        coords["module_layer"] = ("node", np.repeat(np.array([spec.layer for spec in layout], dtype=np.int64), sizes))
    data_vars = {
        "hidden": (("node", "time", "sample"), hidden, {"long_name": "hidden state h_t", "units": "activation"}),
        "input": (("feature", "time", "sample"), inputs,
                  {"long_name": "network input x_t (token ids for a token model)" if tokens else "network input x_t"}),
        "label": (("sample",), yn, {"long_name": "true class"}),
        "prediction": (("sample",), logits.argmax(axis=0).astype(np.int64), {"long_name": "argmax of final logits"}),
        "logits": (("class", "sample"), logits, {"long_name": "final logits"}),
        "length": (("sample",), length.astype(np.int64), {"long_name": "valid steps"}),
    }
    if cell is not None:
        data_vars["cell"] = (("node", "time", "sample"), cell, {"long_name": "LSTM cell state c_t"})
    attrs = {
        "arch": model.arch,
        "input_size": int(inputs.shape[0]),
        "hidden_size": sizes[0] if len(set(sizes)) == 1 else np.array(sizes, dtype=np.int64),
        "num_layers": len(layout),
        "num_classes": model.num_classes,
        "task": str(task if task is not None else model.metadata.get("task", "") or ""),
        "seed": int(seed if seed is not None else model.metadata.get("seed", -1)),
        "relaywidgets_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "relaywidgets_format": RECORDING_FORMAT,
        "knockout": "" if knockout is None else repr(knockout),
    }
    if wrapped:
        attrs["model"] = f"stepwise({type(model.module).__name__})"
        attrs["input_kind"] = "tokens" if tokens else "features"
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _class_names(class_names: Sequence[str] | None, model: Any) -> list[str]:
    names = class_names if class_names is not None else model.metadata.get("class_names")
    if names is None:
        return [str(c) for c in range(model.num_classes)]
    names = [str(c) for c in names]
    if len(names) != model.num_classes:
        raise InputError(f"class_names has {len(names)} entries but the model has {model.num_classes} classes.")
    return names


def save_recording(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a recording to a netCDF-4 file (h5netcdf); the round trip is exact.

    The file is encoded in memory, written under a unique temporary name beside ``path`` and moved into
    place when complete: an existing file is never left half-overwritten, concurrent saves to one path never
    mix, and a failed save leaves no temporary file. The file stores a SHA-256 of the recording's variables
    and coordinates (attribute ``relaywidgets_sha256``), which :func:`load_recording` checks. Missing parent
    directories are created. Encoding in memory needs about the recording's size again in memory; it keeps a
    full disk an ordinary, reported error (HDF5 writing straight to a failing file can crash the process).

    Raises
    ------
    RecordingError
        When ``ds`` breaks the recording contract, or the file cannot be written; the message names the
        cause (disk full, permission denied, a directory at ``path``, ...) and what to do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from relaywidgets import RecurrentClassifier, make_task, record
    >>> X, y = make_task("delayed-cue", n_samples=8, seq_len=5, seed=0)
    >>> rec = record(RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0), X, y)
    >>> path = save_recording(rec, pathlib.Path(tempfile.mkdtemp()) / "rec.nc")
    >>> load_recording(path).identical(rec)
    True
    """
    check_recording(ds)
    # A copy with the checksum in its attributes: the caller's Dataset is left as it was.
    stamped = ds.assign_attrs({CHECKSUM_ATTR: recording_digest(ds)})
    try:
        encoded = stamped.to_netcdf(engine="h5netcdf")
    except MemoryError:
        raise RecordingError(
            f"Not enough memory to encode the recording ({ds.nbytes / 2**20:,.0f} MiB) before writing it. "
            "Free memory, or save a subset (e.g. rec.isel(sample=slice(0, n)))."
        ) from None
    except (TypeError, ValueError) as exc:  # e.g. attributes netCDF cannot hold
        raise RecordingError(
            f"The recording cannot be encoded as netCDF ({type(exc).__name__}: {exc}). Keep its attributes to "
            "strings, numbers and arrays of them."
        ) from None
    return atomic_write(path, lambda fh: fh.write(encoded), error=RecordingError, what="recording")


def recording_digest(ds: xr.Dataset) -> str:
    """SHA-256 (hex) of a recording's data variables and coordinates (names, dtypes, shapes, values).

    Stored by :func:`save_recording` in the attribute ``relaywidgets_sha256`` and checked on load. Attributes
    are not covered (they describe; the checks of :func:`check_recording` cover the structural ones).

    Examples
    --------
    >>> import numpy as np
    >>> a = xr.Dataset({"v": ("x", np.arange(3.0))})
    >>> recording_digest(a) == recording_digest(a.copy(deep=True)), recording_digest(a) == recording_digest(a + 1)
    (True, False)
    """
    names = sorted(ds.data_vars) + sorted(ds.coords)
    return content_digest((f"{name}:{'/'.join(ds[name].dims)}", ds[name].values) for name in names)


def _verify_digest(ds: xr.Dataset, where: str) -> xr.Dataset:
    """Check a loaded recording against its stored checksum (if any) and drop the checksum attribute."""
    expected = ds.attrs.get(CHECKSUM_ATTR)
    if expected is None:  # written before checksums existed, or by another tool: nothing to verify
        return ds
    if recording_digest(ds) != str(expected):
        raise RecordingError(
            f"{where} is corrupted: its data do not match the SHA-256 checksum stored when it was saved. "
            "Restore it from a backup or record it again."
        )
    # The checksum describes the file, not the data in memory, which the caller may change and save again.
    out = ds.copy(deep=False)
    out.attrs = {k: v for k, v in ds.attrs.items() if k != CHECKSUM_ATTR}
    return out


def _check_hdf5_header(path: Path) -> None:
    """Open ``path`` with h5py and read its root attributes, as h5netcdf does first; raise what they raise.

    A damaged file that fails there would leave h5netcdf a half-built File whose destructor raises later, at
    some garbage collection, an AttributeError printed far from the load (and, on Python 3.11, able to break an
    ``ast.parse`` running at that moment). Failing here first keeps the error where it belongs.
    """
    import h5py

    with h5py.File(path, "r") as handle:
        handle.attrs.get("_nc3_strict")


def load_recording(path: str | os.PathLike) -> xr.Dataset:
    """Read a recording written by :func:`save_recording` (fully into memory) and check it.

    A Zarr store written by ``record(..., store=path)`` (a ``.zarr`` directory) is opened lazily instead,
    as a Dask-backed Dataset (:func:`relaywidgets.recording_store.open_store`).

    Raises
    ------
    RecordingError
        When the file is missing, unreadable as netCDF, or not a relaywidgets recording; for a store, also
        when its write was interrupted.
    """
    from .recording_store import is_store, open_store

    if is_store(path):
        return open_store(path)
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"No recording file at {str(path)!r}.")
    try:
        _check_hdf5_header(path)
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
    ds = _verify_digest(ds, f"The recording file {str(path)!r}")
    return check_recording(ds)
