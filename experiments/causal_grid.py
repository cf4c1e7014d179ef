"""Which relay analysis predicts causal importance? Relay variants against knockouts, on a grid of networks.

For RNN, LSTM and GRU classifiers (hidden 8, 16, 32; 3 seeds) trained on ``delayed-cue``, ``temporal-xor``
and JapaneseVowels, the script measures on held-out data, for every class:

- the single-unit effects (``relaywidgets.knockout.unit_effects``: each unit knocked out over the whole
  sequence, alone), with the knockout value zero and the node's mean;
- for every relay *variant* (one factor changed at a time from ``find_relays``' default: least-loss order,
  fraction rule at threshold 0.9, plug-in estimator, two-means coarse-graining, ``source="input"``, the
  hidden state) the relay ranking at the **last step** (the aggregated relay score), scored by its
  deletion-curve area over random (``relaywidgets.knockout.deletion_curve``) and by Spearman's rho against
  the single-unit effect; and its relay set, knocked out against size-matched random sets;
- the same scores for the baselines: readout-weight magnitude, gradient x activation and integrated
  gradients (Captum), and the single-unit effect itself (the causal upper reference: the best possible
  ranking at k = 1).

Its section of ``docs/results.md`` (between ``<!-- causal-grid:begin -->`` and ``<!-- causal-grid:end -->``,
after the end mark of ``experiments/architectures.py``'s report, which keeps it) holds the setup, the tables
and a reading written from the numbers; rerunning replaces only that section. Trained weights are cached
under ``runs/causal_grid/`` (git-ignored) and so are the per-network analyses, so a rerun skips training
and an interrupted run resumes.

Run by hand (about 40 minutes on one CPU thread)::

    python experiments/causal_grid.py            # writes docs/results.md
    python experiments/causal_grid.py --quick    # two small networks, prints only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread, set before numpy loads: on a shared 2-core machine a multi-threaded BLAS makes gcmi's
# small triangular solves ~70x slower (measured: 10 ms instead of 0.14 ms for 32 x 500).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("rnn", "lstm", "gru")
KEEP_MARK = "<!-- end of the generated report; what follows is kept when the script reruns -->"
BEGIN = "<!-- causal-grid:begin -->"
END = "<!-- causal-grid:end -->"

#: The relay variants: each changes one factor of find_relays' default (the empty dict). ``value=mean``
#: keeps the default relay analysis and changes the knockout that scores it.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "estimator=shrinkage": {"estimator": "shrinkage"},
    "estimator=gcmi": {"estimator": "gcmi"},
    "discretizer=median": {"discretizer": "median"},
    "source=label": {"source": "label"},
    "order=most-loss": {"order": "most-loss"},
    "rule=significance": {"rule": "significance"},
    "variable=cell": {"variable": "cell"},  # LSTMs only
}
#: The other per-node relay scores of the default analysis (the variants are ranked by aggregated_score).
DEFAULT_SCORES = ("contribution", "unique_relay", "marginal_mi", "elimination_rank")
BASELINES = ("readout", "grad_x_act", "integrated_gradients", "effect")
#: A variant "wins" over the default when its paired gain in area over random is at least this large
#: (accuracy, mean over classes) and a Wilcoxon signed-rank test over the networks gives p below WIN_P.
WIN_GAIN = 0.02
WIN_P = 0.01


@dataclass
class Config:
    tasks: dict[str, int] = field(default_factory=lambda: {"delayed-cue": 10, "temporal-xor": 10})
    datasets: dict[str, int] = field(default_factory=lambda: {"JapaneseVowels": 7})  # name -> frames kept
    archs: tuple[str, ...] = ARCHS
    hidden: tuple[int, ...] = (8, 16, 32)
    seeds: tuple[int, ...] = (0, 1, 2)
    n_train: int = 800
    n_test: int = 1000
    epochs: int = 60
    lr: float = 3e-3
    threshold: float = 0.9
    n_perm: int = 100
    n_random: int = 100
    n_random_set: int = 100
    ig_steps: int = 32
    ks: tuple[int, ...] | None = None  # None: 1, 2, 4, ... below the layer size
    min_accuracy: float = 0.8
    variants: tuple[str, ...] = tuple(VARIANTS)


def quick_config() -> Config:
    return Config(tasks={"delayed-cue": 8}, datasets={}, archs=("lstm", "gru"), hidden=(8,), seeds=(0,),
                  n_train=400, n_test=200, epochs=30, n_perm=20, n_random=10, n_random_set=10, ig_steps=8)


# ---------------------------------------------------------------------- data and training
def load_data(name: str, seq_len: int, seed: int, cfg: Config) -> dict[str, Any]:
    """Training and held-out arrays of a synthetic task (fresh draws per seed) or a cropped UCR/UEA set.

    JapaneseVowels utterances last 7 to 29 frames. The relay analysis reads one step for every sample,
    so the set is cropped to its first ``seq_len`` frames (7: the shortest utterance), which every
    sequence has: every network then decides at the same step, the one analysed.
    """
    if name in cfg.tasks:
        from relaywidgets import make_task

        X, y = make_task(name, cfg.n_train, seq_len, seed=1000 + seed)
        X_test, y_test = make_task(name, cfg.n_test, seq_len, seed=2000 + seed)
    else:
        from relaywidgets.data import load_dataset

        ds = load_dataset(name)
        X, y = ds.X_train[:, :seq_len].copy(), ds.y_train
        X_test, y_test = ds.X_test[:, :seq_len].copy(), ds.y_test
        if min(ds.lengths_train.min(), ds.lengths_test.min()) < seq_len:
            raise ValueError(f"{name}: some sequences are shorter than the {seq_len} frames kept.")
    n_classes = int(max(y.max(), y_test.max())) + 1
    return {"X": X, "y": y, "X_test": X_test, "y_test": y_test, "n_classes": n_classes}


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def trained_model(data_name: str, arch: str, hidden: int, seed: int, data: dict[str, Any], cfg: Config,
                  cache: Path | None) -> tuple[Any, float]:
    """A trained network (from the cache when it is there) and the seconds its training took when it ran."""
    import torch

    from relaywidgets import RecurrentClassifier, train
    from relaywidgets.serialization import load, save

    path = None
    if cache is not None:
        key = _key(data_name, arch, hidden, seed, cfg.n_train, cfg.epochs, cfg.lr, cfg.tasks, cfg.datasets)
        path = cache / "models" / f"{data_name}-{arch}-h{hidden}-s{seed}-{key}.pt"
        if path.exists():
            meta = path.with_suffix(".json")
            took = json.loads(meta.read_text())["train_s"] if meta.exists() else float("nan")
            return load(path, device="cpu"), took
    torch.manual_seed(seed)
    model = RecurrentClassifier(arch, data["X"].shape[2], hidden, data["n_classes"], device="cpu", seed=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a chance-level run is reported from its test accuracy below
        # Every setting explicit: train()'s defaults are tuned elsewhere and must not move this grid.
        train(model, data["X"], data["y"], epochs=cfg.epochs, lr=cfg.lr, batch_size=64, val_fraction=0.2,
              patience=15, lr_patience=5, lr_factor=0.5, seed=seed, weight_decay=0.0, clip_grad=1.0,
              progress=False)
    seconds = time.perf_counter() - start
    if path is not None:
        save(model, path)
        path.with_suffix(".json").write_text(json.dumps({"train_s": seconds}))
    return model, seconds


# ---------------------------------------------------------------------- one network
def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")  # undefined for a constant ranking or effect
    return float(spearmanr(a[ok], b[ok]).statistic)


def find_variant_relays(rec: Any, variant: str, cfg: Config, seed: int) -> tuple[Any, list[str]]:
    """The relay result of one variant at the last step, and the concepts it could not analyse (with why).

    gcmi needs more positive samples than units in every one-vs-rest decision; it runs per concept so
    that a small class costs only that class. Its permutations are skipped (``n_perm=0``): the ranking
    and the fraction rule do not read them, and each costs a full search of the continuous estimator.
    """
    import xarray as xr

    from relaywidgets.errors import RelaywidgetsError
    from relaywidgets.relay import find_relays

    kwargs = dict(threshold=cfg.threshold, n_perm=cfg.n_perm, seed=seed, progress=False, device="numpy",
                  times=[int(rec["time"].values[-1])], **VARIANTS[variant])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undersampling warnings: the sizes are reported
        if variant != "estimator=gcmi":
            return find_relays(rec, **kwargs), []
        kwargs["n_perm"] = 0
        parts, failed = [], []
        for c in sorted(int(k) for k in np.unique(rec["label"].values)):
            try:
                parts.append(find_relays(rec, concepts=[c], **kwargs))
            except RelaywidgetsError as err:
                failed.append(f"class {c}: {str(err).split('.')[0]}")
        return (xr.concat(parts, dim="concept") if parts else None), failed


def analyse_network(model: Any, X: np.ndarray, y: np.ndarray, cfg: Config, *, seed: int = 0,
                    variants: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Score every relay variant and baseline of one trained network on held-out ``X, y``.

    Returns
    -------
    dict
        ``rankings``: one row per (class, knockout value, ranking) with ``area``, ``p_value``,
        ``rho_acc`` and ``rho_margin`` (Spearman against the single-unit accuracy and margin drops);
        ``sets``: one row per (class, knockout value, variant) with the relay-set ``size`` at the last
        step and its knockout's ``excess`` drop over size-matched random sets with ``p_value``;
        ``seconds``: time per part; ``failed``: concepts a variant could not analyse.
    """
    import xarray as xr

    from relaywidgets import record
    from relaywidgets.contract import resolve_concept
    from relaywidgets.knockout import deletion_curve, rankings, unit_effects

    variants = tuple(cfg.variants if variants is None else variants)
    if getattr(model, "arch", None) != "lstm":
        variants = tuple(v for v in variants if v != "variable=cell")
    rec = record(model, X, y)
    T = int(rec.sizes["time"])
    classes = sorted(int(c) for c in np.unique(y))
    seconds: dict[str, float] = {}
    relays, failed = {}, {}
    for v in variants:
        t0 = time.perf_counter()
        relays[v], why = find_variant_relays(rec, v, cfg, seed)
        seconds[f"relays {v}"] = time.perf_counter() - t0
        if why:
            failed[v] = why

    def relay_score(v: str, name: str, c: int) -> np.ndarray | None:
        res = relays[v]
        if res is None or c not in [int(k) for k in res["concept_class"].values]:
            return None
        da = res[name].isel(concept=resolve_concept(res, c), time=-1)
        return da

    rank_rows, set_rows = [], []
    t0 = time.perf_counter()
    for value in ("zero", "mean"):
        ref = rec if value == "mean" else None
        effects = unit_effects(model, X, y, value=value, reference=ref, n_boot=0, progress=False)
        for c in classes:
            pos = int(np.flatnonzero(effects["concept_class"].values == c)[0])
            eff_acc = effects["accuracy_drop"].values[pos]
            eff_margin = effects["margin_drop"].values[pos]
            base = rankings(model, X, y, c, names=["readout", "grad_x_act", "integrated_gradients"], time=-1,
                            value=value, reference=ref, n_steps=cfg.ig_steps)
            table = {name: base[name] for name in base.data_vars}
            table["effect"] = xr.DataArray(eff_acc, dims=("node",), coords={"node": effects["node"].values})
            # The relay rankings: every variant's aggregated score under zero knockouts; the default's
            # other scores too; under mean knockouts only the default (the knockout value is the factor).
            for v in variants if value == "zero" else ("default",):
                s = relay_score(v, "aggregated_score", c)
                if s is not None:
                    table[f"relay {v}"] = s
            if value == "zero":
                for name in DEFAULT_SCORES:
                    table[f"default {name}"] = relay_score("default", name, c)
            names = list(table)
            ds = xr.Dataset({n: table[n].reset_coords(drop=True).transpose("node") for n in names})
            dc = deletion_curve(model, X, y, ds, c, ks=cfg.ks, n_random=cfg.n_random, seed=seed, value=value,
                                reference=ref, time=-1, progress=False)
            node_order = [str(n) for n in effects["node"].values]
            for i, n in enumerate(names):
                sc = ds[n].sel(node=node_order).values.astype(float)
                rank_rows.append({
                    "class": c, "value": value, "ranking": n,
                    "area": float(dc["area"].values[i]), "p_value": float(dc["p_value"].values[i]),
                    "rho_acc": _spearman(sc, eff_acc), "rho_margin": _spearman(sc, eff_margin),
                })
            # Relay sets at the threshold against size-matched random sets (one test per distinct set).
            done: dict[tuple[int, ...], tuple[float, float]] = {}
            for v in variants if value == "zero" else ("default",):
                members = relay_score(v, "is_relay", c)
                if members is None:
                    continue
                mask = members.sel(node=node_order).values.astype(bool)
                key = tuple(np.flatnonzero(mask))
                size = len(key)
                if key not in done:
                    if size == 0:
                        done[key] = (float("nan"), float("nan"))
                    elif size == mask.size:
                        done[key] = (0.0, 1.0)  # every unit: a random set of that size is the same set
                    else:
                        st = deletion_curve(model, X, y, mask.astype(float), c, ks=[size],
                                            n_random=cfg.n_random_set, seed=seed, value=value, reference=ref,
                                            progress=False)
                        done[key] = (float(st["area"]), float(st["p_value"]))
                excess, p = done[key]
                set_rows.append({"class": c, "value": value, "variant": v, "size": size,
                                 "fraction": size / mask.size, "excess": excess, "p_value": p})
    seconds["knockouts"] = time.perf_counter() - t0
    return {"rankings": rank_rows, "sets": set_rows, "seconds": seconds, "failed": failed, "n_steps": T}


# ---------------------------------------------------------------------- the grid
def jobs(cfg: Config) -> list[tuple[str, int, str, int, int]]:
    out = []
    for name, seq_len in {**cfg.tasks, **cfg.datasets}.items():
        out += [(name, seq_len, arch, h, s) for arch in cfg.archs for h in cfg.hidden for s in cfg.seeds]
    return out


def run_grid(cfg: Config, cache: Path | None, progress: bool = True) -> dict[str, Any]:
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(1)  # small networks run fastest on one thread; the grid's time is per core
    nets, ranks, sets = [], [], []
    data_cache: dict[tuple[str, int], dict[str, Any]] = {}
    start = time.perf_counter()
    bar = tqdm(jobs(cfg), desc="causal grid", disable=not progress)
    for name, seq_len, arch, hidden, seed in bar:
        bar.set_postfix_str(f"{name} {arch} h{hidden} s{seed}")
        dkey = (name, seed if name in cfg.tasks else 0)
        if dkey not in data_cache:
            data_cache[dkey] = load_data(name, seq_len, seed, cfg)
        data = data_cache[dkey]
        model, train_s = trained_model(name, arch, hidden, seed, data, cfg, cache)
        model.eval()
        with torch.no_grad():
            pred = model.fused_forward(torch.from_numpy(data["X_test"])).argmax(1).numpy()
        accuracy = float((pred == data["y_test"]).mean())
        net = {"data": name, "arch": arch, "hidden": hidden, "seed": seed, "accuracy": accuracy,
               "learned": accuracy >= cfg.min_accuracy, "train_s": train_s}
        nets.append(net)
        if not net["learned"]:
            continue
        akey = _key("analysis", name, arch, hidden, seed, asdict(cfg))
        apath = cache / "analysis" / f"{name}-{arch}-h{hidden}-s{seed}-{akey}.json" if cache else None
        if apath is not None and apath.exists():
            res = json.loads(apath.read_text())
        else:
            t0 = time.perf_counter()
            res = analyse_network(model, data["X_test"], data["y_test"], cfg, seed=seed)
            res["analyse_s"] = time.perf_counter() - t0
            if apath is not None:
                apath.parent.mkdir(parents=True, exist_ok=True)
                apath.write_text(json.dumps(res))
        net.update(analyse_s=res["analyse_s"], failed=res["failed"], seconds=res["seconds"])
        ident = {k: net[k] for k in ("data", "arch", "hidden", "seed")}
        ranks += [{**ident, **r} for r in res["rankings"]]
        sets += [{**ident, **r} for r in res["sets"]]
    return {"nets": nets, "rankings": ranks, "sets": sets, "elapsed_s": time.perf_counter() - start,
            "config": asdict(cfg)}


# ---------------------------------------------------------------------- the report
def per_network(out: dict[str, Any]) -> Any:
    """Rankings averaged over classes: one row per (network, knockout value, ranking)."""
    import pandas as pd

    df = pd.DataFrame(out["rankings"])
    df["significant"] = df["p_value"] < 0.05
    keys = ["data", "arch", "hidden", "seed", "value", "ranking"]
    return df.groupby(keys, sort=False).agg(area=("area", "mean"), significant=("significant", "mean"),
                                            rho_acc=("rho_acc", "mean"), rho_margin=("rho_margin", "mean"),
                                            n_classes=("area", "size")).reset_index()


def _ms(x: Any, digits: int = 3) -> str:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "–"
    sd = x.std(ddof=1) if x.size > 1 else 0.0
    return f"{x.mean():+.{digits}f} ± {sd:.{digits}f}"


def _label(value: str, ranking: str) -> str:
    names = {"readout": "readout weight (abs)", "grad_x_act": "gradient × activation",
             "integrated_gradients": "integrated gradients", "effect": "single-unit effect (oracle at k=1)"}
    if ranking.startswith("relay "):
        text = f"relay {ranking[6:]}"
    elif ranking.startswith("default "):
        text = f"relay default, score {ranking[8:]}"
    else:
        text = names.get(ranking, ranking)
    return text if value == "zero" else f"{text} [value=mean]"


def _row_order(pn: Any) -> list[tuple[str, str]]:
    present = set(zip(pn["value"], pn["ranking"]))
    order = [("zero", f"relay {v}") for v in VARIANTS]
    order.append(("mean", "relay default"))
    order += [("zero", f"default {s}") for s in DEFAULT_SCORES]
    order += [("zero", b) for b in BASELINES] + [("mean", b) for b in BASELINES]
    return [k for k in order if k in present]


def main_table(pn: Any, sets: Any) -> str:
    lines = ["| ranking | networks | area over random | p < 0.05 | ρ vs accuracy drop | ρ vs margin drop "
             "| relay-set size (share of units) | set's drop over random | set p < 0.05 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for value, ranking in _row_order(pn):
        g = pn[(pn["value"] == value) & (pn["ranking"] == ranking)]
        size = excess = sig = "–"
        if ranking.startswith("relay "):
            sg = sets[(sets["value"] == value) & (sets["variant"] == ranking[6:])]
            if len(sg):
                size = f"{sg['fraction'].mean():.2f}"
                excess = _ms(sg.groupby(["data", "arch", "hidden", "seed"])["excess"].mean())
                sig = f"{(sg['p_value'] < 0.05).mean():.0%}"
        lines.append(f"| {_label(value, ranking)} | {len(g)} | {_ms(g['area'])} | {g['significant'].mean():.0%} "
                     f"| {_ms(g['rho_acc'], 2)} | {_ms(g['rho_margin'], 2)} | {size} | {excess} | {sig} |")
    return "\n".join(lines)


def breakdown(pn: Any, by: str, labels: dict[Any, str] | None = None) -> str:
    groups = list(dict.fromkeys(pn[by]))
    head = "| ranking | " + " | ".join(str((labels or {}).get(g, g)) for g in groups) + " |"
    lines = [head, "|---|" + "---|" * len(groups)]
    for value, ranking in _row_order(pn):
        g = pn[(pn["value"] == value) & (pn["ranking"] == ranking)]
        cells = [_ms(g[g[by] == k]["area"], 2) for k in groups]
        lines.append(f"| {_label(value, ranking)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sizes_table(sets: Any) -> str:
    """Relay-set sizes at the threshold: mean number of units by variant and layer size."""
    z = sets[sets["value"] == "zero"]
    hs = sorted(z["hidden"].unique())
    lines = ["| variant | " + " | ".join(f"{h} units" for h in hs) + " | empty sets |",
             "|---|" + "---|" * (len(hs) + 1)]
    for v in VARIANTS:
        g = z[z["variant"] == v]
        if g.empty:
            continue
        cells = [f"{g[g['hidden'] == h]['size'].mean():.1f}" if (g["hidden"] == h).any() else "–" for h in hs]
        lines.append(f"| {v} | " + " | ".join(cells) + f" | {(g['size'] == 0).mean():.0%} |")
    return "\n".join(lines)


def paired(pn: Any, a: tuple[str, str], b: tuple[str, str], col: str = "area") -> dict[str, float]:
    """Paired comparison over networks of ranking ``a`` minus ranking ``b`` (Wilcoxon signed-rank)."""
    from scipy.stats import wilcoxon

    keys = ["data", "arch", "hidden", "seed"]
    ga = pn[(pn["value"] == a[0]) & (pn["ranking"] == a[1])].set_index(keys)[col]
    gb = pn[(pn["value"] == b[0]) & (pn["ranking"] == b[1])].set_index(keys)[col]
    d = (ga - gb).dropna()
    if len(d) == 0:
        return {"n": 0, "mean": float("nan"), "sd": float("nan"), "p": float("nan")}
    p = float(wilcoxon(d.values).pvalue) if len(d) > 1 and np.any(d.values != 0) else 1.0
    return {"n": len(d), "mean": float(d.mean()), "sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0, "p": p}


def verdicts(pn: Any) -> dict[str, dict[str, Any]]:
    """Each variant against the default on the same networks: area gain, rho gain, and whether it wins."""
    out = {}
    default = ("zero", "relay default")
    for v in VARIANTS:
        if v == "default":
            continue
        key = ("zero", f"relay {v}")
        if not ((pn["value"] == key[0]) & (pn["ranking"] == key[1])).any():
            continue
        area = paired(pn, key, default)
        rho = paired(pn, key, default, "rho_margin")
        wins = area["mean"] >= WIN_GAIN and area["p"] < WIN_P and not (rho["mean"] < 0 and rho["p"] < WIN_P)
        loses = area["mean"] <= -WIN_GAIN and area["p"] < WIN_P
        out[v] = {"area": area, "rho": rho, "wins": bool(wins), "loses": bool(loses)}
    return out


def reading(pn: Any, sets: Any, nets: list[dict[str, Any]]) -> list[str]:
    """Plain statements written from the numbers (nothing here is typed in by hand)."""
    out = []
    ver = verdicts(pn)
    for v, r in ver.items():
        a, rho = r["area"], r["rho"]
        state = ("**wins**: it beats the default by a clear margin" if r["wins"] else
                 "**loses** to the default by a clear margin" if r["loses"] else "no clear difference from the default")
        out.append(f"- `{v}` against the default on the same {a['n']} networks: area gain {a['mean']:+.3f} ± "
                   f"{a['sd']:.3f} (Wilcoxon p = {a['p']:.2g}), ρ (margin) gain {rho['mean']:+.2f} ± {rho['sd']:.2f} "
                   f"(p = {rho['p']:.2g}): {state}.")
    winners = [v for v, r in ver.items() if r["wins"]]
    # The knockout value changes the measurement, not the ranking: compare each value's relay ranking with the
    # baselines measured the same way, and the two values' gaps with each other.
    gaps = {}
    for value in ("zero", "mean"):
        rel = "relay default"
        bases = [b for b in ("readout", "grad_x_act") if ((pn["value"] == value) & (pn["ranking"] == b)).any()]
        if not bases or not ((pn["value"] == value) & (pn["ranking"] == rel)).any():
            continue
        best = max(bases, key=lambda b: float(pn[(pn["value"] == value) & (pn["ranking"] == b)]["area"].mean()))
        gaps[value] = (best, paired(pn, (value, rel), (value, best)))
    if len(gaps) == 2:
        own = paired(pn, ("mean", "relay default"), ("zero", "relay default"))
        desc = "; ".join(f"with value={v} {g['mean']:+.3f} ± {g['sd']:.3f} against {_label(v, b)} (p = {g['p']:.2g})"
                         for v, (b, g) in gaps.items())
        out.append(f"- Knockout value: the default relay ranking's area over random is {own['mean']:+.3f} ± "
                   f"{own['sd']:.3f} higher with mean than with zero knockouts (p = {own['p']:.2g}, {own['n']} "
                   f"networks). Its gap to the better of readout weight and gradient × activation, each measured "
                   f"with the same knockouts: {desc}. Setting a unit to zero also moves it off its mean (an "
                   "offset the relay information, a statistic of the unit's variation, does not see); setting it "
                   "to its mean removes only its variation.")
    same = pn[(pn["value"] == "zero") & pn["ranking"].isin(["grad_x_act", "integrated_gradients"])]
    wide = same.pivot_table(index=["data", "arch", "hidden", "seed"], columns="ranking", values="area")
    if {"grad_x_act", "integrated_gradients"} <= set(wide.columns):
        diff = float((wide["grad_x_act"] - wide["integrated_gradients"]).abs().max())
        if diff < 1e-9:
            out.append("- Integrated gradients from the zero baseline equal gradient × activation here (largest "
                       f"difference {diff:.1e}): at the last step the logits are linear in the hidden state, so the "
                       "path integral is the first-order term.")
    out.append(f"- Criterion for changing a default (set before the grid ran): paired area gain ≥ {WIN_GAIN} with "
               f"Wilcoxon p < {WIN_P} over the networks, without a significant loss in ρ. The set comparisons below "
               "are secondary: `rule=significance` changes only the set, not the ranking. "
               + (f"Met by: {', '.join(f'`{v}`' for v in winners)}." if winners else
                  "No variant meets it, so the defaults stay."))
    mean_area = lambda k: float(pn[(pn["value"] == k[0]) & (pn["ranking"] == k[1])]["area"].mean())  # noqa: E731
    relay_keys = [k for k in _row_order(pn) if k[0] == "zero" and (k[1].startswith("relay ") or k[1].startswith("default "))]
    best_relay = max(relay_keys, key=mean_area)
    for base in ("readout", "grad_x_act", "integrated_gradients"):
        d = paired(pn, best_relay, ("zero", base))
        if d["n"] == 0:
            continue
        side = ("beats" if d["mean"] > 0 and d["p"] < 0.05 else
                "is beaten by" if d["mean"] < 0 and d["p"] < 0.05 else "does not separate from")
        out.append(f"- The best relay ranking by mean area, {_label(*best_relay)} ({mean_area(best_relay):+.3f}), "
                   f"{side} {_label('zero', base)} ({mean_area(('zero', base)):+.3f}): paired difference "
                   f"{d['mean']:+.3f} ± {d['sd']:.3f}, p = {d['p']:.2g}, {d['n']} networks.")
    # Per architecture: the default relay ranking against the best baseline.
    for arch, g in pn.groupby("arch", sort=False):
        rel = g[(g["value"] == "zero") & (g["ranking"] == "relay default")]["area"].mean()
        bases = {b: g[(g["value"] == "zero") & (g["ranking"] == b)]["area"].mean()
                 for b in ("readout", "grad_x_act", "integrated_gradients")}
        best = max(bases, key=bases.get)
        eff = g[(g["value"] == "zero") & (g["ranking"] == "effect")]["area"].mean()
        out.append(f"- {arch.upper()}: relay default {rel:+.3f}, best baseline {_label('zero', best)} "
                   f"{bases[best]:+.3f}, single-unit effect {eff:+.3f} (area over random, accuracy).")
    out += _score_lines(pn)
    out += _set_lines(sets)
    z = sets[(sets["value"] == "zero") & (sets["variant"] == "default")]
    if len(z):
        full = (z["fraction"] >= 0.75).mean()
        out.append(f"- Relay sets at θ = 0.9 (default analysis) hold {z['fraction'].mean():.0%} of the units on "
                   f"average; {full:.0%} of them hold at least three quarters of the layer. Knocked out, they beat "
                   f"size-matched random sets (p < 0.05) in {(z['p_value'] < 0.05).mean():.0%} of the class-network "
                   "pairs: a set that holds nearly every unit cannot differ from a random set of its size.")
    ml = sets[(sets["value"] == "zero") & (sets["variant"] == "order=most-loss")]
    if len(ml):
        per_net = ml.groupby(["data", "arch", "hidden", "seed"])["excess"].mean()
        out.append(f"- With `order=most-loss` the relay sets are small ({ml['size'].mean():.1f} units on average, "
                   f"{ml['fraction'].mean():.0%} of the layer) and beat random sets of their size in "
                   f"{(ml['p_value'] < 0.05).mean():.0%} of the pairs, with a mean extra drop of "
                   f"{per_net.mean():+.3f} (mean over networks).")
    left = [n for n in nets if not n["learned"]]
    if left:
        out.append(f"- {len(left)} of {len(nets)} networks did not learn (test accuracy below the bar) and are left "
                   "out: " + ", ".join(f"{n['data']} {n['arch'].upper()}-{n['hidden']} seed {n['seed']} "
                                       f"({n['accuracy']:.2f})" for n in left) + ".")
    return out


def _score_lines(pn: Any) -> list[str]:
    """The default analysis's own scores against ``contribution`` (the explorer's and agreement()'s default)."""
    out = []
    ref = ("zero", "default contribution")
    if not ((pn["value"] == ref[0]) & (pn["ranking"] == ref[1])).any():
        return out
    for name in ("relay default", "default marginal_mi", "default unique_relay"):
        a, r = paired(pn, ("zero", name), ref), paired(pn, ("zero", name), ref, "rho_margin")
        if a["n"] == 0:
            continue
        bar = "meets" if a["mean"] >= WIN_GAIN and a["p"] < WIN_P else "does not meet"
        out.append(f"- Scores of the default analysis: {_label('zero', name)} against the contribution score on "
                   f"the same {a['n']} networks: area {a['mean']:+.3f} ± {a['sd']:.3f} (p = {a['p']:.2g}), ρ (margin) "
                   f"{r['mean']:+.2f} ± {r['sd']:.2f} (p = {r['p']:.2g}); {bar} the bar on the area.")
    return out


def _set_lines(sets: Any) -> list[str]:
    """Each variant's relay set against the default's: paired gain in the knockout's drop over random sets."""
    from scipy.stats import wilcoxon

    out = []
    z = sets[sets["value"] == "zero"].copy()
    z["significant"] = z["p_value"] < 0.05
    keys = ["data", "arch", "hidden", "seed"]
    per = z.groupby(keys + ["variant"]).agg(excess=("excess", "mean"), significant=("significant", "mean"))
    per = per.reset_index()
    wide = per.pivot_table(index=keys, columns="variant", values="excess")
    share = z.groupby(["variant", "data"])["significant"].mean().unstack()
    if "default" not in wide.columns:
        return out
    set_winners = []
    for v in [v for v in VARIANTS if v != "default" and v in wide.columns]:
        d = (wide[v] - wide["default"]).dropna()
        if d.empty:
            continue
        p = float(wilcoxon(d.values).pvalue) if len(d) > 1 and np.any(d.values != 0) else 1.0
        by_task = ", ".join(f"{t} {share.at[v, t]:.0%} (default {share.at['default', t]:.0%})" for t in share.columns)
        bar = "meets" if d.mean() >= WIN_GAIN and p < WIN_P else "does not meet"
        if bar == "meets":
            set_winners.append(v)
        size = z[z["variant"] == v]["fraction"].mean()
        out.append(f"- Relay set of `{v}` ({size:.0%} of the units) against the default's on the same {len(d)} "
                   f"networks: its drop over random differs by {d.mean():+.3f} ± "
                   f"{d.std(ddof=1) if len(d) > 1 else 0.0:.3f} (Wilcoxon p = {p:.2g}; {bar} the bar on the set's "
                   f"drop); sets beating random (p < 0.05) by task: {by_task}.")
    for v in set_winners:
        gains = {t: share.at[v, t] - share.at["default", t] for t in share.columns}
        where = [t for t, g in gains.items() if g > 0.05]
        out.append(f"- `{v}` meets the bar on the set's drop only, not on the ranking the defaults are decided by"
                   + (f"; its extra significant sets come from {', '.join(where)}" if where else "")
                   + ". It is reported here, not made the default.")
    return out


def section(out: dict[str, Any]) -> str:
    import pandas as pd

    cfg = out["config"]
    nets = out["nets"]
    pn = per_network(out)
    sets = pd.DataFrame(out["sets"])
    learned = [n for n in nets if n["learned"]]
    failed = {}
    for n in learned:
        for v, why in n.get("failed", {}).items():
            failed.setdefault(v, []).append(f"{n['data']} {n['arch'].upper()}-{n['hidden']} s{n['seed']}: {len(why)} class(es)")
    seconds = float(np.nansum([n.get("analyse_s", 0.0) + n.get("train_s", 0.0) for n in nets]))
    per_task = pd.DataFrame([{k: n[k] for k in ("data", "arch", "accuracy", "learned")} for n in nets])
    acc = per_task.groupby(["data", "arch"], sort=False).agg(
        acc=("accuracy", "mean"), learned=("learned", "sum"), n=("learned", "size")).reset_index()
    acc_text = "; ".join(f"{r.data} {r.arch.upper()} {r.acc:.2f} ({r.learned}/{r.n})" for r in acc.itertuples())
    ks = cfg["ks"] or "1, 2, 4, … below the layer size"
    lines = [
        BEGIN,
        "## Which relay analysis predicts causal importance? (generated by `experiments/causal_grid.py`)",
        "",
        "### Setup",
        "",
        f"- Networks: {', '.join(a.upper() for a in cfg['archs'])} × hidden {', '.join(map(str, cfg['hidden']))} × "
        f"seeds {', '.join(map(str, cfg['seeds']))} × "
        + ", ".join([f"`{t}` ({T} steps)" for t, T in cfg["tasks"].items()]
                    + [f"{d} (first {T} frames of every utterance, so every sequence decides at the analysed step)"
                       for d, T in cfg["datasets"].items()])
        + f": {len(nets)} networks, one layer each. Trained with `train(lr={cfg['lr']}, epochs={cfg['epochs']}, "
        "batch_size=64, val_fraction=0.2, patience=15, lr_patience=5, clip_grad=1.0)` on "
        f"{cfg['n_train']} sequences (the published training split for UCR/UEA); analysed on held-out data "
        f"({cfg['n_test']} fresh sequences; the published test split). Networks below {cfg['min_accuracy']:.0%} test "
        f"accuracy are left out. Mean test accuracy (learned/trained): {acc_text}.",
        f"- Relay analysis at the **last step** only (the decision step), every class as a one-vs-rest concept; "
        f"default `find_relays` settings (least-loss order, fraction rule θ = {cfg['threshold']}, plug-in estimator, "
        f"two-means coarse-graining, `source=\"input\"`, hidden state, {cfg['n_perm']} permutations) with one factor "
        "changed per variant. The ranking of a variant is its aggregated relay score; the default's other scores are "
        "listed too. gcmi runs without permutations (the ranking and the fraction rule do not read them). "
        "`rule=significance` keeps the default's ranking (same search path); only its set differs. "
        "`variable=cell` exists for LSTMs only.",
        f"- Knockouts over the whole sequence (the window of `unit_effects` and `deletion_curve`), value zero; "
        "`[value=mean]` rows set the unit to its mean over the held-out recording instead (the effect, the integrated-"
        "gradients baseline and the deletion curves all use that value).",
        f"- **Area over random**: `deletion_curve` of each class at k = {ks}: the mean over k of the drop in the "
        f"class's accuracy with the top-k units knocked out minus the mean drop of {cfg['n_random']} random k-sets; "
        "*p < 0.05* is the share of class-network pairs whose empirical p-value is below 0.05. **ρ**: Spearman "
        "between the ranking's scores and the single-unit effect (accuracy drop, or margin drop) of the same class; "
        "NaN when either is constant (left out of the means). Each number is first averaged over the classes of a "
        "network; mean ± sd are over networks.",
        f"- Baselines on the same axis: readout-weight magnitude, gradient × activation and integrated gradients "
        f"({cfg['ig_steps']} steps; Captum) of the true-class logit with respect to the last step's hidden state; "
        "the single-unit effect is the causal upper reference (it is the best ranking at k = 1 by construction).",
        f"- Relay sets at θ: knocked out together against {cfg['n_random_set']} random sets of the same size "
        "(`deletion_curve` at k = set size); *set's drop over random* is the mean excess drop in accuracy.",
        f"- Cost: {seconds / 60:.1f} min of training and analysis summed over the networks (measured when each was "
        f"first computed; trained weights and analyses are cached under runs/causal_grid/), this run "
        f"{out['elapsed_s'] / 60:.1f} min wall time, on one CPU thread ({platform.processor() or platform.machine()}) "
        "of a 2-core machine shared with other processes. Chosen for that budget: 100 permutations, 100 random "
        "orderings per deletion curve and per relay-set test, 32 integration steps.",
        "",
        f"### All networks ({len(learned)} that learned)",
        "",
        main_table(pn, sets),
        "",
        "### Area over random by architecture",
        "",
        breakdown(pn, "arch", {a: a.upper() for a in ARCHS}),
        "",
        "### Area over random by task",
        "",
        breakdown(pn, "data"),
        "",
        "### Area over random by layer size",
        "",
        breakdown(pn, "hidden", {h: f"{h} units" for h in cfg["hidden"]}),
        "",
        "### Relay-set sizes at the last step (mean units per set, θ = 0.9)",
        "",
        sizes_table(sets),
        "",
        "### What the numbers say",
        "",
        *reading(pn, sets, nets),
    ]
    if failed:
        lines += ["", "Not analysed: " + "; ".join(f"`{v}` on {', '.join(w)}" for v, w in failed.items())
                  + " (gcmi needs more samples of a class than units)."]
    lines.append(END)
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace this script's section of ``path``, or append it after the architectures report's end mark."""
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        before, rest = old.split(BEGIN, 1)
        new = before + text + rest.split(END, 1)[1]
    else:
        if KEEP_MARK not in old:
            # experiments/architectures.py keeps only what follows its mark, so the section must sit there.
            old = old.rstrip("\n") + "\n\n" + KEEP_MARK + "\n"
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small networks; prints, writes nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "causal_grid",
                        help="trained weights and per-network analyses (git-ignored)")
    parser.add_argument("--save", type=Path, default=None, help="also write the raw rows as JSON here")
    parser.add_argument("--render", type=Path, default=None, help="only re-render the section from a --save file")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.render is not None:
        out = json.loads(args.render.read_text())
    else:
        cfg = quick_config() if args.quick else Config()
        out = run_grid(cfg, None if args.quick else args.cache, progress=not args.quiet)
        if args.save is not None:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(out))
    text = section(out)
    if not args.quiet:
        print(text)
    if not args.quick:
        write_section(args.out, text)
        print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
