"""An estimator that cannot analyse one concept (gcmi with a rare class) costs that concept only."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from relaywidgets import InputError, find_relays, recording_from_arrays
from relaywidgets.relay import EstimatorFailedWarning


def _recording(rare: int) -> "xr.Dataset":
    """6 nodes, 2 steps, 400 samples; class 2 is predicted for ``rare`` samples only. Node 0 carries class 0."""
    rng = np.random.default_rng(0)
    n = 400
    pred = np.where(np.arange(n) < rare, 2, rng.integers(0, 2, size=n))
    hidden = rng.normal(size=(6, 2, n))
    hidden[0] += 3.0 * (pred == 0)
    return recording_from_arrays(hidden, pred, num_classes=3)


def test_gcmi_with_a_class_rarer_than_the_nodes_leaves_that_concept_nan_and_warns():
    rec = _recording(rare=4)  # gcmi needs more than nodes + 1 = 7 samples per class
    with pytest.warns(EstimatorFailedWarning, match=r"concept\(s\) '2' at step\(s\) \[0, 1\].*class 1 has 4 sample"):
        res = find_relays(rec, estimator="gcmi", n_perm=0, progress=False)
    assert np.isnan(res.total.sel(concept="2")).all()
    assert not res.is_relay.sel(concept="2").any()
    # the other concepts are analysed exactly as they are alone
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimatorFailedWarning)
        alone = find_relays(rec, estimator="gcmi", n_perm=0, progress=False, concepts=[0, 1])
    for c in ("0", "1"):
        np.testing.assert_array_equal(res.total.sel(concept=c), alone.total.sel(concept=c))
        np.testing.assert_array_equal(res.is_relay.sel(concept=c), alone.is_relay.sel(concept=c))
    assert res.total.sel(concept="0").min() > 0.3  # node 0 carries class 0: the planted information is found
    assert bool(res.is_relay.sel(concept="0", node=res.node[0]).all())


def test_when_no_concept_can_be_analysed_the_error_is_raised():
    rec = _recording(rare=4)
    with pytest.raises(InputError, match="could not analyse any concept at any step.*Merge rare classes"):
        find_relays(rec, estimator="gcmi", n_perm=0, progress=False, concepts=[2])


def test_a_class_with_enough_samples_is_analysed():
    rec = _recording(rare=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimatorFailedWarning)
        res = find_relays(rec, estimator="gcmi", n_perm=0, progress=False)
    assert np.isfinite(res.total).all()
