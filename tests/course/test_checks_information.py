"""Answer checks of lesson 01_information: right answers pass; each common mistake fails with its hint."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from relaywidgets.course import AnswerError
from relaywidgets.course import information as ci
from relaywidgets.info import UndersamplingWarning, entropy, mutual_information, permutation_test

LN2 = math.log(2.0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        yield


def _fails_with(call, hint_key: str | None, *fragments: str) -> str:
    with pytest.raises(AnswerError) as info:
        call()
    message = str(info.value)
    if hint_key is not None:
        assert ci.HINTS[hint_key] in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_answer_error_is_an_assertion_error():
    """nbgrader scores a cell that raises AssertionError as failed, like a failed assert."""
    assert issubclass(AnswerError, AssertionError)


# --- entropy_bits ---------------------------------------------------------------------------------------------


def good_entropy_bits(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_entropy_bits_right_answer_passes():
    ci.check_entropy_bits(good_entropy_bits)
    ci.check_entropy_bits(lambda p: entropy(np.repeat(np.arange(len(p)), np.round(np.asarray(p) * 8).astype(int))),
                          cases=[[0.5, 0.5], [0.25] * 4])


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda p: good_entropy_bits(p) * LN2, "nats"),
        (lambda p: -good_entropy_bits(p), "sign"),
        (lambda p: float(-(np.asarray(p) * np.log2(np.asarray(p))).sum()), "zero"),
        (lambda p: -(np.asarray(p)[np.asarray(p) > 0] * np.log2(np.asarray(p)[np.asarray(p) > 0])), "not_summed"),
    ],
    ids=["natural-log", "no-minus-sign", "0log0-nan", "one-term-per-state"],
)
def test_entropy_bits_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_entropy_bits(wrong), key)


def test_entropy_bits_crash_names_the_input_and_the_stub_passes_through():
    message = "entropy_bits([0.5, 0.5]) raised AttributeError"
    _fails_with(lambda: ci.check_entropy_bits(lambda p: p.sum()), None, message)

    def stub(p):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        ci.check_entropy_bits(stub)
    _fails_with(lambda: ci.check_entropy_bits(3.0), None, "should be a function")


# --- plugin_entropy -------------------------------------------------------------------------------------------


def test_plugin_entropy_right_answers_pass():
    ci.check_plugin_entropy(lambda s: entropy(s))

    def by_hand(s):
        _, counts = np.unique(s, return_counts=True)
        return good_entropy_bits(counts / counts.sum())

    ci.check_plugin_entropy(by_hand)


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda s: float(np.log2(np.unique(s).size)), "uniform"),
        (lambda s: entropy(s) * LN2, "nats"),
        (lambda s: good_entropy_bits(np.bincount(s) / np.bincount(s).size), "frequencies"),
    ],
    ids=["log2-of-states", "natural-log", "divided-by-states"],
)
def test_plugin_entropy_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_plugin_entropy(wrong), key)


# --- gaussian_mi ----------------------------------------------------------------------------------------------


def test_gaussian_mi_right_answer_passes():
    ci.check_gaussian_mi(lambda r: -0.5 * np.log2(1 - r**2))
    ci.check_gaussian_mi(lambda r: math.log2(1 / math.sqrt(1 - r * r)))


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda r: -0.5 * np.log(1 - r**2), "nats"),
        (lambda r: -np.log2(1 - r**2), "gauss_half"),
        (lambda r: -0.5 * np.log2(1 - r), "gauss_rho"),
        (lambda r: 0.5 * np.log2(1 - r**2), "sign"),
    ],
    ids=["natural-log", "no-half", "rho-not-squared", "sign"],
)
def test_gaussian_mi_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_gaussian_mi(wrong), key)


def test_gaussian_mi_agrees_with_the_package_estimator_on_a_large_sample():
    """The check's truth is the analytic formula; the package's GCMI estimate converges to it."""
    rng = np.random.default_rng(0)
    xy = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=20000)
    assert mutual_information(xy[:, 0], xy[:, 1], estimator="gcmi") == pytest.approx(-0.5 * np.log2(1 - 0.36), abs=0.02)


# --- expected_plugin_bias -------------------------------------------------------------------------------------


def test_plugin_bias_right_answer_passes():
    ci.check_plugin_bias(lambda n, ka, kb: (ka - 1) * (kb - 1) / (2 * n * np.log(2)))


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda n, ka, kb: (ka - 1) * (kb - 1) / (2 * n), "nats"),
        (lambda n, ka, kb: (ka - 1) * (kb - 1) / (n * np.log(2)), "bias_half"),
        (lambda n, ka, kb: ka * kb / (2 * n * np.log(2)), "bias_states"),
    ],
    ids=["nats", "no-half", "states-not-dof"],
)
def test_plugin_bias_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_plugin_bias(wrong), key)


def test_plugin_bias_formula_matches_simulation_at_moderate_n():
    """The truth the check uses is the real first-order bias: simulated plug-in MI of independent data."""
    rng = np.random.default_rng(1)
    sims = [mutual_information(rng.integers(0, 2, 1600), rng.integers(0, 2, (1600, 4))) for _ in range(200)]
    assert np.mean(sims) == pytest.approx(15 / (2 * 1600 * LN2), rel=0.15)


# --- miller_madow_entropy -------------------------------------------------------------------------------------


def _mm(s):
    s = np.asarray(s)
    return entropy(s) + (np.unique(s).size - 1) / (2 * s.size * LN2)


def test_miller_madow_right_answer_passes():
    ci.check_miller_madow(_mm)
    ci.check_miller_madow(lambda s: entropy(s, estimator="miller-madow"))


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda s: entropy(s), "mm_plugin"),
        (lambda s: entropy(s) + (np.unique(s).size - 1) / (2 * np.asarray(s).size), "mm_nats"),
        (lambda s: entropy(s) - (np.unique(s).size - 1) / (2 * np.asarray(s).size * LN2), "mm_sign"),
        (lambda s: entropy(s) + int(np.max(s)) / (2 * np.asarray(s).size * LN2), "mm_states"),
    ],
    ids=["no-correction", "nats", "subtracted", "alphabet-not-observed"],
)
def test_miller_madow_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_miller_madow(wrong), key)


# --- reading an estimate against its null ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def null_data():
    rng = np.random.default_rng(42)
    z = rng.integers(0, 2, size=(100, 6))
    o = rng.integers(0, 2, size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        res = permutation_test("mutual_information", o, z, n_perm=200, seed=0)
    return o, z, res


def test_null_reading_right_answer_passes(null_data):
    o, z, res = null_data
    ci.check_null_reading(o, z, mi_hat=res.estimate, null_floor=res.null_mean, p_value=res.p_value,
                          informative=res.significant)
    # another seed and number of permutations is just as right
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        other = permutation_test("mutual_information", o, z, n_perm=500, seed=7)
    ci.check_null_reading(o, z, mi_hat=other.estimate, null_floor=other.null_mean, p_value=other.p_value,
                          informative=bool(other.significant))


def test_null_reading_mistakes_fail_with_their_hint(null_data):
    o, z, res = null_data
    right = {"mi_hat": res.estimate, "null_floor": res.null_mean, "p_value": res.p_value, "informative": False}
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "informative": True}), "forgot_null")
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "null_floor": 0.0}), "null_zero")
    mm = mutual_information(o, z, estimator="miller-madow")
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "mi_hat": mm}), "estimator")
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "mi_hat": res.estimate * LN2}), "nats")
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "informative": "no"}), "bool")
    _fails_with(lambda: ci.check_null_reading(o, z, **{**right, "p_value": 0.01}), None, "p_value is 0.010")


def test_null_reading_on_informative_data_flags_the_reversed_p_value():
    rng = np.random.default_rng(3)
    z = rng.integers(0, 2, size=(100, 6))
    o = z[:, 0] ^ (rng.random(100) < 0.1)
    res = permutation_test("mutual_information", o, z, n_perm=200, seed=0)
    assert res.significant
    ci.check_null_reading(o, z, mi_hat=res.estimate, null_floor=res.null_mean, p_value=res.p_value, informative=True)
    _fails_with(
        lambda: ci.check_null_reading(
            o, z, mi_hat=res.estimate, null_floor=res.null_mean, p_value=res.p_value, informative=False
        ),
        "p_direction",
    )


# --- is_informative -------------------------------------------------------------------------------------------


def _by_permutation(o, z):
    return bool(permutation_test("mutual_information", o, z, n_perm=200, seed=0).significant)


def test_is_informative_right_answer_passes_visible_and_hidden_cases():
    ci.check_is_informative(_by_permutation)
    ci.check_is_informative(_by_permutation, hidden=True)
    # the verdict does not hang on the seed: the cases are far from the 5 % line
    ci.check_is_informative(lambda o, z: permutation_test("mutual_information", o, z, n_perm=100, seed=3).p_value
                            < 0.05, hidden=True)


def test_informative_cases_are_what_they_say():
    for name, o, z, truth in ci.informative_cases():
        res = permutation_test("mutual_information", o, z, n_perm=400, seed=11)
        assert res.estimate > 0.1, name  # the plug-in estimate alone would mislead on the independent ones
        assert (res.p_value < 0.01) if truth else (res.p_value > 0.3), (name, res.p_value)


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda o, z: mutual_information(o, z) > 0.05, "forgot_null"),
        (lambda o, z: bool(permutation_test("mutual_information", o, z, n_perm=100).p_value > 0.05), "p_direction"),
        (lambda o, z: float(permutation_test("mutual_information", o, z, n_perm=100).p_value), "bool"),
    ],
    ids=["estimate-without-null", "p-reversed", "returns-p-value"],
)
def test_is_informative_mistakes_fail_with_their_hint(wrong, key):
    _fails_with(lambda: ci.check_is_informative(wrong), key)


def test_every_hint_is_exercised():
    """Each hint in HINTS is asserted by at least one test above (keeps HINTS and the tests in step)."""
    source = Path(__file__).read_text()
    unused = [key for key in ci.HINTS if f'"{key}"' not in source]
    assert not unused, unused
