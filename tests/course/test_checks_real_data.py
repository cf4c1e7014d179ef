"""The answer checks of lesson 5: right answers pass, and each common mistake fails with its hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from relaywidgets import RecurrentClassifier, record
from relaywidgets.course import AnswerError
from relaywidgets.course import real_data as rd
from relaywidgets.info import entropy
from relaywidgets.knockout import evaluate


def fails_with(hint_words: str, fn, *args, **kwargs) -> str:
    """Run a check that must fail; assert the message carries ``hint_words``; return the message."""
    with pytest.raises(AnswerError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert hint_words in message, message
    return message


@pytest.fixture(scope="module")
def padded():
    """A small network whose decision depends on where it stops: padded sequences of lengths 3 to 8.

    The class is the sign of the last real step of channel 0; after it come zeros. A GRU reading the zeros
    decides differently from one that stops at ``lengths - 1``, so the two accuracies differ.
    """
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n, T = 120, 8
    lengths = rng.integers(3, T + 1, n)
    X = np.zeros((n, T, 2), dtype=np.float32)
    for s, L in enumerate(lengths):
        X[s, :L] = rng.normal(size=(L, 2))
    y = (X[np.arange(n), lengths - 1, 0] > 0).astype(np.int64)
    model = RecurrentClassifier("gru", 2, 4, 2, device="cpu", seed=0)
    with torch.no_grad():  # read channel 0 now, forget the past: the decision is the sign of the last step
        for p in model.parameters():
            p.zero_()
        model.rnn.weight_ih_l0[8, 0] = 5.0  # candidate state of unit 0 follows channel 0
        model.rnn.bias_ih_l0[4] = -10.0  # update gate of unit 0 closed: h0 = candidate at every step
        model.readout.weight[1, 0] = 1.0
        model.readout.weight[0, 0] = -1.0
        model.readout.bias[0] = 1e-3  # the faint trace the closed gate leaves after the padding loses to class 0
    model.eval()
    return model, X, y, lengths


# ----------------------------------------------------------------------------------------- accuracy


def test_accuracy(padded):
    model, X, y, lengths = padded
    right = float(evaluate(model, X, y, lengths=lengths).accuracy)
    wrong = float(evaluate(model, X, y).accuracy)
    assert right == 1.0 and wrong < 0.9  # the fixture does what it says
    rd.check_test_accuracy(right, model, X, y, lengths)
    fails_with("Pass lengths=", rd.check_test_accuracy, wrong, model, X, y, lengths)
    fails_with("percentage", rd.check_test_accuracy, 100 * right, model, X, y, lengths)
    fails_with("evaluate(model, X_test", rd.check_test_accuracy, 0.3, model, X, y, lengths)
    fails_with("should be a number", rd.check_test_accuracy, None, model, X, y, lengths)


# ------------------------------------------------------------------------------------------ running


def test_running():
    lengths = np.array([7, 7, 9, 12, 29, 3])
    rd.check_running(lambda L, t: int(np.sum(np.asarray(L) > t)), lengths)
    rd.check_running(lambda L, t: np.sum(np.asarray(L) > t), lengths)  # a numpy int is fine
    fails_with("not L >= t", rd.check_running, lambda L, t: int(np.sum(np.asarray(L) >= t)), lengths)
    fails_with("have ended", rd.check_running, lambda L, t: int(np.sum(np.asarray(L) <= t)), lengths)
    fails_with("not the share", rd.check_running, lambda L, t: float(np.mean(np.asarray(L) > t)), lengths)
    fails_with("greater than t", rd.check_running, lambda L, t: 3, lengths)
    fails_with("should be a function", rd.check_running, 5, lengths)
    fails_with("should be a number", rd.check_running, lambda L, t: None, lengths)


# ------------------------------------------------------------------------------------- decision entropy


def _h(p):
    return 0.0 if p in (0.0, 1.0) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _h_all(codes):
    p = np.bincount(codes) / len(codes)
    return float(-(p[p > 0] * np.log2(p[p > 0])).sum())


@pytest.fixture
def rec():
    # 3 classes; the decisions differ from the labels, so that a label-based answer is caught.
    prediction = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    label = np.array([0, 1, 1, 1, 1, 2, 2, 0, 0, 2])
    return xr.Dataset({"prediction": ("sample", prediction), "label": ("sample", label)}, coords={"class": [0, 1, 2]})


def test_decision_entropy(rec):
    def right(r, c):
        return _h(float(np.mean(r.prediction.values == c)))

    rd.check_decision_entropy(right, rec)
    rd.check_decision_entropy(lambda r, c: entropy((r.prediction.values == c).astype(int)), rec)
    fails_with("nats", rd.check_decision_entropy, lambda r, c: right(r, c) * math.log(2), rec)
    fails_with(
        "rec.prediction, not rec.label",
        rd.check_decision_entropy,
        lambda r, c: _h(float(np.mean(r.label.values == c))),
        rec,
    )
    fails_with("one-vs-rest", rd.check_decision_entropy, lambda r, c: _h_all(r.prediction.values), rec)
    fails_with("log2 (1 - p)", rd.check_decision_entropy, lambda r, c: 0.5, rec)
    fails_with("should be a function", rd.check_decision_entropy, 0.5, rec)


def test_decision_entropy_on_a_real_recording(padded):
    model, X, y, lengths = padded
    r = record(model, X, y, lengths=lengths)
    rd.check_decision_entropy(lambda rr, c: entropy((rr.prediction.values == c).astype(int)), r)


# ----------------------------------------------------------------------------------------- above floor


@pytest.fixture
def relays():
    return xr.Dataset(
        {
            "total": (("concept", "time"), [[0.5, 0.6], [0.4, 0.3]]),
            "null_mean": (("concept", "time"), [[0.2, 0.1], [0.1, 0.2]]),
        },
        coords={"concept": ["1", "2"], "time": [6, 7]},
    )


def test_above_floor(relays):
    rd.check_above_floor([0.3, 0.3], relays, 6)
    rd.check_above_floor(np.array([0.5, 0.1]), relays, 7)
    rd.check_above_floor((relays.total - relays.null_mean).sel(time=7), relays, 7)  # a DataArray
    fails_with("Subtract it", rd.check_above_floor, [0.5, 0.4], relays, 6)
    fails_with("sign is flipped", rd.check_above_floor, [-0.3, -0.3], relays, 6)
    fails_with("mean over all steps", rd.check_above_floor, [0.4, 0.2], relays, 6)
    fails_with("null_mean).sel(time=6)", rd.check_above_floor, [0.1, 0.1], relays, 6)
    fails_with("one per class", rd.check_above_floor, 0.3, relays, 6)
    fails_with("got 3", rd.check_above_floor, [0.3, 0.3, 0.3], relays, 6)


# -------------------------------------------------------------------------------------- beats random


@pytest.fixture
def tests():
    def t(p, drop, mean):
        return xr.Dataset({"p_value": p, "relay_drop": drop, "random_drop_mean": mean})

    # '1' beats random; '2' hurts more than the random mean but not significantly; '3' does nothing.
    return {"1": t(0.01, 0.4, 0.05), "2": t(0.2, 0.15, 0.05), "3": t(1.0, 0.0, 0.02)}


def test_beats_random(tests):
    rd.check_beats_random(["1"], tests)
    rd.check_beats_random(("1",), tests)
    rd.check_beats_random("1", tests)
    rd.check_beats_random(np.array(["1"]), tests)
    fails_with("which is what p_value counts", rd.check_beats_random, ["1", "2"], tests)
    fails_with("p_value) < 0.05", rd.check_beats_random, [], tests)
    fails_with("names and the indices differ by one", rd.check_beats_random, [0], tests)
    fails_with("not speaker names", rd.check_beats_random, ["speaker 1"], tests)
    fails_with("list of speaker names", rd.check_beats_random, None, tests)
    no_winner = {k: v for k, v in tests.items() if k != "1"}
    rd.check_beats_random([], no_winner)
