"""Checks of user-supplied data shared by training, recording and knockout evaluation.

Each check raises :class:`~relaywidgets.errors.InputError` with a message that names the problem
and what to do about it, before any torch or xarray code sees the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["check_inputs", "check_lengths", "check_sequence_shape", "as_numpy", "first_bad_positions"]


def as_numpy(a: Any) -> np.ndarray:
    """Return ``a`` as a numpy array (torch tensors are moved to the CPU first)."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def first_bad_positions(mask: np.ndarray, limit: int = 3) -> str:
    """Describe up to ``limit`` positions where ``mask`` is true, as ``(i, j, k)`` tuples."""
    where = np.argwhere(mask)[:limit]
    return ", ".join(str(tuple(int(v) for v in w)) for w in where)


def check_sequence_shape(shape: tuple[int, ...], *, num_features: int | None = None, name: str = "X") -> None:
    """Check that ``shape`` is a non-empty ``(sample, time, feature)`` shape with the expected features."""
    shape = tuple(int(v) for v in shape)
    if len(shape) != 3:
        hint = f" For a single feature, pass {name}[..., None]." if len(shape) == 2 else ""
        raise InputError(
            f"{name} must be 3-D with shape (sample, time, feature); got {len(shape)}-D with shape {shape}.{hint}"
        )
    if 0 in shape:
        raise InputError(f"{name} is empty (shape {shape}); it needs at least one sample, step and feature.")
    if num_features is not None and shape[2] != num_features:
        raise InputError(
            f"{name} has {shape[2]} feature(s) per step but the model expects {num_features} (its input_size)."
        )


def check_inputs(
    X: Any,
    y: Any | None = None,
    lengths: Any | None = None,
    *,
    num_features: int | None = None,
    num_classes: int | None = None,
    name: str = "X",
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validate a batch of sequences, labels and sequence lengths.

    Parameters
    ----------
    X : array-like, shape (sample, time, feature)
        Input sequences. Converted to float32.
    y : array-like of int, shape (sample,), optional
        Class labels in ``0 .. num_classes - 1``.
    lengths : array-like of int, shape (sample,), optional
        Number of valid steps of each sequence, in ``1 .. time``.
    num_features : int, optional
        Feature size the model expects; checked against ``X.shape[2]``.
    num_classes : int, optional
        Number of classes the model predicts; labels must lie below it.
    name : str
        Name of the input array used in messages.

    Returns
    -------
    X : ndarray of float32, shape (sample, time, feature)
    y : ndarray of int64 or None
    lengths : ndarray of int64 or None

    Raises
    ------
    InputError
        When any of the inputs is unusable; the message says which and how to fix it.
    """
    X = as_numpy(X)
    if X.dtype == object:
        raise InputError(f"{name} must be a numeric array of shape (sample, time, feature); got dtype object.")
    check_sequence_shape(X.shape, num_features=num_features, name=name)
    n, t, f = X.shape
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise InputError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    X = np.ascontiguousarray(X, dtype=np.float32)
    bad = ~np.isfinite(X)
    if bad.any():
        raise InputError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s), first at (sample, time, feature) "
            f"{first_bad_positions(bad)}. Replace or drop them; for variable-length sequences pad with 0 "
            "and pass `lengths`."
        )
    y_out = None
    if y is not None:
        y_arr = as_numpy(y)
        if y_arr.ndim != 1:
            raise InputError(f"y must be 1-D with one label per sample; got shape {y_arr.shape}.")
        if y_arr.shape[0] != n:
            raise InputError(f"{name} has {n} samples but y has {y_arr.shape[0]}; they must match.")
        if y_arr.dtype == bool or not np.issubdtype(y_arr.dtype, np.integer):
            if np.issubdtype(y_arr.dtype, np.floating) and np.all(np.isfinite(y_arr)) and np.all(y_arr == np.round(y_arr)):
                raise InputError(
                    f"y must hold integer class labels; got dtype {y_arr.dtype}. Convert with y.astype('int64')."
                )
            raise InputError(
                f"y must hold integer class labels 0 .. n_classes-1; got dtype {y_arr.dtype}. "
                "Map your labels to integers first (e.g. with numpy.unique(y, return_inverse=True))."
            )
        y_out = y_arr.astype(np.int64)
        if y_out.min() < 0 or (num_classes is not None and y_out.max() >= num_classes):
            upper = f"{num_classes - 1}" if num_classes is not None else "n_classes-1"
            bad_y = y_out[(y_out < 0) | ((y_out >= num_classes) if num_classes is not None else False)]
            raise InputError(
                f"y holds label(s) out of range {sorted(set(bad_y.tolist()))[:5]}; labels must lie in 0 .. {upper}."
            )
    len_out = None if lengths is None else check_lengths(lengths, n, t)
    return X, y_out, len_out


def check_lengths(lengths: Any, n_samples: int, n_steps: int) -> np.ndarray:
    """Validate sequence lengths for ``n_samples`` sequences of ``n_steps`` steps; return them as int64."""
    len_arr = as_numpy(lengths)
    if len_arr.ndim != 1 or len_arr.shape[0] != n_samples:
        raise InputError(
            f"lengths must be 1-D with one entry per sample ({n_samples}); got shape {len_arr.shape}."
        )
    if not np.issubdtype(len_arr.dtype, np.integer):
        raise InputError(f"lengths must be integers; got dtype {len_arr.dtype}.")
    len_out = len_arr.astype(np.int64)
    if len_out.max() > n_steps:
        raise InputError(
            f"lengths go up to {int(len_out.max())} but the sequences have only {n_steps} steps; "
            f"each length must lie in 1 .. {n_steps}."
        )
    if len_out.min() < 1:
        raise InputError(f"lengths must be at least 1; found {int(len_out.min())}.")
    return len_out
