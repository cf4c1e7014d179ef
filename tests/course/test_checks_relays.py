"""Answer checks of lesson 02_relays: right answers pass; each common mistake fails with its hint."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from relaywidgets.course import AnswerError
from relaywidgets.course import relays as cr
from relaywidgets.info import UndersamplingWarning, conditional_entropy, entropy, mutual_information
from relaywidgets.relay import find_relays, relay_information, relays_at
from relaywidgets.testing import make_recording, planted_relay

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
        assert cr.HINTS[hint_key] in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def planted_and():
    return planted_relay("and", n_nodes=6, n_samples=4000, seed=0)


@pytest.fixture(scope="module")
def res_and(planted_and):
    return find_relays(planted_and[0], concepts=[1], n_perm=100, seed=0, progress=False)


@pytest.fixture(scope="module")
def res_ind():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        rec, _ = planted_relay("independent", n_nodes=6, n_samples=200, seed=1)
        return find_relays(rec, concepts=[1], n_perm=100, seed=0, progress=False)


# --- relay_info by hand ---------------------------------------------------------------------------------------


def relay_info(codes, output, nodes):
    rest = [j for j in range(codes.shape[1]) if j not in nodes]
    return conditional_entropy(output, codes[:, rest]) - conditional_entropy(output, codes)


def test_relay_info_right_answer_passes(planted_and):
    rec, _ = planted_and
    cr.check_relay_info(relay_info, rec)
    cr.check_relay_info(relay_info, planted_relay("xor", n_nodes=5, n_samples=3000, seed=3)[0],
                        node_sets=[[0], [1], [2, 3], [0, 4]])


def test_relay_info_truth_is_the_method_notes_number(planted_and):
    """METHOD.md: for the AND, I_R({a}) = 0.5 bit and I_R(N) = H(O) = 0.81 bit; the check's truth agrees."""
    rec, _ = planted_and
    codes = cr.node_codes(rec)
    out = (rec.prediction.values == 1).astype(int)
    assert relay_info(codes, out, [0]) == pytest.approx(0.5, abs=0.03)
    assert relay_info(codes, out, list(range(6))) == pytest.approx(entropy(out), abs=1e-9)
    assert relay_info(codes, out, [0]) == pytest.approx(relay_information(rec, ["l0.h0"], time=0, concept=1))


@pytest.mark.parametrize(
    "wrong, key",
    [
        (lambda codes, out, nodes: mutual_information(out, codes[:, nodes]), "marginal"),
        (lambda codes, out, nodes: conditional_entropy(out, codes[:, nodes]) - conditional_entropy(out, codes),
         "complement"),
        (lambda codes, out, nodes: -relay_info(codes, out, nodes), "sign"),
        (lambda codes, out, nodes: relay_info(codes, out, nodes) * LN2, "nats"),
    ],
    ids=["marginal-information", "conditioned-on-R", "sign", "natural-log"],
)
def test_relay_info_mistakes_fail_with_their_hint(planted_and, wrong, key):
    _fails_with(lambda: cr.check_relay_info(wrong, planted_and[0]), key)


def test_relay_info_crash_says_on_which_input(planted_and):
    def broken(codes, output, nodes):
        return codes[:, nodes[5]]

    message = "relay_info(codes, output, [0]) raised IndexError"
    _fails_with(lambda: cr.check_relay_info(broken, planted_and[0]), None, message)


# --- the split ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rec_sat():
    rng = np.random.default_rng(3)
    n = 2000
    cls = (rng.random(n) < 0.2).astype(int)
    hidden = np.empty((4, 1, n))
    hidden[0, 0] = 0.9 * (2 * cls - 1) + rng.normal(0, 0.05, n)
    hidden[1:, 0] = np.tanh(rng.normal(0, 1, (3, n)))
    return make_recording(hidden, cls, num_classes=2)


def _total(rec, name):
    return relay_information(rec, list(rec.node.values), time=0, concept=1, discretizer=name)


@pytest.mark.parametrize("name", ["two-means", "mean", "zero"])
def test_split_right_answers_pass(rec_sat, name):
    cr.check_split_choice(rec_sat, discretizer=name, total=_total(rec_sat, name))


def test_median_split_fails_with_the_saturated_unit_hint(rec_sat):
    _fails_with(lambda: cr.check_split_choice(rec_sat, discretizer="median", total=_total(rec_sat, "median")), "median")


def test_split_other_mistakes(rec_sat):
    _fails_with(lambda: cr.check_split_choice(rec_sat, discretizer="two-means", total=entropy(rec_sat.prediction.values)
                                              * 0.5), "api_total")
    _fails_with(
        lambda: cr.check_split_choice(rec_sat, discretizer="k-means", total=0.75), None, "discretizer should be"
    )
    _fails_with(lambda: cr.check_split_choice(rec_sat, discretizer="two-means", total="0.75"), None, "one number")
    # a split that loses information for another reason gets the general hint
    rng = np.random.default_rng(0)
    cls = rng.integers(0, 3, 3000)  # three levels in one unit: no binary split keeps them apart
    rec3 = make_recording(np.stack([cls - 1.0, rng.normal(size=3000)])[:, None, :], (cls == 1).astype(int))
    _fails_with(lambda: cr.check_split_choice(rec3, discretizer="two-means", total=_total(rec3, "two-means")),
                "last_step")


# --- relay sets against planted truths ------------------------------------------------------------------------


def _found(res):
    return {str(u) for u in res.node.values[res.is_relay.sel(concept="1", time=0).values]}


def test_relay_set_right_answers_pass(planted_and, res_and):
    rec, truth = planted_and
    assert _found(res_and) == {"l0.h0", "l0.h1"}
    cr.check_relay_set(_found(res_and), rec, truth)
    cr.check_relay_set([0, 1], rec, truth)  # positions are accepted
    cr.check_relay_set(np.array(["l0.h1", "l0.h0"]), rec, truth)


@pytest.mark.parametrize(
    "answer, key",
    [
        ({"l0.h0"}, "one_of_and"),
        ({f"l0.h{i}" for i in range(6)}, "every_node"),
        ({"l0.h0", "l0.h1", "l0.h3"}, "noise"),
        (set(), "empty"),
        ("l0.h0", "labels"),
        ({"h0"}, "labels"),
    ],
    ids=["one-input", "every-node", "with-noise", "empty", "a-string", "unknown-label"],
)
def test_relay_set_mistakes_fail_with_their_hint(planted_and, answer, key):
    rec, truth = planted_and
    _fails_with(lambda: cr.check_relay_set(answer, rec, truth, name="relays_and"), key, "relays_and")


def test_xor_relays(planted_and):
    rec, truth = planted_relay("xor", n_nodes=6, n_samples=4000, seed=0)
    res = find_relays(rec, concepts=[1], n_perm=20, seed=0, progress=False)
    found = _found(res)
    assert len(found) == 1 and found <= {"l0.h0", "l0.h1"}  # METHOD.md: the search keeps one of the pair
    cr.check_xor_relays(found, rec, truth)
    cr.check_xor_relays({"l0.h1"}, rec, truth)
    _fails_with(lambda: cr.check_xor_relays({"l0.h0", "l0.h1"}, rec, truth), "xor_both")
    _fails_with(lambda: cr.check_xor_relays({"l0.h4"}, rec, truth), "xor_not_input")
    _fails_with(lambda: cr.check_xor_relays(set(), rec, truth), "empty")


# --- reporting with significance ------------------------------------------------------------------------------


def report_relays(result, concept, time):
    sel = result.sel(concept=str(concept), time=time)
    return _labels(result, sel) if bool(sel.significant) else set()


def _labels(result, sel):
    return {str(u) for u in result.node.values[sel.is_relay.values]}


def test_report_relays_right_answer_passes(res_and, res_ind):
    assert bool(res_and.significant.item()) and not bool(res_ind.significant.item())
    assert _found(res_ind)  # the search did return a set on pure noise: that is the trap
    cr.check_report_relays(report_relays, [res_and, res_ind])
    cr.check_report_relays(lambda r, c, t: sorted(report_relays(r, c, t)), [res_and, res_ind])  # a list is fine


def test_report_relays_mistakes_fail_with_their_hint(res_and, res_ind):
    def no_null(result, concept, time):
        return _labels(result, result.sel(concept=str(concept), time=time))

    _fails_with(lambda: cr.check_report_relays(no_null, [res_and, res_ind]), "forgot_null", "not significant")
    _fails_with(lambda: cr.check_report_relays(lambda r, c, t: set(), [res_and, res_ind]), "dropped_significant")

    def reversed_test(result, concept, time):
        sel = result.sel(concept=str(concept), time=time)
        return set() if bool(sel.significant) else _labels(result, sel)

    _fails_with(lambda: cr.check_report_relays(reversed_test, [res_and, res_ind]), "dropped_significant")
    _fails_with(lambda: cr.check_report_relays(lambda r, c, t: bool(r.significant.item()), [res_and]), "return_set")
    _fails_with(lambda: cr.check_report_relays(lambda r, c, t: None, [res_and]), "return_set")


# --- the threshold --------------------------------------------------------------------------------------------


def test_switch_threshold_right_answer_passes(res_and):
    theta = cr.switch_point(res_and)
    assert theta == pytest.approx(0.5 / 0.811, abs=0.03)  # METHOD.md's 0.5 bit of 0.81
    sizes = [int(relays_at(res_and, t).relay_size.item()) for t in (theta - 0.005, theta + 0.005)]
    assert sizes == [1, 2]
    cr.check_switch_threshold(res_and, theta)
    cr.check_switch_threshold(res_and, round(theta, 2))


def test_switch_threshold_mistakes_fail_with_their_hint(res_and):
    sel = res_and.sel(concept="1", time=0)
    kept = float(sel.curve.values[res_and.set_size.values == 1][0])
    theta = kept / float(sel.total)
    _fails_with(lambda: cr.check_switch_threshold(res_and, kept), "threshold_bits")
    _fails_with(lambda: cr.check_switch_threshold(res_and, 0.9), "threshold_default")
    _fails_with(lambda: cr.check_switch_threshold(res_and, 1 - theta), "threshold_loss")
    _fails_with(lambda: cr.check_switch_threshold(res_and, None), None, "should be a number")


def test_every_hint_is_exercised():
    """Each hint in HINTS is asserted by at least one test above (keeps HINTS and the tests in step)."""
    source = Path(__file__).read_text()
    unused = [key for key in cr.HINTS if f'"{key}"' not in source]
    assert not unused, unused
