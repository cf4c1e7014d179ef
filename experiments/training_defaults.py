"""Do the defaults of ``relaywidgets.train`` learn? A grid against a small learning-rate sweep.

For every run (a task or data set, an architecture, a seed) the script trains the network twice over:

- with ``train``'s defaults (only ``seed`` and ``progress`` are passed), and
- with a plain setup for each learning rate of a small sweep: Adam, a fixed number of epochs, no
  validation split, no schedule, no early stopping, the same gradient clip; the best of these test
  accuracies is the reference for the run.

A run passes when the defaults reach at least 90 % of the reference accuracy. Accuracy is measured on a
held-out test set (a fresh draw of the synthetic task, or the published test split of a UCR/UEA set).
The grid is every synthetic task of ``relaywidgets.tasks`` x RNN, LSTM, GRU x 3 seeds and three small
UCR/UEA sets x the three architectures x 3 seeds. The table, the summary and a reading written from the
numbers go into their own section of ``docs/results.md`` (after the end mark of the report of
``experiments/architectures.py``, which keeps it); rerunning replaces only that section.

Run by hand (about 15-20 minutes on one CPU thread)::

    python experiments/training_defaults.py           # writes docs/results.md
    python experiments/training_defaults.py --quick   # a smoke run, prints only
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

ARCHS = ("rnn", "lstm", "gru")
KEEP_MARK = "<!-- end of the generated report; what follows is kept when the script reruns -->"
BEGIN = "<!-- training-defaults:begin -->"
END = "<!-- training-defaults:end -->"
PASS_RATIO = 0.9
PASS_FRACTION = 0.9


@dataclass
class Config:
    tasks: dict[str, int] = field(
        default_factory=lambda: {"delayed-cue": 20, "temporal-xor": 20, "frequency": 20, "cue-hold": 30}
    )  # task -> seq_len
    datasets: tuple[str, ...] = ("JapaneseVowels", "ItalyPowerDemand", "GunPoint")
    seeds: tuple[int, ...] = (0, 1, 2)
    hidden: int = 24
    n_train: int = 800
    n_test: int = 1000
    sweep_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    sweep_epochs: int = 100
    batch_size: int = 64
    clip_grad: float = 1.0


def quick_config() -> Config:
    return Config(tasks={"delayed-cue": 10, "cue-hold": 30}, datasets=("ItalyPowerDemand",), seeds=(0,),
                  hidden=8, n_train=200, n_test=200, sweep_lrs=(3e-3,), sweep_epochs=3)


@dataclass
class Data:
    name: str
    kind: str  # "task" or "UCR/UEA"
    X: np.ndarray
    y: np.ndarray
    lengths: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray
    lengths_test: np.ndarray | None
    num_classes: int


def task_data(name: str, seq_len: int, seed: int, cfg: Config) -> Data:
    from relaywidgets.tasks import make_task

    # Training and test sets are independent draws; each seed gets its own pair.
    X, y = make_task(name, cfg.n_train, seq_len, seed=1000 + seed)
    X_test, y_test = make_task(name, cfg.n_test, seq_len, seed=2000 + seed)
    return Data(name, "task", X, y, None, X_test, y_test, None, int(max(y.max(), y_test.max())) + 1)


def uea_data(name: str) -> Data:
    from relaywidgets.data import load_dataset

    ds = load_dataset(name)
    return Data(name, "UCR/UEA", ds.X_train, ds.y_train, ds.lengths_train, ds.X_test, ds.y_test,
                ds.lengths_test, ds.n_classes)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, lengths: np.ndarray | None) -> float:
    model.eval()
    with torch.no_grad():
        logits = model.fused_forward(torch.from_numpy(X), torch.from_numpy(lengths) if lengths is not None else None)
    return float((logits.argmax(1).numpy() == y).mean())


def new_model(arch: str, data: Data, seed: int, cfg: Config) -> Any:
    from relaywidgets import RecurrentClassifier

    return RecurrentClassifier(arch, data.X.shape[2], cfg.hidden, data.num_classes, device="cpu", seed=seed)


def plain_run(arch: str, data: Data, seed: int, lr: float, cfg: Config) -> float:
    """Adam at a fixed learning rate for a fixed number of epochs on all training data; test accuracy."""
    model = new_model(arch, data, seed, cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    L = torch.from_numpy(data.lengths) if data.lengths is not None else None
    generator = torch.Generator().manual_seed(seed)
    for _ in range(cfg.sweep_epochs):
        model.train()
        perm = torch.randperm(X.shape[0], generator=generator)
        for start in range(0, X.shape[0], cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            optimizer.zero_grad()
            logits = model.fused_forward(X[idx], L[idx] if L is not None else None)
            loss = torch.nn.functional.cross_entropy(logits, y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            optimizer.step()
    return accuracy(model, data.X_test, data.y_test, data.lengths_test)


def default_run(arch: str, data: Data, seed: int, cfg: Config) -> dict[str, Any]:
    from relaywidgets import train
    from relaywidgets.training import ChanceAccuracyWarning

    model = new_model(arch, data, seed, cfg)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChanceAccuracyWarning)
        history = train(model, data.X, data.y, lengths=data.lengths, seed=seed, progress=False)
    return {
        "default_acc": accuracy(model, data.X_test, data.y_test, data.lengths_test),
        "epochs_run": len(history.train_loss),
        "left_chance_epoch": history.left_chance_epoch,
        "warned": any(issubclass(w.category, ChanceAccuracyWarning) for w in caught),
        "default_s": time.perf_counter() - start,
    }


def test_chance(data: Data) -> tuple[float, float]:
    """Accuracy of always answering the training split's most common class on the test set, and 2 s.e."""
    majority = int(np.bincount(data.y).argmax())
    chance = float((data.y_test == majority).mean())
    return chance, 2.0 * math.sqrt(chance * (1 - chance) / data.y_test.size)


def run_grid(cfg: Config, cache: Path | None = None) -> list[dict[str, Any]]:
    jobs: list[tuple[str, str, int]] = []
    for name in cfg.tasks:
        jobs += [(name, arch, seed) for arch in ARCHS for seed in cfg.seeds]
    for name in cfg.datasets:
        jobs += [(name, arch, seed) for arch in ARCHS for seed in cfg.seeds]
    # The sweep does not depend on train()'s defaults, so a cache of it lets one try other defaults fast.
    sweep_cache: dict[str, float] = json.loads(cache.read_text()) if cache and cache.exists() else {}
    cfg.cached = sum(  # type: ignore[attr-defined]
        f"{n}|{a}|{s}|{lr}|{cfg.hidden}|{cfg.n_train}|{cfg.sweep_epochs}" in sweep_cache
        for n, a, s in jobs for lr in cfg.sweep_lrs
    )
    uea_cache: dict[str, Data] = {}
    rows = []
    for name, arch, seed in tqdm(jobs, desc="training grid"):
        if name in cfg.tasks:
            data = task_data(name, cfg.tasks[name], seed, cfg)
        else:
            data = uea_cache.setdefault(name, uea_data(name))
        sweep = {}
        for lr in cfg.sweep_lrs:
            key = f"{name}|{arch}|{seed}|{lr}|{cfg.hidden}|{cfg.n_train}|{cfg.sweep_epochs}"
            if key not in sweep_cache:
                sweep_cache[key] = plain_run(arch, data, seed, lr, cfg)
            sweep[lr] = sweep_cache[key]
        if cache:
            cache.write_text(json.dumps(sweep_cache))
        best_lr = max(sweep, key=lambda lr: sweep[lr])
        chance, margin = test_chance(data)
        row = {"data": name, "kind": data.kind, "arch": arch, "seed": seed, **default_run(arch, data, seed, cfg),
               "sweep": {str(k): v for k, v in sweep.items()}, "best_acc": sweep[best_lr], "best_lr": best_lr,
               "chance": chance, "margin": margin}
        row["ratio"] = row["default_acc"] / row["best_acc"] if row["best_acc"] > 0 else float("nan")
        row["passed"] = bool(row["default_acc"] >= PASS_RATIO * row["best_acc"])
        row["default_learned"] = bool(row["default_acc"] > chance + margin)
        row["sweep_learned"] = bool(row["best_acc"] > chance + margin)
        rows.append(row)
    return rows


def defaults_line() -> str:
    import inspect

    from relaywidgets import train

    sig = inspect.signature(train)
    keys = ("lr", "epochs", "patience", "lr_patience", "lr_factor", "batch_size", "val_fraction", "clip_grad")
    return ", ".join(f"{k}={sig.parameters[k].default!r}" for k in keys if k in sig.parameters)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data | arch | seed | default acc | epochs run | best sweep acc | its lr | ratio | pass | chance |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = "" if r["default_learned"] else " (at chance)"
        lines.append(
            f"| {r['data']} | {r['arch'].upper()} | {r['seed']} | {r['default_acc']:.3f}{note} | {r['epochs_run']} "
            f"| {r['best_acc']:.3f} | {r['best_lr']:g} | {r['ratio']:.2f} | {'yes' if r['passed'] else '**no**'} "
            f"| {r['chance']:.3f} |"
        )
    return "\n".join(lines)


def per_group(rows: list[dict[str, Any]]) -> str:
    lines = ["| data | arch | runs passing | mean default acc | mean best sweep acc | default at chance |",
             "|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["data"], r["arch"]) for r in rows))
    for data, arch in keys:
        g = [r for r in rows if r["data"] == data and r["arch"] == arch]
        lines.append(
            f"| {data} | {arch.upper()} | {sum(r['passed'] for r in g)} of {len(g)} "
            f"| {np.mean([r['default_acc'] for r in g]):.3f} | {np.mean([r['best_acc'] for r in g]):.3f} "
            f"| {sum(not r['default_learned'] for r in g)} of {len(g)} |"
        )
    return "\n".join(lines)


def reading(rows: list[dict[str, Any]]) -> str:
    """A reading of the numbers, written from them (nothing here is typed in by hand)."""
    n = len(rows)
    n_pass = sum(r["passed"] for r in rows)
    out = [f"- {n_pass} of {n} runs ({n_pass / n:.0%}) reach at least {PASS_RATIO:.0%} of the best sweep accuracy; "
           f"the bar is {PASS_FRACTION:.0%} of the runs, so the defaults "
           f"{'meet' if n_pass / n >= PASS_FRACTION else '**do not meet**'} it."]
    failed = [r for r in rows if not r["passed"]]
    if failed:
        desc = "; ".join(
            f"{r['data']} {r['arch'].upper()} seed {r['seed']} ({r['default_acc']:.3f} against {r['best_acc']:.3f} "
            f"at lr {r['best_lr']:g}{', defaults at chance' if not r['default_learned'] else ''})"
            for r in failed
        )
        out.append(f"- Failing runs: {desc}.")
    else:
        out.append("- No run fails.")
    cue = [r for r in rows if r["data"] == "cue-hold" and r["arch"] == "lstm"]
    if cue:
        out.append(f"- cue-hold LSTM: the defaults learn (test accuracy above chance by two standard errors) in "
                   f"{sum(r['default_learned'] for r in cue)} of {len(cue)} seeds, with test accuracy "
                   + ", ".join(f"{r['default_acc']:.3f}" for r in cue) + ".")
    both = [r for r in rows if not r["default_learned"] and not r["sweep_learned"]]
    if both:
        groups = sorted({f"{r['data']} {r['arch'].upper()}" for r in both})
        out.append(f"- {len(both)} run(s) pass only because no learning rate of the sweep learned either: both stay "
                   f"at chance ({', '.join(groups)}). The ratio criterion cannot tell such runs apart; a longer "
                   "or differently set-up training may still learn them.")
    warned = [r for r in rows if r["warned"]]
    at_chance = [r for r in rows if not r["default_learned"]]
    out.append(f"- train() warned of chance accuracy in {len(warned)} run(s); {len(at_chance)} run(s) ended at chance "
               "on the test set.")
    best_lrs = {}
    for r in rows:
        best_lrs[r["best_lr"]] = best_lrs.get(r["best_lr"], 0) + 1
    out.append("- Best learning rate of the sweep: " + ", ".join(f"{lr:g} in {c} runs" for lr, c in sorted(best_lrs.items())) + ".")
    return "\n".join(out)


def section(rows: list[dict[str, Any]], cfg: Config, seconds: float) -> str:
    n_pass = sum(r["passed"] for r in rows)
    return "\n".join([
        BEGIN,
        "## Training defaults (generated by `experiments/training_defaults.py`)",
        "",
        f"Defaults of `train`: {defaults_line()}; early stopping and the learning-rate schedule start only once "
        "the validation loss is 3 % below the chance loss or the training loss 3 % below "
        "the training split's chance loss.",
        f"Reference: for every run, Adam at each learning rate of {{{', '.join(f'{lr:g}' for lr in cfg.sweep_lrs)}}} "
        f"for {cfg.sweep_epochs} epochs on all training data (no validation split, schedule or early stopping), "
        f"batch {cfg.batch_size}, gradient clip {cfg.clip_grad}; the best test accuracy is the reference. "
        f"Synthetic tasks: {cfg.n_train} training and {cfg.n_test} test sequences (independent draws, per seed), "
        f"sequence lengths {', '.join(f'{k} {v}' for k, v in cfg.tasks.items())}. UCR/UEA sets: the published "
        f"splits. {cfg.hidden} hidden units, seeds {', '.join(map(str, cfg.seeds))}. Chance: always answering the "
        "training split's most common class, on the test set; \"at chance\" means not above it by two standard errors.",
        f"Ran in {seconds / 60:.1f} min on one CPU thread ({platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}); {getattr(cfg, 'cached', 0)} of {len(rows) * len(cfg.sweep_lrs)} sweep "
        "trainings were read from the cache of an earlier run of the same grid (`--cache`).",
        "",
        f"**Summary: {n_pass} of {len(rows)} runs pass ({n_pass / len(rows):.0%}); bar: {PASS_FRACTION:.0%}.**",
        "",
        per_group(rows),
        "",
        "What the numbers say:",
        "",
        reading(rows),
        "",
        "<details><summary>Every run</summary>",
        "",
        table(rows),
        "",
        "</details>",
        END,
    ])


def write_section(path: Path, text: str) -> None:
    """Replace this script's section of ``path``, or append it after the architectures report's end mark."""
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        before, rest = old.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        new = before + text + after
    else:
        if KEEP_MARK not in old:
            # experiments/architectures.py keeps only what follows its mark, so the section must sit there.
            old = old.rstrip("\n") + "\n\n" + KEEP_MARK + "\n"
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run; prints, writes nothing")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "results.md")
    parser.add_argument("--cache", type=Path, default=None, help="JSON file caching the sweep's accuracies")
    parser.add_argument("--json", type=Path, default=None, help="also write every run as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small networks train fastest on one thread
    cfg = quick_config() if args.quick else Config()
    start = time.perf_counter()
    rows = run_grid(cfg, args.cache)
    text = section(rows, cfg, time.perf_counter() - start)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"config": asdict(cfg), "rows": rows}, indent=1))
    if not args.quick:
        write_section(args.out, text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
