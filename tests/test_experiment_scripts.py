"""Smoke tests of experiments/causal_grid.py at tiny sizes: the table's structure and a planted truth."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(relpath: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def grid():
    pytest.importorskip("torch")
    pytest.importorskip("captum")
    return _load("experiments/causal_grid.py", "causal_grid")


@pytest.fixture(scope="module")
def tiny(grid):
    """One small trained LSTM analysed with every variant; k = 1 only, so the single-unit effect is the oracle."""
    cfg = grid.Config(tasks={"delayed-cue": 6}, datasets={}, archs=("lstm",), hidden=(5,), seeds=(0,), n_train=300,
                      n_test=240, epochs=20, lr=1e-2, n_perm=5, n_random=8, n_random_set=5, ig_steps=4, ks=(1,),
                      min_accuracy=0.0)
    data = grid.load_data("delayed-cue", 6, 0, cfg)
    model, _ = grid.trained_model("delayed-cue", "lstm", 5, 0, data, cfg, None)
    return cfg, grid.analyse_network(model, data["X_test"], data["y_test"], cfg, seed=0)


def test_analysis_rows_cover_every_variant_baseline_class_and_value(grid, tiny):
    cfg, res = tiny
    rows = res["rankings"]
    assert {"class", "value", "ranking", "area", "p_value", "rho_acc", "rho_margin"} <= set(rows[0])
    classes = {r["class"] for r in rows}
    assert classes == {0, 1, 2, 3}
    zero = {r["ranking"] for r in rows if r["value"] == "zero"}
    mean = {r["ranking"] for r in rows if r["value"] == "mean"}
    assert {f"relay {v}" for v in grid.VARIANTS} <= zero  # the cell variant too: the network is an LSTM
    assert {f"default {s}" for s in grid.DEFAULT_SCORES} <= zero
    assert set(grid.BASELINES) <= zero and set(grid.BASELINES) <= mean
    assert "relay default" in mean
    for r in rows:
        assert np.isfinite(r["area"]) and 0 < r["p_value"] <= 1
        assert np.isnan(r["rho_acc"]) or -1 <= r["rho_acc"] <= 1
    sets = res["sets"]
    assert {s["variant"] for s in sets if s["value"] == "zero"} == set(grid.VARIANTS)
    assert all(0 <= s["size"] <= 5 and s["fraction"] == s["size"] / 5 for s in sets)


def test_single_unit_effect_is_the_oracle_at_k_1(tiny):
    # With k = 1 the effect ranking knocks out the unit of largest single drop: no ranking can do better.
    _, res = tiny
    effect = [r["area"] for r in res["rankings"] if r["ranking"] == "effect"]
    assert max(effect) > 0.05  # the network learned enough for some unit to matter: the check is not vacuous
    for value in ("zero", "mean"):
        for c in range(4):
            group = {r["ranking"]: r["area"] for r in res["rankings"] if r["class"] == c and r["value"] == value}
            assert all(group["effect"] >= a - 1e-12 for a in group.values()), (value, c, group)
    # and it agrees perfectly with the accuracy drop it is made of, wherever rho is defined
    rho = [r["rho_acc"] for r in res["rankings"] if r["ranking"] == "effect" and np.isfinite(r["rho_acc"])]
    assert rho and np.allclose(rho, 1.0)


def test_report_section_structure_and_rerun_replaces_only_it(grid, tiny, tmp_path):
    cfg, res = tiny
    ident = {"data": "delayed-cue", "arch": "lstm", "hidden": 5}
    out = {"config": grid.asdict(cfg), "elapsed_s": 1.0, "rankings": [], "sets": [], "nets": []}
    for seed in (0, 1):  # two copies stand in for two networks
        out["nets"].append({**ident, "seed": seed, "accuracy": 0.9, "learned": True, "train_s": 0.0,
                            "analyse_s": 1.0, "failed": {}})
        out["rankings"] += [{**ident, "seed": seed, **r} for r in res["rankings"]]
        out["sets"] += [{**ident, "seed": seed, **s} for s in res["sets"]]
    out["nets"].append({**ident, "seed": 2, "accuracy": 0.3, "learned": False, "train_s": 0.0})
    text = grid.section(out)
    assert text.startswith(grid.BEGIN) and text.endswith(grid.END)
    for needle in ("### Setup", "### All networks (2 that learned)", "| relay default | 2 |",
                   "| single-unit effect (oracle at k=1) | 2 |", "| relay default [value=mean] | 2 |",
                   "### Area over random by architecture", "### Relay-set sizes", "### What the numbers say",
                   "did not learn", "No variant meets it" if "**wins**" not in text else "Met by"):
        assert needle in text, needle
    path = tmp_path / "results.md"
    path.write_text("# report\n\n" + grid.KEEP_MARK + "\n\nkept by hand\n")
    grid.write_section(path, text)
    grid.write_section(path, text.replace("### Setup", "### Setup again"))
    written = path.read_text()
    assert written.count(grid.BEGIN) == 1 and "### Setup again" in written and "kept by hand" in written
    assert written.index(grid.KEEP_MARK) < written.index(grid.BEGIN)
