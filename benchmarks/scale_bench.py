"""Benchmark of recordings larger than memory and relay maps on a Dask cluster (issue 13).

1. A recording of at least 4 GB (an LSTM's hidden and cell states, float32) is written with
   ``record(..., store=...)`` to a Zarr store by a separate process, whose peak resident memory
   (``resource.getrusage(...).ru_maxrss``) is printed: the target is at most 1.5 GB, whatever the
   recording's size.
2. The relay map of that store is computed on a ``LocalCluster`` of 1 worker and of 2 workers (one
   thread each, separate processes), read lazily from the store; the ratio of the times is printed
   (target at least 1.7x) and the two results must be identical.

3. Optional (``--effects``): the effect map of a small trained LSTM (``--effect-units`` units,
   ``--effect-samples`` sequences of ``--effect-steps`` steps) in this process and on a ``LocalCluster``
   of 1 and of 2 workers; the times, the 2-vs-1 ratio and whether the three results are identical are
   printed. ``--effects-only`` skips 1 and 2.

Run with ``python benchmarks/scale_bench.py`` (``--quick`` for a small smoke run). It takes two cores and
writes the store under ``--dir`` (default: a temporary directory, deleted at the end). The network is a
small LSTM trained for a few seconds on short delayed-cue sequences, then run over long ones, so its
decisions vary (an untrained network answers one class and its relay map is all zeros).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# One BLAS/torch thread per process: the workers are the parallelism being measured.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def write(args: argparse.Namespace) -> None:
    """Child process: train briefly, record into the store, print sizes and peak memory as JSON."""
    import numpy as np
    import torch

    from relaywidgets import RecurrentClassifier, make_task, record, train

    torch.set_num_threads(1)
    X_train, y_train = make_task("delayed-cue", 800, 16, seed=0)
    model = RecurrentClassifier("lstm", X_train.shape[2], args.units, 4, device="cpu", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(model, X_train, y_train, epochs=args.epochs, lr=1e-2, seed=0, progress=False)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    X, y = make_task("delayed-cue", args.samples, args.steps, seed=1)
    t0 = time.perf_counter()
    rec = record(model, X, y, batch_size=args.batch, store=args.store)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    states = rec.hidden.nbytes + rec.cell.nbytes
    print(json.dumps({
        "states_bytes": int(states), "recording_bytes": int(rec.nbytes), "seconds": seconds,
        "peak_rss_mib": peak, "rss_before_recording_mib": rss_before, "x_bytes": int(X.nbytes),
        "chunks": [list(c) for c in rec.hidden.chunks][:2] + [[rec.hidden.chunksizes["sample"][0]]],
        "predicted_classes": int(np.unique(rec.prediction.values).size),
    }))


def relay_map(store: str, workers: int, times: list[int], n_perm: int):
    import distributed

    from relaywidgets import load_recording
    from relaywidgets.relay import find_relays

    rec = load_recording(store)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(workers)
        # warm the workers (imports) outside the timed run
        find_relays(rec, times=times[:1], nodes=[0, 1], n_perm=2, progress=False, client=client)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = find_relays(rec, times=times, n_perm=n_perm, progress=False, client=client)
        return time.perf_counter() - t0, res


def effect_maps(args: argparse.Namespace) -> None:
    """Part 3: the effect map in this process and on 1 and 2 local workers; times, ratio, identity."""
    import distributed
    import torch

    from relaywidgets import RecurrentClassifier, make_task, train
    from relaywidgets.knockout import effect_map

    torch.set_num_threads(1)
    X, y = make_task("delayed-cue", args.effect_samples, args.effect_steps, seed=2)
    model = RecurrentClassifier("lstm", X.shape[2], args.effect_units, 4, device="cpu", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(model, X, y, epochs=args.epochs, lr=1e-2, seed=0, progress=False)
    kw = dict(n_boot=args.n_boot, device="cpu", progress=False)
    t0 = time.perf_counter()
    here = effect_map(model, X, y, **kw)
    seconds = {"in process": time.perf_counter() - t0}
    same = True
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            client.wait_for_workers(workers)
            # warm the workers (imports of torch and relaywidgets) outside the timed run
            effect_map(model, X[:8, :2], y[:8], n_boot=0, progress=False, client=client)
            t0 = time.perf_counter()
            there = effect_map(model, X, y, client=client, **kw)
            seconds[f"{workers} worker{'s' if workers > 1 else ''}"] = time.perf_counter() - t0
            same = same and there.identical(here)
    times = ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
    print(f"3. effect map (LSTM {args.effect_units} units x {args.effect_steps} steps x {args.effect_samples:,} "
          f"samples, n_boot={args.n_boot}): {times}; 2 workers vs 1: "
          f"{seconds['1 worker'] / seconds['2 workers']:.2f}x; results identical: {same}; "
          f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (tens of MB)")
    parser.add_argument("--dir", default=None, help="where to write the store (default: a temporary directory)")
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--every", type=int, default=5, help="relay map at every n-th step")
    parser.add_argument("--n-perm", type=int, default=100)
    parser.add_argument("--effects", action="store_true", help="also time an effect map on 1 and 2 workers")
    parser.add_argument("--effects-only", action="store_true", help="time the effect map only (part 3)")
    parser.add_argument("--effect-units", type=int, default=32)
    parser.add_argument("--effect-steps", type=int, default=20)
    parser.add_argument("--effect-samples", type=int, default=2000)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--write", dest="store", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.store:  # the child process
        write(args)
        return
    if args.quick:
        args.units, args.steps, args.samples, args.batch, args.epochs, args.every = 32, 40, 4000, 512, 10, 4
        args.effect_units, args.effect_steps, args.effect_samples, args.n_boot = 8, 8, 200, 20
    if args.effects_only:
        print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        effect_maps(args)
        return
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="scale_bench_"))
    base.mkdir(parents=True, exist_ok=True)
    store = base / "scale_bench.zarr"
    shutil.rmtree(store, ignore_errors=True)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    try:
        cmd = [sys.executable, __file__, "--write", str(store)] + [
            f"--{k}={getattr(args, k)}" for k in ("units", "steps", "samples", "batch", "epochs")
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        w = json.loads(out.stdout.strip().splitlines()[-1])
        gb = w["states_bytes"] / 1e9
        print(f"1. record(store=...): LSTM {args.units} units, {args.steps} steps, {args.samples:,} sequences: "
              f"hidden + cell = {gb:.2f} GB ({w['recording_bytes'] / 1e9:.2f} GB with inputs) written in "
              f"{w['seconds']:.1f} s; chunks (node, time, sample) = {w['chunks']}; "
              f"{w['predicted_classes']} classes predicted")
        print(f"   peak resident memory of the writing process: {w['peak_rss_mib']:,.0f} MiB "
              f"({w['rss_before_recording_mib']:,.0f} MiB before recording: Python, torch, the model; the inputs "
              f"X hold {w['x_bytes'] / 2**20:,.0f} MiB); target <= 1,536 MiB (1.5 GB): "
              f"{'met' if w['peak_rss_mib'] <= 1536 else 'NOT met'}; store on disk "
              f"{sum(f.stat().st_size for f in store.rglob('*') if f.is_file()) / 1e9:.2f} GB")
        times = list(range(0, args.steps, args.every))
        t1, r1 = relay_map(str(store), 1, times, args.n_perm)
        load1 = os.getloadavg()[0]
        t2, r2 = relay_map(str(store), 2, times, args.n_perm)
        load2 = os.getloadavg()[0]
        same = r1.assign_attrs(created="").identical(r2.assign_attrs(created=""))
        n_searches = r1.sizes["concept"] * len(times)
        print(f"2. relay map ({r1.sizes['node']} nodes x {len(times)} steps (every {args.every}) x "
              f"{r1.sizes['concept']} concepts x {args.samples:,} samples, n_perm={args.n_perm}, read from the store): "
              f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s: {t1 / t2:.2f}x (target >= 1.7x); "
              f"{n_searches} (concept, step) searches, {int(r1.is_relay.any('node').sum())} with a relay set; "
              f"results identical: {same}; load average after each: {load1:.2f}, {load2:.2f} (2 cores)")
        if args.effects:
            effect_maps(args)
    finally:
        shutil.rmtree(store, ignore_errors=True)
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
