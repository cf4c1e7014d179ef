"""Recordings from plain arrays: the contract holds, analyses run on them, bad arrays get clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import relaywidgets as rw
from relaywidgets import RecordingError, check_recording, recording_from_arrays
from relaywidgets.errors import InputError
from relaywidgets.relay import find_relays


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(6, 4, 400)).astype(np.float32)
    decision = (hidden[2, -1] > 0).astype(np.int64)  # planted: unit 2 at the last step decides
    return hidden, decision


def test_public_and_contract_conforming(arrays):
    hidden, decision = arrays
    rec = rw.recording_from_arrays(hidden, decision, class_names=["off", "on"], task="sim", seed=4)
    assert check_recording(rec) is rec
    np.testing.assert_array_equal(rec.hidden.values, hidden)
    assert list(rec.class_name.values) == ["off", "on"]
    assert rec.attrs["task"] == "sim" and rec.attrs["seed"] == 4 and rec.attrs["num_classes"] == 2
    assert list(rec.node.values[:2]) == ["l0.h0", "l0.h1"]


def test_find_relays_recovers_the_planted_unit(arrays):
    hidden, decision = arrays
    rec = recording_from_arrays(hidden, decision)
    res = find_relays(rec, concepts=[1], times=[3], n_perm=0, progress=False)
    assert [str(n) for n in res.node.values[res.is_relay.values[0, 0]]] == ["l0.h2"]


def test_lengths_pad_with_nan_and_cell_is_kept():
    hidden = np.ones((2, 3, 4), np.float32)
    rec = recording_from_arrays(hidden, [0, 1, 0, 1], lengths=[3, 1, 2, 3], cell=2 * hidden, arch="lstm")
    assert np.isnan(rec.hidden.values[:, 1:, 1]).all() and not np.isnan(rec.hidden.values[:, :, 0]).any()
    assert np.isnan(rec.cell.values[:, 2, 2]).all() and rec.cell.values[0, 0, 0] == 2.0
    np.testing.assert_array_equal(hidden, 1.0)  # the caller's array is not modified


def test_a_dataset_without_provenance_attributes_is_usable(arrays):
    hidden, decision = arrays
    rec = recording_from_arrays(hidden, decision).drop_attrs(deep=False)
    assert check_recording(rec) is rec
    res = find_relays(rec, concepts=[1], times=[3], n_perm=0, progress=False)
    assert res.is_relay.values.sum() >= 1


def test_a_foreign_dataset_is_pointed_to_recording_from_arrays():
    with pytest.raises(RecordingError, match="not a relaywidgets recording.*recording_from_arrays"):
        check_recording(xr.Dataset({"a": ("x", np.arange(3))}))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden": np.zeros((2, 3, 4, 5))}, "must have shape \\(node, time, sample\\)"),
        ({"hidden": np.array([["a"]])}, "must hold real numbers"),
        ({"prediction": [0, 1, 0]}, "needs one entry per sample \\(4\\)"),
        ({"prediction": [0.5, 1, 0, 1]}, "must hold integers"),
        ({"prediction": [0, 5, 0, 1], "num_classes": 3}, "outside 0 .. 2"),
        ({"lengths": [0, 1, 1, 1]}, "must lie in 1 .. 3"),
        ({"hidden": np.full((2, 3, 4), np.nan)}, "NaN within the valid steps"),
        ({"hidden": np.full((2, 3, 4), np.inf)}, "infinite values"),
        ({"node_labels": ["a", "a"]}, "2 unique labels"),
        ({"class_names": ["x"]}, "2 names"),
        ({"num_layers": 3}, "must be an int in \\[1, 2\\]"),
        ({"logits": np.zeros((3, 4))}, "shape \\(class, sample\\) = \\(2, 4\\)"),
        ({"cell": np.zeros((2, 2, 4))}, "shape of hidden"),
        ({"arch": "transformer"}, "must be one of 'rnn', 'lstm', 'gru', 'other'"),
        ({"seed": 1.5}, "'seed' parameter of recording_from_arrays must be an int"),
    ],
)
def test_bad_arrays_are_named(kwargs, match):
    args = {"hidden": np.zeros((2, 3, 4)), "prediction": [0, 1, 0, 1]}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        recording_from_arrays(args.pop("hidden"), args.pop("prediction"), **args)
