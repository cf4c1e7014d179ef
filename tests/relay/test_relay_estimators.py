"""The relay search with every registered estimator: bounds, planted truth, and the two code paths.

Cases are read from the estimator registry, so a newly registered estimator is checked here too:
its relay total lies within [0, H(O)], it finds a planted relay, and when it has vectorised count
hooks the counting search gives what the generic search (one estimator call per candidate set)
gives, on numpy and, with ``supports_torch``, on torch.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pytest

from relaywidgets.errors import InputError
from relaywidgets.info import Estimator, PluginEstimator, estimators, get_estimator, register_estimator
from relaywidgets.info import registry
from relaywidgets.relay import find_relays, relay_information
from relaywidgets.relay._prepare import resolve_estimator
from relaywidgets.testing import make_recording, planted_relay

KW = dict(progress=False, device="numpy")
ALL = list(estimators())
VECTORISED = [n for n, e in estimators().items() if getattr(e, "vectorised_counts", False)]
TORCH = [n for n in VECTORISED if estimators()[n].supports_torch]
# The continuous estimators' tolerance on H(O) (k-NN estimates may overshoot slightly).
TOL = {"discrete": 1e-9, "continuous": 0.1}


def _quiet_relays(rec, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return find_relays(rec, **{**KW, **kw})


def _generic(est: Estimator) -> Estimator:
    """The same estimator without vectorised count hooks: the relay search takes the generic path."""
    cls = type(type(est).__name__ + "Generic", (type(est),), {"vectorised_counts": False, "name": est.name + "-generic"})
    return cls(**est.get_params())


@pytest.mark.parametrize("name", ALL)
def test_relay_total_lies_within_zero_and_the_output_entropy(name):
    rec, _ = planted_relay("single", n_nodes=3, n_samples=600, seed=1, noise=0.3)
    res = _quiet_relays(rec, concepts=[1], n_perm=0, estimator=name)
    est = get_estimator(name)
    out = rec["prediction"].values
    h_o = est.entropy(out)
    total = float(res["total"].item())
    tol = TOL[est.kind]
    assert -tol <= total <= h_o + tol, (name, total, h_o)
    assert np.isfinite(res["curve"].values).all()
    # The planted node is the relay, and relay_information agrees with the search's total.
    assert set(np.flatnonzero(res["is_relay"].values.ravel()).tolist()) == {0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = relay_information(rec, [0, 1, 2], time=0, concept=1, estimator=name)
    assert every == pytest.approx(total, abs=1e-9)


@pytest.fixture(scope="module")
def lstm_recording(trained_lstm, cue_data):
    """The recording of a small LSTM trained on delayed-cue (conftest), 300 test sequences."""
    pytest.importorskip("torch")
    from relaywidgets import record

    _, _, X_test, y_test = cue_data
    return record(trained_lstm, X_test[:300], y_test[:300])


@pytest.mark.parametrize("name", ALL)
def test_relay_total_on_a_trained_recording_lies_within_zero_and_the_output_entropy(name, lstm_recording):
    # A trained network's decision is (nearly) a function of its last state, the case where an
    # estimator that treats the discrete output as continuous reported 6-12 bits for a binary O_c.
    rec = lstm_recording
    last = int(rec["time"].values[-1])
    concepts = [0, 1, 2, 3] if name != "ksg" else [1, 3]  # k-NN calls are the slow ones
    for variable in ("hidden", "cell"):
        res = _quiet_relays(rec, concepts=concepts, times=[last, 2], n_perm=0, estimator=name, variable=variable)
        pred = rec["prediction"].values
        est = get_estimator(name)
        for c in concepts:
            h_o = est.entropy((pred == c).astype(int))  # H(O_c) as this estimator estimates it
            totals = res["total"].sel(concept=str(c)).values
            tol = TOL[est.kind]
            assert np.all(totals >= -tol) and np.all(totals <= h_o + tol), (name, variable, c, totals, h_o)
        if name == "ksg":
            break  # one variable is enough for the slowest estimator


@pytest.mark.parametrize("name", VECTORISED)
@pytest.mark.parametrize("source", ["input", "label"])
def test_counting_search_equals_generic_search(name, source):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(5, 400))
    out = np.where(rng.random(400) < 0.2, 1 - (bits[0] & bits[1]), bits[0] & bits[1])
    rec = make_recording(0.9 * (2.0 * bits - 1.0), out, bits[0])
    est = get_estimator(name)
    assert resolve_estimator(est)[1] and not resolve_estimator(_generic(est))[1]
    fast = _quiet_relays(rec, concepts=[1], n_perm=20, estimator=est, source=source)
    slow = _quiet_relays(rec, concepts=[1], n_perm=20, estimator=_generic(est), source=source)
    for key in ("curve", "unique_relay", "marginal_mi", "null_mean", "null_mean_relay"):
        np.testing.assert_allclose(fast[key].values, slow[key].values, atol=1e-9, err_msg=key)
    np.testing.assert_array_equal(fast["removed"].values, slow["removed"].values)


@pytest.mark.parametrize("name", TORCH)
def test_torch_counting_equals_numpy_counting(name):
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(5, 500))
    rec = make_recording(0.9 * (2.0 * bits - 1.0), bits[0] | bits[2], bits[1])
    kw = dict(concepts=[1], n_perm=10, estimator=name, source="label", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = find_relays(rec, device="numpy", **kw)
        b = find_relays(rec, backend="torch", device="cpu", **kw)
    np.testing.assert_allclose(a["curve"].values, b["curve"].values, atol=1e-10)
    np.testing.assert_array_equal(a["removed"].values, b["removed"].values)
    assert a.attrs["device"] == "numpy" and b.attrs["device"] == "cpu"


class _Wrapped(Estimator):
    """A custom discrete estimator with no count hooks at all (public methods only)."""

    name: ClassVar[str] = "wrapped-plugin"
    kind: ClassVar[str] = "discrete"
    description: ClassVar[str] = "The plug-in estimator behind the public methods only."
    citation: ClassVar[str] = "Paninski L. (2003) Neural Computation 15(6):1191-1253."

    def __init__(self) -> None:
        self._inner = PluginEstimator()

    def entropy(self, a: Any, **kw: Any) -> float:
        return self._inner.entropy(a)

    def conditional_entropy(self, a: Any, given: Any, **kw: Any) -> float:
        return self._inner.conditional_entropy(a, given)

    def mutual_information(self, a: Any, b: Any, **kw: Any) -> float:
        return self._inner.mutual_information(a, b)

    def conditional_mutual_information(self, a: Any, b: Any, given: Any, **kw: Any) -> float:
        return self._inner.conditional_mutual_information(a, b, given)


def test_a_registered_estimator_without_count_hooks_runs_the_generic_path(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, _Wrapped.name, _Wrapped)
    register_estimator(_Wrapped)
    rec, _ = planted_relay("and", n_nodes=4, n_samples=1000, seed=2)
    assert resolve_estimator("wrapped-plugin")[1] is False
    custom = _quiet_relays(rec, concepts=[1], n_perm=10, estimator="wrapped-plugin")
    plugin = _quiet_relays(rec, concepts=[1], n_perm=10, estimator="plugin")
    np.testing.assert_allclose(custom["curve"].values, plugin["curve"].values, atol=1e-9)
    np.testing.assert_array_equal(custom["is_relay"].values, plugin["is_relay"].values)
    assert custom.attrs["estimator"] == "wrapped-plugin" and custom.attrs["device"] == "numpy"


def test_backend_and_device_spellings_of_find_relays():
    rec, _ = planted_relay("single", n_nodes=3, n_samples=300, seed=3)
    a = _quiet_relays(rec, concepts=[1], n_perm=0)
    b = _quiet_relays(rec, concepts=[1], n_perm=0, device=None, backend="numpy")
    np.testing.assert_array_equal(a["curve"].values, b["curve"].values)
    assert b.attrs["device"] == "numpy"
    with pytest.raises(InputError, match="The 'backend' parameter of find_relays must be one of 'numpy', 'torch', 'auto'"):
        find_relays(rec, n_perm=0, progress=False, backend="jax")
