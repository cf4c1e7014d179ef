"""Persistence of relay sets over time (Jaccard), and the architecture comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from relaywidgets.relay import compare_architectures, find_relays, jaccard, relay_drift
from relaywidgets.testing import latched_cue


def _result(members, significant=None):
    members = np.asarray(members, dtype=bool)[None]  # (concept, time, node)
    sig = np.ones(members.shape[:2], bool) if significant is None else np.asarray(significant, bool)[None]
    return xr.Dataset(
        {
            "is_relay": (("concept", "time", "node"), members),
            "significant": (("concept", "time"), sig),
            "total": (("concept", "time"), np.ones(members.shape[:2])),
        },
        coords={"concept": ["1"], "time": np.arange(members.shape[1]), "node": ["a", "b", "c", "d"]},
        attrs={"arch": "rnn"},
    )


def test_jaccard_values():
    a = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    b = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    out = jaccard(a, b)
    assert out[0] == pytest.approx(1 / 3) and out[1] == 1.0 and np.isnan(out[2])


def test_relay_drift_on_known_sets():
    res = _result([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]])
    drift = relay_drift(res)
    np.testing.assert_allclose(drift["persistence"].values[0], [np.nan, 1 / 3, 1.0, 0.0])
    assert drift["persistence_index"].item() == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert drift["relay_size"].values[0].tolist() == [2, 2, 2, 1]
    # steps whose relay information is not significant count as empty sets
    same = [[1, 0, 0, 0]] * 3
    masked = relay_drift(_result(same, [True, False, True]), significant_only=True)
    assert masked["persistence_index"].item() == 0.0
    assert masked["persistence"].values[0, 1:].tolist() == [0.0, 0.0]


def test_latched_unit_is_the_relay_at_every_step():
    rec = latched_cue(n_nodes=5, n_steps=6, n_samples=1500, latch=2, seed=3)
    res = find_relays(rec, concepts=[1], n_perm=30, progress=False, device="numpy")
    members = res["is_relay"].values[0]
    assert (members == np.eye(5, dtype=bool)[2]).all()
    assert res["significant"].values.all()
    assert relay_drift(res)["persistence_index"].item() == 1.0


def test_compare_architectures_table():
    stay = _result([[1, 0, 0, 0]] * 3)
    move = _result([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    table = compare_architectures({"lstm": [stay, stay], "rnn": move})
    assert isinstance(table, pd.DataFrame)
    assert list(table["architecture"]) == ["lstm", "lstm", "rnn"]
    assert list(table["persistence_index"]) == [1.0, 1.0, 0.0]
    assert set(table.columns) >= {"run", "concept", "mean_relay_size", "fraction_significant", "mean_total"}
    by_arch = compare_architectures([stay, move.assign_attrs(arch="gru")])
    assert list(by_arch["architecture"]) == ["rnn", "gru"]
