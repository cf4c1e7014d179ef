"""Recording: the contract, exact values against the model's own states, NaN padding, netCDF round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from relaywidgets import (
    Knockout,
    RecordingError,
    RecurrentClassifier,
    check_recording,
    load_recording,
    record,
    save_recording,
)


@pytest.fixture(scope="module")
def two_layer_lstm():
    torch.manual_seed(0)
    return RecurrentClassifier("lstm", 3, 5, 4, num_layers=2, device="cpu")


def test_contract_and_values(two_layer_lstm):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(11, 7, 3)).astype(np.float32)
    y = rng.integers(0, 4, 11)
    rec = record(two_layer_lstm, X, y, class_names=["a", "b", "c", "d"], batch_size=4, task="unit-test", seed=5)
    check_recording(rec)
    assert dict(rec.hidden.sizes) == {"node": 10, "time": 7, "sample": 11}
    assert rec.hidden.dtype == np.float32 and rec.cell.dtype == np.float32
    assert list(rec.node.values[:2]) == ["l0.h0", "l0.h1"] and rec.node.values[-1] == "l1.h4"
    np.testing.assert_array_equal(rec.layer.values, [0] * 5 + [1] * 5)
    np.testing.assert_array_equal(rec.unit.values, list(range(5)) * 2)
    assert list(rec.class_name.values) == ["a", "b", "c", "d"]
    assert rec.attrs["task"] == "unit-test" and rec.attrs["seed"] == 5 and rec.attrs["arch"] == "lstm"
    with torch.no_grad():
        states = two_layer_lstm.run(torch.from_numpy(X))
    # hidden[l1.h3, t, s] is layer 1's unit 3 at step t of sample s.
    # batch_size=4 vs one batch of 11: BLAS may sum in another order, hence the float tolerance.
    np.testing.assert_allclose(rec.hidden.sel(node="l1.h3").values, states.hidden[1][:, :, 3].numpy().T, atol=1e-6)
    np.testing.assert_allclose(rec.cell.sel(node="l0.h2").values, states.cell[0][:, :, 2].numpy().T, atol=1e-6)
    np.testing.assert_allclose(rec.logits.values, states.logits.numpy().T, atol=1e-6)
    np.testing.assert_array_equal(rec.prediction.values, states.logits.argmax(1).numpy())
    np.testing.assert_array_equal(rec.input.values, X.transpose(2, 1, 0))
    np.testing.assert_array_equal(rec.label.values, y)


def test_padding_is_nan_and_readout_uses_last_valid_step(two_layer_lstm):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 9, 3)).astype(np.float32)
    lengths = np.array([9, 1, 4, 9, 2, 5])
    rec = record(two_layer_lstm, X, np.zeros(6, int), lengths)
    for s, n in enumerate(lengths):
        assert np.isfinite(rec.hidden.isel(sample=s, time=slice(0, n))).all()
        assert np.isnan(rec.hidden.isel(sample=s, time=slice(n, None))).all()
        assert np.isnan(rec.input.isel(sample=s, time=slice(n, None))).all()
    expected = two_layer_lstm(X, lengths=lengths).detach().numpy().T
    np.testing.assert_allclose(rec.logits.values, expected, atol=1e-6)
    np.testing.assert_array_equal(rec.length.values, lengths)


def test_recording_with_a_knockout_shows_clamped_units(two_layer_lstm):
    X = np.random.default_rng(2).normal(size=(4, 6, 3)).astype(np.float32)
    rec = record(two_layer_lstm, X, np.zeros(4, int), knockout=Knockout(["l1.h2"], times=slice(3, None), value=0.5))
    np.testing.assert_array_equal(rec.hidden.sel(node="l1.h2", time=slice(3, None)).values, 0.5)
    assert (rec.hidden.sel(node="l1.h2", time=slice(0, 2)).values != 0.5).all()


def test_netcdf_round_trip_is_exact(tmp_path, two_layer_lstm):
    X = np.random.default_rng(3).normal(size=(8, 5, 3)).astype(np.float32)
    rec = record(two_layer_lstm, X, np.arange(8) % 4, lengths=np.array([5, 3, 5, 1, 2, 5, 4, 5]))
    path = save_recording(rec, tmp_path / "sub" / "rec.nc")
    loaded = load_recording(path)
    xr.testing.assert_identical(rec, loaded)
    assert loaded.hidden.dtype == np.float32 and loaded.node.dtype.kind == "U"


def test_check_recording_names_the_problem(two_layer_lstm):
    rec = record(two_layer_lstm, np.zeros((3, 4, 3), np.float32), np.zeros(3, int))
    with pytest.raises(RecordingError, match="must be an xarray.Dataset; got dict"):
        check_recording({})
    with pytest.raises(RecordingError, match="not a relaywidgets recording"):
        check_recording(xr.Dataset())
    with pytest.raises(RecordingError, match="no 'prediction' variable"):
        check_recording(rec.drop_vars("prediction"))
    with pytest.raises(RecordingError, match="'hidden' has dims \\('time', 'node', 'sample'\\)"):
        check_recording(rec.assign(hidden=rec.hidden.transpose("time", "node", "sample")))
    with pytest.raises(RecordingError, match="must hold the 'cell' variable"):
        check_recording(rec.drop_vars("cell"))
    # provenance attributes are optional for analysis (issue 11); structural ones must agree with the data
    bare = rec.drop_attrs(deep=False).assign_attrs(arch="lstm")
    assert check_recording(bare) is bare
    with pytest.raises(RecordingError, match="num_classes=7 disagrees with its 'class' dimension of size 4"):
        check_recording(rec.assign_attrs(num_classes=7))
    with pytest.raises(RecordingError, match="'prediction' values must lie in 0 .. 3"):
        check_recording(rec.assign(prediction=rec.prediction + 10))


def test_loading_foreign_files_fails_clearly(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RecordingError, match="is not a netCDF recording"):
        load_recording(text)
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(RecordingError, match="not a relaywidgets recording"):
        load_recording(other)
    with pytest.raises(RecordingError, match="No recording file"):
        load_recording(tmp_path / "missing.nc")


def test_saving_never_clobbers_existing_file_on_failure(tmp_path, two_layer_lstm):
    path = tmp_path / "rec.nc"
    path.write_bytes(b"precious")
    with pytest.raises(RecordingError):
        save_recording(xr.Dataset(), path)
    assert path.read_bytes() == b"precious"


def test_record_never_modifies_the_callers_arrays(two_layer_lstm):
    X = np.random.default_rng(4).normal(size=(3, 5, 3)).astype(np.float32)
    before = X.copy()
    record(two_layer_lstm, X, np.zeros(3, int), lengths=[2, 5, 1])
    np.testing.assert_array_equal(X, before)


# ---------------------------------------------------------------------------------------------- your own model
class _TokenClassifier(torch.nn.Module):
    """An ordinary PyTorch classifier: embedding, LSTM, MLP head; packs when given lengths."""

    def __init__(self, vocab: int = 5, hidden: int = 6, n_classes: int = 3) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 4)
        self.lstm = torch.nn.LSTM(4, hidden, batch_first=True)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(hidden, 12), torch.nn.ReLU(), torch.nn.Linear(12, n_classes))

    def forward(self, tokens, lengths=None):
        emb = self.embed(tokens)
        if lengths is None:
            return self.mlp(self.lstm(emb)[0][:, -1])
        packed = torch.nn.utils.rnn.pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return self.mlp(self.lstm(packed)[1][0][-1])


@pytest.fixture(scope="module")
def token_data():
    """A small trained token classifier: the class is the token at step 1 (mod 3)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(240, 8))
    y = (tokens[:, 1] % 3).astype(np.int64)
    net = _TokenClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    xt, yt = torch.from_numpy(tokens), torch.from_numpy(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: one thread is faster and does not fight other processes
    try:
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt), yt).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return net, tokens, y


def test_recording_of_an_embedding_lstm_mlp_model_passes_the_contract_and_every_analysis(token_data):
    from relaywidgets import find_relays, stepwise
    from relaywidgets.knockout import KnockoutSession, evaluate
    from relaywidgets.widgets import explore
    from relaywidgets.widgets.state import ExplorerState

    net, tokens, y = token_data
    model = stepwise(net)
    rec = record(model, tokens, y)
    check_recording(rec)
    assert dict(rec.hidden.sizes) == {"node": 6, "time": 8, "sample": 240}
    assert list(rec.node.values[:2]) == ["lstm:l0.h0", "lstm:l0.h1"]
    assert set(rec.module.values.tolist()) == {"lstm"} and set(rec.module_layer.values.tolist()) == {0}
    assert rec.attrs["input_kind"] == "tokens" and rec.sizes["feature"] == 1
    np.testing.assert_array_equal(rec.input.values[0].T, tokens)
    with torch.no_grad():
        expected = net(torch.from_numpy(tokens))
        emb = net.embed(torch.from_numpy(tokens))
        h = net.lstm(emb)[0]
    np.testing.assert_allclose(rec.logits.values.T, expected.numpy(), atol=1e-5, rtol=1e-5)  # float32 rounding
    np.testing.assert_allclose(rec.hidden.transpose("sample", "time", "node").values, h.numpy(), atol=1e-5)
    assert np.isfinite(rec.cell.values).all()
    assert float((rec.prediction == rec.label).mean()) > 0.9  # trained: the relays below mean something

    relays = find_relays(rec, concepts=[0, 1], times=[1, 7], n_perm=10, progress=False)
    assert relays.is_relay.sum() > 0
    assert set(relays.node.values.tolist()) == set(model.node_labels)

    ko = Knockout.from_relays(relays, concept=1, time=7, significant_only=False)
    assert ko.nodes and ko.module == "lstm" and all(label.startswith("lstm:l0.h") for label in ko.labels)
    knocked = evaluate(model, tokens, y, knockout=ko)
    assert float(knocked.accuracy) <= float(evaluate(model, tokens, y).accuracy)
    session = KnockoutSession(model, tokens, y, times=slice(2, None))
    assert session.set(list(ko.labels)).accuracy == float(
        evaluate(model, tokens, y, knockout=Knockout(list(ko.labels), times=slice(2, None))).accuracy
    )

    # the explorer: its state reuses the recording's inputs (token ids) for knockouts
    state = ExplorerState(rec, relays, model=model)
    assert state.baseline_accuracy == pytest.approx(float((rec.prediction == rec.label).mean()))
    state.knocked_out = ("lstm:l0.h1", "lstm:l0.h4")
    assert state.accuracy == float(evaluate(model, tokens, y, knockout=Knockout(["lstm:l0.h1", "lstm:l0.h4"])).accuracy)
    state.random_control(size=None, seed=0)
    assert all(label.startswith("lstm:l0.h") for label in state.knocked_out)
    ex = explore(model, tokens, y, n_perm=0, times=[7], progress=False)
    assert ex.state.node_labels == model.node_labels


def test_record_wraps_an_unwrapped_model_and_reads_lengths_and_decisions(token_data):
    net, tokens, y = token_data
    lengths = np.random.default_rng(3).integers(2, 9, len(y))
    rec = record(net, tokens, y, lengths, batch_size=50)
    check_recording(rec)
    assert type(net.lstm) is torch.nn.LSTM  # wrapped on a copy
    with torch.no_grad():
        expected = net(torch.from_numpy(tokens), torch.from_numpy(lengths))
    np.testing.assert_allclose(rec.logits.values.T, expected.numpy(), atol=1e-5, rtol=1e-5)  # float32 rounding
    past = np.arange(8)[:, None] >= lengths[None, :]
    assert np.isnan(rec.hidden.values[:, past]).all() and np.isfinite(rec.hidden.values[:, ~past]).all()

    class TwoHeads(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, tokens):
            return {"aux": torch.zeros(len(tokens)), "logits": self.inner(tokens)}

    rec2 = record(TwoHeads(net), tokens, y, decision=lambda out: out["logits"])
    assert list(rec2.node.values[:1]) == ["inner.lstm:l0.h0"]
    with pytest.raises(Exception, match="decision="):
        record(TwoHeads(net), tokens, y)


def test_record_refuses_recurrent_modules_off_the_input_time_axis():
    class Strided(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru, self.out = torch.nn.GRU(2, 3, batch_first=True), torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.out(self.gru(x[:, ::2])[0][:, -1])  # steps every other input

    from relaywidgets import InputError

    with pytest.raises(InputError, match="ran over 3 step.*input has 6"):
        record(Strided(), np.zeros((4, 6, 2), dtype=np.float32), [0, 1, 0, 1])
    with pytest.raises(InputError, match="found no recurrent layer"):
        record(torch.nn.Linear(3, 2), np.zeros((4, 6, 3), dtype=np.float32), [0, 1, 0, 1])
