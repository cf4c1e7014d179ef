"""The bundled UCR/UEA data sets: published sizes, values as aeon reads them, normalisation, padding, offline."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from relaywidgets.data import TimeSeriesDataset, bundled_data_dir, datasets, load_dataset
from relaywidgets.data import uea_ucr
from relaywidgets.errors import InputError

needs_aeon = pytest.mark.skipif(
    importlib.util.find_spec("aeon") is None, reason='needs the datasets extra: pip install "relaywidgets[datasets]"'
)

# Published sizes of the UCR/UEA archives (timeseriesclassification.com):
# name: (n_train, n_test, channels, min length, max length, classes)
PUBLISHED = {
    "ACSF1": (100, 100, 1, 1460, 1460, 10),
    "ArrowHead": (36, 175, 1, 251, 251, 3),
    "BasicMotions": (40, 40, 6, 100, 100, 4),
    "GunPoint": (50, 150, 1, 150, 150, 2),
    "ItalyPowerDemand": (67, 1029, 1, 24, 24, 2),
    "JapaneseVowels": (270, 370, 12, 7, 29, 9),
    "OSULeaf": (200, 242, 1, 427, 427, 6),
    "PickupGestureWiimoteZ": (50, 50, 1, 29, 361, 10),
}


def _valid(ds_lengths: np.ndarray, n_time: int) -> np.ndarray:
    return np.arange(n_time)[None, :] < ds_lengths[:, None]


def test_catalog_lists_the_published_sizes():
    listed = datasets()
    assert set(listed) == set(PUBLISHED)
    for name, (n_train, n_test, channels, lo, hi, classes) in PUBLISHED.items():
        info = listed[name]
        assert (info.n_train, info.n_test, info.n_features, info.min_length, info.max_length, info.n_classes) == (
            n_train, n_test, channels, lo, hi, classes
        )
        assert info.variable_length == (lo != hi)
        assert info.description and "\n" not in info.description
        assert name in str(info) and f"{n_train} train / {n_test} test" in str(info)


def test_datasets_listing_needs_no_aeon(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    assert "JapaneseVowels" in datasets()


@needs_aeon
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_loads_with_published_shapes(name):
    n_train, n_test, channels, lo, hi, classes = PUBLISHED[name]
    ds = load_dataset(name)
    assert isinstance(ds, TimeSeriesDataset)
    assert ds.name == name
    assert ds.X_train.shape == (n_train, hi, channels)
    assert ds.X_test.shape == (n_test, hi, channels)
    assert ds.X_train.dtype == ds.X_test.dtype == np.float32
    for arr in (ds.y_train, ds.y_test, ds.lengths_train, ds.lengths_test):
        assert arr.dtype == np.int64
    assert ds.n_features == channels and ds.n_classes == classes and len(ds.class_names) == classes
    lengths = np.concatenate([ds.lengths_train, ds.lengths_test])
    assert lengths.min() == lo and lengths.max() == hi
    assert set(np.unique(ds.y_train)) == set(range(classes))
    assert ds.y_test.min() >= 0 and ds.y_test.max() < classes
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    assert ds.description == datasets()[name].description


@needs_aeon
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_values_and_labels_equal_aeons_reading_of_the_file(name):
    # aeon's own .ts reader is the independent reference (it lower-cases labels).
    from aeon.datasets import load_from_ts_file

    ds = load_dataset(name, normalize=False)
    root = bundled_data_dir()
    for split, X, y, lengths in (
        ("TRAIN", ds.X_train, ds.y_train, ds.lengths_train),
        ("TEST", ds.X_test, ds.y_test, ds.lengths_test),
    ):
        ref_X, ref_y = load_from_ts_file(os.path.join(root, name, f"{name}_{split}.ts"))
        assert len(ref_X) == X.shape[0]
        for i, ref in enumerate(ref_X):
            ref = np.asarray(ref, dtype=np.float64).T  # aeon: (channel, time)
            assert lengths[i] == ref.shape[0]
            np.testing.assert_array_equal(X[i, : lengths[i]], ref.astype(np.float32))
            assert not X[i, lengths[i]:].any()
        names = np.array([ds.class_names[k].lower() for k in y])
        np.testing.assert_array_equal(names, np.asarray(ref_y))


@needs_aeon
def test_japanese_vowels_variable_lengths_and_zero_padding():
    ds = load_dataset("JapaneseVowels")
    assert ds.X_train.shape == (270, 29, 12) and ds.X_test.shape == (370, 29, 12)
    assert ds.lengths_train.min() == 7 and ds.lengths_test.max() == 29
    assert len(np.unique(np.concatenate([ds.lengths_train, ds.lengths_test]))) > 10
    for X, lengths in ((ds.X_train, ds.lengths_train), (ds.X_test, ds.lengths_test)):
        valid = _valid(lengths, X.shape[1])
        assert (~valid).any()
        assert (X[~valid] == 0.0).all()
        # a real cepstrum coefficient is never exactly 0 on every channel at a valid step
        assert (np.abs(X[valid]).sum(axis=-1) > 0).all()
    # 30 utterances of each of the 9 speakers in training
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(9, 30))
    assert ds.class_names == tuple(str(k) for k in range(1, 10))


@needs_aeon
@pytest.mark.parametrize("name", ["JapaneseVowels", "BasicMotions", "GunPoint", "PickupGestureWiimoteZ"])
def test_z_normalisation_is_fitted_on_train_only(name):
    raw = load_dataset(name, normalize=False)
    ds = load_dataset(name)
    tr_valid = _valid(ds.lengths_train, ds.n_timesteps)
    te_valid = _valid(ds.lengths_test, ds.n_timesteps)
    z = ds.X_train[tr_valid].astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-5)
    values = raw.X_train[tr_valid].astype(np.float64)
    np.testing.assert_allclose(ds.feature_mean, values.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ds.feature_std, values.std(axis=0), rtol=1e-12)
    # test split: the training statistics, not its own
    expected = (raw.X_test[te_valid].astype(np.float64) - values.mean(axis=0)) / values.std(axis=0)
    np.testing.assert_allclose(ds.X_test[te_valid], expected, rtol=1e-5, atol=1e-5)
    assert (ds.X_test[~te_valid] == 0).all() and (ds.X_train[~tr_valid] == 0).all()
    assert raw.feature_mean is None and raw.feature_std is None


@needs_aeon
def test_test_split_is_not_refit():
    # JapaneseVowels' test utterances come from other sessions than the training ones: with the training
    # statistics their first coefficient is clearly off-centre, which a refit on test would hide.
    ds = load_dataset("JapaneseVowels")
    valid = _valid(ds.lengths_test, ds.n_timesteps)
    test_mean = ds.X_test[valid].astype(np.float64).mean(axis=0)
    assert abs(test_mean[0]) > 0.1


@needs_aeon
def test_labels_sorted_and_originals_kept():
    ds = load_dataset("BasicMotions")
    assert ds.class_names == ("Badminton", "Running", "Standing", "Walking")
    # numeric labels are ordered by value, not as text
    ds = load_dataset("PickupGestureWiimoteZ")
    assert ds.class_names == tuple(str(k) for k in range(1, 11))
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 5))


@needs_aeon
def test_returns_copies_of_the_cache():
    first = load_dataset("GunPoint")
    expected = first.X_train.copy()
    for arr in (first.X_train, first.X_test, first.y_train, first.lengths_train):
        arr[...] = 0
    second = load_dataset("GunPoint")
    np.testing.assert_array_equal(second.X_train, expected)
    assert second.y_train.any() and (second.lengths_train == 150).all()
    raw = load_dataset("GunPoint", normalize=False)
    raw.X_train[...] = -1
    assert not (load_dataset("GunPoint", normalize=False).X_train == -1).all()


@needs_aeon
def test_reads_only_the_bundled_files_without_network(monkeypatch):
    import aeon

    def no_network(*args, **kwargs):
        raise AssertionError("relaywidgets.data tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(urllib.request, "urlretrieve", no_network)
    uea_ucr._load_raw.cache_clear()
    ds = load_dataset("JapaneseVowels")
    root = os.path.join(os.path.dirname(os.path.abspath(aeon.__file__)), "datasets", "data")
    assert bundled_data_dir() == root
    sources = ds.source.split(os.pathsep)
    assert sources == [
        os.path.join(root, "JapaneseVowels", "JapaneseVowels_TRAIN.ts"),
        os.path.join(root, "JapaneseVowels", "JapaneseVowels_TEST.ts"),
    ]
    assert all(os.path.isfile(p) for p in sources)


@needs_aeon
def test_missing_bundled_file_is_refused_not_downloaded(monkeypatch, tmp_path):
    monkeypatch.setattr(uea_ucr, "bundled_data_dir", lambda: str(tmp_path))
    uea_ucr._load_raw.cache_clear()
    try:
        with pytest.raises(InputError, match="does not bundle the data set 'GunPoint'.*never downloads"):
            load_dataset("GunPoint")
    finally:
        uea_ucr._load_raw.cache_clear()


@needs_aeon
def test_name_is_case_insensitive():
    assert load_dataset("japanesevowels").name == "JapaneseVowels"


def test_unknown_name_lists_the_available_sets():
    with pytest.raises(InputError) as info:
        load_dataset("JapaneseVowel")
    message = str(info.value)
    assert "Unknown data set 'JapaneseVowel'" in message
    assert "Did you mean 'JapaneseVowels'" in message
    for name in PUBLISHED:
        assert repr(name) in message


def test_unknown_name_is_rejected_before_aeon_is_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    with pytest.raises(InputError, match="Available data sets"):
        load_dataset("FordA")


def test_bad_parameters():
    with pytest.raises(InputError, match="The 'name' parameter of load_dataset must be a str. Got int"):
        load_dataset(3)
    with pytest.raises(InputError, match="The 'normalize' parameter of load_dataset must be a bool"):
        load_dataset("GunPoint", normalize="yes")


def test_missing_aeon_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    uea_ucr._load_raw.cache_clear()
    try:
        with pytest.raises(ImportError, match=r'pip install "relaywidgets\[datasets\]"'):
            load_dataset("JapaneseVowels")
        with pytest.raises(ImportError, match="optional dependency aeon"):
            bundled_data_dir()
    finally:
        uea_ucr._load_raw.cache_clear()


def test_importing_the_data_package_does_not_import_aeon_or_widgets():
    code = (
        "import sys, relaywidgets.data; "
        "print(sorted(m for m in ('aeon', 'torch', 'ipywidgets', 'bqplot', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
