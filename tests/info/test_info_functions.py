"""Function-level behaviour the relay search relies on: empty conditions, DataArrays, objects."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.errors import InputError
from relaywidgets.info import (
    conditional_entropy,
    conditional_mutual_information,
    discretize,
    entropy,
    get_estimator,
    mutual_information,
)

from info_cases import registered  # noqa: E402

ALL = registered()


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n, 4))
    o = (h[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    return h, o


@pytest.mark.parametrize("estimator", ALL)
def test_an_empty_condition_means_no_condition(estimator):
    h, o = _data()
    x = h if get_estimator(estimator).kind == "continuous" else discretize(h)
    empty = np.zeros((len(o), 0))
    assert conditional_entropy(o, empty, estimator=estimator) == pytest.approx(entropy(o, estimator=estimator))
    assert conditional_mutual_information(x, o, empty, estimator=estimator) == pytest.approx(
        mutual_information(x, o, estimator=estimator)
    )


def test_planted_and_gate_with_the_plugin():
    # O = a AND b (METHOD.md): H(O) = H(1/4) = 0.811 bit, H(O | a) = 1/2 bit, H(O | a, b) = 0.
    rng = np.random.default_rng(1)
    ab = rng.integers(0, 2, (4000, 2))
    noise = rng.integers(0, 2, (4000, 3))
    o = ab[:, 0] & ab[:, 1]
    p = o.mean()
    h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert entropy(o) == pytest.approx(h, abs=1e-12)
    pa1 = ab[:, 0].mean()
    pb_given_a = o[ab[:, 0] == 1].mean()
    h_given_a = pa1 * -(pb_given_a * np.log2(pb_given_a) + (1 - pb_given_a) * np.log2(1 - pb_given_a))
    assert conditional_entropy(o, ab[:, :1]) == pytest.approx(h_given_a, abs=1e-12)
    assert conditional_entropy(o, np.hstack([ab, noise])) == 0.0
    # I_R({a}) = H(O | rest) - H(O | all) with rest = {b} + noise
    relay_a = conditional_entropy(o, np.hstack([ab[:, 1:], noise])) - conditional_entropy(o, np.hstack([ab, noise]))
    assert relay_a == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("estimator", ["plugin", "gcmi"])
def test_dataarray_arguments_put_samples_first(estimator):
    import xarray as xr

    h, o = _data()
    x = h if estimator == "gcmi" else discretize(h)
    da = xr.DataArray(x.T, dims=("node", "sample"))  # a recording slice: node first
    assert mutual_information(da, o, estimator=estimator) == pytest.approx(
        mutual_information(x, o, estimator=estimator), abs=1e-12
    )


def test_estimator_objects_and_discrete_declarations():
    h, o = _data()
    ksg5 = get_estimator("ksg", k=5)
    assert mutual_information(h[:, 0], o, estimator=ksg5) == pytest.approx(ksg5.mutual_information(h[:, 0], o))
    # Labels stored as floats are declared discrete; integers declared continuous are ranked.
    as_float = o.astype(float)
    assert mutual_information(h[:, 0], as_float, estimator="gcmi", discrete_b=True) == pytest.approx(
        mutual_information(h[:, 0], o, estimator="gcmi")
    )
    with pytest.raises(InputError, match="discrete_b=False"):
        mutual_information(h[:, 0], h[:, 1], estimator="gcmi", discrete_b=True)


def test_conditional_entropy_of_a_decision_given_continuous_nodes():
    # O is a deterministic function of h0: H(O | h) is near 0 for the k-NN estimator.
    h, _ = _data(4000, seed=2)
    o = (h[:, 0] > 0).astype(int)
    assert conditional_entropy(o, h[:, :2], estimator="ksg") == pytest.approx(0.0, abs=0.05)
    # and near H(O) = 1 bit given irrelevant nodes
    assert conditional_entropy(o, h[:, 2:], estimator="ksg") == pytest.approx(1.0, abs=0.05)
