"""Property tests (hypothesis): symmetry, relabelling invariance, chain rule, non-negativity."""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from relaywidgets.info import (  # noqa: E402
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    mutual_information,
)

from info_cases import registered  # noqa: E402

DISCRETE = registered(counting=True)
pytestmark = pytest.mark.filterwarnings("ignore::relaywidgets.info.UndersamplingWarning")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@st.composite
def samples(draw, n_vars=3):
    """``n_vars`` discrete variables (1-3 columns, 2-4 states each) over the same 2-60 samples."""
    n = draw(st.integers(2, 60))
    out = []
    for _ in range(n_vars):
        cols = draw(st.integers(1, 3))
        k = draw(st.integers(2, 4))
        out.append(draw(arrays(np.int64, (n, cols), elements=st.integers(0, k - 1))))
    return out


@st.composite
def relabelling(draw, x):
    """An injective relabelling of each column's states to arbitrary non-negative integers."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        values = np.unique(x[:, j])
        targets = draw(st.lists(st.integers(0, 10**6), min_size=len(values), max_size=len(values), unique=True))
        out[:, j] = np.asarray(targets)[np.searchsorted(values, x[:, j])]
    return out


@SETTINGS
@given(samples(2), st.sampled_from(DISCRETE))
def test_mutual_information_is_symmetric(data, estimator):
    a, b = data
    assert mutual_information(a, b, estimator=estimator) == pytest.approx(
        mutual_information(b, a, estimator=estimator), abs=1e-12
    )


@SETTINGS
@given(st.data(), samples(3), st.sampled_from(DISCRETE))
def test_invariant_to_relabelling_states(data, variables, estimator):
    a, b, c = variables
    ra, rb, rc = (data.draw(relabelling(v)) for v in variables)
    for fn, args, relabelled in [
        (entropy, (a,), (ra,)),
        (conditional_entropy, (a, c), (ra, rc)),
        (mutual_information, (a, b), (ra, rb)),
        (conditional_mutual_information, (a, b, c), (ra, rb, rc)),
    ]:
        assert fn(*relabelled, estimator=estimator) == pytest.approx(fn(*args, estimator=estimator), abs=1e-9)
    # Reordering the columns of a joint variable does not change it either.
    assert mutual_information(a[:, ::-1], b, estimator=estimator) == pytest.approx(
        mutual_information(a, b, estimator=estimator), abs=1e-9
    )


@SETTINGS
@given(samples(3))
def test_chain_rule_for_plugin(variables):
    a, b, c = variables
    lhs = mutual_information(a, np.hstack([b, c]))
    rhs = mutual_information(a, c) + conditional_mutual_information(a, b, c)
    assert lhs == pytest.approx(rhs, abs=1e-9)
    # And for entropies: H(A, C) = H(C) + H(A | C).
    assert entropy(np.hstack([a, c])) == pytest.approx(entropy(c) + conditional_entropy(a, c), abs=1e-9)


@SETTINGS
@given(samples(3))
def test_plugin_information_is_non_negative(variables):
    a, b, c = variables
    assert mutual_information(a, b) >= 0.0
    assert conditional_mutual_information(a, b, c) >= 0.0
    assert conditional_entropy(a, c) >= 0.0
    # and bounded by the entropies
    assert mutual_information(a, b) <= min(entropy(a), entropy(b)) + 1e-9
