"""Answer checks of lesson 5 (a real data set: JapaneseVowels, variable-length sequences, bias, core knockouts).

Each check recomputes its truth from the student's own objects (the shipped network and its data, the
recording, the relay result, the knockout tests) and names the usual mistake: padding read as data,
an off-by-one in the running sequences, nats for bits, labels for decisions, relay information read without
its bias floor, a knockout drop read without its p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._answers import as_number, as_vector, call_answer
from ._feedback import check

__all__ = [
    "check_above_floor",
    "check_beats_random",
    "check_decision_entropy",
    "check_running",
    "check_test_accuracy",
]


def check_test_accuracy(value: Any, model: Any, X: Any, y: Any, lengths: Any) -> None:
    """Check the test accuracy of a network on variable-length sequences (within 1e-6).

    Parameters
    ----------
    value : float
        The student's accuracy (a fraction).
    model : RecurrentClassifier
        The network.
    X, y, lengths
        Test sequences (zero-padded), their classes and valid lengths.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets import RecurrentClassifier
    >>> X, y = np.zeros((4, 5, 2), dtype=np.float32), np.array([0, 1, 0, 1])
    >>> model = RecurrentClassifier("gru", 2, 3, 2, device="cpu", seed=0)
    >>> check_test_accuracy(0.5, model, X, y, np.array([5, 4, 3, 2]))
    """
    from ..knockout import evaluate

    number = as_number(value, "test_accuracy")
    truth = float(evaluate(model, X, y, lengths=lengths).accuracy)
    if abs(number - truth) <= 1e-6:
        return
    padded = float(evaluate(model, X, y).accuracy)
    if abs(number - padded) <= 1e-6:
        hint = (
            "That is the accuracy when the network reads every sequence to the end of the padding. Pass "
            "lengths=... so that each sequence decides at its own last step, lengths - 1, not after the zeros."
        )
    elif abs(number - 100 * truth) <= 1e-4:
        hint = "That is a percentage; give the fraction between 0 and 1."
    else:
        hint = "evaluate(model, X_test, y_test, lengths=lengths_test).accuracy gives it."
    check(False, f"test_accuracy is {number:.4g}; the network's test accuracy is {truth:.4g}.", hint)


def check_running(running: Callable[[Any, int], Any], lengths: Any) -> None:
    """Check a student's ``running(lengths, t)``: how many sequences still have a valid step ``t``.

    A sequence of length L has the steps 0 .. L-1, so it is running at step t when ``L > t``.

    Parameters
    ----------
    running : callable
        The student's function.
    lengths : array-like of int
        Sequence lengths to try it on (every step from 0 to the longest).

    Examples
    --------
    >>> import numpy as np
    >>> check_running(lambda lengths, t: int(np.sum(np.asarray(lengths) > t)), [3, 5, 5])
    >>> check_running(lambda lengths, t: int(np.sum(np.asarray(lengths) >= t)), [3, 5, 5])
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: running(lengths, 3) is 3; 2 sequences still run at step 3.
    Hint: A sequence of length L has the steps 0 .. L-1: ...
    """
    check(callable(running), f"running should be a function; got {running!r}.")
    lengths = np.asarray(lengths)
    for t in range(int(lengths.max()) + 1):
        truth = int(np.sum(lengths > t))
        value = as_number(call_answer(running, "running", f"lengths, {t}", lengths.copy(), t), f"running(lengths, {t})")
        if value == truth:
            continue
        if value == int(np.sum(lengths >= t)):
            hint = (
                "A sequence of length L has the steps 0 .. L-1: it is still running at step t when L > t, not L >= t."
            )
        elif value == int(np.sum(lengths <= t)) or value == int(np.sum(lengths < t)):
            hint = "That counts the sequences that have ended; count those still running (L > t)."
        elif math.isclose(value, truth / lengths.size):
            hint = "Give the number of sequences, not the share."
        else:
            hint = "Count the sequences whose length is greater than t."
        check(False, f"running(lengths, {t}) is {value:g}; {truth} sequences still run at step {t}.", hint)
        return


def _binary_entropy(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else float(-(p * math.log2(p) + (1 - p) * math.log2(1 - p)))


def _entropy_bits(codes: np.ndarray) -> float:
    counts = np.bincount(codes)
    p = counts[counts > 0] / codes.size
    return float(-(p * np.log2(p)).sum())


def check_decision_entropy(decision_entropy: Callable[[Any, int], Any], rec: Any) -> None:
    """Check a student's ``decision_entropy(rec, c)``: H(O_c) in bits of the one-vs-rest decision "class c".

    O_c[s] = 1 when the network's decision (``rec.prediction``) for sample s is class index c, else 0.

    Parameters
    ----------
    decision_entropy : callable
        The student's function.
    rec : xarray.Dataset
        A recording (:func:`relaywidgets.record`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rec = xr.Dataset({"prediction": ("sample", [0, 0, 1, 2]), "label": ("sample", [0, 1, 1, 2])},
    ...                  coords={"class": [0, 1, 2]})
    >>> def decision_entropy(rec, c):
    ...     p = float((rec.prediction.values == c).mean())
    ...     return 0.0 if p in (0, 1) else -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    >>> check_decision_entropy(decision_entropy, rec)
    """
    check(callable(decision_entropy), f"decision_entropy should be a function; got {decision_entropy!r}.")
    prediction = np.asarray(rec.prediction.values).astype(np.int64)
    label = np.asarray(rec.label.values).astype(np.int64)
    n_classes = int(rec.sizes.get("class", int(max(prediction.max(), label.max())) + 1))
    for c in range(n_classes):
        truth = _binary_entropy(float(np.mean(prediction == c)))
        value = as_number(call_answer(decision_entropy, "decision_entropy", f"rec, {c}", rec, c),
                          f"decision_entropy(rec, {c})")
        if abs(value - truth) <= 1e-6:
            continue
        from_labels = _binary_entropy(float(np.mean(label == c)))
        if abs(value - truth * math.log(2)) <= 1e-6:
            hint = "That is in nats (natural log). Use log base 2: np.log2, or divide by ln 2."
        elif abs(value - _entropy_bits(prediction)) <= 1e-6:
            hint = (
                "That is the entropy of the whole decision over all classes. The concept is one-vs-rest: "
                "O_c = (prediction == c), a binary variable."
            )
        elif abs(value - from_labels) <= 1e-6 and abs(from_labels - truth) > 1e-6:
            hint = (
                "That uses the true labels. The relay method explains the network's decision: use rec.prediction, "
                "not rec.label."
            )
        else:
            hint = "p = (rec.prediction == c).mean(); H = -(p log2 p + (1 - p) log2 (1 - p))."
        check(False, f"decision_entropy(rec, {c}) is {value:.4g}; H(O_{c}) is {truth:.4g} bits.", hint)


def check_above_floor(above_floor: Any, relays: Any, time: int) -> None:
    """Check each concept's relay information above its permutation bias floor at step ``time``.

    Parameters
    ----------
    above_floor : array-like
        One number per concept, in the order of ``relays.concept``: ``total - null_mean`` at ``time`` (bits).
    relays : xarray.Dataset
        A :func:`relaywidgets.find_relays` result with a permutation null.
    time : int
        The step.

    Examples
    --------
    >>> import xarray as xr
    >>> relays = xr.Dataset({"total": (("concept", "time"), [[0.5], [0.4]]),
    ...                      "null_mean": (("concept", "time"), [[0.2], [0.1]])},
    ...                     coords={"concept": ["1", "2"], "time": [7]})
    >>> check_above_floor([0.3, 0.3], relays, 7)
    >>> check_above_floor([0.5, 0.4], relays, 7)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: above_floor is [0.5, 0.4]; the relay information above the bias floor at step 7 is [0.3, 0.3] bits.
    Hint: That is the relay information itself. ...
    """
    total = relays.total.sel(time=time).values
    null = relays.null_mean.sel(time=time).values
    truth = total - null
    answer = as_vector(
        above_floor,
        "above_floor",
        truth.size,
        hint="One number per speaker, in the order of relays.concept: (total - null_mean) at the step.",
    )
    if np.all(np.abs(answer - truth) <= 1e-6):
        return
    if np.all(np.abs(answer - total) <= 1e-6):
        hint = (
            "That is the relay information itself. Part of any plug-in estimate on 640 sequences is bias; the "
            "permutation null's mean (null_mean) estimates it. Subtract it."
        )
    elif np.all(np.abs(answer + truth) <= 1e-6):
        hint = "The sign is flipped: total - null_mean."
    elif np.all(np.abs(answer - (relays.total - relays.null_mean).mean("time").values) <= 1e-6):
        hint = f"That is the mean over all steps; read the step {time} only (.sel(time={time}))."
    else:
        hint = f"(relays.total - relays.null_mean).sel(time={time}).values"
    check(
        False,
        f"above_floor is {np.round(answer, 3).tolist()}; the relay information above the bias floor at step {time} "
        f"is {np.round(truth, 3).tolist()} bits.",
        hint,
    )


def check_beats_random(beats_random: Any, tests: Mapping[str, Any], *, alpha: float = 0.05) -> None:
    """Check which speakers' core relay units hurt them more than random units do (p < ``alpha``).

    Parameters
    ----------
    beats_random : sequence of str
        Speaker names (the keys of ``tests``, as in ``relays.concept``).
    tests : mapping of str to xarray.Dataset
        Speaker name to its :func:`relaywidgets.knockout.relay_knockout_test` result.
    alpha : float, default 0.05
        Significance level.

    Examples
    --------
    >>> import xarray as xr
    >>> tests = {"1": xr.Dataset({"p_value": 0.01, "relay_drop": 0.3, "random_drop_mean": 0.05}),
    ...          "2": xr.Dataset({"p_value": 0.30, "relay_drop": 0.2, "random_drop_mean": 0.10})}
    >>> check_beats_random(["1"], tests)
    >>> check_beats_random(["1", "2"], tests)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: beats_random is ['1', '2']; the core knockout beats random sets (p < 0.05) for ['1'].
    Hint: You listed the speakers whose core hurts more than the random mean. ...
    """
    names = list(tests)
    if isinstance(beats_random, str):
        beats_random = [beats_random]
    check(
        isinstance(beats_random, (list, tuple, set, np.ndarray)),
        f"beats_random should be a list of speaker names such as ['3', '7']; got {beats_random!r}.",
    )
    items = (
        np.asarray(beats_random, dtype=object).ravel().tolist()
        if isinstance(beats_random, np.ndarray)
        else list(beats_random)
    )
    not_names = [s for s in items if not isinstance(s, (str, np.str_))]
    check(
        not not_names,
        f"beats_random holds {not_names}; give the speaker names as strings, as in relays.concept: {names}.",
        "Speaker '1' is class index 0: the names and the indices differ by one here.",
    )
    unknown = [s for s in items if str(s) not in names]
    check(not unknown, f"{unknown} are not speaker names; they are {names}.")
    mine = sorted({str(s) for s in items}, key=names.index)
    truth = [s for s in names if float(tests[s].p_value) < alpha]
    if mine == truth:
        return
    by_mean = [s for s in names if float(tests[s].relay_drop) > float(tests[s].random_drop_mean)]
    if mine == by_mean:
        hint = (
            "You listed the speakers whose core hurts more than the random mean. A drop above the mean happens by "
            "chance too: the question is how many random sets hurt as much, which is what p_value counts."
        )
    else:
        hint = f"List the speakers s with float(tests[s].p_value) < {alpha}."
    check(
        False,
        f"beats_random is {mine}; the core knockout beats random sets (p < {alpha}) for {truth}.",
        hint,
    )
