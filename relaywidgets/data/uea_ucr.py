"""Real time-series classification sets from the UCR/UEA archives, read from the copies bundled in aeon.

Nothing is ever downloaded: only data sets whose files ship inside the installed ``aeon`` wheel
(``aeon/datasets/data/<name>/<name>_TRAIN.ts`` and ``_TEST.ts``) are offered, and those files are read
directly (:mod:`relaywidgets.data.ts_format`); no aeon loader, and so none of its download code, runs.
aeon is an optional dependency: ``pip install "relaywidgets[datasets]"``.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
from typing import Any

import numpy as np

from ..errors import InputError
from .dataset import DatasetInfo, TimeSeriesDataset, apply_znorm, encode_labels, fit_znorm, pad_sequences
from .ts_format import read_ts

__all__ = ["load_dataset", "datasets", "bundled_data_dir"]

INSTALL_HINT = 'pip install "relaywidgets[datasets]"'

# Published sizes, checked against the bundled files by tests/data/test_uea_ucr.py.
_CATALOG: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "ACSF1",
            "Power consumption of 10 kinds of home appliances",
            "UCR", n_classes=10, n_features=1, min_length=1460, max_length=1460, n_train=100, n_test=100,
        ),
        DatasetInfo(
            "ArrowHead",
            "Outlines of projectile points of 3 types, read as 1-D contour series",
            "UCR", n_classes=3, n_features=1, min_length=251, max_length=251, n_train=36, n_test=175,
        ),
        DatasetInfo(
            "BasicMotions",
            "Smartwatch accelerometer and gyroscope (3+3 axes) during standing, walking, running, badminton",
            "UEA", n_classes=4, n_features=6, min_length=100, max_length=100, n_train=40, n_test=40,
        ),
        DatasetInfo(
            "GunPoint",
            "Hand x-position of an actor drawing a gun versus pointing a finger",
            "UCR", n_classes=2, n_features=1, min_length=150, max_length=150, n_train=50, n_test=150,
        ),
        DatasetInfo(
            "ItalyPowerDemand",
            "24 hourly values of Italian electricity demand: October-March versus April-September days",
            "UCR", n_classes=2, n_features=1, min_length=24, max_length=24, n_train=67, n_test=1029,
        ),
        DatasetInfo(
            "JapaneseVowels",
            "12 LPC cepstrum coefficients of the vowel /ae/ spoken by 9 male speakers; predict the speaker",
            "UEA", n_classes=9, n_features=12, min_length=7, max_length=29, n_train=270, n_test=370,
        ),
        DatasetInfo(
            "OSULeaf",
            "Leaf outlines of 6 tree species, read as 1-D contour series",
            "UCR", n_classes=6, n_features=1, min_length=427, max_length=427, n_train=200, n_test=242,
        ),
        DatasetInfo(
            "PickupGestureWiimoteZ",
            "Z-axis acceleration of a Wii remote during 10 pick-up gestures",
            "UCR", n_classes=10, n_features=1, min_length=29, max_length=361, n_train=50, n_test=50,
        ),
    )
}


def datasets() -> dict[str, DatasetInfo]:
    """List the data sets :func:`load_dataset` can load.

    Reading this list needs neither aeon nor the data files; ``str(info)`` gives a one-line summary.

    Returns
    -------
    dict of str to DatasetInfo
        Name, one-line description, archive, number of classes and channels, sequence lengths and the
        sizes of the published train/test splits of every data set.

    Examples
    --------
    >>> from relaywidgets.data import datasets
    >>> info = datasets()["JapaneseVowels"]
    >>> info.n_classes, info.n_features, info.max_length, info.n_train, info.n_test
    (9, 12, 29, 270, 370)
    """
    return dict(_CATALOG)


def _import_aeon() -> Any:
    try:
        return importlib.import_module("aeon")
    except ImportError as err:
        raise ImportError(
            "Loading the bundled UCR/UEA data sets needs the optional dependency aeon, which is not "
            f"installed. Install it with: {INSTALL_HINT}"
        ) from err


def bundled_data_dir() -> str:
    """Return the directory of the data sets bundled in the installed aeon package.

    Raises
    ------
    ImportError
        When aeon is not installed (the message says how to install it).
    """
    aeon = _import_aeon()
    return os.path.join(os.path.dirname(os.path.abspath(aeon.__file__)), "datasets", "data")


def _resolve_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InputError(
            f"The 'name' parameter of load_dataset must be a str. Got {type(name).__name__} instead."
        )
    if name in _CATALOG:
        return name
    by_lower = {n.lower(): n for n in _CATALOG}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name, list(_CATALOG), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InputError(
        f"Unknown data set {name!r}.{hint} Available data sets: {', '.join(repr(n) for n in _CATALOG)}. "
        "relaywidgets only loads sets bundled with aeon and never downloads; for your own data use "
        "relaywidgets.data.from_arrays."
    )


def _split_files(name: str) -> tuple[str, str]:
    root = bundled_data_dir()
    paths = tuple(os.path.join(root, name, f"{name}_{split}.ts") for split in ("TRAIN", "TEST"))
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        aeon = _import_aeon()
        raise InputError(
            f"The installed aeon {getattr(aeon, '__version__', '?')} does not bundle the data set {name!r} "
            f"(missing {', '.join(missing)}). relaywidgets never downloads data; install an aeon that "
            f"ships it ({INSTALL_HINT}) or pick another of {sorted(_CATALOG)}."
        )
    return paths  # type: ignore[return-value]


@functools.lru_cache(maxsize=None)
def _load_raw(name: str) -> tuple[np.ndarray, ...]:
    """Parse both splits of ``name`` once per process; callers get copies (see :func:`load_dataset`)."""
    train_path, test_path = _split_files(name)
    train, y_train_raw, _ = read_ts(train_path)
    test, y_test_raw, _ = read_ts(test_path)
    n_time = max(s.shape[0] for s in train + test)
    X_train, len_train = pad_sequences(train, n_time)
    X_test, len_test = pad_sequences(test, n_time)
    codes, class_names = encode_labels(y_train_raw + y_test_raw)
    y_train, y_test = codes[: len(train)], codes[len(train) :]
    for X, split in ((X_train, "TRAIN"), (X_test, "TEST")):
        bad = ~np.isfinite(X)
        if bad.any():
            raise InputError(
                f"The bundled file of {name!r} ({split}) holds {int(bad.sum())} missing or infinite values; "
                "relaywidgets only offers complete data sets."
            )
    return X_train, y_train, len_train, X_test, y_test, len_test, class_names


def load_dataset(name: str, *, normalize: bool = True) -> TimeSeriesDataset:
    """Load a bundled UCR/UEA classification data set with its published train/test split.

    The files are read from the data directory of the installed aeon package (see
    :func:`bundled_data_dir`); nothing is downloaded. Parsed data are cached in the process, and every
    call returns fresh arrays, so changing them does not affect later calls.

    Parameters
    ----------
    name : str
        One of :func:`datasets` (case-insensitive), e.g. ``"JapaneseVowels"``.
    normalize : bool, default=True
        Z-normalise each feature with the mean and standard deviation of the training split (all
        samples, valid steps only). The test split gets the same statistics, not its own. A constant
        feature is centred and left unscaled.

    Returns
    -------
    TimeSeriesDataset
        float32 ``X`` of shape ``(sample, time, feature)`` zero-padded after ``lengths`` (variable-length
        sets such as JapaneseVowels), int64 ``lengths``, int64 labels ``0 .. C-1`` numbered in sorted order
        of the original labels (numeric labels by value), and ``class_names`` with the original labels.

    Raises
    ------
    ImportError
        When aeon is not installed; the message says ``pip install "relaywidgets[datasets]"``.
    InputError
        For an unknown name (the message lists the available ones).

    Examples
    --------
    >>> from relaywidgets.data import load_dataset
    >>> ds = load_dataset("JapaneseVowels")  # doctest: +SKIP
    >>> ds.X_train.shape, ds.n_classes  # doctest: +SKIP
    ((270, 29, 12), 9)
    """
    if not isinstance(normalize, (bool, np.bool_)):
        raise InputError(
            f"The 'normalize' parameter of load_dataset must be a bool. Got {normalize!r} instead."
        )
    name = _resolve_name(name)
    X_train, y_train, len_train, X_test, y_test, len_test, class_names = _load_raw(name)
    mean = std = None
    if normalize:
        mean, std = fit_znorm(X_train, len_train)
        X_train = apply_znorm(X_train, len_train, mean, std)
        X_test = apply_znorm(X_test, len_test, mean, std)
    else:
        X_train, X_test = X_train.copy(), X_test.copy()
    return TimeSeriesDataset(
        name=name,
        X_train=X_train,
        y_train=y_train.copy(),
        lengths_train=len_train.copy(),
        X_test=X_test,
        y_test=y_test.copy(),
        lengths_test=len_test.copy(),
        class_names=class_names,
        description=_CATALOG[name].description,
        feature_mean=mean,
        feature_std=std,
        source=os.pathsep.join(_split_files(name)),
    )
