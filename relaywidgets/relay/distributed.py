"""Where the steps of a relay map run: in this process, block by block, or as tasks on a Dask cluster.

:func:`~relaywidgets.relay.find_relays` cuts the map into steps (:mod:`._step`); this module feeds them their
activations without loading a Dask-backed recording whole, and runs them on a ``dask.distributed`` Client's
workers when there is one (docs/scaling.md). Dask and distributed are imported only when used.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, Callable, Iterator

import numpy as np
import xarray as xr

from .._cluster import completed, open_client, tasks_on_cluster
from ._step import StepOutcome, StepSetup, analyse_step

__all__ = ["is_lazy", "resolve_client", "local_steps", "run_steps"]


def is_lazy(data: xr.DataArray) -> bool:
    """Whether ``data`` is Dask-backed (e.g. opened from a Zarr store) rather than in memory."""
    return data.chunks is not None


def resolve_client(client: Any, lazy: bool, owner: str) -> tuple[Any, list[Any]]:
    """The Client to run on (None: this process) and what this call opened (to close when done).

    ``None``: the current Client when one exists and the recording is Dask-backed (``lazy``); ``False``: none;
    ``"local"``, a scheduler address or a Client: as everywhere else (:func:`relaywidgets._cluster.open_client`).
    """
    if client is None:
        # No Client can exist before distributed was imported: skip the import (about half a second).
        if not lazy or "distributed" not in sys.modules:
            return None, []
        from distributed import Client

        try:
            current = Client.current()
        except ValueError:  # no current client
            return None, []
        return (current if current.status == "running" else None), []
    return open_client(client, owner)


def _time_groups(hidden: xr.DataArray) -> list[range]:
    """Positions along ``time`` read together: a stored chunk of steps when Dask-backed, one step otherwise."""
    n = hidden.sizes["time"]
    if not is_lazy(hidden):
        return [range(t, t + 1) for t in range(n)]
    groups, start = [], 0
    for size in hidden.chunksizes["time"]:
        groups.append(range(start, start + size))
        start += size
    return groups


def local_steps(
    setup: StepSetup, hidden: xr.DataArray, whole_codes: np.ndarray | None, time_labels: np.ndarray
) -> Iterator[StepOutcome]:
    """Analyse every step in this process, in order, holding at most one stored block of steps in memory.

    ``hidden`` (node, time, sample) is in memory or Dask-backed; ``whole_codes`` are codes of a callable
    discretizer (in-memory recordings only), used instead of ``hidden`` when given.
    """
    cache: dict[bytes, np.ndarray] = {}
    in_memory = None if is_lazy(hidden) else np.asarray(hidden.values)
    for group in _time_groups(hidden):
        if whole_codes is not None:
            block = None
        elif in_memory is not None:
            block = in_memory[:, group.start:group.stop, :]
        else:
            # this process's threads, even when a distributed Client is the default scheduler (client=False)
            block = np.asarray(hidden.isel(time=slice(group.start, group.stop)).data.compute(scheduler="threads"))
        for j, ti in enumerate(group):
            if whole_codes is not None:
                yield analyse_step(setup, ti, int(time_labels[ti]), None, whole_codes[:, ti, :], cache)
            else:
                yield analyse_step(setup, ti, int(time_labels[ti]), block[:, j, :], None, cache)


def _step_task(setup: StepSetup, t_pos: int, t_label: int, values: np.ndarray) -> StepOutcome:
    """One step on a worker (module level, so workers import it rather than unpickle a closure)."""
    return analyse_step(setup, t_pos, t_label, values)


def run_steps(
    client: Any,
    setup: StepSetup,
    hidden: xr.DataArray,
    time_labels: np.ndarray,
    *,
    on_done: Callable[[], None] = lambda: None,
    owner: str = "find_relays",
) -> list[StepOutcome]:
    """Analyse every step as a task on ``client``'s workers; the outcomes, in the order they finished.

    Each task reads its step from the stored chunks (a chunk read once is shared by the steps in it) and
    runs all concepts there, so a step's partitions are computed once. ``setup`` goes to each worker once.

    Raises
    ------
    ClusterError
        When the cluster goes away (scheduler or all workers lost, client closed) before every step is done;
        the unfinished tasks are cancelled and nothing is returned.
    """
    import dask

    data = hidden.data
    shared = dask.delayed(setup, name=f"relay-setup-{uuid.uuid4().hex}", traverse=False)
    task = dask.delayed(_step_task, pure=True)
    tasks = [task(shared, ti, int(time_labels[ti]), data[:, ti, :]) for ti in range(hidden.sizes["time"])]
    futures: list[Any] = []
    outcomes = []
    with tasks_on_cluster(
        client, futures, total=len(tasks), what="steps", during=f"while {owner} ran", in_process="client=False",
        then=": the results do not depend on where or in what order the steps ran",
    ):
        futures.extend(client.compute(tasks))
        for _, outcome in completed(futures):
            outcomes.append(outcome)
            on_done()
    return outcomes
