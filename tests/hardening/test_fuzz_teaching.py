"""Fuzz suite, part 5: the answer checks of the nbgrader course and the shipped networks, under drawn answers.

Every public ``check_*`` of :mod:`relaywidgets.course` is called with the right non-answer arguments and a drawn
student answer: the right one, the right one moved just beyond the check's tolerance, or junk (None, text,
NaN/inf, negative and huge numbers, empty and wrong-shaped lists and arrays, dicts, sets, objects, and, where the
answer is a function, functions that raise or return junk). A check must pass (only on a right answer) or fail
with an :class:`~relaywidgets.course.AnswerError` that has a message, which nbgrader scores 0 like a failed
``assert``; a raw ``TypeError``/``ValueError``/... from the check, or a hang, fails. ``load_pretrained`` gets
drawn names: a shipped network or an ``InputError`` that lists the names.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_fuzz import FUZZ, outcome  # the sibling module, on sys.path under pytest

from relaywidgets import InputError, RecurrentClassifier, course, make_task, record
from relaywidgets.course import AnswerError
from relaywidgets.course import architectures as ar
from relaywidgets.course import information as ci
from relaywidgets.course import knockouts as ko
from relaywidgets.course import real_data as rd
from relaywidgets.course import relays as cr
from relaywidgets.info import conditional_entropy, entropy, permutation_test
from relaywidgets.relay import find_relays, jaccard, relay_information
from relaywidgets.testing import latched_cue, make_recording, planted_relay

# --------------------------------------------------------------------------------------------------
# drawn answers

HUGE = 10**400  # a Python int beyond every float


class Opaque:
    """An object that is neither a number, a name nor a container."""

    def __repr__(self) -> str:
        return "<Opaque>"


SCALAR_JUNK = [None, True, False, np.bool_(True), 0, -1, -7.5, HUGE, -HUGE, 1e308, -1e308, float("nan"),
               float("inf"), -float("inf"), np.float32("nan"), 1j, "", "0.5", "bogus", b"x", np.str_("l0.h0"),
               np.array(0.5), np.array(3), np.array("a"), np.float64(2.5), Opaque()]
CONTAINER_JUNK = [[], (), [[]], [0.5], [None], ["a"], [HUGE], [1, [2, 3]], [[1], [1, 2]], [float("nan")],
                  np.array([]), np.zeros((2, 3)), np.full(3, np.nan), np.array(["a", "b"]), np.array([1.5]),
                  {}, {"a": 1}, {0.5}, set(), {1: None}, range(3), xr.DataArray([1.0, np.nan])]
# one of each kind, for the checks whose every call is costly
SHORT_JUNK = [None, True, HUGE, float("nan"), -1e308, "0.5", np.array(3), Opaque(), [0.5], [[1], [1, 2]],
              np.zeros((2, 3)), {"a": 1}, {0.5}]
ANSWERS = st.one_of(
    st.sampled_from(SCALAR_JUNK + CONTAINER_JUNK),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.text(max_size=6),
    st.lists(st.one_of(st.floats(allow_nan=True), st.integers(-5, 5), st.text(max_size=2), st.none()), max_size=5),
    hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_, np.complex128]),
               hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    st.dictionaries(st.text(max_size=4), st.sampled_from(SCALAR_JUNK), max_size=3),
)


class Student:
    """A student's function that raises ``exc`` or returns ``value`` whatever it is given (its repr says which)."""

    def __init__(self, value: Any = None, exc: type[Exception] | None = None) -> None:
        self.value, self.exc = value, exc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.exc is not None:
            raise self.exc("a bug in the student's code")
        return self.value

    def __repr__(self) -> str:
        return f"raising({self.exc.__name__})" if self.exc else f"returning({repr(self.value)[:60]})"


def raising(exc: type[Exception]) -> Student:
    return Student(exc=exc)


def returning(value: Any) -> Student:
    return Student(value)


# where the answer is a function: functions that crash, take the wrong arguments, or return junk; and non-functions
FUNCTIONS = st.one_of(
    st.sampled_from([raising(e) for e in (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                                          AttributeError, RuntimeError, RecursionError)]
                    + [lambda: 0.5, lambda a: 0.5, len]),
    ANSWERS.map(returning),
    ANSWERS,
)


def rel(atol: float, rtol: float = 0.0) -> Callable[[Any], Any]:
    """A check's tolerance around a right value (elementwise for arrays)."""
    return lambda v: atol + rtol * np.abs(np.asarray(v, dtype=float))


def shifted(value: Any, k: float, tol: Callable[[Any], Any]) -> Any:
    """``value`` moved by ``k`` times the check's tolerance (k beyond +-1: just out of it)."""
    if isinstance(value, Mapping):
        return {key: shifted(v, k, tol) for key, v in value.items()}
    array = np.asarray(getattr(value, "values", value), dtype=float)
    moved = array + k * tol(array)
    return float(moved) if moved.ndim == 0 else moved


def is_number_near(value: Any, want: float, tol: Callable[[Any], Any]) -> bool:
    """Whether a drawn answer is a right number: one real, finite, non-boolean scalar within the tolerance."""
    try:
        if isinstance(value, (bool, np.bool_, str, bytes)) or np.ndim(value) != 0:
            return False
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(number) and abs(number - want) <= float(tol(want))


def label_set(value: Any, labels: list[str], bare: bool) -> set[str] | None:
    """The node labels a drawn answer names (labels or positions), or None where it is not a set of nodes.

    ``bare``: whether a lone label (a string or a 0-d array) counts as a set of one, as lessons 3-5 read it.
    """
    if value is None or isinstance(value, (str, bytes, np.str_)):
        items = [value] if bare and isinstance(value, (str, np.str_)) else None
    elif isinstance(value, np.ndarray):
        items = value.ravel().tolist() if value.ndim or bare else None
    else:
        items = list(value) if isinstance(value, (list, tuple, set, dict, range)) else None
    if items is None:
        return None
    out = set()
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)) and 0 <= item < len(labels):
            out.add(labels[int(item)])
        elif isinstance(item, (str, np.str_)) and str(item) in labels:
            out.add(str(item))
        else:
            return None
    return out


def never(ctx: Any, answer: Any) -> bool:
    return False


@dataclass(frozen=True)
class Slot:
    """One answer of one check: the check, its context fixture, how to call it with an answer, what is right."""

    check: Callable[..., None]
    answer: str  # the argument that is the student's answer
    fixture: str  # the module-scoped fixture that builds the other arguments
    call: Callable[[Any, Any], None]  # (context, answer) -> runs the check, every other argument right
    right: Callable[[Any], Any]  # context -> the right answer
    junk: st.SearchStrategy = ANSWERS
    tol: Callable[[Any], Any] | None = None  # a numeric answer's tolerance: the right one moved beyond it fails
    accepts: Callable[[Any, Any], bool] = never  # whether a junk answer happens to be right (independent reading)
    examples: int = 60
    costly: bool = False  # each call runs a permutation test or knockouts: a short list of junk, fewer draws
    inside: Callable[[Any], Any] | None = None  # puts a listed junk value inside an answer of the right shape

    @property
    def id(self) -> str:
        return f"{self.check.__module__.rsplit('.', 1)[-1]}.{self.check.__name__}[{self.answer}]"


def number_slot(check: Callable, answer: str, fixture: str, call: Callable, right: Callable, tol: Callable,
                **kw: Any) -> Slot:
    return Slot(check, answer, fixture, call, right, tol=tol,
                accepts=lambda ctx, a: is_number_near(a, float(right(ctx)), tol), **kw)


def function_slot(check: Callable, fixture: str, call: Callable, right: Callable, tol: Callable | None = None,
                  **kw: Any) -> Slot:
    return Slot(check, "function", fixture, call, right, junk=FUNCTIONS, tol=tol, **kw)


def labels_slot(check: Callable, answer: str, fixture: str, call: Callable, right: Callable,
                labels: Callable[[Any], list[str]], bare: bool,
                fits: Callable[[Any, set[str]], bool] | None = None, **kw: Any) -> Slot:
    """Junk and drawn lists of node labels and positions (some of them right)."""
    fits = fits or (lambda ctx, got: got == label_set(right(ctx), labels(ctx), bare))
    items = st.one_of(st.integers(-2, 8), st.sampled_from(["l0.h0", "l0.h1", "l0.h2", "l0.h9", "l1.h0", "", "L0.H0"]))
    drawn = st.lists(items, max_size=4).flatmap(
        lambda xs: st.sampled_from([xs, tuple(xs), set(xs), np.array(xs, dtype=object)]))

    def accepts(ctx: Any, answer: Any) -> bool:
        got = label_set(answer, labels(ctx), bare)
        return got is not None and fits(ctx, got)

    return Slot(check, answer, fixture, call, right, junk=st.one_of(ANSWERS, drawn), accepts=accepts,
                inside=lambda v: [0, v], **kw)


def names_of(value: Any) -> set[str] | None:
    """The names a drawn list-of-names answer holds (a bare name counts as a list of one), or None."""
    if isinstance(value, (str, np.str_)):
        return {str(value)}
    if isinstance(value, np.ndarray):
        value = value.ravel().tolist()
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(v, (str, np.str_)) for v in value):
        return None
    return {str(v) for v in value}


# --------------------------------------------------------------------------------------------------
# the contexts, one a lesson module (small, built once)


@pytest.fixture(scope="module")
def information_ctx():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, size=(100, 6))
    o = rng.integers(0, 2, size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = permutation_test("mutual_information", o, z, n_perm=400, seed=12345)  # the check's own reference
    return SimpleNamespace(o=o, z=z, ref=ref)


def entropy_bits(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def is_informative(o, z):
    return bool(permutation_test("mutual_information", o, z, n_perm=200, seed=0).significant)


@pytest.fixture(scope="module")
def relays_ctx():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec, truth = planted_relay("and", n_nodes=4, n_samples=1000, seed=0)
        rec_xor, truth_xor = planted_relay("xor", n_nodes=5, n_samples=500, seed=0)
        rng = np.random.default_rng(0)
        bit = (rng.random(1000) < 0.2).astype(int)
        saturated = 0.9 * (2 * bit - 1) + rng.normal(0, 0.05, 1000)  # 80 % near -0.9, 20 % near +0.9
        rec_sat = make_recording(np.stack([saturated, rng.normal(size=1000)])[:, None, :], bit)
        total = relay_information(rec_sat, list(rec_sat.node.values), time=0, concept=1, discretizer="two-means")
        res_and = find_relays(planted_relay("and", n_samples=1000)[0], concepts=[1], n_perm=50, seed=0, progress=False)
        res_ind = find_relays(planted_relay("independent", n_samples=200, seed=1)[0], concepts=[1], n_perm=50, seed=0,
                              progress=False)
    significant = [bool(r.significant.sel(concept="1", time=0)) for r in (res_and, res_ind)]
    assert significant == [True, False]  # report_relays meets both branches
    return SimpleNamespace(rec=rec, truth=truth, rec_xor=rec_xor, truth_xor=truth_xor, rec_sat=rec_sat,
                           total=float(total), res_and=res_and, res_ind=res_ind)


def relay_info(codes, output, nodes):
    rest = [j for j in range(codes.shape[1]) if j not in nodes]
    return conditional_entropy(output, codes[:, rest]) - conditional_entropy(output, codes)


def report_relays(result, concept, time):
    sel = result.sel(concept=str(concept), time=time)
    return {str(n) for n in result.node.values[sel.is_relay.values]} if bool(sel.significant) else set()


@pytest.fixture(scope="module")
def knockouts_ctx():
    import torch

    from relaywidgets.knockout import causal_set, effect_map, unit_effects

    torch.set_num_threads(1)
    net = ko.latch_network()
    X, y = make_task("delayed-cue", n_samples=100, seq_len=10, n_classes=2, noise=0.1, seed=0)
    relays = find_relays(record(net, X, y), concepts=[1], n_perm=10, seed=0, progress=False)
    effects = effect_map(net, X, y, n_boot=0, progress=False)
    drops = effects.accuracy_drop.sel(node="l0.h0")
    steps = drops.time.values
    nodes = [str(n) for n in relays.node.values]
    relay = [n for n, r in zip(nodes, relays.is_relay.sel(concept="1", time=3).values) if r]
    at_3 = effects.accuracy_drop.sel(concept="1", time=3)
    costly = {str(n) for n, d in zip(at_3.node.values, at_3.values) if d > 0.05}
    net2 = ko.latch_network(copies=2)
    single = unit_effects(net2, X, y, n_boot=0, progress=False).sel(concept="1").accuracy_drop
    return SimpleNamespace(
        net=net, X=X, y=y, relays=relays, effects=effects, nodes=nodes, net2=net2,
        mid=float(drops.sel(concept="1", time=slice(3, int(steps[-2]))).mean()),
        last=float(drops.sel(concept="1", time=int(steps[-1]))),
        last0=float(drops.sel(concept="0", time=int(steps[-1]))),
        last_all=float(drops.sel(concept="all", time=int(steps[-1]))),
        without_effect=[n for n in relay if n not in costly],
        single={label: float(single.sel(node=label)) for label in ("l0.h0", "l0.h1")},
        causal=[str(n) for n in causal_set(net2, X, y, 1, target=0.5, progress=False).order.values],
        curves={c: _curve(*spec) for c, spec in enumerate(CURVES)},
    )


def _curve(areas, ps, first):
    return xr.Dataset(
        {"area": ("ranking", areas), "p_value": ("ranking", ps),
         "curve": (("ranking", "k"), [[f, 0.5] for f in first])},
        coords={"ranking": ["aggregated_score", "readout", "grad_x_act", "effect"], "k": [1, 2]},
    )


# best method: grad_x_act (mean area 0.15); the relay ranking is significant for class 0 only
CURVES = [([0.12, 0.10, 0.15, 0.3], [0.01, 0.2, 0.1, 0.01], [0.2, 0.6, 0.3, 0.9]),
          ([0.03, 0.10, 0.15, 0.3], [0.30, 0.2, 0.04, 0.01], [0.2, 0.6, 0.3, 0.9]),
          ([0.00, 0.10, 0.15, 0.3], [0.60, 0.2, 0.1, 0.01], [0.2, 0.6, 0.3, 0.9])]


def class_drop(model, X, y, units, times=None):
    from relaywidgets.knockout import Knockout, evaluate

    intact = evaluate(model, X, y).class_accuracy
    return (intact - evaluate(model, X, y, knockout=Knockout(units, times=times)).class_accuracy).values


@pytest.fixture(scope="module")
def architectures_ctx():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        latch = find_relays(latched_cue(n_nodes=6, n_steps=8, n_samples=600), concepts=[1], n_perm=10, seed=0,
                             progress=False)
        # a unit that copies the output, a different unit at every step: the relay role hops (pure drift)
        rng = np.random.default_rng(0)
        n, T, N = 6, 8, 600
        out = rng.integers(0, 2, N)
        hidden = rng.normal(size=(N, T, n))
        for t in range(T):
            hidden[:, t, t % n] = out + 0.1 * rng.normal(size=N)
        hop = find_relays(make_recording(hidden.transpose(2, 1, 0), out), concepts=[1], n_perm=10, seed=0,
                          progress=False)
    results = {"latch": latch, "hop": hop}
    excess = {a: float(np.subtract(*ar.excess_persistence(r, 0.5, start=2))) for a, r in results.items()}
    steps = {a: [int(t) for t in r.time.values[~r.significant.sel(concept="1").values]] for a, r in results.items()}
    drifting = [a for a, e in excess.items() if e <= 0.1]
    assert drifting == ["hop"] and all(abs(e - 0.1) >= 0.03 for e in excess.values())  # a clear answer to fuzz
    return SimpleNamespace(results=results, excess=excess, steps=steps, drifting=drifting)


def persistence(is_relay):
    is_relay = np.asarray(is_relay, dtype=bool)
    return np.concatenate([[np.nan], jaccard(is_relay[:-1], is_relay[1:])])


def steps_of(ctx: Any, answer: Any) -> bool:
    """Whether a drawn insignificant_steps answer names the right steps of every architecture."""
    if not isinstance(answer, Mapping) or set(ctx.results) - set(answer):
        return False
    for arch, want in ctx.steps.items():
        value = answer[arch]
        if not isinstance(value, (list, tuple, np.ndarray)) or np.ndim(value) != 1:
            return False
        if not all(isinstance(s, (int, np.integer, float, np.floating)) and not isinstance(s, (bool, np.bool_))
                   and float(s).is_integer() for s in value) or sorted({int(s) for s in value}) != want:
            return False
    return True


@pytest.fixture(scope="module")
def real_data_ctx():
    import torch

    from relaywidgets.knockout import evaluate

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n, T = 60, 8
    lengths = rng.integers(3, T + 1, n)
    X = np.zeros((n, T, 2), dtype=np.float32)
    for s, L in enumerate(lengths):
        X[s, :L] = rng.normal(size=(L, 2))
    y = (X[np.arange(n), lengths - 1, 0] > 0).astype(np.int64)
    model = RecurrentClassifier("gru", 2, 4, 2, device="cpu", seed=0)
    rec = xr.Dataset({"prediction": ("sample", np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])),
                      "label": ("sample", np.array([0, 1, 1, 1, 1, 2, 2, 0, 0, 2]))}, coords={"class": [0, 1, 2]})
    relays = xr.Dataset({"total": (("concept", "time"), [[0.5, 0.6], [0.4, 0.3]]),
                         "null_mean": (("concept", "time"), [[0.2, 0.1], [0.1, 0.2]])},
                        coords={"concept": ["1", "2"], "time": [6, 7]})

    def t(p, drop, mean):
        return xr.Dataset({"p_value": p, "relay_drop": drop, "random_drop_mean": mean})

    tests = {"1": t(0.01, 0.4, 0.05), "2": t(0.2, 0.15, 0.05), "3": t(1.0, 0.0, 0.02)}
    return SimpleNamespace(model=model, X=X, y=y, lengths=lengths, rec=rec, relays=relays, tests=tests,
                           accuracy=float(evaluate(model, X, y, lengths=lengths).accuracy))


def decision_entropy(rec, c):
    p = float(np.mean(rec.prediction.values == c))
    return 0.0 if p in (0.0, 1.0) else float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))


@pytest.fixture(scope="module")
def feedback_ctx():
    return SimpleNamespace(expected=0.5)


# --------------------------------------------------------------------------------------------------
# every answer of every check

CLOSE = rel(1e-6, 1e-6)  # check_close's default tolerance

SLOTS: list[Slot] = [
    number_slot(course.check_close, "value", "feedback_ctx",
                lambda c, a: course.check_close(a, c.expected, name="H(X)"), lambda c: c.expected, CLOSE),
    # lesson 1: information
    function_slot(ci.check_entropy_bits, "information_ctx", lambda c, a: ci.check_entropy_bits(a),
                  lambda c: entropy_bits, CLOSE),
    function_slot(ci.check_plugin_entropy, "information_ctx", lambda c, a: ci.check_plugin_entropy(a),
                  lambda c: lambda s: entropy(np.asarray(s)), CLOSE),
    function_slot(ci.check_gaussian_mi, "information_ctx", lambda c, a: ci.check_gaussian_mi(a),
                  lambda c: lambda r: -0.5 * np.log2(1 - r**2), CLOSE),
    function_slot(ci.check_plugin_bias, "information_ctx", lambda c, a: ci.check_plugin_bias(a),
                  lambda c: lambda n, ka, kb: (ka - 1) * (kb - 1) / (2 * n * math.log(2)), CLOSE),
    function_slot(ci.check_miller_madow, "information_ctx", lambda c, a: ci.check_miller_madow(a),
                  lambda c: lambda s: entropy(s, estimator="miller-madow"), CLOSE),
    function_slot(ci.check_is_informative, "information_ctx", lambda c, a: ci.check_is_informative(a),
                  lambda c: is_informative, examples=20),
    *[
        number_slot(ci.check_null_reading, key, "information_ctx",
                    lambda c, a, key=key: ci.check_null_reading(c.o, c.z, **{**NULL_READING(c), key: a}),
                    lambda c, key=key: NULL_READING(c)[key], tol, examples=10, costly=True)
        for key, tol in [("mi_hat", CLOSE), ("null_floor", lambda v: 0.03 + 0.1 * abs(v)), ("p_value", rel(0.1))]
    ],
    Slot(ci.check_null_reading, "informative", "information_ctx",
         lambda c, a: ci.check_null_reading(c.o, c.z, **{**NULL_READING(c), "informative": a}),
         lambda c: NULL_READING(c)["informative"], examples=10, costly=True,
         accepts=lambda c, a: isinstance(a, (bool, np.bool_)) and a == NULL_READING(c)["informative"]),
    # lesson 2: relays
    function_slot(cr.check_relay_info, "relays_ctx", lambda c, a: cr.check_relay_info(a, c.rec),
                  lambda c: relay_info, CLOSE, examples=30),
    Slot(cr.check_split_choice, "discretizer", "relays_ctx",
         lambda c, a: cr.check_split_choice(c.rec_sat, discretizer=a, total=c.total), lambda c: "two-means",
         junk=st.one_of(ANSWERS, st.sampled_from(["Two-Means", "two_means", " two-means", "kmeans", "median"])),
         examples=30),
    number_slot(cr.check_split_choice, "total", "relays_ctx",
                lambda c, a: cr.check_split_choice(c.rec_sat, discretizer="two-means", total=a),
                lambda c: c.total, rel(1e-6, 1e-6), examples=30),
    labels_slot(cr.check_relay_set, "relays", "relays_ctx", lambda c, a: cr.check_relay_set(a, c.rec, c.truth),
                lambda c: {str(c.rec.node.values[int(j)]) for j in c.truth},
                lambda c: [str(v) for v in c.rec.node.values], bare=False),
    labels_slot(cr.check_xor_relays, "relays", "relays_ctx",
                lambda c, a: cr.check_xor_relays(a, c.rec_xor, c.truth_xor),
                lambda c: {str(c.rec_xor.node.values[int(min(c.truth_xor))])},
                lambda c: [str(v) for v in c.rec_xor.node.values], bare=False,
                fits=lambda c, got: len(got) == 1 and got <= {str(c.rec_xor.node.values[int(j)]) for j in c.truth_xor}),
    function_slot(cr.check_report_relays, "relays_ctx",
                  lambda c, a: cr.check_report_relays(a, [c.res_and, c.res_ind]), lambda c: report_relays),
    number_slot(cr.check_switch_threshold, "answer", "relays_ctx",
                lambda c, a: cr.check_switch_threshold(c.res_and, a), lambda c: cr.switch_point(c.res_and), rel(0.01)),
    # lesson 3: knockouts
    function_slot(ko.check_class_drop, "knockouts_ctx", lambda c, a: ko.check_class_drop(a, c.net, c.X, c.y),
                  lambda c: class_drop, rel(1e-6), examples=20),
    number_slot(ko.check_one_step_drops, "drop_mid", "knockouts_ctx",
                lambda c, a: ko.check_one_step_drops(a, c.last, c.net, c.X, c.y), lambda c: c.mid, rel(0.1),
                examples=15, costly=True),
    number_slot(ko.check_one_step_drops, "drop_last", "knockouts_ctx",
                lambda c, a: ko.check_one_step_drops(c.mid, a, c.net, c.X, c.y), lambda c: c.last, rel(0.05),
                examples=15, costly=True),
    number_slot(ko.check_off_target, "drop_last_class0", "knockouts_ctx",
                lambda c, a: ko.check_off_target(a, c.last_all, c.net, c.X, c.y), lambda c: c.last0, rel(0.05),
                examples=15, costly=True),
    number_slot(ko.check_off_target, "drop_last_all", "knockouts_ctx",
                lambda c, a: ko.check_off_target(c.last0, a, c.net, c.X, c.y), lambda c: c.last_all, rel(0.05),
                examples=15, costly=True),
    labels_slot(ko.check_relay_without_effect, "answer", "knockouts_ctx",
                lambda c, a: ko.check_relay_without_effect(a, c.relays, c.effects), lambda c: c.without_effect,
                lambda c: c.nodes, bare=True),
    Slot(ko.check_single_latch_drops, "single_drops", "knockouts_ctx",
         lambda c, a: ko.check_single_latch_drops(a, c.net2, c.X, c.y), lambda c: c.single, tol=rel(0.05),
         junk=st.one_of(ANSWERS, st.fixed_dictionaries({"l0.h0": ANSWERS, "l0.h1": st.just(0.0)})),
         inside=lambda v: {"l0.h0": v, "l0.h1": 0.0},
         accepts=lambda c, a: isinstance(a, Mapping) and all(
             label in a and is_number_near(a[label], v, rel(0.05)) for label, v in c.single.items()),
         examples=15, costly=True),
    labels_slot(ko.check_redundant_causal_set, "causal_units", "knockouts_ctx",
                lambda c, a: ko.check_redundant_causal_set(a, c.net2, c.X, c.y), lambda c: c.causal,
                lambda c: c.nodes, bare=True, examples=15, costly=True),
    function_slot(ko.check_expected_p, "knockouts_ctx", lambda c, a: ko.check_expected_p(a),
                  lambda c: lambda n, k, r: (1 + r / math.comb(n, k)) / (1 + r), rel(1e-9, 1e-6)),
    Slot(ko.check_deletion_reading, "best_ranking", "knockouts_ctx",
         lambda c, a: ko.check_deletion_reading(a, 1, c.curves), lambda c: "grad_x_act",
         junk=st.one_of(ANSWERS, st.sampled_from(["GRAD_X_ACT", "effect", "readout", "grad x act"])),
         accepts=lambda c, a: isinstance(a, (str, np.str_)) and a.strip().lower() == "grad_x_act"),
    number_slot(ko.check_deletion_reading, "n_relay_significant", "knockouts_ctx",
                lambda c, a: ko.check_deletion_reading("grad_x_act", a, c.curves), lambda c: 1, rel(1e-9)),
    # lesson 4: architectures
    function_slot(ar.check_persistence, "architectures_ctx", lambda c, a: ar.check_persistence(a),
                  lambda c: persistence, rel(1e-6)),
    function_slot(ar.check_chance_jaccard, "architectures_ctx", lambda c, a: ar.check_chance_jaccard(a),
                  lambda c: ar.chance_jaccard_truth, rel(1e-6)),
    Slot(ar.check_insignificant_steps, "answer", "architectures_ctx",
         lambda c, a: ar.check_insignificant_steps(a, c.results, concept="1"), lambda c: c.steps,
         inside=lambda v: {"latch": [0, v], "hop": []},
         junk=st.one_of(ANSWERS, st.fixed_dictionaries({"latch": ANSWERS, "hop": st.just([])}),
                        st.fixed_dictionaries({"latch": st.lists(st.integers(-1, 9) | st.floats(-1, 9)),
                                               "hop": st.lists(st.integers(0, 8))})),
         accepts=steps_of),
    Slot(ar.check_excess, "excess", "architectures_ctx", lambda c, a: ar.check_excess(a, c.results),
         lambda c: c.excess, tol=rel(0.02),
         junk=st.one_of(ANSWERS, st.fixed_dictionaries({"latch": ANSWERS, "hop": st.just(0.0)})),
         inside=lambda v: {"latch": v, "hop": 0.0},
         accepts=lambda c, a: isinstance(a, Mapping) and all(
             arch in a and is_number_near(a[arch], v, rel(0.02)) for arch, v in c.excess.items())),
    Slot(ar.check_drifting, "drifting", "architectures_ctx", lambda c, a: ar.check_drifting(a, c.results),
         lambda c: c.drifting, inside=lambda v: ["hop", v],
         junk=st.one_of(ANSWERS, st.lists(st.sampled_from(["hop", "HOP", "latch", "rnn", "", 0])).flatmap(
             lambda xs: st.sampled_from([xs, tuple(xs), set(xs), np.array(xs, dtype=object)]))),
         accepts=lambda c, a: (names_of(a) is not None
                               and {n.strip().lower() for n in names_of(a)} == set(c.drifting))),
    # lesson 5: real data
    number_slot(rd.check_test_accuracy, "value", "real_data_ctx",
                lambda c, a: rd.check_test_accuracy(a, c.model, c.X, c.y, c.lengths), lambda c: c.accuracy, rel(1e-6)),
    function_slot(rd.check_running, "real_data_ctx", lambda c, a: rd.check_running(a, c.lengths),
                  lambda c: lambda L, t: int(np.sum(np.asarray(L) > t)), rel(1e-9)),
    function_slot(rd.check_decision_entropy, "real_data_ctx", lambda c, a: rd.check_decision_entropy(a, c.rec),
                  lambda c: decision_entropy, rel(1e-6)),
    Slot(rd.check_above_floor, "above_floor", "real_data_ctx", lambda c, a: rd.check_above_floor(a, c.relays, 6),
         lambda c: [0.3, 0.3], tol=rel(1e-6), inside=lambda v: [0.3, v],
         accepts=lambda c, a: _vector_near(a, [0.3, 0.3], 1e-6)),
    Slot(rd.check_beats_random, "beats_random", "real_data_ctx", lambda c, a: rd.check_beats_random(a, c.tests),
         lambda c: ["1"], inside=lambda v: ["1", v],
         junk=st.one_of(ANSWERS, st.lists(st.sampled_from(["1", "2", "3", "speaker 1", 0, 1])).flatmap(
             lambda xs: st.sampled_from([xs, tuple(xs), set(xs), np.array(xs, dtype=object)]))),
         accepts=lambda c, a: names_of(a) == {"1"}),
]


def NULL_READING(ctx: Any) -> dict[str, Any]:
    """The right answers of check_null_reading (its own reference test: 400 permutations, seed 12345)."""
    ref = ctx.ref
    return {"mi_hat": float(ref.estimate), "null_floor": float(ref.null_mean), "p_value": float(ref.p_value),
            "informative": bool(ref.significant)}


def _vector_near(value: Any, want: list[float], atol: float) -> bool:
    if isinstance(value, (str, bytes, Mapping, set)) or value is None:
        return False
    try:
        array = np.asarray(getattr(value, "values", value), dtype=float).ravel()
    except (TypeError, ValueError, OverflowError):
        return False
    return array.shape == (len(want),) and bool(np.all(np.abs(array - want) <= atol))


def graded(call: Callable[[], None], count: bool = True) -> tuple[bool, AnswerError | None]:
    """(True, None) when the check passes, (False, error) for an AnswerError with a message; else it propagates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except AnswerError as err:
            assert str(err).strip(), "an AnswerError without a message"
            if count:
                event("refused")  # --hypothesis-show-statistics shows the mix
            return False, err
    if count:
        event("passed")
    return True, None


def drawn_answers(slot: Slot, ctx: Any) -> st.SearchStrategy:
    """(kind, answer): the right answer, the right one just beyond the tolerance, or junk (half the draws)."""
    right = slot.right(ctx)
    kinds = ["right", "junk", "junk"] + (["beyond", "beyond"] if slot.tol is not None else [])

    @st.composite
    def draw(draw_: st.DrawFn) -> tuple[str, Any]:
        kind = draw_(st.sampled_from(kinds))  # the kind first: hypothesis's own branch choice favours junk
        if kind == "right":
            return kind, right
        if kind == "junk":
            return kind, draw_(slot.junk)
        k = draw_(st.floats(1.5, 50)) * draw_(st.sampled_from([-1.0, 1.0]))
        if slot.answer == "function":
            return kind, lambda *args: shifted(right(*args), k, slot.tol)
        return kind, shifted(right, k, slot.tol)

    return draw()


def judge(slot: Slot, ctx: Any, kind: str, answer: Any, count: bool = True) -> None:
    """A right answer passes; any other passes only where it is right after all; the rest get an AnswerError."""
    passed, err = graded(lambda: slot.call(ctx, answer), count)
    if kind == "right":
        assert passed, f"the right answer failed: {err}"
    elif passed:
        assert kind == "junk" and slot.accepts(ctx, answer), f"{slot.id} passed a wrong answer: {answer!r}"


def listed_junk(slot: Slot) -> list[Any]:
    """Every listed junk value (and, for a function, a function returning it or raising): met by every check."""
    values = SHORT_JUNK if slot.costly else SCALAR_JUNK + CONTAINER_JUNK
    if slot.inside is not None:
        values = values + [slot.inside(v) for v in values]
    if slot.answer != "function":
        return values
    return values + [returning(v) for v in values] + [raising(e) for e in (ValueError, TypeError, KeyError)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("slot", SLOTS, ids=[s.id for s in SLOTS])
def test_a_check_passes_the_right_answer_and_grades_every_other_with_an_answer_error(slot, request):
    ctx = request.getfixturevalue(slot.fixture)
    for answer in listed_junk(slot):  # each listed value once, whatever the draws below pick
        judge(slot, ctx, "junk", answer, count=False)

    @settings(FUZZ, max_examples=slot.examples)
    @given(drawn=drawn_answers(slot, ctx))
    def grade(drawn):
        judge(slot, ctx, *drawn)

    grade()


def test_every_public_check_of_the_course_is_fuzzed():
    """A check added to a lesson module (its ``__all__``) without a slot above fails here."""
    public = {}
    modules = [course] + [importlib.import_module(f"{course.__name__}.{m.name}")
                          for m in pkgutil.iter_modules(course.__path__) if not m.name.startswith("_")]
    for module in modules:
        for name in module.__all__:
            if name.startswith("check_"):
                fn = getattr(module, name)
                public[f"{fn.__module__}.{fn.__name__}"] = f"{module.__name__}.{name}"
    fuzzed = {f"{s.check.__module__}.{s.check.__name__}" for s in SLOTS}
    assert len(public) >= 25
    assert not set(public) - fuzzed, f"no fuzz slot for {sorted(public[k] for k in set(public) - fuzzed)}"


# --------------------------------------------------------------------------------------------------
# regressions: what the fuzz found, kept as plain tests

RAGGED = [[1], [1, 2]]
STEPS_RESULT = xr.Dataset({"significant": (("concept", "time"), [[False, True, True]]),
                           "total": (("concept", "time"), [[0.02, 0.9, 1.0]])},
                          coords={"concept": ["0"], "time": [0, 1, 2]})


def refused(call: Callable[[], None], *fragments: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AnswerError) as info:
            call()
    message = str(info.value)
    assert all(f in message for f in fragments), message
    return message


@pytest.mark.parametrize("call", [
    lambda: course.check_close(HUGE, 0.5, name="H(X)"),
    lambda: ci.check_gaussian_mi(returning(HUGE)),
    lambda: ci.check_null_reading(np.zeros(10, int), np.zeros((10, 1), int), mi_hat=-HUGE, null_floor=0,
                                  p_value=1, informative=False),
    lambda: ar.check_chance_jaccard(returning(HUGE)),
    lambda: ar.check_excess({"x": HUGE}, {"x": None}),
    lambda: ar.check_insignificant_steps({"rnn": [0, HUGE]}, {"rnn": STEPS_RESULT}),
    lambda: rd.check_running(returning(HUGE), [1, 2]),
    lambda: rd.check_above_floor([HUGE, 0.3], xr.Dataset({"total": ("time", [0.5, 0.4]),
                                                            "null_mean": ("time", [0.2, 0.1])},
                                                           coords={"time": [6, 7]}).expand_dims(concept=["1"]), 6),
], ids=["check_close", "information", "null_reading", "chance_jaccard", "excess", "steps", "running", "above_floor"])
def test_an_int_too_large_for_a_float_is_an_answer_error_not_an_overflow_error(call):
    refused(call)


@pytest.mark.parametrize("call", [
    lambda c: ko.check_class_drop(raising(IndexError), c.net, c.X, c.y),
    lambda c: ko.check_expected_p(raising(ZeroDivisionError)),
    lambda c: ar.check_persistence(raising(ValueError)),
    lambda c: ar.check_chance_jaccard(raising(TypeError)),
    lambda c: ar.check_chance_jaccard(lambda a, b, n: ar.chance_jaccard_truth(a, b, n) if a + b else 1 / (a + b)),
    lambda c: rd.check_running(raising(KeyError), [1, 2]),
    lambda c: rd.check_decision_entropy(lambda rec: 0.0, STEPS_RESULT.assign(prediction=("sample", [0, 1]),
                                                                              label=("sample", [0, 1]))),
], ids=["class_drop", "expected_p", "persistence", "chance_jaccard", "chance_jaccard_0_0", "running",
        "decision_entropy"])
def test_a_crashing_student_function_is_an_answer_error_that_names_the_call(call, knockouts_ctx):
    message = refused(lambda: call(knockouts_ctx), " raised ")
    assert message.split("(")[0].split()[-1] in {"class_drop", "expected_p", "persistence", "chance_jaccard",
                                                 "running", "decision_entropy"}, message


@pytest.mark.parametrize("check", [ko.check_expected_p, ar.check_persistence, ar.check_chance_jaccard])
def test_the_unanswered_stub_still_fails_as_not_implemented(check):
    # the blank student version raises NotImplementedError; it must not be graded as a wrong answer
    with pytest.raises(NotImplementedError):
        check(raising(NotImplementedError))


@pytest.mark.parametrize("call", [
    lambda c: ci.check_entropy_bits(returning(RAGGED)),
    lambda c: ci.check_gaussian_mi(returning(RAGGED)),
    lambda c: cr.check_split_choice(c.rec_sat, discretizer="two-means", total=RAGGED),
    lambda c: cr.check_switch_threshold(c.res_and, RAGGED),
    lambda c: ar.check_insignificant_steps({"rnn": RAGGED}, {"rnn": STEPS_RESULT}),
], ids=["entropy_bits", "gaussian_mi", "split_choice", "switch_threshold", "insignificant_steps"])
def test_a_ragged_nested_list_is_an_answer_error_not_a_value_error(call, relays_ctx):
    refused(lambda: call(relays_ctx))


@pytest.mark.parametrize("steps", [["0"], [None], [True], [0.5], [float("nan")], {0}])
def test_insignificant_steps_must_be_whole_numbers(steps):
    refused(lambda: ar.check_insignificant_steps({"rnn": steps}, {"rnn": STEPS_RESULT}), "list of steps")
    ar.check_insignificant_steps({"rnn": [0.0]}, {"rnn": STEPS_RESULT})  # a whole float is a step


def test_a_0d_array_is_one_value(relays_ctx, architectures_ctx):
    c = relays_ctx
    refused(lambda: cr.check_relay_set(np.array(0), c.rec, c.truth), "should be a set of node labels")
    refused(lambda: cr.check_report_relays(returning(np.array("l0.h0")), [c.res_and]), "should be a set")
    ar.check_drifting(np.array("hop"), architectures_ctx.results)  # one name, as a str or an array of them
    refused(lambda: ar.check_drifting(np.array("latch"), architectures_ctx.results))


@pytest.mark.parametrize("answer", ["0.5", b"0.5", True, np.bool_(True), [0.5], np.array([0.5])])
def test_text_booleans_and_one_element_lists_are_not_numbers_in_any_lesson(answer):
    # lessons 2-5 refused them already; check_close and lesson 1 read float("0.5") and float(True) as numbers
    value = 1.0 if isinstance(answer, (bool, np.bool_)) else 0.5
    refused(lambda: course.check_close(answer, value, name="H(X)"), "H(X) should be a number")
    refused(lambda: ci.check_plugin_bias(lambda n, ka, kb: answer, cases=[(1, 1 + 2 * value * math.log(2), 2)]))
    refused(lambda: rd.check_running(returning(answer), [1]))


# --------------------------------------------------------------------------------------------------
# relaywidgets.pretrained: load_pretrained over drawn names


def _near_misses(name: str) -> list[str]:
    return [name.upper(), name.replace("-", "_"), f"{name} ", f" {name}", name[:-1], f"{name}s", name.replace("-", ""),
            name.title(), name.replace("-", " ")]


def _shipped() -> list[str]:
    from relaywidgets.pretrained import pretrained

    return list(pretrained())


SHIPPED = _shipped()
NAMES = st.one_of(
    st.sampled_from(SHIPPED),
    st.sampled_from([m for n in SHIPPED for m in _near_misses(n)]),
    st.text(max_size=20),
    st.sampled_from([None, 0, 1.5, True, b"delayed-cue-rnn", ["delayed-cue-rnn"], ("delayed-cue-rnn",), {"a": 1},
                     Opaque(), Path("delayed-cue-rnn"), np.str_("delayed-cue-rnn"), np.array("delayed-cue-rnn")]),
)


def judge_name(name: Any, count: bool = True) -> None:
    """The shipped network of that name with its data, or an InputError that lists the names (and the near one)."""
    from relaywidgets.pretrained import PretrainedNetwork, load_pretrained, pretrained

    ok, net = outcome(lambda: load_pretrained(name), count)
    if not ok:
        assert isinstance(net, InputError), f"{type(net).__name__} for {name!r}: {net}"
        message = str(net)
        assert all(n in message for n in SHIPPED), message  # the refusal lists what exists
        if isinstance(name, str) and name.lower().replace("_", "-") in SHIPPED:
            assert "Did you mean" in message, message
        return
    assert isinstance(name, str) and name in SHIPPED
    assert isinstance(net, PretrainedNetwork) and net.name == name and net.info == pretrained()[name]
    n_classes = int(net.model.num_classes)
    assert len(net.class_names) == n_classes
    for X, y, lengths in ((net.X_train, net.y_train, net.lengths_train), (net.X_test, net.y_test, net.lengths_test)):
        assert X.shape[0] == y.shape[0] > 0 and 0 <= y.min() and y.max() < n_classes
        assert lengths is None or (lengths.shape == y.shape and 1 <= lengths.min() and lengths.max() <= X.shape[1])


@pytest.mark.timeout(60)
def test_every_shipped_name_loads_and_its_near_misses_are_refused():
    for name in SHIPPED:
        judge_name(name, count=False)
        for near in _near_misses(name):
            judge_name(near, count=False)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=40)
@given(name=NAMES)
def test_load_pretrained_gives_the_named_network_or_says_why(name):
    judge_name(name)
