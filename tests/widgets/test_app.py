"""The explorer app, driven in Python as a student drives it in the browser: pick a pair, press Load or
Train, toggle a knockout; the readout must show what relaywidgets' evaluate() gives for that knockout."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from relaywidgets import Knockout
from relaywidgets.errors import InputError, ModelFileError
from relaywidgets.knockout import evaluate
from relaywidgets.pretrained import load_pretrained, pretrained
from relaywidgets.widgets import App, AppError, Explorer, app, app_catalog

# The module, not the function ``relaywidgets.widgets.app`` that the package exports under the same name.
app_module = importlib.import_module("relaywidgets.widgets.app")

# The readout shows accuracies with 3 decimals.
DISPLAY_TOL = 0.0005 + 1e-9
FAST_RELAYS = {"n_perm": 0}


def _readout(ui: App) -> tuple[float, float]:
    """(current, intact) accuracy as the readout shows it, e.g. "accuracy 0.973 (intact 0.995)"."""
    text = re.sub(r"<[^>]+>", "", ui.explorer.knockout_panel.readout.value)
    match = re.search(r"accuracy\s+([0-9.]+)\s+\(intact\s+([0-9.]+)\)", text)
    assert match, text
    return float(match.group(1)), float(match.group(2))


def _unshipped_task_pair() -> tuple[str, str]:
    """A synthetic task and architecture no shipped network covers (Train is the way in)."""
    from relaywidgets.tasks import tasks

    shipped = {(i.task, i.arch) for i in pretrained().values()}
    for task in tasks():
        for arch in ("rnn", "lstm", "gru"):
            if (task, arch) not in shipped:
                return task, arch
    pytest.skip("every synthetic task and architecture has a shipped network")


@pytest.fixture(scope="module")
def opened() -> App:
    """The app as the Voilà page opens it: the default pair's shipped network, loaded at once."""
    return App(progress=False, find_relays_kwargs=FAST_RELAYS)


def test_app_opens_the_default_shipped_network(opened):
    assert opened.network == "delayed-cue-lstm" == opened.shipped_name()
    assert isinstance(opened.explorer, Explorer)
    assert list(opened.explorer_area.children) == [opened.explorer]
    assert not opened.busy and opened.error == ""
    assert "delayed-cue-lstm" in opened.status and "ready" in opened.status
    assert not opened.load_button.disabled and not opened.train_button.disabled
    net = load_pretrained("delayed-cue-lstm")
    # The explorer shows the shipped network on its held-out test sequences.
    X, y, _ = opened.test_data
    np.testing.assert_array_equal(X, net.X_test)
    np.testing.assert_array_equal(y, net.y_test)
    assert opened.explorer.state.recording.sizes["sample"] == len(net.y_test)
    shown = float(re.search(r"<b>([0-9.]+)</b>", opened.network_area.value).group(1))
    assert abs(shown - net.info.test_accuracy) <= DISPLAY_TOL


def test_a_toggle_click_shows_the_accuracy_evaluate_gives(opened):
    """The acceptance check without a browser: the readout after a knockout toggle is the API's number."""
    net = load_pretrained("delayed-cue-lstm")
    intact = float(evaluate(net.model, net.X_test, net.y_test).accuracy)
    drops = {label: float(evaluate(net.model, net.X_test, net.y_test, knockout=Knockout([label])).accuracy)
             for label in opened.explorer.knockout_panel.toggles}
    node = min(drops, key=drops.get)
    assert drops[node] < intact - 2 * DISPLAY_TOL, "some single unit must matter, or the test sees no change"
    opened.explorer.knockout_panel.reset.click()
    assert _readout(opened) == pytest.approx((intact, intact), abs=DISPLAY_TOL)

    opened.explorer.knockout_panel.toggles[node].value = True  # what a click in the browser sends
    assert opened.explorer.state.knocked_out == (node,)
    assert opened.explorer.state.accuracy == pytest.approx(drops[node], abs=1e-12)
    assert _readout(opened) == pytest.approx((drops[node], intact), abs=DISPLAY_TOL)
    opened.explorer.knockout_panel.reset.click()


def test_picking_a_pair_and_pressing_load_opens_that_network():
    ui = App(autoload=False, progress=False, find_relays_kwargs=FAST_RELAYS)
    assert ui.explorer is None and ui.network == ""
    ui.task_select.value = "temporal-xor"
    ui.arch_select.value = "gru"
    assert (ui.task, ui.arch) == ("temporal-xor", "gru")
    assert "press Load" in ui.status and not ui.load_button.disabled
    ui.load_button.click()
    assert ui.error == "", ui.error
    assert ui.network == "temporal-xor-gru"
    assert ui.model.arch == "gru" and ui.explorer.state.recording.attrs.get("task") == "temporal-xor"
    # Another pair replaces the explorer.
    first = ui.explorer
    ui.arch_select.value = "lstm"
    ui.load_button.click()
    assert ui.network == "temporal-xor-lstm" and ui.explorer is not first
    assert list(ui.explorer_area.children) == [ui.explorer]


def test_a_data_set_network_loads_with_its_class_names():
    name = next((n for n, i in pretrained().items() if i.source == "dataset"), None)
    if name is None:
        pytest.skip("no data-set network is shipped")
    pytest.importorskip("aeon")
    info = pretrained()[name]
    ui = App(info.task, info.arch, progress=False, find_relays_kwargs=FAST_RELAYS)
    assert ui.network == name and ui.error == ""
    assert ui.explorer.state.class_names == list(load_pretrained(name).class_names)


def test_train_makes_a_network_for_a_pair_without_one_and_its_readout_is_evaluate():
    task, arch = _unshipped_task_pair()
    ui = App(task, arch, progress=False, seed=1, train_kwargs={"epochs": 4}, find_relays_kwargs=FAST_RELAYS)
    assert ui.explorer is None, "there is nothing shipped to load"
    assert ui.load_button.disabled and ui.train_button.button_style == "primary"
    assert "press Train" in ui.status
    with pytest.raises(AppError, match="press Train"):
        ui.load()

    seen = []
    ui.observe(lambda change: seen.append((change["new"], ui.load_button.disabled, ui.train_button.disabled,
                                           ui.task_select.disabled, ui.arch_select.disabled)), names="busy")
    ui.train_button.click()
    assert ui.error == "", ui.error
    # Busy while training: every control disabled, then enabled again (Load stays off: nothing shipped).
    assert seen[0] == (True, True, True, True, True)
    assert seen[-1] == (False, True, False, False, False)
    assert ui.network == f"{task}-{arch} (trained here)"
    assert ui.model.arch == arch and ui.model.hidden_size == 16
    X, y, lengths = ui.test_data
    assert len(y) == app_catalog.TASK_DATA["n_test"]
    # 4 epochs leave the network near chance: the app says so in its notes instead of hiding it.
    label = next(iter(ui.explorer.knockout_panel.toggles))
    ui.explorer.knockout_panel.toggles[label].value = True
    expected = float(evaluate(ui.model, X, y, lengths=lengths, knockout=Knockout([label])).accuracy)
    intact = float(evaluate(ui.model, X, y, lengths=lengths).accuracy)
    assert _readout(ui) == pytest.approx((expected, intact), abs=DISPLAY_TOL)


def test_train_is_reproducible_from_its_seed():
    task, arch = _unshipped_task_pair()
    kwargs = {"progress": False, "autoload": False, "train_kwargs": {"epochs": 2}, "find_relays_kwargs": FAST_RELAYS}
    first, second = App(task, arch, **kwargs), App(task, arch, **kwargs)
    first.train()
    second.train()
    for a, b in zip(first.model.parameters(), second.model.parameters()):
        assert a.detach().equal(b.detach())


def test_errors_are_shown_in_the_app_and_the_last_explorer_stays(monkeypatch, opened):
    shown = opened.explorer

    def damaged(name):
        raise ModelFileError(f"The shipped network file {name}.pt is missing; reinstall relaywidgets.")

    monkeypatch.setattr("relaywidgets.pretrained.load_pretrained", damaged)
    opened.load_button.click()
    assert opened.error.startswith("ModelFileError: The shipped network file delayed-cue-lstm.pt is missing")
    assert "reinstall" in opened.error_area.value and opened.error_area.layout.display is None
    assert 'role="alert"' in opened.error_area.value
    assert not opened.busy and not opened.train_button.disabled
    assert opened.explorer is shown and list(opened.explorer_area.children) == [shown]
    monkeypatch.undo()
    opened.load_button.click()  # the next action clears the error
    assert opened.error == "" and opened.error_area.layout.display == "none"


def test_an_unreadable_list_of_shipped_networks_leaves_train_available(monkeypatch):
    def unreadable():
        raise ModelFileError("The manifest of the shipped networks cannot be read; reinstall relaywidgets.")

    monkeypatch.setattr(app_module, "shipped", unreadable)
    ui = App(progress=False)
    assert ui.explorer is None
    assert "manifest" in ui.error and ui.load_button.disabled and not ui.train_button.disabled


def test_bad_values_are_refused_with_the_choices():
    with pytest.raises(AppError, match="one of delayed-cue, temporal-xor"):
        App("no-such-task", autoload=False)
    with pytest.raises(InputError, match="'hidden_size' parameter of App must be an int in \\[1, inf\\)"):
        App(hidden_size=0, autoload=False)
    with pytest.raises(AppError, match="'train_kwargs' parameter of App must be a dict"):
        App(train_kwargs=[("epochs", 3)], autoload=False)
    with pytest.raises(AppError, match="cannot set 'seed'.*App\\(seed=..., progress=...\\)"):
        App(train_kwargs={"seed": 3}, autoload=False)
    with pytest.raises(AppError, match="'find_relays_kwargs' parameter of App cannot set 'progress'"):
        App(find_relays_kwargs={"progress": False}, autoload=False)
    ui = App(autoload=False)
    with pytest.raises(AppError, match="'rnn', 'lstm', 'gru'"):
        ui.arch = "transformer"
    with pytest.raises(AppError, match="keeps its previous 'arch'"):
        ui.arch = 3
    assert ui.arch == "lstm" and ui.arch_select.value == "lstm"
    assert ui.error == ""


def test_app_function_and_choices():
    ui = app("cue-hold", "gru", autoload=False)
    assert isinstance(ui, App) and (ui.task, ui.arch) == ("cue-hold", "gru")
    assert ui.task_select.value == "cue-hold" and ui.arch_select.value == "gru"
    choices = App.choices()
    assert choices["delayed-cue"] == "task" and choices["JapaneseVowels"] == "dataset"
    assert [value for _, value in ui.task_select.options] == list(choices)
    assert "rw-app" in ui._dom_classes
