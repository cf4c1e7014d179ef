"""Fixtures of the browser tests: Chromium (skipped without it, except on CI), a JupyterLab server, a page."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # jupyter_harness, whatever pytest's --import-mode
from jupyter_harness import find_chromium, launch_chromium, start_jupyterlab  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip locally; on CI (``CI=true``) the browser test must run, so a missing piece fails it."""
    if _on_ci():
        pytest.fail(f"{reason} CI=true, so the browser test cannot be skipped (.ci/run installs Chromium).")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _unavailable(
            "Chromium not found at /usr/bin/chromium: install it (Debian: apt-get install chromium) or point "
            "RELAYWIDGETS_CHROMIUM at a Chromium binary. Never run `playwright install` for this test."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("The 'playwright' Python package is missing; pip install -e '.[test]'.")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/artifacts/ (git-ignored): screenshots and logs of the browser tests."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("jupyterlab")


@pytest.fixture(scope="module")
def lab_notebooks(lab_workdir: Path) -> Path:
    """A directory of notebooks the server will serve a copy of; tests add theirs here before the server starts."""
    path = lab_workdir / "notebooks"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def lab_server(chromium_path, lab_notebooks: Path, lab_workdir: Path, artifacts_dir: Path):
    """A JupyterLab serving a copy of ``lab_notebooks``; its log is kept in tests/artifacts/."""
    with start_jupyterlab(lab_notebooks, lab_workdir / "server") as server:
        try:
            yield server
        finally:
            shutil.copy2(server.log_path, artifacts_dir / "jupyterlab.log")


@pytest.fixture(scope="module")
def browser(chromium_path: str, lab_workdir: Path):
    """A headless Chromium with a fresh profile (a Playwright browser context)."""
    with launch_chromium(chromium_path, lab_workdir / "chromium-profile") as context:
        context.set_default_timeout(60_000)
        yield context


@pytest.fixture
def page(browser, artifacts_dir: Path, request):
    """A new page; its console errors are collected in ``page.console_errors`` (uncaught exceptions
    included), its uncaught exceptions alone in ``page.page_errors``; a screenshot on failure."""
    page = browser.new_page()
    errors: list[str] = []
    page_errors: list[str] = []

    def on_page_error(exc: Exception) -> None:
        errors.append(str(exc))
        page_errors.append(str(exc))

    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", on_page_error)
    page.console_errors = errors  # type: ignore[attr-defined]
    page.page_errors = page_errors  # type: ignore[attr-defined]
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(artifacts_dir / f"FAILED_{request.node.name}.png"), full_page=True)
    page.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Make the call's outcome visible to fixtures (screenshot on failure).
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
