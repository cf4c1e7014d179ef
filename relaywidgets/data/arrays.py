"""Turn a user's own arrays into a validated, stratified, z-normalised :class:`TimeSeriesDataset`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._validation import as_numpy, check_inputs, is_int, is_real
from ..errors import InputError
from .dataset import TimeSeriesDataset, apply_znorm, encode_labels, fit_znorm

__all__ = ["from_arrays"]

_OWNER = "from_arrays"


def _class_indices(y: np.ndarray, class_names: Sequence[Any] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map labels to class indices; see the ``y`` and ``class_names`` parameters of :func:`from_arrays`."""
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        bad = np.flatnonzero(~np.isfinite(y))
        raise InputError(
            f"y contains {bad.size} NaN or infinite label(s), first at sample {int(bad[0])}. Every sample "
            "needs a class label; drop the unlabelled samples first."
        )
    if class_names is None:
        return encode_labels(y)
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, Iterable):
        raise InputError(
            f"The 'class_names' parameter of {_OWNER} must be a sequence of names or None. "
            f"Got {type(class_names).__name__} instead."
        )
    names = tuple(str(c) for c in class_names)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"class_names must be distinct; {dup} appear more than once.")
    if y.dtype.kind in "iu":
        if y.min() < 0 or y.max() >= len(names):
            raise InputError(
                f"Integer labels index class_names, so they must lie in 0 .. {len(names) - 1}; found "
                f"{int(y.min())} .. {int(y.max())}. Pass one name per class, or pass the labels as strings "
                "equal to the names."
            )
        return y.astype(np.int64), names
    index = {n: k for k, n in enumerate(names)}
    text = [str(v) for v in y]
    unknown = sorted(set(text) - set(index))
    if unknown:
        raise InputError(
            f"y holds label(s) {unknown[:5]} that are not in class_names {list(names)}. Add them to "
            "class_names, or leave class_names=None to take the classes from y."
        )
    return np.array([index[v] for v in text], dtype=np.int64), names


def _stratified_split(
    y: np.ndarray, n_classes: int, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split; returns sorted train and test indices."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        n_c = members.size
        if n_c == 0:
            continue
        # round half up; a class with >= 2 samples puts at least one in each split
        n_test = int(math.floor(test_fraction * n_c + 0.5))
        n_test = min(max(n_test, 1 if n_c >= 2 else 0), n_c - 1)
        members = rng.permutation(members)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def from_arrays(
    X: Any,
    y: Any,
    lengths: Any = None,
    class_names: Sequence[Any] | None = None,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    normalize: bool = True,
    name: str = "custom",
) -> TimeSeriesDataset:
    """Build a :class:`TimeSeriesDataset` from your own sequences, with a stratified, seeded split.

    Parameters
    ----------
    X : array-like of float, shape (sample, time, feature)
        Input sequences (numpy array or torch tensor). Every value must be finite, padding included: pad
        shorter sequences with 0 and pass ``lengths``. A single-feature ``(sample, time)`` array is
        rejected with a hint to pass ``X[..., None]``.
    y : array-like, shape (sample,)
        Class labels. Without ``class_names`` the classes are the distinct labels in sorted order
        (numbers, also numbers written as strings, by value; other labels by text), so integer labels
        ``0 .. C-1`` keep their values and labels such as ``["walk", "run"]`` or ``[1, 2]`` are numbered
        ``0 .. C-1``. With ``class_names``, integer labels are indices into ``class_names`` and any other
        labels must equal one of the names; the class order is then that of ``class_names``.
    lengths : array-like of int, shape (sample,), optional
        Valid steps of each sequence, in ``1 .. time``; default: all ``time`` steps. Steps at or after a
        sequence's length are ignored (not used for the normalisation) and set to 0.0 in the result.
    class_names : sequence, optional
        Name of each class index (converted to str). Default: the distinct labels of ``y`` as str.
    test_fraction : float in (0, 1), default=0.25
        Share of each class that goes to the test split: ``round(test_fraction * n_c)`` samples of a class
        with ``n_c`` samples, but at least one in each split when the class has two or more. Each split
        must end up with at least 2 samples.
    seed : int, default=0
        Seed of the split; the same arguments always give the same split. Both splits keep the original
        order of the samples.
    normalize : bool, default=True
        Z-normalise each feature with the mean and standard deviation over the training samples' valid
        steps; the test split gets the same statistics. Constant features are centred, not scaled.
    name : str, default="custom"
        Name stored in the result.

    Returns
    -------
    TimeSeriesDataset

    Raises
    ------
    InputError
        When an input is unusable; the message names the problem and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.data import from_arrays
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 5, 3))
    >>> y = np.array(["run", "walk"] * 6)
    >>> ds = from_arrays(X, y, lengths=np.full(12, 4), test_fraction=0.5)
    >>> ds.class_names, ds.y_train.shape, ds.y_test.shape
    (('run', 'walk'), (6,), (6,))
    """
    if (
        not is_real(test_fraction)
        or not 0.0 < float(test_fraction) < 1.0
    ):
        raise InputError(
            f"The 'test_fraction' parameter of {_OWNER} must be a float in (0, 1). Got {test_fraction!r} instead."
        )
    if not is_int(seed) or seed < 0:
        raise InputError(f"The 'seed' parameter of {_OWNER} must be an int in [0, inf). Got {seed!r} instead.")
    if not isinstance(normalize, (bool, np.bool_)):
        raise InputError(f"The 'normalize' parameter of {_OWNER} must be a bool. Got {normalize!r} instead.")
    if not isinstance(name, str):
        raise InputError(f"The 'name' parameter of {_OWNER} must be a str. Got {type(name).__name__} instead.")

    X, _, lengths = check_inputs(X, lengths=lengths)
    n, n_time, _ = X.shape
    if lengths is None:
        lengths = np.full(n, n_time, dtype=np.int64)

    y_arr = as_numpy(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != n:
        raise InputError(
            f"y must be 1-D with one label per sample ({n}); got shape {y_arr.shape}."
        )
    codes, names = _class_indices(y_arr, class_names)
    present = np.unique(codes)
    if present.size < 2:
        raise InputError(
            f"y holds a single class ({names[int(present[0])]!r}); a classification data set needs at least 2."
        )

    train_idx, test_idx = _stratified_split(codes, len(names), float(test_fraction), int(seed))
    if train_idx.size < 2 or test_idx.size < 2:
        raise InputError(
            f"{n} samples split with test_fraction={test_fraction} give {train_idx.size} training and "
            f"{test_idx.size} test samples; each split needs at least 2. Add samples or change test_fraction."
        )

    X = X.copy()
    steps = np.arange(n_time)[None, :]
    X[steps >= lengths[:, None]] = 0.0
    X_train, X_test = X[train_idx], X[test_idx]
    len_train, len_test = lengths[train_idx], lengths[test_idx]
    mean = std = None
    if normalize:
        mean, std = fit_znorm(X_train, len_train)
        X_train = apply_znorm(X_train, len_train, mean, std)
        X_test = apply_znorm(X_test, len_test, mean, std)
    return TimeSeriesDataset(
        name=name,
        X_train=X_train,
        y_train=codes[train_idx],
        lengths_train=len_train,
        X_test=X_test,
        y_test=codes[test_idx],
        lengths_test=len_test,
        class_names=names,
        description=(
            f"{n} user sequences, stratified split with test_fraction={float(test_fraction)}, seed={int(seed)}"
        ),
        feature_mean=mean,
        feature_std=std,
        source="arrays",
    )
