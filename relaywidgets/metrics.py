"""Accuracy metrics shared by the CLI, knockout experiments and widgets."""

from __future__ import annotations

import numpy as np

__all__ = ["class_accuracy", "confusion_matrix", "recording_accuracy"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]`` as an int64 array of shape (n_classes, n_classes)."""
    flat = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class accuracy (recall) as float64 of shape (n_classes,); NaN for a class with no sample."""
    conf = confusion_matrix(y_true, y_pred, n_classes)
    support = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(conf) / np.maximum(support, 1), np.nan)


def recording_accuracy(rec) -> dict:
    """Overall and per-class accuracy of the network in a recording, keyed by class name."""
    y = rec["label"].values
    pred = rec["prediction"].values
    n_classes = rec.sizes["class"]
    per = class_accuracy(y, pred, n_classes)
    names = [str(c) for c in rec["class_name"].values] if "class_name" in rec.coords else [str(c) for c in range(n_classes)]
    return {"accuracy": float(np.mean(y == pred)), "class_accuracy": {n: float(a) for n, a in zip(names, per)}}
