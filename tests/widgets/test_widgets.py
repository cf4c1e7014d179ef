"""Programmatic tests of the relay explorer: set values and click buttons, then compare the views with
the numbers of the knockout and relay APIs computed independently (no browser)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

import relaywidgets as rw  # noqa: E402
from relaywidgets.knockout import Knockout, evaluate  # noqa: E402
from relaywidgets.relay import find_relays, relays_at  # noqa: E402
from relaywidgets.widgets import (  # noqa: E402
    EstimatorPanel,
    Explorer,
    ExplorerState,
    KnockoutPanel,
    RelayGraph,
    RelayHeatmap,
    explore,
)
from relaywidgets.widgets._style import KNOCKED_OUT_COLOR, MULTI_COLOR, PLAIN_COLOR, concept_colors  # noqa: E402
from relaywidgets.widgets.state import ExplorerStateError  # noqa: E402

N_PERM = 19
SEQ_LEN = 8


@pytest.fixture(scope="module")
def setup():
    """A small GRU trained on delayed-cue, its data, and an explorer made by explore()."""
    import torch

    X, y = rw.make_task("delayed-cue", 800, SEQ_LEN, seed=3)
    model = rw.RecurrentClassifier("gru", X.shape[2], 8, 4, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and the machine is shared
    try:
        torch.manual_seed(0)
        rw.train(model, X[:600], y[:600], epochs=25, lr=3e-2, batch_size=128, seed=0, progress=False)
        Xe, ye = X[600:], y[600:]
        ex = explore(model, Xe, ye, n_perm=N_PERM, seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert (model.predict(Xe) == ye).mean() > 0.9, "the test model should have learnt the task"
    return model, Xe, ye, ex


@pytest.fixture
def ex(setup):
    """The module's explorer, reset to a clean selection for each test."""
    explorer = setup[3]
    s = explorer.state
    s.knocked_out = ()
    s.estimator, s.discretizer, s.threshold, s.alpha = "plugin", "two-means", 0.9, 0.05
    s.concept, s.time = s.concepts[0], s.times[-1]
    s.error = ""
    return explorer


def truth(model, X, y, labels):
    """Accuracy and per-class accuracy from the knockout API, independent of the widgets."""
    specs = {}
    for label in labels:
        specs.setdefault(label.split(".")[0], []).append(label)
    knockout = [Knockout(nodes) for nodes in specs.values()] or None
    result = evaluate(model, X, y, knockout=knockout)
    return float(result["accuracy"]), result["class_accuracy"].values


def raw_relays(ex):
    """The relay map find_relays gives for the explorer's recording (computed here, not by the widgets)."""
    return find_relays(ex.state.recording, n_perm=N_PERM, seed=0, progress=False)


# ---------------------------------------------------------------------- state
def test_state_is_plain_traitlets_with_help_on_every_trait():
    state = ExplorerState()
    assert not isinstance(state, ipywidgets.Widget)  # nothing of it is synced to the browser
    traits = state.traits()
    required = {"recording", "relays", "model", "concept", "time", "estimator", "discretizer", "threshold",
                "alpha", "knocked_out", "baseline_accuracy", "accuracy", "per_class_accuracy", "busy", "error"}
    assert required <= set(traits)
    missing_help = [name for name, trait in traits.items() if not trait.help]
    assert missing_help == []


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("threshold", 1.5, "The 'threshold' parameter of ExplorerState must be a float in [0, 1]"),
        ("alpha", 0.0, "The 'alpha' parameter of ExplorerState must be a float in (0, 1)"),
        ("concept", "nope", "The 'concept' parameter of ExplorerState must be one of"),
        ("time", 999, "The 'time' parameter of ExplorerState must be a time step"),
        ("estimator", "bogus", "The 'estimator' parameter of ExplorerState must be one of"),
        ("discretizer", "bogus", "The 'discretizer' parameter of ExplorerState must be one of"),
        ("knocked_out", ("l7.h99",), "not node(s) of the recording"),
    ],
)
def test_validation_rejects_bad_values_with_a_message(ex, name, value, words):
    before = getattr(ex.state, name)
    with pytest.raises(ExplorerStateError) as info:
        setattr(ex.state, name, value)
    assert words in str(info.value)
    assert isinstance(info.value, rw.RelaywidgetsError)
    import traitlets

    assert isinstance(info.value, traitlets.TraitError)
    assert getattr(ex.state, name) == before


def test_knocked_out_is_canonical(ex):
    ex.state.knocked_out = ("l0.h5", "l0.h1", "l0.h5")
    assert ex.state.knocked_out == ("l0.h1", "l0.h5")


# ---------------------------------------------------------------------- explore and the recording
def test_explore_records_and_finds_relays(setup, ex):
    model, X, y, _ = setup
    rec = rw.record(model, X, y)
    np.testing.assert_array_equal(ex.state.recording["hidden"].values, rec["hidden"].values)
    expected = find_relays(rec, n_perm=N_PERM, seed=0, progress=False)
    np.testing.assert_allclose(ex.state.relays["contribution"].values, expected["contribution"].values)
    np.testing.assert_array_equal(ex.state.relays["is_relay"].values, expected["is_relay"].values)
    assert rw.explore is explore and rw.Explorer is Explorer
    assert ex.state.time == ex.state.times[-1]  # opens at the last step, where the decision is made


def test_explorer_reuses_the_recordings_inputs(setup, ex):
    model, X, y, _ = setup
    other = Explorer(ex.state.recording, ex.state.relays, model=model, progress=False)
    from relaywidgets.metrics import recording_accuracy

    assert other.state.baseline_accuracy == pytest.approx(recording_accuracy(ex.state.recording)["accuracy"])
    assert other.state.baseline_accuracy == pytest.approx(truth(model, X, y, [])[0])


# ---------------------------------------------------------------------- knockout readout
def test_toggle_readout_equals_the_knockout_api(setup, ex):
    model, X, y, _ = setup
    panel = ex.knockout_panel
    base_acc, base_per = truth(model, X, y, [])
    panel.toggles["l0.h2"].value = True
    panel.toggles["l0.h5"].value = True
    acc, per = truth(model, X, y, ["l0.h2", "l0.h5"])
    assert ex.state.knocked_out == ("l0.h2", "l0.h5")
    assert ex.state.accuracy == pytest.approx(acc)
    assert ex.state.baseline_accuracy == pytest.approx(base_acc)
    assert f"accuracy {acc:.3f} (intact {base_acc:.3f})" in panel.readout.value
    assert 'role="status"' in panel.readout.value and 'aria-live="polite"' in panel.readout.value
    np.testing.assert_allclose(panel.bars.y[0], base_per)
    np.testing.assert_allclose(panel.bars.y[1], per)
    np.testing.assert_allclose(panel.bars.y[2], np.clip(base_per - per, 0, None))
    panel.toggles["l0.h2"].value = False
    assert ex.state.knocked_out == ("l0.h5",)
    assert ex.state.accuracy == pytest.approx(truth(model, X, y, ["l0.h5"])[0])


def test_knock_out_relays_button(setup, ex):
    model, X, y, _ = setup
    s = ex.state
    s.concept, s.time = s.concepts[1], s.times[-1]
    shown = relays_at(raw_relays(ex), s.threshold).sel(concept=s.concept, time=s.time)
    expected = tuple(str(n) for n in shown.node.values[shown.is_relay.values])
    assert expected, "the test model should have a relay set at the last step"
    assert f"{len(expected)} node" in ex.knockout_panel.knock_relays.description
    ex.knockout_panel.knock_relays.click()
    assert s.knocked_out == expected
    assert s.accuracy == pytest.approx(truth(model, X, y, expected)[0])
    ex.knockout_panel.reset.click()
    assert s.knocked_out == ()
    assert s.accuracy == pytest.approx(s.baseline_accuracy)


def test_random_control_is_size_matched_and_seeded(setup, ex):
    model, X, y, _ = setup
    s = ex.state
    relays = s.relay_nodes()
    seed = s.random_seed
    ex.knockout_panel.random_control.click()
    expected = Knockout.random_like(Knockout(relays), np.random.default_rng(seed), hidden_size=8).labels
    assert s.knocked_out == tuple(sorted(expected, key=lambda lab: int(lab.split("h")[1])))
    assert len(s.knocked_out) == len(relays)
    assert s.random_seed == seed + 1  # the next click draws another set
    assert s.accuracy == pytest.approx(truth(model, X, y, s.knocked_out)[0])


def test_rapid_toggling_last_state_wins(setup, ex):
    model, X, y, _ = setup
    s = ex.state
    rng = np.random.default_rng(1)
    for _ in range(12):  # clicks as fast as the kernel takes them
        ex.knockout_panel.toggles[f"l0.h{rng.integers(8)}"].value ^= True
    assert s.accuracy == pytest.approx(truth(model, X, y, s.knocked_out)[0])
    # changes from several threads: the published accuracy still belongs to the final knockout
    sets = [tuple(f"l0.h{u}" for u in rng.choice(8, size=k, replace=False)) for k in (1, 2, 3, 4, 5, 6)]
    threads = [threading.Thread(target=setattr, args=(s, "knocked_out", nodes)) for nodes in sets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not s.busy
    assert s.accuracy == pytest.approx(truth(model, X, y, s.knocked_out)[0])
    assert f"accuracy {s.accuracy:.3f}" in ex.knockout_panel.readout.value


def test_errors_appear_in_the_error_area(ex, monkeypatch):
    def broken(labels):
        raise RuntimeError("the device went away")

    monkeypatch.setattr(ex.state._evaluator, "evaluate", broken)
    ex.knockout_panel.toggles["l0.h3"].value = True
    assert "RuntimeError: the device went away" in ex.state.error
    assert "the device went away" in ex.error_area.value
    assert "rw-error" in ex.error_area._dom_classes
    assert ex.error_area.layout.display is None  # shown
    monkeypatch.undo()
    ex.knockout_panel.reset.click()
    assert ex.state.error == "" and ex.error_area.layout.display == "none"


# ---------------------------------------------------------------------- heat map
def test_heatmap_shows_the_contribution_of_the_selected_concept(ex):
    s = ex.state
    raw = raw_relays(ex)
    for concept in s.concepts[:2]:
        s.concept = concept
        sel = raw.sel(concept=concept)
        np.testing.assert_allclose(ex.heatmap.grid.color, sel.contribution.transpose("node", "time").values)
        assert list(ex.heatmap.grid.row) == [str(n) for n in raw.node.values]
        is_relay = sel.is_relay.transpose("node", "time").values
        rows, cols = np.nonzero(is_relay)
        marked = set(zip(ex.heatmap.relay_marks.y.tolist() + ex.heatmap.relay_marks_ns.y.tolist(),
                         ex.heatmap.relay_marks.x.tolist() + ex.heatmap.relay_marks_ns.x.tolist()))
        assert marked == {(str(raw.node.values[r]), str(raw.time.values[c])) for r, c in zip(rows, cols)}
        significant = sel.p_value.values < s.alpha
        assert set(ex.heatmap.relay_marks.x.tolist()) <= {str(t) for t in raw.time.values[significant]}


def test_clicking_a_heatmap_cell_selects_its_step(ex):
    # the message bqplot's GridHeatMap sends for a click on the cell in row 0, column 2
    ex.heatmap._on_click(ex.heatmap.grid, {"event": "element_click",
                                           "data": {"rowNum": 0, "columnNum": 2, "row": "l0.h0", "column": "2"}})
    assert ex.state.time == 2
    assert "at t=2:" in ex.heatmap.relay_count.value
    assert list(ex.heatmap.selected_line.x) == ["2", "2"]
    ex.heatmap.select_column(4)
    assert ex.state.time == 4


def test_threshold_slider_rederives_relay_sets(ex):
    s = ex.state
    raw = raw_relays(ex)
    for threshold in (0.5, 0.75, 0.95):
        ex.estimator_panel.threshold.value = threshold
        expected = relays_at(raw, threshold)
        np.testing.assert_array_equal(s.relays.relay_size.values, expected.relay_size.values)
        n = int(expected.relay_size.sel(concept=s.concept, time=s.time))
        text = f"relays of class {s.concept} at t={s.time}: {n} node{'s' if n != 1 else ''}"
        assert text in ex.heatmap.relay_count.value
    assert "rw-threshold" in ex.estimator_panel.threshold._dom_classes


def test_alpha_slider_rederives_significance(ex):
    raw = raw_relays(ex)
    for alpha in (0.2, 0.051, 0.01):
        ex.estimator_panel.alpha.value = alpha
        np.testing.assert_array_equal(ex.state.relays.significant.values, raw.p_value.values < alpha)


# ---------------------------------------------------------------------- graph
def test_graph_colours_follow_the_state(ex):
    s = ex.state
    graph = ex.graph
    raw = relays_at(raw_relays(ex), s.threshold).sel(time=s.time)
    palette = concept_colors(s.concepts)
    for node in raw.node.values:
        relays_for = [str(c) for c in raw.concept.values if bool(raw.is_relay.sel(node=node, concept=c))]
        expected = PLAIN_COLOR if not relays_for else MULTI_COLOR if len(relays_for) > 1 else palette[relays_for[0]]
        assert graph.node_color(str(node)) == expected
    graph.click_node("l0.h4")
    assert s.knocked_out == ("l0.h4",)
    assert graph.node_color("l0.h4") == KNOCKED_OUT_COLOR
    assert graph.mark.node_data[graph.node_index["l0.h4"]]["knocked_out"] == "yes"
    graph.click_node("l0.h4")
    assert s.knocked_out == () and graph.node_color("l0.h4") != KNOCKED_OUT_COLOR
    # edges to a concept: only from its relays, labelled with their contribution (bits)
    links = {(link["source"], link["target"]): link["value"] for link in graph.mark.link_data}
    c = s.concepts[0]
    target = graph.node_index[f"concept {c}"]
    for node in raw.node.values:
        key = (graph.node_index[str(node)], target)
        if bool(raw.is_relay.sel(node=node, concept=c)) and float(raw.contribution.sel(node=node, concept=c)) > 0:
            assert links[key] == pytest.approx(float(raw.contribution.sel(node=node, concept=c)))
        else:
            assert key not in links


# ---------------------------------------------------------------------- estimator panel
def test_estimator_dropdowns_come_from_the_registries(ex):
    from relaywidgets.info import discretizers, estimators

    panel = ex.estimator_panel
    assert [v for _, v in panel.estimator.options] == list(estimators())
    assert [v for _, v in panel.discretizer.options] == list(discretizers())
    panel.estimator.value = "plugin"
    assert panel.estimator.tooltip == estimators()["plugin"].description
    assert estimators()["plugin"].citation in panel.help.value


def test_recompute_computes_once_and_caches(ex, monkeypatch):
    import relaywidgets.relay as relay_module

    calls = []
    original = relay_module.find_relays

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(relay_module, "find_relays", counting)
    s, panel = ex.state, ex.estimator_panel
    plugin_contribution = s.relays.contribution.values.copy()
    panel.discretizer.value = "median"
    assert s.stale and "press Recompute" in s.status
    panel.recompute.click()
    assert not s.stale and len(calls) == 1 and calls[0]["discretizer"] == "median"
    expected = original(s.recording, discretizer="median", n_perm=N_PERM, seed=0, progress=False)
    np.testing.assert_allclose(s.relays.contribution.values, expected.contribution.values)
    panel.discretizer.value = "two-means"  # back to a cached setting: instant, no computation
    assert not s.stale and "cached" in s.status and len(calls) == 1
    np.testing.assert_allclose(s.relays.contribution.values, plugin_contribution)
    panel.discretizer.value = "median"
    panel.recompute.click()
    assert len(calls) == 1


# ---------------------------------------------------------------------- without a model, classes, export
def test_explorer_without_model_disables_knockouts(ex):
    bare = Explorer(ex.state.recording, ex.state.relays, progress=False)
    panel = bare.knockout_panel
    assert "no model" in panel.message.value and panel.message.layout.display is None
    assert all(t.disabled for t in panel.toggles.values())
    assert panel.knock_relays.disabled and panel.random_control.disabled
    assert "accuracy - (no model)" in panel.readout.value
    with pytest.raises(ExplorerStateError, match="Knockouts need the model"):
        bare.state.knocked_out = ("l0.h1",)
    panel.toggles["l0.h1"].value = True  # as a click would, if the button were enabled
    assert "Knockouts need the model" in bare.state.error and "Knockouts need the model" in bare.error_area.value
    assert panel.toggles["l0.h1"].value is False


def test_explorer_without_relays_can_recompute(ex):
    bare = Explorer(ex.state.recording, progress=False, find_relays_kwargs={"n_perm": 0})
    assert bare.state.relays is None and "no relay map yet" in bare.heatmap.relay_count.value
    bare.estimator_panel.recompute.click()
    assert bare.state.error == ""
    expected = find_relays(ex.state.recording, n_perm=0, progress=False)
    np.testing.assert_array_equal(bare.state.relays.is_relay.values, expected.is_relay.values)


def test_stable_css_classes_for_the_browser_test(ex):
    def classes(w):
        return set(w._dom_classes)

    assert "rw-explorer" in classes(ex)
    toggles = ex.knockout_panel.toggles
    assert all("rw-node-toggle" in classes(b) and b.description == label for label, b in toggles.items())
    assert list(toggles) == ex.state.node_labels
    assert "rw-accuracy" in classes(ex.knockout_panel.readout)
    assert "rw-threshold" in classes(ex.estimator_panel.threshold)
    assert "rw-relay-count" in classes(ex.heatmap.relay_count)
    assert "rw-error" in classes(ex.error_area)
    assert isinstance(ex.estimator_panel, EstimatorPanel) and isinstance(ex.heatmap, RelayHeatmap)
    assert isinstance(ex.graph, RelayGraph) and isinstance(ex.knockout_panel, KnockoutPanel)


def test_widget_state_serialises(ex, tmp_path):
    from ipywidgets.embed import embed_minimal_html

    ex.state.knocked_out = ("l0.h1",)
    out = tmp_path / "explorer.html"
    embed_minimal_html(out, views=[ex], title="explorer")
    text = out.read_text()
    assert "rw-explorer" in text and "GridHeatMapModel" in text and "GraphModel" in text


def test_save_png(ex, tmp_path):
    pytest.importorskip("matplotlib")
    ex.state.knocked_out = ("l0.h1",)
    path = ex.save_png(tmp_path / "view.png", dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_model_given_later_enables_knockouts(setup, ex):
    model, X, y, _ = setup
    bare = Explorer(ex.state.recording, ex.state.relays, progress=False)
    assert all(t.disabled for t in bare.knockout_panel.toggles.values())
    bare.state.use_model(model, X, y)
    assert not any(t.disabled for t in bare.knockout_panel.toggles.values())
    bare.knockout_panel.toggles["l0.h6"].value = True
    assert bare.state.accuracy == pytest.approx(truth(model, X, y, ["l0.h6"])[0])
    assert bare.knockout_panel.message.layout.display == "none"
