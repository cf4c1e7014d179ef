"""The container every data loader of :mod:`relaywidgets.data` returns: a train/test split of padded sequences.

It also holds the two steps both loaders share: mapping labels to class indices and z-normalising the
features with statistics fitted on the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["TimeSeriesDataset", "DatasetInfo"]

# A feature whose training standard deviation is below this is treated as constant: it is centred but
# not scaled, so that rounding noise is not blown up to unit variance and nothing divides by zero.
_CONSTANT_STD = 1e-12


@dataclass(frozen=True, eq=False, repr=False)
class TimeSeriesDataset:
    """A sequence-classification data set split into training and test sequences.

    Every ``X`` array is float32 with shape ``(sample, time, feature)``. Sequences shorter than ``time``
    are padded **with 0.0** after their last valid step, and ``lengths`` (int64, ``1 .. time``) says how
    many steps of each sequence are valid; the models of relaywidgets read ``lengths`` and take their
    decision at step ``lengths - 1``. (Padding is 0.0 rather than NaN because the models reject NaN
    inputs.) Train and test share the same ``time`` axis, the longest sequence of either split.

    Labels are int64 class indices ``0 .. n_classes - 1``; ``class_names[k]`` is the original label of
    class ``k``.

    Attributes
    ----------
    name : str
        Name of the data set (e.g. ``"JapaneseVowels"``).
    X_train, X_test : ndarray of float32, shape (sample, time, feature)
        Input sequences, zero-padded after ``lengths``.
    y_train, y_test : ndarray of int64, shape (sample,)
        Class indices.
    lengths_train, lengths_test : ndarray of int64, shape (sample,)
        Valid steps of each sequence.
    class_names : tuple of str
        Original label of each class index.
    description : str
        One line saying what the sequences are.
    feature_mean, feature_std : ndarray of float64, shape (feature,), or None
        The z-normalisation that was applied, fitted on the valid steps of the training split only:
        ``X = (raw - feature_mean) / feature_std`` (padding is 0.0 after normalisation). ``None`` when
        the data were not normalised. Apply the same statistics to any new data you feed the model.
    source : str
        Where the data came from: the train and test file paths of a bundled data set joined with
        ``os.pathsep``, or ``"arrays"`` for :func:`~relaywidgets.data.from_arrays`.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.data import from_arrays
    >>> rng = np.random.default_rng(0)
    >>> ds = from_arrays(rng.normal(size=(40, 10, 2)), np.repeat([0, 1], 20))
    >>> ds.X_train.shape, ds.X_test.shape, ds.n_classes
    ((30, 10, 2), (10, 10, 2), 2)
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    lengths_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    lengths_test: np.ndarray
    class_names: tuple[str, ...]
    description: str = ""
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        # The container is the contract between loaders and models: check it once here so a
        # hand-built instance cannot carry arrays the rest of the package would misread.
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        n_classes = len(self.class_names)
        shape = None
        for split in ("train", "test"):
            X = getattr(self, f"X_{split}")
            y = getattr(self, f"y_{split}")
            lengths = getattr(self, f"lengths_{split}")
            if not isinstance(X, np.ndarray) or X.dtype != np.float32 or X.ndim != 3:
                raise InputError(
                    f"X_{split} of a TimeSeriesDataset must be a float32 ndarray of shape (sample, time, "
                    f"feature). Got {type(X).__name__} {getattr(X, 'dtype', '')} {getattr(X, 'shape', '')}."
                )
            if shape is not None and X.shape[1:] != shape:
                raise InputError(
                    f"X_train and X_test must share (time, feature); got {shape} and {X.shape[1:]}."
                )
            shape = X.shape[1:]
            for label, arr in (("y", y), ("lengths", lengths)):
                if not isinstance(arr, np.ndarray) or arr.dtype != np.int64 or arr.shape != (X.shape[0],):
                    raise InputError(
                        f"{label}_{split} of a TimeSeriesDataset must be an int64 ndarray of shape "
                        f"({X.shape[0]},). Got {type(arr).__name__} {getattr(arr, 'dtype', '')} "
                        f"{getattr(arr, 'shape', '')}."
                    )
            if y.size and (y.min() < 0 or y.max() >= n_classes):
                raise InputError(
                    f"y_{split} must hold class indices in 0 .. {n_classes - 1} (one per class name); "
                    f"found {int(y.min())} .. {int(y.max())}."
                )
            if lengths.size and (lengths.min() < 1 or lengths.max() > X.shape[1]):
                raise InputError(
                    f"lengths_{split} must lie in 1 .. {X.shape[1]}; found {int(lengths.min())} .. "
                    f"{int(lengths.max())}."
                )

    @property
    def n_features(self) -> int:
        """Number of input features (channels) per time step."""
        return int(self.X_train.shape[2])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def n_timesteps(self) -> int:
        """Length of the (padded) time axis."""
        return int(self.X_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"TimeSeriesDataset(name={self.name!r}, train={self.X_train.shape[0]}, "
            f"test={self.X_test.shape[0]}, time={self.n_timesteps}, features={self.n_features}, "
            f"classes={self.n_classes})"
        )


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`relaywidgets.data.datasets` says about a bundled data set without loading it.

    Attributes
    ----------
    name : str
        Name to pass to :func:`relaywidgets.data.load_dataset`.
    description : str
        One line saying what the sequences are.
    archive : str
        ``"UCR"`` (univariate archive) or ``"UEA"`` (multivariate archive).
    n_classes, n_features : int
        Number of classes and of input channels.
    min_length, max_length : int
        Shortest and longest sequence over both splits (equal for fixed-length sets).
    n_train, n_test : int
        Sizes of the published training and test splits.
    """

    name: str
    description: str
    archive: str
    n_classes: int
    n_features: int
    min_length: int
    max_length: int
    n_train: int
    n_test: int

    @property
    def variable_length(self) -> bool:
        """Whether the sequences differ in length."""
        return self.min_length != self.max_length

    def __str__(self) -> str:
        length = (
            f"length {self.min_length}-{self.max_length}" if self.variable_length else f"length {self.max_length}"
        )
        return (
            f"{self.name}: {self.description} [{self.archive}; {self.n_classes} classes, "
            f"{self.n_features} channel{'s' if self.n_features != 1 else ''}, {length}, "
            f"{self.n_train} train / {self.n_test} test]"
        )


def _sort_key(label: str) -> tuple[int, float, str]:
    # Numbers sort by value ("2" before "10"), everything else by its text; numbers first.
    try:
        value = float(label)
    except ValueError:
        return (1, 0.0, label)
    if np.isnan(value):
        return (1, 0.0, label)
    return (0, value, label)


def encode_labels(labels: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary labels to class indices in sorted order of the labels.

    Labels are compared as text; labels that read as numbers are ordered by their value, so
    ``"1", "2", "10"`` become classes 0, 1, 2 (a plain text sort would put ``"10"`` before ``"2"``).

    Returns
    -------
    codes : ndarray of int64, shape (sample,)
    class_names : tuple of str
        The original label of each class index.
    """
    text = np.asarray([str(v) for v in np.asarray(labels).ravel()], dtype=object)
    names = tuple(sorted(set(text.tolist()), key=_sort_key))
    index = {name: k for k, name in enumerate(names)}
    codes = np.fromiter((index[v] for v in text), dtype=np.int64, count=text.size)
    return codes, names


def pad_sequences(series: list[np.ndarray], n_time: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(time_i, feature)`` arrays into a zero-padded float32 ``(sample, n_time, feature)`` array."""
    n_features = series[0].shape[1]
    X = np.zeros((len(series), n_time, n_features), dtype=np.float32)
    lengths = np.empty(len(series), dtype=np.int64)
    for i, s in enumerate(series):
        X[i, : s.shape[0]] = s
        lengths[i] = s.shape[0]
    return X, lengths


def valid_mask(lengths: np.ndarray, n_time: int) -> np.ndarray:
    """Boolean ``(sample, time)`` mask of the steps before each sequence's length."""
    return np.arange(n_time)[None, :] < lengths[:, None]


def fit_znorm(X: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation over all samples and valid steps of ``X``.

    Constant features get a standard deviation of 1.0 (they are centred, not scaled).
    """
    values = X[valid_mask(lengths, X.shape[1])].astype(np.float64)  # (valid steps, feature)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std[std < _CONSTANT_STD] = 1.0
    return mean, std


def apply_znorm(X: np.ndarray, lengths: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Return ``(X - mean) / std`` as float32 with padding steps set back to 0.0."""
    out = ((X.astype(np.float64) - mean) / std).astype(np.float32)
    out[~valid_mask(lengths, X.shape[1])] = 0.0
    return out
