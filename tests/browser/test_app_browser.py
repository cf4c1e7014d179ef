"""End to end in a real browser: the explorer app (notebooks/app.ipynb) as a Voilà page.

Starts Voilà on 127.0.0.1 (as ``make app`` does, on a free port) and drives the page in headless Chromium
(Debian's /usr/bin/chromium, through Playwright): the app opens the shipped delayed-cue LSTM and renders
the explorer; a click on a knockout toggle must make the readout show the accuracy relaywidgets' API gives
for that knockout on the same network and test sequences (load_pretrained + evaluate, computed here). Then
a student's path through the controls: pick another task and architecture, press Load, knock out again.
Another page trains a network for a pair without a shipped one: the progress bar shows while the controls
are disabled, then the explorer of the new network responds to a knockout. The page's screenshot is
docs/app.png; more go to tests/artifacts/.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from jupyter_harness import screenshot_element, start_voila, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
APP_NOTEBOOK = ROOT / "notebooks" / "app.ipynb"
DOCS_SCREENSHOT = ROOT / "docs" / "app.png"
# The explorer shows accuracies with 3 decimals.
DISPLAY_TOL = 0.0005 + 1e-9
# What the page opens with (app()'s defaults), and the pair the test picks through the controls.
FIRST = "delayed-cue-lstm"
SECOND = ("temporal-xor", "gru")


@pytest.fixture(scope="module")
def voila_server(chromium_path, tmp_path_factory, artifacts_dir: Path):
    """Voilà showing a copy of notebooks/app.ipynb; its log is kept in tests/artifacts/."""
    if not APP_NOTEBOOK.exists():
        pytest.fail(f"{APP_NOTEBOOK} is missing.")
    if importlib.util.find_spec("voila") is None:
        reason = "Voila is not installed: pip install -e '.[teach]' (make install does)."
        if os.environ.get("CI", "").strip().lower() == "true":  # as conftest.py: CI must run the browser tests
            pytest.fail(f"{reason} CI=true, so the browser test cannot be skipped.")
        pytest.skip(reason)
    with start_voila(APP_NOTEBOOK, tmp_path_factory.mktemp("voila")) as server:
        try:
            yield server
        finally:
            shutil.copy2(server.log_path, artifacts_dir / "voila.log")


def _text(page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def _shown_errors(page) -> list[str]:
    """Error messages the app or its explorer shows (their error areas are empty when all is well)."""
    return [t.strip() for t in page.locator(".rw-app-error, .rw-error").all_inner_texts() if t.strip()]


def _accuracies(text: str) -> tuple[float, float]:
    """(current, intact) from the readout, e.g. "accuracy 0.973 (intact 0.995)"."""
    match = re.search(r"accuracy\s+([0-9.]+).*?intact\s+([0-9.]+)", text, flags=re.DOTALL)
    assert match, f"The accuracy readout {text!r} does not look like 'accuracy 0.973 (intact 0.995)'."
    return float(match.group(1)), float(match.group(2))


def _wait_for_explorer(page, network: str, timeout: float = 120) -> None:
    """Wait until the app says it shows ``network`` and its explorer has drawn (a bqplot SVG)."""
    try:
        wait_until(lambda: f"Showing {network}" in _text(page, ".rw-app-status") or _shown_errors(page),
                   timeout, f"the app to show {network}")
    except TimeoutError as exc:
        pytest.fail(f"{exc} Status {_text(page, '.rw-app-status')!r}. Browser errors: {page.console_errors}")
    assert not _shown_errors(page), f"The app shows an error: {_shown_errors(page)}"
    page.locator(".rw-app .rw-explorer .bqplot svg").first.wait_for(state="visible", timeout=60_000)


def _check_knockout_readout(page, network: str) -> str:
    """Click the toggle of the unit whose knockout the network feels most; the readout must show the accuracy
    relaywidgets gives for that knockout on the shipped network's test sequences. Returns the unit."""
    from relaywidgets import Knockout
    from relaywidgets.knockout import evaluate
    from relaywidgets.pretrained import load_pretrained

    net = load_pretrained(network)

    def accuracy(labels: list[str]) -> float:
        knockout = [Knockout(labels)] if labels else None
        result = evaluate(net.model, net.X_test, net.y_test, lengths=net.lengths_test, knockout=knockout)
        return float(result.accuracy)

    intact = accuracy([])
    shown, shown_intact = _accuracies(_text(page, ".rw-accuracy"))
    assert abs(shown_intact - intact) <= DISPLAY_TOL, (shown_intact, intact)
    assert abs(shown - intact) <= DISPLAY_TOL, "nothing is knocked out yet"

    toggles = page.locator(".rw-node-toggle")
    labels = [t.strip() for t in toggles.all_inner_texts()]
    assert labels and all(re.fullmatch(r"l\d+\.h\d+", lab) for lab in labels), labels
    assert len(labels) == net.model.hidden_size * net.model.num_layers
    drops = {lab: accuracy([lab]) for lab in labels}
    node = min(drops, key=drops.get)
    expected = drops[node]
    assert np.isfinite(expected) and abs(expected - intact) > 2 * DISPLAY_TOL, (
        f"No single unit's knockout changes the accuracy of {network} ({drops}); the test cannot see the readout."
    )
    toggles.filter(has_text=re.compile(rf"^\s*{re.escape(node)}\s*$")).first.click()

    def shows_expected() -> bool:
        # The readout and the knocked-out line are separate widgets updated by separate messages: wait for both.
        if node not in _text(page, ".rw-knocked-out"):
            return False
        try:
            current, now_intact = _accuracies(_text(page, ".rw-accuracy"))
        except AssertionError:
            return False
        return abs(current - expected) <= DISPLAY_TOL and abs(now_intact - intact) <= DISPLAY_TOL

    try:
        wait_until(shows_expected, 60, f"the readout to show {expected:.3f} after knocking out {node} of {network}")
    except TimeoutError as exc:
        pytest.fail(
            f"{exc} It shows {_text(page, '.rw-accuracy')!r} and {_text(page, '.rw-knocked-out')!r}. "
            f"Browser errors: {page.console_errors}"
        )
    return node


@pytest.mark.timeout(420)
def test_app_page_renders_the_explorer_and_a_knockout_toggle_updates_the_readout(voila_server, page, artifacts_dir):
    page.goto(voila_server.url(), timeout=180_000)  # Voilà answers once the notebook has run
    page.locator(".rw-app").first.wait_for(state="visible", timeout=120_000)
    _wait_for_explorer(page, FIRST)
    # What the student sees around the explorer: the picked pair, the network and its accuracy.
    assert _text(page, ".rw-app-about").startswith("delayed-cue:")
    assert FIRST in _text(page, ".rw-app-network")
    # No code on the page: Voilà strips the notebook's sources.
    assert "from relaywidgets" not in page.content()

    _check_knockout_readout(page, FIRST)
    app = page.locator(".rw-app").first
    page.mouse.move(0, 0)  # no tooltip of the last hovered cell in the picture
    screenshot_element(page, app, artifacts_dir / "app_knockout.png")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(artifacts_dir / "app_knockout.png", DOCS_SCREENSHOT)

    # A student's path through the controls: another task and architecture, Load, knock out again.
    task, arch = SECOND
    page.locator(".rw-app-task select").first.select_option(label=f"{task} (synthetic task)")
    page.locator(".rw-app-arch button", has_text=re.compile(rf"^\s*{arch.upper()}\s*$")).first.click()
    load = page.locator(".rw-app-load").first
    wait_until(lambda: "press Load" in _text(page, ".rw-app-status") and load.is_enabled(), 30,
               f"the app to offer the shipped {arch.upper()} on {task}")
    load.click()
    _wait_for_explorer(page, f"{task}-{arch}")
    _check_knockout_readout(page, f"{task}-{arch}")
    screenshot_element(page, app, artifacts_dir / "app_second_network.png")
    assert not _shown_errors(page), f"The app shows an error: {_shown_errors(page)}"
    assert not page.page_errors, f"Uncaught errors in the Voilà page: {page.page_errors}"


def _unshipped_pair() -> tuple[str, str]:
    """A synthetic task and architecture without a shipped network: the page must train one."""
    from relaywidgets.pretrained import pretrained
    from relaywidgets.tasks import tasks

    shipped = {(i.task, i.arch) for i in pretrained().values()}
    pairs = [(t, a) for t in tasks() for a in ("rnn", "gru", "lstm") if (t, a) not in shipped]
    if not pairs:
        pytest.skip("every synthetic task and architecture has a shipped network")
    return pairs[0]


# ipywidgets' progress bar (tqdm.auto draws one in a kernel); it sits in the app's progress area while training.
_TRAINING_BAR = ".rw-app-progress .progress-bar"


@pytest.mark.timeout(420)
def test_app_page_trains_a_network_with_a_progress_bar(voila_server, page, artifacts_dir):
    task, arch = _unshipped_pair()
    page.goto(voila_server.url(), timeout=180_000)
    _wait_for_explorer(page, FIRST)
    page.locator(".rw-app-task select").first.select_option(label=f"{task} (synthetic task)")
    page.locator(".rw-app-arch button", has_text=re.compile(rf"^\s*{arch.upper()}\s*$")).first.click()
    train = page.locator(".rw-app-train").first
    wait_until(lambda: "press Train" in _text(page, ".rw-app-status") and page.locator(".rw-app-load").first.is_disabled(),
               30, f"the app to offer training an {arch.upper()} on {task} (nothing shipped)")
    train.click()

    def training_shown() -> bool:
        return bool(page.locator(_TRAINING_BAR).count()) and page.locator(_TRAINING_BAR).first.is_visible()

    try:
        wait_until(training_shown, 60, "the training progress bar", interval=0.1)
    except TimeoutError as exc:
        pytest.fail(f"{exc} Status {_text(page, '.rw-app-status')!r}, errors {_shown_errors(page)}")
    # Busy: the controls are off and the status says what is running.
    assert train.is_disabled() and page.locator(".rw-app-task select").first.is_disabled()
    assert "Training" in _text(page, ".rw-app-status")
    page.screenshot(path=str(artifacts_dir / "app_training.png"))

    network = f"{task}-{arch} (trained here)"
    _wait_for_explorer(page, network, timeout=300)
    assert train.is_enabled()
    assert not page.locator(_TRAINING_BAR).count(), "the finished progress bar is cleared"
    shown = float(re.search(r"sequences:\s*([0-9]+\.[0-9]+)", _text(page, ".rw-app-network")).group(1))
    _, intact = _accuracies(_text(page, ".rw-accuracy"))
    assert abs(shown - intact) <= DISPLAY_TOL, "the app and its explorer must agree on the intact accuracy"
    # A knockout reaches the new network: the toggle's unit is listed as knocked out and the readout is live.
    node = page.locator(".rw-node-toggle").first.inner_text().strip()
    page.locator(".rw-node-toggle").first.click()
    wait_until(lambda: node in _text(page, ".rw-knocked-out"), 60, f"{node} to be knocked out")
    _accuracies(_text(page, ".rw-accuracy"))
    screenshot_element(page, page.locator(".rw-app").first, artifacts_dir / "app_trained.png")
    assert not _shown_errors(page), f"The app shows an error: {_shown_errors(page)}"
    assert not page.page_errors, f"Uncaught errors in the Voilà page: {page.page_errors}"
