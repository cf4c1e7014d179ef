"""Per-node means and medians of a reference recording: the values a "mean" or "median" knockout sets units to.

A recording in memory is reduced as it always was; one opened lazily from a Zarr store (Dask-backed) is reduced
without loading it whole: the mean chunk by chunk in one read, the median group of nodes by group of nodes
(docs/scaling.md). :func:`condensed_reference` replaces a recording by its per-node values, so that knockouts
that carry it (random control sets, tasks sent to a cluster) do not carry the recording.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["condensed_reference", "node_statistic"]

#: Bytes of float64 values held at once for the median of a Dask-backed reference (a group of nodes).
MEDIAN_BUDGET = 2**28


def node_statistic(data: xr.DataArray, how: str, n_nodes: int | None = None) -> np.ndarray:
    """The NaN-ignoring mean or median of ``data`` over everything but ``node``: float64, one per node.

    Parameters
    ----------
    data : xarray.DataArray
        A recording variable (``hidden`` or ``cell``, dims ``node, time, sample``), in memory or Dask-backed.
    how : {"mean", "median"}
        The statistic.
    n_nodes : int, optional
        Nodes to reshape to when ``data`` has no ``node`` dim (default: its ``node`` size).

    Returns
    -------
    numpy.ndarray
        Shape ``(node,)``. In memory this is ``numpy.nanmean``/``numpy.nanmedian`` of the node's values.
        Dask-backed, the median is the same (each group of nodes is loaded whole, at most
        :data:`MEDIAN_BUDGET` bytes); the mean is summed chunk by chunk, so it can differ from the in-memory
        one in the last bits of float64.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> h = xr.DataArray([[[1.0, np.nan], [3.0, 5.0]]], dims=("node", "time", "sample"))
    >>> node_statistic(h, "mean").tolist(), node_statistic(h, "median").tolist()
    ([3.0], [3.0])
    """
    if "node" in data.dims:
        data = data.transpose("node", ...)
        n = data.sizes["node"]
    else:
        n = int(n_nodes) if n_nodes is not None else 1
    reduce = np.nanmean if how == "mean" else np.nanmedian
    if data.chunks is None:
        return reduce(np.asarray(data.values, dtype=np.float64).reshape(n, -1), axis=1)
    import dask

    if how == "mean":
        # one read of the store: per-node sums and counts, chunk by chunk, on this process's threads (a
        # distributed Client that is the default scheduler is not asked: the reference is small work)
        # reduced over the stored chunks as they are (a reshape to (node, -1) would first merge the chunks)
        values = data.data.astype(np.float64)
        if "node" not in data.dims:
            values = values.reshape(n, -1)
        axes = tuple(range(1, values.ndim))
        total = dask.array.nansum(values, axis=axes)
        count = dask.array.sum(~dask.array.isnan(values), axis=axes)
        total, count = dask.compute(total, count, scheduler="threads")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    # an exact median needs all of a node's values at once: as many nodes as fit the budget per read
    per_node = max(1, data.size // max(1, n)) * 8
    group = max(1, MEDIAN_BUDGET // per_node)
    out = np.empty(n)
    for n0 in range(0, n, group):
        part = data.isel(node=slice(n0, n0 + group)) if "node" in data.dims else data
        arr = np.asarray(part.data.compute(scheduler="threads"), dtype=np.float64)
        out[n0 : n0 + group] = reduce(arr.reshape(arr.shape[0] if "node" in data.dims else n, -1), axis=1)
    return out


def condensed_reference(reference: Any, value: Any, variables: tuple[str, ...] = ("hidden", "cell")) -> Any:
    """``reference`` reduced to one value per node and variable, for a "mean" or "median" knockout value.

    The result is a recording-shaped Dataset whose ``hidden`` (and ``cell``) hold, at one sample and one step,
    each node's mean or median, with the node coordinates (``node``, ``layer``, ``unit``, ``module``) and the
    attributes of ``reference``. A Knockout given it resolves exactly the values it would resolve from
    ``reference`` (the mean or median of one number is that number), without carrying the recording. Only
    ``variables`` are kept (``cell`` is read only for a knockout that clamps it). Anything else (another
    value, an array of values, None) is returned unchanged.
    """
    if not (isinstance(value, str) and value in ("mean", "median") and isinstance(reference, xr.Dataset)):
        return reference
    names = [v for v in variables if v in reference.data_vars and "node" in reference[v].dims]
    if not names or "node" not in reference.coords:
        return reference  # not a recording: the Knockout reports what is missing as before
    coords = {c: reference.coords[c] for c in reference.coords if reference.coords[c].dims == ("node",)}
    variables = {
        name: (("node", "time", "sample"), node_statistic(reference[name], value)[:, None, None]) for name in names
    }
    return xr.Dataset(variables, coords=coords, attrs=dict(reference.attrs))
