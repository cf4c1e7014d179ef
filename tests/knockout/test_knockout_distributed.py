"""Effect maps, causal sets, deletion curves and relay knockout tests on a two-worker Dask cluster: the
in-process result exactly, a Zarr-backed reference and relays read without loading the recording, and the
errors of a lost cluster and of bad client values."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from relaywidgets import RecurrentClassifier, find_relays, load_recording, make_task, record, train  # noqa: E402
from relaywidgets.errors import ClusterError, InputError  # noqa: E402
from relaywidgets.knockout import (  # noqa: E402
    causal_set,
    deletion_curve,
    effect_map,
    keep_set,
    relay_knockout_test,
    unit_effects,
)
from relaywidgets.knockout import effects as effects_module  # noqa: E402
from relaywidgets.recording_store import record_to_store  # noqa: E402


@pytest.fixture(scope="module")
def net_and_data():
    """A tiny LSTM (two layers of 5 units) trained on 60 delayed-cue sequences, with varied lengths."""
    X, y = make_task("delayed-cue", n_samples=60, seq_len=6, seed=2)
    lengths = np.random.default_rng(1).integers(3, 7, size=len(y))
    model = RecurrentClassifier("lstm", X.shape[2], 5, 4, num_layers=2, device="cpu", seed=1)
    train(model, X, y, epochs=60, lr=3e-2, seed=0, progress=False)  # ~97 % right: sets to find, margins > 0
    return model, X, y, lengths


@pytest.fixture(scope="module")
def store(net_and_data, tmp_path_factory):
    """The tiny LSTM's recording in a Zarr store, chunked by 16 samples and 2 steps."""
    model, X, y, lengths = net_and_data
    path = tmp_path_factory.mktemp("zarr") / "ko.zarr"
    record_to_store(record, model, X, y, lengths, store=path, batch_size=16, chunk_bytes=10 * 16 * 4 * 2)
    return path


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def _tasks_ran(client) -> int:
    """Tasks the workers have run so far (to check that the work went to the cluster)."""
    return sum(client.run(lambda dask_worker: len(dask_worker.state.log)).values())


def test_effect_map_and_unit_effects_on_a_cluster_equal_the_in_process_ones(net_and_data, store, client):
    model, X, y, lengths = net_and_data
    reference = load_recording(store)  # Dask-backed: the medians are taken group of nodes by group of nodes
    assert reference.hidden.chunks is not None
    kw = dict(lengths=lengths, window=2, n_boot=25, seed=3, value="median", reference=reference, progress=False)
    here = effect_map(model, X, y, **kw)
    before = _tasks_ran(client)
    there = effect_map(model, X, y, client=client, **kw)
    assert _tasks_ran(client) > before
    xr.testing.assert_identical(there, here)
    assert np.isfinite(here.accuracy_drop_low).all()
    # the reference in memory gives the same medians
    xr.testing.assert_identical(effect_map(model, X, y, **dict(kw, reference=reference.load())), here)
    # a few units per pass: the units are cut into several blocks
    kw = dict(lengths=lengths, n_boot=25, batch_size=120, times=slice(2, None), progress=False)
    xr.testing.assert_identical(unit_effects(model, X, y, client=client, **kw), unit_effects(model, X, y, **kw))
    assert client.status == "running"  # a Client handed in is left open


def test_a_mean_reference_from_a_store_matches_the_loaded_one(net_and_data, store):
    model, X, y, lengths = net_and_data
    lazy = load_recording(store)
    kw = dict(lengths=lengths, n_boot=0, value="mean", clamp_cell=True, progress=False)
    from_store = unit_effects(model, X, y, reference=lazy, **kw)
    loaded = unit_effects(model, X, y, reference=lazy.load(), **kw)
    # summed chunk by chunk rather than in one go: equal to float64 rounding, so the float32 fill values agree
    from relaywidgets.knockout._reference import node_statistic

    for name in ("hidden", "cell"):
        np.testing.assert_allclose(node_statistic(lazy[name], "mean"), node_statistic(lazy[name].load(), "mean"),
                                   rtol=1e-12)
    xr.testing.assert_allclose(from_store, loaded)


def test_causal_and_keep_sets_on_a_cluster_equal_the_in_process_ones(net_and_data, client):
    model, X, y, lengths = net_and_data
    for grow, kw in ((causal_set, dict(target=0.9, metric="margin")), (keep_set, dict(tolerance=0.2))):
        kw = dict(kw, lengths=lengths, batch_size=90, progress=False)  # 90 rows: 6 or fewer sets per pass
        here = grow(model, X, y, "all", **kw)
        assert bool(here.reached) and int(here.set_size) >= 1
        xr.testing.assert_identical(grow(model, X, y, "all", client=client, **kw), here)


def test_deletion_curve_on_a_cluster_equals_the_in_process_one(net_and_data, client):
    model, X, y, lengths = net_and_data
    kw = dict(lengths=lengths, n_random=30, seed=5, batch_size=100, progress=False)
    here = deletion_curve(model, X, y, ["readout", "effect"], 1, **kw)
    xr.testing.assert_identical(deletion_curve(model, X, y, ["readout", "effect"], 1, client=client, **kw), here)


def test_relay_knockout_test_from_a_store_on_a_cluster_equals_the_in_process_one(net_and_data, store, client):
    model, X, y, lengths = net_and_data
    lazy = load_recording(store)
    relays = find_relays(lazy, n_perm=0, progress=False, client=False)  # read block by block from the store
    kw = dict(n_random=40, seed=7, significant_only=False, value="median", clamp_cell=True, lengths=lengths,
              batch_size=70)  # 70 rows: a few random sets per pass, so several blocks
    here = relay_knockout_test(model, X, y, relays, 1, reference=lazy, **kw)
    assert here.sizes["member"] > 0
    xr.testing.assert_identical(relay_knockout_test(model, X, y, relays, 1, reference=lazy, client=client, **kw),
                                here)
    xr.testing.assert_identical(relay_knockout_test(model, X, y, relays, 1, reference=lazy.load(), **kw), here)


@pytest.mark.parametrize("bad", [3, "", "locl", ["local"], True])
def test_bad_client_values_name_the_choices(net_and_data, bad):
    model, X, y, _ = net_and_data
    with pytest.raises(InputError, match=r"'client' parameter of effect_map must be None .*'local'.*tcp://host:8786"):
        effect_map(model, X, y, n_boot=0, progress=False, client=bad)


def test_a_closed_client_is_refused(net_and_data):
    model, X, y, _ = net_and_data
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        closed = distributed.Client(cluster)
        closed.close()
    for run in (
        lambda: causal_set(model, X, y, "all", progress=False, client=closed),
        lambda: deletion_curve(model, X, y, "readout", 1, n_random=5, progress=False, client=closed),
    ):
        with pytest.raises(ClusterError, match="not running.*client=None"):
            run()


_REAL_BLOCK = effects_module._effect_block


def _slow_block(*args):
    # a file, not a threading.Event: the flag must survive being handed to a worker
    Path(os.environ["KNOCKOUT_TEST_FLAG"]).touch()
    time.sleep(0.2)
    return _REAL_BLOCK(*args)


def test_a_cluster_that_goes_away_mid_run_raises_a_clear_error(net_and_data, tmp_path, monkeypatch):
    model, X, y, _ = net_and_data
    flag = tmp_path / "block-started"
    monkeypatch.setenv("KNOCKOUT_TEST_FLAG", str(flag))
    monkeypatch.setattr(effects_module, "_effect_block", _slow_block)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    c = distributed.Client(cluster)

    def pull_the_plug():
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster.close()

    killer = threading.Thread(target=pull_the_plug)
    killer.start()
    try:
        with pytest.raises(ClusterError, match="went away while effect_map ran") as info:
            effect_map(model, X, y, n_boot=0, progress=False, client=c)
        assert "run again" in str(info.value)
    finally:
        killer.join()
        c.close()
