"""Answer checks of lesson 3 (knockouts, effect maps, causal sets, deletion curves), and its hand-wired network.

Every check recomputes its truth with :mod:`relaywidgets.knockout` on the student's own network and data
(or reads it from the student's own result objects), and when an answer matches a known mistake it says
which one in the hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._answers import as_labels, as_number, as_vector, call_answer, close
from ._feedback import check
from .knockout_statistics import check_deletion_reading, check_expected_p, expected_p_truth
from .latch import latch_network

__all__ = [
    "check_class_drop",
    "check_deletion_reading",
    "check_expected_p",
    "check_off_target",
    "check_one_step_drops",
    "check_redundant_causal_set",
    "check_relay_without_effect",
    "check_single_latch_drops",
    "expected_p_truth",
    "latch_network",
]

# latch_network (course.latch) and the checks on knockout statistics (course.knockout_statistics) live in their
# own modules; they are re-exported here because lesson 3 reads every check from relaywidgets.course.knockouts.

#: The knockouts ``check_class_drop`` tries by default: (units, times) pairs.
CLASS_DROP_CASES: tuple[tuple[list[int], Any], ...] = (([0], None), ([0], [0, 1]), ([1, 2], None))


def _class_drop_truth(model: Any, X: Any, y: Any, units: Sequence[int], times: Any) -> tuple[np.ndarray, np.ndarray]:
    """(drop, knocked-out accuracy) per class from :func:`relaywidgets.knockout.evaluate`."""
    from ..knockout import Knockout, evaluate

    intact = evaluate(model, X, y).class_accuracy.values
    knocked = evaluate(model, X, y, knockout=Knockout(list(units), times=times)).class_accuracy.values
    return intact - knocked, knocked


def check_class_drop(
    class_drop: Callable[..., Any],
    model: Any,
    X: Any,
    y: Any,
    *,
    cases: Sequence[tuple[Sequence[int], Any]] = CLASS_DROP_CASES,
) -> None:
    """Check a student's ``class_drop(model, X, y, units, times=None)`` against the API's knockouts.

    The function should knock out ``units`` (of layer 0) at the steps ``times`` (``None``: every step) and
    return the drop in accuracy of every class, intact minus knocked out, as fractions.

    Parameters
    ----------
    class_drop : callable
        The student's function.
    model, X, y
        The network and the data it is evaluated on.
    cases : sequence of (units, times), optional
        The knockouts to try.

    Raises
    ------
    AnswerError
        When a result differs from :func:`relaywidgets.knockout.evaluate`'s, with the likely mistake.

    Examples
    --------
    >>> from relaywidgets import make_task
    >>> from relaywidgets.knockout import Knockout, evaluate
    >>> net = latch_network()
    >>> X, y = make_task("delayed-cue", n_samples=100, seq_len=10, n_classes=2, noise=0.1, seed=0)
    >>> def class_drop(model, X, y, units, times=None):
    ...     intact = evaluate(model, X, y).class_accuracy
    ...     return (intact - evaluate(model, X, y, knockout=Knockout(units, times=times)).class_accuracy).values
    >>> check_class_drop(class_drop, net, X, y)
    >>> check_class_drop(lambda model, X, y, units, times=None: -class_drop(model, X, y, units, times), net, X, y)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: class_drop(model, X, y, [0], None) returned [-0.0, -1.0]; the drops are [0.0, 1.0].
    Hint: The sign is flipped: a drop is intact minus knocked out, so damage is positive.
    """
    check(callable(class_drop), f"class_drop should be a function; got {class_drop!r}.")
    n_classes = int(model.num_classes)
    for units, times in cases:
        shown = f"model, X, y, {list(units)}, {times!r}"
        call = f"class_drop({shown})"
        truth, knocked = _class_drop_truth(model, X, y, units, times)
        answer = as_vector(
            call_answer(class_drop, "class_drop", shown, model, X, y, list(units), times),
            f"The result of {call}",
            n_classes,
            hint="Return one drop per class: intact.class_accuracy - knocked.class_accuracy (evaluate gives both).",
        )
        if close(answer, truth, 1e-6):
            continue
        shown = f"{call} returned {np.round(answer, 3).tolist()}; the drops are {np.round(truth, 3).tolist()}."
        if close(answer, knocked, 1e-6):
            hint = "That is the accuracy *with* the knockout. The drop is intact accuracy minus knocked-out accuracy."
        elif close(answer, -truth, 1e-6):
            hint = "The sign is flipped: a drop is intact minus knocked out, so damage is positive."
        elif close(answer, 100 * truth, 1e-4):
            hint = "Those are percentages; give fractions between 0 and 1, as class_accuracy does."
        elif times is not None and close(answer, _class_drop_truth(model, X, y, units, None)[0], 1e-6):
            hint = (
                "That is the drop of a knockout at every step. Pass the steps on: Knockout(units, times=times) "
                "clamps the units only at those steps."
            )
        else:
            hint = (
                "Knock out with evaluate(model, X, y, knockout=Knockout(units, times=times)) and subtract its "
                "class_accuracy from the intact network's, class by class."
            )
        check(False, shown, hint)


def _effects(model: Any, X: Any, y: Any) -> Any:
    from ..knockout import effect_map

    return effect_map(model, X, y, n_boot=0, progress=False)


def check_one_step_drops(drop_mid: Any, drop_last: Any, model: Any, X: Any, y: Any, *, concept: int = 1) -> None:
    """Check the predicted class-1 drops when latch unit 0 is knocked out at one step only.

    ``drop_mid`` is the drop for a one-step knockout in the middle of the storage period (the mean of the
    effect map over steps 3 to T-2), ``drop_last`` the drop for a knockout at the last step. Tolerances:
    0.1 and 0.05 (the middle value is a coin flip over a finite sample).

    Parameters
    ----------
    drop_mid, drop_last : float
        The student's predictions (fractions of class-``concept`` accuracy).
    model, X, y
        The latch network (:func:`latch_network`) and its data.
    concept : int, default 1
        The class whose accuracy is read.

    Examples
    --------
    >>> from relaywidgets import make_task
    >>> X, y = make_task("delayed-cue", n_samples=200, seq_len=10, n_classes=2, noise=0.1, seed=0)
    >>> net = latch_network()
    >>> check_one_step_drops(0.5, 1.0, net, X, y)
    >>> check_one_step_drops(1.0, 1.0, net, X, y)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: drop_mid is 1; a one-step knockout of unit 0 in steps 3-8 costs class 1 about 0...
    Hint: A one-step knockout empties the latch for that step only. ...
    """
    mid = as_number(drop_mid, "drop_mid")
    last = as_number(drop_last, "drop_last")
    drops = _effects(model, X, y).accuracy_drop.sel(concept=str(concept), node="l0.h0")
    steps = drops.time.values
    true_mid = float(drops.sel(time=slice(3, int(steps[-2]))).mean())
    true_last = float(drops.sel(time=int(steps[-1])))
    window = f"{3}-{int(steps[-2])}"
    if abs(mid - true_mid) > 0.1:
        if mid > true_mid:
            hint = (
                "A one-step knockout empties the latch for that step only. At the next step it computes "
                "tanh(3 * 0 + 2 (x1 - x0)) from the input again: it restarts, it is not erased for good. "
                "What does the input hold after the cue?"
            )
        else:
            hint = (
                "After step 2 the input holds only noise and distractors: the restarted latch cannot read the cue "
                "again. It settles on the sign of whatever comes next, a coin flip for each sequence."
            )
        check(
            False,
            f"drop_mid is {mid:.3g}; a one-step knockout of unit 0 in steps {window} costs class {concept} "
            f"about {true_mid:.2f} of its accuracy.",
            hint,
        )
    check(
        abs(last - true_last) <= 0.05,
        f"drop_last is {last:.3g}; a knockout of unit 0 at the last step costs class {concept} {true_last:.2f}.",
        "At the last step nothing comes after the knockout: the readout sees h0 = 0, both logits are 0, and "
        "argmax returns the first maximum, class 0. No later step can repair it.",
    )


def check_off_target(drop_last_class0: Any, drop_last_all: Any, model: Any, X: Any, y: Any) -> None:
    """Check the predicted drops of class 0 and of the whole decision ("all") for a last-step knockout of unit 0.

    Parameters
    ----------
    drop_last_class0 : float
        Predicted drop of class 0's accuracy.
    drop_last_all : float
        Predicted drop of the overall accuracy (concept "all").
    model, X, y
        The latch network and its data.

    Examples
    --------
    >>> from relaywidgets import make_task
    >>> X, y = make_task("delayed-cue", n_samples=200, seq_len=10, n_classes=2, noise=0.1, seed=0)
    >>> float((y == 1).mean())  # the overall drop is this share of class 1's drop of 1.0
    0.555
    >>> check_off_target(0.0, 0.555, latch_network(), X, y)
    """
    class0 = as_number(drop_last_class0, "drop_last_class0")
    overall = as_number(drop_last_all, "drop_last_all")
    drops = _effects(model, X, y).accuracy_drop.sel(node="l0.h0")
    last = int(drops.time.values[-1])
    true0 = float(drops.sel(concept="0", time=last))
    true_all = float(drops.sel(concept="all", time=last))
    check(
        abs(class0 - true0) <= 0.05,
        f"drop_last_class0 is {class0:.3g}; class 0 loses {true0:.2f}.",
        "With h0 = 0 both logits are 0 and argmax returns class 0, which is right for every class-0 sequence. "
        "The knockout removes what unit 0 knows about both classes, but the tie-break hides it for class 0: an "
        "accuracy drop measures what the network does without the unit, not what the unit knows.",
    )
    share1 = float(np.mean(np.asarray(y) == 1))
    check(
        abs(overall - true_all) <= 0.05,
        f"drop_last_all is {overall:.3g}; the overall accuracy drops by {true_all:.2f}.",
        f"The concept 'all' is the whole decision: its drop averages the class drops weighted by how many "
        f"sequences each class has ({share1:.2f} of them are class 1).",
    )


def check_relay_without_effect(
    answer: Any, relays: Any, effects: Any, *, concept: int = 1, time: int = 3, threshold: float = 0.05
) -> None:
    """Check the units that relay class ``concept`` at ``time`` but whose knockout there costs it nothing.

    The truth is the relay set of ``relays`` at (``concept``, ``time``) minus the units whose one-step
    knockout at ``time`` (``effects``, an :func:`~relaywidgets.knockout.effect_map`) drops the class's
    accuracy by more than ``threshold``.

    Parameters
    ----------
    answer : sequence of str
        The student's node labels (order does not matter).
    relays : xarray.Dataset
        :func:`relaywidgets.find_relays` of the network.
    effects : xarray.Dataset
        :func:`relaywidgets.knockout.effect_map` of the same network.
    concept, time : int
        Where to read both.
    threshold : float, default 0.05
        Accuracy drop above which a knockout counts as costly.

    Examples
    --------
    >>> import xarray as xr
    >>> nodes = ["l0.h0", "l0.h1", "l0.h2"]
    >>> relays = xr.Dataset({"is_relay": (("concept", "time", "node"), [[[True, True, False]]])},
    ...                     coords={"concept": ["1"], "time": [3], "node": nodes})
    >>> effects = xr.Dataset({"accuracy_drop": (("concept", "node", "time"), [[[0.5], [0.0], [0.0]]])},
    ...                      coords={"concept": ["1"], "node": nodes, "time": [3]})
    >>> check_relay_without_effect(["l0.h1"], relays, effects)
    >>> check_relay_without_effect(["l0.h1", "l0.h2"], relays, effects)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: Your units ['l0.h1', 'l0.h2'] include ['l0.h2'], which are not in the relay set of class 1 at step 3 (['l0.h0', 'l0.h1']).
    Hint: Read the relay set ...
    """
    labels = set(as_labels(answer, "relay_but_no_effect"))
    nodes = [str(n) for n in relays.node.values]
    relay = [n for n, r in zip(nodes, relays.is_relay.sel(concept=str(concept), time=time).values) if r]
    drop = effects.accuracy_drop.sel(concept=str(concept), time=time)
    costly = {str(n) for n, d in zip(drop.node.values, drop.values) if d > threshold}
    truth = {n for n in relay if n not in costly}
    mine = sorted(labels, key=nodes.index) if labels <= set(nodes) else sorted(labels)
    unknown = sorted(labels - set(nodes))
    check(not unknown, f"{unknown} are not node labels of this network; they are {nodes}.")
    outside = sorted(labels - set(relay), key=nodes.index)
    check(
        not outside,
        f"Your units {mine} include {outside}, which are not in the relay set of class {concept} at step {time} "
        f"({relay}).",
        "Read the relay set with relays.is_relay.sel(concept=..., time=...): the question is about units the "
        "search lists whose knockout does nothing.",
    )
    hurt = sorted(labels & costly, key=nodes.index)
    check(
        not hurt,
        f"Your units {mine} include {hurt}, whose knockout at step {time} costs class {concept} "
        f"{', '.join(f'{float(drop.sel(node=n)):.2f}' for n in hurt)} of its accuracy.",
        "Read the effect map at the same step: effects.accuracy_drop.sel(concept=..., time=...).",
    )
    missing = sorted(truth - labels, key=nodes.index)
    check(
        not missing,
        f"You missed {missing}: they relay class {concept} at step {time} and their knockout there costs at most "
        f"{threshold} of its accuracy.",
        "Every relay unit whose effect is (near) zero counts; these units hold copies of a cue that is still in "
        "the input, which the network does not need.",
    )


def check_single_latch_drops(single_drops: Any, model: Any, X: Any, y: Any, *, concept: int = 1) -> None:
    """Check the class-``concept`` accuracy drops of each latch of the redundant network knocked out alone.

    Parameters
    ----------
    single_drops : mapping of str to float
        Node label (``"l0.h0"``, ``"l0.h1"``) to the drop when that unit alone is clamped at every step.
    model, X, y
        :func:`latch_network` with ``copies=2``, and its data.
    concept : int, default 1
        The class whose accuracy is read.

    Examples
    --------
    >>> from relaywidgets import make_task
    >>> X, y = make_task("delayed-cue", n_samples=200, seq_len=10, n_classes=2, noise=0.1, seed=0)
    >>> check_single_latch_drops({"l0.h0": 0.0, "l0.h1": 0.0}, latch_network(copies=2), X, y)
    """
    from ..knockout import unit_effects

    check(
        isinstance(single_drops, Mapping),
        f"single_drops should be a dict of node label to drop, e.g. {{'l0.h0': 0.3, 'l0.h1': 0.3}}; "
        f"got {single_drops!r}.",
    )
    effects = unit_effects(model, X, y, n_boot=0, progress=False).sel(concept=str(concept))
    for label in ("l0.h0", "l0.h1"):
        check(label in single_drops, f"single_drops has no entry for {label!r}; give one for each latch.")
        value = as_number(single_drops[label], f"single_drops[{label!r}]")
        truth = float(effects.accuracy_drop.sel(node=label))
        margin = float(effects.margin_drop.sel(node=label))
        base = float(effects.baseline_margin)
        check(
            abs(value - truth) <= 0.05,
            f"single_drops[{label!r}] is {value:.3g}; knocking {label} out at every step costs class {concept} "
            f"{truth:.2f} of its accuracy.",
            f"The other latch still holds the cue and still drives the readout: accuracy does not move. Only the "
            f"margin sees the loss, it falls by {margin:.1f} of {base:.1f} logits (about half).",
        )


def check_redundant_causal_set(causal_units: Any, model: Any, X: Any, y: Any, *, concept: int = 1) -> None:
    """Check the causal set (target 0.5) of class ``concept`` in the redundant-latch network.

    Parameters
    ----------
    causal_units : sequence of str
        The student's node labels (order does not matter).
    model, X, y
        :func:`latch_network` with ``copies=2``, and its data.
    concept : int, default 1
        The class.

    Examples
    --------
    >>> from relaywidgets import make_task
    >>> X, y = make_task("delayed-cue", n_samples=200, seq_len=10, n_classes=2, noise=0.1, seed=0)
    >>> check_redundant_causal_set(["l0.h1", "l0.h0"], latch_network(copies=2), X, y)
    >>> check_redundant_causal_set([], latch_network(copies=2), X, y)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: Your causal set [] has 0 unit(s); the causal set of class 1 is ['l0.h0', 'l0.h1'].
    Hint: No single unit changes the accuracy, ...
    """
    from ..knockout import causal_set

    mine = as_labels(causal_units, "redundant_causal_set")
    found = causal_set(model, X, y, concept, target=0.5, progress=False)
    truth = [str(n) for n in found.order.values]
    check(
        set(mine) == set(truth),
        f"Your causal set {mine} has {len(set(mine))} unit(s); the causal set of class {concept} is {sorted(truth)}.",
        "No single unit changes the accuracy, so a single-unit effect map calls every unit unimportant. The "
        "causal set grows greedily: the first latch is picked by the margin (it halves), and only with the "
        "second one knocked out as well does the accuracy fall.",
    )
