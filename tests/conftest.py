"""Shared fixtures: small trained models and data sets, built once per test session."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


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
