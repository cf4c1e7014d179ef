"""Knockout semantics against a hand-written cell loop over torch's own cells, and exact clamping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relaywidgets import Knockout, RecurrentClassifier, record
from relaywidgets.knockout import compile_knockouts, evaluate, stack_knockouts

ARCHS = ["rnn", "lstm", "gru"]


def _model(arch, num_layers=1, seed=0, hidden=7):
    torch.manual_seed(seed)
    return RecurrentClassifier(arch, 3, hidden, 4, num_layers, device="cpu").eval()


def _x(n=11, T=9, seed=1):
    return torch.randn(n, T, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize(
    "times, value",
    [(None, "zero"), (slice(3, 7), "zero"), ([0, 4, -1], 0.75), (slice(5, None), -1.5)],
)
def test_knockout_equals_hand_written_loop(arch, times, value, reference_logits):
    model = _model(arch)
    x = _x()
    T = x.shape[1]
    spec = Knockout([1, 4], layer=0, times=times, value=value)
    steps = set(spec.time_indices(T).tolist())
    v = 0.0 if value == "zero" else value
    expected, hidden = reference_logits(model, x, {0: ([1, 4], steps, v, None)})
    with torch.no_grad():
        got = model.run(x, knockout=spec)
    torch.testing.assert_close(got.logits, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.hidden[0], hidden[0], atol=1e-5, rtol=0)
    # Clamping is exact: the knocked-out units hold the value itself at every step of the window.
    clamped = got.hidden[0][:, sorted(steps)][:, :, [1, 4]]
    assert torch.equal(clamped, torch.full_like(clamped, v))


@pytest.mark.parametrize("arch", ARCHS)
def test_two_layers_with_specs_on_both(arch, reference_logits):
    model = _model(arch, num_layers=2, seed=3)
    x = _x(seed=4)
    specs = [Knockout([0, 2], layer=0, times=slice(2, 6)), Knockout(["l1.h5"], value=0.3)]
    clamps = {0: ([0, 2], set(range(2, 6)), 0.0, None), 1: ([5], set(range(9)), 0.3, None)}
    expected, hidden = reference_logits(model, x, clamps)
    with torch.no_grad():
        got = model.run(x, knockout=specs)
    torch.testing.assert_close(got.logits, expected, atol=1e-5, rtol=0)
    for layer in (0, 1):
        torch.testing.assert_close(got.hidden[layer], hidden[layer], atol=1e-5, rtol=0)


@pytest.mark.parametrize("value", ["zero", 0.4])
def test_lstm_clamp_cell_equals_hand_written_loop(value, reference_logits):
    model = _model("lstm", seed=5)
    x = _x(seed=6)
    v = 0.0 if value == "zero" else value
    spec = Knockout([3], times=slice(1, 8), value=value, clamp_cell=True)
    expected, hidden = reference_logits(model, x, {0: ([3], set(range(1, 8)), v, v)})
    with torch.no_grad():
        got = model.run(x, knockout=spec)
    torch.testing.assert_close(got.logits, expected, atol=1e-5, rtol=0)
    assert torch.equal(got.cell[0][:, 1:8, 3], torch.full((11, 7), v))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("value", ["mean", "median"])
def test_reference_values_are_the_recordings_mean_and_median(arch, value, reference_logits):
    model = _model(arch, seed=7)
    x = _x(seed=8)
    y = np.arange(11) % 4
    rec = record(model, x.numpy(), y)
    agg = np.nanmean if value == "mean" else np.nanmedian
    truth_h = np.array([agg(rec.hidden.sel(node=f"l0.h{u}").values) for u in (0, 6)], dtype=np.float32)
    clamp_cell = arch == "lstm"
    truth_c = (
        np.array([agg(rec.cell.sel(node=f"l0.h{u}").values) for u in (0, 6)], dtype=np.float32) if clamp_cell else None
    )
    spec = Knockout([0, 6], value=value, reference=rec, clamp_cell=clamp_cell)
    np.testing.assert_allclose(spec.resolved_values("hidden"), truth_h, rtol=1e-6)
    expected, _ = reference_logits(model, x, {0: ([0, 6], set(range(9)), truth_h, truth_c)})
    with torch.no_grad():
        torch.testing.assert_close(model(x, knockout=spec), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("value", ["zero", 2.0])
def test_last_layer_fully_knocked_out_reads_a_constant_state(arch, value):
    model = _model(arch, num_layers=2, seed=9)
    x = _x(seed=10)
    v = 0.0 if value == "zero" else value
    by_hand = model.readout.bias.detach() + v * model.readout.weight.detach().sum(dim=1)
    everything = Knockout(list(range(7)), layer=1, value=value)
    ds = evaluate(model, x.numpy(), np.zeros(11, dtype=np.int64), knockout=everything)
    np.testing.assert_allclose(ds.logits.values, np.repeat(by_hand.numpy()[:, None], 11, axis=1), atol=1e-6)
    assert (ds.prediction.values == int(by_hand.argmax())).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_no_knockout_is_the_baseline_exactly(arch):
    model = _model(arch, seed=11)
    x = _x(seed=12)
    y = np.arange(11) % 4
    with torch.no_grad():
        logits = model(x).numpy()
    intact = evaluate(model, x.numpy(), y)
    assert np.array_equal(intact.logits.values, logits.T)
    with pytest.warns(UserWarning, match="empty node set"):
        empty = evaluate(model, x.numpy(), y, knockout=Knockout([]))
    assert np.array_equal(empty.logits.values, intact.logits.values)
    assert float(intact.accuracy) == float(np.mean(logits.argmax(1) == y))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("times", [None, slice(4, None), [1, 3]])
def test_stacked_sets_equal_separate_runs(arch, times):
    """Masks stacked along the batch give each block exactly its own knockout (the relay test's engine)."""
    model = _model(arch, num_layers=2, seed=13)
    x = _x(n=5, seed=14)
    sets = [
        [Knockout([0, 1], times=times)],
        None,
        [Knockout([6], layer=1, times=times, value=0.5)],
        [Knockout([2], times=times), Knockout([2, 3], layer=1, times=times)],
    ]
    plan = stack_knockouts(sets, 5, seq_len=9, hidden_size=7, num_layers=2, arch=arch)
    assert plan.masks[0].shape == (9, 20, 7)
    with torch.no_grad():
        stacked = model(x.repeat(len(sets), 1, 1), knockout=plan)
        for j, ks in enumerate(sets):
            alone = model(x, knockout=ks)
            torch.testing.assert_close(stacked[j * 5 : (j + 1) * 5], alone, atol=1e-6, rtol=0)


def test_stacked_sets_with_different_windows_are_materialised():
    model = _model("lstm", seed=15)
    x = _x(n=3, seed=16)
    sets = [[Knockout([0], times=slice(0, 3), clamp_cell=True)], [Knockout([1, 2], times=[5, 6], value=1.0)]]
    plan = stack_knockouts(sets, 3, seq_len=9, hidden_size=7, num_layers=1, arch="lstm")
    assert plan.steps[0] == frozenset({0, 1, 2, 5, 6})
    with torch.no_grad():
        stacked = model(x.repeat(2, 1, 1), knockout=plan)
        for j, ks in enumerate(sets):
            torch.testing.assert_close(stacked[j * 3 : (j + 1) * 3], model(x, knockout=ks), atol=1e-6, rtol=0)


def test_batch_shaped_plan_in_evaluate_is_sliced_per_batch():
    model = _model("gru", seed=17)
    x = _x(n=6, seed=18)
    y = np.arange(6) % 4
    sets = [[Knockout([0, 3])], [Knockout([5], value=0.9)]]
    plan = stack_knockouts(sets, 3, seq_len=9, hidden_size=7, num_layers=1, arch="gru")
    whole = evaluate(model, x.numpy(), y, knockout=plan)
    chunked = evaluate(model, x.numpy(), y, knockout=plan, batch_size=4)
    np.testing.assert_allclose(chunked.logits.values, whole.logits.values, atol=1e-6)
    first = evaluate(model, x[:3].numpy(), y[:3], knockout=sets[0])
    np.testing.assert_allclose(whole.logits.values[:, :3], first.logits.values, atol=1e-6)


def test_plan_steps_and_first_step():
    plan = compile_knockouts(
        [Knockout([1], times=slice(4, 6)), Knockout([0], layer=1, times=[7])],
        seq_len=9, hidden_size=3, num_layers=2, arch="rnn",
    )
    assert plan.first_step == 4
    assert plan.active_steps(0) == frozenset({4, 5}) and plan.active_steps(1) == frozenset({7})
    assert plan.step_active(1, 7) and not plan.step_active(1, 4)


@pytest.mark.parametrize("arch", ARCHS)
def test_autograd_path_equals_in_place_path(arch):
    """With gradients on, the model steps out of place; both paths give the same states and logits."""
    model = _model(arch, num_layers=2, seed=19)
    x = _x(seed=20)
    ko = [Knockout([1], times=slice(2, 6), clamp_cell=arch == "lstm"), Knockout([0, 3], layer=1, value=0.2)]
    with torch.no_grad():
        fast = model.run(x, knockout=ko)
        full = model.run(x)
        initial = ([h[:, 3] for h in full.hidden], [c[:, 3] for c in full.cell] if full.cell else None)
        resumed_fast = model.run(x, knockout=ko, start=4, initial=initial, keep_states=False)
    tracked = model.run(x, knockout=ko)
    resumed = model.run(x, knockout=ko, start=4, initial=initial, keep_states=False)
    assert tracked.logits.requires_grad
    torch.testing.assert_close(tracked.logits.detach(), fast.logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(resumed.logits.detach(), resumed_fast.logits, atol=1e-6, rtol=0)
    for a, b in zip(tracked.hidden, fast.hidden):
        torch.testing.assert_close(a.detach(), b, atol=1e-6, rtol=0)
    if arch == "lstm":
        torch.testing.assert_close(tracked.cell[0].detach(), fast.cell[0], atol=1e-6, rtol=0)
        assert resumed_fast.cell[1].shape == (11, 1, 7)
        torch.testing.assert_close(resumed_fast.cell[1], resumed.cell[1].detach(), atol=1e-6, rtol=0)
    tracked.logits.sum().backward()
    grad = model.rnn.weight_hh_l0.grad
    assert grad is not None and torch.isfinite(grad).all()
