"""Every check of user-supplied values and data, on the ground floor so any layer can use it.

Each check raises :class:`~relaywidgets.errors.InputError` (a ``ValueError``) with a message that names
the problem, where it is, and what to do next, in one voice: scalar parameters are reported
scikit-learn style ("The 'k' parameter of KSG must be an int in [1, inf). Got 0 instead."). Nothing in
relaywidgets uses ``assert`` on user input. This module needs numpy only (no torch, no xarray).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    # scalar parameters
    "is_int",
    "is_real",
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    # arrays of samples (relaywidgets.info)
    "UndersamplingWarning",
    "as_samples_array",
    "check_n_samples",
    "check_finite",
    "is_discrete_array",
    "as_codes",
    "warn_if_undersampled",
    # sequences (models, training, recording, knockouts)
    "check_inputs",
    "check_lengths",
    "check_sequence_shape",
    "as_numpy",
    "describe_positions",
    "first_bad_positions",
]


# ---------------------------------------------------------------------------------------- scalars
def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy) and not a bool.

    Examples
    --------
    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (int or float, Python or numpy) and not a bool.

    Examples
    --------
    >>> is_real(0.5), is_real(2), is_real(False), is_real("1")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(value: Any, name: str, owner: str, low: int, high: float = np.inf) -> int:
    """Validate an integer parameter in ``[low, high]``, scikit-learn style; return it as an int.

    Examples
    --------
    >>> check_int(5, "k", "KSG", 1)
    5
    >>> check_int(0, "k", "KSG", 1)
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: The 'k' parameter of KSG must be an int in [1, inf). Got 0 instead.
    """
    if not is_int(value) or not low <= value <= high:
        hi = "inf)" if high == np.inf else f"{int(high)}]"
        raise InputError(
            f"The {name!r} parameter of {owner} must be an int in [{low}, {hi}. Got {value!r} instead."
        )
    return int(value)


def check_float(
    value: Any,
    name: str,
    owner: str,
    low: float,
    high: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real parameter in an interval, closed or open at either end; return it as a float.

    Examples
    --------
    >>> check_float(0.05, "alpha", "find_relays", 0.0, 1.0, low_open=True, high_open=True)
    0.05
    >>> check_float(1.0, "alpha", "find_relays", 0.0, 1.0, low_open=True, high_open=True)
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: The 'alpha' parameter of find_relays must be a float in (0.0, 1.0). Got 1.0 instead.
    """
    ok = is_real(value) and bool(np.isfinite(value))
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left = "(" if low_open else "["
        hi = "inf)" if high == np.inf else (f"{high})" if high_open else f"{high}]")
        raise InputError(
            f"The {name!r} parameter of {owner} must be a float in {left}{low}, {hi}. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_bool(value: Any, name: str, owner: str) -> bool:
    """Validate a flag: only ``True``/``False`` (Python or numpy) are accepted, never a truthy string or number.

    Examples
    --------
    >>> check_bool(np.bool_(True), "clamp_cell", "Knockout")
    True
    >>> check_bool("no", "clamp_cell", "Knockout")
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: The 'clamp_cell' parameter of Knockout must be True or False. Got 'no' instead.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"The {name!r} parameter of {owner} must be True or False. Got {value!r} instead.")
    return bool(value)


def check_choice(value: Any, name: str, owner: str, options: list[str] | tuple[str, ...]) -> str:
    """Validate a string option, listing the valid ones.

    Examples
    --------
    >>> check_choice("zero", "value", "Knockout", ("zero", "mean"))
    'zero'
    """
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise InputError(
            f"The {name!r} parameter of {owner} must be one of {listed}. Got {value!r} instead."
        )
    return value


def describe_positions(mask: np.ndarray, limit: int = 5, *, count_rest: bool = True) -> str:
    """Describe up to ``limit`` index tuples where ``mask`` is true, e.g. ``"(0, 3), (2, 1) and 4 more"``.

    Examples
    --------
    >>> describe_positions(np.eye(3, dtype=bool), limit=2)
    '(0, 0), (1, 1) and 1 more'
    """
    where = np.argwhere(mask)
    shown = ", ".join(str(tuple(int(v) for v in w)) for w in where[:limit])
    more = f" and {len(where) - limit} more" if count_rest and len(where) > limit else ""
    return shown + more


def first_bad_positions(mask: np.ndarray, limit: int = 3) -> str:
    """Describe up to ``limit`` positions where ``mask`` is true, as ``(i, j, k)`` tuples (no count of the rest)."""
    return describe_positions(mask, limit, count_rest=False)


# ---------------------------------------------------------------------------------------- samples
class UndersamplingWarning(UserWarning):
    """The joint variable has too many observed states for the number of samples.

    Plug-in entropies are then biased low and mutual informations biased high.
    """


def as_samples_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a 2-D array of shape (sample, variable).

    A 1-D input is one variable; a 2-D input is a multivariate (joint) variable whose columns are
    its components; higher-dimensional inputs are flattened after the first axis. An
    ``xarray.DataArray`` with a ``sample`` dimension has that dimension moved to the front first,
    so a slice of a recording (dims ``node, sample``) can be passed as it is. Torch tensors are
    moved to the CPU.

    Parameters
    ----------
    x : array-like, xarray.DataArray or torch.Tensor
        The variable, samples on the first axis.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray, shape (sample, variable)
    """
    if hasattr(x, "dims") and hasattr(x, "transpose") and hasattr(x, "values"):
        if "sample" in x.dims:
            x = x.transpose("sample", ...)
        x = x.values
    elif hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InputError(
            f"Argument {name!r} must hold numbers (bool, int or float), got dtype {arr.dtype}. "
            "Convert it with numpy.asarray(..., dtype=float) or encode categories as integers."
        )
    if arr.ndim == 0:
        raise InputError(
            f"Argument {name!r} must be an array with samples on the first axis, got a scalar. "
            "Pass one value per sample."
        )
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim > 2:
        # the width spelled out: reshape(n, -1) cannot infer it when n is 0
        return arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    return arr


def check_n_samples(arrays: dict[str, np.ndarray], min_samples: int = 2) -> int:
    """Check that all arrays have the same number of samples, at least ``min_samples``.

    Returns
    -------
    int
        The common number of samples.
    """
    sizes = {name: a.shape[0] for name, a in arrays.items()}
    distinct = set(sizes.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{name!r} has {n}" for name, n in sizes.items())
        raise InputError(
            f"All arguments must have the same number of samples on their first axis; {listed}. "
            "Index them with the same samples (e.g. a[mask], b[mask])."
        )
    n = distinct.pop() if distinct else 0
    if n < min_samples:
        raise InputError(
            f"At least {min_samples} samples are needed to estimate information, got {n}. "
            "Pass more samples (rows)."
        )
    return int(n)


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise when ``x`` (2-D, float) contains NaN or infinite values, naming how many and where."""
    if x.dtype.kind != "f":
        return
    nan = np.isnan(x)
    if nan.any():
        rows = np.flatnonzero(nan.any(axis=1))
        raise InputError(
            f"Argument {name!r} contains {int(nan.sum())} NaN value(s) in {len(rows)} sample(s), at "
            f"(sample, column) {describe_positions(nan)}. Drop those samples first, e.g. "
            f"keep = ~np.isnan({name}).any(axis=1) (in a recording, steps at or after a sequence's "
            "`length` are NaN)."
        )
    inf = np.isinf(x)
    if inf.any():
        raise InputError(
            f"Argument {name!r} contains {int(inf.sum())} infinite value(s), at (sample, column) "
            f"{describe_positions(inf)}. Remove or clip them before estimating."
        )


def is_discrete_array(x: np.ndarray) -> bool:
    """Whether ``x`` holds state codes by its dtype (bool or integer)."""
    return x.dtype.kind in "biu"


def as_codes(x: np.ndarray, name: str, owner: str, kind: str = "discrete") -> np.ndarray:
    """Return ``x`` as non-negative integer state codes, or raise with a suggestion.

    Bool and integer arrays are accepted as they are; float arrays are accepted when every value is
    a whole number (e.g. labels stored as 0.0/1.0). Negative codes are refused because
    :func:`relaywidgets.info.discretize` marks missing values with -1.
    """
    if x.dtype.kind == "b":
        return x.astype(np.int8)
    if x.dtype.kind == "f":
        check_finite(x, name)
        frac = x != np.round(x)
        if frac.any():
            example = float(x[frac].flat[0])
            raise InputError(
                f"The {kind} estimator {owner!r} needs integer state codes for argument {name!r}, but it "
                f"holds continuous values (e.g. {example!r} at (sample, column) "
                f"{describe_positions(frac, 1)}). Coarse-grain it first with "
                "relaywidgets.info.discretize(data, method='two-means') (see "
                "relaywidgets.info.discretizers() for the other methods), "
                + (
                    "or use a continuous estimator ('gcmi' or 'ksg')."
                    if kind == "discrete"
                    else f"or pass discrete_{name}=False to treat it as continuous."
                )
            )
        x = x.astype(np.int64)
    if x.size and x.dtype.kind == "i":
        neg = x < 0
        if neg.any():
            raise InputError(
                f"Argument {name!r} holds {int(neg.sum())} negative state code(s), at (sample, "
                f"column) {describe_positions(neg)}. discretize() marks missing (NaN) values "
                f"with -1: drop those samples first, e.g. keep = ({name} >= 0).all(axis=1)."
            )
    return x


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside relaywidgets.info (the user's call)."""
    import sys

    frame = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("relaywidgets.info"):
        frame = frame.f_back
        level += 1
    return level


def warn_if_undersampled(n_states: int, n_samples: int, min_samples_per_state: float, owner: str) -> None:
    """Warn with :class:`UndersamplingWarning` when ``n_states * min_samples_per_state > n_samples``.

    The warning gives both numbers and suggests estimators other than ``owner``.
    """
    if min_samples_per_state <= 0 or n_states * min_samples_per_state <= n_samples:
        return
    corrected = [e for e in ("miller-madow", "shrinkage") if e != owner]
    suggestion = " or ".join(repr(e) for e in corrected)
    warnings.warn(
        f"The joint variable has {n_states:,} observed states for {n_samples:,} samples (fewer than "
        f"{min_samples_per_state:g} samples per state), so the {owner!r} estimate is strongly "
        f"biased (entropies low, mutual informations high). Use a bias-corrected estimator "
        f"({suggestion}), a continuous one ('gcmi', 'ksg'), fewer nodes or more samples, and "
        "compare against the null mean of permutation_test().",
        UndersamplingWarning,
        stacklevel=_caller_stacklevel(),
    )


# ---------------------------------------------------------------------------------------- sequences
def as_numpy(a: Any) -> np.ndarray:
    """Return ``a`` as a numpy array (torch tensors are moved to the CPU first)."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


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
