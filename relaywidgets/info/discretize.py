"""Coarse-graining of continuous activations into small integer state codes.

Thresholds are found per node and time step over samples (or, with ``pooled=True``, per node over
all time steps and samples). Methods: ``two-means`` (default; exact 1-D k-means with k = 2, by
sorting and prefix sums), ``median``, ``mean``, ``zero`` and ``quantile`` (``levels`` bins).
Missing values (NaN) become code -1; a constant node becomes a single state (code 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .._validation import check_int

__all__ = ["Discretizer", "discretize", "discretizers", "two_means_thresholds"]

# Columns are processed in chunks of about this many values, to bound temporary memory.
_CHUNK_VALUES = 2_000_000


@dataclass(frozen=True)
class Discretizer:
    """A coarse-graining method, listed by :func:`discretizers`.

    Attributes
    ----------
    name : str
    description : str
        One line, for a dropdown.
    binary : bool
        Whether it yields at most two states per node.
    """

    name: str
    description: str
    binary: bool
    _codes: Callable[[np.ndarray, int], np.ndarray]

    def __call__(self, data: Any, *, pooled: bool = False, levels: int = 4) -> Any:
        """Same as ``discretize(data, self.name, pooled=pooled, levels=levels)``."""
        return discretize(data, self.name, pooled=pooled, levels=levels)


def two_means_thresholds(x: np.ndarray) -> np.ndarray:
    """Exact two-cluster 1-D k-means split of each column, ignoring NaN.

    For every column, the values are sorted and the split minimising the within-cluster sum of
    squares is found from prefix sums of the values and of their squares, over all splits between
    two distinct values. Returns, per column, the smallest value of the upper cluster (a value
    ``v`` is in the upper cluster when ``v >= threshold``), or ``+inf`` when the column has fewer
    than two distinct values.

    Parameters
    ----------
    x : ndarray of float, shape (sample, column)

    Returns
    -------
    ndarray of float, shape (column,)

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info.discretize import two_means_thresholds
    >>> two_means_thresholds(np.array([[-1.0], [-0.9], [-1.0], [0.95], [-0.95]])).tolist()
    [0.95]
    """
    m, c = x.shape
    out = np.full(c, np.inf)
    if m < 2 or c == 0:
        return out
    s = np.sort(x, axis=0)  # NaN sort last
    valid = ~np.isnan(s)
    n = valid.sum(axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.nanmean(x, axis=0)
    center = np.where(np.isfinite(center), center, 0.0)
    sc = np.where(valid, s - center, 0.0)  # centring keeps the prefix sums well conditioned
    s1 = np.cumsum(sc, axis=0)
    s2 = np.cumsum(sc * sc, axis=0)
    cols = np.arange(c)
    last = np.maximum(n - 1, 0)
    t1, t2 = s1[last, cols], s2[last, cols]
    i = np.arange(1, m)[:, None].astype(np.float64)  # size of the lower cluster
    l1, l2 = s1[:-1], s2[:-1]
    nr = n[None, :] - i
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = (l2 - l1 * l1 / i) + ((t2 - l2) - (t1 - l1) ** 2 / nr)
    distinct = s[1:] > s[:-1]  # a split between equal values is no partition by a threshold
    ok = distinct & (nr >= 1) & valid[1:]
    sse = np.where(ok, sse, np.inf)
    best = np.argmin(sse, axis=0)
    has = ok[best, cols]
    out[has] = s[best[has] + 1, cols[has]]
    return out


def _codes_two_means(x: np.ndarray, levels: int) -> np.ndarray:
    thr = two_means_thresholds(x)
    with np.errstate(invalid="ignore"):
        return (x >= thr).astype(np.int8)


def _nan_stat(fn: Callable[..., np.ndarray], x: np.ndarray, *args: Any) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(x, *args, axis=0)


def _codes_median(x: np.ndarray, levels: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x > _nan_stat(np.nanmedian, x)).astype(np.int8)


def _codes_mean(x: np.ndarray, levels: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x > _nan_stat(np.nanmean, x)).astype(np.int8)


def _codes_zero(x: np.ndarray, levels: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x > 0).astype(np.int8)


def _codes_quantile(x: np.ndarray, levels: int) -> np.ndarray:
    probs = np.arange(1, levels) / levels
    edges = _nan_stat(np.nanquantile, x, probs)  # (levels - 1, column)
    codes = np.zeros(x.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for edge in edges:  # loops over the few bin edges, not samples
            codes += x > edge
    return codes


_DISCRETIZERS: dict[str, Discretizer] = {
    d.name: d
    for d in (
        Discretizer(
            "two-means",
            "Two states split where 1-D k-means (k = 2) puts it: between the clusters, even when unequal.",
            True,
            _codes_two_means,
        ),
        Discretizer(
            "median", "Two equal halves split at the median (cuts a larger cluster in two).", True, _codes_median
        ),
        Discretizer("mean", "Two states split at the mean.", True, _codes_mean),
        Discretizer("zero", "Two states split at zero (sign of the activation; natural for tanh).", True, _codes_zero),
        Discretizer("quantile", "'levels' states of equal mass split at quantiles.", False, _codes_quantile),
    )
}


def discretizers() -> dict[str, Discretizer]:
    """The coarse-graining methods by name, each with a one-line ``description``.

    Examples
    --------
    >>> from relaywidgets.info import discretizers
    >>> list(discretizers())
    ['two-means', 'median', 'mean', 'zero', 'quantile']
    """
    return dict(_DISCRETIZERS)


def _codes_2d(x: np.ndarray, method: Discretizer, levels: int) -> np.ndarray:
    """Codes of each column of ``x`` (sample, column); NaN -> -1."""
    m, c = x.shape
    codes = np.empty((m, c), dtype=np.int8)
    step = max(1, _CHUNK_VALUES // max(m, 1))
    for start in range(0, c, step):  # loops over column chunks, not samples
        block = x[:, start : start + step].astype(np.float64)
        out = method._codes(block, levels)
        if method.name != "zero":
            # A constant node is one state, code 0, whatever rounding does to its mean or median.
            with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                constant = np.nanmax(block, axis=0) == np.nanmin(block, axis=0)
            out[:, constant] = 0
        out[np.isnan(block)] = -1
        codes[:, start : start + step] = out
    return codes


def discretize(data: Any, method: str = "two-means", *, pooled: bool = False, levels: int = 4) -> Any:
    """Coarse-grain continuous activations into small integer state codes.

    Parameters
    ----------
    data : xarray.DataArray or array-like
        A DataArray (e.g. a recording's ``hidden``, dims ``node, time, sample``): thresholds are
        taken over the ``sample`` dim for every other coordinate (every node and time step); with
        ``pooled=True`` over ``sample`` and ``time`` together (one threshold per node). A numpy
        array has samples on axis 0: thresholds per column over axis 0; with ``pooled=True`` a 3-D
        array ``(sample, time, node)`` is pooled over axes 0 and 1.
    method : str
        One of :func:`discretizers`: ``"two-means"`` (default), ``"median"``, ``"mean"``,
        ``"zero"``, ``"quantile"``.
    pooled : bool
        One threshold per node over all time steps instead of one per (node, time).
    levels : int
        Number of states of ``"quantile"`` (2 to 127); ignored by the binary methods.

    Returns
    -------
    xarray.DataArray or numpy.ndarray of int8
        Same shape (and, for a DataArray, same dims, coords, attrs and name). Codes run from 0;
        NaN input gives -1 (missing); a constant node gives a single state 0.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import discretize
    >>> h = np.array([[-1.0, 0.2], [-0.98, 0.3], [0.99, 0.2], [-0.97, np.nan]])
    >>> discretize(h).tolist()
    [[0, 0], [0, 1], [1, 0], [0, -1]]
    """
    if not isinstance(method, str) or method not in _DISCRETIZERS:
        listed = ", ".join(repr(name) for name in _DISCRETIZERS)
        raise InputError(
            f"Unknown discretization method {method!r}. Valid methods are {listed} (see "
            "relaywidgets.info.discretizers() for descriptions)."
        )
    disc = _DISCRETIZERS[method]
    levels = check_int(levels, "levels", "discretize", 2, 127)
    if not isinstance(pooled, (bool, np.bool_)):
        raise InputError(f"The 'pooled' parameter of discretize must be a bool. Got {pooled!r} instead.")

    is_da = hasattr(data, "dims") and hasattr(data, "coords") and hasattr(data, "values")
    if is_da:
        if "sample" not in data.dims:
            raise InputError(
                f"discretize needs a 'sample' dimension to take thresholds over; the DataArray has "
                f"dims {tuple(data.dims)}. Rename the samples dimension to 'sample' "
                "(data.rename({'trial': 'sample'})) or pass a numpy array with samples on axis 0."
            )
        reduce = ["sample"] + (["time"] if pooled and "time" in data.dims else [])
        values = np.asarray(data.values)
        axes = [data.dims.index(d) for d in reduce]
    else:
        if hasattr(data, "detach") and hasattr(data, "cpu"):
            data = data.detach().cpu().numpy()
        values = np.asarray(data)
        if values.ndim == 0:
            raise InputError("discretize needs an array with samples on axis 0, got a scalar.")
        axes = [0, 1] if pooled and values.ndim == 3 else [0]
    if values.dtype.kind not in "biuf":
        raise InputError(
            f"discretize needs numbers, got dtype {values.dtype}. Convert with np.asarray(data, dtype=float)."
        )
    x = values
    inf = np.isinf(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    if inf.any():
        where = ", ".join(str(tuple(int(v) for v in w)) for w in np.argwhere(inf)[:5])
        raise InputError(
            f"discretize got {int(inf.sum())} infinite value(s), at {where}. Replace them (e.g. by "
            "NaN to mark them missing, or clip) first."
        )
    others = [ax for ax in range(x.ndim) if ax not in axes]
    moved = np.transpose(x, axes + others)
    lead = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    rest_shape = [x.shape[a] for a in others]
    codes = _codes_2d(moved.reshape(lead, -1), disc, levels)  # blocks become float64 one by one
    codes = codes.reshape([x.shape[a] for a in axes] + rest_shape)
    codes = np.transpose(codes, np.argsort(axes + others))
    codes = np.ascontiguousarray(codes)
    if is_da:
        import xarray as xr

        return xr.DataArray(codes, dims=data.dims, coords=data.coords, attrs=dict(data.attrs), name=data.name)
    return codes
