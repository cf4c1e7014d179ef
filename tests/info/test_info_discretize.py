"""Tests of relaywidgets.info.discretize against brute force and planted structure."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets.info import discretize, discretizers
from relaywidgets.info.discretize import two_means_thresholds


def _brute_two_means(v: np.ndarray) -> float:
    """Smallest within-cluster sum of squares over every threshold split of the values."""
    s = np.sort(v)
    best = np.inf
    for i in range(1, len(s)):
        if s[i] == s[i - 1]:
            continue
        lo, hi = s[:i], s[i:]
        best = min(best, ((lo - lo.mean()) ** 2).sum() + ((hi - hi.mean()) ** 2).sum())
    return best


def _sse(v: np.ndarray, codes: np.ndarray) -> float:
    return sum(((v[codes == c] - v[codes == c].mean()) ** 2).sum() for c in np.unique(codes))


@pytest.mark.parametrize("seed", range(6))
def test_two_means_is_exact_kmeans(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    x = np.column_stack(
        [
            rng.standard_normal(n),
            np.r_[rng.normal(-1, 0.1, n // 3), rng.normal(2, 0.5, n - n // 3)],
            rng.integers(0, 4, n).astype(float),  # many ties
            rng.exponential(size=n) * 1e6 + 1e9,  # large offset: prefix sums must stay accurate
        ]
    )
    codes = discretize(x)
    for j in range(x.shape[1]):
        assert set(np.unique(codes[:, j])) <= {0, 1}
        assert _sse(x[:, j], codes[:, j]) == pytest.approx(_brute_two_means(x[:, j]), rel=1e-9)


def test_two_means_splits_between_unequal_clusters_and_median_does_not():
    # A saturated unit: 70 % of samples near -1, 30 % near +1 (METHOD.md's example).
    rng = np.random.default_rng(0)
    v = np.r_[np.full(700, -1.0), np.full(300, 1.0)] + 0.01 * rng.standard_normal(1000)
    truth = (np.arange(1000) >= 700).astype(np.int8)
    np.testing.assert_array_equal(discretize(v), truth)
    median = discretize(v, "median")
    assert median.sum() == 500  # equal halves: the split cuts through the larger cluster
    assert np.count_nonzero(median != truth) == 200


def test_simple_methods_match_their_definitions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((101, 3)) + [0.0, 0.5, -0.3]
    np.testing.assert_array_equal(discretize(x, "median"), x > np.median(x, axis=0))
    np.testing.assert_array_equal(discretize(x, "mean"), x > x.mean(axis=0))
    np.testing.assert_array_equal(discretize(x, "zero"), x > 0)


@pytest.mark.parametrize("levels", [2, 3, 4, 8])
def test_quantile_levels_have_equal_mass(levels):
    x = np.random.default_rng(levels).standard_normal((800, 2))
    codes = discretize(x, "quantile", levels=levels)
    assert codes.dtype == np.int8
    for j in range(2):
        counts = np.bincount(codes[:, j], minlength=levels)
        assert len(counts) == levels and np.abs(counts - 800 / levels).max() <= 1


@pytest.mark.parametrize("method", list(discretizers()))
def test_constant_node_is_one_state_without_warnings(method):
    x = np.column_stack([np.full(50, 0.7), np.zeros(50), np.linspace(-1, 1, 50)])
    x[3, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        codes = discretize(x, method)
    # One state each; data-driven thresholds give it code 0, the fixed zero split the sign.
    expected = 1 if method == "zero" else 0
    assert set(np.unique(codes[:, 0])) == {-1, expected}
    assert set(np.unique(codes[:, 1])) == {0}
    assert codes[3, 0] == -1


@pytest.mark.parametrize("method", list(discretizers()))
def test_nan_is_masked_and_ignored_by_thresholds(method):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 2))
    y = x.copy()
    y[[1, 5, 9], 0] = np.nan
    codes = discretize(y, method)
    assert (codes[[1, 5, 9], 0] == -1).all()
    keep = np.setdiff1d(np.arange(40), [1, 5, 9])
    np.testing.assert_array_equal(codes[keep, 0], discretize(x[keep, :1], method)[:, 0])
    np.testing.assert_array_equal(codes[:, 1], discretize(x[:, 1:], method)[:, 0])
    all_nan = np.full((10, 1), np.nan)
    np.testing.assert_array_equal(discretize(all_nan, method), -np.ones((10, 1), np.int8))


def _recording_like(rng, n_node=3, n_time=4, n_sample=60):
    import xarray as xr

    h = rng.standard_normal((n_node, n_time, n_sample)).astype(np.float32)
    h += np.arange(n_time)[None, :, None] * 20.0  # each step has its own offset
    h[:, 3, :7] = np.nan  # padding after the sequence length
    return xr.DataArray(
        h,
        dims=("node", "time", "sample"),
        coords={
            "node": [f"l0.h{i}" for i in range(n_node)],
            "layer": ("node", np.zeros(n_node, np.int64)),
            "time": np.arange(n_time),
            "sample": np.arange(n_sample),
        },
        attrs={"arch": "rnn", "seed": 3},
        name="hidden",
    )


def test_dataarray_per_node_and_time_keeps_coords():
    import xarray as xr

    rng = np.random.default_rng(3)
    da = _recording_like(rng)
    codes = discretize(da, "median")
    assert isinstance(codes, xr.DataArray)
    assert codes.dims == da.dims and codes.dtype == np.int8
    assert codes.attrs == da.attrs and codes.name == da.name
    xr.testing.assert_identical(codes.coords.to_dataset(), da.coords.to_dataset())
    assert (codes.values[:, 3, :7] == -1).all()
    for n in range(3):
        for t in range(4):
            v = da.values[n, t]
            ok = ~np.isnan(v)
            np.testing.assert_array_equal(codes.values[n, t, ok], v[ok] > np.median(v[ok]))


def test_pooled_uses_one_threshold_per_node():
    rng = np.random.default_rng(4)
    da = _recording_like(rng)
    pooled = discretize(da, "mean", pooled=True)
    for n in range(3):
        v = da.values[n]
        thr = np.nanmean(v)
        ok = ~np.isnan(v)
        np.testing.assert_array_equal(pooled.values[n][ok], v[ok] > thr)
    # Offsets grow with time, so pooled codes are 0 early and 1 late.
    assert pooled.values[:, 0].max() == 0 and pooled.values[:, 2].min() == 1
    # The same through a numpy array (sample, time, node).
    arr = np.transpose(da.values, (2, 1, 0))
    np.testing.assert_array_equal(discretize(arr, "mean", pooled=True), np.transpose(pooled.values, (2, 1, 0)))


def test_dataarray_without_sample_dim_is_refused():
    import xarray as xr

    from relaywidgets.errors import InputError

    with pytest.raises(InputError, match="'sample' dimension"):
        discretize(xr.DataArray(np.zeros((3, 4)), dims=("node", "trial")))


def test_registry_and_unknown_method():
    from relaywidgets.errors import InputError

    regs = discretizers()
    assert list(regs) == ["two-means", "median", "mean", "zero", "quantile"]
    for name, d in regs.items():
        assert d.name == name and d.description and "\n" not in d.description
    with pytest.raises(InputError) as err:
        discretize(np.zeros((4, 1)), "kmeans")
    for name in regs:
        assert repr(name) in str(err.value)
    with pytest.raises(InputError, match="'levels' parameter of discretize must be an int in \\[2, 127\\]"):
        discretize(np.zeros((4, 1)), "quantile", levels=1)


def test_two_means_thresholds_doc_example():
    thr = two_means_thresholds(np.array([[-1.0, 5.0], [-0.9, 5.0], [0.95, 5.0]]))
    assert thr[0] == 0.95 and np.isinf(thr[1])
