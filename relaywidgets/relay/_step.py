"""One time step of the relay map, every concept at once: the unit of work of :func:`find_relays`.

A step needs only its own activations (node, sample) and the small per-sample arrays, and its permutations
are seeded by the step's samples, not by what ran before: in memory, block by block from a Zarr store, or
on the workers of a Dask cluster, the same step gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError
from . import _prepare as prep
from ._slice import DiscreteSlice, GenericSlice, SliceResult
from .threshold import RelayRule

__all__ = ["StepSetup", "StepOutcome", "analyse_step", "step_codes", "step_perms"]


@dataclass(frozen=True)
class StepSetup:
    """What every step shares: parameters and the per-sample arrays (small; sent once to each worker)."""

    concepts: list[tuple[str, int]]
    estimator: Any
    fast: bool
    ops: Any
    discretizer: Any  # a discretizer name, or None when the caller hands codes in
    source: str
    n_perm: int
    seed: int
    spec: RelayRule
    early_stop: bool
    length: np.ndarray
    prediction: np.ndarray
    label: np.ndarray
    owner: str = "find_relays"

    @property
    def discrete(self) -> bool:
        return self.estimator.kind == "discrete"


@dataclass
class StepOutcome:
    """The results of one step: one :class:`SliceResult` per concept, None where the output is constant."""

    t_pos: int
    t_label: int
    n_samples: int
    results: list[SliceResult | None] = field(default_factory=list)
    #: concept position -> why the estimator could not analyse it here (e.g. a class too rare for gcmi)
    failed: dict[int, str] = field(default_factory=dict)
    log2_states: float | None = None  # log2 of the joint states of the node set (discrete estimators)


def step_codes(values: np.ndarray, discretizer: str, owner: str) -> np.ndarray:
    """int8 codes (node, sample) of one step's activations (node, sample), thresholds per node over samples.

    The same route as discretizing the whole (node, time, sample) array: thresholds are per (node, step).
    """
    da = xr.DataArray(np.asarray(values)[:, None, :], dims=("node", "time", "sample"))
    return prep.state_codes(da, discretizer, owner)[:, 0, :]


def step_perms(samples: np.ndarray, n_perm: int, seed: int, cache: dict[bytes, np.ndarray] | None = None) -> np.ndarray:
    """Seeded permutations of the samples running at a step, seeded by ``(seed, number of samples)``.

    Steps with the same samples share them (so concepts and steps are tested against the same shuffles); the
    cache only saves recomputing them.
    """
    key = samples.tobytes()
    if cache is not None and key in cache:
        return cache[key]
    rng = np.random.default_rng([seed, samples.size])
    perms = np.argsort(rng.random((n_perm, samples.size)), axis=1)
    if cache is not None:
        cache[key] = perms
    return perms


def analyse_step(
    setup: StepSetup,
    t_pos: int,
    t_label: int,
    values: np.ndarray | None,
    codes: np.ndarray | None = None,
    perm_cache: dict[bytes, np.ndarray] | None = None,
) -> StepOutcome:
    """Relay search of every concept at one step.

    Parameters
    ----------
    setup : StepSetup
    t_pos, t_label : int
        Position along the analysed steps and value of the ``time`` coordinate.
    values : ndarray, shape (node, sample), optional
        The step's activations (float32); discretized here with ``setup.discretizer`` when ``codes`` is None.
    codes : ndarray of int8, shape (node, sample), optional
        Ready-made state codes (a callable discretizer, applied by the caller).
    perm_cache : dict, optional
        Permutations shared across steps of one process.
    """
    discrete = setup.discrete
    if values is not None:
        prep.check_padding(values, t_label, setup.length)
    if discrete and codes is None:
        codes = step_codes(values, setup.discretizer, setup.owner)
    sl = prep.time_slice(
        0, t_label, setup.length,
        None if codes is None else np.asarray(codes)[:, None, :],
        None if discrete else np.asarray(values)[:, None, :],
    )
    outcome = StepOutcome(t_pos, t_label, int(sl.samples.size))
    if outcome.n_samples < 2:
        return outcome
    label = None
    if setup.source == "label":
        label, _ = prep.dense_labels(setup.label[sl.samples])
    if discrete:
        outcome.log2_states = float(sl.log2_levels.sum())
        if setup.fast:
            engine: Any = DiscreteSlice(sl.codes, sl.levels, sl.log2_levels, setup.estimator, setup.ops, label)
        else:
            engine = GenericSlice(setup.estimator, sl.codes.astype(np.int64), label)
    else:
        engine = GenericSlice(setup.estimator, sl.values, label)
    perms = step_perms(sl.samples, setup.n_perm, setup.seed, perm_cache) if setup.n_perm else None
    pred = setup.prediction[sl.samples]
    for ci, (_, cls) in enumerate(setup.concepts):
        out, n_out = prep.output_codes(pred, cls)
        if np.unique(out).size < 2:
            outcome.results.append(None)
            continue
        try:
            result = engine.analyse(out, n_out, rule=setup.spec, perms=perms, floor_from_null=setup.early_stop)
        except InputError as exc:
            # The estimator cannot analyse this concept's output here (gcmi with a class rarer than the
            # nodes, ...). That costs this (concept, step) only: find_relays leaves it NaN and warns.
            outcome.failed[ci] = str(exc)
            result = None
        outcome.results.append(result)
    return outcome
