"""evaluate(): the scores Dataset, its numbers against counts done by hand, batching and devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaywidgets import Knockout, RecurrentClassifier
from relaywidgets.knockout import evaluate


@pytest.fixture
def small():
    torch.manual_seed(0)
    model = RecurrentClassifier("lstm", 2, 6, 3, device="cpu").eval()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 7, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    return model, X, y


def test_scores_match_counts_by_hand(small):
    model, X, y = small
    ds = evaluate(model, X, y)
    with torch.no_grad():
        pred = model(torch.from_numpy(X)).argmax(1).numpy()
    assert set(ds.data_vars) >= {"accuracy", "class_accuracy", "confusion", "logits"}
    assert ds.accuracy.dims == () and ds.class_accuracy.dims == ("class",)
    assert ds.confusion.dims == ("class", "predicted") and ds.logits.dims == ("class", "sample")
    assert float(ds.accuracy) == np.mean(pred == y)
    for c in range(3):
        assert float(ds.class_accuracy.sel(**{"class": c})) == np.mean(pred[y == c] == c)
        for p in range(3):
            assert int(ds.confusion.sel(**{"class": c, "predicted": p})) == np.sum((y == c) & (pred == p))
    assert int(ds.confusion.sum()) == 40 and ds.attrs["knockout"] == ""


def test_batches_give_the_same_scores(small):
    model, X, y = small
    ko = Knockout([1, 2], times=slice(2, None))
    whole = evaluate(model, X, y, knockout=ko)
    batched = evaluate(model, X, y, knockout=ko, batch_size=7)
    np.testing.assert_allclose(batched.logits.values, whole.logits.values, atol=1e-6)
    assert np.array_equal(batched.confusion.values, whole.confusion.values)
    assert "Knockout(nodes=(1, 2)" in whole.attrs["knockout"]


def test_lengths_use_each_sequences_last_valid_step(small):
    model, X, y = small
    lengths = np.full(40, 7)
    lengths[:10] = 3
    ds = evaluate(model, X, y, lengths=lengths)
    with torch.no_grad():
        short = model(torch.from_numpy(X[:10, :3]))
    np.testing.assert_allclose(ds.logits.values[:, :10], short.numpy().T, atol=1e-6)


def test_class_without_samples_is_nan(small):
    model, X, y = small
    y = np.where(y == 2, 0, y)
    ds = evaluate(model, X, y)
    assert np.isnan(float(ds.class_accuracy.sel(**{"class": 2})))
    assert int(ds.support.sel(**{"class": 2})) == 0


def test_device_cpu_explicit_uses_the_model(small):
    model, X, y = small
    a = evaluate(model, X, y, device="cpu")
    b = evaluate(model, X, y)
    assert np.array_equal(a.logits.values, b.logits.values)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_copy_matches_cpu(small):
    model, X, y = small
    gpu = evaluate(model, X, y, knockout=Knockout([0]), device="cuda")
    cpu = evaluate(model, X, y, knockout=Knockout([0]))
    np.testing.assert_allclose(gpu.logits.values, cpu.logits.values, atol=1e-5)
    assert model.device.type == "cpu"
