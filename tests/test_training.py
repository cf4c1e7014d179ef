"""Training: it learns, it is seeded, it stops early, and it rejects bad data with clear messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from relaywidgets import InputError, RecurrentClassifier, make_task, train
from relaywidgets.training import ChanceAccuracyWarning


def test_trained_model_solves_the_small_task(trained_lstm, cue_data):
    _, _, X_test, y_test = cue_data
    accuracy = float((trained_lstm.predict(X_test) == y_test).mean())
    assert accuracy > 0.9
    assert trained_lstm.metadata["seed"] == 0


def test_training_is_deterministic_under_seed(cue_data):
    X, y, _, _ = cue_data
    weights = []
    for _ in range(2):
        model = RecurrentClassifier("gru", X.shape[2], 6, 4, device="cpu", seed=123)
        history = train(model, X[:200], y[:200], epochs=3, seed=7, progress=False)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)
    assert len(history.train_loss) == 3 and len(history.val_accuracy) == 3
    assert history.to_dict()["best_epoch"] == history.best_epoch


def test_early_stopping_keeps_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5, 2)).astype(np.float32)
    y = rng.integers(0, 2, 120)  # labels are noise: validation loss cannot keep improving
    model = RecurrentClassifier("rnn", 2, 16, 2, device="cpu")
    history = train(model, X, y, epochs=200, lr=0.05, patience=3, seed=0, progress=False)
    assert history.stopped_early
    assert len(history.val_loss) == history.best_epoch + 1 + 3
    assert history.val_loss[history.best_epoch] == min(history.val_loss)


def test_variable_length_training_runs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 8, 3)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    lengths = rng.integers(1, 9, 64)
    model = RecurrentClassifier("lstm", 3, 4, 3, device="cpu")
    history = train(model, X, y, lengths=lengths, epochs=2, progress=False)
    assert len(history.train_loss) == 2


@pytest.mark.parametrize(
    "X, y, kwargs, match",
    [
        (np.zeros((10, 5)), np.zeros(10, int), {}, "3-D"),
        (np.full((10, 5, 2), np.inf), np.zeros(10, int), {}, "NaN or infinite"),
        (np.zeros((10, 5, 2)), np.zeros(9, int), {}, "10 samples but y has 9"),
        (np.zeros((10, 5, 2)), np.full(10, 3), {}, "out of range \\[3\\]; labels must lie in 0 .. 2"),
        (np.zeros((10, 5, 2)), np.zeros(10, float), {}, "integer class labels; got dtype float64"),
        (np.zeros((10, 5, 2)), np.array(["a"] * 10), {}, "integer class labels"),
        (np.zeros((0, 5, 2)), np.zeros(0, int), {}, "empty"),
        (np.zeros((10, 5, 2)), np.zeros(10, int), {"lengths": np.full(10, 6)}, "only 5 steps"),
        (np.zeros((10, 5, 2)), np.zeros(10, int), {"val_fraction": 1.5}, "'val_fraction' parameter"),
        (np.zeros((10, 5, 2)), np.zeros(10, int), {"epochs": 0}, "'epochs' parameter"),
        (np.zeros((10, 5, 2)), np.zeros(10, int), {"lr_patience": 0}, "'lr_patience' parameter"),
        (np.zeros((10, 5, 2)), np.zeros(10, int), {"lr_factor": 1.5}, "'lr_factor' parameter"),
    ],
)
def test_bad_training_input(X, y, kwargs, match):
    model = RecurrentClassifier("rnn", 2, 3, 3, device="cpu")
    with pytest.raises(InputError, match=match):
        train(model, X, y, progress=False, **kwargs)


def test_constructor_seed_fixes_initial_weights_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = RecurrentClassifier("lstm", 2, 5, 3, device="cpu", seed=42)
    after = torch.rand(1)
    b = RecurrentClassifier("lstm", 2, 5, 3, device="cpu", seed=42)
    c = RecurrentClassifier("lstm", 2, 5, 3, device="cpu", seed=43)
    torch.testing.assert_close(before, after)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
        assert not torch.equal(pa, pc)
    assert a.metadata["seed"] == 42


def test_warns_when_it_ends_at_chance(cue_data):
    X, y, _, _ = cue_data
    shuffled = np.random.default_rng(0).permutation(y)  # the inputs say nothing about these labels
    model = RecurrentClassifier("lstm", X.shape[2], 8, 4, device="cpu", seed=0)
    with pytest.warns(ChanceAccuracyWarning, match="no better than chance .* Try more epochs .* another learning rate"):
        history = train(model, X, shuffled, epochs=30, seed=0, progress=False)
    assert history.chance_accuracy == pytest.approx(0.25, abs=0.1)


def test_no_warning_when_it_learns():
    X, y = make_task("delayed-cue", 400, 8, seed=0)
    model = RecurrentClassifier("gru", 4, 8, 4, device="cpu", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ChanceAccuracyWarning)
        history = train(model, X, y, epochs=60, seed=0, progress=False)
    assert history.val_accuracy[history.best_epoch] > 0.9
    assert history.left_chance_epoch is not None and history.left_chance_epoch < history.best_epoch


def test_does_not_stop_or_lower_the_rate_on_the_plateau_at_chance():
    # Constant inputs: the network can only learn the class frequencies, so its validation loss stays at
    # the chance loss. Early stopping (patience 1) and the schedule must not act there.
    y = np.random.default_rng(3).integers(0, 3, 300)
    X = np.zeros((300, 6, 2), dtype=np.float32)
    model = RecurrentClassifier("lstm", 2, 8, 3, device="cpu", seed=0)
    with pytest.warns(ChanceAccuracyWarning):
        history = train(model, X, y, epochs=20, patience=1, lr_patience=1, seed=0, progress=False)
    assert len(history.train_loss) == 20 and not history.stopped_early
    assert history.left_chance_epoch is None
    assert history.lr == [train.__kwdefaults__["lr"]] * 20  # the default lr, never lowered on the plateau


def test_learning_rate_halves_when_validation_loss_stalls():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5, 2)).astype(np.float32)
    y = rng.integers(0, 2, 120)  # noise labels: the validation loss rises once the network overfits
    model = RecurrentClassifier("rnn", 2, 16, 2, device="cpu")
    with pytest.warns(ChanceAccuracyWarning):
        history = train(model, X, y, epochs=40, lr=0.05, patience=8, lr_patience=2, seed=0, progress=False)
    assert history.left_chance_epoch is not None
    assert history.lr[0] == 0.05 and min(history.lr) <= 0.025
    assert all(b in (a, a * 0.5) for a, b in zip(history.lr, history.lr[1:]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": float("inf")}, "'lr' parameter of train must be a float in \\(0.0, inf\\)"),
        ({"lr": float("nan")}, "'lr' parameter"),
        ({"lr": 0}, "'lr' parameter"),
        ({"clip_grad": 0}, "'clip_grad' parameter of train must be a float in \\(0.0, inf\\)"),
        ({"clip_grad": float("inf")}, "'clip_grad' parameter"),
        ({"seed": -1}, "'seed' parameter of train must be an int in \\[0, inf\\)"),
        ({"seed": None}, "'seed' parameter"),
        ({"seed": 1.5}, "'seed' parameter"),
        ({"epochs": True}, "'epochs' parameter"),
        ({"weight_decay": -1.0}, "'weight_decay' parameter"),
    ],
)
def test_settings_that_would_silently_not_train_are_refused(kwargs, match):
    model = RecurrentClassifier("gru", 2, 4, 2, device="cpu", seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InputError, match=match):
        train(model, np.zeros((30, 4, 2), np.float32), np.arange(30) % 2, progress=False, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_small_data_trains_on_every_sequence_without_a_noisy_validation_split():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4, 2)).astype(np.float32)
    y = (X[:, 0, 0] > 0).astype(int)
    model = RecurrentClassifier("gru", 2, 4, 2, device="cpu", seed=0)
    history = train(model, X, y, epochs=5, seed=0, progress=False)  # 0.2 of 50 would hold out only 10
    assert history.val_loss == [] and history.best_epoch == 4 and not history.stopped_early
    big = RecurrentClassifier("gru", 2, 4, 2, device="cpu", seed=0)
    X2 = np.concatenate([X, X]).astype(np.float32)
    history2 = train(big, X2, np.concatenate([y, y]), epochs=2, seed=0, progress=False)  # 20 held out
    assert len(history2.val_loss) == 2
