"""Answer checks of lesson 4 (RNN, LSTM and GRU: persistence of relay sets, its chance level, drift and storage).

The truths come from :func:`relaywidgets.relay.relay_drift` and :func:`relaywidgets.relay.relays_at` on the
student's own relay results, and from the exact hypergeometric expectation of the Jaccard index of random
sets; known mistakes (both-empty steps scored as 0, the Dice or overlap coefficient instead of Jaccard, a
ratio of expectations, raw persistence read as storage) are named in the hints.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._answers import as_name, as_number, call_answer
from ._feedback import check

__all__ = [
    "chance_jaccard_truth",
    "check_chance_jaccard",
    "check_drifting",
    "check_excess",
    "check_insignificant_steps",
    "check_persistence",
    "excess_persistence",
]

#: Relay-set memberships (time, node) and their per-step Jaccard index with the previous step.
PERSISTENCE_CASES: tuple[tuple[list[list[int]], list[float]], ...] = (
    (
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]],
        [math.nan, 1.0, 1 / 3, 0.0, math.nan, 0.0],
    ),
    ([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0]], [math.nan, 1 / 3, 1.0]),
    ([[1, 1, 1, 0, 0], [1, 1, 0, 0, 1]], [math.nan, 0.5]),
)


def _jaccard_rows(sets: np.ndarray) -> np.ndarray:
    """Per-step Jaccard index with the previous step; NaN at step 0 and where both sets are empty."""
    from ..relay import jaccard

    out = np.full(sets.shape[0], np.nan)
    if sets.shape[0] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = jaccard(sets[:-1], sets[1:])
    return out


def _same(a: np.ndarray, b: np.ndarray, atol: float = 1e-6) -> bool:
    """Equal within ``atol`` where both are numbers, and NaN at the same places."""
    if a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(nan_a, nan_b) and np.all(np.abs(a[~nan_a] - b[~nan_b]) <= atol))


def check_persistence(persistence: Callable[[np.ndarray], Any], *, cases: Sequence[Any] = PERSISTENCE_CASES) -> None:
    """Check a student's ``persistence(is_relay)`` against the Jaccard index of consecutive relay sets.

    ``is_relay`` is a boolean array (time, node); the function returns one number per step: NaN at step 0
    (no predecessor) and where both sets are empty (persistence undefined), else
    ``|R_{t-1} & R_t| / |R_{t-1} | R_t|``.

    Parameters
    ----------
    persistence : callable
        The student's function.
    cases : sequence of (memberships, expected) or of boolean arrays, optional
        Test inputs; a bare array is compared with :func:`relaywidgets.relay.jaccard` of its rows.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.relay import jaccard
    >>> def persistence(is_relay):
    ...     is_relay = np.asarray(is_relay, dtype=bool)
    ...     return np.concatenate([[np.nan], jaccard(is_relay[:-1], is_relay[1:])])
    >>> check_persistence(persistence)
    >>> check_persistence(lambda r: np.nan_to_num(persistence(r)))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: persistence(...) returned [0.0, 1.0, 0.333, 0.0, 0.0, 0.0] for the memberships ...
    Hint: ...
    """
    check(callable(persistence), f"persistence should be a function; got {persistence!r}.")
    for case in cases:
        if isinstance(case, tuple):
            sets, expected = np.asarray(case[0], dtype=bool), np.asarray(case[1], dtype=float)
        else:
            sets = np.asarray(case, dtype=bool)
            expected = _jaccard_rows(sets)
        raw = call_answer(persistence, "persistence", "is_relay", sets.copy())
        check(raw is not None, "persistence returned None: did it forget to return its result?")
        try:
            answer = np.asarray(getattr(raw, "values", raw), dtype=float).ravel()
        except (TypeError, ValueError, OverflowError):  # not numbers, ragged, or an int beyond every float
            check(False, f"persistence should return an array of numbers; got {raw!r}.")
        shown = (
            f"persistence(...) returned {np.round(answer, 3).tolist()} for the memberships "
            f"{sets.astype(int).tolist()}; expected {np.round(expected, 3).tolist()}."
        )
        if _same(answer, expected):
            continue
        T = sets.shape[0]
        inter = np.concatenate([[np.nan], (sets[:-1] & sets[1:]).sum(-1)])
        sizes = sets.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dice = np.concatenate([[np.nan], 2 * inter[1:] / (sizes[:-1] + sizes[1:])])
            overlap = np.concatenate([[np.nan], inter[1:] / np.minimum(sizes[:-1], sizes[1:])])
            to_first = np.array([np.nan] + [_jaccard_rows(sets[[0, t]])[1] for t in range(1, T)])
        both_empty = np.isnan(expected) & (np.arange(T) > 0)
        if answer.size == T - 1 and _same(answer, expected[1:]):
            hint = "Return one value per step, with NaN at step 0 (it has no previous step): T values for T steps."
        elif answer.size == T and _same(np.where(both_empty, np.nan, answer), expected):
            hint = (
                "Where both sets are empty the Jaccard index is 0/0: persistence is undefined there, so give NaN "
                "(then the persistence index, a NaN-skipping mean, leaves those steps out)."
            )
        elif answer.size == T and _same(answer, inter):
            hint = "That is the size of the overlap. Divide it by the size of the union: |A & B| / |A | B|."
        elif answer.size == T and _same(answer, dice):
            hint = "That is the Dice coefficient 2|A & B| / (|A| + |B|); the Jaccard index divides by the union."
        elif answer.size == T and _same(answer, overlap):
            hint = "That divides by the smaller set (the overlap coefficient); the Jaccard index divides by the union."
        elif answer.size == T and _same(answer, to_first):
            hint = "Compare each step with the step before it, not with the first step."
        else:
            hint = "For t >= 1: (R[t-1] & R[t]).sum() / (R[t-1] | R[t]).sum(), NaN when the union is empty."
        check(False, shown, hint)


def chance_jaccard_truth(a: int, b: int, n: int) -> float:
    """Expected Jaccard index of two independent uniformly random sets of sizes ``a`` and ``b`` out of ``n``.

    The overlap ``i`` is hypergeometric: ``E[J] = sum_i C(a, i) C(n - a, b - i) / C(n, b) * i / (a + b - i)``;
    NaN when ``a = b = 0``.

    Examples
    --------
    >>> round(chance_jaccard_truth(14, 14, 16), 3), round(chance_jaccard_truth(8, 8, 16), 3)
    (0.779, 0.343)
    """
    if a + b == 0:
        return math.nan
    return sum(
        math.comb(a, i) * math.comb(n - a, b - i) / math.comb(n, b) * i / (a + b - i)
        for i in range(max(0, a + b - n), min(a, b) + 1)
    )


#: The (a, b, n) cases ``check_chance_jaccard`` tries by default.
CHANCE_CASES: tuple[tuple[int, int, int], ...] = ((14, 14, 16), (8, 8, 16), (3, 5, 10), (0, 4, 8))


def check_chance_jaccard(
    chance_jaccard: Callable[[int, int, int], Any], *, cases: Sequence[tuple[int, int, int]] = CHANCE_CASES
) -> None:
    """Check a student's ``chance_jaccard(a, b, n)`` against the exact hypergeometric expectation.

    Parameters
    ----------
    chance_jaccard : callable
        The student's function.
    cases : sequence of (a, b, n), optional
        Where to compare (within 1e-6).

    Examples
    --------
    >>> check_chance_jaccard(chance_jaccard_truth)
    >>> check_chance_jaccard(lambda a, b, n: (a * b / n) / (a + b - a * b / n))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: chance_jaccard(14, 14, 16) is 0.7778; it should be 0.7793.
    Hint: That is E|A & B| / E|A | B|, a ratio of expectations. ...
    """
    check(callable(chance_jaccard), f"chance_jaccard should be a function; got {chance_jaccard!r}.")
    for a, b, n in cases:
        truth = chance_jaccard_truth(a, b, n)
        value = as_number(call_answer(chance_jaccard, "chance_jaccard", f"{a}, {b}, {n}", a, b, n),
                          f"chance_jaccard({a}, {b}, {n})")
        if abs(value - truth) <= 1e-6:
            continue
        union = a + b - a * b / n
        if union > 0 and abs(value - (a * b / n) / union) <= 1e-6:
            hint = (
                "That is E|A & B| / E|A | B|, a ratio of expectations. The expectation of a ratio is not the ratio "
                "of the expectations: average i / (a + b - i) over the hypergeometric distribution of the overlap i."
            )
        elif abs(value - a * b / n) <= 1e-6:
            hint = "a * b / n is the expected size of the overlap, not the Jaccard index; divide each overlap by its union."
        elif max(a, b) > 0 and abs(value - min(a, b) / max(a, b)) <= 1e-6:
            hint = "min(a, b) / max(a, b) is the largest Jaccard index two such sets can have (one inside the other)."
        else:
            hint = (
                "The overlap i of two random sets is hypergeometric: P(i) = comb(a, i) comb(n - a, b - i) / comb(n, b). "
                "Sum P(i) * i / (a + b - i) over the possible i."
            )
        check(False, f"chance_jaccard({a}, {b}, {n}) is {value:.4g}; it should be {truth:.4g}.", hint)
    empty = call_answer(chance_jaccard, "chance_jaccard", "0, 0, 5", 0, 0, 5)
    check(
        empty is not None and isinstance(empty, (float, np.floating)) and math.isnan(empty),
        f"chance_jaccard(0, 0, 5) is {empty!r}; two empty sets have no Jaccard index, so it should be NaN.",
        "Return float('nan') when a + b == 0, as the persistence of two empty relay sets is NaN.",
    )


def check_insignificant_steps(answer: Any, results: Mapping[str, Any], *, concept: str = "0") -> None:
    """Check, per architecture, the steps at which the relay information of ``concept`` is not significant.

    Parameters
    ----------
    answer : mapping of str to sequence of int
        Architecture name to the list of steps.
    results : mapping of str to xarray.Dataset
        Architecture name to its :func:`relaywidgets.find_relays` result.
    concept : str, default "0"
        The concept.

    Examples
    --------
    >>> import xarray as xr
    >>> res = xr.Dataset({"significant": (("concept", "time"), [[False, True, True]]),
    ...                   "total": (("concept", "time"), [[0.02, 0.9, 1.0]])},
    ...                  coords={"concept": ["0"], "time": [0, 1, 2]})
    >>> check_insignificant_steps({"rnn": [0]}, {"rnn": res})
    >>> check_insignificant_steps({"rnn": []}, {"rnn": res})
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: insignificant_steps['rnn'] is []; the relay information of class 0 is not significant at steps [0].
    Hint: ...
    """
    check(
        isinstance(answer, Mapping),
        f"insignificant_steps should be a dict of architecture to a list of steps; got {answer!r}.",
    )
    for arch, result in results.items():
        check(arch in answer, f"insignificant_steps has no entry for {arch!r}.")
        raw = answer[arch]
        mine = _steps(raw)
        check(mine is not None, f"insignificant_steps[{arch!r}] should be a list of steps (ints); got {raw!r}.")
        sig = result.significant.sel(concept=concept)
        truth = sorted(int(t) for t in sig.time.values[~sig.values.astype(bool)])
        if mine == truth:
            continue
        positive = sorted(int(t) for t in sig.time.values[result.total.sel(concept=concept).values <= 0])
        if mine == positive:
            hint = (
                "Estimator bias makes the relay information positive at every step, even where nothing is there. "
                "Read significant (or p_value against 0.05): it compares each value with its permutation null."
            )
        else:
            hint = "Take the steps t where result.significant.sel(concept=..., time=t) is False."
        check(
            False,
            f"insignificant_steps[{arch!r}] is {mine}; the relay information of class {concept} is not significant "
            f"at steps {truth}.",
            hint,
        )


def _steps(raw: Any) -> list[int] | None:
    """A list of whole step numbers as sorted unique ints; None for anything else (text, None, NaN, ragged, bools)."""
    try:
        if raw is None or np.ndim(raw) != 1:
            return None
        values = [float(s) for s in raw if not isinstance(s, (bool, np.bool_, str, bytes))]
    except (TypeError, ValueError, OverflowError):  # ragged, or items that are not numbers
        return None
    if len(values) != len(raw) or not all(v.is_integer() for v in values):
        return None
    return sorted({int(v) for v in values})


def excess_persistence(result: Any, threshold: float, *, start: int = 0) -> tuple[float, float]:
    """Mean over concepts of the persistence index and of its chance level, from step ``start`` on.

    The relay sets are re-derived at ``threshold`` (:func:`relaywidgets.relays_at`); the chance level of a
    step is :func:`chance_jaccard_truth` of the sizes of the two consecutive sets, averaged over the steps
    where the persistence is defined, as the persistence index is.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`relaywidgets.find_relays` result over several steps.
    threshold : float
        The relay-set threshold.
    start : int, default 0
        First step used (the storage period starts after the cue).

    Returns
    -------
    (persistence index, chance index) : tuple of float
        Both means over concepts; the excess is their difference.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=4, n_samples=1000), concepts=[1], n_perm=0, progress=False)
    >>> persistence, chance = excess_persistence(res, 0.9)
    >>> persistence, round(chance, 2)  # a latch: the same single unit at every step, 1 in 4 by chance
    (1.0, 0.25)
    """
    from ..relay import relay_drift, relays_at

    sets = relays_at(result.sel(time=slice(start, None)), threshold)
    drift = relay_drift(sets)
    persist = drift.persistence.transpose("concept", "time").values
    sizes = sets.relay_size.transpose("concept", "time").values
    n = sets.sizes["node"]
    chance = np.full(persist.shape, np.nan)
    for c in range(sizes.shape[0]):
        for t in range(1, sizes.shape[1]):
            if not np.isnan(persist[c, t]):
                chance[c, t] = chance_jaccard_truth(int(sizes[c, t - 1]), int(sizes[c, t]), n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a concept without two non-empty steps: NaN, skipped
        index = np.nanmean(persist, axis=1)
        chance_index = np.nanmean(chance, axis=1)
        return float(np.nanmean(index)), float(np.nanmean(chance_index))


def check_excess(
    excess: Any, results: Mapping[str, Any], *, threshold: float = 0.5, start: int = 2, atol: float = 0.02
) -> None:
    """Check the excess persistence over chance of each architecture (mean over its concepts).

    Parameters
    ----------
    excess : mapping of str to float
        Architecture name to its persistence index minus its chance level.
    results : mapping of str to xarray.Dataset
        Architecture name to its :func:`relaywidgets.find_relays` result.
    threshold : float, default 0.5
        The relay-set threshold.
    start : int, default 2
        First step of the storage period.
    atol : float, default 0.02
        Tolerance.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=4, n_samples=1000), concepts=[1], n_perm=0, progress=False)
    >>> check_excess({"latch": 0.75}, {"latch": res}, start=0)
    """
    check(isinstance(excess, Mapping), f"excess should be a dict of architecture to a number; got {excess!r}.")
    for arch, result in results.items():
        check(arch in excess, f"excess has no entry for {arch!r}.")
        value = as_number(excess[arch], f"excess[{arch!r}]")
        persistence, chance = excess_persistence(result, threshold, start=start)
        truth = persistence - chance
        if abs(value - truth) <= atol:
            continue
        full = excess_persistence(result, threshold, start=0)
        if abs(value - persistence) <= atol:
            hint = "That is the persistence index itself; subtract the chance level of sets of the same sizes."
        elif abs(value - (full[0] - full[1])) <= atol:
            hint = f"Use the storage period only: result.sel(time=slice({start}, None)) before relays_at."
        elif abs(value + truth) <= atol:
            hint = "The sign is flipped: excess = persistence index - chance level."
        else:
            hint = (
                f"relays_at(result.sel(time=slice({start}, None)), {threshold}) gives the sets; relay_drift their "
                "persistence; the chance level of each step is chance_jaccard of the two sizes; average both over "
                "steps and concepts, then subtract."
            )
        check(
            False,
            f"excess[{arch!r}] is {value:.3f}; at threshold {threshold} the persistence index is {persistence:.3f} "
            f"and its chance level {chance:.3f}, an excess of {truth:+.3f}.",
            hint,
        )


def check_drifting(
    drifting: Any, results: Mapping[str, Any], *, threshold: float = 0.5, start: int = 2, margin: float = 0.1
) -> None:
    """Check which architectures drift: their excess persistence is not above ``margin``.

    Architectures within 0.03 of ``margin`` count as right either way.

    Parameters
    ----------
    drifting : sequence of str
        The student's architecture names.
    results : mapping of str to xarray.Dataset
        Architecture name to its :func:`relaywidgets.find_relays` result.
    threshold, start
        As in :func:`check_excess`.
    margin : float, default 0.1
        Excess persistence above which relays count as stored in place.

    Examples
    --------
    >>> from relaywidgets.testing import latched_cue
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(latched_cue(n_nodes=4, n_steps=4, n_samples=1000), concepts=[1], n_perm=0, progress=False)
    >>> check_drifting([], {"latch": res}, start=0)
    """
    if isinstance(drifting, str):
        drifting = [drifting]
    check(
        isinstance(drifting, (list, tuple, set, np.ndarray)),
        f"drifting should be a list of architecture names such as ['rnn']; got {drifting!r}.",
    )
    items = np.asarray(drifting, dtype=object).ravel().tolist() if isinstance(drifting, np.ndarray) else drifting
    mine = {as_name(n, "each entry of drifting", results) for n in items}
    for arch, result in results.items():
        persistence, chance = excess_persistence(result, threshold, start=start)
        excess = persistence - chance
        if abs(excess - margin) < 0.03:
            continue
        truth = excess <= margin
        if truth and arch not in mine:
            check(
                False,
                f"{arch} is not in drifting, but its persistence index {persistence:.2f} is no more than chance "
                f"({chance:.2f}): excess {excess:+.2f}.",
                "A raw persistence of 0.5 looks like partial storage, but random sets of the same sizes overlap that "
                "much too. Judge by the excess over chance.",
            )
        if not truth and arch in mine:
            check(
                False,
                f"{arch} is in drifting, but its relay sets persist {excess:+.2f} above chance "
                f"({persistence:.2f} against {chance:.2f}).",
                "Drift means the relay role moves between units as fast as random sets would; an excess well above "
                "0 means the same units keep it (localized storage).",
            )
