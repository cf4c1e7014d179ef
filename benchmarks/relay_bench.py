"""Benchmark of the greedy relay search (issue 4, "Speed").

1. The full relay map of a 64-node network over 50 steps, 10 concepts and 5,000 samples (plug-in,
   two-means, default 100 permutations), timed end to end.
2. The fast search against the naive reference (every candidate subset's joint histogram recomputed
   from scratch with ``np.unique(..., axis=0)``), both measured in this run on a reduced size; the
   ratio is printed, and the two must find the same paths.

Run with ``python benchmarks/relay_bench.py`` (``--quick`` for a smaller smoke run). The recording
is a synthetic tanh recurrent network (numpy), so the benchmark needs no training.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from relaywidgets.info import discretize
from relaywidgets.relay import find_relays
from relaywidgets.relay.reference import naive_relay_path
from relaywidgets.testing import make_recording


def synthetic_rnn(n_nodes: int, n_steps: int, n_classes: int, n_samples: int, seed: int = 0):
    """A random tanh RNN driven by a class cue at steps 0-1 and noise; decision = argmax readout."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.1 / np.sqrt(n_nodes), size=(n_nodes, n_nodes))
    u = rng.normal(0.0, 1.0, size=(n_nodes, n_classes))
    y = rng.integers(0, n_classes, size=n_samples)
    h = np.zeros((n_nodes, n_samples))
    hidden = np.empty((n_nodes, n_steps, n_samples), dtype=np.float32)
    for t in range(n_steps):
        x = rng.normal(0.0, 0.3, size=(n_classes, n_samples))
        if t < 2:
            x[y, np.arange(n_samples)] += 1.0
        h = np.tanh(w @ h + u @ x)
        hidden[:, t] = h
    readout = rng.normal(size=(n_classes, n_nodes))
    prediction = (readout @ h).argmax(axis=0)
    return make_recording(hidden, prediction, y, num_classes=n_classes, task="synthetic-rnn", seed=seed)


def time_full_map(n_nodes: int, n_steps: int, n_classes: int, n_samples: int, n_perm: int) -> tuple[float, object]:
    rec = synthetic_rnn(n_nodes, n_steps, n_classes, n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        find_relays(rec, times=[0], concepts=[0], n_perm=2, progress=False, device="numpy")  # warm-up
        t0 = time.perf_counter()
        res = find_relays(rec, n_perm=n_perm, progress=False, device="numpy")
        elapsed = time.perf_counter() - t0
    return elapsed, res


def compare_naive(n_nodes: int, n_samples: int, n_classes: int, pairs: list[tuple[int, int]], n_steps: int) -> dict:
    rec = synthetic_rnn(n_nodes, n_steps, n_classes, n_samples, seed=1)
    codes = discretize(rec["hidden"]).values  # (node, time, sample)
    pred = rec["prediction"].values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        find_relays(rec, times=[0], concepts=[0], n_perm=0, progress=False, device="numpy")  # warm-up
        fast_time = 0.0
        naive_time = 0.0
        same = True
        for concept, t in pairs:
            t0 = time.perf_counter()
            res = find_relays(rec, times=[t], concepts=[concept], n_perm=0, progress=False, device="numpy")
            fast_time += time.perf_counter() - t0
            r = res.isel(concept=0, time=0)
            out = (pred == concept).astype(np.int64)
            t0 = time.perf_counter()
            order, curve = naive_relay_path(codes[:, t, :].T.astype(np.int64), out, tiebreak=r["marginal_mi"].values)
            naive_time += time.perf_counter() - t0
            same &= bool(np.array_equal(order, r["removed"].values[1:]))
            same &= bool(np.allclose(curve, r["curve"].values, atol=1e-9))
    return {"fast_s": fast_time, "naive_s": naive_time, "ratio": naive_time / fast_time, "same_paths": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--n-perm", type=int, default=100)
    args = parser.parse_args()
    if args.quick:
        full = dict(n_nodes=16, n_steps=5, n_classes=3, n_samples=1000)
        red = dict(n_nodes=10, n_samples=500, n_classes=3, n_steps=2, pairs=[(0, 1)])
    else:
        full = dict(n_nodes=64, n_steps=50, n_classes=10, n_samples=5000)
        red = dict(n_nodes=32, n_samples=2000, n_classes=10, n_steps=6, pairs=[(0, 2), (3, 5), (7, 4)])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.2f}; python {platform.python_version()}, numpy {np.__version__}")

    cmp = compare_naive(**red)
    print(
        f"reduced size ({red['n_nodes']} nodes x {red['n_samples']} samples, {len(red['pairs'])} (concept, step) "
        f"searches, plug-in, no permutations): naive {cmp['naive_s']:.2f} s, fast {cmp['fast_s']:.3f} s, "
        f"speed-up {cmp['ratio']:.0f}x, same paths: {cmp['same_paths']}"
    )
    elapsed, res = time_full_map(n_perm=args.n_perm, **full)
    n_pairs = full["n_classes"] * full["n_steps"]
    print(
        f"full relay map ({full['n_nodes']} nodes x {full['n_steps']} steps x {full['n_classes']} concepts x "
        f"{full['n_samples']} samples, plug-in, n_perm={args.n_perm}): {elapsed:.1f} s "
        f"({1e3 * elapsed / n_pairs:.0f} ms per (concept, step)); mean relay-set size "
        f"{float(res['relay_size'].mean()):.1f}"
    )
    naive_per_pair = cmp["naive_s"] / len(red["pairs"])
    print(f"naive reference per (concept, step) at the reduced size: {naive_per_pair:.2f} s")


if __name__ == "__main__":
    main()
