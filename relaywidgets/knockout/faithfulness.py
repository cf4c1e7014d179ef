"""How well does a ranking of units predict what knocking them out does? Deletion curves against a random band,
and the built-in rankings to score: relay scores, readout weights, gradients (Captum) and single-unit effects.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import xarray as xr

from .._resources import check_memory
from .._validation import check_int, is_int
from ..contract import check_relays, resolve_concept
from ..errors import InputError, KnockoutError
from ._distributed import cluster_for, run_blocks
from ._stacked import StackedRunner, check_metric, drops_block, set_blocks

__all__ = ["deletion_curve", "rankings", "RANKINGS", "RELAY_RANKINGS"]

#: Per-node variables of a relay result that rank units (higher: more of a relay). ``elimination_rank``
#: is the removal order of the greedy search (0 = removed first), so the units removed last rank first.
RELAY_RANKINGS = ("aggregated_score", "contribution", "unique_relay", "marginal_mi", "elimination_rank")
#: Rankings computed from the model: readout-weight magnitude, gradient x activation and integrated
#: gradients of the class logit (Captum), and the single-unit knockout effect (the causal reference).
MODEL_RANKINGS = ("readout", "grad_x_act", "integrated_gradients", "effect")
RANKINGS = RELAY_RANKINGS + MODEL_RANKINGS


def rankings(
    model: Any,
    X: Any,
    y: Any,
    concept: int | str,
    relays: xr.Dataset | None = None,
    *,
    time: int = -1,
    names: Sequence[str] | None = None,
    metric: str = "accuracy",
    times: Any = None,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    n_steps: int = 32,
    lengths: Any = None,
    batch_size: int | None = None,
    device: Any = "auto",
) -> xr.Dataset:
    """Every built-in ranking of the model's units for one concept, as variables over ``node``.

    Higher is more important in every ranking:

    - relay scores at step ``time`` (needs ``relays``): ``aggregated_score``, ``contribution``,
      ``unique_relay``, ``marginal_mi``, and ``elimination_rank`` (the removal order of the greedy search;
      the last removed ranks first). Nodes the relay analysis did not cover are NaN;
    - ``readout``: the absolute readout weight from a last-layer unit to the concept's class (the mean
      over classes for "all"; 0 for units of other layers);
    - ``grad_x_act`` and ``integrated_gradients``: Captum's ``LayerGradientXActivation`` and
      ``LayerIntegratedGradients`` of the true-class logit with respect to the hidden states at step
      ``time``, averaged (signed) over the concept's samples. Integrated gradients run from the knockout
      value to the actual state; gradient x activation is the first-order estimate of the logit lost when
      a unit is set to 0, which is why the signed mean, not its magnitude, ranks;
    - ``effect``: the concept's drop in ``metric`` when the unit alone is knocked out over ``times``.

    Parameters
    ----------
    model, X, y
        The network, evaluation sequences and true classes.
    concept : int or str
        A class index, a class label or name, or "all".
    relays : xarray.Dataset, optional
        A relay result of the same model (:func:`relaywidgets.find_relays`), for the relay rankings.
    time : int, default -1
        The step whose relay scores and hidden-state attributions rank the units (negative: from the end).
    names : sequence of str, optional
        The rankings to compute (default: all, the relay ones only when ``relays`` is given).
    metric : {"accuracy", "margin"}
        What the ``effect`` ranking measures.
    times, value, reference, clamp_cell
        The knockout window and value of ``effect``; ``value`` is also the integrated-gradients baseline.
    n_steps : int, default 32
        Integration steps of integrated gradients.
    lengths, batch_size, device
        As in :func:`relaywidgets.knockout.effect_map`.

    Returns
    -------
    xarray.Dataset
        One float variable per ranking, dim ``node`` (with ``layer`` and ``unit`` coordinates).

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import rankings
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("lstm", 4, 6, 4, device="cpu", seed=0)
    >>> ranks = rankings(model, X, y, 1)
    >>> sorted(ranks.data_vars)
    ['effect', 'grad_x_act', 'integrated_gradients', 'readout']
    """
    owner = "rankings"
    metric = check_metric(metric, owner)
    names = _check_names(names, relays, owner)
    runner = StackedRunner(
        model, X, y, lengths=lengths, value=value, clamp_cell=clamp_cell, reference=reference,
        batch_size=batch_size, device=device, owner=owner,
    )
    return _rankings(runner, concept, names, relays, time, metric, times, n_steps)


def deletion_curve(
    model: Any,
    X: Any,
    y: Any,
    scores: Any,
    concept: int | str,
    *,
    ks: Sequence[int] | None = None,
    n_random: int = 100,
    seed: int | None = 0,
    metric: str = "accuracy",
    layer: int | None = None,
    relays: xr.Dataset | None = None,
    time: int = -1,
    times: Any = None,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    n_steps: int = 32,
    lengths: Any = None,
    batch_size: int | None = None,
    device: Any = "auto",
    progress: bool = True,
    client: Any = None,
) -> xr.Dataset:
    """Knock out the top-k units of a ranking for each k and compare with random k-sets.

    For each k the ``k`` highest-scoring units of the pool (the units of ``layer``, default every layer)
    are knocked out over ``times`` and the concept's drop in ``metric`` is measured. The same is done
    for the first ``k`` units of ``n_random`` random orderings of the pool (seeded), giving a band. The
    summary is the area between the ranking's curve and the random mean, averaged over the ks, with an
    empirical p-value ``(1 + #{random orderings with an area >= the ranking's}) / (1 + n_random)``.

    Parameters
    ----------
    model, X, y
        The network, evaluation sequences and true classes.
    scores : str, sequence of str, array-like, DataArray or Dataset
        The ranking (higher: knocked out first): a built-in name (:data:`RANKINGS`, see :func:`rankings`),
        several names, one number per node of the model (layer-major, as ``model.node_labels``), a
        DataArray over ``node``, or a Dataset of such variables. NaN scores rank last; ties go to the
        lower node position. Several rankings share one random band and gain a ``ranking`` dim.
    concept : int or str
        A class index, a class label or name, or "all".
    ks : sequence of int, optional
        Set sizes (default 1, 2, 4, … below the pool size).
    n_random : int, default 100
        Random orderings for the band and the p-value.
    seed : int or None, default 0
        Seed of the random orderings.
    metric : {"accuracy", "margin"}, default "accuracy"
        What the drop is measured in (see :func:`relaywidgets.knockout.causal_set`).
    layer : int, optional
        Rank and draw units of this layer only.
    relays, time, n_steps
        For built-in rankings, as in :func:`rankings`.
    times, value, reference, clamp_cell, lengths, batch_size, device
        The knockout window and value, and how to compute (see :func:`relaywidgets.knockout.effect_map`).
    progress : bool, default True
        Show a progress bar over the passes of the network (tqdm.auto).
    client : None, "local", str or distributed.Client, default None
        Where the knockout sets are evaluated, as in :func:`relaywidgets.knockout.effect_map`: the orderings
        are drawn (and built-in rankings computed) here, then the top-k sets run as tasks, one stacked pass
        each, with the runner sent once. The result is the in-process one exactly (docs/scaling.md).

    Returns
    -------
    xarray.Dataset
        ``curve (k)``: the ranking's drop; ``random_drops (random, k)``; ``random_mean``, ``random_low``
        and ``random_high (k)`` (mean, 5th and 95th percentiles); ``area`` and ``p_value``;
        ``random_areas (random)``; ``scores (node)``; ``order (rank)``: the top ``max(ks)`` node labels;
        ``baseline`` (the concept's intact ``metric``). With several rankings every ranking variable has a
        leading ``ranking`` dim. Attributes record the settings.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import deletion_curve
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> dc = deletion_curve(model, X, y, "readout", 1, n_random=20, progress=False)
    >>> dc.curve.dims, dc.k.values.tolist()
    (('k',), [1, 2, 4])
    >>> 0 < float(dc.p_value) <= 1
    True
    """
    owner = "deletion_curve"
    metric = check_metric(metric, owner)
    n_random = check_int(n_random, "n_random", owner, 1)
    with cluster_for(client, owner) as run_on:
        return _deletion_curve(
            run_on, model, X, y, scores, concept, ks, n_random, seed, metric, layer, relays, time, times, value,
            reference, clamp_cell, n_steps, lengths, batch_size, device, progress, owner,
        )


def _deletion_curve(
    run_on: Any, model: Any, X: Any, y: Any, scores: Any, concept: Any, ks: Any, n_random: int, seed: Any,
    metric: str, layer: Any, relays: Any, time: Any, times: Any, value: Any, reference: Any, clamp_cell: Any,
    n_steps: Any, lengths: Any, batch_size: Any, device: Any, progress: bool, owner: str,
) -> xr.Dataset:
    """:func:`deletion_curve` with the Client resolved (None: this process)."""
    runner = StackedRunner(
        model, X, y, lengths=lengths, value=value, clamp_cell=clamp_cell, reference=reference,
        batch_size=batch_size, device=device, owner=owner,
    )
    label, cls = runner.resolve_concept(concept)
    rows = runner.concept_rows(cls)
    pool = runner.layer_pool(layer)
    steps = runner.window(times)
    ks = _check_ks(ks, len(pool), owner)
    # The random orderings (int64) and their knockout masks (one bool per unit and k), before any is drawn.
    check_memory(
        float(n_random) * (8 * len(pool) + len(ks) * len(runner.node_labels) + 8 * len(ks)),
        f"{owner}(n_random={n_random}) over {len(pool)} units and {len(ks)} values of k",
        "Pass a smaller n_random (100-1000 random orderings give the band and a p-value down to 1/(1 + n_random)).",
    )
    names, table, single = _score_table(runner, scores, concept, relays, time, metric, times, n_steps, owner)

    # Orders of the pool: each ranking's (NaN last, ties to the lower position), then the random ones.
    orders = []
    for row in table:
        s = row[pool]
        s = np.where(np.isnan(s), -np.inf, s)
        orders.append(pool[np.lexsort((pool, -s))])
    rng = np.random.default_rng(seed)
    orders += [rng.permutation(pool) for _ in range(n_random)]
    n_nodes = len(runner.node_labels)
    masks = np.zeros((len(orders) * len(ks), n_nodes), dtype=bool)
    for i, order in enumerate(orders):
        for j, k in enumerate(ks):
            masks[i * len(ks) + j, order[:k]] = True
    drops = _drops(runner, masks, steps, rows, metric, progress, owner, run_on).reshape(len(orders), len(ks))
    curve, random_drops = drops[: len(names)], drops[len(names) :]
    mean = random_drops.mean(axis=0)
    low, high = np.percentile(random_drops, [5, 95], axis=0)
    area = (curve - mean).mean(axis=1)
    random_areas = (random_drops - mean).mean(axis=1)
    # Compared with a little slack, so a random ordering exactly as good as the ranking counts against it.
    p_value = (1.0 + (random_areas[None, :] >= area[:, None] - 1e-12).sum(axis=1)) / (1.0 + n_random)
    base = runner.base_correct[rows].sum() / rows.size if metric == "accuracy" else runner.base_margin[rows].mean()
    top = np.array([[runner.node_labels[i] for i in order[: max(ks)]] for order in orders[: len(names)]], dtype=str)
    H = runner.hidden_size
    unit = "fraction" if metric == "accuracy" else "logit"
    ds = xr.Dataset(
        {
            "curve": (("ranking", "k"), curve, {"long_name": f"drop in {metric} with the top-k units knocked out", "units": unit}),
            "area": (("ranking",), area, {"long_name": "mean over k of the curve minus the random mean"}),
            "p_value": (("ranking",), p_value, {"long_name": "(1 + #random areas >= area) / (1 + n_random)"}),
            "scores": (("ranking", "node"), table, {"long_name": "the ranking's scores (higher: knocked out first)"}),
            "order": (("ranking", "rank"), top, {"long_name": "top units of the ranking"}),
            "random_drops": (("random", "k"), random_drops, {"long_name": "drop for the first k units of a random order"}),
            "random_mean": (("k",), mean, {"long_name": "mean drop of random k-sets"}),
            "random_low": (("k",), low, {"long_name": "5th percentile of random k-sets' drops"}),
            "random_high": (("k",), high, {"long_name": "95th percentile of random k-sets' drops"}),
            "random_areas": (("random",), random_areas, {"long_name": "area of each random order"}),
            "baseline": ((), float(base), {"long_name": f"intact {metric} of the concept"}),
        },
        coords={
            "ranking": ("ranking", np.array(names, dtype=str)),
            "k": ("k", np.asarray(ks, dtype=np.int64)),
            "random": ("random", np.arange(n_random, dtype=np.int64)),
            "rank": ("rank", np.arange(max(ks), dtype=np.int64)),
            "node": ("node", np.array(runner.node_labels, dtype=str)),
            "layer": ("node", np.arange(n_nodes, dtype=np.int64) // H),
            "unit": ("node", np.arange(n_nodes, dtype=np.int64) % H),
        },
        attrs={
            "concept": label,
            "class_index": int(cls),
            "metric": metric,
            "n_random": int(n_random),
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else -1,
            "layer": -1 if layer is None else int(layer),
            "time": int(time),
            "knockout_times": repr(times),
            "value": runner.value if isinstance(runner.value, str) else float(runner.value),
            "clamp_cell": int(runner.clamp_cell),
            "n_samples": int(rows.size),
        },
    )
    return ds.isel(ranking=0) if single else ds


# ---------------------------------------------------------------------- internals
def _check_names(names: Any, relays: Any, owner: str) -> list[str]:
    if names is None:
        return list(RANKINGS if relays is not None else MODEL_RANKINGS)
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if not isinstance(name, str) or name not in RANKINGS:
            raise InputError(
                f"Unknown ranking {name!r} in {owner}. The built-in rankings are {list(RANKINGS)}; "
                "or pass your own scores, one number per node."
            )
        if name in RELAY_RANKINGS and relays is None:
            raise InputError(
                f"The ranking {name!r} is a relay score: pass relays=relaywidgets.find_relays(recording) "
                f"to {owner}, or choose one of {list(MODEL_RANKINGS)}."
            )
    return names


def _check_ks(ks: Any, pool_size: int, owner: str) -> list[int]:
    if ks is None:
        out = [1]
        while out[-1] * 2 < pool_size:
            out.append(out[-1] * 2)
        return out
    try:
        values = [ks] if isinstance(ks, (int, np.integer)) else list(ks)
    except TypeError:
        raise InputError(f"The 'ks' parameter of {owner} must be a list of set sizes; got {ks!r}.") from None
    if not values or not all(is_int(k) and k >= 1 for k in values):
        raise InputError(f"The 'ks' parameter of {owner} must hold ints >= 1; got {ks!r}.")
    too_big = [int(k) for k in values if k > pool_size]
    if too_big:
        raise KnockoutError(
            f"{owner}: k = {too_big} is larger than the {pool_size} units the sets are drawn from; "
            f"use ks of at most {pool_size} (or drop `layer=` to draw from every layer)."
        )
    return sorted({int(k) for k in values})


def _score_table(
    runner: StackedRunner, scores: Any, concept: Any, relays: Any, time: int, metric: str, times: Any, n_steps: int,
    owner: str,
) -> tuple[list[str], np.ndarray, bool]:
    """Names and a ``(ranking, node)`` score table from any accepted form of ``scores``."""
    if isinstance(scores, str) or (
        isinstance(scores, (list, tuple)) and scores and all(isinstance(s, str) for s in scores)
    ):
        names = _check_names(scores, relays, owner)
        table = _rankings(runner, concept, names, relays, time, metric, times, n_steps)
        return names, np.stack([table[name].values for name in names]), isinstance(scores, str)
    if isinstance(scores, xr.Dataset):
        names = list(scores.data_vars)
        return names, np.stack([_node_scores(runner, scores[v], owner) for v in names]), False
    name = str(scores.name) if isinstance(scores, xr.DataArray) and scores.name is not None else "scores"
    return [name], _node_scores(runner, scores, owner)[None, :], True


def _node_scores(runner: StackedRunner, scores: Any, owner: str) -> np.ndarray:
    n = len(runner.node_labels)
    if isinstance(scores, xr.DataArray):
        if scores.dims != ("node",):
            raise InputError(f"{owner}: scores must be a DataArray with the single dim 'node'; got dims {scores.dims}.")
        labels = [str(v) for v in scores["node"].values]
        unknown = sorted(set(labels) - set(runner.node_labels))
        if unknown:
            raise InputError(f"{owner}: scores name node(s) {unknown[:5]} that the model does not have.")
        out = np.full(n, np.nan)
        pos = {lab: i for i, lab in enumerate(runner.node_labels)}
        out[[pos[lab] for lab in labels]] = np.asarray(scores.values, dtype=np.float64)
        return out
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{owner}: scores must be numbers, a ranking name or a DataArray over node; got {type(scores).__name__}.") from None
    if arr.shape != (n,):
        raise InputError(
            f"{owner}: scores must hold one number per node of the model, shape ({n},) in the order of "
            f"model.node_labels; got shape {arr.shape}. Pass a DataArray over 'node' to score some nodes only."
        )
    return arr


def _drops(
    runner: StackedRunner, masks: np.ndarray, steps: np.ndarray, rows: np.ndarray, metric: str, progress: bool,
    owner: str, client: Any = None,
) -> np.ndarray:
    """The concept's drop in ``metric`` for every knockout set (rows of ``masks``), one block of passes per task."""
    from tqdm.auto import tqdm

    blocks = set_blocks(runner, masks, steps, rows)
    with tqdm(total=len(blocks), desc=owner, disable=not progress, leave=False) as bar:
        parts = run_blocks(
            client, drops_block, runner, blocks, common=(steps, rows), owner=owner, what="blocks of knockout sets",
            model=runner.net, on_done=lambda block: bar.update(),
        )
    return np.concatenate(parts, axis=1)[0 if metric == "accuracy" else 1]


def _rankings(
    runner: StackedRunner, concept: Any, names: list[str], relays: Any, time: Any, metric: str, times: Any, n_steps: Any
) -> xr.Dataset:
    owner = runner.owner
    label, cls = runner.resolve_concept(concept)
    rows = runner.concept_rows(cls)
    T, H, n = runner.seq_len, runner.hidden_size, len(runner.node_labels)
    if not is_int(time) or not -T <= time < T:
        raise InputError(f"The 'time' parameter of {owner} must be a step in -{T} .. {T - 1}. Got {time!r} instead.")
    t = int(time) % T
    out: dict[str, np.ndarray] = {}
    if any(name in RELAY_RANKINGS for name in names):
        out.update(_relay_scores(runner, relays, cls, t, [nm for nm in names if nm in RELAY_RANKINGS], owner))
    if "readout" in names:
        w = np.abs(runner.readout_weight())
        score = np.zeros(n)
        score[n - H :] = w[cls] if cls >= 0 else w.mean(axis=0)
        out["readout"] = score
    grads = [nm for nm in names if nm in ("grad_x_act", "integrated_gradients")]
    if grads:
        n_steps = check_int(n_steps, "n_steps", owner, 1)
        need = 32.0 * n_steps * len(runner.node_labels) * max(1, runner.seq_len - t)  # n_steps copies x 8 gates, t..end
        check_memory(need, f"integrated gradients with n_steps={n_steps}", "Pass n_steps between 16 and 256 (default 32).")
        out.update(_attributions(runner, rows, t, grads, n_steps))
    if "effect" in names:
        from .effects import _effects

        data = _effects(runner, [runner.window(times)], 0, 0.95, None, False, owner)
        key = "accuracy_drop" if metric == "accuracy" else "margin_drop"
        labels, _ = runner.concepts()
        out["effect"] = data[key][labels.index(label), :, 0]
    return xr.Dataset(
        {name: (("node",), out[name], {"long_name": f"{name} ranking (higher: more important)"}) for name in names},
        coords={
            "node": ("node", np.array(runner.node_labels, dtype=str)),
            "layer": ("node", np.arange(n, dtype=np.int64) // H),
            "unit": ("node", np.arange(n, dtype=np.int64) % H),
        },
        attrs={"concept": label, "class_index": int(cls), "time": t, "metric": metric, "knockout_times": repr(times)},
    )


def _relay_scores(runner: StackedRunner, relays: Any, cls: int, t: int, names: list[str], owner: str) -> dict:
    check_relays(relays, owner, require=names)
    pos = resolve_concept(relays, cls if cls >= 0 else "all", owner)
    steps = [int(v) for v in relays["time"].values]
    if t not in steps:
        shown = steps if len(steps) <= 8 else steps[:3] + ["..."] + steps[-3:]
        raise InputError(f"{owner}: the relays do not cover step {t}; they cover steps {shown}. Pass time= one of them.")
    labels = [str(v) for v in relays["node"].values]
    unknown = sorted(set(labels) - set(runner.node_labels))
    if unknown:
        raise InputError(f"{owner}: the relays name node(s) {unknown[:5]} that the model does not have; "
                         "use relays found in a recording of this model.")
    index = [runner.node_labels.index(lab) for lab in labels]
    out = {}
    for name in names:
        values = relays[name].isel(concept=pos).sel(time=t).transpose("node").values.astype(np.float64)
        score = np.full(len(runner.node_labels), np.nan)
        score[index] = values
        out[name] = score
    return out


def _attributions(runner: StackedRunner, rows: np.ndarray, t: int, names: list[str], n_steps: int) -> dict:
    """Mean (over the concept's samples) Captum attributions of the true-class logit to the states at ``t``."""
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients  # loads matplotlib: keep it lazy

    live = rows[runner.lengths[rows] > t]  # a sequence that ended before t does not depend on its state there
    n = len(runner.node_labels)
    if live.size == 0:
        return {name: np.zeros(n) for name in names}
    tap = _StateTap(runner, t)
    idx = torch.as_tensor(live, device=runner.device)
    states = runner.states_at(t, idx)
    target = torch.as_tensor(runner.y[live], device=runner.device)
    chunk = max(1, runner.rows_per_pass // max(1, n_steps))
    out = {}
    for name in names:
        parts = []
        for r0 in range(0, live.size, chunk):
            sl = slice(r0, r0 + chunk)
            args = dict(target=target[sl], additional_forward_args=(idx[sl],))
            if name == "grad_x_act":
                attr = LayerGradientXActivation(tap, tap.tap).attribute(states[sl], **args)
            else:
                baseline = torch.cat(list(runner.fill), dim=0).expand_as(states[sl])
                attr = LayerIntegratedGradients(tap, tap.tap).attribute(
                    states[sl], baselines=baseline, n_steps=n_steps, **args
                )
            parts.append(attr.detach().double().sum(dim=0))
        out[name] = (torch.stack(parts).sum(dim=0) / live.size).cpu().numpy()
    return out


class _StateTap(torch.nn.Module):
    """Logits as a function of the hidden states at step ``t``, with a named layer (``tap``) for Captum."""

    def __init__(self, runner: StackedRunner, t: int) -> None:
        super().__init__()
        self.tap = torch.nn.Identity()
        self._runner = runner
        self._t = t

    def forward(self, states: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return self._runner.logits_from_states(self.tap(states), idx, self._t)
