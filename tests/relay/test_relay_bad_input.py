"""Bad input to the relay functions: clear errors (or warnings) that say what to do."""

from __future__ import annotations

import re

import numpy as np
import pytest

from relaywidgets import InputError, RecordingError
from relaywidgets.info import UndersamplingWarning
from relaywidgets.relay import find_relays, relay_information, relays_at
from relaywidgets.testing import make_recording, planted_relay

KW = dict(progress=False, device="numpy", n_perm=0)


@pytest.fixture(scope="module")
def rec():
    return planted_relay("and", n_nodes=4, n_samples=400, n_steps=3)[0]


def test_recording_failing_the_contract(rec):
    broken = rec.drop_vars("prediction")
    with pytest.raises(RecordingError, match="prediction"):
        find_relays(broken, **KW)
    with pytest.raises(RecordingError, match="prediction"):
        relay_information(broken, [0], time=0, concept=1)
    with pytest.raises(RecordingError, match="xarray.Dataset"):
        find_relays(np.zeros((3, 3)), **KW)
    with pytest.raises(RecordingError, match="not a relaywidgets recording"):
        find_relays(rec.assign_attrs(relaywidgets_format="other"), **KW)


def test_time_not_present(rec):
    with pytest.raises(InputError, match=r"Time step 7 is not in the recording; its steps run 0 \.\. 2"):
        find_relays(rec, times=[0, 7], **KW)
    with pytest.raises(InputError, match="Time step 5"):
        relay_information(rec, [0], time=5, concept=1)


def test_concept_not_present(rec):
    with pytest.raises(InputError, match=r"Concept 3 is not a class of the recording; its classes are 0 \.\. 1"):
        find_relays(rec, concepts=[3], **KW)
    with pytest.raises(InputError, match="'cat' is not a class"):
        relay_information(rec, [0], time=0, concept="cat")


def test_node_label_that_does_not_exist(rec):
    with pytest.raises(InputError, match=r"Node 'l0\.h9' is not in the recording\. Its nodes are \['l0\.h0'"):
        find_relays(rec, nodes=["l0.h0", "l0.h9"], **KW)
    with pytest.raises(InputError, match="Node 'l1.h0'"):
        relay_information(rec, ["l1.h0"], time=0, concept=1)
    with pytest.raises(InputError, match="out of range"):
        relay_information(rec, [4], time=0, concept=1)


def test_single_class_predictions_warn_and_give_zero():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 2, 300))
    rec = make_recording(hidden, np.zeros(300, int), rng.integers(0, 2, 300), num_classes=2)
    with pytest.warns(UserWarning, match=r"is the same for every sample .* relay information is 0 bits"):
        res = find_relays(rec, progress=False, device="numpy", n_perm=20)
    assert (res["total"].values == 0).all()
    assert not res["is_relay"].values.any()
    assert (res["relay_size"].values == 0).all()
    assert not res["significant"].values.any()
    assert np.isfinite(res["aggregated_score"].values).all()
    with pytest.warns(UserWarning, match="relay information is 0 bits"):
        assert relay_information(rec, [0], time=0, concept=1) == 0.0


def test_more_joint_states_than_samples_warns_with_numbers():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(12, 300))
    rec = make_recording(0.9 * (2.0 * bits - 1.0), bits[0])
    expected = "the 12 nodes have 4,096 possible joint states (2^12.0) but only 300 samples"
    with pytest.warns(UndersamplingWarning, match=re.escape(expected)):
        find_relays(rec, concepts=[1], **KW)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(threshold=1.5), "'threshold' parameter of find_relays must be a float in [0, 1]. Got 1.5 instead."),
        (dict(n_perm=-1), "'n_perm' parameter of find_relays must be an int in [0, inf). Got -1 instead."),
        (dict(alpha=0.0), "'alpha' parameter of find_relays must be a float in (0, 1). Got 0.0 instead."),
        (dict(source="output"), "'source' parameter of find_relays must be one of 'input', 'label'."),
        (dict(discretizer="kmeans"), "'discretizer' parameter of find_relays must be one of 'two-means'"),
        (dict(estimator="bogus"), "Unknown estimator 'bogus'"),
        (dict(device="tpu"), "'device' parameter of find_relays must be"),
        (dict(early_stop=True), "early_stop=True stops at the null floor, which needs n_perm > 0"),
        (dict(nodes=[]), "selects no node"),
        (dict(concepts=[1, 1]), "lists a concept twice"),
        (dict(order="min"), "The 'order' parameter of find_relays must be one of 'least-loss', 'most-loss'. Got 'min'"),
        (dict(rule="pvalue"), "The 'rule' parameter of find_relays must be one of 'fraction', 'significance'."),
        (dict(variable="gates"), "The 'variable' parameter of find_relays must be one of 'hidden', 'cell'."),
        (dict(rule="significance"), "rule='significance' compares relay sets with the permutation null"),
        (dict(variable="cell"), "The recording has no 'cell' variable"),
    ],
)
def test_parameter_errors(rec, kwargs, message):
    args = {**KW, **kwargs}
    with pytest.raises(InputError, match=re.escape(message)):
        find_relays(rec, **args)


def test_relays_at_rejects_bad_input(rec):
    res = find_relays(rec, **KW)
    with pytest.raises(InputError, match="threshold"):
        relays_at(res, -0.1)
    with pytest.raises(InputError, match="find_relays"):
        relays_at(rec, 0.5)


def test_significance_rule_without_a_null_says_to_set_n_perm(rec):
    with pytest.raises(InputError, match=r"set n_perm > 0 \(e.g. n_perm=100\)"):
        find_relays(rec, rule="significance", **KW)
    res = find_relays(rec, **KW)  # n_perm=0: no null stored
    with pytest.raises(InputError, match=r"Rerun find_relays\(\.\.\., n_perm=100\)"):
        relays_at(res, rule="significance")
    with pytest.raises(InputError, match="'rule' parameter of relays_at must be one of"):
        relays_at(res, rule="bonferroni")


def test_cell_variable_errors(rec):
    with pytest.raises(InputError, match="only LSTM recordings hold the cell state"):
        relay_information(rec, [0], time=0, concept=1, variable="cell")
    # A model mixing an LSTM with another layer: the other layer's nodes have no cell state (NaN).
    lstm = rec.assign(cell=rec["hidden"].copy())
    lstm["cell"].values[2:] = np.nan
    with pytest.raises(InputError, match=r"Node\(s\) \['l0.h2', 'l0.h3'\] .*have no cell state"):
        find_relays(lstm, variable="cell", **KW)
    ok = find_relays(lstm, variable="cell", nodes=[0, 1], **KW)
    assert ok.attrs["variable"] == "cell"
