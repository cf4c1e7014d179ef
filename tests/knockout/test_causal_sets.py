"""Causal sets and keep sets on hand-wired latches, checked against direct knockouts."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import Knockout, RecurrentClassifier, make_task
from relaywidgets.errors import InputError, KnockoutError
from relaywidgets.knockout import evaluate
from relaywidgets.knockout.causal_sets import causal_set, keep_set


def test_the_latch_is_the_causal_set(latch_builders):
    model = latch_builders.network(hidden_size=16)
    X, y = latch_builders.data(n=100, T=6)
    result = causal_set(model, X, y, 1, target=0.5, progress=False)
    assert list(result.order.values) == ["l0.h0"] and bool(result.reached) and int(result.set_size) == 1
    np.testing.assert_array_equal(result.curve.values, [0.0, 1.0])
    assert float(result.goal) == 0.5 and float(result.baseline) == 1.0
    # Unit 0 at zero reads as class 0: the other class loses nothing.
    assert float(result.off_target_drop.sel(step=1, concept="0")) == 0.0
    assert np.isnan(float(result.off_target_drop.sel(step=1, concept="1")))
    assert result.in_set.sel(node="l0.h0") and int(result.in_set.sum()) == 1


def test_two_redundant_latches_are_found_together(latch_builders):
    model = latch_builders.redundant(hidden_size=8)
    X, y = latch_builders.data(n=100, T=6)
    result = causal_set(model, X, y, "1", target=1.0, progress=False)
    assert sorted(result.order.values) == ["l0.h0", "l0.h1"] and bool(result.reached)
    # The first copy costs no accuracy, only margin: the tie-break on margin finds it.
    np.testing.assert_array_equal(result.accuracy_drop.values, [0.0, 0.0, 1.0])
    assert result.margin_drop.values[1] > 5.0
    by_margin = causal_set(model, X, y, 1, target=0.4, metric="margin", progress=False)
    assert int(by_margin.set_size) == 1 and float(by_margin.curve[1]) >= 0.4 * float(by_margin.baseline)


def test_curve_matches_direct_knockouts_of_each_prefix():
    X, y = make_task("delayed-cue", n_samples=80, seq_len=5, seed=4)
    model = RecurrentClassifier("lstm", 4, 6, 4, num_layers=2, device="cpu", seed=2)
    intact = evaluate(model, X, y)
    concept = int(np.argmax(intact.class_accuracy.fillna(0).values))
    result = causal_set(model, X, y, concept, target=1.0, max_size=4, times=slice(1, None), progress=False)
    for k in range(1, int(result.set_size) + 1):
        specs = {}
        for label in result.order.values[:k]:
            layer, unit = int(label[1]), int(label.split(".h")[1])
            specs.setdefault(layer, []).append(unit)
        out = evaluate(model, X, y, knockout=[Knockout(u, layer=lay, times=slice(1, None)) for lay, u in specs.items()])
        drops = (intact.class_accuracy - out.class_accuracy).values
        assert float(result.accuracy_drop[k]) == drops[concept]
        np.testing.assert_array_equal(result.class_drop.values[k, :4], drops)


def test_the_window_decides(latch_builders):
    model = latch_builders.network(hidden_size=8)
    X, y = latch_builders.data(n=60, T=6)
    before_cue = causal_set(model, X, y, 1, times=[0], progress=False)
    assert not bool(before_cue.reached) and int(before_cue.set_size) == 8  # nothing at step 0 matters
    assert np.all(before_cue.curve.values == 0)
    late = causal_set(model, X, y, 1, times=slice(3, None), progress=False)
    assert list(late.order.values) == ["l0.h0"]
    capped = causal_set(model, X, y, 1, times=[0], max_size=2, progress=False)
    assert int(capped.set_size) == 2 and capped.attrs["max_size"] == 2


def test_keep_set_of_the_latch_is_the_latch(latch_builders):
    model = latch_builders.network(hidden_size=16)
    X, y = latch_builders.data(n=100, T=6)
    kept = keep_set(model, X, y, 1, tolerance=0.05, progress=False)
    assert list(kept.order.values) == ["l0.h0"] and bool(kept.reached)
    np.testing.assert_array_equal(kept.curve.values, [1.0, 0.0])  # all out: class 1 lost; h0 back: intact
    # Class 0 survives every knockout at zero: its keep set is empty.
    assert int(keep_set(model, X, y, 0, progress=False).set_size) == 0
    redundant = latch_builders.redundant(hidden_size=8)
    one = keep_set(redundant, X, y, 1, progress=False)
    assert int(one.set_size) == 1 and one.order.values[0] in ("l0.h0", "l0.h1")


def test_bad_input_names_the_problem(latch_builders):
    model = latch_builders.network(hidden_size=8)
    X, y = latch_builders.data(n=40, T=5)
    for target in (0.0, 1.5, -0.1):
        with pytest.raises(InputError, match=r"'target' parameter of causal_set must be a float in \(0.0, 1.0\]"):
            causal_set(model, X, y, 1, target=target, progress=False)
    with pytest.raises(InputError, match=r"'tolerance' parameter of keep_set must be a float in \[0.0, 1.0\)"):
        keep_set(model, X, y, 1, tolerance=1.0, progress=False)
    for concept in (2, "cat", -1):
        with pytest.raises(InputError, match="is not a class of the model"):
            causal_set(model, X, y, concept, progress=False)
    with pytest.raises(InputError, match="'metric' parameter of causal_set must be 'accuracy' or 'margin'"):
        causal_set(model, X, y, 1, metric="auc", progress=False)
    with pytest.raises(InputError, match=r"'max_size' parameter of causal_set must be an int in \[1, 8\]"):
        causal_set(model, X, y, 1, max_size=9, progress=False)
    with pytest.raises(KnockoutError, match="'layer' parameter of keep_set must be None or a layer index 0 .. 0"):
        keep_set(model, X, y, 1, layer=1, progress=False)
    with pytest.raises(KnockoutError, match="nothing to remove"):
        causal_set(model, X, 1 - y, 1, progress=False)  # with the labels swapped, class 1 is never right
