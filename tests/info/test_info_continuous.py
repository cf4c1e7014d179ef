"""GCMI and KSG against analytic Gaussian truths, and against a discrete variable."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from relaywidgets.info import (
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    get_estimator,
    mutual_information,
    permutation_test,
)

TOL = {"gcmi": 0.02, "ksg": 0.05}
N_REPLICATES = 3


def _gaussian_pair(rng, rho, n):
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)


def _analytic(rho: float) -> float:
    return -0.5 * np.log2(1.0 - rho**2)


# The sampling error of any MI estimate at correlation rho is about rho / sqrt(N) nats, i.e.
# 0.018 bits at rho = 0.9, N = 5,000: the tolerances hold for the mean of three independent
# replicates at these (rho, N), which is what is asserted.
@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
@pytest.mark.parametrize("rho,n", [(0.0, 5000), (0.2, 5000), (0.5, 10000), (0.8, 20000), (0.95, 20000)])
def test_mi_of_correlated_gaussians(estimator, rho, n):
    rng = np.random.default_rng([int(rho * 100), n])
    values = [mutual_information(*_gaussian_pair(rng, rho, n), estimator=estimator) for _ in range(N_REPLICATES)]
    assert np.mean(values) == pytest.approx(_analytic(rho), abs=TOL[estimator])
    # Every single replicate stays within twice the tolerance.
    assert np.max(np.abs(np.array(values) - _analytic(rho))) < 2 * TOL[estimator]


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_mi_of_multivariate_gaussians(estimator):
    # X = (x1, x2), Y = (y1, y2) jointly Gaussian: I = 1/2 log2(det Sx det Sy / det S).
    rng = np.random.default_rng(11)
    cov = np.array(
        [
            [1.0, 0.3, 0.5, 0.1],
            [0.3, 1.0, 0.2, 0.4],
            [0.5, 0.2, 1.0, 0.0],
            [0.1, 0.4, 0.0, 1.0],
        ]
    )
    truth = 0.5 * np.log2(np.linalg.det(cov[:2, :2]) * np.linalg.det(cov[2:, 2:]) / np.linalg.det(cov))
    est = [
        mutual_information(*np.split(rng.multivariate_normal(np.zeros(4), cov, 10000), 2, axis=1), estimator=estimator)
        for _ in range(N_REPLICATES)
    ]
    assert np.mean(est) == pytest.approx(truth, abs=TOL[estimator])


def test_gcmi_is_invariant_to_monotone_transforms():
    rng = np.random.default_rng(3)
    x, y = _gaussian_pair(rng, 0.7, 10000)
    base = mutual_information(x, y, estimator="gcmi")
    assert mutual_information(np.exp(x), y**3, estimator="gcmi") == pytest.approx(base, abs=1e-12)


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_cmi_of_conditionally_independent_gaussians_is_zero_and_not_significant(estimator):
    # a and b depend on each other only through z: I(a; b) > 0 but I(a; b | z) = 0.
    rng = np.random.default_rng(21)
    n = 5000
    z = rng.standard_normal(n)
    a = z + 0.7 * rng.standard_normal(n)
    b = z + 0.7 * rng.standard_normal(n)
    assert mutual_information(a, b, estimator=estimator) > 0.3
    cmi = conditional_mutual_information(a, b, z, estimator=estimator)
    assert cmi == pytest.approx(0.0, abs=TOL[estimator])
    res = permutation_test(
        conditional_mutual_information, a, b, z, estimator=estimator, n_perm=49, seed=0
    )
    assert res.p_value >= 0.05 and not res.significant


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_cmi_of_gaussians_given_a_third(estimator):
    # x -> (y, z) Gaussian chain with known partial correlation: I(x; y | z) = -1/2 log2(1 - r^2).
    rng = np.random.default_rng(5)
    n = 20000
    z = rng.standard_normal(n)
    x = 0.6 * z + 0.8 * rng.standard_normal(n)
    y = 0.5 * z + 0.5 * x + 0.7 * rng.standard_normal(n)
    # Exact covariance of (x, y, z) from the construction.
    vx = 0.36 + 0.64
    cxz, cyz = 0.6, 0.5 + 0.5 * 0.6
    cxy = 0.5 * 0.6 + 0.5 * vx
    vy = 0.25 + 0.25 * vx + 2 * 0.25 * 0.6 + 0.49
    r = (cxy - cxz * cyz) / np.sqrt((vx - cxz**2) * (vy - cyz**2))
    truth = -0.5 * np.log2(1 - r**2)
    assert conditional_mutual_information(x, y, z, estimator=estimator) == pytest.approx(truth, abs=TOL[estimator])


def _mixture_truth(mu: float) -> float:
    """I(X; Y) in bits for Y ~ Bernoulli(1/2), X | Y ~ N(+-mu, 1), by numerical integration."""

    def f(x):
        p = 0.5 * stats.norm.pdf(x, -mu) + 0.5 * stats.norm.pdf(x, mu)
        return -p * np.log2(p)

    hx, _ = integrate.quad(f, -mu - 12, mu + 12, limit=200)
    return hx - 0.5 * np.log2(2 * np.pi * np.e)


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_mi_between_continuous_and_discrete(estimator):
    rng = np.random.default_rng(8)
    n = 10000
    y = rng.integers(0, 2, n)
    x = np.where(y == 1, 1.0, -1.0) + rng.standard_normal(n)
    truth = _mixture_truth(1.0)
    got = mutual_information(x, y, estimator=estimator)
    # GCMI models each class as Gaussian: exact here, since the classes are Gaussian.
    assert got == pytest.approx(truth, abs=TOL[estimator])
    assert mutual_information(y, x, estimator=estimator) == pytest.approx(got, abs=1e-12)
    # H(Y | X) = H(Y) - I(X; Y) for discrete Y.
    h = entropy(y, estimator=estimator)
    assert h == pytest.approx(entropy(y), abs=1e-15)
    assert conditional_entropy(y, x, estimator=estimator) == pytest.approx(h - got, abs=1e-12)
    # Given a continuous variable carrying nothing extra: I(X; Y | W) with W independent.
    w = rng.standard_normal(n)
    assert conditional_mutual_information(x, y, w, estimator=estimator) == pytest.approx(truth, abs=TOL[estimator])


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_cmi_given_a_discrete_variable(estimator):
    # Within each state of a discrete z, (x, y) are Gaussian with correlation rho_z.
    rng = np.random.default_rng(9)
    n = 12000
    z = rng.integers(0, 2, n)
    rhos = np.array([0.3, 0.8])
    x = rng.standard_normal(n)
    y = rhos[z] * x + np.sqrt(1 - rhos[z] ** 2) * rng.standard_normal(n)
    truth = 0.5 * _analytic(0.3) + 0.5 * _analytic(0.8)
    got = conditional_mutual_information(x, y, z, estimator=estimator)
    assert got == pytest.approx(truth, abs=TOL[estimator])


def test_ksg_k_is_configurable():
    rng = np.random.default_rng(4)
    x, y = _gaussian_pair(rng, 0.6, 8000)
    for k in (1, 5, 10):
        assert get_estimator("ksg", k=k).mutual_information(x, y) == pytest.approx(_analytic(0.6), abs=0.05)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_gcmi_against_a_discrete_variable_never_exceeds_its_entropy(n_classes):
    # Classes on nearly flat, differently oriented sheets in 12 dimensions: each class's covariance is
    # almost singular. A single Gaussian for H(X) minus class Gaussians (the Gaussian-model form)
    # credits Y with many bits here; the mixture form is bounded by H(Y), and the classes are separable.
    rng = np.random.default_rng(5)
    n, d = 3000, 12
    y = rng.integers(0, n_classes, n)
    x = rng.standard_normal((n, d)) * 1e-3
    for c in range(n_classes):
        idx = np.flatnonzero(y == c)
        basis = np.linalg.qr(rng.standard_normal((d, 2)))[0]
        x[idx] += rng.standard_normal((idx.size, 2)) @ basis.T + 4.0 * rng.standard_normal(d)
    h_y = entropy(y)
    mi = mutual_information(x, y, estimator="gcmi")
    assert 0.9 * h_y <= mi <= h_y + 1e-9
    h_cond = conditional_entropy(y, x, estimator="gcmi")
    assert -1e-9 <= h_cond <= 0.1 * h_y
    # Given a continuous variable, by the chain rule I(X; Y | W) = I(Y; X, W) - I(Y; W) <= H(Y) too.
    w = rng.standard_normal((n, 2))
    assert conditional_mutual_information(x, y, w, estimator="gcmi") <= h_y + 1e-9


def test_gcmi_against_a_discrete_variable_is_invariant_to_monotone_transforms():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 4000)
    x = y[:, None] + rng.standard_normal((4000, 2))
    base = mutual_information(x, y, estimator="gcmi")
    assert mutual_information(np.exp(x), y, estimator="gcmi") == pytest.approx(base, abs=1e-12)
