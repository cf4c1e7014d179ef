"""Recordings (issue 14, case 11): subsets of steps are analysed at their own steps; a relabelled
``time`` coordinate is refused with a RecordingError that says what to do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import relaywidgets as rw
from relaywidgets import RecordingError
from relaywidgets.relay import relay_information


@pytest.fixture(scope="module")
def rec():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 10, 60)).astype(np.float32)
    prediction = (hidden[0].mean(axis=0) > 0).astype(int)
    return rw.recording_from_arrays(hidden, prediction, lengths=rng.integers(6, 11, 60))


def _relays(rec, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rw.find_relays(rec, n_perm=0, progress=False, **kw)


@pytest.mark.parametrize(
    "select",
    [lambda r: r.isel(time=slice(3, 8)), lambda r: r.sel(time=[0, 4, 9]), lambda r: r.isel(time=slice(None, None, -1))],
    ids=["isel-slice", "sel-list", "reversed"],
)
def test_a_subset_of_steps_gives_the_full_recordings_results_at_those_steps(rec, select):
    full = _relays(rec)
    part = select(rec)
    sub = _relays(part)
    steps = part["time"].values
    np.testing.assert_array_equal(sub["time"].values, steps)
    np.testing.assert_allclose(sub["total"].values, full["total"].sel(time=steps).values)
    np.testing.assert_array_equal(sub["is_relay"].values, full["is_relay"].sel(time=steps).values)
    t = int(steps[-1])
    assert relay_information(part, [0, 1], time=t, concept=0) == relay_information(rec, [0, 1], time=t, concept=0)


@pytest.mark.parametrize("shift", [5, 1])
def test_a_shifted_time_coordinate_is_refused(rec, shift):
    moved = rec.assign_coords(time=rec["time"] + shift)
    with pytest.raises(RecordingError, match=r"hold activations.*number the steps from the start"):
        _relays(moved)
    with pytest.raises(RecordingError, match="undo the shift"):
        relay_information(moved, [0], time=int(moved["time"].values[-1]), concept=0)
    # a callable discretizer takes another path through find_relays
    with pytest.raises(RecordingError, match="undo the shift"):
        _relays(moved, discretizer=lambda h: np.where(np.isnan(h.values), -1, h.values > 0).astype(int))


def test_a_shifted_full_length_recording_is_refused():
    X, y = rw.make_task("delayed-cue", 16, 6, seed=0)
    rec = rw.record(rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0), X, y)
    with pytest.raises(RecordingError, match="undo the shift"):
        _relays(rec.assign_coords(time=rec["time"] + 5))


@pytest.mark.parametrize(
    "coord, message",
    [
        (np.zeros(10, dtype=int), r"lists step\(s\) \[0\] more than once"),
        (np.arange(10) - 3, "negative step numbers"),
        (np.arange(10) + 0.5, "whole step numbers"),
        (np.array(list("abcdefghij")), "whole step numbers"),
    ],
    ids=["duplicated", "negative", "fractional", "text"],
)
def test_a_time_coordinate_that_is_not_step_numbers_is_refused(rec, coord, message):
    with pytest.raises(RecordingError, match=message):
        rw.check_recording(rec.assign_coords(time=coord))


def test_whole_float_step_numbers_are_accepted(rec):
    np.testing.assert_allclose(
        _relays(rec.assign_coords(time=rec["time"].astype(float)))["total"].values, _relays(rec)["total"].values
    )


def test_lengths_of_a_full_recording_are_still_bounded(rec):
    with pytest.raises(RecordingError, match=r"must lie in 1 \.\. 10"):
        rw.check_recording(rec.assign(length=rec["length"] + 5))
