"""Agreement of relays and effects, against numbers computed by hand."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
import xarray as xr

from relaywidgets.errors import InputError
from relaywidgets.knockout.agreement import agreement
from relaywidgets.knockout.causal_sets import causal_set

NODES = [f"l0.h{i}" for i in range(6)]


def _relays(contribution, is_relay, times=(2,)):
    c = np.asarray(contribution, dtype=float).reshape(1, len(times), 6)
    r = np.asarray(is_relay, dtype=bool).reshape(1, len(times), 6)
    return xr.Dataset(
        {"is_relay": (("concept", "time", "node"), r), "contribution": (("concept", "time", "node"), c)},
        coords={"concept": ["1"], "concept_class": ("concept", [1]), "time": list(times), "node": NODES},
    )


def _effects(values, with_time=False):
    v = np.asarray(values, dtype=float)
    if with_time:
        return xr.Dataset({"accuracy_drop": (("concept", "node", "time"), v)},
                          coords={"concept": ["0", "1"], "concept_class": ("concept", [0, 1]), "node": NODES,
                                  "time": [1, 2]})
    return xr.Dataset({"accuracy_drop": (("concept", "node"), v)},
                      coords={"concept": ["0", "1"], "concept_class": ("concept", [0, 1]), "node": NODES})


def test_hand_computed_agreement():
    relays = _relays([6, 5, 4, 3, 2, 1], [1, 1, 0, 0, 0, 0])
    effects = _effects([[0] * 6, [0.9, 0.8, 0.6, 0.1, 0.0, 0.2]])
    res = agreement(relays, effects, k=3, threshold=0.5).squeeze()
    # Ranks of the relay score 6..1, of the effect 6, 5, 4, 2, 1, 3: d = (0, 0, 0, 1, 1, -2), sum d^2 = 6.
    assert float(res.spearman) == pytest.approx(1 - 6 * 6 / (6 * 35))
    assert float(res.topk_overlap) == 1.0  # {h0, h1, h2} both times
    # Causal set (effect > 0.5) = {h0, h1, h2}; relay set {h0, h1}: Jaccard 2/3.
    assert float(res.jaccard) == pytest.approx(2 / 3)
    assert int(res.overlap) == 2 and int(res.relay_size) == 2 and int(res.causal_size) == 3
    # P(X >= 2) for 2 draws from 6 units of which 3 are causal: C(3,2) / C(6,2).
    assert float(res.hypergeom_p) == pytest.approx(comb(3, 2) / comb(6, 2))
    assert str(res.concept.values) == "1" and res.attrs["k"] == 3


def test_partial_overlap_and_anti_correlation():
    relays = _relays([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 1, 1])
    effects = _effects([[0] * 6, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]])
    res = agreement(relays, effects, k=2, threshold=0.45).squeeze()
    assert float(res.spearman) == pytest.approx(-1.0)
    assert float(res.topk_overlap) == 0.0
    assert float(res.jaccard) == 0.0
    assert float(res.hypergeom_p) == 1.0  # P(X >= 0)
    one = agreement(_relays([3, 1, 2, 0, 0, 0], [1, 0, 1, 0, 0, 0]), effects, k=2, threshold=0.45).squeeze()
    # top-2 relay {h0, h2}, top-2 effect {h0, h1}: half shared. Relay {h0, h2}, causal {h0, h1}: 1 of 3.
    assert float(one.topk_overlap) == 0.5 and float(one.jaccard) == pytest.approx(1 / 3)
    # P(X >= 1) = 1 - C(4, 2) / C(6, 2).
    assert float(one.hypergeom_p) == pytest.approx(1 - comb(4, 2) / comb(6, 2))


def test_effect_map_is_compared_step_by_step_and_constant_gives_nan():
    relays = _relays([[6, 5, 4, 3, 2, 1], [1, 1, 1, 1, 1, 1]], [[1] + [0] * 5, [0] * 6], times=(1, 2))
    per_step = np.zeros((2, 6, 2))
    per_step[1, :, 0] = [6, 5, 4, 3, 2, 1]
    per_step[1, :, 1] = [1, 2, 3, 4, 5, 6]
    res = agreement(relays, _effects(per_step, with_time=True), k=1).squeeze("concept")
    assert float(res.spearman.sel(time=1)) == pytest.approx(1.0)
    assert np.isnan(float(res.spearman.sel(time=2)))  # constant relay score
    # Step 1: relay {h0}, causal (effect > 0.05) every unit. Step 2: no relay, every unit causal.
    assert float(res.jaccard.sel(time=1)) == pytest.approx(1 / 6) and float(res.jaccard.sel(time=2)) == 0.0
    assert float(res.causal_size.sel(time=2)) == 6 and float(res.hypergeom_p.sel(time=2)) == 1.0
    empty = agreement(relays, _effects(per_step, with_time=True), k=1, threshold=10).squeeze("concept")
    assert np.isnan(float(empty.jaccard.sel(time=2)))  # both sets empty


def test_latch_relays_agree_with_its_causal_set(latch):
    model, X, y, relays = latch
    effects_set = causal_set(model, X, y, 1, progress=False)
    effects = xr.Dataset(
        {"accuracy_drop": (("concept", "node"), np.zeros((2, 64)))},
        coords={"concept": ["0", "1"], "concept_class": ("concept", [0, 1]), "node": relays.node.values},
    )
    relays = relays.assign(contribution=relays.is_relay.astype(float))
    res = agreement(relays, effects, causal=effects_set, k=1)
    assert list(res.concept.values) == ["0", "1"]  # "all" has no counterpart in these effects
    late = res.sel(concept="1", time=slice(1, None))
    assert np.all(late.jaccard == 1.0)
    np.testing.assert_allclose(late.hypergeom_p, 1 / 64)  # one unit out of 64 picked by chance
    assert np.isnan(res.jaccard.sel(concept="0")).all()  # the causal_set result is about class 1 only


def test_bad_input_names_the_problem():
    relays = _relays([6, 5, 4, 3, 2, 1], [1, 1, 0, 0, 0, 0])
    effects = _effects([[0] * 6, [0.9, 0.8, 0.6, 0.1, 0.0, 0.2]])
    with pytest.raises(InputError, match="'k' parameter of agreement must be at most the 6 units"):
        agreement(relays, effects, k=7)
    with pytest.raises(InputError, match="'margin_drop' variable"):
        agreement(relays, effects, effect="margin_drop")
    with pytest.raises(InputError, match="has no 'unique_relay' variable"):
        agreement(relays, effects, score="unique_relay")
    with pytest.raises(InputError, match="share no concept"):
        agreement(relays, effects.isel(concept=[0]))
    with pytest.raises(InputError, match="lack node"):
        agreement(relays, effects.isel(node=[0, 1]))
