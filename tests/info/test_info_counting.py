"""Tests of the counting core (joint_codes, entropy_from_counts) and of the torch backend."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.info import combine_codes, entropy_from_counts, joint_codes


def _same_partition(dense: np.ndarray, rows: np.ndarray) -> None:
    """``dense`` labels the distinct rows of ``rows`` one-to-one and densely."""
    _, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    pairs = np.unique(np.column_stack([dense, inverse]), axis=0)
    assert len(pairs) == len(np.unique(dense)) == len(np.unique(inverse))
    assert dense.min() == 0 and dense.max() == len(np.unique(dense)) - 1


CASES = {
    "binary-64": lambda rng: rng.integers(0, 2, (500, 64), dtype=np.int8),
    "binary-130": lambda rng: rng.integers(0, 2, (400, 130)).astype(bool),
    "binary-5": lambda rng: rng.integers(0, 2, (300, 5), dtype=np.int64),
    "small-ints": lambda rng: rng.integers(0, 5, (300, 7)),
    "negative": lambda rng: rng.integers(-3, 2, (300, 4)),
    "huge-range": lambda rng: np.column_stack(
        [rng.integers(-(2**62), 2**62, 200), rng.integers(0, 3, 200), np.full(200, 2**40)]
    ),
    "wide-words": lambda rng: rng.integers(0, 2**20, (300, 9)),
    "few-distinct-rows": lambda rng: np.repeat(rng.integers(0, 2, (4, 70), dtype=np.int8), 50, axis=0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_joint_codes_is_a_dense_relabelling_of_rows(case):
    rows = CASES[case](np.random.default_rng(len(case)))
    dense, n_states = joint_codes(rows)
    assert dense.shape == (rows.shape[0],) and dense.dtype == np.int64
    assert n_states == len(np.unique(rows, axis=0)) <= rows.shape[0]
    _same_partition(dense, rows)


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
    _same_partition(np.unique(ab, return_inverse=True)[1].reshape(-1), np.hstack([a_rows, b_rows]))


def test_entropy_from_counts_known_values():
    assert entropy_from_counts([5, 5]) == 1.0
    assert entropy_from_counts([3, 0, 3, 3, 3]) == 2.0
    assert entropy_from_counts([7]) == 0.0
    assert entropy_from_counts([1, 2, 1]) == pytest.approx(1.5, abs=1e-15)
    p = np.array([0.1, 0.2, 0.7])
    assert entropy_from_counts(p * 1000) == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
