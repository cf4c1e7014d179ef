"""KnockoutSession: toggles agree with evaluate(), cached warm starts, callbacks, concurrent toggles."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from relaywidgets import Knockout, RecurrentClassifier
from relaywidgets.knockout import KnockoutResult, KnockoutSession, evaluate


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = RecurrentClassifier("lstm", 3, 8, 4, num_layers=2, device="cpu").eval()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 10, 3)).astype(np.float32)
    with torch.no_grad():
        # Centre the readout on these data so the untrained network's decisions spread over the classes.
        final = model.run(torch.from_numpy(X)).hidden[-1][:, -1]
        model.readout.weight.mul_(30.0)
        model.readout.bias.copy_(-model.readout.weight @ final.mean(0))
        y = model(torch.from_numpy(X)).argmax(1).numpy()  # intact accuracy 1 in every present class
    y[:8] = (y[:8] + 1) % 4
    return model, X, y


def _check_against_evaluate(session, model, X, y, **kw):
    truth = evaluate(model, X, y, knockout=session.knockouts() or None, **kw)
    assert session.accuracy == pytest.approx(float(truth.accuracy), abs=1e-12)
    np.testing.assert_allclose(session.per_class, truth.class_accuracy.values, atol=1e-12)


def test_intact_session_is_the_baseline_exactly(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    intact = evaluate(model, X, y)
    assert session.accuracy == float(intact.accuracy) == session.baseline_accuracy
    np.testing.assert_array_equal(session.per_class, intact.class_accuracy.values)
    assert np.isfinite(session.per_class).all()
    assert session.nodes == () and session.result.generation == 0


def test_toggle_by_index_and_label_and_back(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    r1 = session.toggle("l0.h3")
    assert r1.nodes == ("l0.h3",) and session.nodes == ("l0.h3",)
    _check_against_evaluate(session, model, X, y)
    session.toggle(8 + 5)  # index 13 = l1.h5 (layer-major)
    assert session.nodes == ("l0.h3", "l1.h5")
    _check_against_evaluate(session, model, X, y)
    session.toggle(3)
    session.toggle("l1.h5")
    assert session.nodes == ()
    assert session.accuracy == session.baseline_accuracy
    np.testing.assert_array_equal(session.per_class, session.baseline_per_class)


def test_set_and_reset(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    session.set(["l0.h0", "l0.h1", 9, "l1.h7"])
    assert session.nodes == ("l0.h0", "l0.h1", "l1.h1", "l1.h7")
    _check_against_evaluate(session, model, X, y)
    np.testing.assert_allclose(session.result.drop, session.baseline_per_class - session.per_class)
    reset = session.reset()
    assert reset.nodes == () and reset.accuracy == session.baseline_accuracy


@pytest.mark.parametrize("value", ["zero", 0.5])
def test_window_starting_later_reuses_cached_states(setup, value, monkeypatch):
    model, X, y = setup
    session = KnockoutSession(model, X, y, times=slice(6, None), value=value)
    starts = []
    original = model.run

    def spy(*args, **kwargs):
        starts.append(kwargs.get("start", 0))
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "run", spy)
    session.set(["l0.h2", "l1.h0", "l1.h6"])
    assert starts == [6]
    monkeypatch.undo()
    _check_against_evaluate(session, model, X, y)


def test_warm_start_with_variable_lengths(setup):
    model, X, y = setup
    lengths = np.full(80, 10)
    lengths[::3] = 4  # these end before the window opens: unaffected
    lengths[1::3] = 7
    session = KnockoutSession(model, X, y, lengths=lengths, times=slice(5, None))
    session.set(list(range(16)))
    _check_against_evaluate(session, model, X, y, lengths=lengths)
    session.configure(times=slice(2, None))
    _check_against_evaluate(session, model, X, y, lengths=lengths)


def test_configure_value_and_clamp_cell(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    session.set(["l1.h0", "l1.h1", "l1.h2"])
    session.configure(value=0.8, clamp_cell=True, times=[3, 4, 5])
    assert session.value == 0.8 and session.times == [3, 4, 5]
    _check_against_evaluate(session, model, X, y)


def test_callbacks_receive_results_and_can_be_removed(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    seen = []
    callback = session.on_change(seen.append)
    session.toggle(0)
    session.toggle(1)
    session.on_change(callback, remove=True)
    session.toggle(2)
    assert [r.nodes for r in seen] == [("l0.h0",), ("l0.h0", "l0.h1")]
    assert all(isinstance(r, KnockoutResult) for r in seen)
    assert [r.generation for r in seen] == [1, 2]


def test_superseded_computation_is_never_published(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    published = []
    session.on_change(published.append)
    entered, release = threading.Event(), threading.Event()
    original = session._logits

    def slow(nodes, config):
        if nodes == (0,):
            entered.set()
            release.wait(10)
        return original(nodes, config)

    session._logits = slow
    first = threading.Thread(target=session.toggle, args=(0,))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=session.toggle, args=(5,))  # now nodes {0, 5}, generation 2
    second.start()
    while session.generation < 2:
        threading.Event().wait(0.001)
    release.set()
    first.join(10)
    second.join(10)
    assert [r.generation for r in published] == [2]
    assert session.result.nodes == ("l0.h0", "l0.h5") == session.nodes


def test_burst_of_toggles_from_threads_ends_in_the_last_state(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y)
    published = []
    session.on_change(lambda r: published.append(r.generation))
    threads = [threading.Thread(target=session.toggle, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert session.nodes == tuple(model.node_labels[:12])
    assert session.result.nodes == session.nodes and session.result.generation == session.generation == 12
    assert published == sorted(published) and published[-1] == 12
    _check_against_evaluate(session, model, X, y)


def test_knockouts_round_trip_through_evaluate(setup):
    model, X, y = setup
    session = KnockoutSession(model, X, y, times=slice(2, 8), value=0.25)
    session.set(["l0.h4", "l1.h1"])
    assert session.knockouts() == [
        Knockout([4], layer=0, times=slice(2, 8), value=0.25),
        Knockout([1], layer=1, times=slice(2, 8), value=0.25),
    ]
    assert "l0.h4" in repr(session)
