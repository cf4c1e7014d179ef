"""Tests of the counting core (joint_codes, entropy_from_counts) and of the torch backend."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.info import combine_codes, entropy_from_counts, joint_codes
from info_cases import CASES, same_partition


@pytest.mark.parametrize("case", list(CASES))
def test_joint_codes_is_a_dense_relabelling_of_rows(case):
    rows = CASES[case](np.random.default_rng(len(case)))
    dense, n_states = joint_codes(rows)
    assert dense.shape == (rows.shape[0],) and dense.dtype == np.int64
    assert n_states == len(np.unique(rows, axis=0)) <= rows.shape[0]
    same_partition(dense, rows)


def test_joint_codes_edge_shapes():
    dense, n = joint_codes(np.zeros((5, 0), np.int8))
    assert n == 1 and dense.tolist() == [0] * 5
    dense, n = joint_codes(np.array([7, 7, 7]))
    assert n == 1 and dense.tolist() == [0, 0, 0]
    dense, n = joint_codes(np.array([[0, 1], [1, 1], [0, 1]]))
    assert (n, dense.tolist()) == (2, [0, 1, 0])


def test_combine_codes_matches_rows():
    rng = np.random.default_rng(0)
    a_rows = rng.integers(0, 2, (1000, 20), dtype=np.int8)
    b_rows = rng.integers(0, 2, (1000, 20), dtype=np.int8)
    a, na = joint_codes(a_rows)
    b, nb = joint_codes(b_rows)
    ab, n_possible = combine_codes(a, na, b, nb)
    assert ab.max() < n_possible
    same_partition(np.unique(ab, return_inverse=True)[1].reshape(-1), np.hstack([a_rows, b_rows]))


def test_entropy_from_counts_known_values():
    assert entropy_from_counts([5, 5]) == 1.0
    assert entropy_from_counts([3, 0, 3, 3, 3]) == 2.0
    assert entropy_from_counts([7]) == 0.0
    assert entropy_from_counts([1, 2, 1]) == pytest.approx(1.5, abs=1e-15)
    p = np.array([0.1, 0.2, 0.7])
    assert entropy_from_counts(p * 1000) == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
