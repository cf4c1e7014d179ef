"""from_arrays: validation messages, label mapping, stratified seeded split, train-only normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.data import from_arrays
from relaywidgets.errors import InputError


def _data(n_per_class=(8, 12, 4), T=6, F=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    X = rng.normal(loc=5.0, scale=3.0, size=(y.size, T, F))
    return X, y


def test_shapes_dtypes_and_default_lengths():
    X, y = _data()
    ds = from_arrays(X, y)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64 and ds.lengths_train.dtype == np.int64
    assert ds.X_train.shape[1:] == ds.X_test.shape[1:] == (6, 3)
    assert ds.X_train.shape[0] + ds.X_test.shape[0] == 24
    assert (ds.lengths_train == 6).all() and (ds.lengths_test == 6).all()
    assert ds.class_names == ("0", "1", "2") and ds.n_classes == 3 and ds.n_features == 3
    assert ds.name == "custom" and ds.source == "arrays"
    assert from_arrays(X, y, name="mine").name == "mine"


def test_split_is_stratified_with_rounded_class_shares():
    X, y = _data(n_per_class=(8, 12, 4, 2, 1))
    ds = from_arrays(X, y, test_fraction=0.25)
    # round(0.25 * n_c), at least one per split for classes with two or more samples
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=5), [2, 3, 1, 1, 0])
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=5), [6, 9, 3, 1, 1])


def test_split_is_seeded_disjoint_and_complete():
    X, y = _data()
    # tag each sample with its index in a constant feature to recover where it went
    X[:, :, 0] = np.arange(y.size)[:, None]
    a = from_arrays(X, y, seed=3, normalize=False)
    b = from_arrays(X, y, seed=3, normalize=False)
    c = from_arrays(X, y, seed=4, normalize=False)
    ids = lambda ds, split: getattr(ds, f"X_{split}")[:, 0, 0].astype(int)  # noqa: E731
    np.testing.assert_array_equal(ids(a, "train"), ids(b, "train"))
    np.testing.assert_array_equal(ids(a, "test"), ids(b, "test"))
    assert not np.array_equal(ids(a, "test"), ids(c, "test"))
    all_ids = np.concatenate([ids(a, "train"), ids(a, "test")])
    assert sorted(all_ids.tolist()) == list(range(y.size))
    # both splits keep the original sample order, and labels travel with their samples
    assert (np.diff(ids(a, "train")) > 0).all() and (np.diff(ids(a, "test")) > 0).all()
    np.testing.assert_array_equal(a.y_train, y[ids(a, "train")])
    np.testing.assert_array_equal(a.y_test, y[ids(a, "test")])


def test_normalisation_fitted_on_train_valid_steps_only():
    X, y = _data(n_per_class=(20, 20), T=8, F=2)
    lengths = np.random.default_rng(1).integers(3, 9, size=y.size)
    # plant huge finite values in the padding: they must not reach the statistics or the output
    for i, n in enumerate(lengths):
        X[i, n:] = 1e6
    ds = from_arrays(X, y, lengths=lengths, test_fraction=0.5, seed=2)
    raw = from_arrays(X, y, lengths=lengths, test_fraction=0.5, seed=2, normalize=False)
    tr = np.arange(8)[None] < ds.lengths_train[:, None]
    te = np.arange(8)[None] < ds.lengths_test[:, None]
    z = ds.X_train[tr].astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-6)
    mean = raw.X_train[tr].astype(np.float64).mean(axis=0)
    std = raw.X_train[tr].astype(np.float64).std(axis=0)
    np.testing.assert_allclose(ds.feature_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(ds.feature_std, std, rtol=1e-12)
    np.testing.assert_allclose(ds.X_test[te], (raw.X_test[te] - mean) / std, rtol=1e-5, atol=1e-5)
    for arr, valid in ((ds.X_train, tr), (ds.X_test, te), (raw.X_train, tr), (raw.X_test, te)):
        assert (arr[~valid] == 0.0).all()
    assert raw.feature_mean is None and raw.feature_std is None
    # the raw values at valid steps are the input values
    assert np.abs(raw.X_train[tr]).max() < 1e3


def test_constant_feature_is_centred_without_division_by_zero():
    X, y = _data(F=2)
    X[:, :, 1] = 7.5
    with np.errstate(all="raise"):
        ds = from_arrays(X, y)
    assert ds.feature_std[1] == 1.0 and ds.feature_mean[1] == 7.5
    assert (ds.X_train[:, :, 1] == 0.0).all() and (ds.X_test[:, :, 1] == 0.0).all()
    assert np.isfinite(ds.X_train).all()


def test_string_labels_mapped_in_sorted_order():
    X, y = _data(n_per_class=(6, 6, 6))
    words = np.array(["walk", "run", "jump"])[y]
    ds = from_arrays(X, words)
    assert ds.class_names == ("jump", "run", "walk")
    raw = from_arrays(X, y)
    np.testing.assert_array_equal(ds.y_train, np.array([2, 1, 0])[raw.y_train])


def test_numeric_labels_are_ordered_by_value():
    X, y = _data(n_per_class=(6, 6, 6))
    ds = from_arrays(X, np.array([1, 2, 10])[y])
    assert ds.class_names == ("1", "2", "10")
    ds_text = from_arrays(X, np.array(["1", "2", "10"])[y])
    assert ds_text.class_names == ("1", "2", "10")
    np.testing.assert_array_equal(ds.y_train, ds_text.y_train)
    raw = from_arrays(X, y)
    np.testing.assert_array_equal(ds.y_train, raw.y_train)


def test_class_names_with_integer_indices_and_with_named_labels():
    X, y = _data(n_per_class=(6, 6))
    ds = from_arrays(X, y, class_names=["no", "yes"])
    assert ds.class_names == ("no", "yes")
    np.testing.assert_array_equal(ds.y_train, from_arrays(X, y).y_train)
    # labels given by name follow the order of class_names, not the sorted order
    ds = from_arrays(X, np.array(["yes", "no"])[y], class_names=("yes", "no"))
    np.testing.assert_array_equal(ds.y_train, from_arrays(X, y).y_train)
    # a class may be declared without samples
    assert from_arrays(X, y, class_names=["a", "b", "c"]).n_classes == 3


def test_bad_labels():
    X, y = _data(n_per_class=(6, 6))
    with pytest.raises(InputError, match=r"must lie in 0 \.\. 1; found 0 \.\. 2"):
        from_arrays(X, np.where(y == 1, 2, 0), class_names=["a", "b"])
    with pytest.raises(InputError, match=r"label\(s\) \['maybe'\] that are not in class_names"):
        from_arrays(X, np.array(["no", "maybe"])[y], class_names=["no", "yes"])
    with pytest.raises(InputError, match="class_names must be distinct"):
        from_arrays(X, y, class_names=["a", "a"])
    with pytest.raises(InputError, match="The 'class_names' parameter of from_arrays must be a sequence"):
        from_arrays(X, y, class_names="ab")
    with pytest.raises(InputError, match=r"y must be 1-D with one label per sample \(12\); got shape \(11,\)"):
        from_arrays(X, y[:11])
    with pytest.raises(InputError, match=r"got shape \(12, 1\)"):
        from_arrays(X, y[:, None])
    nan_y = y.astype(float)
    nan_y[4] = np.nan
    with pytest.raises(InputError, match="1 NaN or infinite label.*first at sample 4"):
        from_arrays(X, nan_y)
    with pytest.raises(InputError, match="single class"):
        from_arrays(X, np.zeros_like(y))


def test_two_dimensional_X_suggests_adding_a_feature_axis():
    X, y = _data(F=1)
    with pytest.raises(InputError, match=r"X\[\.\.\., None\]"):
        from_arrays(X[:, :, 0], y)
    assert from_arrays(X[:, :, 0][..., None], y).n_features == 1


def test_non_finite_X_names_count_and_first_location():
    X, y = _data()
    X[3, 2, 1] = np.nan
    X[5, 0, 0] = np.inf
    with pytest.raises(InputError, match=r"2 NaN or infinite value\(s\), first at \(sample, time, feature\) \(3, 2, 1\)"):
        from_arrays(X, y)


def test_bad_lengths():
    X, y = _data(T=6)
    with pytest.raises(InputError, match=r"each length must lie in 1 \.\. 6"):
        from_arrays(X, y, lengths=np.full(y.size, 7))
    with pytest.raises(InputError, match="lengths must be at least 1"):
        from_arrays(X, y, lengths=np.zeros(y.size, dtype=int))
    with pytest.raises(InputError, match="lengths must be integers"):
        from_arrays(X, y, lengths=np.full(y.size, 6.0))
    with pytest.raises(InputError, match="one entry per sample"):
        from_arrays(X, y, lengths=np.full(y.size - 1, 6))


def test_too_few_samples_per_split():
    X, y = _data(n_per_class=(2, 1))
    with pytest.raises(InputError, match=r"give 2 training and 1 test samples; each split needs at least 2"):
        from_arrays(X, y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_fraction": 0.0}, r"The 'test_fraction' parameter of from_arrays must be a float in \(0, 1\). Got 0.0"),
        ({"test_fraction": 1}, r"'test_fraction' .* Got 1 instead"),
        ({"test_fraction": "0.2"}, r"'test_fraction' .* Got '0.2' instead"),
        ({"test_fraction": True}, r"'test_fraction' .* Got True instead"),
        ({"seed": -1}, r"The 'seed' parameter of from_arrays must be an int in \[0, inf\). Got -1 instead"),
        ({"seed": 1.5}, r"'seed' .* Got 1.5 instead"),
        ({"normalize": "yes"}, r"The 'normalize' parameter of from_arrays must be a bool"),
        ({"name": 3}, r"The 'name' parameter of from_arrays must be a str"),
    ],
)
def test_bad_parameters(kwargs, message):
    X, y = _data()
    with pytest.raises(InputError, match=message):
        from_arrays(X, y, **kwargs)


def test_input_arrays_are_not_modified():
    X, y = _data()
    lengths = np.full(y.size, 4)
    before = X.copy()
    from_arrays(X, y, lengths=lengths)
    np.testing.assert_array_equal(X, before)
