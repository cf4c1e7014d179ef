"""Train the small networks shipped in ``relaywidgets/pretrained`` and write their manifest.

Every network is trained with :func:`relaywidgets.train`'s defaults (only ``seed`` is passed) on data
that :func:`relaywidgets.pretrained.load_pretrained` regenerates exactly: a synthetic task drawn with a
recorded seed (the first ``n_train`` sequences train, the last ``n_test`` test), or a bundled UEA/UCR data
set with its published split. The manifest records, per network, the seeds, the data recipe, the training
settings and epochs run, the accuracies measured on the regenerated splits, and the SHA-256 of the file.

A network whose test accuracy stays below the floor given for it in ``NETWORKS`` (well above chance) is
retried with the next seed, up to three seeds; the manifest records the seed kept and the accuracies of
the seeds tried, so nothing is hidden.

Run by hand (a few minutes on one CPU thread)::

    python experiments/train_pretrained.py            # trains all, rewrites the manifest
    python experiments/train_pretrained.py --only cue-hold-lstm
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

import relaywidgets
from relaywidgets import RecurrentClassifier, make_task, save, train
from relaywidgets.data import load_dataset
from relaywidgets.knockout import evaluate
from relaywidgets.pretrained import MANIFEST_FORMAT

OUT = Path(relaywidgets.__file__).parent / "pretrained"
HIDDEN = 16
TASK_DATA = {"n_train": 1000, "n_test": 500, "seq_len": 20, "seed": 2026}

#: name -> (task or data set, source, arch, accuracy floor the kept network must reach on the test split)
NETWORKS: dict[str, tuple[str, str, str, float]] = {
    "delayed-cue-rnn": ("delayed-cue", "task", "rnn", 0.6),
    "delayed-cue-lstm": ("delayed-cue", "task", "lstm", 0.6),
    "delayed-cue-gru": ("delayed-cue", "task", "gru", 0.6),
    "temporal-xor-rnn": ("temporal-xor", "task", "rnn", 0.7),
    "temporal-xor-lstm": ("temporal-xor", "task", "lstm", 0.7),
    "temporal-xor-gru": ("temporal-xor", "task", "gru", 0.7),
    "cue-hold-lstm": ("cue-hold", "task", "lstm", 0.6),
    "cue-hold-gru": ("cue-hold", "task", "gru", 0.6),
    "japanese-vowels-lstm": ("JapaneseVowels", "dataset", "lstm", 0.7),
    "japanese-vowels-gru": ("JapaneseVowels", "dataset", "gru", 0.7),
}
DESCRIPTIONS = {
    "delayed-cue": "remembers which of 4 channels carried a cue early in a noisy sequence of 20 steps",
    "temporal-xor": "outputs the XOR of two bits shown at different steps of a noisy sequence of 20 steps",
    "cue-hold": "holds a cue shown at a random step 2-7 until step 20 (3 classes)",
    "JapaneseVowels": "tells 9 speakers apart from 12 LPC cepstrum coefficients of the vowel /ae/",
}


def _data(task: str, source: str) -> tuple[Any, ...]:
    if source == "task":
        d = TASK_DATA
        X, y = make_task(task, n_samples=d["n_train"] + d["n_test"], seq_len=d["seq_len"], seed=d["seed"])
        n = d["n_train"]
        return X[:n], y[:n], None, X[n:], y[n:], None, None
    ds = load_dataset(task)
    return ds.X_train, ds.y_train, ds.lengths_train, ds.X_test, ds.y_test, ds.lengths_test, list(ds.class_names)


def train_one(name: str, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    task, source, arch, floor = NETWORKS[name]
    X_tr, y_tr, l_tr, X_te, y_te, l_te, class_names = _data(task, source)
    tried = []
    for seed in seeds:
        model = RecurrentClassifier(arch, X_tr.shape[2], HIDDEN, int(y_tr.max()) + 1, device="cpu", seed=seed)
        model.metadata.update({"task": task, "pretrained": name})
        if class_names is not None:
            model.metadata["class_names"] = class_names
        start = time.perf_counter()
        history = train(model, X_tr, y_tr, lengths=l_tr, seed=seed, progress=False)
        seconds = time.perf_counter() - start
        test_acc = float(evaluate(model, X_te, y_te, lengths=l_te).accuracy)
        train_acc = float(evaluate(model, X_tr, y_tr, lengths=l_tr).accuracy)
        tried.append((seed, test_acc))
        print(f"{name:24s} seed {seed}: test {test_acc:.3f}, train {train_acc:.3f}, {len(history.train_loss)} epochs, {seconds:.0f} s")
        if test_acc >= floor:
            break
    else:
        raise SystemExit(f"{name}: no seed of {seeds} reached the floor {floor} ({tried}); not shipped.")
    path = save(model, OUT / "networks" / f"{name}.pt")
    return {
        "task": task,
        "source": source,
        "arch": arch,
        "hidden_size": HIDDEN,
        "seed": seed,
        "data": dict(TASK_DATA) if source == "task" else {},
        "training": {"defaults_of": f"relaywidgets {relaywidgets.__version__} train()", "seed": seed,
                     "epochs_run": len(history.train_loss), "best_epoch": history.best_epoch,
                     "seeds_tried": [s for s, _ in tried], "test_accuracy_of_tried": [round(a, 4) for _, a in tried]},
        "test_accuracy": test_acc,
        "train_accuracy": train_acc,
        "description": f"A {HIDDEN}-unit {arch.upper()} that {DESCRIPTIONS[task]}.",
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(NETWORKS), help="retrain only these networks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    manifest_path = OUT / "manifest.json"
    old = json.loads(manifest_path.read_text())["networks"] if manifest_path.exists() else {}
    names = args.only or list(NETWORKS)
    entries = {name: (train_one(name) if name in names else old[name]) for name in NETWORKS if name in names or name in old}
    manifest = {"format": MANIFEST_FORMAT, "trained_by": "experiments/train_pretrained.py", "torch": torch.__version__,
                "networks": entries}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum((OUT / "networks" / e["file"]).stat().st_size for e in entries.values())
    print(f"{len(entries)} networks, {total / 1024:.0f} KiB in {OUT / 'networks'}")


if __name__ == "__main__":
    main()
