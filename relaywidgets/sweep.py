"""Sweeps: one experiment run over a grid of settings (architectures × seeds × sizes × tasks), gathered tidily.

:func:`sweep` runs ``fn(**point)`` for every point of a Cartesian grid, in this process or as tasks on a Dask
cluster (a LocalCluster or any scheduler address), and gathers the returned values into one xarray Dataset with
one dimension per grid key (docs/scaling.md, "Sweeps"). Dask and distributed are imported only when used.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._cluster import close_all, completed, open_client, tasks_on_cluster
from ._validation import is_int
from .errors import InputError, SweepError

__all__ = ["grid_points", "sweep"]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every point of the Cartesian product of ``grid``, the last key varying fastest.

    Parameters
    ----------
    grid : dict of str to list
        The values of each setting, e.g. ``{"arch": ["rnn", "lstm"], "seed": [0, 1, 2]}``.

    Returns
    -------
    list of dict
        One ``{key: value}`` per point, in row-major order of the grid.

    Examples
    --------
    >>> grid_points({"arch": ["rnn", "gru"], "seed": [0, 1]})
    [{'arch': 'rnn', 'seed': 0}, {'arch': 'rnn', 'seed': 1}, {'arch': 'gru', 'seed': 0}, {'arch': 'gru', 'seed': 1}]
    """
    grid = _check_grid(grid)
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def sweep(
    fn: Callable[..., Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    *,
    client: Any = None,
    n_workers: int = 2,
    progress: bool = True,
) -> xr.Dataset:
    """Run ``fn(**point)`` for every point of ``grid`` and gather the results into one tidy Dataset.

    Every point is one task; a point's randomness must come from the point itself (a ``seed`` key), never
    from the process or worker that runs it, so that the result does not depend on where or in what order
    the points ran: a cluster run gives the Dataset of the serial run.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**point)``; returns a dict of the same keys at every point, each value a scalar, a
        small NumPy array (dimensions ``<name>_dim_0``, ...) or an ``xarray.DataArray`` (its own dimensions
        and coordinates; points whose coordinates differ are aligned with NaN where a point has no value).
        On a cluster with separate processes ``fn`` must pickle: a module-level function or a
        ``functools.partial`` of one.
    grid : dict of str to list
        The settings to sweep, e.g. ``{"task": [...], "arch": [...], "seed": [0, 1, 2]}``: each a non-empty
        list of distinct values.
    client : None, "local", str or distributed.Client, default None
        Where the points run. ``None`` (or ``False``): one after another in this process (no cluster
        needed). ``"local"``: a ``LocalCluster`` of ``n_workers`` single-threaded worker processes, started
        here and closed at the end. Any other string: the address of a running scheduler
        (``"tcp://host:8786"``). A ``distributed.Client``: its cluster (left open; a closed one raises
        ``ClusterError``).
    n_workers : int, default 2
        Workers of the ``"local"`` cluster; ignored otherwise.
    progress : bool, default True
        Show a progress bar over the completed points.

    Returns
    -------
    xarray.Dataset
        One variable per key that ``fn`` returns, with the grid keys as its leading dimensions (coordinates =
        the grid values, in the grid's order), followed by the value's own dimensions.

    Raises
    ------
    InputError
        When the grid or ``client`` is not usable, or ``fn``'s returned values cannot be gathered.
    SweepError
        When ``fn`` fails at a point; the message names the point, and the original error is its cause.
    ClusterError
        When the cluster goes away before every point is done.

    Examples
    --------
    >>> def square(x, offset):
    ...     return {"y": x * x + offset}
    >>> ds = sweep(square, {"x": [1, 2, 3], "offset": [0, 10]}, progress=False)
    >>> ds["y"].sel(offset=10).values.tolist()
    [11, 14, 19]
    """
    grid = _check_grid(grid)
    if not callable(fn):
        raise InputError(f"The 'fn' parameter of sweep must be callable. Got {type(fn).__name__} instead.")
    if not is_int(n_workers) or n_workers < 1:
        raise InputError(f"The 'n_workers' parameter of sweep must be an int in [1, inf). Got {n_workers!r} instead.")
    points = grid_points(grid)
    if client is None or client is False:
        outputs = _run_serial(fn, points, progress)
    else:
        outputs = _run_on_cluster(fn, points, client, int(n_workers), progress)
    return _gather(grid, points, outputs)


def _check_grid(grid: Any) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise InputError(
            "The 'grid' parameter of sweep must be a non-empty dict of setting name -> list of values, e.g. "
            f"{{'seed': [0, 1, 2]}}. Got {grid!r} instead."
        )
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InputError(
                f"Grid keys are passed to fn as keyword arguments, so each must be a Python identifier; got {key!r}."
            )
        if not isinstance(values, (list, tuple, range, np.ndarray)):
            raise InputError(
                f"The values of grid key {key!r} must be a list (or tuple); got {type(values).__name__} "
                f"({values!r}). Wrap a single value in a list: {{{key!r}: [{values!r}]}}."
            )
        values = list(values.tolist() if isinstance(values, np.ndarray) else values)
        if not values:
            raise InputError(f"Grid key {key!r} has no values: give at least one, or leave the key out.")
        _check_labels(key, values)
        out[key] = values
    return out


def _check_labels(key: str, values: list[Any]) -> None:
    """Refuse values that cannot be the labels of a coordinate: nested sequences, and repeats.

    Values become a coordinate as numpy converts them, and a coordinate with repeated labels cannot be selected by
    label; repeats are looked for among the converted labels, where 1 and 1.0, True and 1, 1 and "1" (in a list
    with text) or two NaNs collide although the values differ.
    """
    try:
        coord = np.asarray(values)
    except (ValueError, TypeError):
        coord = None  # ragged nested sequences
    if coord is None or coord.ndim != 1:
        raise InputError(
            f"The values of grid key {key!r} must be single values (numbers, text, ...), one coordinate label each; "
            f"got {values!r}. Name each setting instead, e.g. {{{key!r}: ['small', 'large']}}, and look it up in fn."
        )
    labels = coord.tolist()
    try:
        repeats = np.flatnonzero(_pd_index(labels).duplicated())
        repeat = int(repeats[0]) if repeats.size else None
    except TypeError:  # unhashable labels (dicts): compare them pairwise, as few as they are
        repeat = next((i for i in range(len(labels)) if any(_same(labels[i], labels[j]) for j in range(i))), None)
    if repeat is None:
        return
    first = next(j for j in range(repeat) if _same(labels[repeat], labels[j]))
    a, b = values[first], values[repeat]
    if type(a) is type(b) and _same(a, b):
        raise InputError(f"Grid key {key!r} repeats the value {b!r}: each value must appear once.")
    raise InputError(
        f"Grid key {key!r} holds {a!r} and {b!r}, which become the same coordinate label {labels[repeat]!r}: each "
        "value must appear once, as a distinct label. Use values of one type (e.g. all int, or all str)."
    )


def _pd_index(labels: list[Any]) -> Any:
    import pandas as pd

    return pd.Index(labels, dtype=object)


def _same(a: Any, b: Any) -> bool:
    """Whether two coordinate labels are the same (two NaNs are; objects whose == fails are not)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an == that raises or returns an array: not the same label
        return False


def _describe(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def _call_point(point: dict[str, Any], fn_bytes: bytes) -> Any:
    """Run one point; on a worker, an error comes back as a value so the driver can name the point."""
    import cloudpickle

    try:
        # unpickled here, not by the worker, so that a function the worker cannot import fails this point
        # with its own message instead of killing the worker
        return cloudpickle.loads(fn_bytes)(**point)
    except Exception as exc:  # noqa: BLE001 - handed to the driver, which re-raises it with the point named
        return _Failure(exc)


class _Failure:
    """An exception raised by ``fn`` at a point, carried back from the worker."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _failed(point: Mapping[str, Any], exc: BaseException) -> SweepError:
    err = SweepError(f"sweep: fn failed at point ({_describe(point)}): {type(exc).__name__}: {exc}")
    err.point = dict(point)  # type: ignore[attr-defined]
    return err


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="point", disable=not enabled)


def _run_serial(fn: Callable[..., Any], points: list[dict[str, Any]], progress: bool) -> list[Any]:
    outputs = []
    with _progress_bar(len(points), progress) as bar:
        for point in points:
            try:
                outputs.append(fn(**point))
            except Exception as exc:
                raise _failed(point, exc) from exc
            bar.update()
    return outputs


def _connect(client: Any, n_workers: int) -> tuple[Any, list[Any]]:
    """The Client to use and what to close afterwards (only what this call opened); see :mod:`._cluster`."""
    return open_client(client, "sweep", n_workers=n_workers)


def _run_on_cluster(
    fn: Callable[..., Any], points: list[dict[str, Any]], client: Any, n_workers: int, progress: bool
) -> list[Any]:
    client, opened = _connect(client, n_workers)
    run_id = uuid.uuid4().hex[:8]  # keys unique per sweep, so a long-lived cluster never hands back an old result
    name = getattr(fn, "__name__", type(fn).__name__)
    keys = [f"sweep-{name}-{run_id}-{i}" for i in range(len(points))]
    futures: list[Any] = []
    try:
        import cloudpickle

        fn_bytes = cloudpickle.dumps(fn)
    except Exception as exc:
        close_all(opened)
        raise InputError(
            f"sweep could not pickle fn ({type(exc).__name__}: {exc}) to send it to the workers; use a "
            "module-level function or a functools.partial of one, or client=None to run in this process."
        ) from exc
    outputs: list[Any] = [None] * len(points)
    try:
        with tasks_on_cluster(
            client, futures, total=len(points), what="points", during="during the sweep", in_process="client=None",
        ), _progress_bar(len(points), progress) as bar:
            futures.extend(client.map(_call_point, points, fn_bytes=fn_bytes, key=keys, pure=False))
            index = {f.key: i for i, f in enumerate(futures)}
            for future, outcome in completed(futures):
                i = index[future.key]
                if isinstance(outcome, _Failure):
                    raise _failed(points[i], outcome.exc) from outcome.exc
                outputs[i] = outcome
                bar.update()
        return outputs
    finally:
        close_all(opened)


def _as_dataarray(value: Any, name: str, point: Mapping[str, Any]) -> xr.DataArray:
    if isinstance(value, xr.DataArray):
        return value.reset_coords(drop=True)
    if isinstance(value, (xr.Dataset, dict)) or value is None:
        raise InputError(
            f"sweep: fn returned a {type(value).__name__} for {name!r} at point ({_describe(point)}); each value "
            "must be a scalar, a NumPy array or an xarray.DataArray (return a Dataset's variables as separate keys)."
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise InputError(
            f"sweep: the value of {name!r} at point ({_describe(point)}) is a nested {type(value).__name__} of uneven "
            "lengths; return an array of one shape (or separate keys)."
        ) from None
    if arr.dtype == object:
        raise InputError(
            f"sweep: the value of {name!r} at point ({_describe(point)}) is not numeric, boolean or text "
            f"({type(value).__name__}); return numbers, strings or arrays of them."
        )
    return xr.DataArray(arr, dims=[f"{name}_dim_{i}" for i in range(arr.ndim)])


def _gather(grid: dict[str, list[Any]], points: list[dict[str, Any]], outputs: list[Any]) -> xr.Dataset:
    """One variable per returned key: grid dimensions first, then the value's own dimensions."""
    first = outputs[0]
    for point, out in zip(points, outputs):
        if not isinstance(out, Mapping):
            raise InputError(
                f"sweep: fn must return a dict of name -> value; at point ({_describe(point)}) it returned a "
                f"{type(out).__name__}."
            )
        if set(out) != set(first):
            raise InputError(
                f"sweep: fn returned the keys {sorted(map(str, out))} at point ({_describe(point)}) but "
                f"{sorted(map(str, first))} at ({_describe(points[0])}); every point must return the same keys."
            )
    clash = set(map(str, first)) & set(grid)
    if clash:
        raise InputError(f"sweep: fn returns {sorted(clash)}, which are also grid keys; rename the returned values.")
    shape = tuple(len(v) for v in grid.values())
    coords: dict[str, Any] = {k: np.asarray(v) for k, v in grid.items()}
    data_vars = {}
    for name in first:
        values = [_as_dataarray(out[name], str(name), point) for point, out in zip(points, outputs)]
        dims = values[0].dims
        for point, v in zip(points, values):
            if v.dims != dims:
                raise InputError(
                    f"sweep: {name!r} has dimensions {v.dims} at point ({_describe(point)}) but {dims} at "
                    f"({_describe(points[0])}); a returned value must have the same dimensions everywhere."
                )
            if set(dims) & (set(grid) | {"__point__"}):
                raise InputError(
                    f"sweep: {name!r} has a dimension named like a grid key or sweep's own '__point__' "
                    f"({sorted(set(dims) & (set(grid) | {'__point__'}))}); rename that dimension."
                )
            # a dimension without coordinates cannot be aligned: it must have one size at every point
            ragged = [d for d in dims if d not in v.indexes and v.sizes[d] != values[0].sizes[d]]
            if ragged:
                raise InputError(
                    f"sweep: {name!r} has shape {dict(v.sizes)} at point ({_describe(point)}) but "
                    f"{dict(values[0].sizes)} at ({_describe(points[0])}). Return the same shape at every point, or "
                    "an xarray.DataArray with coordinates, which are aligned (NaN where a point has no value)."
                )
        # points whose own coordinates differ (e.g. tasks with different classes) are aligned, NaN where absent
        stacked = xr.concat(values, dim="__point__", join="outer", coords="minimal", compat="override",
                            combine_attrs="drop")
        stacked = stacked.transpose("__point__", *dims)
        own = {c: stacked.coords[c] for c in stacked.coords if "__point__" not in stacked.coords[c].dims}
        data_vars[str(name)] = xr.DataArray(
            stacked.values.reshape(shape + stacked.shape[1:]), dims=(*grid, *dims), coords=own
        )
    return xr.Dataset(data_vars, coords=coords)
