"""Do relays point at the units that matter? Agreement between a relay analysis and knockout effects."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_float, check_int
from ..contract import check_relays, concept_classes
from ..errors import InputError

__all__ = ["agreement"]


def agreement(
    relays: xr.Dataset,
    effects: xr.Dataset,
    *,
    k: int = 5,
    score: str = "contribution",
    effect: str = "accuracy_drop",
    causal: Any = None,
    threshold: float = 0.05,
) -> xr.Dataset:
    """Compare relay scores and relay sets with knockout effects and causal sets, per concept and step.

    Over the units the relay analysis covers, for each concept both results hold and each analysed step:

    - ``spearman``: Spearman's rank correlation (``scipy.stats.spearmanr``) between the relay ``score``
      and the knockout ``effect`` (NaN when either is constant), with its p-value ``spearman_p``;
    - ``topk_overlap``: the share of the ``k`` highest-scoring units that are also among the ``k`` units
      with the largest effect (ties go to the lower node position);
    - ``jaccard``: ``|R ∩ C| / |R ∪ C|`` of the relay set R (``is_relay``) and the causal set C (NaN when
      both are empty), and ``hypergeom_p``: the chance that a random set of ``|R|`` units holds at least
      ``|R ∩ C|`` members of C (``scipy.stats.hypergeom``; 1 when either set is empty).

    Parameters
    ----------
    relays : xarray.Dataset
        A relay result (:func:`relaywidgets.find_relays`).
    effects : xarray.Dataset
        An effect map (:func:`relaywidgets.knockout.effect_map`, dims concept, node, time: compared step by
        step) or unit effects (:func:`relaywidgets.knockout.unit_effects`, dims concept, node: compared with
        every step) of the same model. Concepts are matched by class (``concept_class``).
    k : int, default 5
        Size of the top-k sets.
    score : str, default "contribution"
        The relay variable to correlate (any per-node variable: ``aggregated_score``, ``unique_relay``, …).
    effect : str, default "accuracy_drop"
        The effect variable (``accuracy_drop`` or ``margin_drop``).
    causal : xarray.Dataset or DataArray, optional
        The causal set: a :func:`relaywidgets.knockout.causal_set` result (used for its concept, at every
        step), or a boolean DataArray over ``node`` (optionally also ``concept`` and ``time``). Default:
        the units whose ``effect`` exceeds ``threshold``.
    threshold : float, default 0.05
        Effect above which a unit counts as causal when ``causal`` is not given.

    Returns
    -------
    xarray.Dataset
        Dims ``concept``, ``time``: ``spearman``, ``spearman_p``, ``topk_overlap``, ``jaccard``,
        ``hypergeom_p``, ``overlap`` (``|R ∩ C|``), ``relay_size``, ``causal_size``. Attributes record
        ``k``, ``score``, ``effect``, ``threshold`` and ``n_nodes``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from relaywidgets.knockout import agreement
    >>> nodes = [f"l0.h{i}" for i in range(4)]
    >>> relays = xr.Dataset(
    ...     {"is_relay": (("concept", "time", "node"), [[[True, True, False, False]]]),
    ...      "contribution": (("concept", "time", "node"), [[[0.9, 0.5, 0.1, 0.0]]])},
    ...     coords={"concept": ["1"], "concept_class": ("concept", [1]), "time": [3], "node": nodes})
    >>> effects = xr.Dataset({"accuracy_drop": (("concept", "node"), [[0.8, 0.0, 0.3, 0.0]])},
    ...                      coords={"concept": ["1"], "concept_class": ("concept", [1]), "node": nodes})
    >>> result = agreement(relays, effects, k=2)
    >>> float(result.topk_overlap.item()), round(float(result.jaccard.item()), 3)
    (0.5, 0.333)
    """
    from scipy.stats import ConstantInputWarning, hypergeom, spearmanr

    owner = "agreement"
    check_relays(relays, owner, require=(score,))
    threshold = check_float(threshold, "threshold", owner, -np.inf)
    if not isinstance(effect, str):
        raise InputError(
            f"The 'effect' parameter of {owner} must be the name of a variable of the effects, such as "
            f"'accuracy_drop' or 'margin_drop'. Got {effect!r} instead."
        )
    if not isinstance(effects, xr.Dataset) or effect not in effects.data_vars or "node" not in effects[effect].dims:
        raise InputError(
            f"{owner}: effects must be the Dataset of effect_map or unit_effects with a {effect!r} variable over "
            "'node'; compute it with relaywidgets.knockout.effect_map(model, X, y)."
        )
    nodes = [str(v) for v in relays["node"].values]
    missing = sorted(set(nodes) - {str(v) for v in effects["node"].values})
    if missing:
        raise InputError(f"{owner}: the effects lack node(s) {missing[:5]} of the relays; use results of the same model.")
    n = len(nodes)
    k = check_int(k, "k", owner, 1)
    if k > n:
        raise InputError(f"The 'k' parameter of {owner} must be at most the {n} units compared. Got {k} instead.")

    effect_class = _classes(effects, owner)
    pairs = []  # (relay position, effects position, label, class)
    for pos, cls in enumerate(concept_classes(relays)):
        if cls is not None and cls in effect_class:
            pairs.append((pos, effect_class.index(cls), str(relays["concept"].values[pos]), cls))
    if not pairs:
        raise InputError(
            f"{owner}: the relays and the effects share no concept (relays: {list(map(str, relays.concept.values))}, "
            f"effects: {list(map(str, effects.concept.values))}); analyse the same classes in both."
        )
    times = [int(t) for t in relays["time"].values]
    has_time = "time" in effects[effect].dims
    if has_time:
        effect_times = {int(t) for t in effects["time"].values}
        times = [t for t in times if t in effect_times]
        if not times:
            raise InputError(f"{owner}: the effect map covers none of the relays' steps; compute both over the same sequences.")

    eff = effects[effect].sel(node=nodes)
    shape = (len(pairs), len(times))
    out = {name: np.full(shape, np.nan) for name in
           ("spearman", "spearman_p", "topk_overlap", "jaccard", "hypergeom_p", "overlap", "relay_size", "causal_size")}
    position = np.arange(n)
    for i, (r_pos, e_pos, label, cls) in enumerate(pairs):
        for j, t in enumerate(times):
            sel = eff.isel(concept=e_pos)
            b = np.asarray((sel.sel(time=t) if has_time else sel).transpose("node").values, dtype=np.float64)
            a = np.asarray(relays[score].isel(concept=r_pos).sel(time=t).transpose("node").values, dtype=np.float64)
            relay_set = np.asarray(relays["is_relay"].isel(concept=r_pos).sel(time=t).transpose("node").values, bool)
            causal_set = _causal_members(causal, b, threshold, label, cls, t, nodes, owner)
            if causal_set is not None:  # None: a causal_set result about another concept
                inter, union = int((relay_set & causal_set).sum()), int((relay_set | causal_set).sum())
                out["overlap"][i, j] = inter
                out["causal_size"][i, j] = int(causal_set.sum())
                out["jaccard"][i, j] = inter / union if union else np.nan
                out["hypergeom_p"][i, j] = float(hypergeom.sf(inter - 1, n, int(causal_set.sum()), int(relay_set.sum())))
            out["relay_size"][i, j] = int(relay_set.sum())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConstantInputWarning)
                rho, p = spearmanr(a, b, nan_policy="omit")
            out["spearman"][i, j], out["spearman_p"][i, j] = float(rho), float(p)
            top_a = set(np.lexsort((position, -np.nan_to_num(a, nan=-np.inf)))[:k])
            top_b = set(np.lexsort((position, -np.nan_to_num(b, nan=-np.inf)))[:k])
            out["topk_overlap"][i, j] = len(top_a & top_b) / k
    descriptions = {
        "spearman": f"Spearman rho between relay {score} and {effect} over units",
        "spearman_p": "p-value of the Spearman correlation",
        "topk_overlap": f"share of the top-{k} relay units among the top-{k} effect units",
        "jaccard": "Jaccard index of the relay set and the causal set",
        "hypergeom_p": "P(a random set of the relay set's size holds at least the observed overlap)",
        "overlap": "units in both the relay set and the causal set",
        "relay_size": "units in the relay set",
        "causal_size": "units in the causal set",
    }
    return xr.Dataset(
        {name: (("concept", "time"), values, {"long_name": descriptions[name]}) for name, values in out.items()},
        coords={
            "concept": ("concept", np.array([p[2] for p in pairs], dtype=str)),
            "concept_class": ("concept", np.array([p[3] for p in pairs], dtype=np.int64)),
            "time": ("time", np.asarray(times, dtype=np.int64)),
        },
        attrs={"k": k, "score": score, "effect": effect, "threshold": float(threshold), "n_nodes": n,
               "causal": "threshold" if causal is None else type(causal).__name__},
    )


def _classes(effects: xr.Dataset, owner: str) -> list[int | None]:
    if "concept" not in effects.dims:
        raise InputError(f"{owner}: effects need a 'concept' dim (the Dataset of effect_map or unit_effects).")
    return concept_classes(effects)


def _causal_members(
    causal: Any, effect: np.ndarray, threshold: float, label: str, cls: int, t: int, nodes: list[str], owner: str
) -> np.ndarray | None:
    """The causal set over ``nodes`` for one concept and step; None when ``causal`` is about another concept."""
    if causal is None:
        return effect > threshold
    if isinstance(causal, xr.Dataset):
        if "in_set" not in causal.data_vars or "class_index" not in causal.attrs:
            raise InputError(f"{owner}: causal must be the result of causal_set (with 'in_set') or a boolean DataArray.")
        if int(causal.attrs["class_index"]) != cls:
            return None
        members = causal["in_set"]
    elif isinstance(causal, xr.DataArray):
        members = causal
        if "concept" in members.dims:
            labels = [str(v) for v in members["concept"].values]
            if label not in labels:
                return None
            members = members.isel(concept=labels.index(label))
        if "time" in members.dims:
            members = members.sel(time=t)
    else:
        raise InputError(f"{owner}: causal must be a causal_set result or a boolean DataArray; got {type(causal).__name__}.")
    if members.dims != ("node",):
        raise InputError(f"{owner}: the causal set must be over 'node' (plus concept, time); got dims {members.dims}.")
    missing = sorted(set(nodes) - {str(v) for v in members["node"].values})
    if missing:
        raise InputError(f"{owner}: the causal set lacks node(s) {missing[:5]} of the relays.")
    return np.asarray(members.sel(node=nodes).values, dtype=bool)
