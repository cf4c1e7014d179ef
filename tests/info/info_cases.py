"""Shared code matrices and checks for the counting tests (numpy and torch backends)."""

from __future__ import annotations

import numpy as np


def same_partition(dense: np.ndarray, rows: np.ndarray) -> None:
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


def registered(kind: str | None = None, flag: str | None = None, counting: bool = False) -> list[str]:
    """Names of the registered estimators (read at collection time, so new ones are included).

    ``kind`` keeps one kind ("discrete", "continuous"); ``flag`` keeps those whose capability flag
    of that name is set; ``counting`` keeps the estimators built on counts (DiscreteEstimator).
    """
    from relaywidgets.info import DiscreteEstimator, estimators

    return [
        name
        for name, est in estimators().items()
        if (kind is None or est.kind == kind)
        and (flag is None or getattr(est, flag, False))
        and (not counting or isinstance(est, DiscreteEstimator))
    ]
