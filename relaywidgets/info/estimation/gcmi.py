"""Gaussian-copula mutual information (GCMI) of Ince et al. (2017), with its bias correction."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import ClassVar

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import ndtri, psi

from ...errors import InputError
from ..._validation import check_float, check_int
from .base import ContinuousEstimator

__all__ = ["GCMIEstimator", "copnorm"]

_LN2 = np.log(2.0)


@lru_cache(maxsize=8)
def _normal_scores(n: int) -> np.ndarray:
    """Standard-normal quantiles of ranks 1..n: ``ndtri(rank / (n + 1))`` (read-only)."""
    scores = ndtri(np.arange(1, n + 1) / (n + 1.0))
    scores.setflags(write=False)
    return scores


def copnorm(x: np.ndarray, tie_key: np.ndarray | Callable[[], np.ndarray] | None = None) -> np.ndarray:
    """Copula-normalise each column: ranks ``1..n`` mapped to standard-normal quantiles.

    ``ndtri(rank / (n + 1))``. Tied values get distinct ranks, ordered by ``tie_key`` (a vector of
    ``n`` random numbers, or a function returning one, called only when a column has ties), so a
    saturated unit does not become a degenerate column; without ``tie_key`` ties keep sample order.

    Parameters
    ----------
    x : ndarray, shape (sample, variable)
    tie_key : ndarray of shape (sample,), callable or None

    Returns
    -------
    ndarray, shape (sample, variable)
        Standard-normal marginals with the rank order of ``x``.
    """
    n, d = x.shape
    scores = _normal_scores(n)
    out = np.empty((n, d))
    for j in range(d):  # loops over columns; each column is sorted in one call
        col = x[:, j]
        order = np.argsort(col)
        s = col[order]
        if n > 1 and np.any(s[1:] == s[:-1]):
            if tie_key is None:
                order = np.argsort(col, kind="stable")
            else:
                key = tie_key() if callable(tie_key) else tie_key
                order = np.lexsort((key, col))
        out[order, j] = scores
    return out


def _bias_terms(n: int, dims: int) -> float:
    """Bias of the Gaussian entropy estimate (nats) for ``dims`` variables and ``n`` samples."""
    if dims == 0:
        return 0.0
    dterm = (_LN2 - np.log(n - 1.0)) / 2.0
    psiterms = psi((n - np.arange(1, dims + 1)) / 2.0) / 2.0
    return dims * dterm + float(psiterms.sum())


class GCMIEstimator(ContinuousEstimator):
    """Gaussian-copula mutual information and CMI (Ince et al. 2017).

    Each continuous variable is copula-normalised (ranks mapped to standard-normal quantiles,
    column by column); the MI of the normalised variables is then computed with the Gaussian
    formula from log-determinants of covariance matrices, with the analytic bias correction for
    the entropy of a Gaussian estimated from ``n`` samples. The result is a lower bound on the
    true MI that is exact for Gaussian copulas (e.g. monotone transforms of correlated Gaussians).
    Against a discrete variable Y (a class label, a network's decision) X is modelled as a
    mixture of class-conditional Gaussians (the mixture form of Ince et al. on the copula-normalised
    X): ``I = H(mixture) - sum_y p(y) H(X | y)``, both entropies averaged over the samples. The
    estimate never exceeds H(Y), as it must for a discrete Y, and carries no bias correction.

    Parameters
    ----------
    bias_correct : bool
        Apply the analytic bias correction to the Gaussian entropies of continuous-continuous MI and
        CMI (recommended; the default). The mixture form against a discrete variable has none.
    seed : int
        Seed of the random order in which tied values are ranked.
    ridge : float
        Added to the diagonal of every covariance matrix. 0 by default; a small positive value
        (e.g. ``1e-6``) lets linearly dependent (duplicated) columns through, at the price of a
        very large MI for them.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info.estimation.gcmi import GCMIEstimator
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000); y = 0.8 * x + 0.6 * rng.standard_normal(20000)
    >>> abs(GCMIEstimator().mutual_information(x, y) - 0.737) < 0.02  # analytic: -0.5*log2(1-0.64)
    True
    """

    name: ClassVar[str] = "gcmi"
    description: ClassVar[str] = (
        "Gaussian-copula MI/CMI: rank-normalise each variable, use the Gaussian formula with "
        "analytic bias correction (a lower bound)."
    )
    citation: ClassVar[str] = (
        "Ince R. A. A., Giordano B. L., Kayser C., Rousselet G. A., Gross J. & Schyns P. G. (2017) "
        "A statistical framework for neuroimaging data analysis based on mutual information "
        "estimated via a gaussian copula. Human Brain Mapping 38(3):1541-1573."
    )

    def __init__(self, *, bias_correct: bool = True, seed: int = 0, ridge: float = 0.0):
        self.bias_correct = bias_correct
        self.seed = seed
        self.ridge = ridge

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        if not isinstance(self.bias_correct, (bool, np.bool_)):
            raise InputError(
                f"The 'bias_correct' parameter of GCMIEstimator must be a bool. Got "
                f"{self.bias_correct!r} instead."
            )
        check_int(self.seed, "seed", "GCMIEstimator", 0)
        check_float(self.ridge, "ridge", "GCMIEstimator", 0.0)

    def _copnorm(self, *arrays: np.ndarray) -> list[np.ndarray]:
        self._check_params()
        n = arrays[0].shape[0]
        cache: list[np.ndarray] = []

        def tie_key() -> np.ndarray:
            # One key per call, drawn from the seed: every column (and every call on the same
            # samples) breaks its ties the same way, which keeps chain-rule differences consistent.
            if not cache:
                cache.append(np.random.default_rng(self.seed).random(n))
            return cache[0]

        return [copnorm(a, tie_key) for a in arrays]

    def _logdet_half(self, cov: np.ndarray, what: str) -> float:
        """Sum of log of the Cholesky diagonal, i.e. half the log-determinant (nats)."""
        if cov.shape[0] == 0:
            return 0.0
        return float(np.log(np.diag(self._cholesky(cov, what))).sum())

    def _cholesky(self, cov: np.ndarray, what: str) -> np.ndarray:
        """Lower Cholesky factor of ``cov`` plus the ridge; a clear error when it is singular."""
        if self.ridge:
            cov = cov + self.ridge * np.eye(cov.shape[0])
        try:
            return np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise InputError(
                f"The covariance of {what} is singular, so the Gaussian-copula MI is infinite: "
                "some columns are linearly dependent (e.g. a duplicated node) or a class has fewer "
                "samples than dimensions. Drop duplicated columns, pass more samples, or use "
                "get_estimator('gcmi', ridge=1e-6)."
            ) from None

    def _entropy_nats(self, cov: np.ndarray, n: int, what: str) -> float:
        """Gaussian entropy up to the constant ``d/2 log(2 pi e)`` (which cancels in MI)."""
        h = self._logdet_half(cov, what)
        if self.bias_correct:
            h -= _bias_terms(n, cov.shape[0])
        return h

    @staticmethod
    def _cov(x: np.ndarray) -> np.ndarray:
        xc = x - x.mean(axis=0)
        return xc.T @ xc / (x.shape[0] - 1.0)

    def _check_n(self, n: int, dims: int) -> None:
        if n < dims + 2:
            raise InputError(
                f"gcmi needs more samples than dimensions plus one: got {n} samples for {dims} "
                "continuous dimensions. Pass more samples or fewer nodes."
            )

    # ------------------------------------------------------------------ estimators
    def _mi_cc(self, x: np.ndarray, y: np.ndarray) -> float:
        n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
        self._check_n(n, dx + dy)
        cx, cy = self._copnorm(x, y)
        cov = self._cov(np.hstack([cx, cy]))
        hx = self._entropy_nats(cov[:dx, :dx], n, "'a'")
        hy = self._entropy_nats(cov[dx:, dx:], n, "'b'")
        hxy = self._entropy_nats(cov, n, "the joint of 'a' and 'b'")
        return float((hx + hy - hxy) / _LN2)

    def _cmi_ccc(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
        n, dx, dy, dz = x.shape[0], x.shape[1], y.shape[1], z.shape[1]
        self._check_n(n, dx + dy + dz)
        cx, cy, cz = self._copnorm(x, y, z)
        cov = self._cov(np.hstack([cz, cx, cy]))
        iz = np.arange(dz)
        ixz = np.arange(dz + dx)
        iyz = np.concatenate([iz, np.arange(dz + dx, dz + dx + dy)])
        hz = self._entropy_nats(cov[np.ix_(iz, iz)], n, "'given'")
        hxz = self._entropy_nats(cov[np.ix_(ixz, ixz)], n, "'a' and 'given'")
        hyz = self._entropy_nats(cov[np.ix_(iyz, iyz)], n, "'b' and 'given'")
        hxyz = self._entropy_nats(cov, n, "'a', 'b' and 'given'")
        return float((hxz + hyz - hxyz - hz) / _LN2)

    def _mi_cd(self, x: np.ndarray, labels: np.ndarray) -> float:
        """I(X; Y) in bits of a Gaussian mixture fitted to the copula-normalised X (Ince et al. 2017).

        X is copula-normalised once over all samples (so the estimate is invariant to monotone
        transforms of each column, and ties are broken as everywhere else); one Gaussian p_y is
        fitted per class y, with weights ``w_y`` the class frequencies, and
        ``I = H(mixture) - sum_y w_y H(p_y)``. Both entropies are averages of ``-log p`` over the
        samples themselves (resubstitution): ``H(mixture) = -mean_s log sum_y w_y p_y(x_s)`` and
        ``H(p_y) = -mean over the samples of class y of log p_y(x_s)``. Since
        ``log sum_y w_y p_y(x_s) >= log w_{y_s} + log p_{y_s}(x_s)`` sample by sample, the estimate
        never exceeds the plug-in H(Y): a discrete output is never credited with more
        information than it has. (The Gaussian-model form ``H(X) - sum_y w_y H(X | y)``, with one
        Gaussian for H(X), is unbounded for multivariate X: 11 bits for the binary decision of a
        trained 16-unit LSTM.) gcmi's ``mi_mixture_gd`` evaluates the mixture entropy at unscented
        sigma points instead; on copula-normalised data that errs by 0.025 bit on the two-Gaussian
        truth of the tests, resubstitution by 0.011. No analytic bias correction: the Gaussian one
        does not describe a bounded estimate; a permutation null gives the floor.
        """
        n, d = x.shape
        self._check_n(n, d)
        (cx,) = self._copnorm(x)
        sizes = np.bincount(labels)
        present = np.flatnonzero(sizes)
        small = present[sizes[present] < d + 2]
        if small.size:
            raise InputError(
                f"gcmi against a discrete variable needs more samples than dimensions plus one in "
                f"every class; class {int(small[0])} has {int(sizes[small[0]])} sample(s) for {d} "
                "dimension(s). Merge rare classes, pass more samples or fewer nodes, or use 'ksg'."
            )
        if present.size < 2:
            return 0.0
        # log p_y(x_s) of every sample under every class's Gaussian, without the 2*pi term (it cancels)
        log_lik = np.empty((present.size, n))
        for i, c in enumerate(present):  # loops over classes, not samples
            xm = cx[labels == c]
            chol = self._cholesky(self._cov(xm), f"class {int(c)}")
            z = solve_triangular(chol, (cx - xm.mean(axis=0)).T, lower=True)
            log_lik[i] = -0.5 * np.einsum("ij,ij->j", z, z) - np.log(np.diag(chol)).sum()
        a = log_lik + np.log(sizes[present] / n)[:, None]
        top = a.max(axis=0)
        log_mix = top + np.log(np.exp(a - top).sum(axis=0))  # log-sum-exp over classes
        own = log_lik[np.searchsorted(present, labels), np.arange(n)]
        return float((own.mean() - log_mix.mean()) / _LN2)
