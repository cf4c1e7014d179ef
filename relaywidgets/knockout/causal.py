"""Causal check of a relay set: its knockout against size-matched random knockouts (METHOD.md, "Knockouts")."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import xarray as xr

from .._resources import check_memory
from .._validation import check_int, is_int
from ..errors import InputError, KnockoutError
from ..metrics import class_accuracy
from ..models.plan import compile_knockouts, stack_knockouts
from ..models.protocol import RecurrentModel, check_model_inputs, knockout_shape, layer_sizes
from ._distributed import cluster_for, run_blocks
from ._reference import condensed_reference
from .evaluate import batched_logits, check_batch_size, check_model, class_names, model_on
from .from_relays import relay_units
from .spec import Knockout

__all__ = ["relay_knockout_test"]

# Rows (sequences x random sets) per pass of the network when the random sets are stacked.
_DEFAULT_ROWS = 8192


def relay_knockout_test(
    model: RecurrentModel,
    X: Any,
    y: Any,
    relays: xr.Dataset,
    concept: int | str,
    *,
    n_random: int = 100,
    seed: int | None = 0,
    time: int | list[int] | None = None,
    layer: int | None = None,
    times: Any = None,
    value: str | float = "zero",
    clamp_cell: bool = False,
    reference: xr.Dataset | None = None,
    lengths: Any = None,
    significant_only: bool = True,
    exclude_relays: bool = False,
    batch_size: int | None = None,
    device: Any = "auto",
    client: Any = None,
) -> xr.Dataset:
    """Test whether knocking out a concept's relay set hurts that class more than random knockouts do.

    The relay set of ``concept`` (a class) is knocked out and the drop in that class's accuracy is
    compared with the drops caused by ``n_random`` random node sets of the same size in the same
    layer(s), drawn with ``seed``. The random sets are evaluated many at a time, stacked along the
    batch dimension, and only on the samples of the targeted class (the only ones its accuracy
    depends on).

    Parameters
    ----------
    model : RecurrentClassifier or StepwiseModel
        The network the relays were found in (your own model wrapped with :func:`relaywidgets.stepwise`
        works too; it recomputes every pass from step 0, so it is slower).
    X, y : array-like
        Evaluation sequences ``(sample, time, feature)`` and their true classes.
    relays : xarray.Dataset
        Output of :func:`relaywidgets.find_relays` or :func:`relaywidgets.relays_at` (in memory or opened
        lazily).
    concept : int or str
        The targeted class: a value of the relays' ``concept`` coordinate or a class index
        (not "all").
    n_random : int, default 100
        Number of random control sets.
    seed : int or None, default 0
        Seed of the random sets; the same seed draws the same sets.
    time : int, list of int or None
        Analysis step(s) whose relay set is knocked out; ``None`` takes the union over all analysed
        steps (see :meth:`Knockout.from_relays`).
    layer : int, optional
        Use the relays of this layer only (default: every layer, random sets matched per layer).
    times, value, clamp_cell, reference
        Knockout window and value, shared by the relay set and the random sets (see :class:`Knockout`). A
        reference recording opened lazily from a Zarr store is reduced to its per-node means or medians
        without being loaded whole; the sets carry those values, not the recording.
    lengths : array-like of int, optional
        Valid steps per sequence.
    significant_only : bool, default True
        Ignore analysis steps whose relay set is not significant.
    exclude_relays : bool, default False
        Draw the random sets from the units outside the relay set. By default they are drawn from the
        whole layer, so the relay set itself is one of the possible controls (a permutation-test null).
    batch_size : int, optional
        Rows per pass of the network (default 8192 for the stacked random sets, all samples otherwise).
    device : {"auto", "cpu", "cuda"} or torch.device
        Where to compute ("auto": where the model is).
    client : None, "local", str or distributed.Client, default None
        Where the random sets are evaluated. ``None``: in this process. ``"local"``: a ``LocalCluster`` of
        single-threaded worker processes, started here and closed at the end; a scheduler address
        (``"tcp://host:8786"``) or a ``distributed.Client``: that cluster (a Client is left open). The sets
        are drawn here from ``seed``, then evaluated as tasks, one stacked pass of sets each, with the model
        and the targeted class's sequences sent once. The result is the in-process one exactly
        (docs/scaling.md).

    Returns
    -------
    xarray.Dataset
        Scalars ``relay_drop`` (targeted class's accuracy drop for the relay set), ``random_drop_mean``,
        ``random_drop_std``, ``p_value`` (empirical: ``(1 + #{random drop >= relay drop}) / (1 + n_random)``),
        ``effect_size`` (``(relay_drop - random_drop_mean) / random_drop_std``; ±inf when the random
        drops do not vary, NaN when they also equal the relay drop), ``baseline_accuracy`` and
        ``relay_accuracy`` of the targeted class, ``off_target_drop_mean`` and ``off_target_drop_max``;
        ``random_drops (control)``, ``random_nodes (control, member)`` (labels of each random set),
        ``class_drop (class)`` (every class's drop for the relay set), ``off_target_drop (class)`` (the
        same with NaN at the targeted class), ``relay_nodes (member)``. Drops are fractions
        (intact accuracy minus knocked-out accuracy). Attributes: ``concept``, ``class_index``,
        ``n_random``, ``seed``, ``relay_times`` and the knockout settings.

    Examples
    --------
    >>> test = relay_knockout_test(model, X, y, relays, concept=1, n_random=100)  # doctest: +SKIP
    >>> float(test.relay_drop), float(test.p_value)  # doctest: +SKIP
    (0.97, 0.0099)
    """
    model = check_model(model, "relay_knockout_test")
    Xn, yn, ln = check_model_inputs(model, X, y, lengths)
    if yn is None:
        raise InputError("relay_knockout_test() needs the true classes y to measure accuracy drops.")
    if not is_int(n_random) or n_random < 1:
        raise InputError(
            f"The 'n_random' parameter of relay_knockout_test must be an int in [1, inf). Got {n_random!r} instead."
        )
    if seed is not None:  # None draws fresh sets each call, as documented
        seed = check_int(seed, "seed", "relay_knockout_test", 0)
    batch_size = check_batch_size(batch_size, "relay_knockout_test")
    by_layer, info = relay_units(
        relays, concept, time, significant_only=significant_only, owner="relay_knockout_test"
    )
    cls = info["class_index"]
    if cls == -1:
        raise InputError(
            "relay_knockout_test needs a class concept; 'all' (the whole decision) has no class accuracy to "
            "drop. Test each class concept instead."
        )
    if cls < 0 or cls >= model.num_classes:
        raise InputError(
            f"Concept {info['concept']!r} does not name a class of the model (classes 0 .. {model.num_classes - 1}); "
            "pass the class index as concept."
        )
    _check_relays_fit(info, model)
    if layer is not None:
        if int(layer) not in info["layers"]:
            raise KnockoutError(f"The relays hold nodes of layer(s) {info['layers']} only; got layer={layer}.")
        by_layer = {int(layer): by_layer.get(int(layer), [])}
    by_layer = {lay: units for lay, units in by_layer.items() if units}
    target = yn == cls
    if not target.any():
        raise InputError(f"y holds no sample of class {cls}; the test needs samples of the targeted class.")
    with cluster_for(client, "relay_knockout_test") as run_on:
        return _knockout_test(
            run_on, model, Xn, yn, ln, by_layer, info, cls, target, int(n_random), seed, times, value, clamp_cell,
            reference, exclude_relays, batch_size, device,
        )


def _knockout_test(
    run_on: Any, model: RecurrentModel, Xn: np.ndarray, yn: np.ndarray, ln: np.ndarray | None, by_layer: dict,
    info: dict, cls: int, target: np.ndarray, n_random: int, seed: Any, times: Any, value: Any, clamp_cell: bool,
    reference: Any, exclude_relays: bool, batch_size: int | None, device: Any,
) -> xr.Dataset:
    """:func:`relay_knockout_test` once its arguments are checked and the Client resolved (None: this process)."""
    # Every set resolves its fill values from the reference: one reduction of the recording here, and sets
    # (sent to a cluster, too) that carry a value per node instead of the recording.
    reference = condensed_reference(reference, value, ("hidden", "cell") if clamp_cell else ("hidden",))
    relay_specs = [
        Knockout(units, layer=lay, times=times, value=value, clamp_cell=clamp_cell, reference=reference)
        for lay, units in by_layer.items()
    ]
    net = model_on(model, device)
    x_t = torch.from_numpy(Xn).to(net.device)
    len_t = torch.from_numpy(ln).to(net.device) if ln is not None else None
    T = Xn.shape[1]
    compile_args = dict(seq_len=T, **knockout_shape(net))
    sizes = layer_sizes(net)

    intact = batched_logits(net, x_t, len_t, None, batch_size).argmax(1).cpu().numpy()
    base_per_class = class_accuracy(yn, intact, model.num_classes)
    relay_labels = [lab for spec in relay_specs for lab in spec.labels]
    n_members = len(relay_labels)

    # The random sets are held at once: per set, a Knockout object per layer (~400 bytes) and its labels
    # (a Python string and a numpy cell each, ~150 bytes a member).
    check_memory(
        float(n_random) * (400 * max(len(relay_specs), 1) + 150 * n_members),
        f"n_random={n_random} random sets of {n_members} node(s)",
        "Pass a smaller n_random: 100 to 1000 resolve p-values down to 0.01 to 0.001.",
    )
    # Random sets: one Generator drawn from in order, so the sets depend on the seed only.
    rng = np.random.default_rng(seed)
    random_sets = []
    for _ in range(int(n_random)):
        random_sets.append([
            Knockout.random_like(spec, rng, hidden_size=sizes[spec.layer], exclude=spec.nodes if exclude_relays else ())
            for spec in relay_specs
        ])
    random_nodes = np.array([[lab for spec in rs for lab in spec.labels] for rs in random_sets], dtype=str)
    random_nodes = random_nodes.reshape(int(n_random), n_members)

    if not relay_specs:
        warnings.warn(
            f"The relay set of concept {info['concept']!r} at {info['when']} is empty; nothing is knocked out, "
            "every drop is 0 and p_value is 1.",
            UserWarning,
            stacklevel=3,  # the caller of relay_knockout_test
        )
        relay_pred = intact
        random_correct = np.full(int(n_random), int((intact[target] == cls).sum()), dtype=np.int64)
    else:
        plan = compile_knockouts(relay_specs, device=net.device, **compile_args)
        relay_pred = batched_logits(net, x_t, len_t, plan, batch_size).argmax(1).cpu().numpy()
        rows = torch.from_numpy(np.flatnonzero(target)).to(net.device)
        targets = _Targets(net, x_t[rows], len_t[rows] if len_t is not None else None, cls, compile_args)
        # one block per stacked pass: as many sets as fill the rows of a pass
        per_pass = max(1, (batch_size or _DEFAULT_ROWS) // int(rows.numel()))
        blocks = [random_sets[j0 : j0 + per_pass] for j0 in range(0, len(random_sets), per_pass)]
        random_correct = np.concatenate(run_blocks(
            run_on, _random_correct, targets, blocks, owner="relay_knockout_test", what="blocks of random sets",
        ))
    relay_per_class = class_accuracy(yn, relay_pred, model.num_classes)
    class_drop = base_per_class - relay_per_class
    n_target = int(target.sum())
    base_correct = int((intact[target] == cls).sum())
    relay_correct = int((relay_pred[target] == cls).sum())
    relay_drop = (base_correct - relay_correct) / n_target
    random_drops = (base_correct - random_correct) / n_target
    # Compared as counts, so ties are exact: a random set as harmful as the relay set counts against it.
    p_value = (1.0 + float(np.sum(random_correct <= relay_correct))) / (1.0 + n_random)
    mean = float(random_drops.mean())
    std = float(random_drops.std(ddof=1)) if n_random > 1 else 0.0
    diff = relay_drop - mean
    if std > 0:
        effect = diff / std
    else:
        effect = float(np.sign(diff) * np.inf) if diff != 0 else float("nan")
    off_target = class_drop.copy()
    off_target[cls] = np.nan
    others = off_target[np.isfinite(off_target)]
    names = class_names(model)
    classes = np.arange(model.num_classes, dtype=np.int64)

    def scalar(v: float, name: str, units: str = "") -> tuple:
        return (), float(v), {"long_name": name, **({"units": units} if units else {})}

    ds = xr.Dataset(
        {
            "relay_drop": scalar(relay_drop, "targeted class's accuracy drop for the relay set", "fraction"),
            "random_drop_mean": scalar(mean, "mean drop for size-matched random sets", "fraction"),
            "random_drop_std": scalar(std, "standard deviation of the random sets' drops", "fraction"),
            "p_value": scalar(p_value, "empirical p-value: (1 + #random drops >= relay drop) / (1 + n_random)"),
            "effect_size": scalar(effect, "(relay_drop - random_drop_mean) / random_drop_std"),
            "baseline_accuracy": scalar(base_correct / n_target, "targeted class's accuracy, intact"),
            "relay_accuracy": scalar(relay_correct / n_target, "targeted class's accuracy, relay set knocked out"),
            "off_target_drop_mean": scalar(np.mean(others) if others.size else np.nan, "mean drop, other classes"),
            "off_target_drop_max": scalar(np.max(others) if others.size else np.nan, "largest drop of another class"),
            "random_drops": (("control",), random_drops.astype(np.float64), {"long_name": "drop per random set"}),
            "random_nodes": (("control", "member"), random_nodes, {"long_name": "nodes of each random set"}),
            "relay_nodes": (("member",), np.array(relay_labels, dtype=str), {"long_name": "nodes of the relay set"}),
            "class_drop": (("class",), class_drop, {"long_name": "accuracy drop per class for the relay set"}),
            "off_target_drop": (("class",), off_target, {"long_name": "drop of the other classes (NaN: target)"}),
            "baseline_class_accuracy": (("class",), base_per_class, {"long_name": "accuracy per class, intact"}),
        },
        coords={
            "control": ("control", np.arange(int(n_random), dtype=np.int64)),
            "member": ("member", np.arange(n_members, dtype=np.int64)),
            "class": ("class", classes),
            "class_name": ("class", np.array(names)),
        },
        attrs={
            "concept": str(info["concept"]),
            "class_index": int(cls),
            "n_random": int(n_random),
            "seed": -1 if seed is None else int(seed) if isinstance(seed, (int, np.integer)) else -1,
            "relay_times": np.asarray(info["times"], dtype=np.int64),
            "knockout_times": repr(times),
            "value": str(value),
            "clamp_cell": int(bool(clamp_cell)),
            "exclude_relays": int(bool(exclude_relays)),
            "n_target_samples": n_target,
        },
    )
    return ds


def _check_relays_fit(info: dict, model: RecurrentModel) -> None:
    sizes = layer_sizes(model)
    bad = [
        lab
        for lab, lay, unit in zip(info["labels"], info["node_layers"], info["node_units"])
        if lay >= len(sizes) or unit >= sizes[lay]
    ]
    if bad:
        shape = f"{len(sizes)} layer(s) of {sizes[0]} units" if len(set(sizes)) == 1 else f"layers of {sizes} units"
        raise KnockoutError(
            f"The relays name node(s) {bad[:5]} that the model does not have ({shape}); use the relays found in "
            "this model's recording."
        )


class _Targets:
    """What every block of random sets needs: the network and the targeted class's sequences (sent once)."""

    def __init__(self, net: RecurrentModel, x: torch.Tensor, lengths: torch.Tensor | None, cls: int,
                 compile_args: dict) -> None:
        self.net, self.x, self.lengths, self.cls, self.compile_args = net, x, lengths, cls, compile_args


@torch.no_grad()
def _random_correct(targets: _Targets, random_sets: list[list[Knockout]]) -> np.ndarray:
    """Correct decisions on the targeted class's samples, per random set, all sets in one stacked pass."""
    net, x, lengths = targets.net, targets.x, targets.lengths
    m, k = x.shape[0], len(random_sets)
    plan = stack_knockouts(random_sets, m, device=net.device, **targets.compile_args)
    xb = x.repeat(k, *([1] * (x.dim() - 1)))  # token ids are (sample, time), features (sample, time, feature)
    lb = lengths.repeat(k) if lengths is not None else None
    logits = net.run(xb, lb, plan, keep_states=False).logits
    return (logits.argmax(1) == targets.cls).view(k, m).sum(dim=1).cpu().numpy().astype(np.int64)
