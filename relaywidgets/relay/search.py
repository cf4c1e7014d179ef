"""The relay map of a recording: greedy relay sets for every concept and time step (METHOD.md)."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from typing import Any

import numpy as np
import xarray as xr

from .._version import __version__
from ..errors import InputError
from .._resources import check_memory
from .._validation import check_int, is_real
from . import _prepare as prep
from ..info.backends import NumpyBackend, get_backend
from ..info import discretizers
from ._slice import SliceResult
from ._step import StepSetup
from .._cluster import close_all
from .distributed import is_lazy, local_steps, resolve_client, run_steps
from .threshold import RelayRule, check_order, check_rule, relay_members

__all__ = ["find_relays", "RESULT_FORMAT"]

RESULT_FORMAT = "relays/1"
_TINY = 1e-12


def find_relays(
    rec: xr.Dataset,
    *,
    concepts: Any = None,
    times: Any = None,
    nodes: Any = None,
    estimator: Any = "plugin",
    discretizer: Any = "two-means",
    threshold: float = 0.9,
    n_perm: int = 100,
    alpha: float = 0.05,
    seed: int = 0,
    device: Any = "auto",
    backend: Any = None,
    progress: bool = True,
    source: str = "input",
    early_stop: bool = False,
    order: str = "least-loss",
    rule: str = "fraction",
    variable: str = "hidden",
    client: Any = None,
) -> xr.Dataset:
    """Find the information relays of every concept at every time step.

    For each concept c and step t the greedy shrinking-subset search (METHOD.md) starts from all
    nodes and repeatedly removes one node, scoring every candidate by the relay information
    ``I_R(R) = H(O_c | h_t[Z]) - H(O_c | h_t[N])`` left after its removal (Z the removed nodes),
    and records the whole curve. With ``order="least-loss"`` (default) it removes the node whose
    removal keeps the most, and the relay set is the smallest *kept* set on that path holding
    ``threshold`` of the total ``I_R(N)``; with ``order="most-loss"`` it removes the node leaving
    the least, and the relay set is the smallest *removed* prefix whose removal takes away
    ``threshold`` of the total (docs/method.md). :func:`relays_at` re-derives the sets for another
    threshold or rule without recomputing.

    Parameters
    ----------
    rec : xarray.Dataset
        A recording (docs/recording.md).
    concepts : int, str or sequence, optional
        Class indices, class names, and/or ``"all"`` (the whole decision). Default: every class.
    times : int or sequence of int, optional
        Time steps (values of the ``time`` coordinate). Default: every step. At step t only the
        samples with ``length > t`` are used.
    nodes : sequence of str or int, optional
        Node labels or positions making up the node set N. Default: every node.
    estimator : str or Estimator, default "plugin"
        ``"plugin"``, ``"miller-madow"``, ``"shrinkage"`` (discrete: activations are coarse-grained
        with ``discretizer`` and counted by the fast search), ``"gcmi"``, ``"ksg"`` (continuous: raw
        activations, one estimator call per candidate set), or an estimator object.
    discretizer : str or callable, default "two-means"
        Coarse-graining for discrete estimators (see :func:`relaywidgets.info.discretizers`), or a
        function mapping the ``hidden`` DataArray to int codes of the same shape.
    threshold : float in [0, 1], default 0.9
        Fraction of the total relay information the relay set must keep (least-loss) or whose
        loss it must cause (most-loss), under ``rule="fraction"``.
    n_perm : int, default 100
        Permutations of the output for the null (0 skips the test: ``p_value`` is NaN and
        ``significant`` False).
    alpha : float in (0, 1), default 0.05
        Significance level.
    seed : int, default 0
        Seeds the permutations.
    device : {"auto", "numpy", "cpu", "cuda", "cuda:N"} or torch.device, default "auto"
        Where the counting search runs: ``"auto"`` is torch on CUDA when a GPU is visible and
        numpy otherwise, ``"numpy"`` is numpy, a torch device runs the torch code there (``"cpu"``
        runs it on the CPU). The vocabulary of ``relaywidgets.info`` (see
        :func:`relaywidgets.info.backends.get_backend`): ``device="numpy"`` is ``backend="numpy"``.
        Used by estimators with vectorised count hooks (``supports_torch`` for torch); the
        others run on numpy.
    backend : {"numpy", "torch", "auto"}, optional
        The array library, as in ``relaywidgets.info``; None (default) takes it from ``device``.
    progress : bool, default True
        Show a progress bar over (concept, time) (tqdm.auto).
    source : {"input", "label"}, default "input"
        ``"input"``: X is the whole input sequence, so ``I(X; O | W) = H(O | W)`` (deterministic
        network). ``"label"``: X is the true label, ``I(Y; O | W)`` is estimated.
    early_stop : bool, default False
        Stop each search once the remaining relay information is at the null floor (the null mean
        of the total, needs ``n_perm > 0``); later curve values are NaN and the remaining nodes are
        ranked by marginal information. Searches always end early, exactly, when nothing is left
        to decide (see docs/method.md).
    order : {"least-loss", "most-loss"}, default "least-loss"
        ``"least-loss"``: remove first the node whose removal keeps the most relay information;
        the kept nodes form the relay set (which nodes no other node can stand in for).
        ``"most-loss"``: the literal reading of the 2023 paper's pseudo-code ("min(I_a)"): remove
        first the node whose removal leaves the least; the removed nodes, in removal order, form
        the relay set (which few nodes resolve the output). Ties: least-loss removes the node with
        the smallest marginal information first, most-loss the one with the largest.
    rule : {"fraction", "significance"}, default "fraction"
        ``"fraction"``: the smallest set on the path with ``I_R >= threshold * I_R(N)``
        (least-loss), or whose removal loses at least that much (most-loss).
        ``"significance"``: the smallest set on the path whose relay information is not
        significantly below the total: the information lost by the removed nodes (least-loss), or
        left in the remaining nodes (most-loss), is not significant at ``alpha`` against the
        permutation null of the total (at most ``null_critical``). Needs ``n_perm > 0``; see
        docs/method.md.
    variable : {"hidden", "cell"}, default "hidden"
        The recording variable analysed: the hidden state h_t, or an LSTM's cell state c_t
        (node labels stay the same; attribute ``variable`` says which).
    client : None, False, "local", str or dask.distributed.Client, default None
        Where the steps run. A recording opened from a Zarr store (Dask-backed) is read one stored block
        of steps at a time and never loaded whole. With a Client, each step (all concepts at once) is a
        task on its workers; None uses the current Client when one exists and the recording is
        Dask-backed, and runs in this process otherwise; False always runs in this process; "local"
        starts a LocalCluster of single-threaded worker processes for this call (closed at the end); another
        string is a scheduler address ("tcp://host:8786") to connect to. Results
        are identical wherever the steps run (permutations are seeded per step). See docs/scaling.md.

    Returns
    -------
    xarray.Dataset
        Dims ``concept``, ``time``, ``node``, ``step`` (``step`` = number of nodes removed,
        0 .. n). Variables (bits unless stated):

        - ``is_relay`` (concept, time, node) bool; ``contribution`` (loss of I_R when the node was
          removed); ``elimination_rank`` (0 = removed first); ``aggregated_score`` (in [0, 1]);
          ``marginal_mi`` (I(O; h[n])); ``unique_relay`` (I_R({n}));
        - ``total`` (I_R(N)), ``relay_size``, ``p_value``, ``null_mean`` (null of the total),
          ``p_value_relay``, ``null_mean_relay`` (null of the relay set's I_R), ``significant``
          (concept, time);
        - ``curve`` (concept, time, step): I_R after each removal; ``removed`` (concept, time,
          step): node position removed at that step (-1 at step 0);
        - ``null_critical`` (concept, time): the largest value not significant at ``alpha``
          against the permutation null of the total (``significant`` is ``total >
          null_critical``), which ``rule="significance"`` reads.

        Attributes record the parameters and the recording's attributes (clashing names get a
        ``recording_`` prefix).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> rec, truth = planted_relay("and", n_nodes=5, n_samples=1000)
    >>> res = find_relays(rec, concepts=[1], n_perm=20, progress=False)
    >>> sorted(res.node.values[res.is_relay.sel(concept="1", time=0).values].tolist())
    ['l0.h0', 'l0.h1']
    """
    owner = "find_relays"
    rec = prep.check_rec(rec)
    threshold = prep.check_threshold(threshold, owner)
    n_perm = check_int(n_perm, "n_perm", owner, 0)
    # Each step holds its permutations as (n_perm, sample) arrays: random keys and their argsort (8 bytes
    # each), the shuffled outputs (8) and their one-hot columns (4 per class).
    n_samples = rec.sizes["sample"]
    check_memory(
        float(n_perm) * n_samples * (24 + 4 * rec.sizes["class"]),
        f"n_perm={n_perm} permutations of {n_samples} samples",
        "Pass a smaller n_perm: 100 to 1000 resolve p-values down to 0.01 to 0.001 (n_perm=0 skips the test).",
    )
    seed = check_int(seed, "seed", owner, 0)
    ok_alpha = is_real(alpha) and 0.0 < float(alpha) < 1.0
    if not ok_alpha:
        raise InputError(f"The 'alpha' parameter of {owner} must be a float in (0, 1). Got {alpha!r} instead.")
    alpha = float(alpha)
    source = prep.check_source(source, owner)
    for name, flag in (("progress", progress), ("early_stop", early_stop)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InputError(f"The {name!r} parameter of {owner} must be a bool. Got {flag!r} instead.")
    if early_stop and n_perm == 0:
        raise InputError("early_stop=True stops at the null floor, which needs n_perm > 0; pass n_perm=100 or so.")
    order = check_order(order, owner)
    rule = check_rule(rule, owner)
    if rule == "significance" and n_perm == 0:
        raise InputError(
            "rule='significance' compares relay sets with the permutation null of the total, which n_perm=0 "
            "skips; set n_perm > 0 (e.g. n_perm=100), or use rule='fraction'."
        )
    variable = prep.check_variable(variable, owner)
    spec = RelayRule(threshold, order, rule, alpha)
    node_pos = prep.resolve_nodes(rec, nodes, owner)
    time_pos = prep.resolve_times(rec, times, owner)
    concept_list = prep.resolve_concepts(rec, concepts, owner)
    est, fast = prep.resolve_estimator(estimator)
    ops: Any = NumpyBackend()
    if fast:
        ops = get_backend(backend, device, owner=owner)
        if ops.name != "numpy" and not est.supports_torch:
            ops = NumpyBackend()  # its count hooks take numpy arrays only
    if len(node_pos) == 0:
        raise InputError(f"The 'nodes' parameter of {owner} selects no node; pass at least one.")

    hidden = prep.state_variable(rec, variable, node_pos, time_pos, owner)
    discrete = est.kind == "discrete"
    lazy = is_lazy(hidden)
    whole_codes = None
    if discrete:
        if callable(discretizer) and not isinstance(discretizer, str):
            if lazy or not (client is None or client is False):
                raise InputError(
                    f"A callable discretizer sees the whole recording at once, which {owner} does not load from a "
                    "Dask-backed recording or send to a cluster. Pass a named discretizer "
                    f"({', '.join(repr(k) for k in discretizers())}), or load the recording first (rec.load())."
                )
            whole_codes = prep.state_codes(hidden, discretizer, owner)
            raw = np.asarray(hidden.values)  # in memory here; the other paths check step by step
            for j, t in enumerate(np.asarray(rec["time"].values)[time_pos]):
                prep.check_padding(raw[:, j, :], int(t), np.asarray(rec["length"].values))
        else:
            prep.check_discretizer(discretizer, owner)
    length = np.asarray(rec["length"].values)
    prediction = np.asarray(rec["prediction"].values)
    label_all = np.asarray(rec["label"].values)
    time_labels = np.asarray(rec["time"].values)[time_pos]
    setup = StepSetup(
        concept_list, est, fast, ops, discretizer if whole_codes is None else None, source, n_perm, seed, spec,
        bool(early_stop), length, prediction, label_all, owner,
    )

    C, T, n = len(concept_list), len(time_pos), len(node_pos)
    arrays = _allocate(C, T, n)
    run_on, opened = resolve_client(client, lazy, owner)  # last before the try that closes what it opened
    constant: dict[str, list[int]] = {}
    failed: dict[str, list[tuple[int, str]]] = {}
    worst: tuple[float, int, int, int] | None = None

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=C * T, desc="relays", unit="step")
    done = (lambda: bar.update(C)) if bar is not None else (lambda: None)
    try:
        if run_on is not None:
            outcomes = run_steps(run_on, setup, hidden, time_labels, on_done=done, owner=owner)
        else:
            outcomes = []
            for outcome in local_steps(setup, hidden, whole_codes, time_labels):
                outcomes.append(outcome)
                done()
    finally:
        if bar is not None:
            bar.close()
        close_all(opened)  # a "local" cluster or an address this call connected to; a Client handed in stays open
    # in step order whatever order the steps finished in, so warnings read the same in memory and on a cluster
    for oc in sorted(outcomes, key=lambda o: o.t_pos):
        ti, t_label, n_s = oc.t_pos, oc.t_label, oc.n_samples
        if n_s < 2:
            warnings.warn(
                f"Time step {t_label} has {n_s} sample(s) still running (length > {t_label}); "
                "nothing is estimated there (NaN).",
                UserWarning,
                stacklevel=2,
            )
            continue
        if oc.log2_states is not None:
            excess = oc.log2_states - np.log2(n_s)
            if excess > 0 and (worst is None or excess > worst[0] - np.log2(worst[1])):
                worst = (oc.log2_states, n_s, n, t_label)
        for ci, ((cname, _), res) in enumerate(zip(concept_list, oc.results)):
            if ci in oc.failed:
                failed.setdefault(cname, []).append((int(t_label), oc.failed[ci]))  # left NaN, no relays
            elif res is None:
                constant.setdefault(cname, []).append(t_label)
                _store_constant(arrays, ci, ti, n, n_perm)
            else:
                _store(arrays, ci, ti, res, spec, n_perm)
    prep.warn_constant_outputs(constant, T)
    prep.warn_failed_concepts(failed, C * sum(1 for oc in outcomes if oc.n_samples >= 2))
    prep.warn_undersampled(worst)

    attrs = {
        "relaywidgets_format": RESULT_FORMAT,
        "relaywidgets_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "estimator": est.name,
        "estimator_params": repr(est),
        "discretizer": (discretizer if isinstance(discretizer, str) else repr(discretizer)) if discrete else "",
        "threshold": threshold,
        "tested_threshold": threshold,
        "order": order,
        "rule": rule,
        "tested_rule": rule,
        "variable": variable,
        "alpha": alpha,
        "n_perm": n_perm,
        "seed": seed,
        "source": source,
        "early_stop": int(bool(early_stop)),
        "device": ops.label,
    }
    for key, value in rec.attrs.items():
        attrs[f"recording_{key}" if key in attrs or key in ("relaywidgets_format",) else key] = value
    return _dataset(rec, arrays, concept_list, time_labels, node_pos, attrs)


def _allocate(C: int, T: int, n: int) -> dict[str, np.ndarray]:
    f3 = lambda: np.full((C, T, n), np.nan)  # noqa: E731
    f2 = lambda: np.full((C, T), np.nan)  # noqa: E731
    return {
        "is_relay": np.zeros((C, T, n), dtype=bool),
        "contribution": f3(),
        "elimination_rank": np.full((C, T, n), -1, dtype=np.int64),
        "aggregated_score": f3(),
        "marginal_mi": f3(),
        "unique_relay": f3(),
        "total": f2(),
        "relay_size": np.zeros((C, T), dtype=np.int64),
        "p_value": f2(),
        "null_mean": f2(),
        "p_value_relay": f2(),
        "null_mean_relay": f2(),
        "significant": np.zeros((C, T), dtype=bool),
        "curve": np.full((C, T, n + 1), np.nan),
        "removed": np.full((C, T, n + 1), -1, dtype=np.int64),
        "null_critical": f2(),
    }


def aggregated_scores(curve: np.ndarray, rank: np.ndarray, order: str = "least-loss") -> np.ndarray:
    """Aggregated relay score of every node from the path (METHOD.md), normalised to max 1.

    Least-loss (the kept nodes are the relays): the node removed at step ``r + 1`` (rank r) was
    in R at the start of steps 1 .. r + 1; its score sums the loss ``I_R(N) - I_R(after step i)``
    over those steps, so nodes kept while information is lost score high. Most-loss (the removed
    nodes are the relays), the mirror image: the score sums the relay information still held by
    the nodes not yet removed, ``I_R(before step i)``, over the steps r + 1 .. n from the node's
    own removal on, so nodes removed while much information remains score high. NaN curve values
    (after an early stop) count as no loss (least-loss) and nothing left (most-loss).
    """
    if order == "least-loss":
        loss = np.nan_to_num(curve[0] - curve[1:], nan=0.0)  # loss after step i = 1..n
        score = np.cumsum(loss)[rank]
    else:
        held = np.nan_to_num(curve[:-1], nan=0.0)  # relay information before step i = 1..n
        score = np.cumsum(held[::-1])[::-1][rank]
    top = score.max() if score.size else 0.0
    return score / top if top > _TINY else np.zeros_like(score)


def _store(arrays: dict[str, np.ndarray], ci: int, ti: int, res: SliceResult, spec: RelayRule, n_perm: int) -> None:
    n = res.order.size
    rank = np.empty(n, dtype=np.int64)
    rank[res.order] = np.arange(n)
    curve = res.curve
    total = float(curve[0])
    cut = spec.cut(curve, res.null_critical)
    members = relay_members(rank, np.asarray(cut), spec.order)
    arrays["curve"][ci, ti] = curve
    arrays["removed"][ci, ti, 1:] = res.order
    arrays["elimination_rank"][ci, ti] = rank
    arrays["contribution"][ci, ti] = curve[rank] - curve[rank + 1]
    arrays["aggregated_score"][ci, ti] = aggregated_scores(curve, rank, spec.order)
    arrays["marginal_mi"][ci, ti] = res.marginal
    arrays["unique_relay"][ci, ti] = res.unique
    arrays["total"][ci, ti] = total
    arrays["is_relay"][ci, ti] = members
    arrays["relay_size"][ci, ti] = int(members.sum())
    if n_perm:
        arrays["p_value"][ci, ti] = res.p_value
        arrays["null_mean"][ci, ti] = res.null_mean
        arrays["p_value_relay"][ci, ti] = res.p_value_relay
        arrays["null_mean_relay"][ci, ti] = res.null_mean_relay
        arrays["null_critical"][ci, ti] = res.null_critical
        arrays["significant"][ci, ti] = res.p_value < spec.alpha


def _store_constant(arrays: dict[str, np.ndarray], ci: int, ti: int, n: int, n_perm: int) -> None:
    """A constant output: every information is 0, no relay, nothing significant."""
    arrays["curve"][ci, ti] = 0.0
    arrays["removed"][ci, ti, 1:] = np.arange(n)
    arrays["elimination_rank"][ci, ti] = np.arange(n)
    for key in ("contribution", "aggregated_score", "marginal_mi", "unique_relay"):
        arrays[key][ci, ti] = 0.0
    arrays["total"][ci, ti] = 0.0
    if n_perm:
        arrays["p_value"][ci, ti] = 1.0
        arrays["null_mean"][ci, ti] = 0.0
        arrays["p_value_relay"][ci, ti] = 1.0
        arrays["null_mean_relay"][ci, ti] = 0.0
        arrays["null_critical"][ci, ti] = 0.0


_DESCRIPTIONS = {
    "is_relay": ("relay set member at the threshold", ""),
    "contribution": ("loss of relay information when the node was removed", "bit"),
    "elimination_rank": ("removal order (0 = removed first)", ""),
    "aggregated_score": ("aggregated relay score, normalised to max 1", ""),
    "marginal_mi": ("marginal information I(O; h[n])", "bit"),
    "unique_relay": ("unique relay information I_R({n})", "bit"),
    "total": ("relay information of all nodes I_R(N)", "bit"),
    "relay_size": ("number of nodes in the relay set", ""),
    "p_value": ("permutation p-value of the total I_R(N)", ""),
    "null_mean": ("null mean (bias floor) of the total I_R(N)", "bit"),
    "p_value_relay": ("permutation p-value of the relay set's I_R (at tested_threshold)", ""),
    "null_mean_relay": ("null mean (bias floor) of the relay set's I_R", "bit"),
    "significant": ("p_value < alpha", ""),
    "curve": ("relay information I_R after `step` removals", "bit"),
    "removed": ("node position removed at this step (-1 at step 0)", ""),
    "null_critical": ("largest value not significant at alpha against the permutation null of the total", "bit"),
}


def _dataset(
    rec: xr.Dataset,
    arrays: dict[str, np.ndarray],
    concept_list: list[tuple[str, int]],
    time_labels: np.ndarray,
    node_pos: np.ndarray,
    attrs: dict[str, Any],
) -> xr.Dataset:
    n = len(node_pos)
    dims3 = ("concept", "time", "node")
    dims2 = ("concept", "time")
    dims_s = ("concept", "time", "step")
    data_vars = {}
    for key, arr in arrays.items():
        dims = dims_s if key in ("curve", "removed") else dims3 if arr.ndim == 3 else dims2
        long_name, units = _DESCRIPTIONS[key]
        var_attrs = {"long_name": long_name}
        if units:
            var_attrs["units"] = units
        data_vars[key] = (dims, arr, var_attrs)
    coords = {
        "concept": ("concept", np.array([c for c, _ in concept_list], dtype=str)),
        "concept_class": ("concept", np.array([k for _, k in concept_list], dtype=np.int64)),
        "time": ("time", time_labels.astype(np.int64)),
        "node": ("node", np.asarray(rec["node"].values)[node_pos].astype(str)),
        "step": ("step", np.arange(n + 1, dtype=np.int64)),
        "set_size": ("step", np.arange(n, -1, -1, dtype=np.int64)),
    }
    for extra in ("layer", "unit"):
        if extra in rec.coords and rec[extra].dims == ("node",):
            coords[extra] = ("node", np.asarray(rec[extra].values)[node_pos])
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
