"""Synthetic tasks: shapes, determinism, and that each task's class information sits where documented."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import InputError
from relaywidgets.tasks import make_task, task_info, tasks


@pytest.mark.parametrize("name", ["delayed-cue", "temporal-xor", "frequency", "cue-hold"])
def test_shapes_dtypes_and_determinism(name):
    X, y = make_task(name, 50, 20, seed=3)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.shape[:2] == (50, 20) and y.shape == (50,)
    X2, y2 = make_task(name, 50, 20, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_task(name, 50, 20, seed=4)
    assert not np.array_equal(X, X3)
    assert name in tasks() and len(task_info(name)) > 50


def test_delayed_cue_class_is_in_the_cue_only():
    X, y = make_task("delayed-cue", 4000, 15, noise=0.0, seed=0)
    # Noise-free: the cue channel at steps 1 and 2 is exactly the label, nothing else before the delay.
    np.testing.assert_array_equal(X[:, 1].argmax(axis=1), y)
    np.testing.assert_array_equal(X[:, 1].max(axis=1), 1.0)
    np.testing.assert_array_equal(X[:, 0], 0.0)
    # After the cue, distractors are independent of the class: mean input per channel equal across classes.
    late = X[:, 3:].mean(axis=1)
    for c in range(4):
        np.testing.assert_allclose(late[y == c].mean(axis=0), late.mean(axis=0), atol=0.01)
    assert np.bincount(y).min() > 900


def test_temporal_xor_label_is_xor_of_the_two_cues():
    X, y = make_task("temporal-xor", 2000, 20, noise=0.0, seed=1)
    a = (X[:, 20 // 5, 0] > 0).astype(int)
    b = (X[:, 20 // 2, 0] > 0).astype(int)
    np.testing.assert_array_equal(y, a ^ b)
    # Each cue alone is independent of the class (balanced within each value of a).
    assert abs(y[a == 1].mean() - 0.5) < 0.05 and abs(y[a == 0].mean() - 0.5) < 0.05


def test_frequency_classes_have_their_frequency():
    X, y = make_task("frequency", 300, 200, n_classes=3, noise=0.0, seed=2)
    spectrum = np.abs(np.fft.rfft(X[:, :, 0], axis=1))
    peak = np.fft.rfftfreq(200)[spectrum.argmax(axis=1)]
    expected = np.linspace(0.05, 0.25, 3)[y]
    np.testing.assert_allclose(peak, expected, atol=0.006)


def test_cue_hold_has_one_class_pulse_at_a_random_step_2_to_7():
    X, y = make_task("cue-hold", 6000, 30, noise=0.0, seed=5)
    assert X.shape == (6000, 30, 3)
    # Noise-free: exactly one nonzero input per sequence, a pulse of height 1 on channel y.
    sample, step, channel = np.nonzero(X)
    np.testing.assert_array_equal(sample, np.arange(6000))
    np.testing.assert_array_equal(channel, y)
    np.testing.assert_array_equal(X[sample, step, channel], 1.0)
    # The cue step is uniform on 2..7 and independent of the class.
    assert set(step) == set(range(2, 8))
    counts = np.bincount(step, minlength=8)[2:]
    assert counts.min() > 850 and counts.max() < 1150
    for c in range(3):
        assert abs(step[y == c].mean() - step.mean()) < 0.15
    assert np.bincount(y).min() > 1850
    # With noise, the noise has the documented standard deviation away from the cue.
    Xn, yn = make_task("cue-hold", 2000, 30, seed=5)
    assert abs(float(Xn[:, 10:].std()) - 0.3) < 0.01


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("nope",), {}, "Unknown task 'nope'. Available tasks: 'delayed-cue', 'temporal-xor', 'frequency'"),
        (("temporal-xor",), {"n_classes": 3}, "exactly 2 classes"),
        (("delayed-cue", 0), {}, "'n_samples' parameter"),
        (("delayed-cue", 10, 2), {}, "seq_len >= 4"),
        (("cue-hold", 10, 9), {}, "seq_len >= 10"),
        (("frequency",), {"noise": -1.0}, "'noise' parameter"),
    ],
)
def test_bad_task_arguments(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        make_task(*args, **kwargs)
