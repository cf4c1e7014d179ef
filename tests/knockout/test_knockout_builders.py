"""Knockout.from_relays and Knockout.random_like."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from relaywidgets import Knockout, KnockoutError, record
from relaywidgets.knockout import relay_units


def _relays(n_units=6, n_layers=2, T=5):
    labels = [f"l{l}.h{u}" for l in range(n_layers) for u in range(n_units)]
    is_relay = np.zeros((3, T, len(labels)), dtype=bool)
    is_relay[1, 2, [1, 3]] = True  # concept "1" at step 2: l0.h1, l0.h3
    is_relay[1, 3, [3, 4]] = True  # at step 3: l0.h3, l0.h4
    is_relay[1, 0, 5] = True  # at step 0, not significant: l0.h5
    is_relay[0, 4, [2, n_units + 2]] = True  # concept "0" at step 4 spans both layers
    significant = np.ones((3, T), dtype=bool)
    significant[:, 0] = False
    return xr.Dataset(
        {"is_relay": (("concept", "time", "node"), is_relay), "significant": (("concept", "time"), significant)},
        coords={
            "concept": np.array(["0", "1", "all"]),
            "concept_class": ("concept", np.array([0, 1, -1])),
            "time": np.arange(T),
            "node": np.array(labels),
            "layer": ("node", np.repeat(np.arange(n_layers), n_units)),
            "unit": ("node", np.tile(np.arange(n_units), n_layers)),
        },
    )


def test_from_relays_one_step_and_union():
    relays = _relays()
    assert Knockout.from_relays(relays, 1, time=2).nodes == (1, 3)
    assert Knockout.from_relays(relays, "1", time=3).nodes == (3, 4)
    assert Knockout.from_relays(relays, 1, time=[2, 3]).nodes == (1, 3, 4)
    # The union over all steps skips the non-significant step 0 unless asked for.
    assert Knockout.from_relays(relays, 1).nodes == (1, 3, 4)
    assert Knockout.from_relays(relays, 1, significant_only=False).nodes == (1, 3, 4, 5)
    assert Knockout.from_relays(relays, 1, time=-2).nodes == (3, 4)  # negative: from the last analysed step


def test_from_relays_passes_the_knockout_settings():
    ko = Knockout.from_relays(_relays(), 1, time=2, times=slice(3, None), value=0.5)
    assert ko == Knockout([1, 3], layer=0, times=slice(3, None), value=0.5)


def test_from_relays_layers():
    relays = _relays()
    with pytest.raises(KnockoutError, match="spans layers \\[0, 1\\].*layer="):
        Knockout.from_relays(relays, 0, time=4)
    assert Knockout.from_relays(relays, 0, time=4, layer=1) == Knockout([2], layer=1)
    by_layer, info = relay_units(relays, 0, 4)
    assert by_layer == {0: [2], 1: [2]} and info["class_index"] == 0


def test_from_relays_empty_set_warns():
    with pytest.warns(UserWarning, match="empty"):
        ko = Knockout.from_relays(_relays(), 1, time=1)
    assert ko.nodes == ()


def test_from_relays_on_a_real_find_relays_result():
    relay = pytest.importorskip("relaywidgets.relay")
    from relaywidgets.testing import make_recording

    rng = np.random.default_rng(0)
    out = rng.integers(0, 2, size=400)
    hidden = rng.normal(size=(4, 400))
    hidden[2] = np.where(out == 1, 0.9, -0.9)  # node l0.h2 is the output
    rec = make_recording(hidden, out, num_classes=2)
    res = relay.find_relays(rec, concepts=[1], n_perm=20, seed=0, progress=False)
    concept = res.concept.values[0]
    assert Knockout.from_relays(res, concept, time=0).nodes == (2,)
    assert Knockout.from_relays(res, 1, time=0).nodes == (2,)


def test_random_like_same_size_layer_and_settings():
    spec = Knockout([1, 4, 6], layer=1, times=slice(2, 5), value=0.3)
    rnd = Knockout.random_like(spec, seed=0, hidden_size=10)
    assert len(rnd.nodes) == 3 and rnd.layer == 1
    assert rnd.times == spec.times and rnd.value == spec.value
    assert all(0 <= u < 10 for u in rnd.nodes) and len(set(rnd.nodes)) == 3


def test_random_like_is_deterministic_under_seed():
    spec = Knockout([0, 1], layer=0)
    draws = [Knockout.random_like(spec, seed=s, hidden_size=50).nodes for s in range(20)]
    again = [Knockout.random_like(spec, seed=s, hidden_size=50).nodes for s in range(20)]
    assert draws == again
    assert len(set(draws)) > 10  # different seeds draw different sets
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    seq_a = [Knockout.random_like(spec, rng_a, hidden_size=50).nodes for _ in range(5)]
    seq_b = [Knockout.random_like(spec, rng_b, hidden_size=50).nodes for _ in range(5)]
    assert seq_a == seq_b


def test_random_like_uniform_over_the_layer():
    spec = Knockout([0])
    counts = np.bincount([Knockout.random_like(spec, seed=s, hidden_size=4).nodes[0] for s in range(2000)], minlength=4)
    # 2000 draws of 4 equally likely units: each count ~ Binomial(2000, 1/4), sd ~ 19.4.
    assert np.all(np.abs(counts - 500) < 100)


def test_random_like_exclude_and_reference_size():
    spec = Knockout([0, 1])
    for s in range(30):
        assert not {0, 1} & set(Knockout.random_like(spec, seed=s, hidden_size=5, exclude=[0, 1]).nodes)
    with pytest.raises(KnockoutError, match="Cannot draw 2 random units"):
        Knockout.random_like(spec, seed=0, hidden_size=3, exclude=[0, 1])
    with pytest.raises(KnockoutError, match="hidden_size=model.hidden_size"):
        Knockout.random_like(spec, seed=0)


def test_random_like_mean_uses_each_units_own_mean():
    from relaywidgets import RecurrentClassifier

    model = RecurrentClassifier("gru", 2, 5, 2, device="cpu")
    rng = np.random.default_rng(1)
    rec = record(model, rng.normal(size=(30, 6, 2)), rng.integers(0, 2, size=30))
    spec = Knockout([0], value="mean", reference=rec)
    rnd = Knockout.random_like(spec, seed=2)  # the layer size comes from the reference
    unit = rnd.nodes[0]
    assert rnd.resolved_values()[0] == pytest.approx(float(np.nanmean(rec.hidden.sel(node=f"l0.h{unit}").values)))
