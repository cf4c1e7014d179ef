"""Effect maps: what knocking out each unit at each step does to each class (METHOD.md, "Causal maps").

The information relays are observational; these maps are interventions, laid out on the same
node x time axes as the relay map so the two can be read side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._resources import check_memory
from .._validation import check_float, check_int, is_int
from ..errors import InputError
from ._distributed import cluster_for
from ._stacked import StackedRunner

__all__ = ["effect_map", "unit_effects"]

# Unit-window-sample values held back before their bootstrap bounds are computed in one product (~32 MB).
_BOOT_BUFFER = 2**22
# At least this many groups of windows (when there are as many windows), for the workers of a cluster.
_MIN_BLOCKS = 16
_VARIABLES = {
    "accuracy_drop": ("drop in accuracy (recall) of the concept's samples", "fraction"),
    "margin_drop": ("drop in the mean true-class logit margin of the concept's samples", "logit"),
}


def effect_map(
    model: Any,
    X: Any,
    y: Any,
    *,
    lengths: Any = None,
    window: int = 1,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int | None = 0,
    batch_size: int | None = None,
    device: Any = "auto",
    progress: bool = True,
    client: Any = None,
) -> xr.Dataset:
    """Knock out every unit at every step, one at a time, and measure each class's loss.

    For unit j and step t the unit is clamped at steps ``t .. t + window - 1`` only (the window is cut at
    the last step) and the network is scored against the intact one: per concept (every class, and
    ``"all"``, the whole decision) the drop in accuracy and the drop in the mean true-class logit margin
    (logit of the true class minus the largest other logit). In a redundant network the margin moves long
    before accuracy does. All units of one step are evaluated in one stacked pass that resumes from the
    intact states at step ``t - 1``.

    Parameters
    ----------
    model : RecurrentClassifier
        The network.
    X : array-like, shape (sample, time, feature)
        Evaluation sequences.
    y : array-like of int, shape (sample,)
        Their true classes.
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence (a sequence that ends before a window is unaffected by it).
    window : int, default 1
        Steps per knockout window.
    value : {"zero", "mean", "median"} or float, default "zero"
        What a knocked-out unit is set to ("mean"/"median" per node over ``reference``).
    reference : xarray.Dataset or array-like, optional
        A recording of the model (``relaywidgets.record``) for "mean"/"median", or one value per node. A
        recording opened lazily from a Zarr store (``load_recording("run.zarr")``) is reduced chunk by chunk,
        never loaded whole (docs/scaling.md).
    clamp_cell : bool, default False
        For an LSTM, clamp the cell state as well (see :class:`relaywidgets.Knockout`).
    n_boot : int, default 200
        Bootstrap resamples of the samples for the intervals (0: no intervals, NaN).
    ci : float in (0, 1), default 0.95
        Coverage of the percentile intervals.
    seed : int or None, default 0
        Seed of the bootstrap; the same resamples serve every unit and step (paired intervals).
    batch_size : int, optional
        Rows (samples x knockouts) per pass of the network.
    device : {"auto", "cpu", "cuda"} or torch.device, default "auto"
        Where to compute ("auto": where the model is).
    progress : bool, default True
        Show a progress bar over the steps (tqdm.auto).
    client : None, "local", str or distributed.Client, default None
        Where the windows are evaluated. ``None``: in this process. ``"local"``: a ``LocalCluster`` of
        single-threaded worker processes, started here and closed at the end; a scheduler address
        (``"tcp://host:8786"``) or a ``distributed.Client``: that cluster (a Client is left open). Groups of
        windows run as tasks; the runner (model, inputs and intact states) and the bootstrap weights are
        sent to the cluster once. The result is the in-process one exactly (docs/scaling.md).

    Returns
    -------
    xarray.Dataset
        Dims ``concept``, ``node``, ``time`` (the first step of the window). Variables:
        ``accuracy_drop`` (fraction; intact minus knocked-out accuracy of the concept's samples),
        ``margin_drop`` (logits), each with ``*_low`` / ``*_high`` bootstrap bounds;
        ``baseline_accuracy``, ``baseline_margin`` and ``support`` (samples) per concept.
        Coordinates ``concept`` (labels as :func:`relaywidgets.find_relays` names them, plus "all"),
        ``concept_class`` (-1 for "all"), ``node``, ``layer``, ``unit``, ``time`` and ``window_end``
        (last clamped step). Attributes record the settings.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import effect_map
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 6, 4, device="cpu", seed=0)
    >>> effects = effect_map(model, X, y, n_boot=20, progress=False)
    >>> dict(effects.accuracy_drop.sizes)
    {'concept': 5, 'node': 6, 'time': 5}
    >>> effects.sel(concept="all").margin_drop.dims
    ('node', 'time')
    """
    owner = "effect_map"
    n_boot, ci = _check_boot(n_boot, ci, owner)
    window = _check_window(window, owner)
    with cluster_for(client, owner) as run_on:
        runner = StackedRunner(
            model, X, y, lengths=lengths, value=value, clamp_cell=clamp_cell, reference=reference,
            batch_size=batch_size, device=device, owner=owner,
        )
        T = runner.seq_len
        windows = [np.arange(t, min(T, t + window)) for t in range(T)]
        data = _effects(runner, windows, n_boot, ci, seed, progress, owner, run_on)
    coords = _coords(runner)
    coords["time"] = ("time", np.arange(T, dtype=np.int64))
    coords["window_end"] = ("time", np.array([w[-1] for w in windows], dtype=np.int64))
    attrs = _attrs(runner, n_boot, ci, seed, window=window, times="sliding")
    return _dataset(data, coords, ("concept", "node", "time"), attrs, runner)


def unit_effects(
    model: Any,
    X: Any,
    y: Any,
    *,
    lengths: Any = None,
    times: Any = None,
    value: str | float = "zero",
    reference: Any = None,
    clamp_cell: bool = False,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int | None = 0,
    batch_size: int | None = None,
    device: Any = "auto",
    progress: bool = True,
    client: Any = None,
) -> xr.Dataset:
    """Knock out each unit over one window (default the whole sequence) and measure each class's loss.

    The same measurement as :func:`effect_map` with a single window: the single-unit effect, the causal
    reference a ranking of units is judged against.

    Parameters
    ----------
    model, X, y, lengths, value, reference, clamp_cell, n_boot, ci, seed, batch_size, device, progress, client
        As in :func:`effect_map` (on a cluster the units are split into groups, one task each).
    times : None, int, slice or sequence of int
        The window of clamped steps, as in :class:`relaywidgets.Knockout` (default every step).

    Returns
    -------
    xarray.Dataset
        The variables of :func:`effect_map` with dims ``concept``, ``node``.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task
    >>> from relaywidgets.knockout import unit_effects
    >>> X, y = make_task("delayed-cue", n_samples=40, seq_len=5, seed=0)
    >>> model = RecurrentClassifier("lstm", 4, 6, 4, device="cpu", seed=0)
    >>> effects = unit_effects(model, X, y, n_boot=0, progress=False)
    >>> dict(effects.accuracy_drop.sizes)
    {'concept': 5, 'node': 6}
    """
    owner = "unit_effects"
    n_boot, ci = _check_boot(n_boot, ci, owner)
    with cluster_for(client, owner) as run_on:
        runner = StackedRunner(
            model, X, y, lengths=lengths, value=value, clamp_cell=clamp_cell, reference=reference,
            batch_size=batch_size, device=device, owner=owner,
        )
        steps = runner.window(times)
        data = _effects(runner, [steps], n_boot, ci, seed, progress, owner, run_on)
    data = {k: v[..., 0] if v.ndim == 3 else v for k, v in data.items()}
    attrs = _attrs(runner, n_boot, ci, seed, window=len(steps), times=repr(times))
    return _dataset(data, _coords(runner), ("concept", "node"), attrs, runner)


# ---------------------------------------------------------------------- internals
def _check_window(window: Any, owner: str) -> int:
    if not is_int(window) or window < 1:
        raise InputError(
            f"The 'window' parameter of {owner} must be an int in [1, inf) (steps per knockout). Got {window!r} instead."
        )
    return int(window)


def _check_boot(n_boot: Any, ci: Any, owner: str) -> tuple[int, float]:
    return check_int(n_boot, "n_boot", owner, 0), check_float(ci, "ci", owner, 0.0, 1.0, low_open=True, high_open=True)


def bootstrap_weights(n_rows: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Resampling weights ``(n_boot, n_rows)``: counts of a draw with replacement, divided by ``n_rows``."""
    if n_boot == 0:
        return np.zeros((0, n_rows))
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=n_boot) / n_rows


def _blocks(runner: StackedRunner, windows: list[np.ndarray]) -> list[tuple[list[int], np.ndarray]]:
    """The unit of work of an effect map, here or on a cluster: ``(window indices, node positions)`` pairs.

    Several windows: consecutive groups of them, every unit each; a group holds as many windows as fill the
    bootstrap buffer (their bounds come from one matrix product per concept), and at most a sixteenth of the
    windows so that a cluster has blocks to share out. One window (unit effects): groups of units, cut at
    whole stacked passes. The blocks depend on the sizes only, never on where they run, so the in-process and
    the cluster result are the same.
    """
    def ceil_div(a: int, b: int) -> int:
        return -(-a // b)

    n_nodes, W = len(runner.node_labels), len(windows)
    every = np.arange(n_nodes)
    if W == 1:
        per_pass = runner.sets_per_pass(windows[0])
        size = per_pass * ceil_div(ceil_div(n_nodes, _MIN_BLOCKS), per_pass)
        return [([0], every[u0 : u0 + size]) for u0 in range(0, n_nodes, size)]
    per_buffer = ceil_div(_BOOT_BUFFER, max(1, n_nodes * runner.n_samples))
    size = max(1, min(per_buffer, ceil_div(W, _MIN_BLOCKS)))
    return [(list(range(w0, min(W, w0 + size))), every) for w0 in range(0, W, size)]


def _concept_rows(runner: StackedRunner) -> list[np.ndarray]:
    """The samples of each concept (per class, then all for "all")."""
    _, classes = runner.concepts()
    return [np.arange(runner.n_samples) if c < 0 else np.flatnonzero(runner.y == c) for c in classes]


def _effects(
    runner: StackedRunner,
    windows: list[np.ndarray],
    n_boot: int,
    ci: float,
    seed: Any,
    progress: bool,
    owner: str,
    client: Any = None,
) -> dict[str, np.ndarray]:
    """Drops and bootstrap bounds ``(concept, node, window)`` for single-unit knockouts over ``windows``.

    ``client`` is a resolved Client (:func:`._distributed.cluster_for`) or None: the blocks (:func:`_blocks`)
    then run on its workers, with the runner and the bootstrap weights sent once.
    """
    from tqdm.auto import tqdm

    from ._distributed import run_blocks

    labels, _ = runner.concepts()
    concept_rows = _concept_rows(runner)
    n_nodes, W = len(runner.node_labels), len(windows)
    # The resampling weights of every concept (the samples are counted about twice: "all" and their class)
    # and the resampled means of the windows in flight, in float64.
    check_memory(
        8.0 * n_boot * (2 * runner.n_samples + 2 * n_nodes * W),
        f"{owner}(n_boot={n_boot}) over {runner.n_samples} samples, {n_nodes} units and {W} window(s)",
        "Pass a smaller n_boot (200 is plenty for a 95 % interval), or n_boot=0 for no intervals.",
    )
    # Drawn here, before any block runs: the same resamples serve every unit and window (paired intervals),
    # wherever the windows are evaluated.
    rng = np.random.default_rng(seed)
    weights = [bootstrap_weights(len(r), n_boot, rng) if len(r) else None for r in concept_rows]
    C = len(labels)
    out = {k: np.full((C, n_nodes, W), np.nan) for k in _VARIABLES}
    for key in _VARIABLES:
        out[f"{key}_low"] = np.full((C, n_nodes, W), np.nan)
        out[f"{key}_high"] = np.full((C, n_nodes, W), np.nan)
    q = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    blocks = [([(w, windows[w]) for w in ws], nodes) for ws, nodes in _blocks(runner, windows)]
    with tqdm(total=W * n_nodes, desc=owner, disable=not progress, leave=False, unit="knockout") as bar:
        results = run_blocks(
            client, _effect_block, runner, blocks, common=(weights, n_boot, q), owner=owner,
            what="blocks of knockouts", model=runner.net,
            on_done=lambda block: bar.update(len(block[0]) * len(block[1])),
        )
    for (block, nodes), part in zip(blocks, results):
        ws = [w for w, _ in block]
        for key, values in part.items():
            out[key][:, nodes[:, None], ws] = values
    base_correct = runner.base_correct.astype(np.float64)
    base = {"baseline_accuracy": [], "baseline_margin": [], "support": []}
    for rows in concept_rows:
        base["baseline_accuracy"].append(base_correct[rows].sum() / rows.size if rows.size else np.nan)
        base["baseline_margin"].append(runner.base_margin[rows].mean() if rows.size else np.nan)
        base["support"].append(rows.size)
    out.update({k: np.asarray(v) for k, v in base.items()})
    return out


def _effect_block(
    runner: StackedRunner,
    block: tuple[list[tuple[int, np.ndarray]], np.ndarray],
    weights: list,
    n_boot: int,
    q: list[float],
) -> dict[str, np.ndarray]:
    """Drops and bootstrap bounds ``(concept, node, window)`` of one block: some windows, some units.

    ``block`` is ``([(window index, steps), ...], node positions)``; a task on a cluster.
    """
    block, nodes = block
    concept_rows = _concept_rows(runner)
    C, n_nodes, W = len(concept_rows), len(nodes), len(block)
    out = {key: np.full((C, n_nodes, W), np.nan) for key in _VARIABLES}
    for key in _VARIABLES:
        out[f"{key}_low"] = np.full((C, n_nodes, W), np.nan)
        out[f"{key}_high"] = np.full((C, n_nodes, W), np.nan)
    base_correct = runner.base_correct.astype(np.float64)
    base_margin = runner.base_margin
    eye = np.eye(len(runner.node_labels), dtype=bool)[nodes]  # one single-unit knockout per node of the block
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    for w, (_, steps) in enumerate(block):
        correct, margin = runner.score(runner.logits(eye, steps), np.arange(runner.n_samples))
        for ci_, rows in enumerate(concept_rows):
            if rows.size == 0:
                continue
            # Counts divided once, exactly as evaluate() scores class accuracy, so the numbers match.
            n = rows.size
            base_acc = base_correct[rows].sum() / n
            out["accuracy_drop"][ci_, :, w] = base_acc - correct[:, rows].sum(axis=1) / n
            out["margin_drop"][ci_, :, w] = base_margin[rows].mean() - margin[:, rows].mean(axis=1)
        if n_boot:
            pending.append((correct.astype(np.float64), margin))
    if pending:
        # Bootstrap bounds of the group: one large matrix product per concept, not one per window.
        for ci_, rows in enumerate(concept_rows):
            if rows.size == 0:
                continue
            delta = np.concatenate(
                [base_correct[rows] - np.concatenate([c[:, rows] for c, _ in pending])]
                + [base_margin[rows] - np.concatenate([m[:, rows] for _, m in pending])]
            )  # (2 * windows * node, row): accuracy rows first, then margin rows
            boot = weights[ci_] @ delta.T  # (n_boot, ...): one mean per resample, unit and window
            low, high = np.percentile(boot, q, axis=0)
            shape = (2, W, n_nodes)
            for v, key in enumerate(_VARIABLES):
                out[f"{key}_low"][ci_] = low.reshape(shape)[v].T
                out[f"{key}_high"][ci_] = high.reshape(shape)[v].T
    return out


def _coords(runner: StackedRunner) -> dict[str, Any]:
    labels, classes = runner.concepts()
    H = runner.hidden_size
    n = len(runner.node_labels)
    return {
        "concept": ("concept", np.array(labels, dtype=str)),
        "concept_class": ("concept", np.array(classes, dtype=np.int64)),
        "node": ("node", np.array(runner.node_labels, dtype=str)),
        "layer": ("node", np.arange(n, dtype=np.int64) // H),
        "unit": ("node", np.arange(n, dtype=np.int64) % H),
    }


def _attrs(runner: StackedRunner, n_boot: int, ci: float, seed: Any, *, window: int, times: str) -> dict[str, Any]:
    value = runner.value
    return {
        "window": int(window),
        "knockout_times": times,
        "value": value if isinstance(value, str) else float(value),
        "clamp_cell": int(runner.clamp_cell),
        "n_boot": int(n_boot),
        "ci": float(ci),
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else -1,
        "n_samples": int(runner.n_samples),
        "arch": str(runner.net.arch),
    }


def _dataset(data: dict[str, np.ndarray], coords: dict, dims: tuple[str, ...], attrs: dict, runner: StackedRunner) -> xr.Dataset:
    ci = attrs["ci"]
    variables = {}
    for key, (long_name, units) in _VARIABLES.items():
        variables[key] = (dims, data[key], {"long_name": long_name, "units": units})
        variables[f"{key}_low"] = (dims, data[f"{key}_low"], {"long_name": f"{ci:.0%} bootstrap low bound of {key}"})
        variables[f"{key}_high"] = (dims, data[f"{key}_high"], {"long_name": f"{ci:.0%} bootstrap high bound of {key}"})
    variables["baseline_accuracy"] = (("concept",), data["baseline_accuracy"], {"long_name": "accuracy, intact"})
    variables["baseline_margin"] = (("concept",), data["baseline_margin"], {"long_name": "mean true-class margin, intact"})
    variables["support"] = (("concept",), data["support"].astype(np.int64), {"long_name": "samples of the concept"})
    return xr.Dataset(variables, coords=coords, attrs=attrs)
