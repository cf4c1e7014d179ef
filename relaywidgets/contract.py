"""The recording contract (docs/recording.md) and its check, free of torch so the numerical core can use it."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .errors import RecordingError

__all__ = ["check_recording", "RECORDING_FORMAT"]

RECORDING_FORMAT = "recording/1"
_REQUIRED_VARS = {
    "hidden": ("node", "time", "sample"),
    "input": ("feature", "time", "sample"),
    "label": ("sample",),
    "prediction": ("sample",),
    "logits": ("class", "sample"),
    "length": ("sample",),
}
_REQUIRED_ATTRS = ("arch", "input_size", "hidden_size", "num_layers", "num_classes", "task", "seed",
                   "relaywidgets_version", "created", "relaywidgets_format")


def check_recording(ds: Any) -> xr.Dataset:
    """Verify that ``ds`` follows the recording contract (docs/recording.md) and return it.

    Raises
    ------
    RecordingError
        Naming the first problem found and how to fix it.
    """
    hint = " Make recordings with relaywidgets.record(model, X, y) or relaywidgets.load_recording(path)."
    if not isinstance(ds, xr.Dataset):
        raise RecordingError(f"A recording must be an xarray.Dataset; got {type(ds).__name__}.{hint}")
    if ds.attrs.get("relaywidgets_format") != RECORDING_FORMAT:
        raise RecordingError(
            f"This Dataset is not a relaywidgets recording (attribute relaywidgets_format is "
            f"{ds.attrs.get('relaywidgets_format')!r}, expected {RECORDING_FORMAT!r}).{hint}"
        )
    for name, dims in _REQUIRED_VARS.items():
        if name not in ds.data_vars:
            raise RecordingError(f"The recording has no {name!r} variable; it needs {dims}.{hint}")
        if ds[name].dims != dims:
            raise RecordingError(f"Recording variable {name!r} has dims {ds[name].dims}; the contract says {dims}.")
    missing = [a for a in _REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise RecordingError(f"The recording lacks the attribute(s) {missing}.{hint}")
    if ds.attrs["arch"] == "lstm" and "cell" not in ds.data_vars:
        raise RecordingError("An LSTM recording must hold the 'cell' variable (node, time, sample).")
    for coord in ("layer", "unit"):
        if coord not in ds.coords or ds[coord].dims != ("node",):
            raise RecordingError(f"The recording needs the non-dimension coordinate {coord!r} along 'node'.")
    if "node" not in ds.coords:
        raise RecordingError("The recording needs node labels as the 'node' coordinate (e.g. 'l0.h3').")
    if ds["hidden"].dtype != np.float32:
        raise RecordingError(f"Recording variable 'hidden' must be float32; got {ds['hidden'].dtype}.")
    for name in ("label", "prediction", "length"):
        if not np.issubdtype(ds[name].dtype, np.integer):
            raise RecordingError(f"Recording variable {name!r} must hold integers; got {ds[name].dtype}.")
    n_time = ds.sizes["time"]
    length = ds["length"].values
    if length.size and (length.min() < 1 or length.max() > n_time):
        raise RecordingError(f"Recording 'length' values must lie in 1 .. {n_time}.")
    n_classes = ds.sizes["class"]
    for name in ("label", "prediction"):
        vals = ds[name].values
        if vals.size and (vals.min() < 0 or vals.max() >= n_classes):
            raise RecordingError(f"Recording {name!r} values must lie in 0 .. {n_classes - 1}.")
    if ds.sizes["sample"] < 1:
        raise RecordingError("The recording holds no samples.")
    return ds
