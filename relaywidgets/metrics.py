"""Accuracy metrics shared by the CLI, knockout experiments and widgets."""

from __future__ import annotations

import numpy as np

from ._validation import is_int
from .errors import InputError

__all__ = ["class_accuracy", "confusion_matrix", "recording_accuracy"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]`` as an int64 array of shape (n_classes, n_classes).

    Labels must be integers in ``0 .. n_classes - 1``: a label outside would be counted in another cell (or
    make the counts the wrong size), a fractional one truncated.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1, 0], [1, 1]]
    """
    if not is_int(n_classes) or n_classes < 1:
        raise InputError(f"The 'n_classes' parameter of confusion_matrix must be an int in [1, inf). Got {n_classes!r} instead.")
    labels = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        arr = np.asarray(values)
        if arr.ndim != 1 or (arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n_classes)):
            raise InputError(
                f"confusion_matrix: {name} must be a 1-D array of integer class labels in 0 .. {n_classes - 1}; got "
                f"{arr.dtype} values of shape {arr.shape}."
            )
        labels.append(arr.astype(np.int64))
    if labels[0].shape != labels[1].shape:
        raise InputError(f"confusion_matrix: y_true and y_pred differ in length ({labels[0].size} and {labels[1].size}).")
    flat = labels[0] * n_classes + labels[1]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class accuracy (recall) as float64 of shape (n_classes,); NaN for a class with no sample."""
    conf = confusion_matrix(y_true, y_pred, n_classes)
    support = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(conf) / np.maximum(support, 1), np.nan)


def recording_accuracy(rec) -> dict:
    """Overall and per-class accuracy of the network in a recording, keyed by class name."""
    import xarray as xr

    from .errors import RecordingError

    if not isinstance(rec, xr.Dataset) or not {"label", "prediction"} <= set(rec.data_vars) or "class" not in rec.dims:
        raise RecordingError(
            "recording_accuracy needs a recording (docs/recording.md) with 'label' and 'prediction' variables and a "
            f"'class' dim; got {type(rec).__name__}. Record one with relaywidgets.record(model, X, y)."
        )
    y = rec["label"].values
    pred = rec["prediction"].values
    n_classes = rec.sizes["class"]
    per = class_accuracy(y, pred, n_classes)
    names = [str(c) for c in rec["class_name"].values] if "class_name" in rec.coords else [str(c) for c in range(n_classes)]
    return {"accuracy": float(np.mean(y == pred)), "class_accuracy": {n: float(a) for n, a in zip(names, per)}}
