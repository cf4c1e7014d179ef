"""Shared fixtures: small trained models and data sets, built once per test session."""

from __future__ import annotations

import importlib.abc
import os
import sys

import numpy as np
import pytest


class _NoTorch(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` fail, to show that the torch-free parts of the package and their tests need none."""

    def find_spec(self, fullname, path, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by RELAYWIDGETS_BLOCK_TORCH)")
        return None


if os.environ.get("RELAYWIDGETS_BLOCK_TORCH") == "1":
    sys.meta_path.insert(0, _NoTorch())


@pytest.fixture(autouse=True)
def _torch_threads():
    """At most two torch threads, set only where a test module loaded torch (the info tests need none)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    yield


@pytest.fixture(scope="session")
def cue_data():
    """A small delayed-cue training and test set."""
    from relaywidgets.tasks import make_task

    X, y = make_task("delayed-cue", 600, 12, seed=0)
    X_test, y_test = make_task("delayed-cue", 300, 12, seed=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="session")
def trained_lstm(cue_data):
    """A 16-unit LSTM trained on the small delayed-cue set."""
    from relaywidgets import RecurrentClassifier, train

    X, y, _, _ = cue_data
    model = RecurrentClassifier("lstm", X.shape[2], 16, 4, device="cpu")
    model.metadata["task"] = "delayed-cue"
    train(model, X, y, epochs=40, lr=1e-2, seed=0, progress=False)
    return model


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
