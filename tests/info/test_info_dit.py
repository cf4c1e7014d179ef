"""The plug-in estimator equals the exact information of the sample's empirical distribution (dit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets.info import (
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    mutual_information,
)

dit = pytest.importorskip("dit")


def _empirical(sample: np.ndarray):
    """dit distribution of the rows of ``sample`` with their empirical frequencies."""
    rows, counts = np.unique(sample, axis=0, return_counts=True)
    outcomes = [tuple(int(v) for v in r) for r in rows]
    return dit.Distribution(outcomes, (counts / counts.sum()).tolist())


def _draw(rng, alphabet, dims, n):
    """n samples of a random joint distribution over ``sum(dims)`` variables of size ``alphabet``."""
    total = sum(dims)
    cells = alphabet**total
    p = rng.dirichlet(np.full(cells, 0.5))
    flat = rng.choice(cells, size=n, p=p)
    digits = np.stack([(flat // alphabet**j) % alphabet for j in range(total)], axis=1)
    out, start = [], 0
    for d in dims:
        out.append(digits[:, start : start + d])
        start += d
    return out


CASES = [
    (alphabet, dims, n)
    for alphabet, dims, n in [
        (2, (1, 1, 1), 50),
        (2, (3, 1, 2), 200),
        (2, (4, 3, 3), 400),
        (3, (1, 1, 1), 60),
        (3, (2, 2, 1), 300),
        (5, (1, 1, 1), 120),
        (5, (2, 1, 1), 500),
        (4, (1, 2, 2), 80),  # undersampled: many states seen once
    ]
]


@pytest.mark.parametrize("alphabet,dims,n", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_plugin_equals_dit_on_the_empirical_distribution(alphabet, dims, n, seed):
    rng = np.random.default_rng([alphabet, n, seed])
    a, b, c = _draw(rng, alphabet, dims, n)
    d = _empirical(np.hstack([a, b, c]))
    ia = list(range(dims[0]))
    ib = list(range(dims[0], dims[0] + dims[1]))
    ic = list(range(dims[0] + dims[1], sum(dims)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small samples: the undersampling warning is expected
        assert entropy(a) == pytest.approx(dit.shannon.entropy(d, ia), abs=1e-9)
        assert entropy(np.hstack([a, b, c])) == pytest.approx(dit.shannon.entropy(d), abs=1e-9)
        assert conditional_entropy(a, c) == pytest.approx(dit.shannon.conditional_entropy(d, ia, ic), abs=1e-9)
        assert mutual_information(a, b) == pytest.approx(dit.shannon.mutual_information(d, ia, ib), abs=1e-9)
        assert conditional_mutual_information(a, b, c) == pytest.approx(
            dit.multivariate.coinformation(d, [ia, ib], ic), abs=1e-9
        )
        assert mutual_information(a, np.hstack([b, c])) == pytest.approx(
            dit.shannon.mutual_information(d, ia, ib + ic), abs=1e-9
        )
