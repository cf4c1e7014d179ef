"""Answer checks of lesson 3 on the statistics of knockouts: the knockout test's p-value floor, deletion curves."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._answers import as_name, as_number, call_answer
from ._feedback import check

__all__ = ["check_deletion_reading", "check_expected_p", "expected_p_truth"]


def expected_p_truth(n_units: int, set_size: int, n_random: int) -> float:
    """Expected empirical p-value of a relay set that is the only set of its size that hurts.

    Controls are ``n_random`` independent uniform draws of ``set_size`` of ``n_units`` units (the relay set
    itself may be drawn); p = (1 + #controls at least as harmful) / (1 + n_random).

    Examples
    --------
    >>> round(expected_p_truth(6, 1, 100), 3)
    0.175
    """
    return (1 + n_random / math.comb(n_units, set_size)) / (1 + n_random)


#: The (n_units, set_size, n_random) cases ``check_expected_p`` tries by default.
EXPECTED_P_CASES: tuple[tuple[int, int, int], ...] = ((6, 1, 100), (16, 3, 100), (8, 2, 50))


def check_expected_p(
    expected_p: Callable[[int, int, int], Any],
    *,
    cases: Sequence[tuple[int, int, int]] = EXPECTED_P_CASES,
) -> None:
    """Check a student's ``expected_p(n_units, set_size, n_random)`` against the exact expectation.

    Parameters
    ----------
    expected_p : callable
        The student's function.
    cases : sequence of (n_units, set_size, n_random), optional
        Where to compare.

    Examples
    --------
    >>> import math
    >>> check_expected_p(lambda n, k, r: (1 + r / math.comb(n, k)) / (1 + r))
    >>> check_expected_p(lambda n, k, r: 1 / (1 + r))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: expected_p(6, 1, 100) is 0.0099; it should be 0.1749.
    Hint: 1 / (n_random + 1) is the floor ...
    """
    check(callable(expected_p), f"expected_p should be a function; got {expected_p!r}.")
    for n, k, r in cases:
        shown = f"{n}, {k}, {r}"
        value = as_number(call_answer(expected_p, "expected_p", shown, n, k, r), f"expected_p({shown})")
        truth = expected_p_truth(n, k, r)
        if abs(value - truth) <= 1e-9 + 1e-6 * truth:
            continue
        combos = math.comb(n, k)
        if abs(value - 1 / (1 + r)) <= 1e-9:
            hint = (
                "1 / (n_random + 1) is the floor when no control can be as harmful. But the controls are drawn from "
                "all units, so some of them are the relay set itself: each draw is it with probability "
                "1 / comb(n_units, set_size)."
            )
        elif abs(value - 1 / combos) <= 1e-9:
            hint = (
                "1 / comb(n_units, set_size) is the chance that one control is the relay set. The p-value also counts "
                "the relay set itself: (1 + expected number of such controls) / (1 + n_random)."
            )
        elif abs(value - (1 + r * k / n) / (1 + r)) <= 1e-9 or abs(value - k / n) <= 1e-9:
            hint = (
                "set_size / n_units is the chance that a random set contains a given unit, not that it equals the "
                "relay set: there are comb(n_units, set_size) equally likely sets."
            )
        else:
            hint = "Count the controls expected to equal the relay set, n_random / comb(n_units, set_size)."
        check(False, f"expected_p({n}, {k}, {r}) is {value:.3g}; it should be {truth:.4g}.", hint)


def check_deletion_reading(
    best_ranking: Any,
    n_relay_significant: Any,
    curves: Mapping[Any, Any],
    *,
    relay_ranking: str = "aggregated_score",
    exclude: Sequence[str] = ("effect",),
    alpha: float = 0.05,
) -> None:
    """Check two readings of deletion curves: the best ranking over classes, and the relay ranking's significance.

    Parameters
    ----------
    best_ranking : str
        The ranking with the largest area over random, averaged over the classes of ``curves``, among the
        rankings not in ``exclude``.
    n_relay_significant : int
        For how many classes the relay ranking ``relay_ranking`` beats random orderings (p < ``alpha``).
    curves : mapping of class to xarray.Dataset
        :func:`relaywidgets.knockout.deletion_curve` results with several rankings (a ``ranking`` dim).
    relay_ranking : str, default "aggregated_score"
        The relay ranking whose significance is counted.
    exclude : sequence of str, default ("effect",)
        Rankings left out of the contest: the single-unit effect is the causal oracle, not a method.
    alpha : float, default 0.05
        Significance level.

    Examples
    --------
    >>> import xarray as xr
    >>> def dc(areas, ps, first):
    ...     return xr.Dataset({"area": ("ranking", areas), "p_value": ("ranking", ps),
    ...                        "curve": (("ranking", "k"), [[f, f] for f in first]), "random_mean": ("k", [0.1, 0.2])},
    ...                       coords={"ranking": ["aggregated_score", "readout"], "k": [1, 2]})
    >>> curves = {0: dc([0.05, 0.2], [0.2, 0.01], [0.5, 0.3]), 1: dc([0.3, 0.25], [0.01, 0.1], [0.6, 0.2])}
    >>> check_deletion_reading("readout", 1, curves)
    >>> check_deletion_reading("aggregated_score", 1, curves)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: best_ranking is 'aggregated_score'; the mean areas over random are aggregated_score +0.175, readout +0.225.
    Hint: That ranking hurts most at k = 1. ...
    """
    check(
        isinstance(curves, Mapping) and len(curves) > 0,
        f"curves should be a dict of class to deletion_curve result; got {type(curves).__name__}.",
    )
    results = list(curves.values())
    names = [str(r) for r in results[0].ranking.values]
    contest = [i for i, n in enumerate(names) if n not in set(exclude)]
    areas = np.mean([r.area.values for r in results], axis=0)
    truth = names[contest[int(np.argmax(areas[contest]))]]
    mine = as_name(best_ranking, "best_ranking", names)
    if mine != truth:
        at_k1 = np.mean([r.curve.isel(k=0).values for r in results], axis=0)
        table = ", ".join(f"{names[i]} {areas[i]:+.3f}" for i in contest)
        if mine in set(exclude):
            hint = (
                f"{mine!r} is the causal reference (each unit's own knockout), not a method to compare: leave it "
                "out and take the best of the others."
            )
        elif mine == names[contest[int(np.argmax(at_k1[contest]))]]:
            hint = (
                "That ranking hurts most at k = 1. The area is the mean, over every k, of the ranking's drop minus "
                "the random mean: a ranking is judged on the whole curve."
            )
        else:
            hint = "Average curves[c].area over the classes for each ranking (the ranking dim) and take the largest."
        check(False, f"best_ranking is {mine!r}; the mean areas over random are {table}.", hint)
    count = as_number(n_relay_significant, "n_relay_significant")
    relay = [r.sel(ranking=relay_ranking) for r in results]
    true_count = int(sum(float(r.p_value) < alpha for r in relay))
    if count != true_count:
        positive = int(sum(float(r.area) > 0 for r in relay))
        all_rankings = int(sum(int((r.p_value.values < alpha).sum()) for r in results))
        if count == positive:
            hint = (
                "You counted the classes with a positive area. A positive area can be chance: the random orderings "
                "give positive areas too. Count the classes with p_value < 0.05."
            )
        elif count == all_rankings:
            hint = f"You counted every ranking; count only the relay ranking, {relay_ranking!r}."
        else:
            hint = f"Count the classes c with float(curves[c].p_value.sel(ranking={relay_ranking!r})) < {alpha}."
        check(
            False,
            f"n_relay_significant is {count:g}; the relay ranking beats random orderings (p < {alpha}) for "
            f"{true_count} of {len(relay)} classes.",
            hint,
        )
