"""Answer checks of lesson 02_relays: relay information and the greedy relay search on planted truths.

The truths come from the student's own objects: the planted relay set that
:func:`relaywidgets.testing.planted_relay` returned with the student's recording, the package's
:func:`~relaywidgets.relay.relay_information` on that recording, and the curves and permutation nulls of
the student's :func:`~relaywidgets.relay.find_relays` result. Hints name the usual mistakes: the marginal
information instead of the relay information, a median split through a saturated unit, a relay set read
without its significance, a threshold confused with bits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..info import UndersamplingWarning, conditional_entropy, discretize, entropy, mutual_information
from ..relay import relay_information, relays_at
from ._answers import as_number
from ._feedback import AnswerError, check, check_close

__all__ = [
    "node_codes",
    "check_relay_info",
    "check_split_choice",
    "check_relay_set",
    "check_xor_relays",
    "check_report_relays",
    "check_switch_threshold",
    "switch_point",
    "HINTS",
]

LN2 = math.log(2.0)

#: The hint of every common mistake the checks recognise, by key (the tests assert that each appears).
HINTS: dict[str, str] = {
    "marginal": "That is the marginal information I(O; h[R]) of the set alone. The relay information conditions "
    "on every other node: I_R(R) = H(O | h[Z]) - H(O | h[N]), Z the nodes NOT in R, so it counts only what R "
    "resolves that the rest of the network does not.",
    "complement": "You conditioned on R itself. Condition on its complement Z (the nodes not in R): "
    "I_R(R) = H(O | h[Z]) - H(O | h[N]).",
    "sign": "Your relay information has the wrong sign: removing nodes from the condition can only leave more "
    "uncertainty, so H(O | h[Z]) - H(O | h[N]) >= 0.",
    "nats": "Your numbers are the right ones times ln 2 = 0.693: you used the natural logarithm. Use bits "
    "(relaywidgets.info computes in bits; with numpy use np.log2).",
    "median": "A median split through a saturated unit: when a unit's values sit at two levels with unequal "
    "mass, the median lies inside the larger cluster and the split cuts it in two, so the code no longer "
    "tells the two levels apart. Two-means (the default) puts the threshold between the clusters.",
    "last_step": "At the decision step the output is a function of the hidden state, so H(O | h[N]) = 0 and "
    "I_R(N) must equal H(O). A coarse-graining that loses part of H(O) is cutting through a cluster.",
    "api_total": "Compute it with relay_information(rec, list(rec.node.values), time=..., concept=..., "
    "discretizer=...) using the discretizer you chose.",
    "every_node": "You listed every node. The relay set is the nodes marked in is_relay: "
    "res.node.values[res.is_relay.sel(concept=..., time=...).values].",
    "one_of_and": "An AND needs both inputs at the default threshold 0.9: one of them alone keeps "
    "I_R = 0.5 bit, only about 62 % of the total H(O) = 0.81 bit. Did you lower the threshold, or take the "
    "last node the search kept instead of the set?",
    "noise": "Your set holds noise nodes the planted output never reads. Read is_relay at the default "
    "threshold, not the first nodes of the elimination order (least-loss removes the unimportant nodes first).",
    "empty": "Your set is empty although the output is planted on these nodes and the search is significant.",
    "labels": "Give node labels such as 'l0.h0' (from res.node.values), or their positions.",
    "xor_both": "For XOR one node suffices: given every other node (the partner included), either input "
    "alone resolves the whole output, I_R({a}) = H(O | rest without a) - H(O | all) = 1 bit. The relay "
    "information conditions on the rest of the network, so the search keeps just one of the pair.",
    "xor_not_input": "The relay of an XOR must be one of its two planted inputs.",
    "forgot_null": "Reading a relay set without its significance: the greedy search always returns some set, "
    "even on pure noise, where the plug-in relay information is estimator bias. Report a set only when "
    "result.significant is True (p < alpha against the permutation null), and an empty set otherwise.",
    "dropped_significant": "This result is significant: report its relay set (the nodes marked in is_relay).",
    "return_set": "Return a set of node labels (str), e.g. {str(n) for n in ...}.",
    "threshold_bits": "That is the relay information of the single node in bits. The threshold is a fraction "
    "of the total: theta* = I_R(one node) / I_R(all nodes).",
    "threshold_default": "0.9 is the default threshold, not the point where the relay set changes size: "
    "find theta* = I_R(kept node) / I_R(N) from result.curve (or try relays_at(result, theta)).",
    "threshold_loss": "That is the fraction LOST when the second node goes; the threshold is the fraction "
    "KEPT by the single remaining node: theta* = I_R(one node) / I_R(N).",
}


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _call(fn: Callable[..., Any], name: str, shown: str, *args: Any) -> Any:
    """Call the student's function; ``NotImplementedError`` passes through, other crashes say on which input."""
    check(callable(fn), f"{name} should be a function; got {type(fn).__name__}.", f"Define it with def {name}(...):")
    # copies, so that a function that changes its input in place cannot change the truths computed from it
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        return _quiet(fn, *args)
    except NotImplementedError:
        raise
    except Exception as exc:  # a crash in student code: say on which input, keep the original as the cause
        raise AnswerError(f"{name}({shown}) raised {type(exc).__name__}: {exc}") from exc


def node_codes(rec: xr.Dataset, *, time: int = 0, discretizer: str = "two-means") -> np.ndarray:
    """The coarse-grained states of every node at one step: int array of shape (sample, node).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=100)
    >>> node_codes(rec).shape
    (100, 4)
    """
    h = rec["hidden"].sel(time=time)
    return np.asarray(discretize(h, discretizer).transpose("sample", "node").values).astype(np.int64)


def _output(rec: xr.Dataset, concept: int) -> np.ndarray:
    return (np.asarray(rec["prediction"].values) == concept).astype(np.int64)


def _number(value: Any, name: str, hint: str = "") -> float:
    try:
        scalar = np.ndim(value) == 0
    except ValueError:  # a ragged nested list
        scalar = False
    if isinstance(value, (bool, np.bool_)) or not scalar or isinstance(value, (str, bytes)):
        raise AnswerError(f"{name} should be one number; got {value!r}." + (f"\nHint: {hint}" if hint else ""))
    return as_number(value, name, hint)


def _matches(got: float, value: float, want: float) -> bool:
    return abs(got - value) <= 1e-6 + 1e-6 * abs(value) and abs(value - want) > 1e-6


def check_relay_info(
    relay_info: Callable[[np.ndarray, np.ndarray, list[int]], float],
    rec: xr.Dataset,
    *,
    time: int = 0,
    concept: int = 1,
    node_sets: Sequence[Sequence[int]] | None = None,
) -> None:
    """Check ``relay_info(codes, output, nodes)``, the relay information of a node set computed by hand.

    The student's function gets the two-means codes of every node (shape (sample, node)), the output
    ``O = (prediction == concept)`` and a list of node positions R, and returns
    ``I_R(R) = H(O | codes[:, Z]) - H(O | codes)`` in bits. The truth is
    :func:`relaywidgets.relay.relay_information` on the student's recording.

    Parameters
    ----------
    relay_info : callable
        The student's function.
    rec : xarray.Dataset
        The student's recording (e.g. ``planted_relay("and")``).
    time, concept : int
        The step and the class.
    node_sets : sequence of sequences of int, optional
        The sets R to test (default: each of the first two nodes, the pair, the last node, every node,
        and the empty set).

    Examples
    --------
    >>> from relaywidgets.info import conditional_entropy
    >>> from relaywidgets.testing import planted_relay
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=2000)
    >>> def relay_info(codes, output, nodes):
    ...     rest = [j for j in range(codes.shape[1]) if j not in nodes]
    ...     return conditional_entropy(output, codes[:, rest]) - conditional_entropy(output, codes)
    >>> check_relay_info(relay_info, rec)
    >>> from relaywidgets.info import mutual_information
    >>> check_relay_info(lambda codes, output, nodes: mutual_information(output, codes[:, nodes]), rec)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: I_R([0]) is 0.30...; it should be 0.49... (within ...).
    Hint: That is the marginal information I(O; h[R]) of the set alone. ...
    """
    codes = node_codes(rec, time=time)
    out = _output(rec, concept)
    n = codes.shape[1]
    if node_sets is None:
        node_sets = ([0], [1], [0, 1], [n - 1], list(range(n)), [])
    labels = [str(v) for v in rec["node"].values]
    for nodes in node_sets:
        nodes = [int(j) for j in nodes]
        want = float(_quiet(relay_information, rec, [labels[j] for j in nodes], time=time, concept=concept))
        got = _number(_call(relay_info, "relay_info", f"codes, output, {nodes}", codes, out, nodes), "relay_info")
        rest = [j for j in range(n) if j not in nodes]
        wrong = {"nats": want * LN2, "sign": -want}
        if nodes:
            wrong["marginal"] = float(_quiet(mutual_information, out, codes[:, nodes]))
            wrong["complement"] = float(
                _quiet(conditional_entropy, out, codes[:, nodes]) - _quiet(conditional_entropy, out, codes)
            )
        hint = next((HINTS[k] for k, v in wrong.items() if _matches(got, v, want)), "")
        if not hint and rest and nodes:
            hint = "I_R(R) = H(O | codes[:, Z]) - H(O | codes), with Z the columns not in R."
        check_close(got, want, name=f"I_R({nodes})", atol=1e-6, hint=hint)


def check_split_choice(
    rec: xr.Dataset, *, discretizer: Any, total: Any, time: int | None = None, concept: int = 1
) -> None:
    """Check the choice of coarse-graining on a recording with a saturated, unevenly occupied unit.

    At the decision step (the last step by default) the output is a function of the hidden state, so the
    relay information of all nodes must equal ``H(O)``; the check asks that ``total`` is the package's
    ``I_R(N)`` under the student's ``discretizer`` and that this discretizer recovers ``H(O)``.

    Parameters
    ----------
    rec : xarray.Dataset
        The student's recording.
    discretizer : str
        The student's choice (a name from :func:`relaywidgets.info.discretizers`).
    total : float
        The student's ``I_R(N)`` in bits under that choice.
    time : int, optional
        Default: the last step.
    concept : int

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.testing import make_recording
    >>> from relaywidgets.relay import relay_information
    >>> rng = np.random.default_rng(0)
    >>> bit = (rng.random(1000) < 0.2).astype(int)
    >>> saturated = 0.9 * (2 * bit - 1) + rng.normal(0, 0.05, 1000)  # 80 % near -0.9, 20 % near +0.9
    >>> hidden = np.stack([saturated, rng.normal(size=1000)])[:, None, :]
    >>> rec = make_recording(hidden, bit)
    >>> total = relay_information(rec, list(rec.node.values), time=0, concept=1, discretizer="two-means")
    >>> check_split_choice(rec, discretizer="two-means", total=total)
    >>> total = relay_information(rec, list(rec.node.values), time=0, concept=1, discretizer="median")
    >>> check_split_choice(rec, discretizer="median", total=total)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: With the 'median' split I_R(N) = 0.2... bits, but at the decision step it must equal H(O) = 0.7... bits.
    Hint: A median split through a saturated unit: ...
    """
    from ..info import discretizers

    names = list(discretizers())
    check(
        isinstance(discretizer, str) and discretizer in names,
        f"discretizer should be one of {names}; got {discretizer!r}.",
        "Assign the name of the split, e.g. discretizer = 'mean'.",
    )
    t = int(rec["time"].values[-1]) if time is None else int(time)
    nodes = [str(v) for v in rec["node"].values]
    want = float(_quiet(relay_information, rec, nodes, time=t, concept=concept, discretizer=discretizer))
    got = _number(total, "total")
    check_close(got, want, name=f"total (I_R(N) with the {discretizer!r} split)", atol=1e-6, hint=HINTS["api_total"])
    h_o = float(_quiet(entropy, _output(rec, concept)))
    if abs(want - h_o) > 0.01:
        hint = HINTS["median"] if discretizer == "median" else HINTS["last_step"]
        raise AnswerError(
            f"With the {discretizer!r} split I_R(N) = {want:.3f} bits, but at the decision step it must equal "
            f"H(O) = {h_o:.3f} bits.\nHint: {hint}"
        )


def _labels(answer: Any, rec_or_result: xr.Dataset, name: str) -> set[str]:
    """The student's node set as a set of labels; positions (ints) are mapped to labels."""
    all_labels = [str(v) for v in rec_or_result["node"].values]
    if answer is None:
        raise AnswerError(f"{name} is None: did you forget to return or assign the set?")
    # a 0-d array is Iterable to Python but cannot be iterated: a lone value, like a bare label or number
    lone = isinstance(answer, (str, bytes)) or (isinstance(answer, np.ndarray) and answer.ndim == 0)
    if lone or not isinstance(answer, Iterable):
        answer = getattr(answer, "values", answer)
        if isinstance(answer, (str, bytes)) or np.ndim(answer) == 0:
            raise AnswerError(
                f"{name} should be a set of node labels; got {answer!r}.\nHint: {HINTS['labels']}"
            )
    out: set[str] = set()
    for item in np.asarray(list(answer), dtype=object).ravel().tolist():
        is_position = isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))
        if is_position and 0 <= item < len(all_labels):
            out.add(all_labels[int(item)])
        elif isinstance(item, (str, np.str_)) and str(item) in all_labels:
            out.add(str(item))
        else:
            raise AnswerError(f"{name} holds {item!r}, which is not a node of this recording.\nHint: {HINTS['labels']}")
    return out


def check_relay_set(relays: Any, rec: xr.Dataset, truth: Iterable[int], *, name: str = "relays") -> None:
    """Check a relay set against the planted truth (node positions, as :func:`~relaywidgets.testing.planted_relay`
    returns them with the recording).

    Parameters
    ----------
    relays : set of str or int
        The student's relay set (node labels or positions).
    rec : xarray.Dataset
        The student's planted recording (for the node labels).
    truth : iterable of int
        The planted relay nodes.
    name : str
        The student's variable, for the messages.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> rec, truth = planted_relay("and", n_nodes=5, n_samples=500)
    >>> check_relay_set({"l0.h0", "l0.h1"}, rec, truth)
    >>> check_relay_set({"l0.h0"}, rec, truth)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: relays is ['l0.h0']; the planted relay set is ['l0.h0', 'l0.h1'].
    Hint: An AND needs both inputs ...
    """
    got = _labels(relays, rec, name)
    labels = [str(v) for v in rec["node"].values]
    want = {labels[int(j)] for j in truth}
    if got == want:
        return
    if got == set(labels):
        hint = HINTS["every_node"]
    elif not got:
        hint = HINTS["empty"]
    elif got - want:
        hint = HINTS["noise"]
    elif rec.attrs.get("task") == "planted-and":
        hint = HINTS["one_of_and"]
    else:
        hint = "Read the nodes marked in is_relay of your find_relays result at the default threshold."
    raise AnswerError(f"{name} is {sorted(got)}; the planted relay set is {sorted(want)}.\nHint: {hint}")


def check_xor_relays(relays: Any, rec: xr.Dataset, truth: Iterable[int], *, name: str = "relays_xor") -> None:
    """Check the relay set of a planted XOR: exactly one of its two inputs.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> rec, truth = planted_relay("xor", n_nodes=5, n_samples=500)
    >>> check_xor_relays({"l0.h1"}, rec, truth)
    >>> check_xor_relays({"l0.h0", "l0.h1"}, rec, truth)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: relays_xor is ['l0.h0', 'l0.h1']; ...
    Hint: For XOR one node suffices: ...
    """
    got = _labels(relays, rec, name)
    labels = [str(v) for v in rec["node"].values]
    inputs = {labels[int(j)] for j in truth}
    if len(got) == 1 and got <= inputs:
        return
    hint = HINTS["xor_both"] if len(got) > 1 else HINTS["xor_not_input"] if got else HINTS["empty"]
    raise AnswerError(
        f"{name} is {sorted(got)}; the search keeps exactly one of the planted inputs {sorted(inputs)}.\nHint: {hint}"
    )


def _reported_truth(result: xr.Dataset, concept: Any, time: int) -> set[str]:
    sel = result.sel(concept=str(concept), time=time)
    if not bool(sel["significant"]):
        return set()
    return {str(v) for v in result["node"].values[sel["is_relay"].values]}


def check_report_relays(
    report_relays: Callable[[xr.Dataset, Any, int], Any],
    results: Sequence[xr.Dataset],
    *,
    concept: Any = 1,
    time: int = 0,
) -> None:
    """Check ``report_relays(result, concept, time)``: the relay set to report, empty unless significant.

    Parameters
    ----------
    report_relays : callable
        The student's function: a :func:`~relaywidgets.relay.find_relays` result, a concept and a step ->
        a set of node labels (the relay set when ``significant`` is True, the empty set otherwise).
    results : sequence of xarray.Dataset
        The student's results (at least one significant and one not, so that both branches are checked).
    concept, time
        Where to read them.

    Examples
    --------
    >>> import warnings
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res_and = find_relays(planted_relay("and", n_samples=1000)[0], concepts=[1], n_perm=50, progress=False)
    ...     res_ind = find_relays(planted_relay("independent", n_samples=200, seed=1)[0], concepts=[1], n_perm=50,
    ...                           progress=False)
    >>> def report_relays(result, concept, time):
    ...     sel = result.sel(concept=str(concept), time=time)
    ...     return {str(n) for n in result.node.values[sel.is_relay.values]} if bool(sel.significant) else set()
    >>> check_report_relays(report_relays, [res_and, res_ind])
    >>> def no_null(result, concept, time):
    ...     sel = result.sel(concept=str(concept), time=time)
    ...     return {str(n) for n in result.node.values[sel.is_relay.values]}
    >>> check_report_relays(no_null, [res_and, res_ind])
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: report_relays(...) returned ['l0.h0', 'l0.h5'], but that result is not significant (p = 0.471, total 0.300 bits, null mean 0.290 bits).
    Hint: Reading a relay set without its significance: ...
    """
    for result in results:
        sel = result.sel(concept=str(concept), time=time)
        want = _reported_truth(result, concept, time)
        task = result.attrs.get("task", "")
        raw = _call(report_relays, "report_relays", f"<result {task}>, {concept!r}, {time}", result, concept, time)
        check(
            raw is not None and not isinstance(raw, (str, bytes, bool, np.bool_, int, float)),
            f"report_relays returned {raw!r}, not a set of node labels.",
            HINTS["return_set"],
        )
        got = _labels(raw, result, "report_relays(...)")
        if got == want:
            continue
        p, total, floor = (float(sel[k]) for k in ("p_value", "total", "null_mean"))
        if want == set() and got:
            raise AnswerError(
                f"report_relays(...) returned {sorted(got)}, but that result is not significant (p = {p:.3f}, "
                f"total {total:.3f} bits, null mean {floor:.3f} bits).\nHint: {HINTS['forgot_null']}"
            )
        hint = HINTS["dropped_significant"] if not got else "Read the nodes marked in is_relay."
        raise AnswerError(
            f"report_relays(...) returned {sorted(got)} for a significant result (p = {p:.3f}); its relay set is "
            f"{sorted(want)}.\nHint: {hint}"
        )


def switch_point(result: xr.Dataset, concept: Any = 1, time: int = 0) -> float:
    """The threshold above which the least-loss relay set grows from one node to two: I_R(1 node) / I_R(N).

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(planted_relay("and", n_samples=4000)[0], concepts=[1], n_perm=0, progress=False)
    >>> round(switch_point(res), 2)
    0.62
    """
    sel = result.sel(concept=str(concept), time=time)
    curve = np.asarray(sel["curve"].values)
    one = int(np.flatnonzero(np.asarray(result["set_size"].values) == 1)[0])
    return float(curve[one] / float(sel["total"]))


def check_switch_threshold(result: xr.Dataset, answer: Any, *, concept: Any = 1, time: int = 0) -> None:
    """Check the threshold theta* at which the relay set of the student's result switches from one node to two.

    The truth is ``I_R(one node) / I_R(N)`` read from the result's elimination curve, and
    :func:`~relaywidgets.relay.relays_at` must indeed give one node just below it and two just above.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> res = find_relays(planted_relay("and", n_samples=4000)[0], concepts=[1], n_perm=0, progress=False)
    >>> check_switch_threshold(res, switch_point(res))
    >>> check_switch_threshold(res, 0.9)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: switch_threshold is 0.9; the relay set switches from one node to two at theta* = 0.6... (within 0.01).
    Hint: 0.9 is the default threshold, ...
    """
    got = _number(answer, "switch_threshold")
    want = switch_point(result, concept, time)
    sel = result.sel(concept=str(concept), time=time)
    one = float(np.asarray(sel["curve"].values)[np.flatnonzero(np.asarray(result["set_size"].values) == 1)[0]])
    if abs(got - want) <= 0.01:
        size = lambda th: int(relays_at(result, th).relay_size.sel(concept=str(concept), time=time))
        check(
            size(max(0.0, want - 0.005)) == 1 and size(min(1.0, want + 0.005)) == 2,
            "relays_at does not switch from one node to two at your threshold.",
            "This result's path is not that of a two-node relay set; use the planted AND recording.",
        )
        return
    candidates = {"threshold_bits": one, "threshold_default": 0.9, "threshold_loss": 1.0 - want}
    hint = next((HINTS[k] for k, v in candidates.items() if abs(got - v) <= 0.01), "")
    raise AnswerError(
        f"switch_threshold is {got:.3g}; the relay set switches from one node to two at theta* = {want:.3f} "
        f"(within 0.01).\nHint: {hint or HINTS['threshold_default'].split(': ', 1)[1]}"
    )
