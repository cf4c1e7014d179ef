"""Smoke tests of the relay benchmark and the architecture experiment at tiny sizes (no timings)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(relpath: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_benchmark_fast_and_naive_find_the_same_paths():
    bench = _load("benchmarks/relay_bench.py", "relay_bench")
    out = bench.compare_naive(n_nodes=6, n_samples=300, n_classes=3, pairs=[(0, 1), (2, 2)], n_steps=3)
    assert out["same_paths"]


def test_chance_persistence_is_exact_for_small_cases():
    exp = _load("experiments/architectures.py", "architectures")
    # two random singletons out of 4 nodes coincide with probability 1/4 (Jaccard 1), else 0
    assert exp.chance_persistence([1, 1], 4) == pytest.approx(0.25)
    # full sets always coincide; two empty sets are skipped
    assert exp.chance_persistence([4, 4, 4], 4) == pytest.approx(1.0)
    assert exp.chance_persistence([0, 0], 4) != exp.chance_persistence([0, 0], 4)  # NaN


def test_architecture_experiment_runs_and_writes_a_report(tmp_path):
    pytest.importorskip("torch")
    exp = _load("experiments/architectures.py", "architectures")
    cfg = exp.Config(tasks=("delayed-cue",), seeds=(0,), hidden=3, seq_len=5, n_train=120, n_record=150,
                     epochs=1, n_perm=3)
    out = exp.run(cfg, progress=False)
    assert set(out["runs"]["arch"]) == {"rnn", "lstm", "gru"}
    text = exp.write_report(cfg, out, tmp_path / "results.md")
    for needle in ("persistence index", "Relay-set size per step", "What the data shows", "| delayed-cue | gru | 0 |"):
        assert needle in text
