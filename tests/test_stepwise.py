"""relaywidgets.stepwise: a user's PyTorch model with its recurrent layers stepped cell by cell.

Outputs are checked against torch's own fused modules, knockouts against a hand-written cell loop.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import relaywidgets as rw
from relaywidgets import InputError, Knockout, KnockoutError, RecurrentClassifier, stepwise
from relaywidgets.knockout import KnockoutSession, evaluate

KINDS = ["tanh", "relu", "lstm", "gru"]
TOL = 1e-5


def _module(kind: str, layers: int, batch_first: bool, input_size: int = 3, hidden: int = 5) -> nn.Module:
    if kind in ("tanh", "relu"):
        return nn.RNN(input_size, hidden, num_layers=layers, nonlinearity=kind, batch_first=batch_first)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden, num_layers=layers, batch_first=batch_first)


def _flat(result) -> list[torch.Tensor]:
    out, state = result
    if isinstance(out, PackedSequence):
        out = out.data
    return [out, *(state if isinstance(state, tuple) else (state,))]


class Head(nn.Module):
    """A recurrent module read at the last step by a linear readout: the plain classifier."""

    def __init__(self, rnn: nn.Module, n_classes: int = 3) -> None:
        super().__init__()
        self.rnn = rnn
        self.readout = nn.Linear(rnn.hidden_size, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.readout(out[:, -1] if self.rnn.batch_first else out[-1])


class TokenNet(nn.Module):
    """Embedding, a 2-layer LSTM, an MLP head; packs the sequences when lengths are given."""

    def __init__(self, vocab: int = 6, hidden: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 4)
        self.encoder = nn.Module()
        self.encoder.lstm = nn.LSTM(4, hidden, num_layers=2, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 16), nn.ReLU(), nn.Linear(16, n_classes))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(tokens)
        if lengths is None:
            out, _ = self.encoder.lstm(emb)
            return self.head(out[:, -1])
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.encoder.lstm(packed)
        return self.head(h_n[-1])


# ---------------------------------------------------------------------------------------------- equality
@pytest.mark.parametrize("kind,layers,batch_first", list(itertools.product(KINDS, [1, 2, 3], [True, False])))
@pytest.mark.parametrize("packing", ["none", "sorted", "unsorted"])
def test_outputs_equal_torch(kind, layers, batch_first, packing):
    torch.manual_seed(layers)
    rnn = _module(kind, layers, batch_first)
    wrapped = stepwise(rnn, num_classes=2, decision=lambda out: out[0])
    B, T = 4, 7
    x = torch.randn(B, T, 3) if batch_first else torch.randn(T, B, 3)
    inputs = x
    if packing != "none":
        lengths = torch.tensor([7, 5, 3, 2]) if packing == "sorted" else torch.tensor([3, 7, 2, 5])
        inputs = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=packing == "sorted")
    h0 = torch.randn(layers, B, 5)
    hx = (h0, torch.randn(layers, B, 5)) if kind == "lstm" else h0
    with torch.no_grad():
        for args in ((inputs,), (inputs, hx)):
            expected, got = rnn(*args), wrapped(*args)
            if packing != "none":
                assert torch.equal(got[0].batch_sizes, expected[0].batch_sizes)
                if packing == "unsorted":
                    assert torch.equal(got[0].sorted_indices, expected[0].sorted_indices)
            for e, g in zip(_flat(expected), _flat(got), strict=True):
                assert e.shape == g.shape
                assert torch.allclose(e, g, atol=TOL, rtol=0), float((e - g).abs().max())


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_and_gradients_match(kind):
    torch.manual_seed(0)
    rnn = _module(kind, 2, True)
    wrapped = stepwise(rnn, num_classes=2, decision=lambda out: out[0])
    x = torch.randn(6, 3)
    for e, g in zip(_flat(rnn(x)), _flat(wrapped(x)), strict=True):
        assert e.shape == g.shape and torch.allclose(e, g, atol=TOL, rtol=0)
    xb = torch.randn(4, 6, 3)
    rnn(xb)[0].square().sum().backward()
    wrapped(xb)[0].square().sum().backward()
    for name, p in rnn.named_parameters():
        q = dict(wrapped.module.named_parameters())[name]
        assert torch.allclose(p.grad, q.grad, atol=1e-4, rtol=1e-4), name


def test_user_model_is_left_untouched_and_state_dict_keys_kept():
    net = TokenNet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    wrapped = stepwise(net)
    assert type(net.encoder.lstm) is nn.LSTM
    assert type(wrapped.module.encoder.lstm).__name__ == "SteppedLSTM"
    assert isinstance(wrapped.module.encoder.lstm, nn.LSTM)
    assert list(wrapped.module.state_dict()) == list(before)
    with torch.no_grad():
        wrapped.module.encoder.lstm.weight_hh_l0.zero_()
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_nested_modules_are_labelled_by_path_and_the_forward_is_unchanged():
    torch.manual_seed(0)
    net = TokenNet()
    model = stepwise(net)
    assert model.num_classes == 3 and model.num_layers == 2 and model.arch == "lstm"
    assert [(s.module, s.layer) for s in model.layout] == [("encoder.lstm", 0), ("encoder.lstm", 1)]
    assert model.node_labels[:2] == ["encoder.lstm:l0.h0", "encoder.lstm:l0.h1"]
    assert model.node_labels[8] == "encoder.lstm:l1.h0"
    tokens = torch.randint(0, 6, (9, 11))
    lengths = torch.tensor([11, 3, 7, 11, 1, 5, 9, 2, 11])
    with torch.no_grad():
        assert torch.allclose(model(tokens), net(tokens), atol=TOL, rtol=0)
        assert torch.allclose(model(tokens, lengths), net(tokens, lengths), atol=TOL, rtol=0)
        states = model.run(tokens, lengths)
        assert torch.allclose(states.logits, net(tokens, lengths), atol=TOL, rtol=0)
    assert [tuple(h.shape) for h in states.hidden] == [(9, 11, 8), (9, 11, 8)]
    assert [tuple(c.shape) for c in states.cell] == [(9, 11, 8), (9, 11, 8)]
    # the final state of each sequence is the one the packed LSTM hands its head
    assert np.array_equal(model.predict(tokens, lengths), net(tokens, lengths).argmax(1).numpy())


def test_several_recurrent_modules_of_different_sizes():
    class TwoStage(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.GRU(3, 6, batch_first=True), nn.LSTM(6, 4, batch_first=True)])
            self.out = nn.Linear(4, 2)

        def forward(self, x):
            h, _ = self.blocks[0](x)
            h, _ = self.blocks[1](torch.tanh(h))
            return self.out(h[:, -1])

    torch.manual_seed(1)
    net = TwoStage()
    model = stepwise(net)
    assert model.arch == "mixed" and [s.hidden_size for s in model.layout] == [6, 4]
    assert model.node_labels[5:7] == ["blocks.0:l0.h5", "blocks.1:l0.h0"]
    with pytest.raises(InputError, match="different sizes"):
        model.hidden_size
    x = np.random.default_rng(0).normal(size=(20, 5, 3)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 2, 20)
    rec = rw.record(model, x, y)
    rw.check_recording(rec)
    assert rec.sizes["node"] == 10
    assert list(rec.layer.values) == [0] * 6 + [1] * 4 and str(rec.module.values[7]) == "blocks.1"
    assert np.isnan(rec.cell.values[:6]).all() and np.isfinite(rec.cell.values[6:]).all()
    # a knockout addressed by submodule label hits the LSTM (global layer 1), and equals one by global layer
    by_label = evaluate(model, x, y, knockout=Knockout(["blocks.1:l0.h0", "blocks.1:l0.h3"]))
    by_layer = evaluate(model, x, y, knockout=Knockout([0, 3], layer=1))
    np.testing.assert_array_equal(by_label.logits.values, by_layer.logits.values)
    session = KnockoutSession(model, x, y)
    session.set(["blocks.1:l0.h0", "blocks.1:l0.h3"])
    assert session.accuracy == float(by_label.accuracy)


# ---------------------------------------------------------------------------------------------- knockouts
def _cell_loop(kind: str, rnn: nn.Module, readout: nn.Linear, x: torch.Tensor, clamps: dict) -> torch.Tensor:
    """Hand-written loop over torch cells; ``clamps[layer] = (units, steps, value, clamp_cell)``."""
    cls = {"tanh": nn.RNNCell, "relu": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    cells = []
    for layer in range(rnn.num_layers):
        extra = {"nonlinearity": kind} if kind in ("tanh", "relu") else {}
        cell = cls(rnn.input_size if layer == 0 else rnn.hidden_size, rnn.hidden_size, **extra)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(rnn, f"{name}_l{layer}"))
        cells.append(cell)
    B, T, _ = x.shape
    H = rnn.hidden_size
    h = [torch.zeros(B, H) for _ in cells]
    c = [torch.zeros(B, H) for _ in cells]
    for t in range(T):
        inp = x[:, t]
        for layer, cell in enumerate(cells):
            units, steps, value, clamp_cell = clamps.get(layer, ([], (), 0.0, False))
            if kind == "lstm":
                if clamp_cell and t in steps:
                    # clamp c, then h follows from the clamped c through the output gate
                    gates = inp @ cell.weight_ih.T + cell.bias_ih + h[layer] @ cell.weight_hh.T + cell.bias_hh
                    i, f, g, o = gates.chunk(4, dim=1)
                    c_new = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
                    c_new[:, units] = value
                    h_new = torch.sigmoid(o) * torch.tanh(c_new)
                else:
                    h_new, c_new = cell(inp, (h[layer], c[layer]))
                c[layer] = c_new
            else:
                h_new = cell(inp, h[layer])
            if t in steps:
                h_new = h_new.clone()
                h_new[:, units] = value
            h[layer] = h_new
            inp = h_new
    return readout(h[-1])


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_knockout_equals_a_hand_written_cell_loop(kind):
    torch.manual_seed(3)
    net = Head(_module(kind, 2, True, input_size=3, hidden=6))
    model = stepwise(net)
    x = torch.randn(8, 9, 3)
    knockouts = [
        Knockout(["rnn:l0.h1", "rnn:l0.h4"], times=slice(2, 6), value=0.3),
        Knockout([0, 5], layer=1, times=[4, 7]),  # a global layer index, no submodule named
    ]
    expected = _cell_loop(kind, net.rnn, net.readout, x, {0: ([1, 4], range(2, 6), 0.3, False), 1: ([0, 5], (4, 7), 0.0, False)})
    got = model.run(x, knockout=knockouts).logits
    assert torch.allclose(got, expected, atol=TOL, rtol=0)
    assert not torch.allclose(got, net(x), atol=1e-3)  # the knockout did something
    if kind == "lstm":
        ko = Knockout(["rnn:l1.h2"], times=slice(3, None), value=-0.5, clamp_cell=True)
        expected = _cell_loop(kind, net.rnn, net.readout, x, {1: ([2], range(3, 9), -0.5, True)})
        assert torch.allclose(model.run(x, knockout=ko).logits, expected, atol=TOL, rtol=0)


@torch.no_grad()
def test_knockout_in_a_wrapped_model_equals_the_same_knockout_in_recurrent_classifier():
    torch.manual_seed(4)
    net = Head(nn.GRU(4, 7, num_layers=2, batch_first=True), n_classes=4)
    wrapped, classifier = stepwise(net), RecurrentClassifier.from_torch(net.rnn, net.readout)
    X, y = rw.make_task("delayed-cue", n_samples=64, seq_len=8, seed=0)
    for ko in (Knockout([1, 2], layer=0), Knockout(["rnn:l1.h3"], times=slice(5, None))):
        plain = Knockout(list(ko.nodes), layer=ko.layer, times=ko.times)
        np.testing.assert_allclose(
            evaluate(wrapped, X, y, knockout=ko).logits.values,
            evaluate(classifier, X, y, knockout=plain).logits.values,
            atol=TOL,
        )


def test_session_resuming_late_windows_agrees_with_evaluate():
    torch.manual_seed(5)
    model = stepwise(TokenNet())
    tokens = np.random.default_rng(0).integers(0, 6, size=(60, 10))
    y = np.random.default_rng(1).integers(0, 3, 60)
    lengths = np.random.default_rng(2).integers(3, 11, 60)
    session = KnockoutSession(model, tokens, y, lengths=lengths, times=slice(4, None))
    result = session.set(["encoder.lstm:l1.h0", "encoder.lstm:l1.h5", "encoder.lstm:l0.h2"])
    direct = evaluate(model, tokens, y, lengths=lengths, knockout=session.knockouts())
    assert result.accuracy == float(direct.accuracy)
    np.testing.assert_array_equal(result.per_class, direct.class_accuracy.values)


def test_from_torch_equals_the_torch_modules():
    torch.manual_seed(6)
    for kind in ("tanh", "lstm", "gru"):
        rnn, head = _module(kind, 2, False, input_size=3, hidden=5), nn.Linear(5, 3)
        model = RecurrentClassifier.from_torch(rnn, head)
        assert model.arch == ("rnn" if kind == "tanh" else kind) and model.num_classes == 3
        x = torch.randn(6, 8, 3)
        with torch.no_grad():
            expected = head(rnn(x.transpose(0, 1))[0][-1])
            assert torch.allclose(model(x), expected, atol=TOL, rtol=0)
    no_bias = nn.GRU(3, 4, bias=False, batch_first=True)
    model = RecurrentClassifier.from_torch(no_bias, nn.Linear(4, 2, bias=False))
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        assert torch.allclose(model(x), model.readout(no_bias(x)[0][:, -1]), atol=TOL, rtol=0)


# ---------------------------------------------------------------------------------------------- bad input
def test_bidirectional_is_refused_with_what_is_supported():
    with pytest.raises(InputError, match="bidirectional.*supported: torch.nn.RNN"):
        stepwise(Head(nn.LSTM(3, 4, bidirectional=True, batch_first=True)))
    with pytest.raises(InputError, match="bidirectional"):
        RecurrentClassifier.from_torch(nn.GRU(3, 4, bidirectional=True), nn.Linear(8, 2))


def test_proj_size_is_refused():
    with pytest.raises(InputError, match="proj_size"):
        stepwise(Head(nn.LSTM(3, 4, proj_size=2, batch_first=True)))


def test_a_module_without_recurrent_layers_is_refused():
    with pytest.raises(InputError, match="found no recurrent layer in Sequential.*torch.nn.LSTM"):
        stepwise(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))

    class CellLoop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(3, 4)

    with pytest.raises(InputError, match=r"recurrent cell\(s\) \['cell'\]"):
        stepwise(CellLoop())
    with pytest.raises(InputError, match="wrap it first"):
        evaluate(Head(nn.GRU(3, 4, batch_first=True)), np.zeros((2, 3, 3)), [0, 1])


def test_a_recurrent_subclass_with_its_own_forward_is_refused():
    class MyLSTM(nn.LSTM):
        def forward(self, x, hx=None):
            return super().forward(x * 2, hx)

    with pytest.raises(InputError, match="overrides the forward pass"):
        stepwise(Head(MyLSTM(3, 4, batch_first=True)))


def test_a_readout_of_the_wrong_size_is_refused():
    with pytest.raises(InputError, match="readout takes 5 features but the LSTM has hidden_size 4"):
        RecurrentClassifier.from_torch(nn.LSTM(3, 4), nn.Linear(5, 2))
    with pytest.raises(InputError, match="one logit per class"):
        RecurrentClassifier.from_torch(nn.LSTM(3, 4), nn.Linear(4, 1))
    with pytest.raises(InputError, match="must be a torch.nn.Linear"):
        RecurrentClassifier.from_torch(nn.LSTM(3, 4), nn.Sequential(nn.Linear(4, 2)))
    # a wrapped model whose decision is not (batch, num_classes)
    model = stepwise(Head(nn.GRU(3, 4, batch_first=True), n_classes=3), num_classes=5)
    with pytest.raises(InputError, match=r"must be logits of shape \(batch, class\) = \(2, 5\)"):
        model.run(torch.zeros(2, 4, 3))


def test_inputs_of_the_wrong_feature_size_are_refused():
    model = stepwise(Head(nn.LSTM(3, 4, batch_first=True)))
    with pytest.raises(InputError, match="'rnn' expects 3 feature"):
        model.run(np.zeros((2, 5, 4), dtype=np.float32))
    with pytest.raises(InputError, match="'rnn' expects 3 feature"):
        rw.record(model, np.zeros((2, 5, 4), dtype=np.float32), [0, 1])
    checked = stepwise(Head(nn.LSTM(3, 4, batch_first=True)), input_size=3)
    with pytest.raises(InputError, match=r"expects \(sample, time, 3\)"):
        evaluate(checked, np.zeros((2, 5, 4), dtype=np.float32), [0, 1])
    class Front(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj, self.rnn, self.out = nn.Linear(6, 3), nn.RNN(3, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x):
            return self.out(self.rnn(self.proj(x))[0][:, -1])

    with pytest.raises(InputError, match="forward failed on x of shape"):
        stepwise(Front()).run(torch.zeros(2, 5, 4))
    with pytest.raises(InputError, match="x has 4 feature"):
        RecurrentClassifier.from_torch(nn.RNN(3, 4), nn.Linear(4, 2)).run(np.zeros((2, 5, 4), dtype=np.float32))


def test_other_misuse_gets_clear_errors():
    class Tuple(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru, self.out = nn.GRU(3, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x):
            out, h = self.gru(x)
            return self.out(out[:, -1]), h

    x = torch.zeros(2, 5, 3)
    with pytest.raises(InputError, match="decision=lambda output: output"):
        stepwise(Tuple()).run(x)
    assert stepwise(Tuple(), decision=lambda out: out[0], num_classes=2).run(x).logits.shape == (2, 2)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru, self.out = nn.GRU(3, 3, batch_first=True), nn.Linear(3, 2)

        def forward(self, x):
            return self.out(self.gru(self.gru(x)[0])[0][:, -1])

    with pytest.raises(InputError, match="ran twice"):
        stepwise(Twice()).run(x)
    with pytest.raises(InputError, match="takes no second argument"):
        stepwise(Tuple(), decision=lambda out: out[0], num_classes=2).run(x, lengths=[5, 3])
    model = stepwise(Head(nn.GRU(3, 4, batch_first=True)))
    with pytest.raises(KnockoutError, match=r"not a recurrent submodule of this model; its recurrent submodules are \['rnn'\]"):
        model.run(x, knockout=Knockout(["encoder:l0.h1"]))
    with pytest.raises(KnockoutError, match="has 1 layer"):
        model.run(x, knockout=Knockout(["rnn:l1.h1"]))
    with pytest.raises(KnockoutError, match="no named recurrent submodules"):
        RecurrentClassifier("gru", 3, 4, 2, device="cpu").run(x, knockout=Knockout(["rnn:l0.h1"]))
    with pytest.raises(InputError, match="already wrapped"):
        stepwise(model)
    with pytest.raises(InputError, match="needs a torch.nn.Module"):
        stepwise("lstm")
