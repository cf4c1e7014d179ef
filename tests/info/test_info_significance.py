"""Permutation test and bootstrap: seeded, correctly counted, and calibrated against known nulls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from relaywidgets.info import PermutationResult, mutual_information, permutation_test


def test_deterministic_under_seed():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, (2, 300))
    r1 = permutation_test(mutual_information, a, b, n_perm=30, seed=5, bootstrap=10)
    r2 = permutation_test(mutual_information, a, b, n_perm=30, seed=5, bootstrap=10)
    assert r1 == r2 and np.array_equal(r1.null, r2.null)
    r3 = permutation_test(mutual_information, a, b, n_perm=30, seed=6, bootstrap=10)
    assert not np.array_equal(r1.null, r3.null)
    assert r1.n_perm == 30 and r1.seed == 5


def test_p_value_uses_the_plus_one_correction():
    x = np.arange(20)
    # A statistic that every permutation reaches: p = (n + 1) / (n + 1) = 1.
    res = permutation_test(lambda v: 1.0, x, n_perm=9)
    assert res.p_value == 1.0 and res.null_mean == 1.0
    # A statistic no permutation reaches: p = 1 / (n + 1).
    res = permutation_test(lambda v: float(np.all(np.diff(v) > 0)), x, n_perm=9)
    assert res.estimate == 1.0 and res.p_value == pytest.approx(0.1)


def test_dependent_data_is_significant():
    rng = np.random.default_rng(1)
    o = rng.integers(0, 2, 400)
    h = o ^ (rng.random(400) < 0.2)
    res = permutation_test("mutual_information", o, h, n_perm=99, seed=0)
    assert res.p_value == pytest.approx(0.01) and res.significant
    assert res.estimate > res.null_quantiles[0.99]


def test_null_mean_is_the_plugin_bias_floor():
    # For independent variables the plug-in MI is about chi2((ka-1)(kb-1)) / (2 N ln 2):
    # mean (ka - 1)(kb - 1) / (2 N ln 2) bits.
    rng = np.random.default_rng(2)
    n = 400
    o = rng.integers(0, 2, n)
    h = rng.integers(0, 4, n)
    res = permutation_test("mutual_information", o, h, n_perm=300, seed=1)
    floor = 3 / (2 * n * np.log(2))
    assert res.null_mean == pytest.approx(floor, rel=0.15)
    assert res.corrected == pytest.approx(res.estimate - res.null_mean)
    assert set(res.null_quantiles) == {0.5, 0.9, 0.95, 0.99}
    assert res.null_quantiles[0.5] <= res.null_quantiles[0.95] <= res.null_quantiles[0.99]


def test_bootstrap_interval_covers_the_analytic_value():
    rng = np.random.default_rng(3)
    n, rho = 3000, 0.6
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    res = permutation_test("mutual_information", x, y, estimator="gcmi", n_perm=20, bootstrap=100, seed=0)
    lo, hi = res.ci
    assert lo < -0.5 * np.log2(1 - rho**2) < hi
    assert hi - lo < 0.15


def test_permute_several_arguments_together_and_dataarrays():
    import xarray as xr

    rng = np.random.default_rng(4)
    a = rng.integers(0, 2, 200)
    b = a.copy()
    c = rng.integers(0, 2, 200)
    # Shuffling a and b together keeps their dependence: the "null" equals the estimate.
    res = permutation_test("mutual_information", a, b, n_perm=10, permute=[0, 1])
    assert np.allclose(res.null, res.estimate) and res.p_value == 1.0
    res_last = permutation_test("conditional_mutual_information", a, c, b, n_perm=10, permute=-1)
    assert res_last.n_perm == 10
    da = xr.DataArray(np.vstack([a, c]), dims=("node", "sample"))
    res_da = permutation_test("mutual_information", b, da, n_perm=10, seed=2)
    assert res_da.estimate == pytest.approx(mutual_information(b, np.column_stack([a, c])))


def test_result_is_frozen():
    res = permutation_test(lambda v: 0.0, np.arange(5), n_perm=2)
    assert isinstance(res, PermutationResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.null[0] = 1.0
