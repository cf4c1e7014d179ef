"""Deletion curves and the built-in rankings: the latch tops every ranking; numbers checked against direct knockouts."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from relaywidgets import Knockout, RecurrentClassifier, make_task, record
from relaywidgets.errors import InputError, KnockoutError
from relaywidgets.knockout import evaluate
from relaywidgets.knockout.faithfulness import RANKINGS, deletion_curve, rankings
from relaywidgets.relay import find_relays


_CACHE: dict = {}


@pytest.fixture
def small_latch(latch_builders):
    """An 8-unit latch network, its data and its relays (found once per module)."""
    if "latch" not in _CACHE:
        model = latch_builders.network(hidden_size=8)
        X, y = latch_builders.data(n=400, T=6)
        relays = find_relays(record(model, X, y), concepts=[0, 1, "all"], n_perm=0, progress=False)
        _CACHE["latch"] = (model, X, y, relays)
    return _CACHE["latch"]


def test_the_latch_tops_every_ranking(small_latch):
    model, X, y, relays = small_latch
    ranks = rankings(model, X, y, 1, relays, time=-1)
    assert sorted(ranks.data_vars) == sorted(RANKINGS)
    for name in RANKINGS:
        scores = ranks[name].values
        assert np.argmax(scores) == 0 and scores[0] > np.max(scores[1:]), name


def test_gradient_rankings_match_hand_computed_values(small_latch):
    model, X, y, _ = small_latch
    rec = record(model, X, y)
    h0 = rec.hidden.sel(node="l0.h0", time=5).values[y == 1]
    ranks = rankings(model, X, y, 1, time=-1, names=["grad_x_act", "integrated_gradients", "readout"])
    # At the last step logit_1 = 3 h0: the gradient is 3, and the logit is linear, so IG from 0 is 3 h0 too.
    assert ranks.grad_x_act.values[0] == pytest.approx(3 * h0.mean(), rel=1e-5)
    assert ranks.integrated_gradients.values[0] == pytest.approx(3 * h0.mean(), rel=1e-4)
    np.testing.assert_array_equal(ranks.readout.values, [3.0] + [0.0] * 7)


def test_integrated_gradients_are_complete_at_an_earlier_step():
    X, y = make_task("delayed-cue", n_samples=30, seq_len=6, seed=0)
    model = RecurrentClassifier("lstm", 4, 5, 4, device="cpu", seed=1)
    c = 2
    ranks = rankings(model, X, y, c, time=2, names=["integrated_gradients"], n_steps=64)
    # Completeness: the attributions add up to the true-class logit minus its value with every unit at 0.
    intact = evaluate(model, X, y)
    zeroed = evaluate(model, X, y, knockout=Knockout(range(5), times=[2]))
    rows = y == c
    expected = (intact.logits.values[c, rows] - zeroed.logits.values[c, rows]).mean()
    assert ranks.integrated_gradients.sum() == pytest.approx(expected, rel=1e-3, abs=1e-4)


def test_gradient_times_activation_at_the_last_step_is_readout_times_state():
    X, y = make_task("delayed-cue", n_samples=30, seq_len=5, seed=3)
    model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=2)
    rec = record(model, X, y)
    c = 1
    h = rec.hidden.isel(time=-1).values[:, y == c]  # (node, sample)
    w = model.readout.weight.detach().numpy()[c]
    ranks = rankings(model, X, y, c, time=-1, names=["grad_x_act"])
    np.testing.assert_allclose(ranks.grad_x_act.values, (w[:, None] * h).mean(axis=1), rtol=1e-5, atol=1e-7)


def test_deletion_curve_of_the_latch_against_hand_counted_random_band(small_latch):
    model, X, y, relays = small_latch
    dc = deletion_curve(model, X, y, "integrated_gradients", 1, n_random=60, seed=5, progress=False)
    assert list(dc.k.values) == [1, 2, 4] and list(dc.order.values[:1]) == ["l0.h0"]
    np.testing.assert_array_equal(dc.curve.values, [1.0, 1.0, 1.0])
    # The random orders are seeded permutations of the pool; a k-set hurts class 1 exactly when it holds unit 0.
    rng = np.random.default_rng(5)
    perms = [rng.permutation(8) for _ in range(60)]
    expected = np.array([[float(0 in p[:k]) for k in (1, 2, 4)] for p in perms])
    np.testing.assert_array_equal(dc.random_drops.values, expected)
    np.testing.assert_allclose(dc.random_mean.values, expected.mean(axis=0))
    assert float(dc.area) == pytest.approx((1 - expected.mean(axis=0)).mean())
    # Only orders that also start with unit 0 reach the latch's area.
    ties = sum(p[0] == 0 for p in perms)
    assert float(dc.p_value) == pytest.approx((1 + ties) / 61)
    worst_first = deletion_curve(model, X, y, -dc.scores.values, 1, n_random=60, seed=5, progress=False)
    assert float(worst_first.area) < 0 and float(worst_first.p_value) > 0.5


def test_curve_equals_direct_knockouts_and_rankings_share_one_band():
    X, y = make_task("delayed-cue", n_samples=60, seq_len=5, seed=1)
    model = RecurrentClassifier("lstm", 4, 4, 4, num_layers=2, device="cpu", seed=5)
    scores = np.random.default_rng(0).normal(size=8)
    table = xr.Dataset({"mine": ("node", scores), "flipped": ("node", -scores)}, coords={"node": model.node_labels})
    dc = deletion_curve(model, X, y, table, 0, ks=[1, 3, 8], n_random=10, times=slice(2, None),
                        metric="margin", progress=False)
    assert dc.curve.dims == ("ranking", "k") and list(dc.ranking.values) == ["mine", "flipped"]
    intact = evaluate(model, X, y)
    rows = y == 0

    def margin(ds):
        lg = ds.logits.values[:, rows].T.astype(np.float64)
        true = lg[:, 0].copy()
        lg[:, 0] = -np.inf
        return (true - lg.max(axis=1)).mean()

    order = np.argsort(-scores, kind="stable")
    for j, k in enumerate((1, 3)):
        specs = [Knockout([u % 4 for u in order[:k] if u // 4 == lay], layer=lay, times=slice(2, None))
                 for lay in (0, 1) if any(u // 4 == lay for u in order[:k])]
        expected = margin(intact) - margin(evaluate(model, X, y, knockout=specs))
        assert float(dc.curve.sel(ranking="mine")[j]) == pytest.approx(expected, abs=1e-5)
    # k = 8 knocks out everything: every ranking and every random order agree.
    assert np.ptp(np.r_[dc.curve.values[:, 2], dc.random_drops.values[:, 2]]) < 1e-9


def test_layer_restricts_the_pool():
    X, y = make_task("delayed-cue", n_samples=40, seq_len=4, seed=1)
    model = RecurrentClassifier("gru", 4, 4, 4, num_layers=2, device="cpu", seed=5)
    dc = deletion_curve(model, X, y, "readout", 1, layer=1, n_random=8, progress=False)
    assert all(label.startswith("l1.") for label in dc.order.values)
    assert list(dc.k.values) == [1, 2]


def test_bad_input_names_the_problem(small_latch):
    model, X, y, relays = small_latch
    with pytest.raises(InputError, match="Unknown ranking 'saliency'"):
        deletion_curve(model, X, y, "saliency", 1, progress=False)
    with pytest.raises(InputError, match="is a relay score: pass relays="):
        deletion_curve(model, X, y, "contribution", 1, progress=False)
    with pytest.raises(KnockoutError, match=r"k = \[9\] is larger than the 8 units"):
        deletion_curve(model, X, y, "readout", 1, ks=[1, 9], progress=False)
    with pytest.raises(InputError, match=r"one number per node of the model, shape \(8,\)"):
        deletion_curve(model, X, y, np.ones(5), 1, progress=False)
    with pytest.raises(InputError, match="single dim 'node'"):
        deletion_curve(model, X, y, xr.DataArray(np.ones((2, 8)), dims=("a", "node")), 1, progress=False)
    with pytest.raises(InputError, match="is not a class of the model"):
        deletion_curve(model, X, y, "readout", 3, progress=False)
    with pytest.raises(InputError, match="'time' parameter of rankings must be a step"):
        rankings(model, X, y, 1, time=6)
    with pytest.raises(InputError, match="'ks' parameter of deletion_curve must hold ints >= 1"):
        deletion_curve(model, X, y, "readout", 1, ks=[0, 1], progress=False)
