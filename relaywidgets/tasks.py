"""Synthetic sequence-classification tasks with a known generative process.

Each task is a function ``(n_samples, seq_len, rng, n_classes, noise) -> (X, y)``; :func:`make_task`
validates the arguments, seeds the generator and returns float32 inputs ``[sample, time, feature]`` and
int64 labels ``[sample]``. Every generative process is spelled out in the task's docstring, because the
relay analysis is easiest to teach when one knows where the class information enters.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._resources import check_memory
from ._validation import check_int, is_int
from .errors import InputError

__all__ = ["make_task", "tasks", "task_info", "DEFAULT_TASK"]

DEFAULT_TASK = "delayed-cue"


def _delayed_cue(n: int, T: int, rng: np.random.Generator, n_classes: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """delayed-cue: hold a class-coded cue in memory through distractor noise.

    Features: ``n_classes`` channels. Label ``y`` is uniform over the classes. At the cue steps
    ``t = 1, 2`` channel ``y`` carries a pulse of height 1. Every step of every channel carries Gaussian
    noise of standard deviation ``noise``; after the cue, each step has probability 0.2 of a distractor
    pulse of height 0.5 on a uniformly chosen channel. The class is decided by the cue alone, so the
    network has to store it from step 2 to the last step.
    """
    if T < 4:
        raise InputError(f"delayed-cue needs seq_len >= 4 (cue at steps 1-2, then a delay); got {T}.")
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(0.0, noise, size=(n, T, n_classes))
    X[np.arange(n), 1, y] += 1.0
    X[np.arange(n), 2, y] += 1.0
    distract = rng.random((n, T)) < 0.2
    distract[:, :3] = False
    s_idx, t_idx = np.nonzero(distract)
    X[s_idx, t_idx, rng.integers(0, n_classes, size=s_idx.size)] += 0.5
    return X, y


def _temporal_xor(n: int, T: int, rng: np.random.Generator, n_classes: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """temporal-xor: the class is the XOR of two binary cues given at different times.

    Features: 2 channels, ``signal`` and ``marker``. Two bits ``a`` and ``b`` are drawn uniformly; at
    step ``t1 = seq_len // 5`` the signal channel carries ``2a - 1`` (±1) and at step
    ``t2 = seq_len // 2`` it carries ``2b - 1``; the marker channel is 1 at both steps. Both channels
    carry Gaussian noise of standard deviation ``noise`` everywhere. Label ``y = a XOR b``: neither
    cue alone says anything about the class, so the network must combine information across time.
    """
    if n_classes != 2:
        raise InputError(f"temporal-xor has exactly 2 classes (the XOR of two bits); got n_classes={n_classes}.")
    if T < 5:
        raise InputError(f"temporal-xor needs seq_len >= 5 so that the two cues fall on different steps; got {T}.")
    t1, t2 = T // 5, T // 2
    a = rng.integers(0, 2, size=n)
    b = rng.integers(0, 2, size=n)
    X = rng.normal(0.0, noise, size=(n, T, 2))
    X[:, t1, 0] += 2 * a - 1
    X[:, t2, 0] += 2 * b - 1
    X[:, [t1, t2], 1] += 1.0
    return X, a ^ b


def _frequency(n: int, T: int, rng: np.random.Generator, n_classes: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """frequency: the class is the frequency of a noisy oscillation; evidence accumulates over time.

    Features: 1 channel. Class ``c`` has frequency ``f_c``, linearly spaced from 0.05 to 0.25 cycles per
    step. Each sequence is ``A sin(2π f_y t + φ) + ε_t`` with amplitude ``A ~ U(0.8, 1.2)``, phase
    ``φ ~ U(0, 2π)`` and Gaussian noise ``ε_t`` of standard deviation ``noise``. A single step says
    little; the longer the network watches, the surer the class.
    """
    if T < 8:
        raise InputError(f"frequency needs seq_len >= 8 to show an oscillation; got {T}.")
    freqs = np.linspace(0.05, 0.25, n_classes)
    y = rng.integers(0, n_classes, size=n)
    amp = rng.uniform(0.8, 1.2, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    t = np.arange(T)[None, :]
    X = amp * np.sin(2 * np.pi * freqs[y][:, None] * t + phase) + rng.normal(0.0, noise, size=(n, T))
    return X[:, :, None], y


def _cue_hold(n: int, T: int, rng: np.random.Generator, n_classes: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """cue-hold: a class-coded cue arrives at a random step and must be held to the end.

    Features: ``n_classes`` channels. Label ``y`` is uniform over the classes. The cue step ``t_c`` is
    drawn uniformly from ``2 .. 7``, independently of ``y``; at ``t_c`` channel ``y`` carries a pulse of
    height 1, and nothing else marks the cue. Every step of every channel carries Gaussian noise of
    standard deviation ``noise``. Because the cue time varies, the network must detect the pulse
    wherever it falls and then hold the class to the last step; with ``seq_len = 30`` that is a delay of
    22 to 27 steps. Networks often sit at chance for several epochs before they find the cue.
    """
    if T < 10:
        raise InputError(f"cue-hold needs seq_len >= 10 (cue at a random step 2-7, then a delay); got {T}.")
    y = rng.integers(0, n_classes, size=n)
    cue_step = rng.integers(2, 8, size=n)
    X = rng.normal(0.0, noise, size=(n, T, n_classes))
    X[np.arange(n), cue_step, y] += 1.0
    return X, y


_TASKS: dict[str, tuple[Callable, int | None, float]] = {
    # name: (generator, default n_classes, default noise)
    "delayed-cue": (_delayed_cue, 4, 0.3),
    "temporal-xor": (_temporal_xor, 2, 0.2),
    "frequency": (_frequency, 3, 0.3),
    "cue-hold": (_cue_hold, 3, 0.3),
}


def tasks() -> dict[str, str]:
    """Return the available task names with the first line of their description."""
    return {name: fn.__doc__.strip().splitlines()[0] for name, (fn, _, _) in _TASKS.items()}


def task_info(name: str) -> str:
    """Return the full description of the generative process of task ``name``."""
    _check_name(name)
    return " ".join(_TASKS[name][0].__doc__.split())


def _check_name(name: str) -> None:
    if not isinstance(name, str) or name not in _TASKS:
        raise InputError(
            f"Unknown task {name!r}. Available tasks: {', '.join(repr(t) for t in _TASKS)}."
        )


def make_task(
    name: str = DEFAULT_TASK,
    n_samples: int = 2000,
    seq_len: int = 20,
    *,
    n_classes: int | None = None,
    noise: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a synthetic sequence-classification data set.

    Parameters
    ----------
    name : {"delayed-cue", "temporal-xor", "frequency", "cue-hold"}
        The task; each one's generative process is documented in :func:`task_info`.
    n_samples : int
        Number of sequences.
    seq_len : int
        Steps per sequence.
    n_classes : int, optional
        Number of classes (delayed-cue: 4, temporal-xor: 2 (fixed), frequency: 3, cue-hold: 3 by default).
    noise : float, optional
        Standard deviation of the Gaussian input noise (task-specific default).
    seed : int
        Seed of the generator; the same arguments always give the same data.

    Returns
    -------
    X : ndarray of float32, shape (n_samples, seq_len, feature)
    y : ndarray of int64, shape (n_samples,)

    Examples
    --------
    >>> from relaywidgets.tasks import make_task
    >>> X, y = make_task("delayed-cue", n_samples=8, seq_len=10, seed=1)
    >>> X.shape, X.dtype, y.dtype
    ((8, 10, 4), dtype('float32'), dtype('int64'))
    """
    _check_name(name)
    fn, default_classes, default_noise = _TASKS[name]
    n_classes = default_classes if n_classes is None else n_classes
    noise = default_noise if noise is None else noise
    for pname, value, low in (("n_samples", n_samples, 1), ("seq_len", seq_len, 1), ("n_classes", n_classes, 2)):
        if not is_int(value) or value < low:
            raise InputError(f"The {pname!r} parameter of make_task must be an int in [{low}, inf). Got {value!r} instead.")
    if not isinstance(noise, (int, float, np.floating)) or not np.isfinite(noise) or noise < 0:
        raise InputError(f"The 'noise' parameter of make_task must be a float in [0, inf). Got {noise!r} instead.")
    seed = check_int(seed, "seed", "make_task", 0)  # numpy refuses negative or float seeds with raw errors
    # Estimate before allocating (a raw MemoryError otherwise): the generators build float64 (sample, time, feature)
    # arrays with up to n_classes + 2 features and a few temporaries of that size, then a float32 copy.
    check_memory(
        4.0 * 8 * n_samples * seq_len * (n_classes + 2),
        f"make_task({name!r}, n_samples={n_samples}, seq_len={seq_len})",
        "Pass fewer samples or shorter sequences.",
    )
    rng = np.random.default_rng(seed)
    X, y = fn(int(n_samples), int(seq_len), rng, int(n_classes), float(noise))
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64)
