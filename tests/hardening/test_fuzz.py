"""Fuzz suite (issue 14, deliverable 5): property-based tests over the public entry points.

Every case draws inputs (shapes, dtypes, NaN/inf, out-of-range values, wrong types, bad seeds) and checks that
the outcome is either a correct result (checked where that is cheap) or a ``RelaywidgetsError`` subclass with a
message; a raw numpy/torch/xarray error fails the test, and each case runs under a timeout so a hang fails too.
The examples are derandomized (the same ones on every run and in CI) and few, so the file runs in well under a
minute on two cores.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import relaywidgets as rw
from relaywidgets import RelaywidgetsError, check_recording
from relaywidgets.info import entropy, mutual_information
from relaywidgets.relay import find_relays, relays_at

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# values a user might pass where a number or a name is expected
JUNK = st.sampled_from([None, True, False, -1, 0, 1, 2, 10**12, -0.5, 0.5, 1.5, float("nan"), float("inf"),
                        "", "1", "zero", "bogus", [], [0], [1.5], (0, 0), {"a": 1}, b"x", object()])
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


def mostly(valid: st.SearchStrategy, junk: st.SearchStrategy = JUNK) -> st.SearchStrategy:
    """Valid values three times in four, so that the cases reach past the argument checks."""
    return st.one_of(valid, valid, valid, junk)


def arguments(valid: dict[str, st.SearchStrategy], junk: dict[str, st.SearchStrategy] | None = None,
              max_bad: int = 2) -> st.SearchStrategy:
    """Keyword arguments: each drawn from ``valid`` except up to ``max_bad`` of them, drawn from junk.

    Breaking a few arguments at a time (instead of each with some probability) keeps most examples past the
    argument checks, into the computation, while every argument still meets junk alone and in pairs.
    """
    junk = junk or {}

    @st.composite
    def draw(draw_: st.DrawFn) -> dict:
        bad = draw_(st.sets(st.sampled_from(sorted(valid)), max_size=max_bad))
        return {k: draw_(junk.get(k, JUNK) if k in bad else v) for k, v in valid.items()}

    return draw()


def outcome(call: Callable[[], Any], count: bool = True) -> tuple[bool, Any]:
    """(True, result) or (False, error) for a RelaywidgetsError with a message; anything else propagates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = call()
        except RelaywidgetsError as err:
            assert str(err).strip(), f"{type(err).__name__} without a message"
            if count:
                event(f"refused: {type(err).__name__}")  # --hypothesis-show-statistics shows the mix
            return False, err
    if count:
        event("result")
    return True, result


def small_recording(seed: int, n_node: int, n_time: int, n_sample: int, n_class: int, ragged: bool) -> Any:
    rng = np.random.default_rng(seed)
    hidden = rng.normal(size=(n_node, n_time, n_sample)).astype(np.float32)
    prediction = rng.integers(0, n_class, n_sample)
    lengths = rng.integers(1, n_time + 1, n_sample) if ragged else None
    return rw.recording_from_arrays(hidden, prediction, lengths=lengths, num_classes=max(n_class, 2))


@pytest.fixture(scope="module")
def model_and_data():
    import torch

    torch.set_num_threads(1)
    X, y = rw.make_task("delayed-cue", 24, 5, seed=0)
    return rw.RecurrentClassifier("gru", X.shape[2], 3, int(y.max()) + 1, device="cpu", seed=0), X, y


@pytest.fixture(scope="module")
def relay_result():
    return outcome(lambda: find_relays(small_recording(0, 3, 3, 40, 2, True), n_perm=0, progress=False), count=False)[1]


# --------------------------------------------------------------------------------------------------
# recording_from_arrays and check_recording

ARRAYS = st.builds(
    lambda shape, dtype, seed, poison: _array(shape, dtype, seed, poison),
    st.lists(st.integers(0, 4), min_size=0, max_size=4),
    st.sampled_from(["float32", "float64", "int64", "int8", "bool", "complex64", "object", "U1"]),
    st.integers(0, 2**16),
    st.sampled_from([None, np.nan, np.inf, -np.inf]),
)


def _array(shape: list[int], dtype: str, seed: int, poison: float | None) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=shape) * 3
    if poison is not None and values.size:
        values.flat[seed % values.size] = poison
    if dtype == "U1":
        return values.astype(str).astype("U1")
    if np.dtype(dtype).kind in "iub":
        return np.nan_to_num(values, posinf=7, neginf=-7).astype(dtype)
    return values.astype(dtype)


@pytest.mark.timeout(60)
@FUZZ
@given(
    shape=st.tuples(mostly(st.integers(1, 3), st.just(0)), mostly(st.integers(1, 4), st.just(0)),
                    mostly(st.integers(1, 6), st.just(0))),
    seed=st.integers(0, 2**16),
    hidden=mostly(st.sampled_from(["float32", "float64", "int64", "nan", "inf"]), ARRAYS),
    prediction=mostly(st.sampled_from(["classes", "negative", "float"]), ARRAYS),
    lengths=st.none() | mostly(st.sampled_from(["valid", "zero", "too long", "float"]), ARRAYS),
)
def test_recording_from_arrays_builds_a_valid_recording_or_says_why(shape, seed, hidden, prediction, lengths):
    rng = np.random.default_rng(seed)
    n_node, n_time, n_sample = shape
    if type(hidden) is str:  # a named case (a 0-d numpy string array is junk, not a name)
        values = rng.normal(size=shape)
        if hidden in ("nan", "inf") and values.size:
            values.flat[seed % values.size] = np.nan if hidden == "nan" else np.inf
        hidden = values.astype(np.float32 if hidden != "float64" else np.float64)
        if hidden.size == 0 and seed % 2:
            hidden = hidden.astype(np.int64)
    if type(prediction) is str:  # a named case (a 0-d numpy string array is junk, not a name)
        prediction = {"classes": rng.integers(0, 3, n_sample), "negative": -rng.integers(1, 3, n_sample),
                      "float": rng.normal(size=n_sample)}[prediction]
    if type(lengths) is str:  # a named case (a 0-d numpy string array is junk, not a name)
        lengths = {"valid": rng.integers(1, max(n_time, 1) + 1, n_sample), "zero": np.zeros(n_sample, int),
                   "too long": np.full(n_sample, n_time + 1), "float": np.full(n_sample, 1.5)}[lengths]
    ok, rec = outcome(lambda: rw.recording_from_arrays(hidden, prediction, lengths=lengths))
    if ok:
        assert check_recording(rec) is rec
        assert rec.sizes["sample"] == np.asarray(prediction).size


MUTATIONS = {
    "drop hidden": lambda r: r.drop_vars("hidden"),
    "hidden float64": lambda r: r.assign(hidden=r["hidden"].astype(np.float64)),
    "transposed": lambda r: r.assign(hidden=r["hidden"].transpose("sample", "time", "node")),
    "float length": lambda r: r.assign(length=r["length"].astype(float)),
    "zero length": lambda r: r.assign(length=r["length"] * 0),
    "long length": lambda r: r.assign(length=r["length"] + 100),
    "negative prediction": lambda r: r.assign(prediction=r["prediction"] - 5),
    "prediction out of range": lambda r: r.assign(prediction=r["prediction"] + 50),
    "no samples": lambda r: r.isel(sample=slice(0, 0)),
    "no steps": lambda r: r.isel(time=slice(0, 0)),
    "no nodes": lambda r: r.isel(node=slice(0, 0)),
    "duplicated node": lambda r: r.isel(node=[0, 0]),
    "shifted time": lambda r: r.assign_coords(time=r["time"] + 3),
    "duplicated time": lambda r: r.assign_coords(time=np.zeros(r.sizes["time"], dtype=int)),
    "text time": lambda r: r.assign_coords(time=[str(t) for t in r["time"].values]),
    "subset of steps": lambda r: r.isel(time=slice(1, None)),
    "wrong format": lambda r: r.assign_attrs(relaywidgets_format="recording/99"),
    "bad num_classes": lambda r: r.assign_attrs(num_classes=99),
    "nan hidden": lambda r: r.assign(hidden=r["hidden"].where(r["hidden"] > 0)),
    "not a dataset": lambda r: r["hidden"],
    "drop node coord": lambda r: r.drop_vars("node"),
    "drop layer": lambda r: r.drop_vars("layer"),
}


@pytest.mark.timeout(60)
@FUZZ
@given(mutation=st.sampled_from(sorted(MUTATIONS)), seed=st.integers(0, 1000), ragged=st.booleans())
def test_check_recording_and_find_relays_on_mutated_recordings(mutation, seed, ragged):
    rec = small_recording(seed, 2, 3, 12, 2, ragged)
    mutated = MUTATIONS[mutation](rec)
    ok, checked = outcome(lambda: check_recording(mutated))
    if not ok:
        # what the contract refuses, the analysis refuses too (with the package's error, not a raw one)
        ok_relays, _ = outcome(lambda: find_relays(mutated, n_perm=0, progress=False))
        assert not ok_relays
        return
    ok, result = outcome(lambda: find_relays(checked, n_perm=0, progress=False))
    if ok:
        total = result["total"].values
        assert np.all(np.isnan(total) | ((total >= -1e-9) & (total <= 1 + 1e-9)))  # two classes: at most 1 bit


# --------------------------------------------------------------------------------------------------
# find_relays and relays_at


@pytest.mark.timeout(60)
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    n_node=st.integers(1, 4),
    n_time=st.integers(1, 3),
    n_sample=st.integers(1, 30),
    n_class=st.integers(1, 3),
    ragged=st.booleans(),
    threshold=mostly(st.floats(0, 1) | FLOATS),
    n_perm=mostly(st.integers(-1, 6)),
    estimator=st.sampled_from(["plugin", "miller-madow", "gcmi", "bogus", 3, None]),
    discretizer=st.sampled_from(["two-means", "median", "bogus", None, 0]),
    times=mostly(st.none() | st.lists(st.integers(-1, 4), max_size=3)),
    nodes=mostly(st.none() | st.lists(st.integers(-1, 4) | st.sampled_from(["l0.h0", "l0.h9", "x"]), max_size=3)),
)
def test_find_relays_gives_bounded_relay_information_or_says_why(
    seed, n_node, n_time, n_sample, n_class, ragged, threshold, n_perm, estimator, discretizer, times, nodes
):
    rec = small_recording(seed, n_node, n_time, n_sample, n_class, ragged)
    ok, result = outcome(
        lambda: find_relays(
            rec, threshold=threshold, n_perm=n_perm, estimator=estimator, discretizer=discretizer, times=times,
            nodes=nodes, seed=seed, progress=False,
        )
    )
    if ok:
        assert result["is_relay"].dtype == bool
        total = result["total"].values
        bits = np.log2(max(n_class, 2))
        if estimator == "plugin":  # plug-in relay information of the full set lies in 0 .. H(O)
            assert np.all(np.isnan(total) | ((total >= -1e-9) & (total <= bits + 1e-9)))


@pytest.mark.timeout(60)
@FUZZ
@given(threshold=st.none() | FLOATS | JUNK, rule=st.none() | st.sampled_from(["fraction", "bogus", "", 1]) | JUNK)
def test_relays_at_rederives_boolean_sets_or_says_why(relay_result, threshold, rule):
    ok, out = outcome(lambda: relays_at(relay_result, threshold, rule=rule))
    if ok:
        assert out["is_relay"].dtype == bool
        assert out["is_relay"].shape == relay_result["is_relay"].shape


# --------------------------------------------------------------------------------------------------
# information measures


@pytest.mark.timeout(60)
@FUZZ
@given(a=ARRAYS, b=ARRAYS, estimator=st.sampled_from(["plugin", "miller-madow", "gcmi", "bogus"]))
def test_mutual_information_and_entropy_are_bounded_or_say_why(a, b, estimator):
    ok_ha, ha = outcome(lambda: entropy(a, estimator="plugin"))
    ok_hb, hb = outcome(lambda: entropy(b, estimator="plugin"))
    ok_i, i_ab = outcome(lambda: mutual_information(a, b, estimator=estimator))
    for ok, h in ((ok_ha, ha), (ok_hb, hb)):
        if ok:
            assert np.isfinite(h) and h >= -1e-9
    if ok_i and estimator == "plugin":
        assert np.isfinite(i_ab) and i_ab >= -1e-9
        if ok_ha and ok_hb:  # plug-in MI of discrete data: 0 <= I <= min(H(a), H(b))
            assert i_ab <= min(ha, hb) + 1e-9


@pytest.mark.timeout(60)
@FUZZ
@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), k=st.integers(1, 6))
def test_plugin_mutual_information_of_discrete_data_lies_between_0_and_the_entropies(seed, n, k):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(0, 2, n)) % k
    ok, i_ab = outcome(lambda: mutual_information(a, b))
    if ok:
        bound = min(outcome(lambda: entropy(a))[1], outcome(lambda: entropy(b))[1])
        assert -1e-9 <= i_ab <= bound + 1e-9


# --------------------------------------------------------------------------------------------------
# make_task and Knockout


@pytest.mark.timeout(60)
@FUZZ
@given(
    name=mostly(st.sampled_from(["delayed-cue", "temporal-xor", "frequency", "cue-hold", "bogus", ""])),
    n_samples=mostly(st.integers(-1, 30)),
    seq_len=mostly(st.integers(0, 12)),
    n_classes=mostly(st.none() | st.integers(0, 5)),
    noise=mostly(st.none() | st.floats(0, 2) | FLOATS),
    seed=mostly(st.integers(-1, 2**31)),
)
def test_make_task_gives_consistent_arrays_or_says_why(name, n_samples, seq_len, n_classes, noise, seed):
    ok, out = outcome(lambda: rw.make_task(name, n_samples, seq_len, n_classes=n_classes, noise=noise, seed=seed))
    if ok:
        X, y = out
        assert X.ndim == 3 and X.shape[:2] == (n_samples, seq_len) and y.shape == (n_samples,)
        assert np.isfinite(X).all() and np.issubdtype(y.dtype, np.integer) and (y >= 0).all()


@pytest.mark.timeout(60)
@FUZZ
@given(
    nodes=JUNK | st.lists(st.integers(-1, 4) | st.sampled_from(["l0.h0", "l0.h2", "l1.h0", "x"]), max_size=3),
    layer=st.none() | st.integers(-1, 2) | JUNK,
    times=st.none() | JUNK | st.lists(st.integers(-2, 6) | JUNK, max_size=3),
    value=st.sampled_from(["zero", "mean", "bogus"]) | FLOATS | JUNK,
    clamp_cell=st.booleans() | JUNK,
)
def test_knockout_runs_or_says_why(model_and_data, nodes, layer, times, value, clamp_cell):
    model, X, y = model_and_data
    ok, ko = outcome(lambda: rw.Knockout(nodes, layer=layer, times=times, value=value, clamp_cell=clamp_cell))
    if not ok:
        return
    ok, scores = outcome(lambda: rw.knockout.evaluate(model, X, y, knockout=ko, device="cpu"))
    if ok:
        assert 0.0 <= float(scores["accuracy"]) <= 1.0


# --------------------------------------------------------------------------------------------------
# valid inputs only: the results themselves are checked on every example


@pytest.mark.timeout(60)
@FUZZ
@given(
    name=st.sampled_from(["delayed-cue", "temporal-xor", "frequency", "cue-hold"]),
    n_samples=st.integers(1, 30),
    seq_len=st.integers(1, 12),
    n_classes=st.none() | st.integers(2, 5),
    noise=st.none() | st.floats(0, 2),
    seed=st.integers(0, 2**31),
)
def test_make_task_with_valid_arguments(name, n_samples, seq_len, n_classes, noise, seed):
    ok, out = outcome(lambda: rw.make_task(name, n_samples, seq_len, n_classes=n_classes, noise=noise, seed=seed))
    if ok:  # refusals left: a task's own needs (e.g. frequency: seq_len >= 8; temporal-xor: 2 classes)
        X, y = out
        assert X.shape[:2] == (n_samples, seq_len) and y.shape == (n_samples,) and np.isfinite(X).all()
        assert (y >= 0).all() and (n_classes is None or (y < n_classes).all())
        again = rw.make_task(name, n_samples, seq_len, n_classes=n_classes, noise=noise, seed=seed)
        np.testing.assert_array_equal(again[0], X)  # the same seed gives the same data


@pytest.mark.timeout(60)
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    n_node=st.integers(1, 4),
    n_time=st.integers(1, 3),
    n_sample=st.integers(2, 40),
    n_class=st.integers(2, 3),
    ragged=st.booleans(),
    threshold=st.floats(0, 1),
    discretizer=st.sampled_from(["two-means", "median"]),
)
def test_find_relays_with_valid_arguments(seed, n_node, n_time, n_sample, n_class, ragged, threshold, discretizer):
    rec = small_recording(seed, n_node, n_time, n_sample, n_class, ragged)
    ok, result = outcome(
        lambda: find_relays(rec, threshold=threshold, n_perm=0, discretizer=discretizer, seed=seed, progress=False)
    )
    assert ok, result  # a valid recording and valid parameters always give a result
    total = result["total"].values
    assert np.all(np.isnan(total) | ((total >= -1e-9) & (total <= np.log2(n_class) + 1e-9)))
    assert result["is_relay"].dtype == bool


# --------------------------------------------------------------------------------------------------
# what the fuzzing found, kept as explicit cases


@pytest.mark.parametrize("argument", ["times", "nodes"])
def test_find_relays_refuses_a_bool_for_times_or_nodes(argument):
    # was: TypeError: 'bool' object is not iterable
    with pytest.raises(rw.InputError, match=rf"The '{argument}' parameter of find_relays takes"):
        find_relays(small_recording(0, 2, 2, 10, 2, False), n_perm=0, progress=False, **{argument: True})


def test_information_of_an_empty_many_dimensional_array_is_not_a_raw_reshape_error():
    # was: ValueError: cannot reshape array of size 0 into shape (0,newaxis)
    ok, _ = outcome(lambda: entropy(np.zeros((0, 2, 2))), count=False)
    assert not ok


@pytest.mark.parametrize(
    "kwargs", [{"name": []}, {"n_samples": 10**12}, {"seq_len": 10**12}], ids=["list-name", "huge-n", "huge-T"]
)
def test_make_task_refuses_unhashable_names_and_impossible_sizes(kwargs):
    # were: TypeError: unhashable type: 'list'; numpy MemoryError / "array is too big"
    args = {"name": "delayed-cue", "n_samples": 4, "seq_len": 5} | kwargs
    with pytest.raises(rw.InputError, match="Unknown task|would need about"):
        rw.make_task(args.pop("name"), **args)
