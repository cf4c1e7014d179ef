"""Latency of interactive knockouts, and the cost of the relay-versus-random test.

Measures, interleaved in one run so that machine load hits every number alike:

- ``forward``: the model's own stepwise forward pass (``model(x)``, what every knockout runs);
- ``forward_knockout``: the same pass with a quarter of the units knocked out (no session);
- ``fused``: torch's fused LSTM kernel on the same data (no knockouts possible; a lower bound);
- ``toggle``: :meth:`KnockoutSession.toggle` to updated per-class accuracy, window = every step;
- ``toggle_late``: the same with the window starting at step T/2 (resumes from cached states).

The goal (issue 5): median toggle latency <= 2.2 x a bare forward pass measured in the same run
(about 100 ms for a 64-unit LSTM on 1,000 sequences of 50 steps on 2 cores). Then times
:func:`relay_knockout_test` with 100 random sets against one evaluation per set.

Run: ``.venv/bin/python benchmarks/knockout_bench.py [--repeats 30] [--threads 2] [--json out.json]``
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
import xarray as xr

from relaywidgets import Knockout, RecurrentClassifier, make_task
from relaywidgets.knockout import KnockoutSession, evaluate, relay_knockout_test


def _median_ms(samples: list[float]) -> float:
    return 1000.0 * statistics.median(samples)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", default="lstm", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-random", type=int, default=100)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    X, y = make_task("delayed-cue", n_samples=args.samples, seq_len=args.steps, seed=0)
    model = RecurrentClassifier(args.arch, X.shape[2], args.hidden, 4, device=args.device).eval()
    x = torch.from_numpy(X).to(model.device)
    session = KnockoutSession(model, X, y)
    late = KnockoutSession(model, X, y, times=slice(args.steps // 2, None))
    rng = np.random.default_rng(0)
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)

    def forward() -> None:
        with torch.no_grad():
            model(x).argmax(1).cpu()

    ko = Knockout(list(range(0, args.hidden, 4)))

    def forward_knockout() -> None:
        with torch.no_grad():
            model(x, knockout=ko).argmax(1).cpu()

    def fused() -> None:
        with torch.no_grad():
            model.fused_forward(x).argmax(1).cpu()

    def toggle(s: KnockoutSession) -> None:
        s.toggle(int(rng.integers(args.hidden)))
        s.per_class  # noqa: B018  (the number the widget shows)

    cases = {"forward": forward, "forward_knockout": forward_knockout, "fused": fused, "toggle": lambda: toggle(session), "toggle_late": lambda: toggle(late)}
    for fn in cases.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
    med = {k: _median_ms(v) for k, v in times.items()}

    # Relay-versus-random test: a 3-unit "relay set" of class 0 against n_random size-matched sets.
    labels = model.node_labels
    is_relay = np.zeros((1, 1, len(labels)), dtype=bool)
    is_relay[0, 0, [0, 1, 2]] = True
    relays = xr.Dataset(
        {"is_relay": (("concept", "time", "node"), is_relay)},
        coords={"concept": ["0"], "concept_class": ("concept", [0]), "time": [args.steps - 1], "node": labels},
    )
    t0 = time.perf_counter()
    relay_knockout_test(model, X, y, relays, 0, n_random=args.n_random, seed=0)
    test_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_loop = 5
    for j in range(n_loop):  # one evaluate() per set, as a plain loop would do it (extrapolated)
        evaluate(model, X, y, knockout=Knockout.random_like(Knockout([0, 1, 2]), j, hidden_size=args.hidden))
    loop_s = (time.perf_counter() - t0) / n_loop * (args.n_random + 2)

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {model.device}",
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "setup": f"{args.arch.upper()} {args.hidden} units, {args.samples} sequences x {args.steps} steps, "
        f"{args.repeats} interleaved repeats",
        "median_ms": {k: round(v, 1) for k, v in med.items()},
        "ratio_toggle_to_forward": round(med["toggle"] / med["forward"], 2),
        "ratio_toggle_to_fused": round(med["toggle"] / med["fused"], 2),
        "ratio_toggle_late_to_forward": round(med["toggle_late"] / med["forward"], 2),
        "relay_test_s": round(test_s, 2),
        "relay_test_loop_estimate_s": round(loop_s, 2),
        "n_random": args.n_random,
    }
    print(f"{result['setup']} on {result['machine']}")
    for k, v in result["median_ms"].items():
        print(f"  {k:16s} median {v:8.1f} ms")
    print(f"  toggle / forward = {result['ratio_toggle_to_forward']:.2f}x  (goal <= 2.2x; "
          f"{'met' if result['ratio_toggle_to_forward'] <= 2.2 else 'NOT met'})")
    print(f"  toggle / fused torch kernel = {result['ratio_toggle_to_fused']:.2f}x")
    print(f"  toggle with window from step {args.steps // 2} / forward = {result['ratio_toggle_late_to_forward']:.2f}x")
    print(f"  relay_knockout_test, {args.n_random} random sets: {test_s:.2f} s "
          f"(one evaluate() per set would take ~{loop_s:.2f} s)")
    print(f"  1-min load average after the run: {result['load_average_1min_after']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
