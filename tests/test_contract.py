"""The relay-result contract, the concept resolver and the node-label grammar (relaywidgets.contract)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from relaywidgets.contract import (
    check_relays,
    concept_classes,
    concept_title,
    node_label,
    parse_node_label,
    resolve_concept,
)
from relaywidgets.errors import InputError, KnockoutError
from relaywidgets.relay import find_relays, relays_at
from relaywidgets.testing import make_recording, planted_relay


def _relays(concepts=("0", "1", "all"), classes=(0, 1, -1), T=3, n=4):
    coords = {"concept": np.array(concepts), "time": np.arange(T), "node": [node_label(0, u) for u in range(n)]}
    if classes is not None:
        coords["concept_class"] = ("concept", np.array(classes))
    return xr.Dataset(
        {
            "is_relay": (("concept", "time", "node"), np.zeros((len(concepts), T, n), bool)),
            "relay_size": (("concept", "time"), np.zeros((len(concepts), T), np.int64)),
        },
        coords=coords,
    )


@pytest.fixture(scope="module")
def result():
    rec, _ = planted_relay("and", n_nodes=4, n_samples=600)
    return find_relays(rec, concepts=[1, "all"], n_perm=5, progress=False)


def test_find_relays_and_relays_at_follow_the_contract(result):
    assert check_relays(result) is result
    check_relays(relays_at(result, 0.5), require=("contribution", "curve", "significant"))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda r: r.to_array(), "relays must be the Dataset returned by relaywidgets.find_relays"),
        (lambda r: r.drop_vars("is_relay"), "without an 'is_relay' variable"),
        (lambda r: r.isel(time=0, drop=True).assign(is_relay=r.is_relay.isel(time=0)), "lacks ['time']"),
        (lambda r: r.assign(is_relay=r.is_relay.astype(int)), "must be boolean"),
        (lambda r: r.assign(relay_size=r.is_relay), "relay_size"),
        (lambda r: r.drop_vars("node"), "needs coordinates along ['node']"),
    ],
)
def test_check_relays_names_the_problem_and_the_fix(make, words):
    with pytest.raises(InputError) as info:
        check_relays(make(_relays()), "my_reader")
    assert words in str(info.value) and "find_relays" in str(info.value)


def test_check_relays_requires_what_the_reader_reads_and_raises_its_error_class():
    with pytest.raises(KnockoutError, match="has no 'contribution' variable, which my_reader reads"):
        check_relays(_relays(), "my_reader", require=("contribution",), error=KnockoutError)


def test_resolve_concept_by_label_class_index_and_all():
    res = _relays()
    assert [resolve_concept(res, c) for c in ("0", "1", "all", 0, 1)] == [0, 1, 2, 0, 1]
    # an int is a class index, never a position: with class 0 not analysed, 1 is still class 1
    only = _relays(concepts=("1", "all"), classes=(1, -1))
    assert resolve_concept(only, 1) == 0
    with pytest.raises(InputError, match="Concept 0 is not in the relay analysis; its concepts are \\['1', 'all'\\]"):
        resolve_concept(only, 0)
    with pytest.raises(KnockoutError, match="'concept' parameter of my_reader"):
        resolve_concept(only, "7", "my_reader", error=KnockoutError)
    with pytest.raises(InputError, match="one of these labels or a class index"):
        resolve_concept(res, True)


def test_class_indices_are_read_from_labels_without_a_concept_class_coordinate():
    res = _relays(concepts=("class 0", "2", "all", "cat"), classes=None)
    res.attrs["class_name"] = ["dog", "cat"]
    assert concept_classes(res) == [0, 2, -1, 1]
    assert resolve_concept(res, 2) == 1 and resolve_concept(res, "cat") == 3 and resolve_concept(res, 1) == 3


def test_resolve_concept_on_a_recording_follows_the_same_rules():
    rng = np.random.default_rng(0)
    rec = make_recording(rng.normal(size=(2, 1, 30)), rng.integers(0, 3, 30), num_classes=3)
    n = 3
    assert resolve_concept(rec, "all") == n and resolve_concept(rec, n - 1) == n - 1
    with pytest.raises(InputError, match=f"Concept {n} is not a class of the recording; its classes are 0 .. {n - 1}"):
        resolve_concept(rec, n)
    with pytest.raises(InputError, match="'cat' is not a class of the recording"):
        resolve_concept(rec, "cat")


def test_concept_title_and_node_labels():
    assert concept_title("all") == "the decision (all classes)"
    assert concept_title("2") == "class 2" and concept_title("class 2") == "class 2"
    assert parse_node_label(node_label(3, 17)) == (3, 17)
    with pytest.raises(KnockoutError, match="not of the form 'l<layer>.h<unit>'"):
        parse_node_label("h17", error=KnockoutError)
