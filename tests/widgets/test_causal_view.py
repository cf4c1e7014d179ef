"""The explorer's causal view: click its buttons, then compare what the views hold with effect_map, causal_set,
deletion_curve and evaluate computed here, independently of the widgets (no browser)."""

from __future__ import annotations

import re

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

import relaywidgets as rw  # noqa: E402
import relaywidgets.knockout as knockout_api  # noqa: E402
from relaywidgets.errors import KnockoutError  # noqa: E402
from relaywidgets.knockout import Knockout, causal_set, deletion_curve, effect_map, evaluate  # noqa: E402
from relaywidgets.relay import find_relays  # noqa: E402
from relaywidgets.widgets import CausalPanel, EffectHeatmap, Explorer, ExplorerState  # noqa: E402
from relaywidgets.widgets.state import ExplorerStateError  # noqa: E402

SEQ_LEN = 8


@pytest.fixture(scope="module")
def setup():
    """A small GRU trained on delayed-cue, its held-out data, recording and relay map."""
    import torch

    X, y = rw.make_task("delayed-cue", 700, SEQ_LEN, seed=5)
    model = rw.RecurrentClassifier("gru", X.shape[2], 8, 4, device="cpu", seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and the machine is shared
    try:
        rw.train(model, X[:500], y[:500], epochs=25, lr=3e-2, batch_size=128, seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    Xe, ye = X[500:], y[500:]
    assert (model.predict(Xe) == ye).mean() > 0.9, "the test model should have learnt the task"
    rec = rw.record(model, Xe, ye)
    relays = find_relays(rec, n_perm=0, progress=False)
    return model, Xe, ye, rec, relays


@pytest.fixture
def ex(setup):
    model, X, y, rec, relays = setup
    return Explorer(rec, relays, model=model, X=X, y=y, progress=False)


def accuracy_with(model, X, y, labels) -> float:
    """The overall accuracy with ``labels`` knocked out over every step (zero), from the knockout API."""
    return float(evaluate(model, X, y, knockout=[Knockout(list(labels))] if labels else None)["accuracy"])


def test_opening_the_explorer_computes_nothing(setup, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the explorer must not compute the causal map before it is asked to")

    for name in ("effect_map", "causal_set", "deletion_curve"):
        monkeypatch.setattr(knockout_api, name, refuse)
    model, X, y, rec, relays = setup
    ex = Explorer(rec, relays, model=model, X=X, y=y, progress=False)
    s = ex.state
    assert s.effects is None and s.causal is None and s.deletion is None
    assert "press Compute causal map" in s.causal_status and not s.causal_stale
    assert "press Compute causal map" in ex.effect_heatmap.figure.title
    # the relay map's grid, empty: every cell grey
    assert set(ex.effect_heatmap.color_scale.colors) == {"#f4f4f4"} and not ex.effect_heatmap.grid.color.any()
    assert list(ex.effect_heatmap.grid.row) == list(ex.heatmap.grid.row)
    assert list(ex.effect_heatmap.grid.column) == list(ex.heatmap.grid.column)
    assert ex.causal_panel.knock_causal.disabled and ex.causal_panel.figure.marks == []
    assert ex.graph.causal_nodes == [] and "press Compute causal map" in ex.graph.legend.value


def test_compute_shows_the_effect_map_of_the_selected_concept_on_the_relay_maps_axes(ex, setup):
    model, X, y, rec, relays = setup
    s = ex.state
    s.concept, s.time = "2", 3
    busy = []
    s.observe(lambda change: busy.append(change["new"]), names="busy")
    ex.effect_heatmap.compute.click()
    assert s.error == ""
    assert busy[0] is True and busy[-1] is False and not s.busy
    assert "computed in" in s.causal_status and not s.causal_stale

    truth = effect_map(model, X, y, progress=False)
    for var in ("accuracy_drop", "margin_drop", "accuracy_drop_low", "margin_drop_high", "baseline_accuracy"):
        np.testing.assert_allclose(s.effects[var].values, truth[var].values, rtol=0, atol=1e-12)
    view = ex.effect_heatmap
    expected = truth.accuracy_drop.sel(concept="2", node=relays.node.values, time=relays.time.values).values
    np.testing.assert_allclose(view.grid.color, expected, atol=1e-12)
    assert list(view.grid.row) == list(ex.heatmap.grid.row)  # same node order as the relay map
    assert list(view.grid.column) == list(ex.heatmap.grid.column)
    top = np.abs(expected).max()
    assert view.color_scale.mid == 0.0 and view.color_scale.min == pytest.approx(-top)
    assert view.color_scale.colors == ["#2166ac", "#f7f7f7", "#b2182b"]  # blue - white - red
    assert list(view.selected_line.x) == list(ex.heatmap.selected_line.x) == ["3", "3"]

    view.variable.value = "margin_drop"
    assert s.effect_variable == "margin_drop"
    np.testing.assert_allclose(
        view.grid.color, truth.margin_drop.sel(concept="2", node=relays.node.values, time=relays.time.values).values,
        atol=1e-12,
    )
    s.concept = "0"  # every concept is in the map: no recomputation
    np.testing.assert_allclose(view.grid.color, truth.margin_drop.sel(concept="0").values, atol=1e-12)
    view.select_column(5)  # a click on a cell selects its step in every view
    assert s.time == 5 and list(ex.heatmap.selected_line.x) == ["5", "5"]


def test_causal_set_is_highlighted_and_knocked_out_with_the_apis_numbers(ex, setup):
    model, X, y, rec, relays = setup
    s = ex.state
    s.concept = "1"
    ex.effect_heatmap.compute.click()
    assert s.error == ""
    truth = causal_set(model, X, y, "1", target=0.5, progress=False)
    order = [str(v) for v in truth.order.values]
    assert [str(v) for v in s.causal.order.values] == order and order
    np.testing.assert_allclose(s.causal.curve.values, truth.curve.values, atol=1e-12)

    graph = ex.graph
    assert graph.causal_nodes == order
    index = graph.node_index
    np.testing.assert_array_equal(graph.causal_rings.x, [graph.mark.x[index[n]] for n in order])
    np.testing.assert_array_equal(graph.causal_rings.y, [graph.mark.y[index[n]] for n in order])
    assert f"causal set of class 1 ({len(order)} units)" in graph.legend.value
    assert graph.figure.marks[1] is graph.causal_rings

    panel = ex.causal_panel
    assert ", ".join(order) in panel.readout.value
    assert f"by {float(truth.accuracy_drop[-1]):.3f}" in panel.readout.value
    assert not panel.knock_causal.disabled
    panel.knock_causal.click()
    assert s.error == ""
    assert set(s.knocked_out) == set(order)
    expected = accuracy_with(model, X, y, order)
    assert s.accuracy == pytest.approx(expected, abs=1e-12)
    assert f"accuracy {expected:.3f}" in ex.knockout_panel.readout.value
    per_class = evaluate(model, X, y, knockout=Knockout(order))["class_accuracy"].values
    np.testing.assert_allclose(s.per_class_accuracy, per_class, atol=1e-12)
    # the class's accuracy drop is the causal set's own
    assert s.baseline_per_class_accuracy[1] - s.per_class_accuracy[1] == pytest.approx(
        float(truth.accuracy_drop[-1]), abs=1e-12)


def test_deletion_curves_are_the_apis(ex, setup):
    model, X, y, rec, relays = setup
    s = ex.state
    s.concept, s.time, s.n_random = "3", 6, 40
    ex.causal_panel.ranking.value = "aggregated_score"
    assert s.relay_ranking == "aggregated_score"
    ex.effect_heatmap.compute.click()
    assert s.error == ""
    truth = deletion_curve(model, X, y, ["aggregated_score", "readout", "grad_x_act"], "3", relays=relays, time=6,
                           n_random=40, progress=False)
    assert s.deletion.ranking.values.tolist() == ["aggregated_score", "readout", "grad_x_act"]
    for var in ("curve", "area", "p_value", "random_mean", "random_low", "random_high"):
        np.testing.assert_allclose(s.deletion[var].values, truth[var].values, atol=1e-9)
    panel = ex.causal_panel
    marks = panel.figure.marks
    np.testing.assert_allclose(marks[0].y, np.vstack([truth.random_low.values, truth.random_high.values]))
    np.testing.assert_allclose(marks[1].y, truth.random_mean.values)
    for mark, name in zip(marks[2:5], truth.ranking.values):
        np.testing.assert_allclose(mark.y, truth.curve.sel(ranking=name).values)
    assert "t=6" in panel.figure.title and "class 3" in panel.figure.title
    for name in truth.ranking.values:
        assert f"{float(truth.area.sel(ranking=name)):+.3f}" in panel.summary.value


def test_results_are_cached_per_value_and_window(ex, setup, monkeypatch):
    model, X, y, rec, relays = setup
    calls = []
    real = knockout_api.effect_map

    def counting(*args, **kwargs):
        calls.append((kwargs["value"], kwargs["window"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(knockout_api, "effect_map", counting)
    s = ex.state
    ex.effect_heatmap.compute.click()
    first = s.effects
    ex.effect_heatmap.compute.click()
    assert calls == [("zero", 1)] and s.effects is first and "cached" in s.causal_status

    ex.effect_heatmap.window.value = 3
    assert s.effect_window == 3 and s.effects is None and s.causal_stale
    assert ex.effect_heatmap.compute.button_style == "warning"
    assert s.causal is not None  # the causal set does not depend on the window
    ex.effect_heatmap.compute.click()
    truth = effect_map(model, X, y, window=3, progress=False)
    np.testing.assert_allclose(s.effects.accuracy_drop.values, truth.accuracy_drop.values, atol=1e-12)
    assert s.effects.attrs["window"] == 3 and not s.causal_stale

    ex.effect_heatmap.value.value = "mean"
    assert s.effects is None and s.causal is None  # another knockout value: everything anew
    ex.effect_heatmap.compute.click()
    truth = effect_map(model, X, y, window=3, value="mean", reference=rec, progress=False)
    np.testing.assert_allclose(s.effects.margin_drop.values, truth.margin_drop.values, atol=1e-12)
    assert "mean knockouts" in ex.causal_panel.readout.value

    ex.effect_heatmap.value.value = "zero"
    ex.effect_heatmap.window.value = 1
    assert s.effects is first  # back to the first setting: instant
    assert calls == [("zero", 1), ("zero", 3), ("mean", 3)]

    s.concept = [c for c in s.concepts if c != s.concept][0]
    assert s.effects is first and s.causal is None and s.causal_stale
    assert "press Compute causal map" in ex.causal_panel.readout.value
    assert ex.causal_panel.knock_causal.disabled


def test_progress_is_shown_when_asked(setup, monkeypatch):
    model, X, y, rec, relays = setup
    seen = {}
    for name in ("effect_map", "causal_set", "deletion_curve"):
        real = getattr(knockout_api, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            seen[_name] = kwargs["progress"]
            return _real(*args, **{**kwargs, "progress": False})

        monkeypatch.setattr(knockout_api, name, spy)
    ex = Explorer(rec, relays, model=model, X=X, y=y, progress=True)
    ex.state.n_random = 5
    ex.effect_heatmap.compute.click()
    assert seen == {"effect_map": True, "causal_set": True, "deletion_curve": True}
    # the bars go to the view's Output widget (a kernel renders tqdm.auto's widget there)
    assert "rw-causal-progress" in ex.effect_heatmap.output._dom_classes
    assert ex.effect_heatmap.output in ex.effect_heatmap.children


def test_errors_are_reported_in_the_widget_and_earlier_results_stay(ex, monkeypatch):
    def fail(*args, **kwargs):
        raise KnockoutError("causal_set: the intact network's accuracy for concept '1' is 0, so there is nothing to remove.")

    monkeypatch.setattr(knockout_api, "causal_set", fail)
    s = ex.state
    ex.effect_heatmap.compute.click()
    assert s.error.startswith("KnockoutError: causal_set: the intact network's accuracy")
    assert "nothing to remove" in ex.error_area.value
    assert s.effects is not None and s.causal is None and not s.busy
    assert not ex.effect_heatmap.compute.disabled

    s.error = ""
    ex.causal_panel.knock_causal.click()  # disabled in the browser; from code it says why
    assert "no causal set" in s.error and s.knocked_out == ()


def test_without_a_model_the_causal_view_says_why(setup):
    _, _, _, rec, relays = setup
    ex = Explorer(rec, relays, progress=False)
    assert ex.effect_heatmap.compute.disabled
    assert "needs the model" in ex.effect_heatmap.status.value
    with pytest.raises(ExplorerStateError, match="needs the model"):
        ex.state.compute_causal()
    ex.effect_heatmap.compute.click()
    assert "needs the model" in ex.state.error


def test_state_rejects_bad_causal_settings():
    state = ExplorerState()
    for name, value, words in [
        ("effect_variable", "accuracy", "accuracy_drop"),
        ("effect_value", "median", "zero"),
        ("effect_window", 0, "[1, inf)"),
        ("causal_target", 0.0, "(0, 1]"),
        ("causal_target", 1.5, "(0, 1]"),
        ("relay_ranking", "readout", "aggregated_score"),
        ("n_random", 0, "[1, inf)"),
    ]:
        with pytest.raises(ExplorerStateError, match=re.escape(words)):
            setattr(state, name, value)


def test_views_stand_alone_on_a_state(setup):
    model, X, y, rec, relays = setup
    state = ExplorerState(rec, relays, model=model, X=X, y=y)
    effect, panel = EffectHeatmap(state), CausalPanel(state)
    state.n_random = 5
    state.compute_causal(progress=False)
    assert effect.data is not None and effect.data.concept == state.concept
    assert panel.data is not None and [r.name for r in panel.data.rankings][0] == "contribution"


def test_a_wrapped_pytorch_model_works_too():
    """Your own model wrapped with relaywidgets.stepwise: labels like 'lstm:l0.h3' throughout."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(4, 6, batch_first=True)
            self.head = torch.nn.Linear(6, 4)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    X, y = rw.make_task("delayed-cue", 400, 6, seed=1)
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-2)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(150):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt), yt).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model = rw.stepwise(net)
    rec = rw.record(model, X, y)
    ex = Explorer(rec, find_relays(rec, n_perm=0, progress=False), model=model, progress=False)
    s = ex.state
    s.n_random = 10
    s.concept = "1"
    ex.effect_heatmap.compute.click()
    assert s.error == ""
    assert s.effects.node.values.tolist() == model.node_labels
    assert list(ex.effect_heatmap.grid.row) == list(ex.heatmap.grid.row)
    truth = causal_set(model, X, y, "1", progress=False)
    order = [str(v) for v in truth.order.values]
    assert [str(v) for v in s.causal.order.values] == order and all(n.startswith("lstm:l0.h") for n in order)
    assert ex.graph.causal_nodes == order
    # a head of its own has no single readout weight: the relay ranking is compared with gradient x activation
    assert s.deletion.ranking.values.tolist() == ["contribution", "grad_x_act"]
    ex.causal_panel.knock_causal.click()
    knockout = Knockout(order)
    assert s.accuracy == pytest.approx(float(evaluate(model, X, y, knockout=knockout)["accuracy"]), abs=1e-12)


def test_save_png_shows_the_effect_map_once_computed(ex, tmp_path):
    pytest.importorskip("matplotlib")
    from relaywidgets.widgets.export import explorer_figure

    s = ex.state
    assert len(explorer_figure(s).axes) == 3  # relay map, per-class accuracy, the colour bar
    s.n_random = 5
    ex.effect_heatmap.compute.click()
    fig = explorer_figure(s)
    image = np.ma.filled(fig.axes[1].images[0].get_array(), np.nan)  # the panels first, then their colour bars
    relays = s.relays
    expected = s.effects.accuracy_drop.sel(concept=s.concept, node=relays.node.values, time=relays.time.values)
    np.testing.assert_array_equal(image, expected.values)
    assert ex.save_png(tmp_path / "view.png", dpi=50).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
