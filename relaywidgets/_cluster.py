"""Where an analysis runs: in this process, or on a Dask cluster (a LocalCluster, a scheduler address, a Client).

One vocabulary for the ``client=`` parameter of the functions that can use a cluster (sweeps, knockout
experiments), one check of a Client handed in, and one way of telling a lost cluster from a failed analysis
(docs/scaling.md). Dask and distributed are imported only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from .errors import ClusterError, InputError, RelaywidgetsError

__all__ = [
    "CLIENT_CHOICES",
    "check_running",
    "close_all",
    "cluster_failure",
    "completed",
    "is_client",
    "open_client",
    "tasks_on_cluster",
]

#: What ``client=`` may be, in the words of the error messages.
CLIENT_CHOICES = (
    "None (this process), 'local' (a LocalCluster on this machine), a scheduler address such as "
    "'tcp://host:8786', or a distributed.Client"
)


def is_client(client: Any) -> bool:
    """Whether ``client`` is a ``distributed.Client`` (without importing distributed when nothing uses it)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    return isinstance(client, Client)


def check_running(client: Any, owner: str, in_process: str = "client=None") -> Any:
    """``client`` when it is running, else a ClusterError: a closed Client's cluster has gone.

    ``in_process`` is how the owner's ``client=`` parameter says "this process", for the message.
    """
    if client.status != "running":
        raise ClusterError(
            f"The Dask client passed to {owner} is {client.status!r}, not running: its cluster has gone. Connect "
            f"a new Client, or pass {in_process} to run in this process."
        )
    return client


def open_client(client: Any, owner: str, *, n_workers: int | None = None) -> tuple[Any, list[Any]]:
    """The Client to run on (None: this process) and what to close afterwards (only what this call opened).

    Parameters
    ----------
    client : None, False, "local", str or distributed.Client
        ``None`` or ``False``: this process. ``"local"``: a new ``LocalCluster`` of single-threaded worker
        processes. Another string: the address of a running scheduler (``"tcp://host:8786"``, ``"host:8786"``).
        A ``distributed.Client``: that cluster, left open afterwards.
    owner : str
        The public function, named in error messages.
    n_workers : int, optional
        Workers of the ``"local"`` cluster (default: one per core).

    Returns
    -------
    client : distributed.Client or None
    opened : list
        The Client and cluster this call started, to hand to :func:`close_all` when done.

    Raises
    ------
    InputError
        When ``client`` is none of the above.
    ClusterError
        When a Client handed in is closed, or no scheduler answers at the address.
    """
    if client is None or client is False:
        return None, []
    if is_client(client):
        return check_running(client, owner), []
    if isinstance(client, str) and client == "local":
        from distributed import Client, LocalCluster

        # One thread per worker: the tasks are the parallelism, and torch/BLAS threads would oversubscribe
        # the cores (worker processes start with OMP_NUM_THREADS=1).
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            new = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        return new, [new, cluster]
    # A scheduler address has a port ("host:8786") or a protocol ("tcp://host:8786"); anything else is a typo
    # that would otherwise wait for a connection timeout.
    if isinstance(client, str) and ":" in client:
        from distributed import Client

        try:
            new = Client(client, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"{owner} could not reach a Dask scheduler at {client!r} ({type(exc).__name__}: {exc}). Check that "
                "the scheduler runs and the address (tcp://host:8786) is right, or pass client='local' or None."
            ) from exc
        return new, [new]
    raise InputError(
        f"The 'client' parameter of {owner} must be {CLIENT_CHOICES}. Got {client!r} instead. "
        "See docs/scaling.md."
    )


def close_all(opened: list[Any]) -> None:
    """Close what :func:`open_client` opened (the Client first, then its cluster)."""
    for thing in opened:
        try:
            thing.close()
        except Exception:  # noqa: BLE001 - a cluster that already went away has nothing left to close
            pass


def cluster_failure(client: Any, exc: BaseException) -> bool:
    """Whether ``exc`` says the cluster, rather than the analysis, failed."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    if isinstance(exc, (CancelledError, KilledWorker, CommClosedError, OSError, TimeoutError)):
        return True
    return getattr(client, "status", "running") != "running"


def completed(futures: list[Any]) -> Iterator[tuple[Any, Any]]:
    """``(future, result)`` for each of ``futures`` as it finishes.

    ``as_completed(..., with_results=True)`` hands a cancelled or failed future's exception over as its result
    instead of raising it; it is raised here, so that :func:`tasks_on_cluster` sees it.
    """
    from distributed import as_completed

    for future, result in as_completed(futures, with_results=True):
        if isinstance(result, BaseException):
            raise result
        yield future, result


@contextlib.contextmanager
def tasks_on_cluster(
    client: Any, futures: list[Any], *, total: int, what: str, during: str, in_process: str, then: str = ""
) -> Iterator[None]:
    """Run the body that submits and gathers ``futures``: a lost cluster becomes a :class:`ClusterError`.

    The body fills ``futures`` in place (``futures.extend(...)``). An error of the analysis itself (any
    :class:`RelaywidgetsError`, e.g. raised on a worker) passes through unchanged; an error that says the cluster
    went away (:func:`cluster_failure`) is raised as a ClusterError naming how many of the ``total`` ``what``
    had finished; and whatever happens, the tasks still pending are cancelled.

    Parameters
    ----------
    client : distributed.Client
    futures : list
        The futures the body submits, appended to this list.
    total : int
        How many tasks the run has.
    what : str
        What a task is, plural, for the message (``"steps"``, ``"points"``).
    during : str
        When it happened, for the message (``"while find_relays ran"``).
    in_process : str
        How the caller's ``client=`` says "this process" (``"client=None"``).
    then : str, optional
        Appended to "run again" in the message (e.g. ``": the results do not depend on ..."``).
    """
    try:
        yield
    except RelaywidgetsError:
        raise
    except Exception as exc:
        if cluster_failure(client, exc):
            done = sum(f.status == "finished" for f in futures)
            raise ClusterError(
                f"The Dask cluster went away {during} ({type(exc).__name__}: {exc}); {done} of {total} {what} had "
                f"finished and no result was returned. Restart the cluster (or pass {in_process} to run in this "
                f"process) and run again{then}."
            ) from exc
        raise
    finally:
        if futures and any(f.status == "pending" for f in futures):
            try:
                client.cancel(futures)
            except Exception:  # noqa: BLE001 - the cluster may already be gone; nothing left to cancel then
                pass
