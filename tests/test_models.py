"""RecurrentClassifier: stepwise logits equal the fused torch module's; lengths; devices; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaywidgets import InputError, RecurrentClassifier
from relaywidgets.models import resolve_device


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_stepwise_equals_fused(arch, num_layers):
    torch.manual_seed(0)
    model = RecurrentClassifier(arch, 3, 12, 5, num_layers, device="cpu")
    x = torch.randn(9, 15, 3)
    with torch.no_grad():
        stepwise = model(x)
        out, _ = model.rnn(x)
        fused = model.readout(out[:, -1])
    assert isinstance(model.rnn, {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[arch])
    assert model.rnn.batch_first
    assert isinstance(model.readout, torch.nn.Linear)
    assert stepwise.shape == (9, 5)
    torch.testing.assert_close(stepwise, fused, atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_variable_lengths_equal_packed_sequence(arch, num_layers):
    torch.manual_seed(1)
    model = RecurrentClassifier(arch, 2, 8, 3, num_layers, device="cpu")
    x = torch.randn(6, 10, 2)
    lengths = torch.tensor([10, 1, 4, 7, 10, 2])
    with torch.no_grad():
        stepwise = model(x, lengths=lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, state = model.rnn(packed)
        h_n = state[0] if arch == "lstm" else state
        reference = model.readout(h_n[-1])
    torch.testing.assert_close(stepwise, reference, atol=1e-5, rtol=0)
    # A sequence's logits do not depend on what is padded after its end.
    x2 = x.clone()
    x2[1, 1:] = 99.0
    with torch.no_grad():
        torch.testing.assert_close(model(x2, lengths=lengths)[1], stepwise[1], atol=1e-6, rtol=0)


def test_run_from_cached_states_equals_full_run():
    torch.manual_seed(2)
    model = RecurrentClassifier("lstm", 3, 6, 2, 2, device="cpu")
    x = torch.randn(4, 12, 3)
    with torch.no_grad():
        full = model.run(x)
        t0 = 5
        initial = ([h[:, t0 - 1] for h in full.hidden], [c[:, t0 - 1] for c in full.cell])
        resumed = model.run(x, start=t0, initial=initial)
    torch.testing.assert_close(resumed.logits, full.logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(resumed.hidden[1], full.hidden[1][:, t0:], atol=1e-6, rtol=0)


def test_numpy_input_and_predict():
    model = RecurrentClassifier("gru", 2, 4, 3, device="cpu")
    x = np.zeros((5, 7, 2), dtype=np.float64)
    pred = model.predict(x)
    assert pred.shape == (5,) and pred.dtype == np.int64
    assert model.node_labels[:2] == ["l0.h0", "l0.h1"]


def test_device_auto_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert RecurrentClassifier("rnn", 1, 2, 2).device.type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when CUDA is missing")
def test_cuda_requested_without_gpu():
    with pytest.raises(InputError, match="no CUDA GPU"):
        RecurrentClassifier("rnn", 1, 2, 2, device="cuda")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"arch": "transformer"}, "'arch' parameter .* 'rnn', 'lstm', 'gru'. Got 'transformer'"),
        ({"hidden_size": 0}, "'hidden_size' parameter .* \\[1, inf\\). Got 0"),
        ({"num_classes": 1}, "'num_classes' parameter .* \\[2, inf\\)"),
        ({"num_layers": 1.5}, "'num_layers' parameter"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    args = {"arch": "lstm", "input_size": 2, "hidden_size": 4, "num_classes": 3} | kwargs
    with pytest.raises(InputError, match=match):
        RecurrentClassifier(**args, device="cpu")


@pytest.mark.parametrize(
    "x, lengths, match",
    [
        (np.zeros((4, 5)), None, "3-D .* got 2-D .* X\\[..., None\\]|x\\[..., None\\]"),
        (np.zeros((4, 5, 3)), None, "3 feature\\(s\\) per step but the model expects 2"),
        (np.full((4, 5, 2), np.nan), None, "40 NaN or infinite"),
        (np.zeros((0, 5, 2)), None, "empty"),
        (np.zeros((2, 5, 2)), [3, 6], "lengths go up to 6 but the sequences have only 5 steps"),
        (np.zeros((2, 5, 2)), [0, 5], "at least 1"),
        (np.zeros((2, 5, 2)), [1, 2, 3], "one entry per sample"),
    ],
)
def test_bad_forward_input(x, lengths, match):
    model = RecurrentClassifier("rnn", 2, 3, 2, device="cpu")
    with pytest.raises(InputError, match=match):
        model(x, lengths=lengths)
    with pytest.raises(InputError, match=match):
        model(torch.as_tensor(x, dtype=torch.float32), lengths=lengths)
