"""find_relays on a Zarr-backed recording, in this process and on a two-worker Dask cluster: identical results."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from relaywidgets import load_recording, record  # noqa: E402
from relaywidgets.errors import ClusterError, InputError  # noqa: E402
from relaywidgets.relay import find_relays  # noqa: E402
from relaywidgets.relay import distributed as relay_distributed  # noqa: E402


@pytest.fixture(scope="module")
def store(trained_lstm, cue_data, tmp_path_factory):
    """A trained LSTM's recording (varied lengths) in a Zarr store chunked by 64 samples and 4 steps."""
    _, _, X_test, y_test = cue_data
    lengths = np.random.default_rng(3).integers(8, 13, size=len(y_test))
    path = tmp_path_factory.mktemp("zarr") / "run.zarr"
    from relaywidgets.recording_store import record_to_store

    record_to_store(record, trained_lstm, X_test, y_test, lengths, store=path, batch_size=64,
                    chunk_bytes=16 * 64 * 4 * 4)
    return path


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cl:
        yield cl


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    # the time of the run is the only attribute that may differ
    xr.testing.assert_identical(a.assign_attrs(created=""), b.assign_attrs(created=""))


KW = dict(n_perm=30, progress=False, seed=4)


def test_zarr_backed_relay_map_on_two_workers_is_identical_to_in_memory(store, cluster):
    lazy = load_recording(store)
    assert lazy.hidden.chunksizes["time"] == (4, 4, 4)
    in_memory = find_relays(lazy.load(), **KW)
    assert in_memory.is_relay.any() and np.isfinite(in_memory.p_value).all()
    with distributed.Client(cluster) as client:
        on_cluster = find_relays(lazy, client=client, **KW)
        # the current Client is used when none is passed
        current = find_relays(lazy, concepts=[0, "all"], variable="cell", **KW)
    _same(on_cluster, in_memory)
    _same(current, find_relays(lazy.load(), concepts=[0, "all"], variable="cell", **KW))


def test_zarr_backed_relay_map_in_this_process_block_by_block(store):
    lazy = load_recording(store)
    for kw in (KW, dict(KW, n_perm=5, estimator="gcmi", times=[0, 5, 11], nodes=[0, 3, 7, 12])):
        _same(find_relays(lazy, client=False, **kw), find_relays(lazy.load(), **kw))


def test_in_memory_recording_on_a_cluster_when_asked(store, cluster):
    rec = load_recording(store).load()
    with distributed.Client(cluster) as client:
        _same(find_relays(rec, client=client, times=[2, 9], **KW), find_relays(rec, times=[2, 9], **KW))


def test_bad_client_and_callable_discretizer(store, cluster):
    lazy = load_recording(store)
    with pytest.raises(InputError, match="must be None.*'local'.*Got 'locl'"):
        find_relays(lazy, client="locl", **KW)
    with pytest.raises(InputError, match="must be None.*Got 3"):
        find_relays(lazy, client=3, **KW)
    with pytest.raises(InputError, match="callable discretizer"):
        find_relays(lazy, discretizer=lambda h: (h > 0).astype(np.int8), client=False, **KW)
    client = distributed.Client(cluster)
    client.close()
    with pytest.raises(ClusterError, match="not running"):
        find_relays(lazy, client=client, **KW)


_FLAG = "relay-step-started"


def _slow_step(*args):
    # a file, not a threading.Event: the task is pickled for the worker, and a lock is not picklable
    Path(os.environ["RELAY_TEST_FLAG"]).touch()
    time.sleep(0.2)
    return _REAL_STEP(*args)


_REAL_STEP = relay_distributed._step_task


def test_a_cluster_that_goes_away_mid_run_raises_a_clear_error(store, tmp_path, monkeypatch):
    flag = tmp_path / _FLAG
    monkeypatch.setenv("RELAY_TEST_FLAG", str(flag))
    monkeypatch.setattr(relay_distributed, "_step_task", _slow_step)
    lazy = load_recording(store)
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    client = distributed.Client(cl)

    def pull_the_plug():
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        cl.close()

    killer = threading.Thread(target=pull_the_plug)
    killer.start()
    try:
        with pytest.raises(ClusterError, match="went away") as info:
            find_relays(lazy, client=client, **KW)
        assert "run again" in str(info.value)
    finally:
        killer.join()
        client.close()
