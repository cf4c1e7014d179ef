"""Bad input gives errors (or a warning) that say what is wrong, where, and what to do next."""

from __future__ import annotations

import re

import numpy as np
import pytest

from relaywidgets.errors import InputError
from relaywidgets.info import (
    UndersamplingWarning,
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    get_estimator,
    mutual_information,
    permutation_test,
)

from info_cases import registered  # noqa: E402

ALL = registered()


@pytest.mark.parametrize("estimator", ALL)
def test_nan_error_names_how_many_and_where(estimator):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 2))
    b = rng.integers(0, 2, 50)
    a[[4, 17], 1] = np.nan
    a[30, 0] = np.nan
    with pytest.raises(InputError) as err:
        mutual_information(a, b, estimator=estimator)
    msg = str(err.value)
    assert "'a'" in msg and "3 NaN" in msg and "3 sample(s)" in msg
    assert "(4, 1)" in msg and "(17, 1)" in msg and "(30, 0)" in msg
    assert "Drop those samples" in msg


@pytest.mark.parametrize("estimator", ALL)
def test_mismatched_sample_counts(estimator):
    rng = np.random.default_rng(1)
    with pytest.raises(InputError, match=r"same number of samples.*'a' has 40, 'b' has 39"):
        mutual_information(rng.standard_normal(40), rng.integers(0, 2, 39), estimator=estimator)
    with pytest.raises(InputError, match="'given' has 10"):
        conditional_mutual_information(
            rng.standard_normal(40), rng.integers(0, 2, 40), rng.standard_normal(10), estimator=estimator
        )


@pytest.mark.parametrize("estimator", ALL)
def test_fewer_than_two_samples(estimator):
    with pytest.raises(InputError, match="At least 2 samples are needed.*got 1"):
        mutual_information(np.array([0.5]), np.array([1]), estimator=estimator)
    with pytest.raises(InputError, match="got 0"):
        mutual_information(np.zeros(0), np.zeros(0, int), estimator=estimator)


@pytest.mark.parametrize("estimator", registered(counting=True))
def test_continuous_data_to_a_discrete_estimator_suggests_a_discretizer(estimator):
    x = np.random.default_rng(2).standard_normal((30, 2))
    with pytest.raises(InputError) as err:
        entropy(x, estimator=estimator)
    msg = str(err.value)
    assert "continuous values" in msg and "discretize(" in msg and "'two-means'" in msg
    assert "'gcmi'" in msg and "'ksg'" in msg
    # Floats holding whole numbers are accepted as codes.
    assert entropy(np.array([0.0, 1.0, 1.0, 0.0] * 5), estimator=estimator) > 0


def test_missing_codes_from_discretize_are_refused():
    codes = np.array([[0, 1], [1, -1], [0, 0], [1, 1]], dtype=np.int8)
    with pytest.raises(InputError, match=r"1 negative state code.*\(1, 1\).*marks missing"):
        entropy(codes)


def test_unknown_estimator_lists_valid_ones():
    with pytest.raises(InputError) as err:
        mutual_information(np.zeros(5, int), np.zeros(5, int), estimator="nsb")
    msg = str(err.value)
    assert "'nsb'" in msg
    for name in ALL:
        assert repr(name) in msg


def test_undersampling_warning_gives_both_numbers_and_suggestions():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2, (200, 12), dtype=np.int8)
    o = rng.integers(0, 2, 200)
    with pytest.warns(UndersamplingWarning) as rec:
        conditional_entropy(o, a)
    msg = str(rec[0].message)
    n_states = len(np.unique(np.column_stack([a, o]), axis=0))
    assert f"{n_states:,} observed states for 200 samples" in msg
    assert "'miller-madow'" in msg and "'shrinkage'" in msg and "'gcmi'" in msg and "'ksg'" in msg
    assert rec[0].filename == __file__  # points at the caller's line
    # Enough samples per state: no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conditional_entropy(o, a[:, :2])
        get_estimator("plugin", min_samples_per_state=0).conditional_entropy(o, a)


def test_continuous_estimator_errors():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(100)
    labels = rng.integers(0, 2, 100)
    with pytest.raises(InputError, match="at least one continuous argument"):
        mutual_information(labels, labels, estimator="gcmi")
    with pytest.raises(InputError, match="does not estimate the entropy of a continuous"):
        entropy(x, estimator="ksg")
    with pytest.raises(InputError, match="needs a discrete 'a'"):
        conditional_entropy(x, x, estimator="gcmi")
    with pytest.raises(InputError, match="singular"):
        mutual_information(np.column_stack([x, x]), labels, estimator="gcmi")
    with pytest.raises(InputError, match="only used by discrete estimators"):
        mutual_information(x, labels, estimator="gcmi", backend="torch")
    with pytest.raises(InputError, match=re.escape("The 'discrete_a' parameter")):
        mutual_information(x, labels, estimator="ksg", discrete_a="yes")


def test_backend_and_permutation_parameter_errors():
    codes = np.zeros(10, int)
    with pytest.raises(InputError, match="'backend' parameter must be one of 'numpy', 'torch'"):
        entropy(codes, backend="jax")
    with pytest.raises(InputError, match="only used with backend='torch'"):
        entropy(codes, device="cuda")
    with pytest.raises(InputError, match=r"The 'n_perm' parameter of permutation_test must be an int in \[1, inf\)"):
        permutation_test("entropy", codes, n_perm=0)
    with pytest.raises(InputError, match="Unknown statistic"):
        permutation_test("mi", codes, codes)
    with pytest.raises(InputError, match="only 2 argument"):
        permutation_test("mutual_information", codes, codes, permute=[0, 5])


def test_non_numeric_input():
    with pytest.raises(InputError, match="must hold numbers"):
        entropy(np.array(["a", "b", "a"]))
