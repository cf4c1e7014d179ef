"""Causal sets and keep sets: the fewest units whose knockout breaks a class, or that alone keep it
(METHOD.md, "Causal maps").

Both grow a set greedily and evaluate every candidate of a step in one stacked pass of the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_float, check_int
from ..errors import KnockoutError
from ._distributed import BlockRunner, cluster_for
from ._stacked import StackedRunner, check_metric, class_correct_block, drops_block, set_blocks

__all__ = ["causal_set", "keep_set"]


def causal_set(
    model: Any,
    X: Any,
    y: Any,
    concept: int | str,
    *,
    target: float = 0.5,
    metric: str = "accuracy",
    layer: int | None = None,
    times: Any = None,
    max_size: int | None = None,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    lengths: Any = None,
    batch_size: int | None = None,
    device: Any = "auto",
    progress: bool = True,
    client: Any = None,
) -> xr.Dataset:
    """Grow the smallest set of units whose knockout removes a target share of a class's accuracy.

    Starting from the empty set, each step adds the unit whose knockout, together with the set so far,
    gives the largest drop of the concept's ``metric`` (ties: the larger drop of the other metric, then
    the lower node position), until the drop reaches ``target`` times the intact value. A set of
    redundant units is found as a whole: the margin drops when the first copy goes, so the greedy step
    picks it even though accuracy has not moved yet.

    Parameters
    ----------
    model : RecurrentClassifier
        The network.
    X, y : array-like
        Evaluation sequences ``(sample, time, feature)`` and their true classes.
    concept : int or str
        A class index, a class label or name, or ``"all"`` (the overall accuracy).
    target : float in (0, 1], default 0.5
        Share of the concept's intact accuracy (or mean margin) the knockout must remove.
    metric : {"accuracy", "margin"}, default "accuracy"
        What the drop is measured in: the concept's accuracy, or its mean true-class logit margin.
    layer : int, optional
        Draw the units from this layer only (default: every layer).
    times : None, int, slice or sequence of int
        The knockout window, as in :class:`relaywidgets.Knockout` (default every step).
    max_size : int, optional
        Stop after this many units even when the target is not reached (default: the whole pool).
    value, reference, clamp_cell
        What a knocked-out unit is set to (see :func:`relaywidgets.knockout.effect_map`).
    lengths : array-like of int, optional
        Valid steps per sequence.
    batch_size : int, optional
        Rows (samples x candidate sets) per pass of the network.
    device : {"auto", "cpu", "cuda"} or torch.device, default "auto"
        Where to compute.
    progress : bool, default True
        Show a progress bar over the greedy steps (tqdm.auto).
    client : None, "local", str or distributed.Client, default None
        Where the candidates are evaluated. ``None``: in this process. ``"local"``: a ``LocalCluster`` of
        single-threaded worker processes, started here and closed at the end; a scheduler address
        (``"tcp://host:8786"``) or a ``distributed.Client``: that cluster (a Client is left open). The greedy
        steps follow one another; the candidates of a step run as tasks, one stacked pass each, and the
        runner (model, inputs and intact states) is sent to the cluster once. The result is the in-process
        one exactly (docs/scaling.md).

    Returns
    -------
    xarray.Dataset
        ``order (member)``: node labels in the order they were added; ``curve (step)``: the drop in
        ``metric`` with the first ``step`` units knocked out (step 0: nothing); ``accuracy_drop (step)``
        and ``margin_drop (step)``; ``class_drop (step, concept)``: every concept's accuracy drop and
        ``off_target_drop (step, concept)`` the same with NaN at the targeted concept; ``in_set (node)``;
        scalars ``reached``, ``set_size``, ``baseline`` (intact value of ``metric``), ``goal``
        (``target * baseline``), ``baseline_accuracy``, ``baseline_margin``. Attributes record the settings.

    Raises
    ------
    KnockoutError
        When the concept's intact accuracy (or mean margin) is not positive: there is nothing to remove.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import causal_set
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> result = causal_set(model, X, y, 1, target=0.5, progress=False)
    >>> bool(result.reached), result.order.values.tolist()
    (True, ['l0.h2'])
    """
    owner = "causal_set"
    target = check_float(target, "target", owner, 0.0, 1.0, low_open=True)
    return _grow(
        "remove", target, model, X, y, concept, metric, layer, times, max_size, value, reference, clamp_cell,
        lengths, batch_size, device, progress, owner, client,
    )


def keep_set(
    model: Any,
    X: Any,
    y: Any,
    concept: int | str,
    *,
    tolerance: float = 0.05,
    metric: str = "accuracy",
    layer: int | None = None,
    times: Any = None,
    max_size: int | None = None,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    lengths: Any = None,
    batch_size: int | None = None,
    device: Any = "auto",
    progress: bool = True,
    client: Any = None,
) -> xr.Dataset:
    """Grow the smallest set of units that, with every other unit knocked out, keeps a class near intact.

    Starting with every unit of the pool knocked out, each step restores the unit that leaves the
    smallest drop of the concept's ``metric`` (ties: the smaller drop of the other metric, then the lower
    node position), until the drop is at most ``tolerance`` times the intact value.

    Parameters
    ----------
    model, X, y, concept, metric, layer, times, max_size, value, reference, clamp_cell, lengths, batch_size, device, progress, client
        As in :func:`causal_set`; ``layer`` restricts both the kept units and the knocked-out rest to
        that layer.
    tolerance : float in [0, 1), default 0.05
        The largest drop, as a share of the intact accuracy (or mean margin), that still counts as kept.

    Returns
    -------
    xarray.Dataset
        As :func:`causal_set`, with ``order`` the kept units in the order they were restored and
        ``curve (step)`` the drop with every pool unit but the first ``step`` kept ones knocked out
        (step 0: the whole pool knocked out); ``goal`` is ``tolerance * baseline``.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import keep_set
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> kept = keep_set(model, X, y, 1, tolerance=0.1, progress=False)
    >>> int(kept.set_size) <= 6, bool(kept.reached)
    (True, True)
    """
    owner = "keep_set"
    tolerance = check_float(tolerance, "tolerance", owner, 0.0, 1.0, high_open=True)
    return _grow(
        "keep", tolerance, model, X, y, concept, metric, layer, times, max_size, value, reference, clamp_cell,
        lengths, batch_size, device, progress, owner, client,
    )


# ---------------------------------------------------------------------- the greedy search
def _grow(
    mode: str,
    share: float,
    model: Any,
    X: Any,
    y: Any,
    concept: Any,
    metric: Any,
    layer: Any,
    times: Any,
    max_size: Any,
    value: Any,
    reference: Any,
    clamp_cell: bool,
    lengths: Any,
    batch_size: Any,
    device: Any,
    progress: bool,
    owner: str,
    client: Any = None,
) -> xr.Dataset:
    """Grow a causal set (``mode="remove"``) or a keep set (``mode="keep"``) greedily, on ``client`` or here."""
    metric = check_metric(metric, owner)
    with cluster_for(client, owner) as run_on:
        from tqdm.auto import tqdm

        runner = StackedRunner(
            model, X, y, lengths=lengths, value=value, clamp_cell=clamp_cell, reference=reference,
            batch_size=batch_size, device=device, owner=owner,
        )
        label, cls = runner.resolve_concept(concept)
        rows = runner.concept_rows(cls)
        pool = runner.layer_pool(layer)
        steps = runner.window(times)
        max_size = len(pool) if max_size is None else check_int(max_size, "max_size", owner, 1, len(pool))
        n_nodes = len(runner.node_labels)
        base_acc = runner.base_correct[rows].sum() / rows.size
        base_margin = float(runner.base_margin[rows].mean())
        baseline = base_acc if metric == "accuracy" else base_margin
        if not baseline > 0:
            raise KnockoutError(
                f"{owner}: the intact network's {metric} for concept {label!r} is {baseline:.3g}, so there is nothing "
                f"to {'remove' if mode == 'remove' else 'keep'}. Pick a concept the network gets right, or "
                f"metric={'margin' if metric == 'accuracy' else 'accuracy'!r}."
            )
        goal = share * baseline

        def done(drop: float) -> bool:
            return drop >= goal - 1e-12 if mode == "remove" else drop <= goal + 1e-12

        def masks_for(chosen: list[int], candidates: np.ndarray) -> np.ndarray:
            """One knockout mask per candidate: the set so far plus (remove) or minus (keep) the candidate."""
            masks = np.zeros((len(candidates), n_nodes), dtype=bool)
            if mode == "remove":
                masks[:, chosen] = True
                masks[np.arange(len(candidates)), candidates] = True
            else:
                masks[:, pool] = True
                masks[:, chosen] = False
                masks[np.arange(len(candidates)), candidates] = False
            return masks

        blocks = BlockRunner(run_on, runner, owner=owner, model=runner.net)

        def drops(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """The concept's accuracy and margin drops of every set, one block of whole passes per task."""
            parts = blocks.run(drops_block, set_blocks(runner, masks, steps, rows), common=(steps, rows),
                               what="blocks of candidate sets")
            both = np.concatenate(parts, axis=1)
            return both[0], both[1]

        chosen: list[int] = []
        with blocks:
            if mode == "keep":  # the starting point of a keep set: the whole pool knocked out
                everything = np.zeros((1, n_nodes), dtype=bool)
                everything[0, pool] = True
                acc0, margin0 = drops(everything)
            else:
                acc0, margin0 = np.zeros(1), np.zeros(1)
            curve_acc, curve_margin = [float(acc0[0])], [float(margin0[0])]
            reached = done(curve_acc[0] if metric == "accuracy" else curve_margin[0])
            bar = tqdm(total=max_size, desc=owner, disable=not progress, leave=False)
            try:
                while not reached and len(chosen) < max_size:
                    candidates = np.array([p for p in pool if p not in set(chosen)], dtype=np.int64)
                    acc, margin = drops(masks_for(chosen, candidates))
                    primary, secondary = (acc, margin) if metric == "accuracy" else (margin, acc)
                    sign = -1.0 if mode == "remove" else 1.0  # remove: largest drop first; keep: smallest
                    best = np.lexsort((candidates, sign * secondary, sign * primary))[0]
                    chosen.append(int(candidates[best]))
                    curve_acc.append(float(acc[best]))
                    curve_margin.append(float(margin[best]))
                    reached = done(float(primary[best]))
                    bar.update(1)
            finally:
                bar.close()

            # Every concept's accuracy drop for each prefix of the order, in stacked passes over all samples.
            prefixes = np.zeros((len(chosen) + 1, n_nodes), dtype=bool)
            for i in range(len(chosen) + 1):
                if mode == "remove":
                    prefixes[i, chosen[:i]] = True
                else:
                    prefixes[i, pool] = True
                    prefixes[i, chosen[:i]] = False
            labels, classes = runner.concepts()
            counts = np.concatenate(blocks.run(
                class_correct_block, set_blocks(runner, prefixes, steps), common=(steps, classes),
                what="blocks of prefixes",
            ))
        class_drop = np.full((len(chosen) + 1, len(labels)), np.nan)
        base_correct = runner.base_correct
        for j, c in enumerate(classes):
            sel = np.arange(runner.n_samples) if c < 0 else np.flatnonzero(runner.y == c)
            if sel.size:
                class_drop[:, j] = base_correct[sel].sum() / sel.size - counts[:, j] / sel.size
        off_target = class_drop.copy()
        off_target[:, labels.index(label)] = np.nan
        curve = np.asarray(curve_acc if metric == "accuracy" else curve_margin)
        in_set = np.zeros(n_nodes, dtype=bool)
        in_set[chosen] = True
        H = runner.hidden_size

        def scalar(v: Any, name: str) -> tuple:
            return (), v, {"long_name": name}

        what = "knocked out" if mode == "remove" else "kept (the rest of the pool knocked out)"
        return xr.Dataset(
            {
                "order": (("member",), np.array([runner.node_labels[i] for i in chosen], dtype=str),
                          {"long_name": f"units in the order they were {what.split(' (')[0]}"}),
                "curve": (("step",), curve, {"long_name": f"drop in {metric} with the first `step` units {what}"}),
                "accuracy_drop": (("step",), np.asarray(curve_acc), {"long_name": "drop in the concept's accuracy"}),
                "margin_drop": (
                    ("step",), np.asarray(curve_margin), {"long_name": "drop in the concept's mean margin"}
                ),
                "class_drop": (("step", "concept"), class_drop, {"long_name": "accuracy drop of every concept"}),
                "off_target_drop": (("step", "concept"), off_target, {"long_name": "accuracy drop, NaN at the target"}),
                "in_set": (("node",), in_set, {"long_name": "member of the final set"}),
                "reached": scalar(bool(reached), "whether the set met the goal"),
                "set_size": scalar(len(chosen), "units in the set"),
                "baseline": scalar(float(baseline), f"intact {metric} of the concept"),
                "goal": scalar(float(goal), "target drop" if mode == "remove" else "largest drop that counts as kept"),
                "baseline_accuracy": scalar(float(base_acc), "intact accuracy of the concept"),
                "baseline_margin": scalar(base_margin, "intact mean margin of the concept"),
            },
            coords={
                "member": ("member", np.arange(len(chosen), dtype=np.int64)),
                "step": ("step", np.arange(len(chosen) + 1, dtype=np.int64)),
                "concept": ("concept", np.array(labels, dtype=str)),
                "concept_class": ("concept", np.array(classes, dtype=np.int64)),
                "node": ("node", np.array(runner.node_labels, dtype=str)),
                "layer": ("node", np.arange(n_nodes, dtype=np.int64) // H),
                "unit": ("node", np.arange(n_nodes, dtype=np.int64) % H),
            },
            attrs={
                "kind": "causal_set" if mode == "remove" else "keep_set",
                "concept": label,
                "class_index": int(cls),
                "target" if mode == "remove" else "tolerance": float(share),
                "metric": metric,
                "layer": -1 if layer is None else int(layer),
                "knockout_times": repr(times),
                "value": runner.value if isinstance(runner.value, str) else float(runner.value),
                "clamp_cell": int(runner.clamp_cell),
                "max_size": int(max_size),
                "n_samples": int(rows.size),
            },
        )


