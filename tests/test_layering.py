"""Import layering: the numerical core never loads the widget stack, the package root loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_package_root_is_light():
    loaded = _loaded_after("import relaywidgets")
    assert not {"torch", "ipywidgets", "bqplot", "matplotlib", "xarray"} & loaded


@pytest.mark.parametrize("module", ["relaywidgets.info", "relaywidgets.relay", "relaywidgets.recording",
                                    "relaywidgets.knockout", "relaywidgets.models"])
def test_core_does_not_import_widgets(module):
    pytest.importorskip(module)
    loaded = _loaded_after(f"import {module}")
    assert not {"ipywidgets", "bqplot", "matplotlib"} & loaded, module


def test_info_does_not_need_torch():
    pytest.importorskip("relaywidgets.info")
    assert "torch" not in _loaded_after("import relaywidgets.info")


def test_relay_analysis_on_numpy_never_loads_torch():
    # device="auto" imports torch to ask whether CUDA is there; device="numpy" needs no torch at all.
    code = (
        "import sys; from relaywidgets.testing import planted_relay; from relaywidgets.relay import find_relays; "
        "find_relays(planted_relay('single', n_samples=200, seed=0)[0], n_perm=0, progress=False, device='numpy'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False"
