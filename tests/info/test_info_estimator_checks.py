"""Every registered estimator passes the estimator battery (as scikit-learn's parametrize_with_checks).

The cases are read from the registry at collection time, so an estimator registered with
``register_estimator`` is checked without touching this file.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from relaywidgets.info import PluginEstimator, estimators, get_estimator, register_estimator
from relaywidgets.info import registry
from relaywidgets.info.estimation.checks import check_estimator, estimator_checks

CASES = [
    pytest.param(name, check, id=f"{name}-{check.__name__}")
    for name, est in estimators().items()
    for check in estimator_checks(est)
]


@pytest.mark.parametrize("name, check", CASES)
def test_registered_estimator_passes(name, check):
    check(get_estimator(name))


def test_every_registered_estimator_is_in_the_battery():
    assert {p.values[0] for p in CASES} == set(estimators())


class _BaseHook(PluginEstimator):
    """A vectorised discrete estimator written only through entropy_from_counts (the base hook)."""

    name: ClassVar[str] = "plugin-via-base-hook"
    drops_pure_groups: ClassVar[bool] = False
    monotone_in_given: ClassVar[bool] = False

    def conditional_entropy_from_counts(self, counts: Any, n_samples: int, **kwargs: Any) -> Any:
        # The DiscreteEstimator default: H(O, W) - H(W) from entropy_from_counts.
        return super(PluginEstimator, self).conditional_entropy_from_counts(counts, n_samples, **kwargs)


def test_a_newly_registered_estimator_is_checked(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, _BaseHook.name, _BaseHook)
    register_estimator(_BaseHook)
    assert _BaseHook.name in estimators()
    names = [c.__name__ for c in estimator_checks(get_estimator(_BaseHook.name))]
    assert "check_count_hooks_match_public_methods" in names
    check_estimator(get_estimator(_BaseHook.name))


def test_the_battery_catches_a_wrong_estimator():
    class Skewed(PluginEstimator):  # a bias that breaks the symmetry of I(A; B)
        name: ClassVar[str] = "skewed"

        def mutual_information(self, a: Any, b: Any, **kwargs: Any) -> float:
            return super().mutual_information(a, b, **kwargs) + 0.01 * float(np.mean(a))

    with pytest.raises(AssertionError, match="I\\(B;A\\)"):
        check_estimator(Skewed())

    class WrongHook(PluginEstimator):  # count hook out of step with the public methods
        name: ClassVar[str] = "wrong-hook"

        def conditional_entropy_from_counts(self, counts: Any, n_samples: int, **kwargs: Any) -> Any:
            return super().conditional_entropy_from_counts(counts, n_samples, **kwargs) * 1.01

    with pytest.raises(AssertionError, match="hook != conditional_entropy"):
        check_estimator(WrongHook())
