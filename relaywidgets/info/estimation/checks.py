"""A battery of checks that every information estimator must pass (like scikit-learn's estimator checks).

:func:`estimator_checks` yields the checks that apply to an estimator (chosen from its ``kind`` and
capability flags); :func:`check_estimator` runs them all. The test suite runs the battery over every
estimator in the registry, so a newly registered estimator is checked without touching the tests;
authors of an estimator can call :func:`check_estimator` on theirs.

Truths are exact or analytic, never the code's own earlier output: the mutual information of
independent variables is 0, that of a discrete variable with itself is its entropy, a bivariate
Gaussian with correlation rho has ``-1/2 log2(1 - rho^2)`` bits, and the vectorised count hooks of a
discrete estimator must give what its public methods give.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..counting import entropy_from_counts
from .base import DiscreteEstimator, Estimator

__all__ = ["estimator_checks", "check_estimator"]

Check = Callable[[Estimator], None]

#: Samples of the checks' data sets (enough for the tolerances below with every built-in estimator).
N_SAMPLES = 2000
#: Bits an estimate of a zero information may stray from 0 (plug-in bias with these alphabets is ~1e-3).
ZERO_TOL = 0.03
#: Bits a continuous estimate of a Gaussian mutual information may stray from the analytic value.
GAUSSIAN_TOL = 0.05


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undersampling warnings are not what is checked here
        return fn(*args, **kwargs)


def _pair(est: Estimator, seed: int, dependent: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two variables of the estimator's kind, dependent or independent."""
    rng = np.random.default_rng(seed)
    if est.kind == "discrete":
        a = rng.integers(0, 3, N_SAMPLES)
        b = (a + (rng.random(N_SAMPLES) < 0.3)) % 2 if dependent else rng.integers(0, 2, N_SAMPLES)
        return a, b
    a = rng.standard_normal(N_SAMPLES)
    b = 0.6 * a + 0.8 * rng.standard_normal(N_SAMPLES) if dependent else rng.standard_normal(N_SAMPLES)
    return a, b


# ---------------------------------------------------------------------------------------- checks
def check_metadata(est: Estimator) -> None:
    """Name, kind, a one-line description and a citation with a year; parameters round-trip."""
    assert isinstance(est.name, str) and est.name, "an estimator needs a non-empty string 'name'"
    assert est.kind in ("discrete", "continuous"), f"kind must be 'discrete' or 'continuous', got {est.kind!r}"
    assert est.description and "\n" not in est.description and len(est.description) < 140, (
        f"{est.name}: 'description' must be one line under 140 characters"
    )
    assert est.citation and any(str(year) in est.citation for year in range(1948, 2031)), (
        f"{est.name}: 'citation' must name a publication with its year"
    )
    clone = type(est)(**est.get_params())
    assert clone == est and hash(clone) == hash(est), f"{est.name}: get_params() must rebuild an equal estimator"


def check_flags(est: Estimator) -> None:
    """Capability flags are booleans, and only discrete estimators claim count hooks."""
    for flag in ("vectorised_counts", "supports_torch", "needs_alphabet", "drops_pure_groups",
                 "monotone_in_given", "non_negative"):
        value = getattr(est, flag, False)
        assert isinstance(value, bool), f"{est.name}: flag {flag!r} must be a bool, got {value!r}"
    if not isinstance(est, DiscreteEstimator):
        assert not getattr(est, "vectorised_counts", False), (
            f"{est.name}: vectorised_counts needs the DiscreteEstimator count hooks"
        )


def check_mi_symmetric_and_non_negative(est: Estimator) -> None:
    """I(A; B) = I(B; A), and it is >= 0 (exactly when the estimator says ``non_negative``).

    Continuous estimators may break ties with a seeded jitter drawn per argument, so their
    symmetry holds to ``1e-3`` bits; discrete ones are symmetric to rounding.
    """
    a, b = _pair(est, 1, dependent=True)
    ab = _quiet(est.mutual_information, a, b)
    ba = _quiet(est.mutual_information, b, a)
    tol = 1e-9 if est.kind == "discrete" else 1e-3
    assert np.isfinite(ab) and abs(ab - ba) < tol, f"{est.name}: I(A;B) = {ab} but I(B;A) = {ba}"
    assert ab > 0.05, f"{est.name}: a clearly dependent pair got I(A;B) = {ab} bits"
    a, b = _pair(est, 2, dependent=False)
    value = _quiet(est.mutual_information, a, b)
    floor = 0.0 if getattr(est, "non_negative", False) else -ZERO_TOL
    assert value >= floor, f"{est.name}: I(A;B) = {value} < {floor}"


def check_mi_of_independent_variables_is_near_zero(est: Estimator) -> None:
    """Independent variables: |I(A; B)| and |I(A; B | C)| within ``ZERO_TOL`` bits of 0."""
    a, b = _pair(est, 3, dependent=False)
    c, _ = _pair(est, 4, dependent=False)
    mi = _quiet(est.mutual_information, a, b)
    cmi = _quiet(est.conditional_mutual_information, a, b, c)
    assert abs(mi) < ZERO_TOL, f"{est.name}: I(A;B) = {mi} for independent A, B"
    assert abs(cmi) < ZERO_TOL, f"{est.name}: I(A;B|C) = {cmi} for independent A, B, C"


def check_empty_condition_means_no_condition(est: Estimator) -> None:
    """A ``given`` with zero columns changes nothing."""
    a, b = _pair(est, 5, dependent=True)
    empty = np.zeros((a.shape[0], 0))
    labels = a if est.kind == "discrete" else (a > 0).astype(np.int64)
    h = _quiet(est.entropy, labels)
    assert abs(_quiet(est.conditional_entropy, labels, empty) - h) < 1e-9, f"{est.name}: H(A | {{}}) != H(A)"
    mi = _quiet(est.mutual_information, a, b)
    cmi = _quiet(est.conditional_mutual_information, a, b, empty)
    assert abs(cmi - mi) < 1e-9, f"{est.name}: I(A;B | {{}}) = {cmi} != I(A;B) = {mi}"


def check_identical_discrete_variables(est: Estimator) -> None:
    """I(X; X) = H(X) for a discrete X, and H(X) is near the sample's plug-in entropy."""
    rng = np.random.default_rng(6)
    x = rng.choice(4, size=N_SAMPLES, p=[0.4, 0.3, 0.2, 0.1])
    plugin = entropy_from_counts(np.bincount(x))
    h = _quiet(est.entropy, x)
    assert abs(h - plugin) < 0.01, f"{est.name}: H(X) = {h}, plug-in {plugin}"
    mi = _quiet(est.mutual_information, x, x)
    assert abs(mi - h) < 0.02, f"{est.name}: I(X;X) = {mi} but H(X) = {h}"
    assert _quiet(est.conditional_entropy, x, x) < 0.02, f"{est.name}: H(X | X) should be about 0"


def check_gaussian_truth(est: Estimator) -> None:
    """Bivariate Gaussian, rho = 0.6: I = -1/2 log2(1 - rho^2) bits within ``GAUSSIAN_TOL``."""
    rng = np.random.default_rng(7)
    rho, n = 0.6, 5000
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    truth = -0.5 * np.log2(1 - rho**2)
    got = _quiet(est.mutual_information, x, y)
    assert abs(got - truth) < GAUSSIAN_TOL, f"{est.name}: I = {got} bits, analytic {truth}"


def check_class_labels_against_continuous(est: Estimator) -> None:
    """H(Y | X) = H(Y) - I(X; Y) for discrete labels Y and a continuous X, with 0 <= I <= H(Y)."""
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, N_SAMPLES)
    x = np.where(y == 1, 1.0, -1.0) + rng.standard_normal(N_SAMPLES)
    mi = _quiet(est.mutual_information, x, y)
    h = _quiet(est.entropy, y)
    assert -ZERO_TOL < mi < h + ZERO_TOL, f"{est.name}: I(X;Y) = {mi} outside [0, H(Y) = {h}]"
    assert abs(_quiet(est.conditional_entropy, y, x) - (h - mi)) < 1e-9, f"{est.name}: H(Y|X) != H(Y) - I(X;Y)"


def check_count_hooks_match_public_methods(est: Estimator) -> None:
    """The vectorised hooks give what the public methods give (batched and one at a time)."""
    assert isinstance(est, DiscreteEstimator)
    rng = np.random.default_rng(9)
    n, m = 600, 3
    o = rng.integers(0, 2, n)
    w = rng.integers(0, 3, (n, m))
    w[:, 0] = (o + (rng.random(n) < 0.2)) % 3  # one informative candidate
    # Joint counts (group = 1, output, state of candidate, candidate), as the relay search builds them.
    cnt = np.zeros((1, 2, 3, m), dtype=np.int64)
    for j in range(m):
        np.add.at(cnt, (0, o, w[:, j], j), 1)
    log2_w = np.array([np.log2(np.unique(w[:, j]).size) for j in range(m)])
    log2_o = float(np.log2(np.unique(o).size))
    got = np.asarray(est.conditional_entropy_from_counts(cnt, n, log2_cells_w=log2_w, log2_k_o=log2_o))
    want = np.array([_quiet(est.conditional_entropy, o, w[:, j]) for j in range(m)])
    assert got.shape == (m,), f"{est.name}: the hook must return one value per candidate, got {got.shape}"
    np.testing.assert_allclose(got, want, atol=1e-10, err_msg=f"{est.name}: hook != conditional_entropy")
    # entropy_from_counts over a batch equals one distribution at a time.
    table = np.bincount(w[:, 1] * 3 + w[:, 2], minlength=9).reshape(3, 3)
    cells = np.full(3, np.log2(3.0))
    batch = np.asarray(est.entropy_from_counts(table, axis=1, log2_cells=cells))
    single = [float(est.entropy_from_counts(row, log2_cells=float(np.log2(3.0)))) for row in table]
    np.testing.assert_allclose(batch, single, atol=1e-12, err_msg=f"{est.name}: batched entropy_from_counts")


# ---------------------------------------------------------------------------------------- battery
def estimator_checks(est: Estimator) -> Iterator[Check]:
    """The checks that apply to ``est``, from its ``kind`` and capability flags.

    Examples
    --------
    >>> from relaywidgets.info import get_estimator
    >>> from relaywidgets.info.estimation.checks import estimator_checks
    >>> [check.__name__ for check in estimator_checks(get_estimator("gcmi"))][-1]
    'check_class_labels_against_continuous'
    """
    yield check_metadata
    yield check_flags
    yield check_mi_symmetric_and_non_negative
    yield check_mi_of_independent_variables_is_near_zero
    yield check_empty_condition_means_no_condition
    if est.kind == "discrete":
        yield check_identical_discrete_variables
        if isinstance(est, DiscreteEstimator) and est.vectorised_counts:
            yield check_count_hooks_match_public_methods
    else:
        yield check_gaussian_truth
        yield check_class_labels_against_continuous


def check_estimator(est: Estimator) -> None:
    """Run every applicable check on ``est``; an ``AssertionError`` names the first that fails.

    Examples
    --------
    >>> from relaywidgets.info import get_estimator
    >>> from relaywidgets.info.estimation.checks import check_estimator
    >>> check_estimator(get_estimator("plugin"))
    """
    for check in estimator_checks(est):
        check(est)
