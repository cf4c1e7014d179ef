"""The torch counting backend gives the same joint states and numbers as numpy (CPU; CUDA if present)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets.info import (
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    joint_codes,
    mutual_information,
)
from info_cases import CASES, registered, same_partition


torch = pytest.importorskip("torch")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=["numpy-packing", "device-packing"])
def packing(request, monkeypatch):
    """Run with the CPU shortcut (numpy packs a zero-copy view) and with the accelerator code path."""
    from relaywidgets.info.backends import TorchBackend

    monkeypatch.setattr(TorchBackend, "numpy_on_cpu", request.param == "numpy-packing")
    return request.param


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(CASES))
def test_torch_joint_codes_partition(case, device, packing):
    rows = CASES[case](np.random.default_rng(len(case)))
    dense, n_states = joint_codes(rows, backend="torch", device=device)
    assert isinstance(dense, torch.Tensor) and dense.device.type == device
    assert n_states == len(np.unique(rows, axis=0))
    same_partition(dense.cpu().numpy(), rows)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator", registered(counting=True))
def test_torch_and_numpy_give_the_same_numbers(estimator, device, packing):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2, (3000, 40), dtype=np.int8)
    o = (a[:, 0] ^ a[:, 1]).astype(np.int64)
    c = rng.integers(0, 3, (3000, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, args in [
            (entropy, (c,)),
            (conditional_entropy, (o, c)),
            (mutual_information, (a[:, :12], o)),
            (conditional_mutual_information, (a, o, c)),
            (conditional_mutual_information, (a[:, :2], o, a[:, 2:])),
        ]:
            ref = fn(*args, estimator=estimator)
            got = fn(*args, estimator=estimator, backend="torch", device=device)
            assert got == pytest.approx(ref, abs=1e-9)


def test_torch_backend_accepts_tensors():
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 2, (200, 30), dtype=np.int8)
    dense, n = joint_codes(torch.from_numpy(codes), backend="torch")
    ref, n_ref = joint_codes(codes)
    assert n == n_ref
    same_partition(dense.numpy(), codes)
