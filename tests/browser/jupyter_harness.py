"""Drive a real JupyterLab (or a Voilà page) in a headless Chromium: start an isolated server, open a
notebook, run it.

Used by the browser tests (``pytest -m browser``). Everything the harness starts lives in a temporary
directory (notebooks, runtime files, settings, workspaces, the browser profile) and is shut down in a
``finally``, so a failing test leaves no server or browser behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "CHROMIUM_ARGS",
    "NotebookRunError",
    "JupyterLabServer",
    "VoilaServer",
    "find_chromium",
    "launch_chromium",
    "open_notebook",
    "run_all_cells",
    "screenshot_element",
    "start_jupyterlab",
    "start_voila",
    "wait_until",
]

#: Flags for Debian's Chromium in containers and CI: no sandbox (root), no GPU, no traffic to Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# User settings for the test server: no news or update checks (they pop up notifications over the
# notebook and try to reach the internet), and no windowed notebook rendering, so every cell is in the
# DOM and can be inspected.
_LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


class NotebookRunError(AssertionError):
    """A notebook cell raised, or the notebook did not finish, in the browser."""


def find_chromium() -> str | None:
    """Return the path of the Chromium to drive, or ``None`` when there is none.

    ``RELAYWIDGETS_CHROMIUM`` overrides the default ``/usr/bin/chromium`` (Debian's package).
    """
    candidates = [os.environ.get("RELAYWIDGETS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterLabServer:
    """A running JupyterLab server (see :func:`start_jupyterlab`)."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab", **query: str) -> str:
        """URL of ``path`` on this server, authenticated with the token."""
        params = "&".join([f"token={self.token}", *(f"{k}={v}" if v else k for k, v in query.items())])
        return f"{self.base_url}/{path.lstrip('/')}?{params}"

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "(no server log)"


def _wait_for_status(server: JupyterLabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode} before it was ready. Log:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url("api/status"), timeout=5) as response:
                if response.status == 200:
                    json.loads(response.read())
                    return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = exc
        time.sleep(0.25)
    raise RuntimeError(
        f"JupyterLab did not answer /api/status within {timeout:.0f} s (last error: {last_error!r}). "
        f"Log:\n{server.log_tail()}"
    )


def _kernels_of(runtime_dir: Path) -> list[int]:
    """Ids of kernel processes whose connection file lies in ``runtime_dir`` (started by this server)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.startswith(str(runtime_dir).encode()) for arg in cmdline):
            pids.append(int(proc.name))
    return pids


def _stop(process: subprocess.Popen, runtime_dir: Path, timeout: float = 15.0) -> None:
    """Stop the server, then any kernel it left running (kernels run in sessions of their own)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # jupyter shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    if sys.platform.startswith("linux"):
        for pid in _kernels_of(runtime_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def start_jupyterlab(
    notebooks: Path | list[Path],
    workdir: Path,
    *,
    startup_timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> Iterator[JupyterLabServer]:
    """Start an isolated JupyterLab serving a copy of ``notebooks`` and stop it on exit.

    Parameters
    ----------
    notebooks : path or list of paths
        A directory of notebooks (copied whole) or notebook files (copied into one directory).
    workdir : path
        An empty temporary directory; the server's root, runtime, settings and workspace directories
        and its log (``jupyterlab.log``) are created in it.
    startup_timeout : float
        Seconds to wait for ``/api/status``.
    env : dict, optional
        Extra environment variables for the server and its kernels.

    Yields
    ------
    JupyterLabServer
    """
    workdir = Path(workdir)
    root = workdir / "root"
    if isinstance(notebooks, (str, os.PathLike)) and Path(notebooks).is_dir():
        shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "runs"))
    else:
        root.mkdir(parents=True)
        for nb in [notebooks] if isinstance(notebooks, (str, os.PathLike)) else notebooks:
            shutil.copy2(nb, root / Path(nb).name)
    settings = workdir / "lab-user-settings"
    for rel, values in _LAB_USER_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for sub in ("runtime", "workspaces", "config", "data"):
        (workdir / sub).mkdir()
    port, token = _free_port(), secrets.token_hex(24)
    server_env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
        # The user's ~/.jupyter config must not change what the test sees; the venv's config and
        # data dirs (lab extensions, kernelspec) are still found through sys.prefix.
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_DATA_DIR": str(workdir / "data"),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    server_env.pop("JUPYTER_TOKEN", None)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.allow_root=True",  # CI containers run as root
        "--LabApp.extension_manager=readonly",  # no PyPI look-ups from the extension manager
    ]
    log_path = workdir / "jupyterlab.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        cmd, cwd=root, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = JupyterLabServer(process, port, token, root, log_path)
    try:
        _wait_for_status(server, startup_timeout)
        yield server
    finally:
        _stop(process, workdir / "runtime")
        log.close()


@dataclass
class VoilaServer:
    """A running Voilà server showing one notebook as a page (see :func:`start_voila`)."""

    process: subprocess.Popen
    port: int
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """URL of ``path`` on this server (``""``: the notebook's page)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "(no server log)"


@contextlib.contextmanager
def start_voila(
    notebook: Path,
    workdir: Path,
    *,
    startup_timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> Iterator[VoilaServer]:
    """Start an isolated Voilà server showing a copy of ``notebook`` at ``/`` and stop it on exit.

    The server listens on 127.0.0.1 on a free port, without a token (as ``make app`` runs it); it opens
    no browser. Its kernels' connection files go to ``workdir/runtime``, so that any kernel left running is
    found and stopped. Readiness is checked on a static file: requesting the page would start a kernel.

    Parameters
    ----------
    notebook : path
        The notebook to show (copied into ``workdir/root``).
    workdir : path
        An empty temporary directory; the server's root, runtime, config and data directories and its log
        (``voila.log``) are created in it.
    startup_timeout : float
        Seconds to wait for the server to answer.
    env : dict, optional
        Extra environment variables for the server and its kernels.

    Yields
    ------
    VoilaServer
    """
    workdir = Path(workdir)
    root = workdir / "root"
    root.mkdir(parents=True)
    shutil.copy2(notebook, root / Path(notebook).name)
    for sub in ("runtime", "config", "data"):
        (workdir / sub).mkdir()
    port = _free_port()
    server_env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        # As for JupyterLab: the user's ~/.jupyter must not change the page; the venv's templates,
        # widget front ends and kernelspec are still found through sys.prefix.
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_DATA_DIR": str(workdir / "data"),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        sys.executable, "-m", "voila", Path(notebook).name,
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        f"--Voila.connection_dir_root={workdir / 'runtime'}",
        "--VoilaConfiguration.show_tracebacks=True",  # a failing cell shows its traceback in the page
    ]
    log_path = workdir / "voila.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        cmd, cwd=root, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = VoilaServer(process, port, root, log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        last_error: Exception | None = None
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Voila exited with code {process.returncode} before it was ready. Log:\n{server.log_tail()}"
                )
            try:
                with urllib.request.urlopen(server.url("voila/static/voila.js"), timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Voila did not answer within {startup_timeout:.0f} s (last error: {last_error!r}). "
                    f"Log:\n{server.log_tail()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        _stop(process, workdir / "runtime")
        log.close()


@contextlib.contextmanager
def launch_chromium(
    executable: str, profile_dir: Path, *, viewport: tuple[int, int] = (1400, 1000)
) -> Iterator[Any]:
    """Launch headless Chromium with a fresh profile and yield a Playwright browser context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield context
        finally:
            context.close()


def _kernel_idle(page: Any) -> bool:
    """Whether the current notebook has a kernel (not "No Kernel") and it reports idle."""
    return bool(
        page.evaluate(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                if (!panel || !panel.querySelector('.jp-Notebook .jp-Cell')) return false;
                const name = panel.querySelector('.jp-Toolbar-kernelName');
                if (!name || /no kernel/i.test(name.textContent)) return false;
                const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
                return !!ind && ind.getAttribute('data-status') === 'idle';
            }"""
        )
    )


def _kernel_settled(page: Any, checks: int = 4, interval: float = 0.5) -> bool:
    """Idle on ``checks`` polls in a row: right after start-up the indicator can flash "idle"."""
    for _ in range(checks):
        if not _kernel_idle(page):
            return False
        time.sleep(interval)
    return True


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``predicate()`` until it returns a truthy value; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(interval)


#: Where each front end opens a notebook: JupyterLab 4 (``reset`` drops any saved workspace layout) and
#: Notebook 7 (one notebook per page). Both are served by the same Jupyter server.
_NOTEBOOK_PAGES = {
    "lab": ("lab/tree/{name}", {"reset": ""}),
    "notebook": ("notebooks/{name}", {}),
}


def open_notebook(
    page: Any, server: JupyterLabServer, name: str, *, ui: str = "lab", timeout: float = 120.0
) -> None:
    """Open notebook ``name`` in JupyterLab (``ui="lab"``) or Notebook 7 (``ui="notebook"``) and wait
    until its kernel is idle.

    The "Select Kernel" dialog either front end may show is accepted (the notebook's own kernelspec).
    """
    if ui not in _NOTEBOOK_PAGES:
        raise ValueError(f"The 'ui' parameter of open_notebook must be one of {sorted(_NOTEBOOK_PAGES)}. Got {ui!r} instead.")
    path, query = _NOTEBOOK_PAGES[ui]
    page.goto(server.url(path.format(name=name), **query), timeout=timeout * 1000)
    page.wait_for_selector(".jp-Notebook", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dialog_accept = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog_accept.count():
            dialog_accept.first.click()
        elif _kernel_settled(page):
            return
        time.sleep(0.25)
    raise TimeoutError(f"The kernel of {name} was not idle within {timeout:.0f} s. Server log:\n{server.log_tail()}")


_PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
    .map(p => p.textContent.trim())"""
_ERRORS_JS = """() => Array.from(document.querySelectorAll(
        '.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'))
    .map(e => e.textContent)"""


def run_all_cells(page: Any, *, timeout: float = 240.0) -> list[str]:
    """Run every cell through the Run menu and wait until all have executed; return their prompts.

    JupyterLab 4 and Notebook 7 share the menu bar (``#jp-MainMenu``) and its "Run All Cells" entry.
    The notebook must have no outputs yet: numbered prompts count as finished.

    Raises
    ------
    NotebookRunError
        When a cell shows an error output, or the notebook does not finish within ``timeout``.
    """
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    try:
        wait_until(
            lambda: any(p != "[ ]:" for p in page.evaluate(_PROMPTS_JS)), 30, "Run All Cells to start a cell"
        )
    except TimeoutError as exc:
        raise NotebookRunError(f"{exc} Is the kernel connected? Prompts: {page.evaluate(_PROMPTS_JS)}") from None

    def finished() -> list[str] | None:
        errors = page.evaluate(_ERRORS_JS)
        if errors:
            raise NotebookRunError("A notebook cell failed in the browser:\n" + "\n---\n".join(errors)[-4000:])
        prompts = page.evaluate(_PROMPTS_JS)
        done = prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
        return prompts if done and _kernel_idle(page) else None

    try:
        return wait_until(finished, timeout, "all notebook cells to finish", interval=0.5)
    except TimeoutError as exc:
        prompts = page.evaluate(_PROMPTS_JS)
        raise NotebookRunError(f"{exc} Cell prompts: {prompts}") from None


def screenshot_element(page: Any, locator: Any, path: str | os.PathLike, *, margin: int = 300) -> None:
    """Screenshot ``locator`` whole and unobstructed.

    An element taller than the viewport would be captured in pieces with JupyterLab's menu and
    toolbar drawn over it, so the viewport first grows to fit the element.
    """
    box = locator.bounding_box()
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    if box and box["height"] + margin > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": int(box["height"] + margin)})
        page.wait_for_timeout(500)  # let JupyterLab re-lay out
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
