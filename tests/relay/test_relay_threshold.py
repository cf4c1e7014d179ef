"""relays_at re-derives relay sets from the stored curves exactly as find_relays would."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.relay import find_relays, relays_at
from relaywidgets.relay.threshold import relay_cuts
from relaywidgets.testing import make_recording, planted_relay

KW = dict(progress=False, device="numpy")


def _rec():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(7, 2, 1500))
    out = ((bits[0, 0] + bits[1, 0] + bits[2, 0]) >= 2).astype(int)
    return make_recording(0.9 * (2.0 * bits - 1.0), out)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.6, 0.75, 0.95, 1.0])
def test_relays_at_equals_a_fresh_search(threshold):
    rec = _rec()
    base = find_relays(rec, n_perm=0, **KW)
    fresh = find_relays(rec, n_perm=0, threshold=threshold, **KW)
    moved = relays_at(base, threshold)
    np.testing.assert_array_equal(moved["is_relay"].values, fresh["is_relay"].values)
    np.testing.assert_array_equal(moved["relay_size"].values, fresh["relay_size"].values)
    assert moved.attrs["threshold"] == threshold
    assert base.attrs["threshold"] == 0.9  # the input is not modified


def test_threshold_definition_on_a_hand_made_curve():
    # I_R after s removals; total 1. Smallest set with I_R >= theta: the largest such s.
    curve = np.array([[1.0, 1.0, 0.95, 0.7, 0.71, 0.2, 0.0]])
    total = np.array([1.0])
    assert relay_cuts(curve, total, 0.9).tolist() == [2]
    assert relay_cuts(curve, total, 0.7).tolist() == [4]  # non-monotone curves: the last point above
    assert relay_cuts(curve, total, 0.0).tolist() == [6]
    assert relay_cuts(curve, np.array([0.0]), 0.5).tolist() == [6]  # nothing to relay: empty set
    nan_tail = np.array([[1.0, 0.99, 0.95, np.nan, np.nan, np.nan, 0.0]])
    assert relay_cuts(nan_tail, total, 0.9).tolist() == [2]


def test_relay_test_values_are_dropped_where_the_set_changed():
    rec, _ = planted_relay("and", n_nodes=5, n_samples=2000)
    res = find_relays(rec, concepts=[1], n_perm=20, **KW)
    low = relays_at(res, 0.5)  # {a} instead of {a, b}
    assert int(low["relay_size"].item()) == 1
    assert np.isnan(low["p_value_relay"].item())
    assert low["p_value"].item() == res["p_value"].item()
    same = relays_at(res, 0.85)
    assert same["p_value_relay"].item() == res["p_value_relay"].item()
