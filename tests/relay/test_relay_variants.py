"""The relay-analysis variants: greedy order (least-loss / most-loss), threshold rule (fraction /
significance) and the analysed variable (hidden / cell), against planted truths and the definitions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets.info import get_estimator
from relaywidgets.relay import find_relays, relay_information, relays_at
from relaywidgets.relay._slice import p_value
from relaywidgets.relay.reference import naive_relay_path
from relaywidgets.relay.threshold import critical_value, relay_cuts
from relaywidgets.testing import make_recording, planted_relay

KW = dict(progress=False, device="numpy")
MOST = dict(order="most-loss", **KW)


def _one(res):
    """The (concept, time) slice of a single-concept, single-step result."""
    return res.isel(concept=0, time=0)


def _set(res) -> set[int]:
    return set(np.flatnonzero(_one(res)["is_relay"].values).tolist())


# ---------------------------------------------------------------- most-loss on planted truths
@pytest.mark.parametrize("kind, expected", [("single", {0}), ("and", {0, 1})])
def test_most_loss_finds_the_planted_relays(kind, expected):
    rec, _ = planted_relay(kind, n_nodes=6, n_samples=3000, seed=11)
    res = find_relays(rec, concepts=[1], n_perm=50, **MOST)
    r = _one(res)
    assert _set(res) == expected
    assert bool(r["significant"]) and int(r["relay_size"]) == len(expected)
    # The relay set is the removed prefix: the planted nodes go first.
    assert set(r["removed"].values[1 : len(expected) + 1].tolist()) == expected
    assert res.attrs["order"] == "most-loss"
    # Nodes removed first, while the relay information is still there, score highest.
    assert set(np.argsort(-r["aggregated_score"].values)[: len(expected)].tolist()) == expected


def test_most_loss_on_and_follows_the_hand_derived_path():
    # H(O) = 0.811 bit; removing a leaves I_R = H(O | a) = 0.5 bit (b decides only when a = 1), the
    # most loss of any single node; then removing b leaves 0. Neither alone loses 0.9 * H(O).
    rec, _ = planted_relay("and", n_nodes=5, n_samples=20000, seed=3)
    r = _one(find_relays(rec, concepts=[1], n_perm=0, **MOST))
    curve = r["curve"].values
    assert set(r["removed"].values[1:3].tolist()) == {0, 1}
    assert curve[1] == pytest.approx(0.5, abs=0.02) and curve[2] == pytest.approx(0.0, abs=1e-12)


def test_most_loss_on_redundant_copies_keeps_one_copy():
    # Removing either copy a or a' leaves I_R = H(O | a) - H(O | N) = 0: a single copy suffices, so the
    # literal reading reports one node, where least-loss reports both (each is replaceable by the other).
    rec, _ = planted_relay("copies", n_nodes=5, n_samples=2000, seed=13)
    most = find_relays(rec, concepts=[1], n_perm=0, **MOST)
    least = find_relays(rec, concepts=[1], n_perm=0, **KW)
    assert _set(most) == {0}  # tie between the copies: the larger marginal, then the lower position
    assert _one(most)["curve"].values[1] == pytest.approx(0.0, abs=1e-12)
    assert _set(least) == {0, 1}


@pytest.mark.parametrize("n_nodes", [2, 5])
def test_most_loss_on_xor_removes_both_inputs(n_nodes):
    # No single node informs XOR: every first removal leaves I_R = H(O | one node) - 0 = H(O) (up to
    # sampling), so the first step is blind. The loss comes only once both a and b are removed (then
    # H(O | a, b) = 0): the relay set is the removal prefix up to the second of a, b -- {a, b} plus
    # any noise node removed before it (sampling decides which).
    rec, _ = planted_relay("xor", n_nodes=n_nodes, n_samples=3000, seed=12)
    res = find_relays(rec, concepts=[1], n_perm=0, **MOST)
    r = _one(res)
    removed = r["removed"].values[1:]
    second = max(int(np.flatnonzero(removed == 0)[0]), int(np.flatnonzero(removed == 1)[0])) + 1
    curve = r["curve"].values
    total = float(r["total"])
    assert curve[second] == pytest.approx(0.0, abs=1e-12)
    assert np.all(curve[:second] >= 0.95 * total)
    assert _set(res) == set(removed[:second].tolist())
    assert {0, 1} <= _set(res)
    if n_nodes == 2:
        assert _set(res) == {0, 1}


def test_independent_output_has_no_significant_relay_under_most_loss():
    flags = []
    for seed in range(4):
        rec, _ = planted_relay("independent", n_nodes=6, n_samples=2000, seed=seed)
        res = find_relays(rec, concepts=[1], n_perm=99, seed=seed, **MOST)
        flags.append(bool(res["significant"].item()))
        assert relays_at(res, rule="significance")["relay_size"].item() == 0 or flags[-1]
    assert sum(flags) <= 1


# ---------------------------------------------------------------- most-loss: the code paths agree
def test_most_loss_fast_search_equals_the_naive_reference():
    rng = np.random.default_rng(1)
    n_nodes, n = 7, 800
    bits = rng.integers(0, 2, size=(n_nodes, n))
    out = ((bits[0] + bits[1] + bits[2]) >= 2).astype(int)
    out = np.where(rng.random(n) < 0.1, 1 - out, out)
    rec = make_recording(0.9 * (2.0 * bits - 1.0) + 0.02 * rng.normal(size=bits.shape), out)
    r = _one(find_relays(rec, concepts=[1], n_perm=0, **MOST))
    order, curve = naive_relay_path(bits.T, out, tiebreak=-r["marginal_mi"].values, order="most-loss")
    np.testing.assert_array_equal(r["removed"].values[1:], order)
    np.testing.assert_allclose(r["curve"].values, curve, atol=1e-12)
    rank = r["elimination_rank"].values
    np.testing.assert_allclose(r["contribution"].values, curve[rank] - curve[rank + 1], atol=1e-12)


def _generic(name: str):
    """The estimator without vectorised count hooks: find_relays takes the generic path."""
    est = get_estimator(name)
    cls = type(type(est).__name__ + "Generic", (type(est),), {"vectorised_counts": False, "name": name + "-generic"})
    return cls(**est.get_params())


@pytest.mark.parametrize("name", ["plugin", "shrinkage"])
@pytest.mark.parametrize("rule", ["fraction", "significance"])
def test_most_loss_generic_search_equals_counting_search(name, rule):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(5, 400))
    out = np.where(rng.random(400) < 0.2, 1 - (bits[0] & bits[1]), bits[0] & bits[1])
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, bits[0])
    kw = dict(concepts=[1], n_perm=20, rule=rule, **MOST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = find_relays(rec, estimator=name, **kw)
        slow = find_relays(rec, estimator=_generic(name), **kw)
    for key in ("curve", "null_mean", "null_mean_relay", "p_value_relay", "null_critical", "aggregated_score"):
        np.testing.assert_allclose(fast[key].values, slow[key].values, atol=1e-9, err_msg=key)
    np.testing.assert_array_equal(fast["removed"].values, slow["removed"].values)
    np.testing.assert_array_equal(fast["is_relay"].values, slow["is_relay"].values)


def test_most_loss_torch_equals_numpy():
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(6, 500))
    rec = make_recording(0.9 * (2.0 * bits - 1.0), bits[0] | bits[2], bits[1])
    kw = dict(concepts=[1], n_perm=10, order="most-loss", progress=False)
    a = find_relays(rec, device="numpy", **kw)
    b = find_relays(rec, backend="torch", device="cpu", **kw)
    np.testing.assert_allclose(a["curve"].values, b["curve"].values, atol=1e-10)
    np.testing.assert_array_equal(a["removed"].values, b["removed"].values)


def test_most_loss_relay_test_is_of_the_removed_prefix():
    # The relay set's own I_R (given the rest) is not on the most-loss curve; its test must use it.
    rec, _ = planted_relay("and", n_nodes=5, n_samples=2000, seed=5)
    r = _one(find_relays(rec, concepts=[1], n_perm=30, **MOST))
    relay = [int(j) for j in np.flatnonzero(r["is_relay"].values)]
    observed = relay_information(rec, relay, time=0, concept=1)
    assert observed == pytest.approx(float(r["total"]), abs=0.02)  # {a, b} holds it all given the noise
    assert float(r["p_value_relay"]) < 0.05 and float(r["null_mean_relay"]) < 0.05


# ---------------------------------------------------------------- the significance rule
def test_critical_value_agrees_with_the_p_value():
    rng = np.random.default_rng(0)
    for m in (9, 19, 20, 99, 100):
        null = np.round(rng.random(m), 2)  # with ties
        crit = critical_value(null, 0.05)
        for x in np.concatenate([null, null + 0.005, [-1.0, 2.0]]):
            assert (p_value(null, x) >= 0.05) == (x <= crit + 1e-9), (m, x)


@pytest.mark.parametrize("order", ["least-loss", "most-loss"])
@pytest.mark.parametrize("kind, expected", [("single", {0}), ("and", {0, 1}), ("independent", set())])
def test_significance_rule_on_planted_truths(order, kind, expected):
    rec, _ = planted_relay(kind, n_nodes=6, n_samples=3000, seed=21)
    res = find_relays(rec, concepts=[1], n_perm=99, rule="significance", order=order, **KW)
    assert _set(res) == expected
    r = _one(res)
    assert bool(r["significant"]) == (float(r["total"]) > float(r["null_critical"]) + 1e-9)
    assert res.attrs["rule"] == res.attrs["tested_rule"] == "significance"
    again = find_relays(rec, concepts=[1], n_perm=99, rule="significance", order=order, **KW)
    np.testing.assert_array_equal(res["is_relay"].values, again["is_relay"].values)  # seeded


def test_significance_rule_definition_on_a_hand_made_curve():
    curve = np.array([[1.0, 0.99, 0.97, 0.9, 0.5, 0.04, 0.0]])
    total, crit = np.array([1.0]), np.array([0.05])
    # least-loss: the largest s whose loss total - curve[s] is at most the critical value
    assert relay_cuts(curve, total, 0.9, rule="significance", critical=crit).tolist() == [2]
    # most-loss: the smallest s whose remaining curve[s] is at most the critical value
    assert relay_cuts(curve, total, 0.9, order="most-loss", rule="significance", critical=crit).tolist() == [5]
    # a total within the null: empty relay sets under both orders
    low = np.array([0.5])
    half = curve * 0.5
    assert relay_cuts(half, 0.5 * total, 0.9, rule="significance", critical=low).tolist() == [6]
    assert relay_cuts(half, 0.5 * total, 0.9, order="most-loss", rule="significance", critical=low).tolist() == [0]


def test_most_loss_fraction_definition_on_a_hand_made_curve():
    curve = np.array([[1.0, 0.6, 0.3, 0.12, 0.08, 0.0]])
    total = np.array([1.0])
    # the smallest removed prefix losing at least theta * total
    assert relay_cuts(curve, total, 0.9, order="most-loss").tolist() == [4]
    assert relay_cuts(curve, total, 0.4, order="most-loss").tolist() == [1]
    assert relay_cuts(curve, total, 0.0, order="most-loss").tolist() == [0]
    assert relay_cuts(curve, np.array([0.0]), 0.5, order="most-loss").tolist() == [0]  # nothing to relay
    # after an early stop (NaN): the last computed step when no computed step qualifies
    stopped = np.array([[1.0, 0.6, 0.3, np.nan, np.nan, 0.0]])
    assert relay_cuts(stopped, total, 0.5, order="most-loss").tolist() == [2]


def _rec():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(7, 2, 1500))
    out = ((bits[0, 0] + bits[1, 0] + bits[2, 0]) >= 2).astype(int)
    return make_recording(0.9 * (2.0 * bits - 1.0), out)


@pytest.mark.parametrize("order", ["least-loss", "most-loss"])
@pytest.mark.parametrize(
    "threshold, rule", [(0.3, "fraction"), (0.75, "fraction"), (1.0, "fraction"), (0.9, "significance")]
)
def test_relays_at_equals_a_fresh_search_for_every_order_and_rule(order, threshold, rule):
    rec = _rec()
    base = find_relays(rec, n_perm=30, order=order, **KW)
    fresh = find_relays(rec, n_perm=30, order=order, threshold=threshold, rule=rule, **KW)
    moved = relays_at(base, threshold, rule=rule)
    np.testing.assert_array_equal(moved["is_relay"].values, fresh["is_relay"].values)
    np.testing.assert_array_equal(moved["relay_size"].values, fresh["relay_size"].values)
    assert moved.attrs["rule"] == rule and moved.attrs["order"] == order
    same = (moved["is_relay"].values == base["is_relay"].values).all(-1)
    np.testing.assert_array_equal(np.isnan(moved["p_value_relay"].values), ~same)
    back = relays_at(fresh, 0.9, rule="fraction")  # back to the base parameters
    np.testing.assert_array_equal(back["is_relay"].values, base["is_relay"].values)


def test_default_behaviour_is_unchanged():
    rec = _rec()
    default = find_relays(rec, n_perm=10, **KW)
    explicit = find_relays(rec, n_perm=10, order="least-loss", rule="fraction", variable="hidden", **KW)
    for key in default.data_vars:
        np.testing.assert_array_equal(default[key].values, explicit[key].values, err_msg=key)
    assert (default.attrs["order"], default.attrs["rule"], default.attrs["variable"]) == (
        "least-loss", "fraction", "hidden")


# ---------------------------------------------------------------- hidden vs cell
def test_cell_variable_is_analysed():
    # The output is planted in the cell state of node 1; the hidden states are noise.
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, size=(4, 1500))
    hidden = 0.9 * (2.0 * rng.integers(0, 2, size=(4, 1500)) - 1.0)
    rec = make_recording(hidden, bits[1], arch="lstm")
    rec = rec.assign(cell=(("node", "time", "sample"), (2.0 * bits - 1.0)[:, None, :].astype(np.float32)))
    cell = find_relays(rec, concepts=[1], n_perm=20, variable="cell", **KW)
    hid = find_relays(rec, concepts=[1], n_perm=20, **KW)
    assert _set(cell) == {1} and bool(cell["significant"].item())
    assert not bool(hid["significant"].item())
    assert cell.attrs["variable"] == "cell" and hid.attrs["variable"] == "hidden"
    assert list(cell["node"].values) == list(hid["node"].values)
    assert relay_information(rec, [1], time=0, concept=1, variable="cell") == pytest.approx(1.0, abs=0.01)
