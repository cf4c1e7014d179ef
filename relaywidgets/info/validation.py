"""Input checks shared by the information estimators.

Every check raises :class:`~relaywidgets.errors.InputError` (a ``ValueError``) whose message names
the problem, where it is, and what to do next. Nothing here uses ``assert`` on user input.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "UndersamplingWarning",
    "as_samples_array",
    "check_n_samples",
    "check_finite",
    "is_discrete_array",
    "as_codes",
    "check_int",
    "check_float",
    "check_choice",
    "warn_if_undersampled",
]


class UndersamplingWarning(UserWarning):
    """The joint variable has too many observed states for the number of samples.

    Plug-in entropies are then biased low and mutual informations biased high.
    """


def _describe_positions(mask: np.ndarray, limit: int = 5) -> str:
    """Describe up to ``limit`` (sample, column) positions where ``mask`` is true."""
    where = np.argwhere(mask)
    shown = ", ".join(str(tuple(int(v) for v in w)) for w in where[:limit])
    more = f" and {len(where) - limit} more" if len(where) > limit else ""
    return shown + more


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
        return arr.reshape(arr.shape[0], -1)
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
            f"(sample, column) {_describe_positions(nan)}. Drop those samples first, e.g. "
            f"keep = ~np.isnan({name}).any(axis=1) (in a recording, steps at or after a sequence's "
            "`length` are NaN)."
        )
    inf = np.isinf(x)
    if inf.any():
        raise InputError(
            f"Argument {name!r} contains {int(inf.sum())} infinite value(s), at (sample, column) "
            f"{_describe_positions(inf)}. Remove or clip them before estimating."
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
                f"{_describe_positions(frac, 1)}). Coarse-grain it first with "
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
                f"column) {_describe_positions(neg)}. discretize() marks missing (NaN) values "
                f"with -1: drop those samples first, e.g. keep = ({name} >= 0).all(axis=1)."
            )
    return x


def check_int(value: Any, name: str, owner: str, low: int, high: float = np.inf) -> int:
    """Validate an integer parameter, scikit-learn style."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        hi = "inf)" if high == np.inf else f"{int(high)}]"
        raise InputError(
            f"The {name!r} parameter of {owner} must be an int in [{low}, {hi}. Got {value!r} instead."
        )
    return int(value)


def check_float(
    value: Any, name: str, owner: str, low: float, high: float = np.inf, *, low_open: bool = False
) -> float:
    """Validate a real parameter, scikit-learn style."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        left = "(" if low_open else "["
        hi = "inf)" if high == np.inf else f"{high}]"
        raise InputError(
            f"The {name!r} parameter of {owner} must be a float in {left}{low}, {hi}. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_choice(value: Any, name: str, owner: str, options: list[str] | tuple[str, ...]) -> str:
    """Validate a string option, listing the valid ones."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise InputError(
            f"The {name!r} parameter of {owner} must be one of {listed}. Got {value!r} instead."
        )
    return value


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
