"""Recordings larger than memory: written batch by batch to a chunked Zarr store and opened lazily with Dask.

:func:`relaywidgets.record` with ``store="run.zarr"`` calls :func:`record_to_store`; :func:`relaywidgets.load_recording`
on a ``.zarr`` directory calls :func:`open_store`. The recording contract (docs/recording.md) is the same as in
memory; only where the arrays live differs. A store is written under ``<name>.partial`` and renamed to its name
once complete, with its consolidated metadata written last, so an interrupted write never leaves a store that
looks complete (docs/scaling.md).
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import xarray as xr

from ._files import describe_os_error
from ._validation import is_int
from .contract import check_recording
from .errors import InputError, RecordingError

__all__ = ["record_to_store", "open_store", "is_store", "PARTIAL_SUFFIX", "DEFAULT_CHUNK_BYTES"]

#: Suffix of a store while it is being written (renamed away when the write completes).
PARTIAL_SUFFIX = ".partial"
#: Aim of the size of one stored chunk of ``hidden``/``cell``: big enough for fast reads, small enough that a
#: worker holds a few of them.
DEFAULT_CHUNK_BYTES = 8 * 2**20
# Zarr format 2: consolidated metadata is part of its specification (zarr-python 3 warns for format 3) and
# zarr-python 2 reads it too.
_ZARR_FORMAT = 2
_STATE_VARS = ("hidden", "cell", "input")


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Zarr store (a directory, or a name ending in ``.zarr``) rather than a file."""
    p = Path(path)
    return p.is_dir() or p.suffix == ".zarr" or p.name.endswith(".zarr" + PARTIAL_SUFFIX)


def _time_chunk(n_nodes: int, n_time: int, batch: int, chunk_bytes: int) -> int:
    """Steps per chunk so a (node, time, sample) float32 chunk is about ``chunk_bytes``.

    A relay search reads one step across all samples: small time chunks keep it from decompressing the
    neighbouring steps it does not need, while chunks much under a megabyte make the store slow to list.
    """
    per_step = max(1, n_nodes * batch * 4)
    return int(min(n_time, max(1, chunk_bytes // per_step)))


def record_to_store(
    record_batch: Callable[..., xr.Dataset],
    model: Any,
    X: Any,
    y: Any,
    lengths: Any,
    *,
    store: str | os.PathLike,
    batch_size: int,
    decision: Any = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    **kwargs: Any,
) -> xr.Dataset:
    """Record ``model`` over ``X`` into the Zarr store ``store``, one batch in memory at a time.

    Called by :func:`relaywidgets.record` when it is given ``store=``; ``record_batch`` is ``record`` itself,
    run on one batch of sequences at a time, so the stored recording is the in-memory one, batch by batch.

    Parameters
    ----------
    record_batch : callable
        ``record(model, X, y, lengths, batch_size=..., **kwargs) -> Dataset`` for one batch.
    model, X, y, lengths, decision
        As for :func:`relaywidgets.record`.
    store : path
        Directory of the new store (by convention ending in ``.zarr``); it must not exist yet.
    batch_size : int
        Sequences per forward pass, and per stored chunk along ``sample``: peak memory is about what one
        batch's recording takes (twice that while a batch is written).
    chunk_bytes : int
        Aim of the size of one chunk of ``hidden`` (and ``cell``); sets the steps per chunk along ``time``.
    **kwargs
        ``knockout``, ``class_names``, ``task``, ``seed``: passed to ``record_batch``.

    Returns
    -------
    xarray.Dataset
        The store opened lazily (:func:`open_store`).

    Raises
    ------
    InputError
        When ``store`` exists already, or bad parameters.
    """
    import torch

    from .models import stepwise
    from .models.protocol import check_model, check_model_inputs, is_recurrent_model

    if not isinstance(store, (str, os.PathLike)):
        raise InputError(
            "The 'store' parameter of record must be the path (a str or pathlib.Path) of a new directory, e.g. "
            f"'run.zarr'. Got {store!r} instead."
        )
    final = Path(store)
    if final.exists():
        raise InputError(
            f"record(store={str(final)!r}): that path exists already. Pass a new path, or remove the old store "
            f"first (shutil.rmtree({str(final)!r}))."
        )
    if not is_int(batch_size) or batch_size < 1:
        raise InputError(
            f"The 'batch_size' parameter of record must be an int in [1, inf). Got {batch_size!r} instead."
        )
    # Wrap an unwrapped torch model once (record would copy and wrap it again for every batch).
    if isinstance(model, torch.nn.Module) and not is_recurrent_model(model):
        model = stepwise(model, decision=decision)
    elif decision is not None:
        raise InputError(
            "record(decision=...) applies to an unwrapped torch model; a wrapped model reads its decision as "
            "stepwise(model, decision=...) was told."
        )
    model = check_model(model, "record")
    Xn, yn, ln = check_model_inputs(model, X, y, lengths)
    if yn is None:
        raise InputError("record() needs the true labels y (one per sample).")
    n = int(Xn.shape[0])
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    _clear_partial(partial)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(
            f"Could not create the directory {str(final.parent)!r} for the recording store ({exc.strerror or exc}). "
            "Create it yourself or record elsewhere."
        ) from None
    try:
        for s0 in range(0, n, batch_size):
            s1 = min(n, s0 + batch_size)
            part = record_batch(
                model, Xn[s0:s1], yn[s0:s1], None if ln is None else ln[s0:s1], batch_size=batch_size, **kwargs
            )
            part = part.assign_coords(sample=np.arange(s0, s1, dtype=np.int64))
            if s0 == 0:
                tc = _time_chunk(part.sizes["node"], part.sizes["time"], batch_size, chunk_bytes)
                encoding = {
                    name: {"chunks": tuple(
                        batch_size if d == "sample" else tc if (d == "time" and name != "input") else part.sizes[d]
                        for d in part[name].dims
                    ), **_checksum_filter(part[name])}
                    for name in part.data_vars
                }
                # the coordinates too: a flipped bit in the node labels or step numbers is as wrong as in the data
                encoding.update({name: _checksum_filter(part[name]) for name in part.coords})
                # every chunk written, all-NaN ones too, so that a missing chunk means a damaged store
                part.to_zarr(partial, mode="w-", encoding=encoding, consolidated=False, zarr_format=_ZARR_FORMAT,
                             write_empty_chunks=True)
            else:
                # only what grows along 'sample' is appended; the node/class/feature coordinates are written once
                grow = part[[v for v in part.data_vars if "sample" in part[v].dims]]
                grow = grow.drop_vars([c for c in grow.coords if "sample" not in grow[c].dims])
                grow.to_zarr(partial, append_dim="sample", consolidated=False, zarr_format=_ZARR_FORMAT,
                             write_empty_chunks=True)
            del part
        import zarr

        # Last: the consolidated metadata, which open_store requires, then the rename that makes the store appear.
        zarr.consolidate_metadata(str(partial), zarr_format=_ZARR_FORMAT)
        os.replace(partial, final)
    except BaseException as exc:
        _wait_for_pending_writes()
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError):  # disk full, file-size limit, permissions: our error, with what to do
            raise RecordingError(describe_os_error(exc, final, "recording store")) from None
        raise
    return open_store(final)


def _wait_for_pending_writes() -> None:
    """Let the chunk writes zarr still has in flight finish (or fail) before the partial store is removed.

    zarr writes chunks concurrently on its own event loop and returns at the first failure (a full disk, say)
    while the other writes go on; removing the partial store at once would let them recreate files in it.
    """
    try:
        import asyncio

        from zarr.core.sync import sync
    except ImportError:  # another zarr: nothing known to wait for
        return

    async def drain() -> None:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        if pending:
            await asyncio.wait(pending, timeout=30)

    try:
        sync(drain())
    except Exception:  # noqa: BLE001, S110 - best effort: the removal below still runs
        pass


def _checksum_filter(var: xr.DataArray) -> dict[str, Any]:
    """A CRC-32 of every stored chunk of a numeric variable, checked when the chunk is read back.

    A flipped bit in a compressed chunk can decompress into other, plausible numbers; with the checksum it is a
    :class:`RecordingError` instead (:class:`_CheckedChunks`). numcodecs' CRC32 is a standard Zarr filter, so
    the stores stay readable by any Zarr reader. Object (variable-length text) arrays keep their own codec only.
    """
    if var.dtype.kind not in "biufcUS":  # fixed-width text is bytes to the filter; object arrays have their codec
        return {}
    from numcodecs import CRC32

    return {"filters": [CRC32()]}


class _CheckedChunks:
    """A stored Zarr array whose failed reads are :class:`RecordingError` naming the store and the variable.

    The lazy variables of a store are read chunk by chunk wherever an analysis computes them (in this process
    or on Dask workers); a damaged chunk (checksum mismatch, bytes that do not decompress) would otherwise be a
    raw RuntimeError from the codec, raised far from the store it came from.
    """

    def __init__(self, array: Any, path: Path, name: str) -> None:
        self.array, self.path, self.name = array, str(path), name
        self.shape, self.dtype, self.ndim = tuple(array.shape), np.dtype(array.dtype), len(array.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        try:
            return np.asarray(self.array[key])
        except Exception as exc:  # noqa: BLE001 - codecs and stores raise many types; all mean "damaged here"
            raise RecordingError(_damaged(self.path, self.name, exc)) from None


def _has_checksums(array: Any) -> bool:
    return any(type(f).__name__ == "CRC32" for f in (getattr(array, "filters", None) or ()))


def _damaged(path: str, name: str | None, exc: BaseException) -> str:
    what = "its checksum does not match (corrupted bytes)" if "checksum" in str(exc) else (
        f"it does not read back ({type(exc).__name__}: {exc})")
    chunk = "a stored chunk" + ("" if name is None else f" of {name!r}")
    return (f"The recording store {path!r} is damaged: {chunk} is corrupted or unreadable, {what}. Record it "
            "again, or restore the store from a copy.")


def _is_damage(exc: BaseException) -> bool:
    """Whether a read failed on a chunk's bytes (a checksum or the decompressor), not on the store's layout."""
    return isinstance(exc, RuntimeError) and ("checksum" in str(exc) or "decompress" in str(exc))


def _guard_lazy_variables(ds: xr.Dataset, path: Path, names: list[str]) -> xr.Dataset:
    """Replace the Dask arrays of ``names`` by ones that read through :class:`_CheckedChunks`, chunks unchanged."""
    import dask.array as da
    import zarr

    group = zarr.open_group(str(path), mode="r", zarr_format=_ZARR_FORMAT)
    for name, stored in group.arrays():
        # a store written with checksums has every chunk (write_empty_chunks): a missing one would read as the fill
        # value (NaN, 0 or '') without any error. Older stores leave all-NaN chunks out, so they are not checked.
        if _has_checksums(stored) and stored.nchunks_initialized < stored.nchunks:
            raise RecordingError(
                f"The recording store {str(path)!r} is damaged: {stored.nchunks - stored.nchunks_initialized} of the "
                f"{stored.nchunks} stored chunks of {name!r} are missing. Record it again, or restore the store from "
                "a copy."
            )
    out = {}
    for name in names:
        var = ds[name]
        stored = group[name]
        # only where xarray's decoding is the identity (float data, NaN fill): the values are then the stored ones
        if var.chunks is None or np.dtype(stored.dtype) != var.dtype or var.dtype.kind != "f":
            continue
        checked = _CheckedChunks(stored, path, name)
        data = da.from_array(checked, chunks=var.chunks, asarray=False, lock=False, fancy=False,
                             name=f"relaywidgets-store-{name}-{da.core.tokenize(str(path), name, var.chunks)}")
        out[name] = var.copy(data=data)
    return ds.assign(out)


def _clear_partial(partial: Path) -> None:
    """Remove what an interrupted write left at ``partial``, and nothing that is not a store of ours."""
    if not partial.exists():
        return
    ours = partial.is_dir() and (not any(partial.iterdir()) or (partial / ".zgroup").exists())
    if not ours:
        raise InputError(
            f"{str(partial)!r} exists and is not a partial recording store; move it away so record() can write "
            "its temporary store there."
        )
    shutil.rmtree(partial)


def open_store(path: str | os.PathLike, *, chunks: Any = None) -> xr.Dataset:
    """Open a recording store lazily: a Dask-backed Dataset, checked against the recording contract.

    Only the small per-sample variables (``length``, ``label``, ``prediction``) are read by the check;
    ``hidden``, ``cell`` and ``input`` stay on disk until computed.

    Parameters
    ----------
    path : path
        A store written by ``record(..., store=path)``.
    chunks : optional
        Dask chunks (default: as stored); see :func:`xarray.open_zarr`.

    Raises
    ------
    RecordingError
        When ``path`` is missing, is a store whose write was interrupted, or is not a relaywidgets recording.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from relaywidgets import RecurrentClassifier, make_task, record
    >>> X, y = make_task("delayed-cue", n_samples=20, seq_len=5, seed=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.zarr"
    >>> rec = record(RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0), X, y, store=path, batch_size=8)
    >>> type(rec.hidden.data).__name__, rec.hidden.chunks
    ('Array', ((3,), (5,), (8, 8, 4)))
    """
    path = Path(path)
    partial_name = path.name.endswith(PARTIAL_SUFFIX)
    if not path.exists():
        hint = ""
        if path.with_name(path.name + PARTIAL_SUFFIX).exists():
            hint = (f" A partial store {path.name + PARTIAL_SUFFIX!r} lies beside it: its write was interrupted; "
                    "record again.")
        raise RecordingError(f"No recording store at {str(path)!r}.{hint}")
    if not path.is_dir():
        raise RecordingError(
            f"{str(path)!r} is a file, not a Zarr store (a directory). Read netCDF recordings with "
            "relaywidgets.load_recording on a .nc path."
        )
    if partial_name or ((path / ".zgroup").exists() and not (path / ".zmetadata").exists()):
        raise RecordingError(
            f"{str(path)!r} is a partial recording store: its write was interrupted before it completed (no "
            "consolidated metadata). Delete it and record again."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path, consolidated=True, chunks=chunks if chunks is not None else {})
    except Exception as exc:  # zarr and xarray raise many types for foreign directories
        if _is_damage(exc):  # the index coordinates are read on opening
            raise RecordingError(_damaged(str(path), None, exc)) from None
        raise RecordingError(
            f"{str(path)!r} is not a Zarr recording store ({type(exc).__name__}: {exc}). Write stores with "
            "relaywidgets.record(model, X, y, store=path)."
        ) from None
    # The per-sample and per-node variables are small (O(samples)) and read by every analysis: load them now;
    # only the (…, time, sample) arrays stay on disk.
    small = [name for name in ds.variables if "time" not in ds[name].dims or name == "time"]
    loading = None
    try:
        for loading in small:
            ds.variables[loading].load()  # one variable at a time (not its coordinates), to name the damaged one
        ds = ds.assign({name: ds[name].load() for name in small if name in ds.data_vars})
        ds = ds.assign_coords({name: ds[name].load() for name in small if name in ds.coords})
        ds = _guard_lazy_variables(ds, path, [n for n in ds.data_vars if n not in small])
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged chunk of a small variable: name the store and the variable
        raise RecordingError(_damaged(str(path), str(loading), exc)) from None
    if "hidden_size" in ds.attrs and isinstance(ds.attrs["hidden_size"], list):
        ds.attrs["hidden_size"] = np.array(ds.attrs["hidden_size"], dtype=np.int64)  # JSON has no arrays
    for name in ("node", "class_name", "module"):
        if name in ds.coords and ds[name].dtype == object:
            ds = ds.assign_coords({name: (ds[name].dims, ds[name].values.astype(str))})
    return check_recording(ds)
