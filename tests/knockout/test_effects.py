"""Effect maps: equal to a loop of single knockouts, and right on hand-wired latches."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import Knockout, RecurrentClassifier, make_task, record
from relaywidgets.errors import InputError, KnockoutError
from relaywidgets.knockout import evaluate
from relaywidgets.knockout.effects import effect_map, unit_effects


def _margins(ds) -> np.ndarray:
    logits = ds.logits.values.T.astype(np.float64)  # (sample, class)
    y = ds.label.values
    true = logits[np.arange(len(y)), y]
    logits[np.arange(len(y)), y] = -np.inf
    return true - logits.max(axis=1)


def _loop_reference(model, X, y, lengths, window, **ko):
    """The effect map computed the slow way: one evaluate() call per unit and step."""
    T = X.shape[1]
    intact = evaluate(model, X, y, lengths=lengths)
    base_margin = _margins(intact)
    C = model.num_classes
    n = model.num_layers * model.hidden_size
    acc = np.zeros((C + 1, n, T))
    margin = np.zeros((C + 1, n, T))
    for t in range(T):
        for node in range(n):
            layer, unit = divmod(node, model.hidden_size)
            spec = Knockout([unit], layer=layer, times=list(range(t, min(T, t + window))), **ko)
            out = evaluate(model, X, y, knockout=spec, lengths=lengths)
            acc[:C, node, t] = (intact.class_accuracy - out.class_accuracy).values
            acc[C, node, t] = float(intact.accuracy - out.accuracy)
            m = _margins(out)
            for c in range(C):
                rows = y == c
                margin[c, node, t] = base_margin[rows].mean() - m[rows].mean()
            margin[C, node, t] = base_margin.mean() - m.mean()
    return acc, margin


@pytest.mark.parametrize(
    "arch, layers, window, ko, with_lengths",
    [
        ("gru", 2, 1, {}, False),
        ("lstm", 1, 2, {"clamp_cell": True, "value": 0.5}, True),
        ("rnn", 1, 1, {"value": "mean"}, False),
    ],
)
def test_effect_map_equals_a_loop_of_evaluate_calls(arch, layers, window, ko, with_lengths):
    X, y = make_task("delayed-cue", n_samples=48, seq_len=5, seed=1)
    model = RecurrentClassifier(arch, 4, 5, 4, num_layers=layers, device="cpu", seed=3)
    lengths = np.random.default_rng(0).integers(2, 6, size=len(y)) if with_lengths else None
    if ko.get("value") == "mean":
        ko = {**ko, "reference": record(model, X, y)}
    acc, margin = _loop_reference(model, X, y, lengths, window, **ko)
    effects = effect_map(model, X, y, lengths=lengths, window=window, n_boot=0, progress=False, batch_size=100, **ko)
    got_acc = effects.accuracy_drop.values
    assert np.array_equal(got_acc, acc), np.argwhere(got_acc != acc)[:5]  # number for number
    np.testing.assert_allclose(effects.margin_drop.values, margin, rtol=0, atol=1e-5)
    assert effects.attrs["window"] == window
    assert list(effects.window_end.values) == [min(4, t + window - 1) for t in range(5)]


def test_unit_effects_equal_whole_sequence_knockouts():
    X, y = make_task("delayed-cue", n_samples=40, seq_len=6, seed=2)
    model = RecurrentClassifier("lstm", 4, 6, 4, device="cpu", seed=0)
    effects = unit_effects(model, X, y, n_boot=0, progress=False)
    intact = evaluate(model, X, y)
    for unit in range(6):
        out = evaluate(model, X, y, knockout=Knockout([unit]))
        expected = (intact.class_accuracy - out.class_accuracy).values
        assert np.array_equal(effects.accuracy_drop.values[:4, unit], expected)
    late = unit_effects(model, X, y, times=slice(3, None), n_boot=0, progress=False)
    out = evaluate(model, X, y, knockout=Knockout([2], times=slice(3, None)))
    assert np.array_equal(late.accuracy_drop.values[:4, 2], (intact.class_accuracy - out.class_accuracy).values)


def test_latch_cells_are_large_exactly_where_the_unit_holds_the_cue(latch_builders):
    model = latch_builders.network(hidden_size=8)
    X, y = latch_builders.data(n=120, T=6)
    effects = effect_map(model, X, y, n_boot=50, progress=False)
    acc = effects.accuracy_drop.sel(concept="1").values  # (node, time)
    # The cue arrives at step 1; from then on unit 0 holds it, and a one-step knockout erases it for good.
    np.testing.assert_array_equal(acc[0], [0, 1, 1, 1, 1, 1])
    assert np.all(acc[1:] == 0)
    margin = effects.margin_drop.sel(concept="0").values
    assert margin[0, 0] == pytest.approx(0, abs=1e-6) and np.all(margin[0, 1:] == pytest.approx(6.0, abs=0.05))
    assert np.abs(margin[1:]).max() < 1e-6
    # Accuracy is exact for every resample, so its interval collapses onto the estimate.
    np.testing.assert_allclose(effects.accuracy_drop_low.sel(concept="1").values[0], acc[0], atol=1e-12)
    assert effects.baseline_accuracy.sel(concept="all") == 1.0


def test_redundant_latches_each_have_no_single_unit_effect(latch_builders):
    model = latch_builders.redundant(hidden_size=8)
    X, y = latch_builders.data(n=120, T=6)
    effects = effect_map(model, X, y, n_boot=0, progress=False)
    assert np.abs(effects.accuracy_drop.values).max() == 0.0  # neither copy alone matters for accuracy
    # ... but the margin shows each copy carries half of the evidence.
    assert np.all(effects.margin_drop.sel(concept="1", node=["l0.h0", "l0.h1"], time=slice(1, None)) > 5.0)
    both = evaluate(model, X, y, knockout=Knockout([0, 1], times=[3]))
    assert float(both.class_accuracy.sel({"class": 1})) == 0.0


def test_bootstrap_bounds_bracket_the_estimate_and_follow_the_seed():
    X, y = make_task("delayed-cue", n_samples=60, seq_len=4, seed=0)
    model = RecurrentClassifier("gru", 4, 4, 4, device="cpu", seed=1)
    a = effect_map(model, X, y, n_boot=100, seed=3, progress=False)
    b = effect_map(model, X, y, n_boot=100, seed=3, progress=False)
    for key in ("accuracy_drop", "margin_drop"):
        assert np.all(a[f"{key}_low"] <= a[key] + 1e-12) and np.all(a[key] <= a[f"{key}_high"] + 1e-12)
        np.testing.assert_array_equal(a[f"{key}_low"].values, b[f"{key}_low"].values)
    none = effect_map(model, X, y, n_boot=0, progress=False)
    assert np.isnan(none.margin_drop_high.values).all()


def test_bad_input_names_the_problem():
    X, y = make_task("delayed-cue", n_samples=20, seq_len=4, seed=0)
    model = RecurrentClassifier("gru", 4, 4, 4, device="cpu", seed=1)
    with pytest.raises(InputError, match="'window' parameter of effect_map must be an int in \\[1, inf\\)"):
        effect_map(model, X, y, window=0, progress=False)
    with pytest.raises(KnockoutError, match="needs reference="):
        effect_map(model, X, y, value="mean", progress=False)
    with pytest.raises(KnockoutError, match="clamp_cell=True applies to LSTMs only"):
        unit_effects(model, X, y, clamp_cell=True, progress=False)
    with pytest.raises(KnockoutError, match="one value per node, shape \\(4,\\)"):
        unit_effects(model, X, y, value="mean", reference=np.zeros(3), progress=False)
    with pytest.raises(InputError, match="'ci' parameter of unit_effects"):
        unit_effects(model, X, y, ci=1.5, progress=False)
    with pytest.raises(KnockoutError, match="outside the sequence"):
        unit_effects(model, X, y, times=[9], progress=False)


def test_bootstrap_bounds_equal_a_hand_computed_percentile_interval():
    from relaywidgets.knockout.effects import bootstrap_weights

    X, y = make_task("delayed-cue", n_samples=60, seq_len=4, seed=0)
    model = RecurrentClassifier("gru", 4, 5, 4, device="cpu", seed=1)
    effects = effect_map(model, X, y, n_boot=50, seed=7, progress=False)
    # The same resamples, drawn in the same order: one weight matrix per concept (classes, then "all").
    rng = np.random.default_rng(7)
    rows = [np.flatnonzero(y == c) for c in range(4)] + [np.arange(60)]
    weights = [bootstrap_weights(len(r), 50, rng) for r in rows]
    intact = evaluate(model, X, y)
    for unit, t in [(0, 0), (3, 2), (4, 3)]:
        out = evaluate(model, X, y, knockout=Knockout([unit], times=[t]))
        d_acc = (intact.prediction.values == y).astype(float) - (out.prediction.values == y)
        d_margin = _margins(intact) - _margins(out)
        for c in range(5):
            cell = effects.isel(concept=c).sel(node=f"l0.h{unit}", time=t)
            for key, delta in (("accuracy_drop", d_acc), ("margin_drop", d_margin)):
                low, high = np.percentile(weights[c] @ delta[rows[c]], [2.5, 97.5])
                assert float(cell[f"{key}_low"]) == pytest.approx(low, abs=1e-5)
                assert float(cell[f"{key}_high"]) == pytest.approx(high, abs=1e-5)
