"""Command-line interface: ``relaywidgets demo`` runs the headless main job end to end."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence


__all__ = ["main", "run_demo"]

CORE_SIZE = 3


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relaywidgets", description="Information relays in recurrent networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small model, record it, find its relays and knock them out")
    demo.add_argument("--arch", default="lstm", choices=["rnn", "lstm", "gru"], help="recurrent architecture")
    demo.add_argument("--task", default="delayed-cue", help="synthetic task (delayed-cue, temporal-xor, frequency)")
    demo.add_argument("--out", default="runs/demo", help="output folder for the model, recording and results")
    demo.add_argument("--hidden-size", type=int, default=32, help="hidden units")
    demo.add_argument("--seq-len", type=int, default=20, help="steps per sequence")
    demo.add_argument("--n-train", type=int, default=2000, help="training sequences")
    demo.add_argument("--n-test", type=int, default=1000, help="held-out test sequences")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of data, training and analyses (an int >= 0)")
    demo.add_argument("--no-relays", action="store_true", help="skip the relay analysis and knockouts")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    sub.add_parser("pretrained", help="list the small trained networks shipped with the package")
    return parser


def _seed(text: str) -> int:
    """A non-negative integer seed; argparse turns the ValueError into a usage message naming --seed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def run_demo(args: argparse.Namespace) -> dict:
    """Run the demo job described by parsed CLI ``args`` and return its summary."""
    from . import RecurrentClassifier, make_task, record, save, save_recording, train
    from .metrics import recording_accuracy

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.quiet
    X, y = make_task(args.task, args.n_train, args.seq_len, seed=args.seed)
    X_test, y_test = make_task(args.task, args.n_test, args.seq_len, seed=args.seed + 10_000)
    n_classes = int(max(y.max(), y_test.max()) + 1)
    model = RecurrentClassifier(args.arch, X.shape[2], args.hidden_size, n_classes, device="auto", seed=args.seed)
    model.metadata["task"] = args.task
    t0 = time.perf_counter()
    history = train(model, X, y, seed=args.seed, progress=progress)
    train_seconds = time.perf_counter() - t0
    rec = record(model, X_test, y_test)
    save(model, out / "model.pt")
    save_recording(rec, out / "recording.nc")
    table = recording_accuracy(rec)
    summary = {
        "arch": args.arch,
        "task": args.task,
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "epochs": len(history.train_loss),
        "test_accuracy": table["accuracy"],
        "class_accuracy": table["class_accuracy"],
    }
    print(f"relaywidgets demo: {args.arch.upper()} on {args.task}, trained in {train_seconds:.1f} s "
          f"({len(history.train_loss)} epochs)")
    print(f"test accuracy: {table['accuracy']:.3f}  ({len(y_test)} held-out sequences)")
    for cls, acc in table["class_accuracy"].items():
        print(f"  class {cls}: {acc:.3f}")
    if not args.no_relays:
        summary.update(_relay_and_knockout_summary(model, rec, X_test, y_test, out, args, progress))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out / 'model.pt'}, {out / 'recording.nc'}, {out / 'summary.json'}")
    return summary


def _relay_and_knockout_summary(model, rec, X_test, y_test, out: Path, args, progress: bool) -> dict:
    """Relay sets at the last step, persistence, and the relay-versus-random knockout table."""
    from .knockout import relay_knockout_test
    from .relay import find_relays, relay_drift

    relays = find_relays(rec, n_perm=100, seed=args.seed, progress=progress)
    relays.to_netcdf(out / "relays.nc", engine="h5netcdf")
    last = int(relays.time.values[-1])
    drift = relay_drift(relays)
    print(f"relay sets at the last step (t={last}), threshold {relays.attrs['threshold']}:")
    result: dict = {"relays_last_step": {}, "persistence_index": {}}
    for concept in relays.concept.values:
        sel = relays.sel(concept=concept, time=last)
        nodes = [str(n) for n in sel.node.values[sel.is_relay.values]]
        pi = float(drift["persistence_index"].sel(concept=concept))
        sig = bool(sel.significant)
        result["relays_last_step"][str(concept)] = nodes
        result["persistence_index"][str(concept)] = round(pi, 3)
        shown = ", ".join(nodes) if len(nodes) <= 8 else ", ".join(nodes[:8]) + ", ..."
        print(f"  concept {concept}: {len(nodes)} of {rec.sizes['node']} nodes [{shown}] "
              f"(p={float(sel.p_value):.3f}, {'significant' if sig else 'not significant'} at alpha "
              f"{relays.attrs['alpha']}); persistence index {pi:.2f}")
    n_nodes = rec.sizes["node"]
    core = relays.assign(is_relay=relays.elimination_rank >= n_nodes - CORE_SIZE)
    print(f"relay-versus-random knockouts at every step (drop in the class's accuracy; core = the {CORE_SIZE} "
          "nodes the search keeps longest):")
    result["knockouts"] = {}
    for concept in relays.concept.values:
        if str(concept) == "all":
            continue
        row = {}
        # The full relay set, and its core: the CORE_SIZE nodes the greedy search keeps longest.
        for name, sets in (("relay_set", relays), ("core", core)):
            test = relay_knockout_test(model, X_test, y_test, sets, concept, n_random=100, seed=args.seed,
                                       time=last, significant_only=False)
            row[name] = {k: float(test[k]) for k in ("relay_drop", "random_drop_mean", "p_value")}
            row[name]["size"] = int(sets.is_relay.sel(concept=concept, time=last).sum())
        result["knockouts"][str(concept)] = row
        print(f"  class {concept}: " + "; ".join(
            f"{label} ({row[name]['size']} nodes) drop {row[name]['relay_drop']:.3f} vs random "
            f"{row[name]['random_drop_mean']:.3f}, p={row[name]['p_value']:.3f}"
            for name, label in (("relay_set", "relay set"), ("core", "core"))))
    result["causal"] = _causal_summary(model, relays, X_test, y_test, last, args, progress)
    return result


def _causal_summary(model, relays, X_test, y_test, last: int, args, progress: bool) -> dict:
    """Causal sets and the agreement of relays with knockout effects, class by class, beside the relay sets."""
    from .knockout import agreement, causal_set, unit_effects

    effects = unit_effects(model, X_test, y_test, n_boot=0, progress=progress)
    at_last = relays.sel(time=[last])
    print(f"information versus intervention at t={last}: causal set = smallest set whose knockout (every step) "
          f"removes half of the class's accuracy; rho = Spearman correlation of relay contribution and the "
          f"single-unit knockout effect:")
    summary: dict = {}
    for concept in relays.concept.values:
        if str(concept) == "all":
            continue
        found = causal_set(model, X_test, y_test, str(concept), target=0.5, progress=False)
        agree = agreement(at_last.sel(concept=[concept]), effects, causal=found).isel(concept=0, time=0)
        causal_nodes = [str(n) for n in found.order.values]
        relay_nodes = [str(n) for n in at_last.node.values[at_last.is_relay.sel(concept=concept).values[0]]]
        row = {
            "causal_set": causal_nodes,
            "reached": bool(found.reached),
            "causal_drop": round(float(found.curve.values[-1]), 3),
            "relay_size": len(relay_nodes),
            "jaccard": round(float(agree.jaccard), 3),
            "hypergeom_p": round(float(agree.hypergeom_p), 3),
            "spearman": round(float(agree.spearman), 3),
        }
        summary[str(concept)] = row
        print(f"  class {concept}: causal set {causal_nodes} (drop {row['causal_drop']:.3f}"
              f"{'' if row['reached'] else ', target not reached'}) vs relay set of {len(relay_nodes)} nodes: "
              f"Jaccard {row['jaccard']:.2f} (hypergeometric p={row['hypergeom_p']:.3f}), rho {row['spearman']:+.2f}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``relaywidgets`` command."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from .errors import RelaywidgetsError

        try:
            run_demo(args)
        except RelaywidgetsError as exc:
            print(f"relaywidgets: error: {exc}", file=sys.stderr)
            return 2
    elif args.command == "pretrained":
        from .pretrained import pretrained

        for info in pretrained().values():
            print(f"{info.name:22s} {info.arch.upper():4s} {info.hidden_size:3d} units  {info.task:15s} "
                  f"test accuracy {info.test_accuracy:.3f}")
        print("Load one with relaywidgets.load_pretrained(name).")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
