"""Answer checks of lesson 01_information: entropy, mutual information and estimator bias on small samples.

Each check calls the student's function (or reads the student's numbers) on inputs whose truth is known
(analytic entropies, the Gaussian formula, the package's own estimators on the student's data) and fails
with an :class:`~relaywidgets.course.AnswerError` whose hint names the usual mistake (log base e instead of
2, 0·log 0, plug-in bias taken for information, forgetting the permutation null).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..info import UndersamplingWarning, entropy, mutual_information, permutation_test
from ._feedback import AnswerError, check, check_close

__all__ = [
    "check_entropy_bits",
    "check_plugin_entropy",
    "check_gaussian_mi",
    "check_plugin_bias",
    "check_miller_madow",
    "check_null_reading",
    "check_is_informative",
    "HINTS",
]

LN2 = math.log(2.0)

#: The hint of every common mistake the checks recognise, by key (the tests assert that each appears).
HINTS: dict[str, str] = {
    "nats": "Your numbers are the right ones times ln 2 = 0.693: you used the natural logarithm (nats). "
    "Information in this course is in bits: use np.log2.",
    "sign": "Your numbers have the wrong sign: H = -sum p log2 p is never negative (each log2 p <= 0, "
    "hence the minus sign).",
    "zero": "A probability of 0 gave NaN or inf: log2(0) is -inf and 0 * -inf is NaN. By convention "
    "0 log 0 = 0 (the limit of p log p as p -> 0): drop the zero entries first, e.g. p = p[p > 0].",
    "not_summed": "Return one number, the sum over the states: H = -sum p log2 p. You returned one term per state.",
    "uniform": "You returned log2 of the number of distinct states: that is the entropy of a uniform "
    "distribution over them. Use the frequencies counts / N of the sample instead.",
    "frequencies": "The plug-in entropy is the entropy of the sample's frequencies: count each state "
    "(np.unique(sample, return_counts=True)), divide by the number of samples N, then -sum p log2 p.",
    "gauss_half": "You are missing the factor 1/2: I = -1/2 log2(1 - rho^2).",
    "gauss_rho": "Use rho squared: I = -1/2 log2(1 - rho^2) (rho enters squared, so rho and -rho carry the "
    "same information).",
    "bias_half": "Your bias is twice the first-order one: the plug-in bias of an entropy is "
    "(K - 1) / (2 N) nats, so the MI bias is (K_a - 1)(K_b - 1) / (2 N ln 2) bits.",
    "bias_states": "Count degrees of freedom: the MI bias is (K_a - 1)(K_b - 1) / (2 N ln 2) bits, with "
    "K_a - 1 and K_b - 1, not K_a and K_b.",
    "mm_nats": "The Miller-Madow correction (m - 1) / (2 N) is in nats; to add it to an entropy in bits "
    "divide it by ln 2.",
    "mm_sign": "The plug-in entropy underestimates (unseen states and uneven counts make the sample look more "
    "predictable than the source), so Miller-Madow ADDS (m - 1) / (2 N ln 2) bits.",
    "mm_states": "m is the number of states that occur in the sample (np.unique), not the largest code + 1 "
    "or the size of the alphabet.",
    "mm_plugin": "That is the plug-in entropy without the correction: add (m - 1) / (2 N ln 2) bits, m the "
    "number of observed states and N the number of samples.",
    "null_zero": "The null mean is not 0: shuffling O destroys any dependence but keeps the estimator's bias, "
    "so the null mean is the bias floor. Read it from permutation_test(...).null_mean.",
    "estimator": "Use the plug-in estimator (the default of mutual_information), as the question asks.",
    "forgot_null": "Forgetting the permutation null: a positive plug-in estimate is not evidence of "
    "information, because on few samples and many joint states the estimator's bias alone gives several "
    "tenths of a bit. Decide with the permutation test: permutation_test(...).significant (p < alpha).",
    "p_direction": "A small p-value means the estimate is rarely reached by shuffled data, i.e. evidence of "
    "dependence: 'informative' is p < alpha, not p > alpha.",
    "bool": "Return a plain bool (True or False), e.g. bool(result.significant).",
}


def _call(fn: Callable[..., Any], name: str, *args: Any) -> Any:
    """Call the student's function; a crash becomes an AnswerError that says on which input.

    ``NotImplementedError`` (the unanswered stub of the student version) passes through unchanged.
    """
    check(callable(fn), f"{name} should be a function; got {type(fn).__name__}.", f"Define it with def {name}(...):")
    shown = ", ".join(_short(a) for a in args)
    # copies, so that a function that changes its input in place cannot change the truths computed from it
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UndersamplingWarning)
            return fn(*args)
    except NotImplementedError:
        raise
    except Exception as exc:  # any crash of student code: say where, keep the original as the cause
        raise AnswerError(f"{name}({shown}) raised {type(exc).__name__}: {exc}") from exc


def _short(a: Any) -> str:
    arr = np.asarray(a)
    if arr.ndim == 0:
        return repr(a)
    if arr.ndim == 1 and arr.size <= 8:
        return "[" + ", ".join(f"{v:.4g}" for v in arr.tolist()) + "]"
    return f"<array of shape {arr.shape}>"


def _number(value: Any, name: str, hint: str = "") -> float:
    """The student's value as one float (NaN and inf too: the checks name their mistakes), or an AnswerError."""
    try:
        arr = None if isinstance(value, (str, bytes, bool, np.bool_)) else np.asarray(value)
    except ValueError:  # a ragged nested list
        arr = None
    if arr is not None and arr.ndim > 0 and arr.size > 1:
        raise AnswerError(f"{name} should be one number; got an array of shape {arr.shape}.\nHint: {hint}")
    if arr is None or arr.ndim > 0:  # text, a boolean, [x]: every lesson refuses them
        raise AnswerError(f"{name} should be a number; got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # not a number, or an int beyond every float
        raise AnswerError(f"{name} should be a finite number; got {value!r}.") from None


def _quiet(fn: Callable[..., float], *args: Any, **kwargs: Any) -> float:
    """A package estimate without its undersampling warning (the checks use tiny samples on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        return float(fn(*args, **kwargs))


def _entropy_of(p: Sequence[float]) -> float:
    q = np.asarray(p, dtype=float)
    q = q[q > 0]
    return float(-(q * np.log2(q)).sum())


def _diagnose(got: float, want: float, keys: dict[str, float]) -> str:
    """The hint whose wrong formula gives ``got`` (each ``keys`` entry: hint key -> that formula's value)."""
    for key, wrong in keys.items():
        if math.isfinite(got) and abs(got - wrong) <= 1e-6 + 1e-6 * abs(wrong) and abs(wrong - want) > 1e-9:
            return HINTS[key]
    return ""


def check_entropy_bits(entropy_bits: Callable[[Any], float], cases: Sequence[Sequence[float]] | None = None) -> None:
    """Check a function ``entropy_bits(p)`` that returns the entropy, in bits, of a probability vector.

    Parameters
    ----------
    entropy_bits : callable
        The student's function: a sequence of probabilities summing to 1 -> H in bits.
    cases : sequence of sequences, optional
        Probability vectors to test (default: a fair coin, a fair 8-sided die, (1/2, 1/4, 1/4), a biased
        coin and a certain outcome with a zero probability).

    Raises
    ------
    AnswerError
        On the first wrong value, with the hint of the mistake that gives it (natural log, missing minus
        sign, NaN from 0 log 0, one term per state instead of the sum).

    Examples
    --------
    >>> import numpy as np
    >>> def entropy_bits(p):
    ...     p = np.asarray(p, dtype=float)
    ...     p = p[p > 0]
    ...     return float(-(p * np.log2(p)).sum())
    >>> check_entropy_bits(entropy_bits)
    >>> check_entropy_bits(lambda p: 1.0)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: H([0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125]) is 1; it should be 3 ...
    """
    if cases is None:
        cases = ([0.5, 0.5], [1 / 8] * 8, [0.5, 0.25, 0.25], [0.9, 0.1], [1.0, 0.0])
    for p in cases:
        want = _entropy_of(p)
        raw = _call(entropy_bits, "entropy_bits", p)
        label = f"H({_short(p)})"
        try:
            arr = np.asarray(raw, dtype=object if raw is None else None)
        except ValueError:  # a ragged nested list: not one number either
            raise AnswerError(f"{label} should be one number; got {raw!r}.\nHint: {HINTS['not_summed']}") from None
        if arr.ndim > 0 and arr.size > 1:
            raise AnswerError(f"{label} should be one number; got {arr.size} numbers.\nHint: {HINTS['not_summed']}")
        got = _number(raw, label)
        if not math.isfinite(got):
            raise AnswerError(f"{label} is {got}, not a finite number.\nHint: {HINTS['zero']}")
        hint = _diagnose(got, want, {"nats": want * LN2, "sign": -want})
        check_close(got, want, name=label, hint=hint)


def check_plugin_entropy(plugin_entropy: Callable[[Any], float], samples: Sequence[Any] | None = None) -> None:
    """Check a function ``plugin_entropy(sample)``: the entropy in bits of a sample's empirical distribution.

    The truth is :func:`relaywidgets.info.entropy` with the plug-in estimator (which equals the exact entropy
    of the frequencies, METHOD.md).

    Parameters
    ----------
    plugin_entropy : callable
        The student's function: 1-D integer sample -> bits.
    samples : sequence of arrays, optional
        Samples to test (default: a few small ones, with uneven counts and codes that are not 0..k-1).

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import entropy
    >>> check_plugin_entropy(lambda s: entropy(np.asarray(s)))
    >>> check_plugin_entropy(lambda s: np.log2(len(np.unique(s))))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: H_plugin(...) is 1; it should be 0.811278 (within 1.8e-06).
    Hint: You returned log2 of the number of distinct states: ...
    """
    if samples is None:
        samples = (
            np.array([0, 0, 0, 1]),
            np.array([0, 1, 2, 3, 0, 1, 2, 3]),
            np.array([3, 3, 7, 7, 7, 9]),
            np.random.default_rng(7).integers(0, 5, size=40),
        )
    for s in samples:
        s = np.asarray(s)
        want = _quiet(entropy, s)
        got = _number(_call(plugin_entropy, "plugin_entropy", s), "plugin_entropy")
        uniform = float(np.log2(np.unique(s).size))
        hint = _diagnose(got, want, {"uniform": uniform, "nats": want * LN2})
        check_close(got, want, name=f"H_plugin({_short(s)})", hint=hint or HINTS["frequencies"])


def check_gaussian_mi(gaussian_mi: Callable[[float], float], rhos: Sequence[float] = (0.0, 0.3, -0.6, 0.9)) -> None:
    """Check a function ``gaussian_mi(rho)``: the mutual information, in bits, of a bivariate Gaussian.

    The truth is the analytic ``I = -1/2 log2(1 - rho^2)``.

    Parameters
    ----------
    gaussian_mi : callable
        The student's function: correlation rho in (-1, 1) -> bits.
    rhos : sequence of float
        Correlations to test.

    Examples
    --------
    >>> import numpy as np
    >>> check_gaussian_mi(lambda r: -0.5 * np.log2(1 - r**2))
    >>> check_gaussian_mi(lambda r: -0.5 * np.log(1 - r**2))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: I(rho=0.3) is 0.0471...; it should be 0.0680... (within 1.1e-06).
    Hint: Your numbers are the right ones times ln 2 = 0.693: you used the natural logarithm (nats). ...
    """
    for rho in rhos:
        want = -0.5 * math.log2(1.0 - rho * rho)
        got = _number(_call(gaussian_mi, "gaussian_mi", rho), f"gaussian_mi({rho})")
        with np.errstate(all="ignore"):
            wrong_rho = -0.5 * math.log2(1.0 - rho) if rho < 1 else math.nan
        hint = _diagnose(
            got, want, {"nats": want * LN2, "gauss_half": 2 * want, "gauss_rho": wrong_rho, "sign": -want}
        )
        check_close(got, want, name=f"I(rho={rho})", hint=hint)


def check_plugin_bias(
    expected_plugin_bias: Callable[[int, int, int], float],
    cases: Sequence[tuple[int, int, int]] = ((100, 64, 2), (1600, 64, 2), (50, 4, 3)),
) -> None:
    """Check ``expected_plugin_bias(n_samples, k_a, k_b)``: the first-order plug-in MI bias of independent variables.

    The truth is ``(k_a - 1)(k_b - 1) / (2 N ln 2)`` bits (Miller 1955; the expected plug-in estimate of
    ``I(A; B)`` when ``A`` and ``B`` are independent, with ``k_a`` and ``k_b`` states and ``N`` samples).

    Examples
    --------
    >>> import math
    >>> check_plugin_bias(lambda n, ka, kb: (ka - 1) * (kb - 1) / (2 * n * math.log(2)))
    >>> check_plugin_bias(lambda n, ka, kb: ka * kb / (2 * n * math.log(2)))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: bias(N=100, K_a=64, K_b=2) is 0.923325; it should be 0.454449 (within 1.5e-06).
    Hint: Count degrees of freedom: ...
    """
    for n, ka, kb in cases:
        want = (ka - 1) * (kb - 1) / (2 * n * LN2)
        got = _number(_call(expected_plugin_bias, "expected_plugin_bias", n, ka, kb), "expected_plugin_bias")
        hint = _diagnose(
            got,
            want,
            {"nats": want * LN2, "bias_half": 2 * want, "bias_states": ka * kb / (2 * n * LN2)},
        )
        check_close(got, want, name=f"bias(N={n}, K_a={ka}, K_b={kb})", hint=hint)


def check_miller_madow(miller_madow_entropy: Callable[[Any], float], samples: Sequence[Any] | None = None) -> None:
    """Check ``miller_madow_entropy(sample)`` against the package's Miller-Madow estimator.

    The truth is :func:`relaywidgets.info.entropy` with ``estimator="miller-madow"``: the plug-in entropy
    plus ``(m - 1) / (2 N ln 2)`` bits, ``m`` the number of observed states.

    Parameters
    ----------
    miller_madow_entropy : callable
        The student's function: 1-D integer sample -> bits.
    samples : sequence of arrays, optional
        Default: small samples, one whose codes have gaps (so the alphabet size is not the number of
        observed states).

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import entropy
    >>> check_miller_madow(lambda s: entropy(s, estimator="miller-madow"))
    >>> check_miller_madow(lambda s: entropy(s))
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: H_MM(...) is 1; it should be 1.07213 (within 2.1e-06).
    Hint: That is the plug-in entropy without the correction: ...
    """
    if samples is None:
        samples = (
            np.array([0, 1] * 5),
            np.array([0, 0, 1, 2, 2, 2, 3, 1, 0, 2, 3, 3]),
            np.array([0, 5, 5, 9, 0, 5]),
            np.random.default_rng(3).integers(0, 8, size=30),
        )
    for s in samples:
        s = np.asarray(s)
        n = s.size
        plug = _quiet(entropy, s)
        m = np.unique(s).size
        want = _quiet(entropy, s, estimator="miller-madow")
        got = _number(_call(miller_madow_entropy, "miller_madow_entropy", s), "miller_madow_entropy")
        k_max = int(s.max()) + 1
        hint = _diagnose(
            got,
            want,
            {
                "mm_plugin": plug,
                "mm_nats": plug + (m - 1) / (2 * n),
                "mm_sign": plug - (m - 1) / (2 * n * LN2),
                "mm_states": plug + (k_max - 1) / (2 * n * LN2),
            },
        )
        check_close(got, want, name=f"H_MM({_short(s)})", hint=hint)


def _null(o: Any, z: Any, n_perm: int, seed: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        return permutation_test("mutual_information", o, z, n_perm=n_perm, seed=seed)


def check_null_reading(
    o: Any, z: Any, *, mi_hat: Any, null_floor: Any, p_value: Any, informative: Any, alpha: float = 0.05
) -> None:
    """Check the reading of an information estimate against its permutation null, on the student's data.

    Parameters
    ----------
    o, z : array-like
        The student's data: the output ``o`` (samples) and the nodes ``z`` (samples x nodes).
    mi_hat : float
        The student's plug-in estimate of I(O; Z); must equal ``mutual_information(o, z)``.
    null_floor : float
        The student's null mean (bias floor); checked against a fresh permutation test with 400
        permutations, within 0.03 bit + 10 %.
    p_value : float
        The student's permutation p-value; within 0.1 of the fresh test's.
    informative : bool
        The student's verdict; must be the fresh test's ``p < alpha``.
    alpha : float
        Significance level.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from relaywidgets.info import mutual_information, permutation_test
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, size=(100, 6)); o = rng.integers(0, 2, size=100)
    >>> with warnings.catch_warnings():  # 6 nodes on 100 samples: undersampled on purpose
    ...     warnings.simplefilter("ignore")
    ...     res = permutation_test("mutual_information", o, z, n_perm=200, seed=0)
    >>> check_null_reading(o, z, mi_hat=res.estimate, null_floor=res.null_mean, p_value=res.p_value,
    ...                    informative=res.significant)
    """
    o = np.asarray(o)
    z = np.asarray(z)
    want_mi = _quiet(mutual_information, o, z)
    mm = _quiet(mutual_information, o, z, estimator="miller-madow")
    sh = _quiet(mutual_information, o, z, estimator="shrinkage")
    got_mi = _number(mi_hat, "mi_hat")
    hint = _diagnose(got_mi, want_mi, {"nats": want_mi * LN2, "estimator": mm}) or _diagnose(
        got_mi, want_mi, {"estimator": sh}
    )
    check_close(got_mi, want_mi, name="mi_hat (plug-in I(O; Z))", hint=hint)
    ref = _null(o, z, 400, 12345)
    got_floor = _number(null_floor, "null_floor")
    check(
        not (abs(got_floor) < 1e-9 < ref.null_mean),
        f"null_floor is {got_floor:.3g} bits; the permutation null of these data averages {ref.null_mean:.3f} bits.",
        HINTS["null_zero"],
    )
    check_close(
        got_floor,
        ref.null_mean,
        name="null_floor (the null mean)",
        atol=0.03,
        rtol=0.1,
        hint="Take the mean of the plug-in estimates on shuffled data: permutation_test(...).null_mean.",
    )
    got_p = _number(p_value, "p_value")
    check(0.0 < got_p <= 1.0, f"p_value is {got_p:.3g}; an empirical p-value lies in (0, 1].")
    check(
        abs(got_p - ref.p_value) <= 0.1,
        f"p_value is {got_p:.3f}; a permutation test of these data gives about {ref.p_value:.3f}.",
        "Read permutation_test(...).p_value (the share of shuffles, plus one, at least as large as the estimate).",
    )
    check(
        isinstance(informative, (bool, np.bool_)),
        f"informative should be True or False; got {informative!r}.",
        HINTS["bool"],
    )
    want = bool(ref.p_value < alpha)
    if bool(informative) != want:
        hint = HINTS["forgot_null"] if informative else HINTS["p_direction"]
        raise AnswerError(
            f"informative is {bool(informative)}, but the estimate {want_mi:.3f} bits has p = {ref.p_value:.3f} "
            f"against a null mean of {ref.null_mean:.3f} bits.\nHint: {hint}"
        )


def informative_cases() -> list[tuple[str, np.ndarray, np.ndarray, bool]]:
    """The data sets of :func:`check_is_informative`: (description, o, z, whether O depends on Z).

    Small-sample cases where the plug-in estimate alone misleads (large bias, no information), and
    informative ones that a permutation test detects with a wide margin, so the verdict is not a coin toss.

    Examples
    --------
    >>> [(name, dep) for name, _, _, dep in informative_cases()][:2]
    [('independent, 6 binary nodes, N=100', False), ('O = node 0 flipped 10%, N=100', True)]
    """
    rng = np.random.default_rng(2024)
    out = []
    z = rng.integers(0, 2, size=(100, 6))
    out.append(("independent, 6 binary nodes, N=100", rng.integers(0, 2, size=100), z, False))
    z = rng.integers(0, 2, size=(100, 6))
    out.append(("O = node 0 flipped 10%, N=100", z[:, 0] ^ (rng.random(100) < 0.1), z, True))
    z = rng.integers(0, 4, size=(60, 3))
    out.append(("independent, 3 four-state nodes, N=60", rng.integers(0, 2, size=60), z, False))
    z = rng.integers(0, 2, size=(400, 4))
    out.append(("O = node 0 AND node 1, N=400", z[:, 0] & z[:, 1], z, True))
    return out


def check_is_informative(is_informative: Callable[[Any, Any], Any], *, hidden: bool = False) -> None:
    """Check a function ``is_informative(o, z)`` that says whether the output depends on the nodes.

    The verdict must come from a permutation test: each case is one where the plug-in estimate is far
    above 0 with or without information (see :func:`informative_cases`).

    Parameters
    ----------
    is_informative : callable
        The student's function: (o, z) -> bool.
    hidden : bool
        Also run the extra cases (used by the hidden test of the lesson).

    Examples
    --------
    >>> from relaywidgets.info import permutation_test
    >>> check_is_informative(lambda o, z: bool(permutation_test("mutual_information", o, z, n_perm=200).significant))
    >>> from relaywidgets.info import mutual_information
    >>> check_is_informative(lambda o, z: mutual_information(o, z) > 0.1)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: is_informative says True for 'independent, 6 binary nodes, N=100' (plug-in estimate 0.367 bits); the truth is False.
    Hint: Forgetting the permutation null: ...
    """
    cases = informative_cases()
    cases = cases if hidden else cases[:2]
    answers = []
    for name, o, z, truth in cases:
        got = _call(is_informative, "is_informative", o, z)
        check(isinstance(got, (bool, np.bool_)), f"is_informative returned {got!r}, not a bool.", HINTS["bool"])
        answers.append(bool(got))
    wrong = [(case, got) for case, got in zip(cases, answers) if got != case[3]]
    if not wrong:
        return
    # Every verdict reversed (True without information, False with it): the p-value read the wrong way round.
    reversed_all = len(wrong) == len(cases) and {c[3] for c in cases} == {True, False}
    (name, o, z, truth), got = wrong[0]
    est = _quiet(mutual_information, o, z)
    hint = HINTS["p_direction"] if reversed_all or not got else HINTS["forgot_null"]
    raise AnswerError(
        f"is_informative says {got} for {name!r} (plug-in estimate {est:.3f} bits); the truth is {truth}."
        f"\nHint: {hint}"
    )
