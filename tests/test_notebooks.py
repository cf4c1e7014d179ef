"""The tutorial notebooks run top to bottom without errors (nbclient, the venv's ``python3`` kernel)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"
# Per notebook: the tutorials are sized to run in well under a minute on 2 busy CPU cores.
NOTEBOOK_TIMEOUT = 300


def _execute(nb, workdir: Path):
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=NOTEBOOK_TIMEOUT,
        resources={"metadata": {"path": str(workdir)}},
    )
    return client.execute()


@pytest.mark.timeout(120)
def test_kernel_is_this_environment(tmp_path):
    """nbclient's ``python3`` kernel runs on this interpreter, so it imports this checkout's package."""
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, relaywidgets; print(sys.prefix); print(relaywidgets.__file__)")]
    )
    out = _execute(nb, tmp_path)
    prefix, package = out.cells[0].outputs[0]["text"].split()
    assert prefix == sys.prefix, (
        f"The {KERNEL!r} kernel runs in {prefix}, not in this environment ({sys.prefix}). Run pytest with this "
        f"environment's python, or re-create its kernelspec: {sys.executable} -m ipykernel install --sys-prefix"
    )
    assert Path(package).resolve().is_relative_to(ROOT / "relaywidgets")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path):
    """Execute a copy in a temporary directory (notebooks write ``runs/``) and check no cell failed."""
    shutil.copy2(path, tmp_path / path.name)
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL, (
        f"{path.name} must use the {KERNEL!r} kernel (Kernel > Change Kernel in JupyterLab, then save)."
    )
    # NotebookClient raises CellExecutionError, naming the cell and its traceback, on the first error.
    out = _execute(nb, tmp_path)
    code_cells = [c for c in out.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)


def test_notebooks_are_committed_without_outputs():
    """Outputs stay out of git: they are large, and stale ones mislead."""
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, (
            f"{path.name}: code cells {dirty} hold outputs or execution counts. Clear them before committing "
            "(JupyterLab: Edit > Clear Outputs of All Cells, then save)."
        )
