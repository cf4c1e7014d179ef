"""Bad input to the knockout APIs raises KnockoutError/InputError saying what to do (or warns for no-ops)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaywidgets import InputError, Knockout, KnockoutError, RecurrentClassifier
from relaywidgets.knockout import KnockoutSession, evaluate, plot_knockout_test, relay_knockout_test


@pytest.fixture
def parts(latch):
    model, X, y, relays = latch
    return model, X[:40], y[:40], relays


@pytest.mark.parametrize(
    "knockout, match",
    [
        (Knockout(["l0.h99"]), "out of range: layer 0 has 64 units"),
        (Knockout([0], layer=3), "names layer 3 but the model has 1 layer"),
        (Knockout(["l2.h0"]), "names layer 2 but the model has 1 layer"),
        (Knockout([0], clamp_cell=True), "clamp_cell=True applies to LSTMs only"),
        (Knockout([0], times=[40]), "outside the sequence's 8 steps"),
        ("l0.h0", "must be a Knockout"),
    ],
)
def test_evaluate_rejects_specs_that_do_not_fit(parts, knockout, match):
    model, X, y, _ = parts
    with pytest.raises(KnockoutError, match=match):
        evaluate(model, X, y, knockout=knockout)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nodes": ["foo"]}, "not of the form 'l<layer>.h<unit>'"),
        ({"nodes": ["l0.h1", "l1.h1"]}, "labels name layers \\[0, 1\\]"),
        ({"nodes": [-1]}, ">= 0"),
        ({"nodes": [0], "value": "max"}, "'value' parameter of Knockout must be one of 'zero', 'mean', 'median' or a "
                                         "float. Got 'max'"),
        ({"nodes": [0], "value": float("nan")}, "must be finite"),
        ({"nodes": [0], "value": True}, "Got True instead"),
        ({"nodes": [0], "value": "mean"}, "needs a reference recording"),
        ({"nodes": [0], "times": "late"}, "times must be None, an int, a slice or a list of ints"),
    ],
)
def test_knockout_spec_errors(kwargs, match):
    with pytest.raises(KnockoutError, match=match):
        Knockout(**kwargs)


def test_empty_node_set_is_a_no_op_with_a_warning(parts):
    model, X, y, _ = parts
    intact = evaluate(model, X, y)
    with pytest.warns(UserWarning, match="empty node set does nothing"):
        empty = evaluate(model, X, y, knockout=[Knockout([])])
    assert np.array_equal(empty.logits.values, intact.logits.values)


@pytest.mark.parametrize("api", ["evaluate", "session", "test"])
def test_feature_size_mismatch(parts, api):
    model, X, y, relays = parts
    bad = np.concatenate([X, X[..., :1]], axis=2)
    call = {
        "evaluate": lambda: evaluate(model, bad, y),
        "session": lambda: KnockoutSession(model, bad, y),
        "test": lambda: relay_knockout_test(model, bad, y, relays, 1, n_random=2),
    }[api]
    with pytest.raises(InputError, match="3 feature\\(s\\) per step but the model expects 2"):
        call()


@pytest.mark.parametrize("api", ["evaluate", "session"])
@pytest.mark.parametrize(
    "X_fn, y_fn, match",
    [
        (lambda X: X[0], lambda y: y, "3-D"),
        (lambda X: X, lambda y: y[:-1], "y has 39"),
        (lambda X: X, lambda y: y + 5, "out of range"),
        (lambda X: X, lambda y: None, "needs the true classes"),
    ],
)
def test_bad_data(parts, api, X_fn, y_fn, match):
    model, X, y, _ = parts
    fn = evaluate if api == "evaluate" else KnockoutSession
    with pytest.raises(InputError, match=match):
        fn(model, X_fn(X), y_fn(y))


def test_evaluate_bad_arguments(parts):
    model, X, y, _ = parts
    with pytest.raises(InputError, match="'batch_size' parameter of evaluate must be None or an int in \\[1, inf"):
        evaluate(model, X, y, batch_size=0)
    with pytest.raises(InputError, match="needs a relaywidgets RecurrentClassifier"):
        evaluate(torch.nn.LSTM(2, 3), X, y)
    with pytest.raises(InputError, match="'device' parameter"):
        evaluate(model, X, y, device="tpu")


def test_session_rejects_unknown_nodes_and_values(parts):
    model, X, y, _ = parts
    session = KnockoutSession(model, X, y)
    with pytest.raises(KnockoutError, match="does not exist: layer 0 has 64 units"):
        session.toggle("l0.h64")
    with pytest.raises(KnockoutError, match="names layer 1 but the model has 1 layer"):
        session.toggle("l1.h0")
    with pytest.raises(KnockoutError, match="not of the form"):
        session.set(["h3"])
    with pytest.raises(KnockoutError, match="Node index 64 is out of range; the model has 64 nodes"):
        session.toggle(64)
    with pytest.raises(KnockoutError, match="int index or a label"):
        session.toggle(1.5)
    with pytest.raises(KnockoutError, match="'value' parameter of Knockout must be one of"):
        session.configure(value="max")
    with pytest.raises(KnockoutError, match="needs a reference recording"):
        KnockoutSession(model, X, y, value="median")
    with pytest.raises(KnockoutError, match="clamp_cell=True applies to LSTMs only"):
        session.configure(clamp_cell=True)
    assert session.nodes == () and session.value == "zero"  # failed changes leave the state alone
    with pytest.raises(InputError, match="needs a callable"):
        session.on_change("print")


def test_session_empty_set_is_the_intact_network(parts):
    model, X, y, _ = parts
    session = KnockoutSession(model, X, y)
    session.set(["l0.h0"])
    result = session.set([])
    assert result.nodes == () and result.accuracy == session.baseline_accuracy


def test_relay_test_bad_arguments(parts):
    model, X, y, relays = parts
    with pytest.raises(KnockoutError, match="Concept '7' is not in the relay analysis; its concepts are \\['0', '1', 'all"):
        relay_knockout_test(model, X, y, relays, "7")
    with pytest.raises(InputError, match="needs a class concept; 'all'"):
        relay_knockout_test(model, X, y, relays, "all")
    with pytest.raises(InputError, match="'n_random' parameter of relay_knockout_test must be an int in \\[1, inf"):
        relay_knockout_test(model, X, y, relays, 1, n_random=0)
    with pytest.raises(KnockoutError, match="relays must be the Dataset returned by relaywidgets.find_relays"):
        relay_knockout_test(model, X, y, {"is_relay": None}, 1)
    with pytest.raises(KnockoutError, match="Step 30 was not analysed"):
        relay_knockout_test(model, X, y, relays, 1, time=30)
    with pytest.raises(KnockoutError, match="'value' parameter of Knockout must be one of"):
        relay_knockout_test(model, X, y, relays, 1, value="max")
    with pytest.raises(InputError, match="no sample of class 1"):
        relay_knockout_test(model, X, np.zeros_like(y), relays, 1)
    small = RecurrentClassifier("rnn", 2, 8, 2, device="cpu")
    with pytest.raises(KnockoutError, match="that the model does not have"):
        relay_knockout_test(small, X, y, relays, 1)
    with pytest.raises(KnockoutError, match="layer\\(s\\) \\[0\\] only; got layer=2"):
        relay_knockout_test(model, X, y, relays, 1, layer=2)
    with pytest.raises(KnockoutError, match="layer\\(s\\) \\[0\\] only; got layer=2"):
        Knockout.from_relays(relays, 1, layer=2)


def test_plot_rejects_other_datasets(parts):
    model, X, y, _ = parts
    with pytest.raises(InputError, match="needs the Dataset returned by relay_knockout_test"):
        plot_knockout_test(evaluate(model, X, y))
