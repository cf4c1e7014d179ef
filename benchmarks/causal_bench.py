"""Cost of the causal maps: the effect map against separate forward passes, and one causal set.

Measured in one run, so that machine load hits every number alike:

(a) ``effect_map`` of a 32-unit LSTM over 1,000 sequences x 20 steps (32 units x 20 steps = 640 single-step
    knockouts) against 640 separate bare forward passes (``model(x)``, the stepwise pass every knockout
    runs) of the same data. Goal (issue 12): ratio <= 0.75. The effect map stacks the 32 knockouts of a
    step along the batch and resumes from the intact states at the step before, so it computes about
    (T + 1) / (2 T) of the steps the separate passes do.
(b) ``causal_set`` for one class of a 64-unit LSTM over 1,000 sequences x 50 steps, knockout window =
    every step. Goal: < 30 s on 2 cores. The weights are untrained (random, seeded): fine for timing, but
    the set size (and so the time) depends on the network; the class whose intact accuracy is highest is
    used, and the number of greedy steps is printed beside the time.

On a machine shared with other jobs, compare with ``--threads 1`` as well: with two torch threads per
process on oversubscribed cores, thread contention slows the many small separate passes much more than the
few large stacked ones, which makes the ratio in (a) look better than it is.

Run: ``.venv/bin/python benchmarks/causal_bench.py [--repeats 3] [--threads 2] [--device cpu] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

from relaywidgets import RecurrentClassifier, make_task
from relaywidgets.knockout import causal_set, effect_map, evaluate


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    # (a) effect map versus separate forward passes ------------------------------------------------
    X, y = make_task("delayed-cue", n_samples=args.samples, seq_len=20, seed=0)
    model = RecurrentClassifier("lstm", X.shape[2], 32, 4, device=args.device, seed=0).eval()
    x = torch.from_numpy(X).to(model.device)
    n_knockouts = 32 * 20
    effect_map(model, X[:50], y[:50], n_boot=0, progress=False)  # warm-up (allocator, threads)
    forward_s, map_s, map_boot_s = [], [], []
    for _ in range(args.repeats):
        sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(n_knockouts):
                model(x)
        sync()
        forward_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        effect_map(model, X, y, n_boot=0, progress=False)
        sync()
        map_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        effect_map(model, X, y, progress=False)  # default: 200 bootstrap resamples
        sync()
        map_boot_s.append(time.perf_counter() - t0)
    forward, emap, emap_boot = (statistics.median(v) for v in (forward_s, map_s, map_boot_s))

    # (b) causal set of one class -----------------------------------------------------------------
    X2, y2 = make_task("delayed-cue", n_samples=args.samples, seq_len=50, seed=1)
    model2 = RecurrentClassifier("lstm", X2.shape[2], 64, 4, device=args.device, seed=1).eval()
    intact = evaluate(model2, X2, y2)
    concept = int(np.nanargmax(intact.class_accuracy.values))
    x2 = torch.from_numpy(X2).to(model2.device)
    sync()
    t0 = time.perf_counter()
    with torch.no_grad():
        model2(x2)
    sync()
    one_forward = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = causal_set(model2, X2, y2, concept, target=0.5, progress=False)
    sync()
    cset = time.perf_counter() - t0
    # Candidate sets evaluated: 64 + 63 + ... over the greedy steps, each on the class's samples.
    steps = int(result.set_size)
    evaluated = sum(64 - i for i in range(steps))

    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}",
        "device": str(model.device),
        "a_forward_640_s": forward,
        "a_effect_map_s": emap,
        "a_ratio": emap / forward,
        "a_effect_map_boot200_s": emap_boot,
        "a_ratio_boot200": emap_boot / forward,
        "b_concept": concept,
        "b_class_samples": int((y2 == concept).sum()),
        "b_baseline_accuracy": float(result.baseline),
        "b_set_size": steps,
        "b_reached": bool(result.reached),
        "b_candidate_sets": evaluated,
        "b_causal_set_s": cset,
        "b_one_forward_s": one_forward,
    }
    print(f"machine: {figures['machine']}; device {figures['device']}")
    print(f"(a) LSTM 32 units, {args.samples} x 20 steps, {n_knockouts} single-step knockouts "
          f"(median of {args.repeats})")
    print(f"    {n_knockouts} separate forward passes: {forward:8.2f} s")
    print(f"    effect_map (n_boot=0):          {emap:8.2f} s   ratio {emap / forward:.2f}  (goal <= 0.75)")
    print(f"    effect_map (n_boot=200):        {emap_boot:8.2f} s   ratio {emap_boot / forward:.2f}")
    print(f"(b) LSTM 64 units (untrained, seed 1), {args.samples} x 50 steps, class {concept} "
          f"({figures['b_class_samples']} samples, intact accuracy {float(result.baseline):.2f})")
    print(f"    causal_set(target=0.5): {cset:.2f} s  (goal < 30 s); {steps} unit(s), reached={bool(result.reached)}, "
          f"{evaluated} candidate sets; one forward pass of all samples {one_forward * 1000:.0f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    return figures


if __name__ == "__main__":
    main()
