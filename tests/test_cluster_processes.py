"""Analyses on a LocalCluster of real worker processes (processes=True): every task and its data are pickled,
sent to another Python process and run there. A relay map of a Zarr-backed recording and the knockout
experiments give the in-process results exactly."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from relaywidgets import RecurrentClassifier, find_relays, load_recording, make_task, record  # noqa: E402
from relaywidgets.knockout import effect_map, relay_knockout_test  # noqa: E402
from relaywidgets.recording_store import record_to_store  # noqa: E402


@pytest.fixture(scope="module")
def data():
    """A small GRU, its sequences (varied lengths) and its recording in a Zarr store (3 x 3 chunks)."""
    X, y = make_task("delayed-cue", n_samples=90, seq_len=9, seed=4)
    lengths = np.random.default_rng(2).integers(4, 10, size=len(y))
    model = RecurrentClassifier("gru", X.shape[2], 8, 4, device="cpu", seed=2)
    return model, X, y, lengths


@pytest.fixture(scope="module")
def store(data, tmp_path_factory):
    model, X, y, lengths = data
    path = tmp_path_factory.mktemp("zarr") / "gru.zarr"
    record_to_store(record, model, X, y, lengths, store=path, batch_size=32, chunk_bytes=8 * 32 * 4 * 3)
    return path


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, as the benchmarks and docs/scaling.md run them."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a.assign_attrs(created=""), b.assign_attrs(created=""))


def test_relay_map_of_a_zarr_store_on_worker_processes_is_identical_to_in_memory(store, client):
    lazy = load_recording(store)
    assert lazy.hidden.chunksizes["time"] == (3, 3, 3) and lazy.hidden.chunksizes["sample"] == (32, 32, 26)
    kw = dict(n_perm=20, seed=1, progress=False)
    on_workers = find_relays(lazy, client=client, **kw)
    assert {p for p in client.run(lambda: __import__("os").getpid()).values()} != {__import__("os").getpid()}
    _same(on_workers, find_relays(lazy.load(), **kw))


def test_knockout_experiments_on_worker_processes_equal_the_in_process_ones(data, store, client):
    model, X, y, lengths = data
    lazy = load_recording(store)
    kw = dict(lengths=lengths, n_boot=20, value="mean", reference=lazy, progress=False)
    xr.testing.assert_identical(effect_map(model, X, y, client=client, **kw), effect_map(model, X, y, **kw))
    relays = find_relays(lazy, n_perm=0, progress=False, client=False, nodes=[0, 2, 4, 6])
    kw = dict(n_random=30, significant_only=False, lengths=lengths, value="median", reference=lazy, batch_size=90)
    xr.testing.assert_identical(relay_knockout_test(model, X, y, relays, 2, client=client, **kw),
                                relay_knockout_test(model, X, y, relays, 2, **kw))


@pytest.mark.slow  # starts and stops its own cluster of worker processes (about 5-10 s)
def test_client_local_starts_a_cluster_of_worker_processes_and_gives_the_same_test(data, store):
    model, X, y, lengths = data
    relays = find_relays(load_recording(store), n_perm=0, progress=False, client=False, nodes=[0, 2, 4, 6])
    kw = dict(n_random=12, seed=3, significant_only=False, lengths=lengths, batch_size=90)
    xr.testing.assert_identical(relay_knockout_test(model, X, y, relays, 1, client="local", **kw),
                                relay_knockout_test(model, X, y, relays, 1, **kw))


def test_find_relays_takes_a_scheduler_address_and_leaves_that_cluster_running(store, client):
    lazy = load_recording(store)
    kw = dict(n_perm=10, seed=2, progress=False)
    _same(find_relays(lazy, client=client.scheduler.address, **kw), find_relays(lazy, client=False, **kw))
    assert client.status == "running" and len(client.scheduler_info()["workers"]) == 2


@pytest.mark.slow  # starts and stops its own cluster of worker processes (about 5-10 s)
def test_find_relays_client_local_starts_and_closes_its_own_cluster(store, monkeypatch):
    import relaywidgets.relay.distributed as dist

    opened = []

    def spy(client, owner):
        result = real(client, owner)
        opened.extend(result[1])
        return result

    real = dist.open_client
    monkeypatch.setattr(dist, "open_client", spy)
    lazy = load_recording(store)
    kw = dict(n_perm=10, seed=2, progress=False)
    _same(find_relays(lazy, client="local", **kw), find_relays(lazy, client=False, **kw))
    new_client, new_cluster = opened
    assert isinstance(new_cluster, distributed.LocalCluster)
    assert new_client.status == "closed" and new_cluster.status.name == "closed"
