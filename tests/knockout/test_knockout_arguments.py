"""Knockout arguments are taken exactly or refused with a message: never coerced into another meaning."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import Knockout
from relaywidgets.errors import KnockoutError


@pytest.mark.parametrize(
    "times, match",
    [
        ([1.5], "are not ints"),
        ([1, 2.0], "are not ints"),
        ("12", "got '12'"),
        (True, "got True"),
        (2.0, "got 2.0"),
        ([True, False, True], "boolean mask.*numpy.flatnonzero"),
        (np.array([True, False]), "boolean mask"),
        (slice(0.5, 3), "int \\(or None\\) bounds"),
        (slice(0, 5, 0), "non-zero step"),
        (object(), "got <object"),
    ],
)
def test_times_that_are_not_step_indices_are_refused(times, match):
    with pytest.raises(KnockoutError, match=match):
        Knockout([0], times=times)


@pytest.mark.parametrize("flag", ["no", "False", 0, 1, None, np.float64(1.0)])
def test_clamp_cell_must_be_a_bool(flag):
    with pytest.raises(KnockoutError, match="'clamp_cell' parameter of Knockout must be True or False"):
        Knockout([0], clamp_cell=flag)


@pytest.mark.parametrize("nodes", [[True, False], np.array([True, False]), [0.0], [1.5]])
def test_nodes_must_be_indices_or_labels(nodes):
    with pytest.raises(KnockoutError, match="unit indices \\(int\\) or labels"):
        Knockout(nodes)


def test_exact_values_are_kept():
    ko = Knockout([2], times=np.array([3, -1], dtype=np.int32), clamp_cell=np.bool_(True))
    assert ko.times == (3, -1) and ko.clamp_cell is True
    assert ko.time_indices(10).tolist() == [3, 9]
    assert Knockout([0], times=np.int64(4)).times == (4,)
    assert Knockout([0], times=slice(np.int64(2), None)).time_indices(5).tolist() == [2, 3, 4]
    assert hash(Knockout([0], times=slice(2, None))) == hash(Knockout([0], times=slice(2, None)))
