"""relay_knockout_test on a hand-wired network whose unit 0 alone stores the class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaywidgets import Knockout
from relaywidgets.knockout import evaluate, plot_knockout_test, relay_knockout_test


def test_planted_relay_has_a_large_significant_targeted_drop(latch):
    model, X, y, relays = latch
    intact = evaluate(model, X, y)
    assert float(intact.accuracy) == 1.0  # the latch is exact
    test = relay_knockout_test(model, X, y, relays, 1, n_random=100, seed=0)
    # Knocking unit 0 out leaves logits (0.1, 0): every sample is called class 0.
    assert float(test.relay_drop) == 1.0 and float(test.relay_accuracy) == 0.0
    assert float(test.off_target_drop.sel(**{"class": 0})) == 0.0
    assert np.isnan(float(test.off_target_drop.sel(**{"class": 1})))
    assert float(test.off_target_drop_max) == 0.0
    # Truth for every control: a random unit hurts class 1 exactly when it is unit 0.
    hits = np.array(["l0.h0" in row for row in test.random_nodes.values])
    np.testing.assert_array_equal(test.random_drops.values, np.where(hits, 1.0, 0.0))
    assert float(test.p_value) == pytest.approx((1 + hits.sum()) / 101)
    assert float(test.p_value) < 0.05
    assert float(test.random_drop_mean) == pytest.approx(hits.mean())
    assert float(test.effect_size) > 3
    assert list(test.relay_nodes.values) == ["l0.h0"]
    assert test.random_drops.dims == ("control",) and test.sizes["control"] == 100


def test_excluding_the_relays_gives_the_smallest_p_value(latch):
    model, X, y, relays = latch
    test = relay_knockout_test(model, X, y, relays, "1", n_random=50, seed=1, exclude_relays=True)
    assert "l0.h0" not in test.random_nodes.values
    assert float(test.random_drop_mean) == 0.0 and float(test.p_value) == pytest.approx(1 / 51)
    assert float(test.effect_size) == np.inf  # the controls never vary


def test_value_decides_which_class_is_hurt(latch):
    model, X, y, relays = latch
    zero = relay_knockout_test(model, X, y, relays, 0, n_random=20, seed=0)
    assert float(zero.relay_drop) == 0.0 and float(zero.p_value) == 1.0  # h0 = 0 reads as class 0
    one = relay_knockout_test(model, X, y, relays, 0, n_random=20, seed=0, value=1.0)
    assert float(one.relay_drop) == 1.0  # h0 = 1 reads as class 1
    assert float(one.off_target_drop.sel(**{"class": 1})) == 0.0


def test_window_after_the_cue_still_kills_the_memory_but_one_before_does_not(latch):
    model, X, y, relays = latch
    late = relay_knockout_test(model, X, y, relays, 1, n_random=10, seed=0, times=slice(4, None))
    early = relay_knockout_test(model, X, y, relays, 1, n_random=10, seed=0, times=[0])
    assert float(late.relay_drop) == 1.0 and float(early.relay_drop) == 0.0


def test_random_controls_are_deterministic_under_seed(latch):
    model, X, y, relays = latch
    a = relay_knockout_test(model, X, y, relays, 1, n_random=30, seed=7)
    b = relay_knockout_test(model, X, y, relays, 1, n_random=30, seed=7)
    c = relay_knockout_test(model, X, y, relays, 1, n_random=30, seed=8)
    assert np.array_equal(a.random_nodes.values, b.random_nodes.values)
    assert np.array_equal(a.random_drops.values, b.random_drops.values)
    assert not np.array_equal(a.random_nodes.values, c.random_nodes.values)


def _hand_relays(labels, relay_labels, concept_names, T):
    import xarray as xr

    is_relay = np.zeros((len(concept_names), T, len(labels)), dtype=bool)
    for lab in relay_labels:
        is_relay[:, -1, labels.index(lab)] = True
    return xr.Dataset(
        {"is_relay": (("concept", "time", "node"), is_relay)},
        coords={"concept": np.array(concept_names), "time": np.arange(T), "node": np.array(labels)},
    )


@pytest.mark.parametrize("batch_size", [None, 25])
def test_stacked_controls_equal_separate_evaluations(batch_size):
    """Each control's drop equals what evaluate() gives for that set alone (stacking changes nothing)."""
    from relaywidgets import RecurrentClassifier

    torch.manual_seed(0)
    model = RecurrentClassifier("lstm", 2, 6, 3, num_layers=2, device="cpu").eval()
    X = np.random.default_rng(0).normal(size=(60, 5, 2)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(X)).argmax(1).numpy()  # labels = decisions: intact accuracy 1
    cls = int(np.bincount(y, minlength=3).argmax())
    relays = _hand_relays(model.node_labels, ["l0.h1", "l1.h4", "l1.h5"], ["0", "1", "2"], 5)
    test = relay_knockout_test(model, X, y, relays, cls, n_random=12, seed=3, batch_size=batch_size, value=0.5)
    target = y == cls

    def drop_of(labels):
        by_layer = {}
        for lab in labels:
            layer, unit = lab[1:].split(".h")
            by_layer.setdefault(int(layer), []).append(int(unit))
        kos = [Knockout(u, layer=l, value=0.5) for l, u in by_layer.items()]
        pred = evaluate(model, X, y, knockout=kos).prediction.values
        return 1.0 - np.mean(pred[target] == cls)

    assert float(test.relay_drop) == pytest.approx(drop_of(["l0.h1", "l1.h4", "l1.h5"]))
    for j, row in enumerate(test.random_nodes.values):
        assert sum(lab.startswith("l0.") for lab in row) == 1 and sum(lab.startswith("l1.") for lab in row) == 2
        assert float(test.random_drops[j]) == pytest.approx(drop_of(list(row)))


def test_empty_relay_set_is_a_no_op_with_a_warning(latch):
    model, X, y, relays = latch
    relays = relays.copy(deep=True)
    relays["is_relay"][:] = False
    with pytest.warns(UserWarning, match="empty"):
        test = relay_knockout_test(model, X, y, relays, 1, n_random=5)
    assert float(test.relay_drop) == 0.0 and float(test.p_value) == 1.0
    assert np.all(test.random_drops.values == 0.0)


def test_plot_helper_draws_the_histogram_and_the_relay_line(latch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, X, y, relays = latch
    test = relay_knockout_test(model, X, y, relays, 1, n_random=20, seed=0)
    ax = plot_knockout_test(test)
    assert any(abs(line.get_xdata()[0] - 1.0) < 1e-12 for line in ax.get_lines())
    assert sum(p.get_height() for p in ax.patches) == 20
    assert "p = " in ax.texts[0].get_text()
    plt.close(ax.figure)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_with_find_relays_on_the_recorded_latch(latch_builders):
    """End to end: find_relays on a recording of the latch network, then the causal test of its relays."""
    relay = pytest.importorskip("relaywidgets.relay")
    from relaywidgets import record

    model = latch_builders.network(hidden_size=8)
    X, y = latch_builders.data()
    relays = relay.find_relays(record(model, X, y), n_perm=20, seed=0, progress=False)
    # Step 0 precedes the cue: its (non-significant) relay set is noise and must not enter the union.
    assert Knockout.from_relays(relays, 1) == Knockout([0])
    test = relay_knockout_test(model, X, y, relays, 1, n_random=20, seed=0, exclude_relays=True)
    assert list(test.relay_nodes.values) == ["l0.h0"]
    assert float(test.relay_drop) == 1.0 and float(test.random_drop_mean) == 0.0
    assert float(test.p_value) == pytest.approx(1 / 21)
