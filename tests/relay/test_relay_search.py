"""find_relays on planted ground truths (METHOD.md), and the fast search against the definitions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets.info import discretize, estimators, get_estimator
from relaywidgets.relay import find_relays
from relaywidgets.relay.reference import naive_conditional_entropy, naive_relay_path
from relaywidgets.testing import make_recording, planted_relay

KW = dict(progress=False, device="numpy")


def _relays(res, concept=None, t=0):
    r = res.isel(time=t) if concept is None else res.sel(concept=concept).isel(time=t)
    if "concept" in r.dims:
        r = r.isel(concept=0)
    return set(np.flatnonzero(r["is_relay"].values).tolist()), r


@pytest.mark.parametrize(
    "kind, expected",
    [("single", [{0}]), ("and", [{0, 1}]), ("copies", [{0, 1}]), ("xor", [{0}, {1}])],
)
def test_planted_relays_are_found(kind, expected):
    rec, _ = planted_relay(kind, n_nodes=6, n_samples=3000, seed=11)
    res = find_relays(rec, concepts=[1], n_perm=50, **KW)
    found, r = _relays(res)
    assert found in expected
    assert bool(r["significant"]) and float(r["p_value"]) < 0.05
    assert int(r["relay_size"]) == len(found)


def test_xor_single_node_keeps_everything():
    # Given all other nodes, one XOR input decides the output: I_R({a}) = I_R({a, b}) = I_R(N).
    rec, _ = planted_relay("xor", n_nodes=5, n_samples=3000, seed=12)
    res = find_relays(rec, concepts=[1], n_perm=0, **KW)
    _, r = _relays(res)
    unique = r["unique_relay"].values
    total = float(r["total"])
    # (up to the plug-in bias of conditioning on the noise nodes)
    assert unique[0] == pytest.approx(total, abs=0.02) and unique[1] == pytest.approx(total, abs=0.02)
    assert r["marginal_mi"].values[:2] == pytest.approx([0, 0], abs=0.01)  # neither input alone


def test_copies_each_alone_has_no_unique_relay():
    rec, _ = planted_relay("copies", n_nodes=5, n_samples=2000, seed=13)
    res = find_relays(rec, concepts=[1], n_perm=0, **KW)
    _, r = _relays(res)
    assert r["unique_relay"].values[:2] == pytest.approx([0, 0], abs=1e-12)


def test_independent_output_has_no_significant_relay():
    significant = []
    for seed in range(4):
        rec, _ = planted_relay("independent", n_nodes=6, n_samples=2000, seed=seed)
        res = find_relays(rec, concepts=[1], n_perm=99, seed=seed, **KW)
        significant.append(bool(res["significant"].item()))
    assert sum(significant) <= 1  # each is a test at alpha = 0.05


def test_fast_search_equals_the_naive_reference():
    rng = np.random.default_rng(1)
    n_nodes, n = 8, 800
    bits = rng.integers(0, 2, size=(n_nodes, n))
    out = ((bits[0] + bits[1] + bits[2]) >= 2).astype(int)
    out = np.where(rng.random(n) < 0.1, 1 - out, out)
    rec = make_recording(0.9 * (2.0 * bits - 1.0) + 0.02 * rng.normal(size=bits.shape), out)
    res = find_relays(rec, concepts=[1], n_perm=0, **KW)
    _, r = _relays(res)
    order, curve = naive_relay_path(bits.T, out, tiebreak=r["marginal_mi"].values)
    np.testing.assert_array_equal(r["removed"].values[1:], order)
    np.testing.assert_allclose(r["curve"].values, curve, atol=1e-12)
    # per-node scores from their definitions
    h_full = naive_conditional_entropy(out, bits.T)
    unique = [naive_conditional_entropy(out, np.delete(bits.T, j, axis=1)) - h_full for j in range(n_nodes)]
    np.testing.assert_allclose(r["unique_relay"].values, unique, atol=1e-12)
    h_o = naive_conditional_entropy(out, bits.T[:, []])
    marginal = [h_o - naive_conditional_entropy(out, bits.T[:, [j]]) for j in range(n_nodes)]
    np.testing.assert_allclose(r["marginal_mi"].values, marginal, atol=1e-12)
    rank = r["elimination_rank"].values
    np.testing.assert_allclose(r["contribution"].values, curve[rank] - curve[rank + 1], atol=1e-12)
    assert r["aggregated_score"].values.max() == pytest.approx(1.0)


def test_fast_search_equals_the_naive_reference_for_many_classes():
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, size=(6, 600))
    out = bits[0] + 2 * bits[1] + (rng.random(600) < 0.2)
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, num_classes=5)
    res = find_relays(rec, concepts=["all", 2], n_perm=0, **KW)
    for concept, o in (("all", out), ("2", (out == 2).astype(int))):
        _, r = _relays(res, concept)
        order, curve = naive_relay_path(bits.T, o, tiebreak=r["marginal_mi"].values)
        np.testing.assert_array_equal(r["removed"].values[1:], order)
        np.testing.assert_allclose(r["curve"].values, curve, atol=1e-12)


@pytest.mark.parametrize("cls", [type(get_estimator("miller-madow")), type(get_estimator("shrinkage"))])
@pytest.mark.parametrize("source", ["input", "label"])
def test_counting_search_matches_estimator_calls(cls, source):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(5, 400))
    label = bits[0]
    out = np.where(rng.random(400) < 0.2, 1 - (bits[0] & bits[1]), bits[0] & bits[1])
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, label)

    class Opaque(cls):  # same numbers, but without vectorised count hooks: the generic path
        name = cls.name + "-opaque"
        vectorised_counts = False

    Opaque.__module__ = __name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = find_relays(rec, concepts=[1], n_perm=20, estimator=cls(), source=source, **KW)
        slow = find_relays(rec, concepts=[1], n_perm=20, estimator=Opaque(), source=source, **KW)
    for key in ("curve", "unique_relay", "marginal_mi", "null_mean", "null_mean_relay"):
        np.testing.assert_allclose(fast[key].values, slow[key].values, atol=1e-9, err_msg=key)
    np.testing.assert_array_equal(fast["removed"].values, slow["removed"].values)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_torch_path_equals_numpy_path():
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 3, size=(6, 700))  # three levels: quantile codes
    out = ((bits[0] + bits[2]) > 2).astype(int)
    rec = make_recording(bits + 0.01 * rng.normal(size=bits.shape), out, bits[0] % 2)
    disc = lambda h: discretize(h, "quantile", levels=3)  # noqa: E731
    for source in ("input", "label"):
        for est in [n for n, e in estimators().items() if getattr(e, "supports_torch", False)]:
            kw = dict(concepts=[1, "all"], n_perm=10, estimator=est, discretizer=disc, source=source, progress=False)
            a = find_relays(rec, device="numpy", **kw)
            b = find_relays(rec, device="cpu", **kw)
            np.testing.assert_allclose(a["curve"].values, b["curve"].values, atol=1e-10)
            np.testing.assert_array_equal(a["removed"].values, b["removed"].values)
            assert b.attrs["device"] == "cpu"


def test_gcmi_finds_the_planted_node():
    rec, _ = planted_relay("single", n_nodes=4, n_samples=1500, seed=5, noise=0.3)
    res = find_relays(rec, concepts=[1], n_perm=5, estimator="gcmi", **KW)
    found, r = _relays(res)
    assert found == {0}
    assert res.attrs["estimator"] == "gcmi" and res.attrs["discretizer"] == ""


def test_ksg_finds_the_planted_node():
    rec, _ = planted_relay("single", n_nodes=3, n_samples=400, seed=6, noise=0.3)
    res = find_relays(rec, concepts=[1], n_perm=0, estimator=get_estimator("ksg", k=4), **KW)
    found, _ = _relays(res)
    assert found == {0}


def test_constant_nodes_and_nan_padded_steps():
    rng = np.random.default_rng(7)
    n_nodes, T, n = 5, 4, 1500
    bits = rng.integers(0, 2, size=(n_nodes, T, n))
    hidden = 0.9 * (2.0 * bits - 1.0)
    hidden[3] = 0.25  # a constant node
    lengths = rng.integers(1, T + 1, size=n)
    out = bits[0, 0]
    rec = make_recording(hidden, out, lengths=lengths)
    res = find_relays(rec, concepts=[1], n_perm=20, **KW)
    assert res.sizes == {"concept": 1, "time": T, "node": n_nodes, "step": n_nodes + 1}
    assert not res["is_relay"].values[..., 3].any()
    assert res["marginal_mi"].values[..., 3] == pytest.approx(0.0, abs=1e-12)
    # step 0: node 0 is the output
    found, _ = _relays(res, t=0)
    assert found == {0}
    assert np.isfinite(res["curve"].values).all()


def test_result_layout_and_attrs():
    rec, _ = planted_relay("and", n_nodes=4, n_samples=500, n_steps=2)
    res = find_relays(rec, n_perm=10, **KW)
    assert list(res["concept"].values) == ["0", "1"]
    assert list(res["concept_class"].values) == [0, 1]
    assert set(res.dims) == {"concept", "time", "node", "step"}
    for key in ("is_relay", "contribution", "elimination_rank", "aggregated_score", "marginal_mi", "unique_relay"):
        assert res[key].dims == ("concept", "time", "node")
    for key in ("total", "relay_size", "p_value", "null_mean", "significant"):
        assert res[key].dims == ("concept", "time")
    assert res["curve"].dims == ("concept", "time", "step")
    for key in ("estimator", "discretizer", "threshold", "alpha", "n_perm", "seed"):
        assert key in res.attrs
    assert res.attrs["task"] == "planted-and" and res.attrs["recording_seed"] == 0
    assert res.attrs["relaywidgets_format"] == "relays/1"
    # the curve starts at the total and ends at 0; ranks are a permutation
    np.testing.assert_allclose(res["curve"].values[..., 0], res["total"].values)
    np.testing.assert_allclose(res["curve"].values[..., -1], 0.0, atol=1e-12)
    assert (np.sort(res["elimination_rank"].values, axis=-1) == np.arange(4)).all()


def test_concept_zero_and_one_are_the_same_relays_for_binary_decisions():
    # O_0 = 1 - O_1 carries the same information: identical curves.
    rec, _ = planted_relay("and", n_nodes=5, n_samples=1000, seed=8)
    res = find_relays(rec, n_perm=0, **KW)
    np.testing.assert_allclose(res["curve"].values[0], res["curve"].values[1], atol=1e-12)


def test_early_stop_keeps_the_relay_set():
    rec, _ = planted_relay("and", n_nodes=6, n_samples=2000, seed=9)
    full = find_relays(rec, concepts=[1], n_perm=30, **KW)
    early = find_relays(rec, concepts=[1], n_perm=30, early_stop=True, **KW)
    np.testing.assert_array_equal(full["is_relay"].values, early["is_relay"].values)


def test_progress_bar_runs():
    rec, _ = planted_relay("single", n_nodes=3, n_samples=200, n_steps=2)
    res = find_relays(rec, n_perm=0, progress=True, device="numpy")
    assert res.sizes["time"] == 2
