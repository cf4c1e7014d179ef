"""The TimeSeriesDataset container, label encoding and the .ts reader on hand-written files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from relaywidgets.data import DatasetInfo, TimeSeriesDataset
from relaywidgets.data.dataset import apply_znorm, encode_labels, fit_znorm
from relaywidgets.data.ts_format import read_ts
from relaywidgets.errors import InputError


def _arrays(n_train=4, n_test=3, T=5, F=2):
    return dict(
        name="toy",
        X_train=np.zeros((n_train, T, F), np.float32),
        y_train=np.arange(n_train, dtype=np.int64) % 2,
        lengths_train=np.full(n_train, T, np.int64),
        X_test=np.zeros((n_test, T, F), np.float32),
        y_test=np.arange(n_test, dtype=np.int64) % 2,
        lengths_test=np.full(n_test, T, np.int64),
        class_names=("a", "b"),
    )


def test_container_properties_repr_and_frozen():
    ds = TimeSeriesDataset(**_arrays())
    assert (ds.n_features, ds.n_classes, ds.n_timesteps) == (2, 2, 5)
    assert repr(ds) == "TimeSeriesDataset(name='toy', train=4, test=3, time=5, features=2, classes=2)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X_train": np.zeros((4, 5, 2), np.float64)}, "X_train of a TimeSeriesDataset must be a float32"),
        ({"X_test": np.zeros((3, 6, 2), np.float32)}, r"must share \(time, feature\)"),
        ({"y_train": np.zeros(4, np.int32)}, "y_train of a TimeSeriesDataset must be an int64"),
        ({"y_test": np.array([0, 1, 2], np.int64)}, r"y_test must hold class indices in 0 \.\. 1"),
        ({"lengths_test": np.array([1, 6, 2], np.int64)}, r"lengths_test must lie in 1 \.\. 5"),
        ({"lengths_train": np.zeros(3, np.int64)}, r"lengths_train of a TimeSeriesDataset must be an int64 ndarray of shape \(4,\)"),
    ],
)
def test_container_rejects_inconsistent_arrays(change, message):
    with pytest.raises(InputError, match=message):
        TimeSeriesDataset(**{**_arrays(), **change})


def test_dataset_info_one_line_summary():
    info = DatasetInfo("X", "what it is", "UEA", n_classes=3, n_features=2, min_length=4, max_length=9,
                       n_train=10, n_test=20)
    assert info.variable_length
    assert str(info) == "X: what it is [UEA; 3 classes, 2 channels, length 4-9, 10 train / 20 test]"


def test_encode_labels_orders_numbers_by_value_and_text_alphabetically():
    codes, names = encode_labels(["10", "2", "b", "1", "a", "2"])
    assert names == ("1", "2", "10", "a", "b")
    np.testing.assert_array_equal(codes, [2, 1, 4, 0, 3, 1])
    codes, names = encode_labels(np.array([0.5, -1.0, 0.5]))
    assert names == ("-1.0", "0.5")
    np.testing.assert_array_equal(codes, [1, 0, 1])


def test_znorm_exact_values():
    # feature 0: valid values 1, 3 (sample 0) and 5 (sample 1) -> mean 3, std sqrt(8/3)
    X = np.array([[[1.0, 2.0], [3.0, 2.0]], [[5.0, 2.0], [100.0, 100.0]]], np.float32)
    lengths = np.array([2, 1])
    mean, std = fit_znorm(X, lengths)
    np.testing.assert_allclose(mean, [3.0, 2.0])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 1.0])
    out = apply_znorm(X, lengths, mean, std)
    np.testing.assert_allclose(out[0, :, 0], [-2 / np.sqrt(8 / 3), 0.0], rtol=1e-6)
    assert out[1, 1].tolist() == [0.0, 0.0]


def test_read_ts_multivariate_variable_length_with_missing(tmp_path):
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_text(
        "# a comment\n@problemName Toy\n@timeStamps false\n@missing true\n@univariate false\n"
        "@dimensions 2\n@equalLength false\n@classLabel true Up Down\n@data\n"
        "1,2,3:4,5,6:Up\n\n7,?:8,9:Down\n"
    )
    series, labels, header = read_ts(str(path))
    assert labels == ["Up", "Down"]
    assert header["problemname"] == "Toy"
    np.testing.assert_array_equal(series[0], [[1, 4], [2, 5], [3, 6]])
    assert series[1].shape == (2, 2) and np.isnan(series[1][1, 0]) and series[1][1, 1] == 9


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("@classLabel false\n@data\n1,2:3\n", "not a classification file"),
        ("@timeStamps true\n@classLabel true a\n@data\n(0,1):a\n", "timestamps are not supported"),
        ("@classLabel true a\n@data\n1,2:3,4:a\n1,2:a\n", "1 channels, but earlier cases have 2"),
        ("@classLabel true a\n@data\n1,x:a\n", "a value is not a number"),
        ("@classLabel true a\n@data\n1,2:3:a\n", "the channels of a case differ in length"),
        ("@classLabel true a\n@data\n", "holds no cases"),
        ("1,2:a\n", "expected a '@' header line"),
    ],
)
def test_read_ts_rejects_malformed_files(tmp_path, body, message):
    path = tmp_path / "bad.ts"
    path.write_text(body)
    with pytest.raises(InputError, match=message):
        read_ts(str(path))
