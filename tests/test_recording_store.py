"""Recordings streamed to Zarr stores: same contract and values as in memory, lazy on load, never half-complete."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from relaywidgets import RecurrentClassifier, check_recording, load_recording, make_task, record
from relaywidgets.errors import InputError, RecordingError
from relaywidgets.recording_store import PARTIAL_SUFFIX, record_to_store

ROOT = Path(__file__).resolve().parents[1]


def _without_created(ds: xr.Dataset) -> xr.Dataset:
    return ds.assign_attrs(created="")


@pytest.fixture(scope="module")
def lstm_and_data():
    X, y = make_task("delayed-cue", n_samples=70, seq_len=6, seed=0)
    lengths = np.random.default_rng(0).integers(2, 7, size=70)
    return RecurrentClassifier("lstm", X.shape[2], 5, 4, device="cpu", seed=0), X, y, lengths


def test_store_holds_the_in_memory_recording_batch_by_batch(tmp_path, lstm_and_data):
    model, X, y, lengths = lstm_and_data
    in_memory = record(model, X, y, lengths, batch_size=16, task="delayed-cue")
    stored = record(model, X, y, lengths, batch_size=16, task="delayed-cue", store=tmp_path / "run.zarr")
    # lazy: Dask-backed, chunked along sample by batch
    assert stored.hidden.chunks is not None and stored.cell.chunks is not None
    assert stored.hidden.chunksizes["sample"] == (16, 16, 16, 16, 6)
    check_recording(stored)
    xr.testing.assert_identical(_without_created(stored.load()), _without_created(in_memory))
    # NaN exactly after each length, as in memory
    assert np.isnan(stored.hidden.values[:, lengths[0]:, 0]).all()
    reopened = load_recording(tmp_path / "run.zarr")
    assert reopened.hidden.chunks is not None
    xr.testing.assert_identical(_without_created(reopened.load()), _without_created(in_memory))
    assert not (tmp_path / ("run.zarr" + PARTIAL_SUFFIX)).exists()


def test_store_of_a_wrapped_torch_model(tmp_path):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru, self.head = torch.nn.GRU(4, 3, batch_first=True), torch.nn.Linear(3, 4)

        def forward(self, x):
            return self.head(self.gru(x)[0][:, -1])

    torch.manual_seed(0)
    net = Net()
    X, y = make_task("delayed-cue", n_samples=20, seq_len=5, seed=1)
    stored = record(net, X, y, batch_size=8, store=tmp_path / "net.zarr").load()
    xr.testing.assert_identical(_without_created(stored), _without_created(record(net, X, y)))


def test_store_time_chunks_follow_the_chunk_size(tmp_path, lstm_and_data):
    model, X, y, _ = lstm_and_data
    # 5 nodes x 16 samples x 4 bytes = 320 bytes per step: 700 bytes hold 2 steps
    stored = record_to_store(record, model, X, y, None, store=tmp_path / "c.zarr", batch_size=16, chunk_bytes=700)
    assert stored.hidden.chunksizes["time"] == (2, 2, 2)


def test_record_refuses_an_existing_store_path(tmp_path, lstm_and_data):
    model, X, y, _ = lstm_and_data
    (tmp_path / "taken.zarr").mkdir()
    with pytest.raises(InputError, match="exists already"):
        record(model, X, y, store=tmp_path / "taken.zarr")


def test_a_path_that_is_not_a_recording_store(tmp_path):
    with pytest.raises(RecordingError, match="No recording store"):
        load_recording(tmp_path / "missing.zarr")
    foreign = tmp_path / "foreign.zarr"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not zarr")
    with pytest.raises(RecordingError, match="not a Zarr recording store"):
        load_recording(foreign)
    other = tmp_path / "other.zarr"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_zarr(other, zarr_format=2, consolidated=True)
    with pytest.raises(RecordingError, match="not a relaywidgets recording"):
        load_recording(other)


def test_a_failed_write_leaves_no_store(tmp_path, lstm_and_data):
    model, X, y, _ = lstm_and_data
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full (simulated)")
        return record(*args, **kwargs)

    with pytest.raises(RuntimeError, match="simulated"):
        record_to_store(failing, model, X, y, None, store=tmp_path / "run.zarr", batch_size=16)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_write_leaves_a_partial_store_that_is_refused_and_replaced(tmp_path, lstm_and_data):
    # The writing process dies at the third batch without any cleanup (as under kill -9 or a power cut).
    script = textwrap.dedent(
        f"""
        import os
        from relaywidgets import RecurrentClassifier, make_task, record
        from relaywidgets.recording_store import record_to_store
        X, y = make_task("delayed-cue", n_samples=70, seq_len=6, seed=0)
        model = RecurrentClassifier("lstm", X.shape[2], 5, 4, device="cpu", seed=0)
        calls = []
        def dying(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                os._exit(3)
            return record(*args, **kwargs)
        record_to_store(dying, model, X, y, None, store={str(tmp_path / "run.zarr")!r}, batch_size=16)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 3, out.stderr[-2000:]
    partial = tmp_path / ("run.zarr" + PARTIAL_SUFFIX)
    assert partial.is_dir() and not (tmp_path / "run.zarr").exists()
    with pytest.raises(RecordingError, match="interrupted"):
        load_recording(tmp_path / "run.zarr")
    with pytest.raises(RecordingError, match="partial recording store"):
        load_recording(partial)
    # even renamed by hand, a store without its consolidated metadata is refused
    renamed = tmp_path / "renamed.zarr"
    partial.rename(renamed)
    with pytest.raises(RecordingError, match="partial recording store"):
        load_recording(renamed)
    renamed.rename(partial)
    # recording again clears the leftover and completes
    model, X, y, _ = lstm_and_data
    stored = record(model, X, y, batch_size=16, store=tmp_path / "run.zarr")
    assert stored.sizes["sample"] == 70 and not partial.exists()


def test_a_foreign_directory_at_the_partial_name_is_left_alone(tmp_path, lstm_and_data):
    model, X, y, _ = lstm_and_data
    mine = tmp_path / ("run.zarr" + PARTIAL_SUFFIX)
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="not a partial recording store"):
        record(model, X, y, store=tmp_path / "run.zarr")
    assert (mine / "thesis.tex").read_text() == "precious"
