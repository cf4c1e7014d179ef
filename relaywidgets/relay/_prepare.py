"""Reading a recording for relay analysis: parameter checks, selections, outputs and state codes.

Shared by :func:`~relaywidgets.relay.find_relays` and :func:`~relaywidgets.relay.relay_information`.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ..contract import concept_names, resolve_concept
from ..errors import InputError, RecordingError
from ..info import UndersamplingWarning, discretize, discretizers, get_estimator
from ..info import Estimator
from .._validation import check_choice, check_float, is_int
from ._counts import counting_fast_path

__all__ = [
    "check_rec",
    "resolve_nodes",
    "resolve_times",
    "resolve_concepts",
    "resolve_estimator",
    "state_codes",
    "check_discretizer",
    "Slice",
    "time_slice",
    "check_padding",
    "output_codes",
    "warn_constant_outputs",
    "warn_undersampled",
    "SOURCES",
    "VARIABLES",
    "state_variable",
]

SOURCES = ("input", "label")
#: Recording variables a relay analysis can read: the hidden state h_t, or an LSTM's cell state c_t.
VARIABLES = ("hidden", "cell")


class EstimatorFailedWarning(UserWarning):
    """The estimator could not analyse some (concept, step) pairs (e.g. a class too rare for gcmi); they are NaN."""


class ConstantOutputWarning(UserWarning):
    """The output variable of a concept is constant, so every relay information is 0 bits."""


def check_rec(rec: Any) -> xr.Dataset:
    """Run the recording contract check (imported lazily: the recording module imports torch)."""
    if not isinstance(rec, xr.Dataset):
        raise RecordingError(
            f"A recording must be an xarray.Dataset; got {type(rec).__name__}. Make recordings with "
            "relaywidgets.record(model, X, y) or relaywidgets.testing.make_recording(...)."
        )
    from ..contract import check_recording

    return check_recording(rec)


def resolve_nodes(rec: xr.Dataset, nodes: Any, owner: str) -> np.ndarray:
    """Positions along ``node`` of ``nodes`` (labels or integer positions; None = every node)."""
    labels = [str(v) for v in rec["node"].values]
    n = len(labels)
    if nodes is None:
        return np.arange(n)
    if isinstance(nodes, (str, numbers.Integral)) and not isinstance(nodes, bool):
        nodes = [nodes]
    items = _listed(nodes, "nodes", owner, "node labels (str) or positions (int)")
    index = {lab: i for i, lab in enumerate(labels)}
    pos = []
    for item in items:
        if isinstance(item, str):
            if item not in index:
                raise InputError(
                    f"Node {item!r} is not in the recording. Its nodes are {_preview(labels)}; pass labels "
                    "like these or integer positions 0 .. " + str(n - 1) + "."
                )
            pos.append(index[item])
        elif is_int(item):
            if not 0 <= int(item) < n:
                raise InputError(
                    f"Node position {int(item)} is out of range; the recording has {n} nodes (0 .. {n - 1})."
                )
            pos.append(int(item))
        else:
            raise InputError(
                f"The 'nodes' parameter of {owner} must hold node labels (str) or positions (int). "
                f"Got {item!r} instead."
            )
    if len(set(pos)) != len(pos):
        raise InputError(f"The 'nodes' parameter of {owner} lists a node twice: {items}.")
    return np.asarray(pos, dtype=np.int64)


def _listed(value: Any, name: str, owner: str, what: str) -> list[Any]:
    """``value`` as a list of items; a bool, a number or another non-collection is refused with the fix."""
    if isinstance(value, (bool, np.bool_, numbers.Number, bytes)) or not hasattr(value, "__iter__"):
        raise InputError(
            f"The {name!r} parameter of {owner} takes one of, or a list of, {what}. Got {value!r} instead."
        )
    return list(value)


def _preview(values: Sequence[Any], limit: int = 6) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}] ({len(values)} in all)"


def resolve_times(rec: xr.Dataset, times: Any, owner: str) -> np.ndarray:
    """Positions along ``time`` of the time coordinates ``times`` (None = every step)."""
    coord = np.asarray(rec["time"].values)
    if times is None:
        return np.arange(coord.size)
    scalar = is_int(times)
    items = [times] if scalar else _listed(times, "times", owner, "integer time steps")
    pos = []
    for t in items:
        if not is_int(t):
            raise InputError(
                f"The 'time' parameter of {owner} must hold integer time steps. Got {t!r} instead."
            )
        hit = np.flatnonzero(coord == int(t))
        if hit.size == 0:
            raise InputError(
                f"Time step {int(t)} is not in the recording; its steps run {int(coord.min())} .. "
                f"{int(coord.max())}."
            )
        pos.append(int(hit[0]))
    if len(set(pos)) != len(pos):
        raise InputError(f"The 'times' parameter of {owner} lists a step twice: {items}.")
    return np.asarray(pos, dtype=np.int64)


def resolve_concepts(rec: xr.Dataset, concepts: Any, owner: str) -> list[tuple[str, int]]:
    """(label, class index) per concept; the index is -1 for ``"all"`` (the decision itself).

    Each concept is resolved by :func:`relaywidgets.contract.resolve_concept`, the rules every reader shares.
    """
    names = concept_names(rec)
    if concepts is None:
        return [(name, i) for i, name in enumerate(names)]
    if isinstance(concepts, (str, numbers.Integral)) and not isinstance(concepts, bool):
        concepts = [concepts]
    out = []
    for c in concepts:
        pos = resolve_concept(rec, c, owner)  # positions: the classes, then "all"
        out.append((names[pos], pos) if pos < len(names) else ("all", -1))
    labels = [lab for lab, _ in out]
    if len(set(labels)) != len(labels):
        raise InputError(f"The 'concepts' parameter of {owner} lists a concept twice: {list(concepts)}.")
    return out


def resolve_estimator(estimator: Any) -> tuple[Estimator, bool]:
    """The estimator object and whether the counting search applies to it.

    Read from the estimator's capability flags (a discrete estimator with ``vectorised_counts``),
    so a registered estimator with vectorised count hooks gets the fast path and any other one
    the generic path (:mod:`._generic`).
    """
    est = get_estimator(estimator)
    return est, counting_fast_path(est)


def state_codes(hidden: xr.DataArray, discretizer: Any, owner: str) -> np.ndarray:
    """int8 codes (node, time, sample) of ``hidden``; -1 where the activation is NaN."""
    if callable(discretizer) and not isinstance(discretizer, str):
        codes = discretizer(hidden)
        codes = np.asarray(getattr(codes, "values", codes))
        if codes.shape != hidden.shape or codes.dtype.kind not in "iu":
            raise InputError(
                f"The discretizer callable must return integer codes of shape {hidden.shape} "
                f"(node, time, sample); got dtype {codes.dtype} and shape {codes.shape}."
            )
        return compact_codes(codes, owner)
    check_discretizer(discretizer, owner)
    return np.asarray(discretize(hidden, discretizer).values)


def compact_codes(codes: np.ndarray, owner: str) -> np.ndarray:
    """int8 state codes (node, ...) from any integer codes a custom discretizer returned.

    Information depends only on which samples share a state, not on the codes' values, so codes beyond int8
    are relabelled ``0 .. k-1`` per node (in increasing order, the same labels at every step) instead of being
    truncated, which would merge states (codes 0 and 256 would both become 0). -1 stays the mark of a
    missing value.

    Raises
    ------
    InputError
        For other negative codes, or more than 127 distinct codes at one node.

    Examples
    --------
    >>> compact_codes(np.array([[0, 256, 256, -1]]), "find_relays").tolist()
    [[0, 1, 1, -1]]
    """
    codes = np.asarray(codes)
    if codes.size == 0:
        return codes.astype(np.int8)
    low, high = int(codes.min()), int(codes.max())
    if low < -1:
        raise InputError(
            f"The discretizer callable given to {owner} returned negative code(s) (down to {low}); codes must be "
            "integers >= 0, with -1 only for missing (NaN) activations."
        )
    if high <= np.iinfo(np.int8).max:
        return codes.astype(np.int8)
    out = np.full(codes.shape, -1, dtype=np.int8)
    for i in range(codes.shape[0]):  # per node: each node is its own variable
        node = codes[i]
        valid = node >= 0
        states, inverse = np.unique(node[valid], return_inverse=True)
        if len(states) > np.iinfo(np.int8).max:
            raise InputError(
                f"The discretizer callable given to {owner} returned {len(states)} distinct codes at node {i}; at "
                f"most {np.iinfo(np.int8).max} states per node are supported (and far fewer are estimable). "
                "Coarse-grain into fewer states."
            )
        out[i][valid] = inverse
    return out


def check_discretizer(discretizer: Any, owner: str) -> str:
    """A discretizer name, checked (callables are checked where they are called, by :func:`state_codes`)."""
    if not isinstance(discretizer, str) or discretizer not in discretizers():
        listed = ", ".join(repr(k) for k in discretizers())
        raise InputError(
            f"The 'discretizer' parameter of {owner} must be one of {listed} or a callable. "
            f"Got {discretizer!r} instead."
        )
    return discretizer


@dataclass
class Slice:
    """The samples valid at one time step and what the search needs of them."""

    time: int
    samples: np.ndarray  # positions along 'sample' with length > t
    codes: np.ndarray | None  # (sample, node) int8 state codes, or None for continuous estimators
    values: np.ndarray | None  # (sample, node) float64 activations, continuous estimators only
    levels: int  # 1 + largest code
    log2_levels: np.ndarray  # per node log2(number of observed states)


def time_slice(
    t_pos: int, t_label: int, length: np.ndarray, codes: np.ndarray | None, hidden: np.ndarray | None
) -> Slice:
    """Cut out time step ``t_pos`` for the samples still running then (``length > t``)."""
    samples = np.flatnonzero(length > t_label)
    c = v = None
    levels, log2_levels = 1, np.zeros(0)
    if codes is not None:
        c = np.ascontiguousarray(codes[:, t_pos, samples].T)
        if c.size and c.min() < 0:
            bad = int((c < 0).any(axis=1).sum())
            raise RecordingError(
                f"At time step {t_label}, {bad} sample(s) that have not ended (length > {t_label}) hold NaN "
                "activations. A recording must be NaN exactly after each sample's length; re-record it or "
                "fix 'length'."
            )
        levels = int(c.max()) + 1 if c.size else 1
        present = np.stack([(c == v_).any(axis=0) for v_ in range(levels)]) if c.size else np.ones((1, 0), bool)
        log2_levels = np.log2(np.maximum(present.sum(axis=0), 1)).astype(np.float64)
    if hidden is not None:
        v = np.ascontiguousarray(hidden[:, t_pos, samples].T).astype(np.float64)
        if v.size and np.isnan(v).any():
            raise RecordingError(
                f"At time step {t_label}, samples that have not ended hold NaN activations. A recording "
                "must be NaN exactly after each sample's length; re-record it or fix 'length'."
            )
    return Slice(t_label, samples, c, v, levels, log2_levels)


def check_padding(values: np.ndarray, t_label: int, length: np.ndarray) -> None:
    """Refuse activations at a step a sample has already ended by (``length <= t_label``).

    A recording is NaN after each sample's length, counted from step 0 of the ``time`` coordinate. Values
    there mean the coordinate no longer numbers the steps from the start of the sequences (it was shifted,
    e.g. ``rec.assign_coords(time=rec.time + 5)``), and the analysis would use the wrong samples at every
    step, or none at all.

    Parameters
    ----------
    values : ndarray, shape (node, sample)
        The activations at step ``t_label``.
    t_label : int
        The step's number (its ``time`` coordinate).
    length : ndarray, shape (sample,)

    Examples
    --------
    >>> check_padding(np.array([[0.5, np.nan]]), 1, np.array([2, 1]))
    """
    ended = np.asarray(length) <= t_label
    if not ended.any():
        return
    held = ~np.isnan(np.asarray(values, dtype=np.float64)[:, ended]).all(axis=0)
    if held.any():
        raise RecordingError(
            f"At time step {t_label}, {int(held.sum())} sample(s) whose length is <= {t_label} hold activations, "
            "where a recording holds NaN. The 'time' coordinate must number the steps from the start of the "
            "sequences (0 = first step), the scale 'length' counts on; a relabelled coordinate "
            "(rec.assign_coords(time=rec.time + k)) puts every step at the wrong position. Keep the recorded step "
            "numbers (undo the shift, or select steps with rec.isel(time=...) instead), or fix 'length'."
        )


def output_codes(prediction: np.ndarray, cls: int) -> tuple[np.ndarray, int]:
    """Dense output codes: O_c = (prediction == c) for a class, the decision itself for ``-1``."""
    if cls >= 0:
        o = (prediction == cls).astype(np.int64)
        return o, 2
    return dense_labels(prediction)


def dense_labels(label: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes ``0 .. k - 1`` of ``label`` (order-preserving) and their number ``k``."""
    _, y = np.unique(label, return_inverse=True)
    return y.reshape(-1).astype(np.int64), int(y.max()) + 1 if y.size else 1


def warn_constant_outputs(constant: dict[str, list[int]], n_times: int, stacklevel: int = 3) -> None:
    """One warning listing the concepts whose output variable is constant."""
    if not constant:
        return
    parts = []
    for name, times in constant.items():
        where = "at every step" if len(times) == n_times else f"at step(s) {times[:8]}{'...' if len(times) > 8 else ''}"
        parts.append(f"{name!r} {where}")
    warnings.warn(
        "The network's decision for concept(s) " + "; ".join(parts) + " is the same for every sample "
        "(the class is never or always predicted), so the output variable carries no information and "
        "the relay information is 0 bits there: no relays are reported. Use samples with more varied "
        "predictions, or another concept.",
        ConstantOutputWarning,
        stacklevel=stacklevel,
    )


def warn_failed_concepts(failed: dict[str, list[tuple[int, str]]], n_cells: int, stacklevel: int = 3) -> None:
    """Warn about the (concept, step) pairs the estimator could not analyse; raise when it analysed none.

    ``failed`` maps a concept to its (time step, reason) pairs; ``n_cells`` is concepts x steps analysed.
    """
    if not failed:
        return
    count = sum(len(v) for v in failed.values())
    first = next(iter(failed.values()))[0][1]
    if count >= n_cells:
        raise InputError(f"The estimator could not analyse any concept at any step. {first}")
    parts = []
    for name, items in failed.items():
        times = [t for t, _ in items]
        parts.append(f"{name!r} at step(s) {times[:8]}{'...' if len(times) > 8 else ''}")
    warnings.warn(
        "The estimator could not analyse concept(s) " + "; ".join(parts) + "; their relay results there are "
        f"NaN (no relays), the other concepts are unaffected. The first reason: {first}",
        EstimatorFailedWarning,
        stacklevel=stacklevel,
    )


def warn_undersampled(worst: tuple[float, int, int, int] | None, stacklevel: int = 3) -> None:
    """Warn when the node set has more possible joint states than there are samples.

    ``worst`` is (log2 of the number of joint states, samples, nodes, time step) at the worst step.
    """
    if worst is None:
        return
    log2_states, n_samples, n_nodes, t = worst
    warnings.warn(
        f"At time step {t} the {n_nodes} nodes have {2.0 ** log2_states:,.4g} possible joint states "
        f"(2^{log2_states:.1f}) but only {n_samples:,} samples, so plug-in entropies of large node sets "
        "are biased low and the relay information falls along the elimination path even for irrelevant "
        "nodes. Check 'null_mean' and 'significant' (n_perm > 0), use fewer nodes or more samples, or a "
        "bias-corrected or continuous estimator ('miller-madow', 'shrinkage', 'gcmi', 'ksg').",
        UndersamplingWarning,
        stacklevel=stacklevel,
    )


def check_threshold(threshold: Any, owner: str) -> float:
    return check_float(threshold, "threshold", owner, 0, 1)


def check_source(source: Any, owner: str) -> str:
    return check_choice(source, "source", owner, SOURCES)



def check_variable(variable: Any, owner: str) -> str:
    return check_choice(variable, "variable", owner, VARIABLES)


def state_variable(
    rec: xr.Dataset, variable: Any, node_pos: np.ndarray, time_pos: np.ndarray, owner: str
) -> xr.DataArray:
    """The activations analysed: ``rec[variable]`` at the selected nodes and steps, (node, time, sample).

    ``"cell"`` needs an LSTM recording; in a model that mixes LSTM and other layers only the LSTM
    layers' nodes have a cell state (the others are NaN throughout) and only they may be selected.
    """
    variable = check_variable(variable, owner)
    if variable not in rec.data_vars:
        arch = rec.attrs.get("arch", "unknown")
        raise InputError(
            f"The recording has no {variable!r} variable (arch {arch!r}): only LSTM recordings hold the cell "
            f"state c_t. Pass variable='hidden', or record an LSTM."
        )
    data = rec[variable].isel(node=node_pos, time=time_pos)
    if variable == "cell":
        # an xarray reduction: streamed block by block when the recording is Dask-backed
        empty = np.asarray(data.isnull().all(dim=("time", "sample")).values)
        if empty.any():
            labels = [str(v) for v in np.asarray(data["node"].values)[empty]]
            raise InputError(
                f"Node(s) {_preview(labels)} have no cell state (they belong to a layer that is not an LSTM), so "
                f"variable='cell' cannot analyse them. Select the LSTM layers' nodes with nodes=..., or use "
                "variable='hidden'."
            )
    return data
