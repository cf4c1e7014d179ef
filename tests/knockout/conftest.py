"""Fixtures of the knockout tests: a hand-written reference cell loop and a hand-wired latching network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from relaywidgets import RecurrentClassifier


def cells_of(model: RecurrentClassifier) -> list[torch.nn.Module]:
    """One torch cell per layer holding the same parameters as the model's fused module."""
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[model.arch]
    cells = []
    for layer in range(model.num_layers):
        in_size = model.input_size if layer == 0 else model.hidden_size
        cell = cls(in_size, model.hidden_size)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(model.rnn, f"{name}_l{layer}"))
        cells.append(cell)
    return cells


@torch.no_grad()
def _reference_logits(model: RecurrentClassifier, x: torch.Tensor, clamps: dict, lengths=None) -> tuple:
    """Logits and per-layer hidden states (batch, time, hidden) of the clamped network.

    ``clamps[layer] = (units, steps, h_values, c_values or None)``: at every step in ``steps``, right after
    the cell, ``c[:, units] = c_values`` (then h is recomputed from the clamped c with the output gate)
    and ``h[:, units] = h_values``.
    """
    cells = cells_of(model)
    batch, T, _ = x.shape
    H = model.hidden_size
    h = [torch.zeros(batch, H) for _ in cells]
    c = [torch.zeros(batch, H) for _ in cells]
    hidden = [torch.zeros(batch, T, H) for _ in cells]
    for t in range(T):
        inp = x[:, t]
        for layer, cell in enumerate(cells):
            h_prev = h[layer]
            if model.arch == "lstm":
                h_new, c_new = cell(inp, (h_prev, c[layer]))
            else:
                h_new, c_new = cell(inp, h_prev), None
            if layer in clamps:
                units, steps, h_vals, c_vals = clamps[layer]
                if t in steps:
                    units = list(units)
                    if c_vals is not None:
                        c_new = c_new.clone()
                        c_new[:, units] = torch.as_tensor(c_vals, dtype=torch.float32)
                        gates = inp @ cell.weight_ih.T + cell.bias_ih + h_prev @ cell.weight_hh.T + cell.bias_hh
                        out_gate = torch.sigmoid(gates[:, 3 * H :])
                        h_new = out_gate * torch.tanh(c_new)
                    h_new = h_new.clone()
                    h_new[:, units] = torch.as_tensor(h_vals, dtype=torch.float32)
            h[layer] = h_new
            if c_new is not None:
                c[layer] = c_new
            hidden[layer][:, t] = h_new
            inp = h_new
    last = hidden[-1]
    if lengths is None:
        final = last[:, -1]
    else:
        final = last[torch.arange(batch), torch.as_tensor(np.asarray(lengths)) - 1]
    return model.readout(final), hidden


@pytest.fixture
def reference_logits():
    """The hand-written clamped cell loop (see ``_reference_logits``)."""
    return _reference_logits


def latch_network(hidden_size: int = 64, seed: int = 0) -> RecurrentClassifier:
    """A 2-class Elman RNN with hand-set weights in which unit 0 alone stores the class.

    Input features: (cue, noise). Unit 0 receives only the cue (weight 4) and itself (weight 4), so
    tanh latches the sign of the cue given at step 1 and holds it (|h0| > 0.99). The other units see
    the noise channel and each other, never unit 0, and the readout reads unit 0 only:
    logits = (-3 h0 + 0.1, 3 h0). Knocking unit 0 out to 0 leaves logits (0.1, 0): class 0 for everyone.
    """
    gen = torch.Generator().manual_seed(seed)
    model = RecurrentClassifier("rnn", 2, hidden_size, 2, device="cpu")
    H = hidden_size
    with torch.no_grad():
        w_ih = torch.zeros(H, 2)
        w_ih[0, 0] = 4.0
        w_ih[1:, 1] = torch.randn(H - 1, generator=gen)
        w_hh = torch.zeros(H, H)
        w_hh[0, 0] = 4.0
        w_hh[1:, 1:] = 0.3 * torch.randn(H - 1, H - 1, generator=gen) / np.sqrt(H)
        model.rnn.weight_ih_l0.copy_(w_ih)
        model.rnn.weight_hh_l0.copy_(w_hh)
        model.rnn.bias_ih_l0.zero_()
        model.rnn.bias_hh_l0.zero_()
        model.readout.weight.zero_()
        model.readout.weight[0, 0] = -3.0
        model.readout.weight[1, 0] = 3.0
        model.readout.bias.copy_(torch.tensor([0.1, 0.0]))
    return model.eval()


def redundant_latch_network(hidden_size: int = 8, seed: int = 0) -> RecurrentClassifier:
    """The latch network with two copies of the latch: units 0 and 1 each store the class on their own.

    Both receive the cue (weight 4) and only themselves (weight 4); the readout reads both:
    logits = (-3 (h0 + h1) + 0.1, 3 (h0 + h1)). One copy knocked out still decides every sample (the
    margin halves); both knocked out leave logits (0.1, 0), class 0 for everyone.
    """
    model = latch_network(hidden_size, seed)
    with torch.no_grad():
        model.rnn.weight_ih_l0[1] = torch.tensor([4.0, 0.0])
        model.rnn.weight_hh_l0[1] = 0.0
        model.rnn.weight_hh_l0[1, 1] = 4.0
        model.rnn.weight_hh_l0[2:, 1] = 0.0  # the noise units never read the copy, as they never read unit 0
        model.readout.weight[0, 1] = -3.0
        model.readout.weight[1, 1] = 3.0
    return model.eval()


def latch_data(n: int = 200, T: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cue of sign 2y - 1 at step 1, Gaussian noise on the second channel."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    X = np.zeros((n, T, 2), dtype=np.float32)
    X[:, 1, 0] = 2 * y - 1
    X[:, :, 1] = rng.normal(size=(n, T))
    return X, y.astype(np.int64)


def latch_relays(hidden_size: int = 64, T: int = 8) -> xr.Dataset:
    """A relay Dataset shaped like find_relays' output: unit 0 is the relay of every concept from step 1."""
    labels = [f"l0.h{u}" for u in range(hidden_size)]
    is_relay = np.zeros((3, T, hidden_size), dtype=bool)
    is_relay[:, 1:, 0] = True
    significant = np.zeros((3, T), dtype=bool)
    significant[:, 1:] = True
    return xr.Dataset(
        {
            "is_relay": (("concept", "time", "node"), is_relay),
            "significant": (("concept", "time"), significant),
            "p_value": (("concept", "time"), np.where(significant, 0.01, 0.5)),
        },
        coords={
            "concept": ("concept", np.array(["0", "1", "all"])),
            "concept_class": ("concept", np.array([0, 1, -1], dtype=np.int64)),
            "time": ("time", np.arange(T, dtype=np.int64)),
            "node": ("node", np.array(labels)),
            "layer": ("node", np.zeros(hidden_size, dtype=np.int64)),
            "unit": ("node", np.arange(hidden_size, dtype=np.int64)),
        },
        attrs={"threshold": 0.9},
    )


@pytest.fixture
def latch():
    """(model, X, y, relays) of the hand-wired latching network."""
    model = latch_network()
    X, y = latch_data()
    return model, X, y, latch_relays()


@pytest.fixture
def latch_builders():
    """The builders behind the ``latch`` fixture, for tests that need other sizes."""
    from types import SimpleNamespace

    return SimpleNamespace(
        network=latch_network, redundant=redundant_latch_network, data=latch_data, relays=latch_relays
    )
