"""State that cannot lie (issue 14, cases 2 and 3): rejected values never stay, foreign models are refused,
and readouts follow their inputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

import relaywidgets as rw  # noqa: E402
from relaywidgets.knockout import evaluate  # noqa: E402
from relaywidgets.widgets import Explorer, ExplorerState  # noqa: E402
from relaywidgets.widgets.state import ExplorerStateError, model_fit_problems  # noqa: E402


@pytest.fixture(scope="module")
def parts():
    X, y = rw.make_task("delayed-cue", 80, 6, seed=0)
    model = rw.RecurrentClassifier("gru", 4, 5, 4, device="cpu", seed=0)
    rw.train(model, X, y, epochs=20, lr=3e-2, batch_size=40, seed=0, progress=False)
    return model, X, y, rw.record(model, X, y)


def _readouts(state):
    return (state.baseline_accuracy, state.accuracy, state.per_class_accuracy, state.knocked_out)


@pytest.mark.parametrize(
    "name, bad, words",
    [
        ("X", lambda X, y: X[:10], "X has 10 samples but y has 80"),
        ("y", lambda X, y: y[:10], "y has 10"),
        ("lengths", lambda X, y: np.full(3, 6), "one entry per sample"),
        ("lengths", lambda X, y: np.full(80, 60), "lengths go up to 60"),
        ("X", lambda X, y: X[..., :2], "2 feature"),
    ],
)
def test_a_rejected_assignment_leaves_the_state_as_it_was(parts, name, bad, words):
    model, X, y, rec = parts
    state = ExplorerState(rec, model=model)
    state.knocked_out = ("l0.h1",)
    before = {k: getattr(state, k) for k in ("model", "X", "y", "lengths")}
    readouts = _readouts(state)
    with pytest.raises(ExplorerStateError, match=words):
        setattr(state, name, bad(X, y))
    assert all(getattr(state, k) is v for k, v in before.items())
    assert _readouts(state) == readouts
    # and the state still works: the readout is that of the knockout asked for
    state.knocked_out = ("l0.h2",)
    truth = evaluate(model, X, y, knockout=rw.Knockout(["l0.h2"]))
    assert state.accuracy == pytest.approx(float(truth["accuracy"]))


@pytest.mark.parametrize(
    "other, words",
    [
        (dict(arch="lstm", hidden_size=5), "architecture 'gru' in the recording, 'lstm' in the model"),
        (dict(arch="gru", hidden_size=7), r"units per layer \[5\] in the recording, \[7\] in the model"),
        (dict(arch="gru", hidden_size=5, num_layers=2), "1 layer\\(s\\) in the recording, 2 in the model"),
        (dict(arch="gru", hidden_size=5, num_classes=3), "4 classes in the recording, 3 in the model"),
    ],
)
def test_a_model_that_does_not_fit_the_recording_is_refused(parts, other, words):
    model, X, y, rec = parts
    kw = dict(other)
    foreign = rw.RecurrentClassifier(kw.pop("arch"), 4, kw.pop("hidden_size"), kw.pop("num_classes", 4),
                                     device="cpu", **kw)
    with pytest.raises(ExplorerStateError, match=words):
        ExplorerState(rec, model=foreign)
    state = ExplorerState(rec, model=model)
    readouts = _readouts(state)
    with pytest.raises(ExplorerStateError, match="does not fit the recording"):
        state.use_model(foreign)
    with pytest.raises(ExplorerStateError, match="does not fit the recording"):
        state.model = foreign
    assert state.model is model and _readouts(state) == readouts


def test_a_network_of_the_same_shape_with_other_weights_is_refused(parts):
    model, X, y, rec = parts
    twin = rw.RecurrentClassifier("gru", 4, 5, 4, device="cpu", seed=11)
    assert model_fit_problems(twin, rec) == []  # same shape: only its decisions tell it apart
    with pytest.raises(ExplorerStateError, match="not the network the recording was made with"):
        ExplorerState(rec, model=twin)
    state = ExplorerState(rec, model=model)
    with pytest.raises(ExplorerStateError, match="predictions differ"):
        state.model = twin
    assert state.model is model


def test_a_new_recording_clears_what_belonged_to_the_old_one(parts):
    model, X, y, rec = parts
    ex = Explorer(rec, rw.find_relays(rec, n_perm=0, progress=False), model=model, progress=False)
    state = ex.state
    state.knocked_out = ("l0.h0",)
    half = rw.record(model, X[:40], y[:40])
    state.recording = half
    assert state.relays is None and state.cached_settings == []
    # the readouts are those of the new recording's inputs, which the explorer was using
    assert state.X.shape[0] == 40
    truth = evaluate(model, X[:40], y[:40], knockout=rw.Knockout(["l0.h0"]))
    assert state.accuracy == pytest.approx(float(truth["accuracy"]))
    assert state.baseline_accuracy == pytest.approx(float(evaluate(model, X[:40], y[:40])["accuracy"]))
    # Recompute computes the new recording's map instead of returning the old recording's cached one
    shown, truth = state.recompute(), rw.find_relays(half, n_perm=0, progress=False)
    np.testing.assert_array_equal(shown["contribution"].values, truth["contribution"].values)
    np.testing.assert_array_equal(shown["is_relay"].values, truth["is_relay"].values)


def test_a_recording_of_another_network_is_refused_while_a_model_is_set(parts):
    model, X, y, rec = parts
    state = ExplorerState(rec, model=model)
    other = rw.record(rw.RecurrentClassifier("lstm", 4, 3, 4, device="cpu"), X, y)
    with pytest.raises(ExplorerStateError, match="does not fit the recording"):
        state.recording = other
    assert state.recording is rec
    state.use_model(None)
    state.recording = other  # without a model any recording can be shown
    assert state.recording is other
