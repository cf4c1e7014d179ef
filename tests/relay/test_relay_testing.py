"""relaywidgets.testing builds recordings that follow the contract, with the planted structure it promises."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import check_recording
from relaywidgets.info import discretize
from relaywidgets.testing import PLANTED_KINDS, latched_cue, make_recording, planted_relay


def test_make_recording_follows_the_contract():
    rng = np.random.default_rng(0)
    rec = make_recording(rng.normal(size=(4, 3, 20)), rng.integers(0, 3, 20), lengths=rng.integers(1, 4, 20))
    check_recording(rec)
    assert rec["hidden"].dtype == np.float32
    length = rec["length"].values
    past = np.arange(3)[:, None] >= length[None, :]
    assert np.isnan(rec["hidden"].values[:, past]).all()
    assert not np.isnan(rec["hidden"].values[:, ~past]).any()


def test_make_recording_lstm_has_cell():
    rec = make_recording(np.zeros((2, 2, 5)), np.arange(5) % 2, arch="lstm")
    check_recording(rec)
    assert "cell" in rec


@pytest.mark.parametrize("kind", PLANTED_KINDS)
def test_planted_bits_are_recovered_by_two_means(kind):
    rec, truth = planted_relay(kind, n_nodes=4, n_samples=500, seed=3)
    check_recording(rec)
    codes = discretize(rec["hidden"]).values[:, 0, :]
    out = rec["prediction"].values
    expected = {
        "single": codes[0],
        "and": codes[0] & codes[1],
        "copies": codes[0],
        "xor": codes[0] ^ codes[1],
    }
    if kind in expected:
        np.testing.assert_array_equal(out, expected[kind])
    if kind == "copies":
        np.testing.assert_array_equal(codes[0], codes[1])


def test_latched_cue_decides_by_the_cue():
    rec = latched_cue(n_nodes=4, n_steps=6, n_samples=400, lengths=np.random.default_rng(0).integers(2, 7, 400))
    check_recording(rec)
    np.testing.assert_array_equal(rec["prediction"].values, rec["label"].values)
