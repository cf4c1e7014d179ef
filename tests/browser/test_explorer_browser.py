"""End to end in a real browser: the quickstart notebook runs in JupyterLab 4 and Notebook 7 and its
explorer responds.

Runs headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against an isolated Jupyter
server, which serves both front ends. It checks what only a browser can: the widgets render (ipywidgets
and bqplot front ends), a click on a node's knockout toggle reaches the kernel and the accuracy readout
shows the number the knockout API gives, and (JupyterLab) the threshold slider changes the relay count and
the causal view computes its effect map on request and knocks out the causal set the API finds.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from jupyter_harness import open_notebook, run_all_cells, screenshot_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"
# Notebook 7 runs its own copy of the quickstart, in a folder of its own: a fresh kernel session and
# no outputs saved by the JupyterLab run, and its runs/quickstart/ lies in that folder.
NOTEBOOK7_DIR = "notebook7"
# Uncaught errors of Notebook 7 itself, not of the widgets: the first is raised for any ipywidgets output,
# even a plain slider; the second only after JupyterLab pages were open on the same server and browser
# profile (Notebook 7 has no file browser command for the state JupyterLab left; alone the test never sees it).
NOTEBOOK7_KNOWN_PAGE_ERRORS = frozenset({
    "Cannot read properties of undefined (reading 'schema')",
    "Command 'filebrowser:open-path' not registered.",
})
DOCS_SCREENSHOT = ROOT / "docs" / "explorer.png"
# The explorer shows accuracies with 3 decimals.
DISPLAY_TOL = 0.0005 + 1e-9

SMOKE_CELLS = [
    # A plain ipywidgets slider wired to a label through the kernel.
    """import ipywidgets as w
slider = w.IntSlider(value=3, min=0, max=10, description="n")
slider.add_class("smoke-slider")
label = w.Label("value 3")
label.add_class("smoke-label")
slider.observe(lambda change: setattr(label, "value", f"value {change['new']}"), "value")
w.VBox([slider, label])""",
    # A bqplot figure.
    """import bqplot as bq
xs, ys = bq.LinearScale(), bq.LinearScale()
fig = bq.Figure(marks=[bq.Lines(x=[0, 1, 2], y=[0, 1, 4], scales={"x": xs, "y": ys})],
                axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")])
fig.add_class("smoke-figure")
fig""",
]


@pytest.fixture(scope="module")
def lab_notebooks(lab_workdir: Path) -> Path:
    """The quickstart and a widget smoke-test notebook, served by one JupyterLab for the module."""
    path = lab_workdir / "notebooks"
    path.mkdir()
    shutil.copy2(QUICKSTART, path / QUICKSTART.name)
    smoke = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src) for src in SMOKE_CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    )
    nbformat.write(smoke, path / "widget_smoke.ipynb")
    (path / NOTEBOOK7_DIR).mkdir()
    shutil.copy2(QUICKSTART, path / NOTEBOOK7_DIR / QUICKSTART.name)
    return path


def _text(page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def _shown_errors(page) -> list[str]:
    return [t.strip() for t in page.locator(".rw-error").all_inner_texts() if t.strip()]


def _accuracies(text: str) -> tuple[float, float]:
    """(current, intact) from the readout, e.g. "accuracy 0.973 (intact 0.995)"."""
    match = re.search(r"accuracy\s+([0-9.]+).*?intact\s+([0-9.]+)", text, flags=re.S)
    assert match, f"The accuracy readout {text!r} does not look like 'accuracy 0.973 (intact 0.995)'."
    return float(match.group(1)), float(match.group(2))


def _relay_count(page) -> int:
    """The number of relay nodes the readout shows, e.g. 3 in "relays of class 2 at t=19: 3 nodes (...)"."""
    text = _text(page, ".rw-relay-count")
    match = re.search(r":\s*(\d+)\s+nodes?\b", text)
    assert match, f"The relay count {text!r} does not look like 'relays of class 2 at t=19: 3 nodes'."
    return int(match.group(1))


def _accuracy_with_knockout(model, X, y, labels: list[str]) -> float:
    """The truth the readout must show: the network re-run with ``labels`` clamped to zero at every step."""
    from relaywidgets import Knockout

    knockout = [Knockout(labels)] if labels else None
    return float(np.mean(model.predict(X, knockout=knockout) == y))


@pytest.mark.timeout(240)
def test_widgets_render_in_jupyterlab(lab_server, page, artifacts_dir):
    """The widget stack itself works in this JupyterLab: ipywidgets round-trips, bqplot draws an SVG."""
    open_notebook(page, lab_server, "widget_smoke.ipynb")
    run_all_cells(page, timeout=120)
    page.wait_for_selector(".smoke-figure svg")
    handle = page.locator(".smoke-slider .noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.smoke-label').textContent.trim() === 'value 5'", timeout=30_000
    )
    page.screenshot(path=str(artifacts_dir / "widget_smoke.png"))


def _run_quickstart(page, server, name: str, ui: str) -> Any:
    """Open the quickstart ``name`` in front end ``ui``, run it, and return the rendered explorer."""
    if not QUICKSTART.exists():
        pytest.fail(f"{QUICKSTART} is missing.")
    open_notebook(page, server, name, ui=ui)
    run_all_cells(page, timeout=240)

    # The explorer rendered: its root, a bqplot SVG inside it, no error shown.
    explorer = page.locator(".rw-explorer").first
    explorer.wait_for(state="visible", timeout=60_000)
    page.locator(".rw-explorer .bqplot svg").first.wait_for(state="visible", timeout=60_000)
    assert not _shown_errors(page), f"The explorer shows an error: {_shown_errors(page)}"
    return explorer


def _check_knockout_readout(page, run_dir: Path) -> None:
    """Knock out the node whose loss the network feels most; the readout must show the true accuracy.

    The truths are rebuilt from the model and held-out data the notebook saved in ``run_dir``.
    """
    import relaywidgets as rw

    model = rw.load(run_dir / "model.pt", device="cpu")
    data = np.load(run_dir / "test_data.npz")
    X, y = data["X"], data["y"]

    accuracy, intact = _accuracies(_text(page, ".rw-accuracy"))
    expected_intact = _accuracy_with_knockout(model, X, y, [])
    assert abs(intact - expected_intact) <= DISPLAY_TOL, (intact, expected_intact)
    assert abs(accuracy - expected_intact) <= DISPLAY_TOL, "nothing is knocked out yet"

    toggles = page.locator(".rw-node-toggle")
    labels = [t.strip() for t in toggles.all_inner_texts()]
    assert labels and all(re.fullmatch(r"l\d+\.h\d+", lab) for lab in labels), labels
    drops = {lab: _accuracy_with_knockout(model, X, y, [lab]) for lab in labels}
    node = min(drops, key=drops.get)
    expected = drops[node]
    assert abs(expected - expected_intact) > 2 * DISPLAY_TOL, (
        f"No single node's knockout changes the accuracy ({drops}); the test cannot see the readout update."
    )
    toggles.filter(has_text=re.compile(rf"^\s*{re.escape(node)}\s*$")).first.click()

    def shows_expected() -> bool:
        try:
            current, shown_intact = _accuracies(_text(page, ".rw-accuracy"))
        except AssertionError:  # e.g. a "computing" message while the kernel evaluates
            return False
        return abs(current - expected) <= DISPLAY_TOL and abs(shown_intact - expected_intact) <= DISPLAY_TOL

    try:
        wait_until(shows_expected, 60, f"the accuracy readout to show {expected:.3f} after knocking out {node}")
    except TimeoutError as exc:
        pytest.fail(f"{exc} It shows {_text(page, '.rw-accuracy')!r}. Browser errors: {page.console_errors}")


# The effect map's cells before it is computed: bqplot draws NaN cells in the GridHeatMap's null colour.
_EFFECT_CELLS_JS = """() => {
    const cells = Array.from(document.querySelectorAll('.rw-effect-heatmap .heatmapcell'));
    const coloured = cells.filter(c => getComputedStyle(c).fill !== 'rgb(244, 244, 244)');
    return [cells.length, coloured.length];
}"""


def _check_causal_view(page, run_dir: Path) -> None:
    """Compute the causal map on request, then knock out the causal set: the readout must show the accuracy the
    knockout API gives for the causal set that relaywidgets.knockout.causal_set finds (rebuilt from ``run_dir``)."""
    import relaywidgets as rw
    from relaywidgets.knockout import causal_set

    status = _text(page, ".rw-causal-status")
    assert "press Compute causal map" in status, f"The causal view computed before it was asked: {status!r}"
    cells, coloured = page.evaluate(_EFFECT_CELLS_JS)
    assert cells > 0 and coloured == 0, (cells, coloured)
    concept = page.locator(".rw-concept select").first.input_value()

    page.locator(".rw-compute-causal").first.click()
    try:
        wait_until(lambda: "computed in" in _text(page, ".rw-causal-status"), 240, "the causal map to be computed")
        wait_until(lambda: page.evaluate(_EFFECT_CELLS_JS)[1] > 0, 60, "the effect map's cells to be coloured")
    except TimeoutError as exc:
        pytest.fail(f"{exc} Status {_text(page, '.rw-causal-status')!r}, errors {_shown_errors(page)}, "
                    f"browser errors {page.console_errors}")
    assert not _shown_errors(page), f"The explorer shows an error: {_shown_errors(page)}"
    page.locator(".rw-deletion-plot svg .line").first.wait_for(state="attached", timeout=60_000)

    model = rw.load(run_dir / "model.pt", device="cpu")
    data = np.load(run_dir / "test_data.npz")
    X, y = data["X"], data["y"]
    order = [str(v) for v in causal_set(model, X, y, concept, target=0.5, progress=False).order.values]
    assert order, "the quickstart network should have a causal set for its first class"
    shown = _text(page, ".rw-causal-set")
    assert ", ".join(order) in shown, f"The causal set shown ({shown!r}) is not the API's {order}."
    expected = _accuracy_with_knockout(model, X, y, order)

    button = page.locator(".rw-knockout-causal").first
    assert f"({len(order)} unit" in button.inner_text()
    button.click()

    def shows_expected() -> bool:
        # The readout and the knocked-out line are separate widgets, updated by separate messages: wait for both
        # (the readout alone can already match when the previous knockout happened to give the same accuracy).
        if not all(node in _text(page, ".rw-knocked-out") for node in order):
            return False
        try:
            return abs(_accuracies(_text(page, ".rw-accuracy"))[0] - expected) <= DISPLAY_TOL
        except AssertionError:
            return False

    try:
        wait_until(shows_expected, 60, f"the accuracy readout to show {expected:.3f} with the causal set {order} out")
    except TimeoutError as exc:
        pytest.fail(
            f"{exc} It shows {_text(page, '.rw-accuracy')!r} and {_text(page, '.rw-knocked-out')!r}. "
            f"Browser errors: {page.console_errors}"
        )


@pytest.mark.timeout(600)
def test_quickstart_explorer(lab_server, page, artifacts_dir):
    explorer = _run_quickstart(page, lab_server, QUICKSTART.name, ui="lab")
    screenshot_element(page, explorer, artifacts_dir / "explorer_initial.png")
    _check_knockout_readout(page, lab_server.root_dir / "runs" / "quickstart")
    screenshot_element(page, explorer, artifacts_dir / "explorer_knockout.png")
    _check_causal_view(page, lab_server.root_dir / "runs" / "quickstart")
    screenshot_element(page, explorer, artifacts_dir / "explorer_causal.png")

    # Move the threshold slider to its ends with the keyboard; the relay count must follow.
    before = _relay_count(page)
    handle = page.locator(".rw-threshold .noUi-handle").first
    changed = None
    for key in ("Home", "End"):
        handle.focus()
        page.keyboard.press(key)
        try:
            changed = wait_until(lambda: _relay_count(page) != before, 30, f"the relay count to change ({key})")
            break
        except TimeoutError:
            continue
    assert changed, (
        f"The relay count stayed {before} ({_text(page, '.rw-relay-count')!r}) with the threshold slider at both ends."
    )
    screenshot_element(page, explorer, artifacts_dir / "explorer_threshold.png")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    # Both maps, the causal set ringed in the graph, its deletion curves, and its knockout's accuracy.
    shutil.copy2(artifacts_dir / "explorer_causal.png", DOCS_SCREENSHOT)
    assert not _shown_errors(page), f"The explorer shows an error: {_shown_errors(page)}"


@pytest.mark.timeout(300)
def test_quickstart_explorer_in_notebook7(lab_server, page, artifacts_dir):
    """The same explorer in Notebook 7 (no extension installs beyond the package's dependencies)."""
    explorer = _run_quickstart(page, lab_server, f"{NOTEBOOK7_DIR}/{QUICKSTART.name}", ui="notebook")
    _check_knockout_readout(page, lab_server.root_dir / NOTEBOOK7_DIR / "runs" / "quickstart")
    screenshot_element(page, explorer, artifacts_dir / "explorer_notebook7.png")
    assert not _shown_errors(page), f"The explorer shows an error: {_shown_errors(page)}"
    page_errors = [e for e in page.page_errors if e not in NOTEBOOK7_KNOWN_PAGE_ERRORS]
    assert not page_errors, f"Uncaught errors in the Notebook 7 page: {page_errors}"
