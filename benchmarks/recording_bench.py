"""Benchmark: the cost of `record` against a plain forward pass over the same data.

Targets (issue 2): recording costs at most 1.5x a plain (stepwise, no-grad) forward pass, and holds at
most one extra copy of the activations beyond the returned Dataset. Timings are medians of repeated
runs in this process; memory is the peak resident size of fresh subprocesses, so both are measured
side by side on the same machine in the same run.

Run: ``python benchmarks/recording_bench.py [--arch lstm] [--hidden 64] [--samples 2000] [--steps 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def _setup(arch: str, hidden: int, samples: int, steps: int):
    import torch

    from relaywidgets import RecurrentClassifier

    torch.manual_seed(0)
    model = RecurrentClassifier(arch, 8, hidden, 4, device="cpu").eval()
    X = np.random.default_rng(0).normal(size=(samples, steps, 8)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 4, samples)
    return model, X, y


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_child(mode: str, args: argparse.Namespace) -> None:
    """Run one job in this (child) process and print its peak RSS in bytes."""
    import torch

    from relaywidgets import record

    model, X, y = _setup(args.arch, args.hidden, args.samples, args.steps)
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak-RSS mark to the current RSS
        fh.write("5")
    base = _status_kib("VmRSS") * 1024
    with torch.no_grad():
        if mode == "forward":
            for s0 in range(0, len(X), args.batch):
                model(X[s0 : s0 + args.batch])
            out_bytes = 0
        else:
            rec = record(model, X, y, batch_size=args.batch)
            out_bytes = int(rec.hidden.nbytes + (rec.cell.nbytes if "cell" in rec else 0))
    peak = _status_kib("VmHWM") * 1024
    print(json.dumps({"base": base, "peak": peak, "out_bytes": out_bytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--child", choices=["forward", "record"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _peak_child(args.child, args)
        return
    import torch

    from relaywidgets import record

    model, X, y = _setup(args.arch, args.hidden, args.samples, args.steps)

    def forward() -> None:
        with torch.no_grad():
            for s0 in range(0, len(X), args.batch):
                model(X[s0 : s0 + args.batch])

    def recording() -> None:
        record(model, X, y, batch_size=args.batch)

    forward(), recording()  # warm up
    t_fwd, t_rec = [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits both alike
        t = time.perf_counter(); forward(); t_fwd.append(time.perf_counter() - t)
        t = time.perf_counter(); recording(); t_rec.append(time.perf_counter() - t)
    fwd, rec_t = statistics.median(t_fwd), statistics.median(t_rec)

    def child(mode: str) -> dict:
        cmd = [sys.executable, __file__, "--child", mode, "--arch", args.arch, "--hidden", str(args.hidden),
               "--samples", str(args.samples), "--steps", str(args.steps), "--batch", str(args.batch)]
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    mem_fwd, mem_rec = child("forward"), child("record")
    out_bytes = mem_rec["out_bytes"]
    grow_fwd = mem_fwd["peak"] - mem_fwd["base"]
    grow_rec = mem_rec["peak"] - mem_rec["base"]
    extra = grow_rec - grow_fwd - out_bytes
    print(f"recording benchmark: {args.arch.upper()} {args.hidden} units, {args.samples} sequences x {args.steps} steps, "
          f"torch threads {torch.get_num_threads()}")
    print(f"  plain forward pass     {fwd * 1e3:8.1f} ms (median of {args.repeats})")
    print(f"  record()               {rec_t * 1e3:8.1f} ms")
    print(f"  time ratio record/forward = {rec_t / fwd:.2f}  (target <= 1.5)")
    print(f"  activations returned   {out_bytes / 2**20:8.1f} MiB")
    print(f"  peak memory growth: forward {grow_fwd / 2**20:8.1f} MiB; record {grow_rec / 2**20:8.1f} MiB")
    print(f"  extra memory beyond the returned activations = {extra / 2**20:.1f} MiB "
          f"= {extra / out_bytes:.2f} x activations  (target <= 1.0)")


if __name__ == "__main__":
    main()
