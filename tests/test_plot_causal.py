"""relaywidgets.plot.effect_heatmap and deletion_plot show the numbers of effect_map and deletion_curve, on the
relay heat map's axes (matplotlib on Agg, and bqplot marks)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from relaywidgets import RecurrentClassifier, make_task, record, train  # noqa: E402
from relaywidgets.errors import InputError  # noqa: E402
from relaywidgets.knockout import deletion_curve, effect_map, unit_effects  # noqa: E402
from relaywidgets.plot import deletion_plot, effect_heatmap, relay_heatmap  # noqa: E402
from relaywidgets.plot.causal_data import deletion_data, effect_map_data  # noqa: E402
from relaywidgets.relay import find_relays  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def trained():
    """A small GRU trained on delayed-cue (so that knockouts matter), its data, relays and effect map."""
    import torch

    X, y = make_task("delayed-cue", n_samples=360, seq_len=6, seed=2)
    model = RecurrentClassifier("gru", X.shape[2], 6, 4, device="cpu", seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(model, X[:240], y[:240], epochs=25, lr=3e-2, batch_size=64, seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    Xe, ye = X[240:], y[240:]
    relays = find_relays(record(model, Xe, ye), n_perm=0, progress=False)
    effects = effect_map(model, Xe, ye, n_boot=20, progress=False)
    return model, Xe, ye, relays, effects


def _image(fig) -> np.ndarray:
    return np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)


# ---------------------------------------------------------------- effect maps


@pytest.mark.parametrize("variable", ["accuracy_drop", "margin_drop"])
def test_effect_heatmap_image_is_the_effect_maps_drop(trained, variable):
    *_, effects = trained
    fig = effect_heatmap(effects, "2", variable=variable)
    expected = effects[variable].sel(concept="2").transpose("node", "time").values
    np.testing.assert_array_equal(_image(fig), expected)
    assert np.abs(expected).max() > 0, "the trained model's knockouts should move something"
    low, high = fig.axes[0].images[0].get_clim()
    assert low == -high == pytest.approx(-np.abs(expected).max())  # diverging, centred at 0
    assert fig.axes[0].get_ylabel() == "node" and fig.axes[0].get_xlabel() == "time step"


def test_effect_heatmap_has_the_relay_heatmaps_axes(trained):
    _, _, _, relays, effects = trained
    eff = effect_heatmap(effects, 1).axes[0]
    rel = relay_heatmap(relays, 1).axes[0]
    assert [t.get_text() for t in eff.get_yticklabels()] == [t.get_text() for t in rel.get_yticklabels()]
    assert [t.get_text() for t in eff.get_xticklabels()] == [t.get_text() for t in rel.get_xticklabels()]
    assert eff.get_ylim() == rel.get_ylim()  # first node on top in both
    assert eff.get_xlim() == rel.get_xlim()


def test_effect_map_data_follows_the_given_nodes_and_steps(trained):
    *_, effects = trained
    nodes, times = ["l0.h4", "l0.h1"], [5, 2, 3]
    data = effect_map_data(effects, "all", variable="margin_drop", nodes=nodes, times=times)
    expected = effects.margin_drop.sel(concept="all", node=nodes, time=times).values
    np.testing.assert_array_equal(data.values, expected)
    np.testing.assert_array_equal(data.low, effects.margin_drop_low.sel(concept="all", node=nodes, time=times).values)
    np.testing.assert_array_equal(data.high, effects.margin_drop_high.sel(concept="all", node=nodes, time=times).values)
    assert data.nodes.tolist() == nodes and data.times.tolist() == times
    assert data.baseline == float(effects.baseline_margin.sel(concept="all"))
    assert data.vmax == -data.vmin == np.abs(expected).max()


def test_effect_map_data_thins_ticks_as_the_relay_map_does():
    T, n = 60, 50
    effects = xr.Dataset(
        {"accuracy_drop": (("concept", "node", "time"), np.zeros((1, n, T))),
         "margin_drop": (("concept", "node", "time"), np.zeros((1, n, T)))},
        coords={"concept": ["0"], "concept_class": ("concept", [0]), "node": [f"l0.h{i}" for i in range(n)],
                "time": np.arange(T)},
    )
    data = effect_map_data(effects, 0)
    assert data.x_ticks[1] == [str(t) for t in range(0, T, 3)]  # at most 25 time ticks
    assert data.y_ticks[1] == [f"l0.h{i}" for i in range(0, n, 2)]  # at most 40 node ticks
    assert (data.vmin, data.vmax) == (-1e-9, 1e-9)  # an all-zero map still has a colour range


def test_effect_heatmap_bqplot_marks_hold_the_drops(trained):
    pytest.importorskip("bqplot")
    *_, effects = trained
    fig = effect_heatmap(effects, "3", variable="margin_drop", backend="bqplot")
    grid = fig.marks[0]
    np.testing.assert_array_equal(grid.color, effects.margin_drop.sel(concept="3").transpose("node", "time").values)
    assert list(grid.row) == [str(v) for v in effects.node.values]
    assert [int(c) for c in grid.column] == list(range(effects.sizes["time"]))
    scale = grid.scales["color"]
    top = float(np.abs(effects.margin_drop.sel(concept="3")).max())
    assert scale.mid == 0.0 and scale.min == pytest.approx(-top) and scale.max == pytest.approx(top)


def test_effect_heatmap_bad_input_gets_clear_errors(trained):
    model, X, y, relays, effects = trained
    with pytest.raises(InputError, match="effect_map"):
        effect_heatmap(relays, 1)
    with pytest.raises(InputError, match="no time axis"):
        effect_heatmap(unit_effects(model, X, y, n_boot=0, progress=False), 1)
    with pytest.raises(InputError, match="'variable'"):
        effect_heatmap(effects, 1, variable="drop")
    with pytest.raises(InputError, match=r"l9\.h9"):
        effect_heatmap(effects, 1, nodes=["l0.h0", "l9.h9"])
    with pytest.raises(InputError, match="99"):
        effect_heatmap(effects, 1, times=[0, 99])
    with pytest.raises(InputError, match="Concept"):
        effect_heatmap(effects, 7)
    with pytest.raises(InputError, match="backend"):
        effect_heatmap(effects, 1, backend="plotly")


# ---------------------------------------------------------------- deletion curves


@pytest.fixture(scope="module")
def curves(trained):
    model, X, y, relays, _ = trained
    return deletion_curve(model, X, y, ["contribution", "readout", "grad_x_act"], "1", relays=relays, time=5,
                          n_random=40, seed=1, progress=False)


def test_deletion_plot_draws_each_ranking_and_the_random_band(curves):
    fig = deletion_plot(curves)
    ax = fig.axes[0]
    ks = curves.k.values
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), curves.random_mean.values)
    for line, name in zip(ax.lines[1:4], curves.ranking.values):
        np.testing.assert_array_equal(line.get_xdata(), ks)
        np.testing.assert_array_equal(line.get_ydata(), curves.curve.sel(ranking=name).values)
        area, p = float(curves.area.sel(ranking=name)), float(curves.p_value.sel(ranking=name))
        assert f"area {area:+.3f}, p = {p:.3g}" in line.get_label()
    assert ax.lines[4].get_ydata()[0] == pytest.approx(float(curves.baseline))  # the intact accuracy
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(curves.random_low.values.min())
    assert band[:, 1].max() == pytest.approx(curves.random_high.values.max())
    assert "class 1" in ax.get_title()


def test_deletion_plot_of_one_ranking_and_with_bqplot(trained, curves):
    one = curves.isel(ranking=1)  # what deletion_curve returns for a single ranking
    data = deletion_data(one)
    assert [r.name for r in data.rankings] == ["readout"]
    np.testing.assert_array_equal(data.rankings[0].values, curves.curve.sel(ranking="readout").values)
    model, X, y, _, _ = trained
    single = deletion_curve(model, X, y, "readout", "1", n_random=10, progress=False)
    assert [r.name for r in deletion_data(single).rankings] == ["readout"]

    pytest.importorskip("bqplot")
    fig = deletion_plot(curves, backend="bqplot")
    np.testing.assert_array_equal(fig.marks[0].y, np.vstack([curves.random_low.values, curves.random_high.values]))
    np.testing.assert_array_equal(fig.marks[1].y, curves.random_mean.values)
    for mark, name in zip(fig.marks[2:5], curves.ranking.values):
        np.testing.assert_array_equal(mark.y, curves.curve.sel(ranking=name).values)
        np.testing.assert_array_equal(mark.x, curves.k.values.astype(float))


def test_deletion_plot_refuses_other_results(trained):
    *_, effects = trained
    with pytest.raises(InputError, match="deletion_curve"):
        deletion_plot(effects)
    with pytest.raises(InputError, match="deletion_curve"):
        deletion_plot([1, 2])
