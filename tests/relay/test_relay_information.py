"""relay_information against analytic values and against the definitions computed independently."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.info import discretize, get_estimator
from relaywidgets.relay import relay_information
from relaywidgets.relay.reference import naive_conditional_entropy
from relaywidgets.testing import make_recording, planted_relay


def _codes(rec, t=0):
    return discretize(rec["hidden"]).values[:, t, :].T.astype(np.int64)


def test_and_pair_single_node_is_half_a_bit():
    # METHOD.md: output = a AND b, I_R({a}) = H(O | b) = 0.5 bit with uniform independent bits.
    rec, _ = planted_relay("and", n_nodes=4, n_samples=20000, seed=1)
    value = relay_information(rec, ["l0.h0"], time=0, concept=1)
    assert value == pytest.approx(0.5, abs=0.02)
    # and exactly the plug-in value of the sample, computed from the definition
    codes, out = _codes(rec), rec["prediction"].values
    exact = naive_conditional_entropy(out, codes[:, 1:]) - naive_conditional_entropy(out, codes)
    assert value == pytest.approx(exact, abs=1e-12)


def test_all_nodes_at_the_decision_carry_the_output_entropy():
    # When O is a function of h_t, H(O | h_t[N]) = 0 and I_R(N) = H(O).
    rec, _ = planted_relay("and", n_nodes=4, n_samples=4000, seed=2)
    out = rec["prediction"].values
    p = out.mean()
    h_o = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert relay_information(rec, [0, 1, 2, 3], time=0, concept=1) == pytest.approx(h_o, abs=1e-12)
    assert relay_information(rec, [], time=0, concept=1) == 0.0


def test_concept_all_uses_the_decision():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(3, 3000))
    out = bits[0] + 2 * bits[1]  # four classes
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, num_classes=4)
    assert relay_information(rec, [0, 1], time=0, concept="all") == pytest.approx(
        naive_conditional_entropy(out, bits[2:].T), abs=1e-12
    )


@pytest.mark.parametrize("name", ["miller-madow", "shrinkage"])
def test_bias_corrected_estimators_match_info(name):
    # The counting search reproduces relaywidgets.info's estimators number for number.
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(5, 300))
    out = (bits[0] | (rng.random(300) < 0.2)).astype(int)
    rec = make_recording(0.9 * (2.0 * bits - 1.0) + 0.01 * rng.normal(size=bits.shape), out)
    codes = _codes(rec)
    est = get_estimator(name)
    for r in ([0], [0, 3], [1, 2, 4]):
        z = [j for j in range(5) if j not in r]
        expected = est.conditional_entropy(out, codes[:, z]) - est.conditional_entropy(out, codes)
        if not z:
            expected = est.entropy(out) - est.conditional_entropy(out, codes)
        got = relay_information(rec, r, time=0, concept=1, estimator=name)
        assert got == pytest.approx(expected, abs=1e-10), (name, r)


def test_label_source_is_a_difference_of_conditional_mutual_informations():
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, size=(4, 2000))
    label = bits[0]
    out = np.where(rng.random(2000) < 0.15, 1 - label, label)  # a noisy decision
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, label)
    est = get_estimator("plugin")
    codes = _codes(rec)
    expected = est.conditional_mutual_information(label, out, codes[:, 1:]) - est.conditional_mutual_information(
        label, out, codes
    )
    got = relay_information(rec, [0], time=0, concept=1, source="label")
    assert got == pytest.approx(expected, abs=1e-10)


def test_gcmi_relay_information_of_the_planted_node():
    rec, _ = planted_relay("single", n_nodes=3, n_samples=2000, seed=6, noise=0.3)
    inside = relay_information(rec, [0], time=0, concept=1, estimator="gcmi")
    outside = relay_information(rec, [1, 2], time=0, concept=1, estimator="gcmi")
    assert inside > 0.5
    assert abs(outside) < 0.05
