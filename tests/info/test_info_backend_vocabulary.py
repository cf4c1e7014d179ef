"""One backend/device vocabulary for relaywidgets.info and relaywidgets.relay (info/backends.get_backend)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from relaywidgets.errors import InputError
from relaywidgets.info import entropy
from relaywidgets.info.backends import BACKENDS, NumpyBackend, get_backend


@pytest.mark.parametrize(
    "backend, device",
    [(None, None), ("numpy", None), (None, "numpy"), ("numpy", "numpy"), ("numpy", "cpu"), ("auto", "numpy"),
     ("numpy", "auto")],
)
def test_numpy_spellings(backend, device):
    be = get_backend(backend, device)
    assert isinstance(be, NumpyBackend) and be.name == "numpy" and be.label == "numpy"


def test_a_backend_object_passes_through():
    be = NumpyBackend()
    assert get_backend(be) is be


def test_errors_name_the_parameter_the_owner_and_the_fix():
    assert BACKENDS == ("numpy", "torch", "auto")
    with pytest.raises(InputError, match=r"The 'backend' parameter must be one of 'numpy', 'torch', 'auto'\. Got 'jax'"):
        get_backend("jax")
    with pytest.raises(InputError, match="The 'backend' parameter of find_relays must be one of"):
        get_backend("jax", owner="find_relays")
    with pytest.raises(InputError, match=r"only used with backend='torch'.*Pass backend='torch'"):
        get_backend("numpy", "cuda", owner="entropy")
    # The estimator functions speak the same vocabulary.
    with pytest.raises(InputError, match="only used with backend='torch'"):
        entropy(np.zeros(10, int), device="cuda")
    assert entropy(np.arange(40) % 4, device="numpy") == 2.0


def test_the_numpy_spellings_never_import_torch():
    code = (
        "import sys; from relaywidgets.info.backends import get_backend; "
        "[get_backend(b, d) for b, d in [(None, None), ('numpy', 'cpu'), (None, 'numpy'), ('auto', 'numpy')]]; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_torch_spellings():
    torch = pytest.importorskip("torch")
    assert get_backend("torch").label == "cpu"
    assert get_backend(None, "cpu").name == "torch"
    assert get_backend("auto", "cpu").label == "cpu"
    assert get_backend("torch", torch.device("cpu")).label == "cpu"
    auto = get_backend("auto")
    assert auto.name == ("torch" if torch.cuda.is_available() else "numpy")
    with pytest.raises(InputError, match="device='numpy' contradicts backend='torch'"):
        get_backend("torch", "numpy")
    with pytest.raises(InputError, match=r"The 'device' parameter of find_relays must be 'auto', 'numpy', 'cpu'"):
        get_backend(None, "tpu", owner="find_relays")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU is available here"):
            get_backend("torch", "cuda")
