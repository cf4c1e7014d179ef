"""Public test helpers: contract-conforming recordings built from arrays, and planted-relay data sets.

Everything here is numpy/xarray only (no torch), so the numerical core can be tested without a model.
The planted data sets have a known relay set, which is what the relay tests assert against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._resources import check_memory
from ._validation import check_float, check_int
from .errors import InputError
from .recording_arrays import recording_from_arrays

__all__ = [
    "make_recording",
    "planted_relay",
    "latched_cue",
    "PLANTED_KINDS",
]

PLANTED_KINDS = ("single", "and", "copies", "xor", "independent")


def make_recording(hidden: Any, prediction: Any, label: Any | None = None, **kwargs: Any) -> xr.Dataset:
    """Build a recording from plain arrays: the public :func:`relaywidgets.recording_from_arrays`, kept here for
    the tests and notebooks that import it from ``relaywidgets.testing``.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.testing import make_recording
    >>> rec = make_recording(np.zeros((3, 4, 10)), np.arange(10) % 2)
    >>> dict(rec.hidden.sizes)
    {'node': 3, 'time': 4, 'sample': 10}
    """
    return recording_from_arrays(hidden, prediction, label, **kwargs)


def _saturated(bits: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Map 0/1 bits to tanh-like levels -0.9/+0.9 with a little Gaussian jitter."""
    return (0.9 * (2.0 * bits - 1.0) + rng.normal(0.0, noise, size=bits.shape)).astype(np.float32)


def planted_relay(
    kind: str,
    *,
    n_nodes: int = 6,
    n_samples: int = 2000,
    n_steps: int = 1,
    seed: int = 0,
    noise: float = 0.05,
) -> tuple[xr.Dataset, set[int]]:
    """A recording whose output is a known function of planted nodes; every other node is noise.

    Every node is a saturated binary unit (levels near ±0.9 with jitter ``noise``); the two-means
    split recovers its bit exactly. The planted nodes are 0 and 1 (and 1 is a copy of 0 for
    ``"copies"``); the output ``prediction`` is

    - ``"single"``: bit 0;
    - ``"and"``: bit 0 AND bit 1;
    - ``"copies"``: bit 0, with node 1 an exact copy of node 0;
    - ``"xor"``: bit 0 XOR bit 1;
    - ``"independent"``: an independent fair coin.

    Parameters
    ----------
    kind : {"single", "and", "copies", "xor", "independent"}
    n_nodes : int, default 6
        Total number of nodes (at least 2).
    n_samples : int, default 2000
    n_steps : int, default 1
        Time steps; the same bits are held at every step.
    seed : int, default 0
    noise : float, default 0.05
        Jitter around the two activation levels.

    Returns
    -------
    recording : xarray.Dataset
    relays : set of int
        The planted nodes (for ``"xor"`` both, of which the search keeps one; empty for
        ``"independent"``).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> rec, truth = planted_relay("and", n_nodes=4, n_samples=200)
    >>> sorted(truth)
    [0, 1]
    """
    if kind not in PLANTED_KINDS:
        listed = ", ".join(repr(k) for k in PLANTED_KINDS)
        raise InputError(f"The 'kind' parameter of planted_relay must be one of {listed}. Got {kind!r} instead.")
    owner = "planted_relay"
    n_nodes = check_int(n_nodes, "n_nodes", owner, 2)
    n_samples = check_int(n_samples, "n_samples", owner, 1)
    n_steps = check_int(n_steps, "n_steps", owner, 1)
    seed = check_int(seed, "seed", owner, 0)
    noise = check_float(noise, "noise", owner, 0.0)
    # the float64 activations and their float32 copy in the recording (bits and jitter are smaller)
    check_memory(12.0 * n_nodes * n_steps * n_samples, f"planted_relay(n_nodes={n_nodes}, n_samples={n_samples}, "
                 f"n_steps={n_steps})", "Pass fewer samples, nodes or steps.")
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n_nodes, n_samples))
    if kind == "copies":
        bits[1] = bits[0]
    out = {
        "single": lambda: bits[0],
        "and": lambda: bits[0] & bits[1],
        "copies": lambda: bits[0],
        "xor": lambda: bits[0] ^ bits[1],
        "independent": lambda: rng.integers(0, 2, size=n_samples),
    }[kind]()
    truth = {"single": {0}, "and": {0, 1}, "copies": {0, 1}, "xor": {0, 1}, "independent": set()}[kind]
    hidden = np.stack([_saturated(bits, rng, noise) for _ in range(n_steps)], axis=1)
    rec = make_recording(hidden, out, out, num_classes=2, task=f"planted-{kind}", seed=seed)
    return rec, truth


def latched_cue(
    *,
    n_nodes: int = 6,
    n_steps: int = 8,
    n_samples: int = 2000,
    latch: int = 2,
    seed: int = 0,
    lengths: Any | None = None,
) -> xr.Dataset:
    """Record a hand-written numpy recurrence in which one unit latches a binary cue through time.

    The input is a cue ``x_0 = ±1`` at step 0 and Gaussian noise afterwards. Unit ``latch`` follows
    ``h_t = tanh(3 h_{t-1} + 2 x_t)`` at step 0 and ``h_t = tanh(3 h_{t-1} + 0.3 x_t)`` later, so it
    keeps the sign of the cue; every other unit is ``h_t = tanh(0.5 h_{t-1} + x'_t)`` driven by its
    own noise input ``x'_t``. The readout is the sign of the latch unit at the last valid step,
    so the decision is the cue, and the latch unit is the only relay at every step.

    Parameters
    ----------
    n_nodes : int, default 6
    n_steps : int, default 8
    n_samples : int, default 2000
    latch : int, default 2
        Index of the latching unit.
    seed : int, default 0
    lengths : array-like of int, optional
        Valid steps per sample; later steps are NaN and the readout uses the last valid step.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> rec = latched_cue(n_nodes=3, n_steps=4, n_samples=50)
    >>> bool((rec.prediction == rec.label).all())
    True
    """
    owner = "latched_cue"
    n_nodes = check_int(n_nodes, "n_nodes", owner, 1)
    n_steps = check_int(n_steps, "n_steps", owner, 1)
    n_samples = check_int(n_samples, "n_samples", owner, 1)
    latch = check_int(latch, "latch", owner, 0, n_nodes - 1)
    seed = check_int(seed, "seed", owner, 0)
    # the noise inputs and the activations (float64), and the recording's float32 copy
    check_memory(20.0 * n_nodes * n_steps * n_samples, f"latched_cue(n_nodes={n_nodes}, n_steps={n_steps}, "
                 f"n_samples={n_samples})", "Pass fewer samples, nodes or steps.")
    rng = np.random.default_rng(seed)
    cue = rng.integers(0, 2, size=n_samples)
    x = rng.normal(0.0, 1.0, size=(n_nodes, n_steps, n_samples))
    x[latch, 0] = 2.0 * cue - 1.0
    h = np.zeros((n_nodes, n_steps, n_samples))
    prev = np.zeros((n_nodes, n_samples))
    for t in range(n_steps):
        gain = np.full((n_nodes, 1), 1.0)
        recur = np.full((n_nodes, 1), 0.5)
        gain[latch] = 2.0 if t == 0 else 0.3
        recur[latch] = 3.0
        prev = np.tanh(recur * prev + gain * x[:, t])
        h[:, t] = prev
    length = np.full(n_samples, n_steps, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
    final = h[latch, length - 1, np.arange(n_samples)]
    prediction = (final > 0).astype(np.int64)
    inputs = x[latch][None].astype(np.float32)
    return make_recording(
        h, prediction, cue, lengths=length, inputs=inputs, num_classes=2, task="latched-cue", seed=seed
    )
