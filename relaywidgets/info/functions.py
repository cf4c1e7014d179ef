"""Entropy, conditional entropy, mutual information and CMI with any registered estimator.

Arguments are arrays with samples on the first axis; a 2-D argument is one multivariate (joint)
variable, e.g. a set of nodes. Results are in bits.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .estimation import DiscreteEstimator, Estimator
from .registry import get_estimator

__all__ = ["entropy", "conditional_entropy", "mutual_information", "conditional_mutual_information"]


def _resolve(estimator: str | Estimator, backend: Any, device: Any) -> tuple[Estimator, dict[str, Any]]:
    est = get_estimator(estimator)
    if isinstance(est, DiscreteEstimator):
        return est, {"backend": backend, "device": device}
    # "numpy" (as a backend or a device word) is where a continuous estimator runs anyway.
    if backend not in (None, "numpy") or device not in (None, "numpy"):
        raise InputError(
            f"backend={backend!r}, device={device!r}: the torch backend counts discrete states and "
            f"is only used by discrete estimators, not by the continuous estimator {est.name!r}. "
            "Drop the backend/device arguments, or use 'plugin', 'miller-madow' or 'shrinkage'."
        )
    return est, {}


def entropy(
    a: Any, *, estimator: str | Estimator = "plugin", backend: str | None = None, device: Any = None, **kwargs: Any
) -> float:
    """Entropy H(A) in bits.

    Parameters
    ----------
    a : array-like, shape (sample,) or (sample, variable)
        Integer state codes (a 2-D array is one joint variable).
    estimator : str or Estimator
        A name from :func:`~relaywidgets.info.estimators` (a name) or an estimator object.
    backend : {"numpy", "torch", "auto"}, optional
        Counting backend of discrete estimators (default: the estimator's, ``"numpy"``).
    device : str, optional
        Torch device (``"cpu"``, ``"cuda"``) with ``backend="torch"``. The vocabulary is that of
        :func:`relaywidgets.info.backends.get_backend`, shared with ``find_relays``.
    **kwargs
        Passed to the estimator's method (e.g. ``discrete_a=True`` for continuous estimators).

    Returns
    -------
    float
        Bits.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import entropy
    >>> entropy(np.array([0, 1, 2, 3] * 10))
    2.0
    """
    est, extra = _resolve(estimator, backend, device)
    return est.entropy(a, **extra, **kwargs)


def conditional_entropy(
    a: Any,
    given: Any,
    *,
    estimator: str | Estimator = "plugin",
    backend: str | None = None,
    device: Any = None,
    **kwargs: Any,
) -> float:
    """Conditional entropy H(A | given) in bits.

    ``given`` may have zero columns (shape ``(n, 0)``), meaning no condition. With a continuous
    estimator, ``a`` must be discrete (class labels) and ``H(A | given) = H(A) - I(A; given)``.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import conditional_entropy
    >>> x = np.array([0, 1, 2, 3] * 10)
    >>> conditional_entropy(x, x % 2)
    1.0
    """
    est, extra = _resolve(estimator, backend, device)
    return est.conditional_entropy(a, given, **extra, **kwargs)


def mutual_information(
    a: Any,
    b: Any,
    *,
    estimator: str | Estimator = "plugin",
    backend: str | None = None,
    device: Any = None,
    **kwargs: Any,
) -> float:
    """Mutual information I(A; B) in bits.

    With a continuous estimator (``"gcmi"``, ``"ksg"``) one of ``a``, ``b`` may be discrete:
    bool or integer arrays are taken as class labels (declare otherwise with ``discrete_a=``,
    ``discrete_b=``).

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import mutual_information
    >>> x = np.array([0, 1, 2, 3] * 10)
    >>> mutual_information(x, x % 2)
    1.0
    """
    est, extra = _resolve(estimator, backend, device)
    return est.mutual_information(a, b, **extra, **kwargs)


def conditional_mutual_information(
    a: Any,
    b: Any,
    given: Any,
    *,
    estimator: str | Estimator = "plugin",
    backend: str | None = None,
    device: Any = None,
    **kwargs: Any,
) -> float:
    """Conditional mutual information I(A; B | given) in bits.

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import conditional_mutual_information
    >>> a = np.array([0, 1, 0, 1] * 10); b = np.array([0, 0, 1, 1] * 10)
    >>> conditional_mutual_information(a, a ^ b, b)  # XOR: a and a^b are independent, not given b
    1.0
    """
    est, extra = _resolve(estimator, backend, device)
    return est.conditional_mutual_information(a, b, given, **extra, **kwargs)
