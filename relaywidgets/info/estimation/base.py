"""Base classes of the information estimators: the common interface, discrete and continuous.

Every estimator has ``name``, ``kind`` (``"discrete"`` or ``"continuous"``), a one-line
``description`` and a ``citation``, and four methods returning bits: ``entropy(a)``,
``conditional_entropy(a, given)``, ``mutual_information(a, b)`` and
``conditional_mutual_information(a, b, given)``. Arguments are arrays with samples on the first
axis; a 2-D argument is one multivariate (joint) variable. A ``given`` with zero columns means
"no condition".
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ...errors import InputError
from ..backends import get_backend
from ..counting import SubsetCounter, column_alphabet_log2, entropy_from_counts, joint_codes
from ..._validation import (
    as_codes,
    as_samples_array,
    check_finite,
    check_float,
    check_n_samples,
    is_discrete_array,
    warn_if_undersampled,
)

__all__ = ["Estimator", "DiscreteEstimator", "ContinuousEstimator"]


class Estimator(ABC):
    """Interface of an information estimator. Results are in bits."""

    name: ClassVar[str]
    kind: ClassVar[str]
    description: ClassVar[str]
    citation: ClassVar[str]

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters of this estimator, as given."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_params() == other.get_params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted((k, repr(v)) for k, v in self.get_params().items()))))

    @abstractmethod
    def entropy(self, a: Any, **kwargs: Any) -> float:
        """Entropy H(A) in bits."""

    @abstractmethod
    def conditional_entropy(self, a: Any, given: Any, **kwargs: Any) -> float:
        """Conditional entropy H(A | given) in bits."""

    @abstractmethod
    def mutual_information(self, a: Any, b: Any, **kwargs: Any) -> float:
        """Mutual information I(A; B) in bits."""

    @abstractmethod
    def conditional_mutual_information(self, a: Any, b: Any, given: Any, **kwargs: Any) -> float:
        """Conditional mutual information I(A; B | given) in bits."""


class DiscreteEstimator(Estimator):
    """Estimators computed from the counts of joint states of integer-coded variables.

    Every quantity is a signed sum of joint entropies, e.g.
    ``I(A;B|C) = H(A,C) + H(B,C) - H(A,B,C) - H(C)``. A subclass says how entropies are estimated
    from counts in one method, :meth:`entropy_from_counts`, vectorised over a batch of count
    tables; parameters fitted once on the joint variable of all the arguments and shared by its
    marginals (the shrinkage intensity) come from :meth:`fit_counts`. The relay search calls one
    hook, :meth:`conditional_entropy_from_counts`: ``H(O | W)`` for many candidate conditioning
    sets W at once from one joint count array.

    Capability flags (class attributes) tell callers what an estimator allows, instead of a list of
    known names:

    - ``vectorised_counts``: :meth:`entropy_from_counts` takes count arrays of any shape with
      ``axis=`` and a backend's arrays, so the relay search may use its counting fast path;
      otherwise it calls the public methods once per candidate set (the generic path);
    - ``supports_torch``: the count hooks run on torch tensors (a torch backend's arrays, e.g. on
      a GPU), using only the methods of :mod:`relaywidgets.info.backends`;
    - ``needs_alphabet``: the hooks need log2 of each variable's number of possible cells;
    - ``drops_pure_groups``: a group of samples whose output is constant adds 0 to ``H(O | W)`` for
      every refinement of W, so the search may drop its samples;
    - ``monotone_in_given``: ``H(O | W)`` never increases when W grows, so a search may stop once it
      reaches ``H(O | N)``;
    - ``non_negative``: the estimated informations are >= 0 exactly (tiny negatives are rounding).

    Parameters
    ----------
    backend, device : optional
        Where joint states are packed and counted: ``backend="numpy"`` (default) or ``"torch"``
        with a ``device`` (``"cpu"``, ``"cuda"``); see :func:`relaywidgets.info.backends.get_backend`.
        Both give the same numbers.
    min_samples_per_state : float
        Warn (:class:`~relaywidgets.info.UndersamplingWarning`) when the joint variable of all the
        arguments has more than ``n_samples / min_samples_per_state`` observed states. 0 disables.
    """

    kind: ClassVar[str] = "discrete"
    vectorised_counts: ClassVar[bool] = False
    supports_torch: ClassVar[bool] = False
    needs_alphabet: ClassVar[bool] = False
    drops_pure_groups: ClassVar[bool] = False
    monotone_in_given: ClassVar[bool] = False
    non_negative: ClassVar[bool] = False

    def __init__(self, *, backend: str = "numpy", device: Any = None, min_samples_per_state: float = 5.0):
        self.backend = backend
        self.device = device
        self.min_samples_per_state = min_samples_per_state

    # ------------------------------------------------------------------ public API
    def entropy(self, a: Any, *, backend: Any = None, device: Any = None) -> float:
        """Entropy H(A) in bits.

        ``a``: int state codes, shape (sample,) or (sample, variable) (2-D: one joint variable);
        ``backend``, ``device`` override the estimator's counting backend for this call.
        """
        return self._estimate({"a": a}, [(1.0, ("a",))], backend, device)

    def conditional_entropy(self, a: Any, given: Any, *, backend: Any = None, device: Any = None) -> float:
        """Conditional entropy H(A | given) = H(A, given) - H(given) in bits."""
        terms = [(1.0, ("given", "a")), (-1.0, ("given",))]
        return self._estimate({"given": given, "a": a}, terms, backend, device)

    def mutual_information(self, a: Any, b: Any, *, backend: Any = None, device: Any = None) -> float:
        """Mutual information I(A; B) = H(A) + H(B) - H(A, B) in bits."""
        terms = [(1.0, ("a",)), (1.0, ("b",)), (-1.0, ("a", "b"))]
        return self._estimate({"a": a, "b": b}, terms, backend, device)

    def conditional_mutual_information(
        self, a: Any, b: Any, given: Any, *, backend: Any = None, device: Any = None
    ) -> float:
        """Conditional mutual information I(A; B | given) in bits.

        ``H(A, given) + H(B, given) - H(A, B, given) - H(given)``.
        """
        terms = [
            (1.0, ("given", "a")),
            (1.0, ("given", "b")),
            (-1.0, ("given", "a", "b")),
            (-1.0, ("given",)),
        ]
        return self._estimate({"given": given, "a": a, "b": b}, terms, backend, device)

    # ------------------------------------------------------------------ count hooks
    @abstractmethod
    def entropy_from_counts(
        self,
        counts: Any,
        *,
        axis: int | tuple[int, ...] | None = None,
        n_samples: int | None = None,
        log2_cells: Any = None,
        fit: Any = None,
        backend: Any = None,
    ) -> Any:
        """Entropies in bits of the distributions whose state counts lie along ``axis`` of ``counts``.

        Parameters
        ----------
        counts : int array (numpy, or the backend's array type)
            Occurrences of each state; the remaining axes index a batch of distributions.
        axis : int or tuple of int, optional
            The state axes (default: every axis, one distribution).
        n_samples : int, optional
            Number of samples N. Defaults to the counts' sum; a caller that leaves out groups of
            samples (see ``drops_pure_groups``) passes the full N.
        log2_cells : float or array, optional
            log2 of the number of possible cells of each distribution (``needs_alphabet``).
        fit : optional
            What :meth:`fit_counts` returned for the joint variable these counts are marginals of.
        backend : backend object, optional
            The array backend of ``counts`` (numpy when omitted).

        Returns
        -------
        float array of the batch shape (0-d for one distribution)
        """

    def fit_counts(
        self, counts: Any, *, axis: int | tuple[int, ...] | None = None, log2_cells: Any = None, backend: Any = None
    ) -> Any:
        """Parameters fitted once on the joint variable of all arguments and shared by its marginals.

        None here (each entropy depends on its own counts); arguments as in :meth:`entropy_from_counts`.
        """
        return None

    def conditional_entropy_from_counts(
        self,
        counts: Any,
        n_samples: int,
        *,
        backend: Any = None,
        log2_cells_w: Any = None,
        log2_k_o: float = 0.0,
    ) -> Any:
        """H(O | W_m) in bits for many candidate conditioning variables W_m at once.

        The hook of the relay search: ``H(O, W) - H(W)`` with both entropies from
        :meth:`entropy_from_counts` and one :meth:`fit_counts` of the joint (O, W).

        Parameters
        ----------
        counts : int array, shape (G, K, V, M)
            Joint counts: groups ``g`` of a base partition, output states ``o``, sub-cells ``v``
            refining each group (the states of a candidate node) and candidates ``m``; the
            conditioning cells of candidate ``m`` are the pairs ``(g, v)``. Groups without samples
            may be left out; with ``drops_pure_groups``, groups pure in O may be too.
        n_samples : int
            Number of samples N (including any left-out groups).
        backend : backend object, optional
            Where ``counts`` live (numpy when omitted); the result is on the same backend.
        log2_cells_w : float array, shape (M,), optional
            log2 of the number of cells of each W_m (``needs_alphabet``).
        log2_k_o : float
            log2 of the number of output states (``needs_alphabet``).

        Returns
        -------
        float64 array, shape (M,)

        Examples
        --------
        >>> import numpy as np
        >>> from relaywidgets.info import PluginEstimator
        >>> cnt = np.array([[[[5]], [[5]]]])  # one group, O = 0 / 1 five times each, one candidate
        >>> PluginEstimator().conditional_entropy_from_counts(cnt, 10).round(12).tolist()
        [1.0]
        """
        be = get_backend(backend)
        if counts.shape[0] == 0:
            return be.to_float(counts.sum((0, 1, 2)))
        n_w = counts.sum(1)  # (G, V, M)
        log2_ow = None if log2_cells_w is None else log2_cells_w + log2_k_o
        fit = self.fit_counts(counts, axis=(0, 1, 2), log2_cells=log2_ow, backend=be)
        h_ow = self.entropy_from_counts(
            counts, axis=(0, 1, 2), n_samples=n_samples, log2_cells=log2_ow, fit=fit, backend=be
        )
        h_w = self.entropy_from_counts(
            n_w, axis=(0, 1), n_samples=n_samples, log2_cells=log2_cells_w, fit=fit, backend=be
        )
        return h_ow - h_w

    # ------------------------------------------------------------------ machinery
    def _prepare(self, variables: dict[str, Any]) -> tuple[dict[str, np.ndarray], int]:
        arrays = {name: as_samples_array(v, name) for name, v in variables.items()}
        n = check_n_samples(arrays)
        arrays = {name: as_codes(a, name, self.name) for name, a in arrays.items()}
        return arrays, n

    def _estimate(
        self,
        variables: dict[str, Any],
        terms: list[tuple[float, tuple[str, ...]]],
        backend: Any,
        device: Any,
    ) -> float:
        arrays, n = self._prepare(variables)
        be = get_backend(
            self.backend if backend is None else backend, self.device if device is None else device
        )
        dense = {name: joint_codes(a, backend=be) for name, a in arrays.items()}
        counter = SubsetCounter(dense, n, be)
        subsets = [s for _, s in terms]
        counts = [counter.counts(s) for s in subsets]
        full = max(range(len(subsets)), key=lambda i: len(subsets[i]))
        n_observed = int(np.count_nonzero(counts[full]))
        msps = check_float(self.min_samples_per_state, "min_samples_per_state", type(self).__name__, 0.0)
        warn_if_undersampled(n_observed, n, msps, self.name)
        log2k: list[float | None] = [None] * len(subsets)
        if self.needs_alphabet:
            per_var = {name: column_alphabet_log2(a) for name, a in arrays.items()}
            log2k = [sum(per_var[v] for v in s) for s in subsets]
        # Counts come back as numpy arrays from every backend, so the entropies are numpy's; the
        # unobserved cells are left out (the alphabet, where it matters, is in log2_cells).
        counts = [c[c > 0] for c in counts]
        fit = self.fit_counts(counts[full], log2_cells=log2k[full])
        h = [
            float(self.entropy_from_counts(c, n_samples=n, log2_cells=k, fit=fit))
            for c, k in zip(counts, log2k)
        ]
        value = float(sum(c * hi for (c, _), hi in zip(terms, h)))
        if self.non_negative and value < 0.0:
            value = 0.0  # the estimated quantity is >= 0 exactly; a negative is float rounding
        return value


class ContinuousEstimator(Estimator):
    """Estimators for continuous variables, also against discrete ones (class labels).

    Which arguments are discrete is read from the dtype (bool or integer arrays are discrete
    state codes; float arrays are continuous) unless declared with ``discrete_a=``,
    ``discrete_b=``, ``discrete_given=`` (``True``/``False``). A multi-column discrete argument is
    one joint variable (its rows are packed with :func:`~relaywidgets.info.joint_codes`).

    Supported combinations (c = continuous, d = discrete):

    - ``mutual_information``: (c, c), (c, d), (d, c);
    - ``conditional_mutual_information``: (c, c | c), (c, d | c), (d, c | c) and any of the
      three pairs given a discrete variable (averaged over its states);
    - ``entropy`` and ``conditional_entropy`` of a *discrete* ``a``: ``H(A)`` is the plug-in entropy
      of A's labels and ``H(A | given) = H(A) - I(A; given)`` for a continuous ``given``.
      Differential entropies of continuous variables are not offered (they depend on units).
    """

    kind: ClassVar[str] = "continuous"
    _min_class_extra: ClassVar[int] = 1  # a class needs more samples than this (plus dimensions)

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _mi_cc(self, x: np.ndarray, y: np.ndarray) -> float:
        """I(X; Y) in bits for continuous 2-D float arrays."""

    @abstractmethod
    def _mi_cd(self, x: np.ndarray, labels: np.ndarray) -> float:
        """I(X; Y) in bits for continuous 2-D X and 1-D dense integer labels Y (0 .. k-1)."""

    @abstractmethod
    def _cmi_ccc(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
        """I(X; Y | Z) in bits for continuous 2-D float arrays."""

    def _min_class_size(self, dims: int) -> int:
        """Fewest samples a class may have for an estimate within it."""
        return dims + 2

    # ------------------------------------------------------------------ input handling
    def _prepare(self, variables: dict[str, tuple[Any, bool | None]]) -> tuple[dict[str, tuple[np.ndarray, bool]], int]:
        arrays = {name: as_samples_array(v, name) for name, (v, _) in variables.items()}
        n = check_n_samples(arrays)
        out: dict[str, tuple[np.ndarray, bool]] = {}
        for name, arr in arrays.items():
            declared = variables[name][1]
            if declared is not None and not isinstance(declared, (bool, np.bool_)):
                raise InputError(
                    f"The 'discrete_{name}' parameter of {type(self).__name__} must be True, False or "
                    f"None (read from the dtype). Got {declared!r} instead."
                )
            discrete = is_discrete_array(arr) if declared is None else bool(declared)
            if arr.shape[1] == 0:  # no variable at all: "no condition"
                out[name] = (arr.astype(np.float64), False)
            elif discrete:
                codes = as_codes(arr, name, self.name, kind="continuous")
                labels, _ = joint_codes(codes)
                out[name] = (np.asarray(labels), True)
            else:
                x = arr.astype(np.float64)
                check_finite(x, name)
                out[name] = (x, False)
        return out, n

    @staticmethod
    def _plugin_entropy(labels: np.ndarray) -> float:
        return entropy_from_counts(np.bincount(labels))

    def _no_discrete_pair(self, what: str) -> InputError:
        return InputError(
            f"The continuous estimator {self.name!r} needs at least one continuous argument for "
            f"{what}, but all are discrete (integer or bool dtype). Use a discrete estimator "
            "('plugin', 'miller-madow', 'shrinkage'), or declare a float-coded argument as "
            "continuous with discrete_a=False / discrete_b=False."
        )

    # ------------------------------------------------------------------ public API
    def entropy(self, a: Any, *, discrete_a: bool | None = None) -> float:
        """Plug-in entropy H(A) in bits of a *discrete* ``a`` (class labels).

        Raises for a continuous ``a``: differential entropy is not offered.
        """
        data, _ = self._prepare({"a": (a, discrete_a)})
        x, disc = data["a"]
        if not disc:
            raise InputError(
                f"The continuous estimator {self.name!r} does not estimate the entropy of a "
                "continuous variable (a differential entropy depends on units). Estimate mutual "
                "informations instead, or coarse-grain with relaywidgets.info.discretize() and use "
                "a discrete estimator ('plugin', 'miller-madow', 'shrinkage')."
            )
        return self._plugin_entropy(x)

    def conditional_entropy(
        self, a: Any, given: Any, *, discrete_a: bool | None = None, discrete_given: bool | None = None
    ) -> float:
        """H(A | given) = H(A) - I(A; given) in bits for a discrete ``a`` and a continuous ``given``.

        ``H(A)`` is the plug-in entropy of A's labels; ``I(A; given)`` is estimated by this estimator.
        A ``given`` with zero columns returns ``H(A)``.
        """
        data, _ = self._prepare({"a": (a, discrete_a), "given": (given, discrete_given)})
        x, disc = data["a"]
        if not disc:
            raise InputError(
                f"conditional_entropy with the continuous estimator {self.name!r} needs a discrete "
                "'a' (integer class labels), e.g. the network's decision. Pass integer codes or "
                "discrete_a=True."
            )
        g, g_disc = data["given"]
        h = self._plugin_entropy(x)
        if _is_empty(g):
            return h
        if g_disc:
            raise self._no_discrete_pair("conditional_entropy")
        return float(h - self._mi_cd(g, x))

    def mutual_information(
        self, a: Any, b: Any, *, discrete_a: bool | None = None, discrete_b: bool | None = None
    ) -> float:
        """Mutual information I(A; B) in bits; one of ``a``, ``b`` may be discrete."""
        data, _ = self._prepare({"a": (a, discrete_a), "b": (b, discrete_b)})
        return float(self._mi(data["a"], data["b"]))

    def conditional_mutual_information(
        self,
        a: Any,
        b: Any,
        given: Any,
        *,
        discrete_a: bool | None = None,
        discrete_b: bool | None = None,
        discrete_given: bool | None = None,
    ) -> float:
        """Conditional mutual information I(A; B | given) in bits.

        With a continuous ``given`` and one discrete argument the chain rule is used:
        ``I(X; Y | Z) = I(Y; X, Z) - I(Y; Z)`` for discrete Y. With a discrete ``given`` the
        estimate is ``sum_z p(z) I(A; B | given = z)``.
        """
        data, _ = self._prepare(
            {"a": (a, discrete_a), "b": (b, discrete_b), "given": (given, discrete_given)}
        )
        (x, xd), (y, yd), (z, zd) = data["a"], data["b"], data["given"]
        if _is_empty(z):
            return float(self._mi((x, xd), (y, yd)))
        if zd:
            total = 0.0
            n = z.shape[0]
            labels = z
            for state in range(int(labels.max()) + 1):
                idx = np.flatnonzero(labels == state)
                self._check_class_size(idx.size, x, y, state)
                sub_x = x[idx] if not xd else _redensify(x[idx])
                sub_y = y[idx] if not yd else _redensify(y[idx])
                total += idx.size / n * self._mi((sub_x, xd), (sub_y, yd))
            return float(total)
        if xd and yd:
            raise self._no_discrete_pair("conditional_mutual_information")
        if not xd and not yd:
            return float(self._cmi_ccc(x, y, z))
        cont, labels = (x, y) if yd else (y, x)
        return float(self._mi_cd(np.hstack([cont, z]), labels) - self._mi_cd(z, labels))

    def _check_class_size(self, size: int, x: np.ndarray, y: np.ndarray, state: int) -> None:
        dims = (0 if x.ndim == 1 else x.shape[1]) + (0 if y.ndim == 1 else y.shape[1])
        need = self._min_class_size(dims)
        if size < need:
            raise InputError(
                f"State {state} of the discrete 'given' has {size} sample(s); {self.name!r} needs at "
                f"least {need} per state here. Merge rare states, pass more samples, or use a "
                "discrete estimator."
            )

    def _mi(self, a: tuple[np.ndarray, bool], b: tuple[np.ndarray, bool]) -> float:
        (x, xd), (y, yd) = a, b
        if xd and yd:
            raise self._no_discrete_pair("mutual_information")
        if xd:
            x, y = y, x
            yd = True
        if _is_empty(x) or _is_empty(y):
            return 0.0
        if yd:
            return self._mi_cd(x, y)
        return self._mi_cc(x, y)


def _is_empty(x: np.ndarray) -> bool:
    """A continuous argument with zero columns (discrete labels are 1-D)."""
    return x.ndim == 2 and x.shape[1] == 0


def _redensify(labels: np.ndarray) -> np.ndarray:
    """Labels of a subset of samples, renumbered 0 .. k-1."""
    flat = labels.reshape(-1)
    _, inverse = np.unique(flat, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)
