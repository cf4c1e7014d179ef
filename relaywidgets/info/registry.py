"""The registry of information estimators, listed by name for the widgets and the relay search."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .estimation import (
    Estimator,
    GCMIEstimator,
    KSGEstimator,
    MillerMadowEstimator,
    PluginEstimator,
    ShrinkageEstimator,
)

__all__ = ["estimators", "get_estimator", "register_estimator"]

_REGISTRY: dict[str, type[Estimator]] = {
    cls.name: cls
    for cls in (PluginEstimator, MillerMadowEstimator, ShrinkageEstimator, GCMIEstimator, KSGEstimator)
}


def estimators() -> dict[str, Estimator]:
    """All registered estimators with default parameters, by name.

    Returns
    -------
    dict of str to Estimator
        Ordered ``plugin``, ``miller-madow``, ``shrinkage``, ``gcmi``, ``ksg`` (then any registered
        later). Each has ``name``, ``kind`` (``"discrete"`` or ``"continuous"``), ``description``
        and ``citation``.

    Examples
    --------
    >>> from relaywidgets.info import estimators
    >>> [(name, e.kind) for name, e in estimators().items()][:2]
    [('plugin', 'discrete'), ('miller-madow', 'discrete')]
    """
    return {name: cls() for name, cls in _REGISTRY.items()}


def get_estimator(estimator: str | Estimator = "plugin", **params: Any) -> Estimator:
    """Return an estimator by name (with parameters) or pass an estimator object through.

    Parameters
    ----------
    estimator : str or Estimator
        A registered name (see :func:`estimators`) or an estimator object.
    **params
        Constructor parameters, e.g. ``get_estimator("ksg", k=5)``. With an object, a copy with
        these parameters changed is returned.

    Examples
    --------
    >>> from relaywidgets.info import get_estimator
    >>> get_estimator("ksg", k=5).k
    5
    """
    if isinstance(estimator, Estimator):
        if not params:
            return estimator
        merged = {**estimator.get_params(), **params}
        return _construct(type(estimator), merged)
    if isinstance(estimator, str) and estimator in _REGISTRY:
        return _construct(_REGISTRY[estimator], params)
    listed = ", ".join(repr(name) for name in _REGISTRY)
    raise InputError(
        f"Unknown estimator {estimator!r}. Valid estimators are {listed} "
        "(see relaywidgets.info.estimators() for descriptions), or pass an Estimator object."
    )


def _construct(cls: type[Estimator], params: dict[str, Any]) -> Estimator:
    try:
        return cls(**params)
    except TypeError:
        import inspect

        valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        bad = sorted(set(params) - set(valid))
        raise InputError(
            f"{cls.__name__} ({cls.name!r}) got unknown parameter(s) {bad}; its parameters are "
            f"{valid}."
        ) from None


def register_estimator(cls: type[Estimator]) -> type[Estimator]:
    """Register an :class:`~relaywidgets.info.estimators.Estimator` subclass under ``cls.name``.

    Usable as a class decorator. The class needs ``name``, ``kind``, ``description`` and ``citation``.
    """
    # anything else stored in the registry would break every later lookup of its name (find_relays included)
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise InputError(
            "register_estimator takes a subclass of relaywidgets.info.Estimator (the class itself, not an instance). "
            f"Got {cls!r} instead."
        )
    for attr in ("name", "kind", "description", "citation"):
        if not isinstance(getattr(cls, attr, None), str):
            raise InputError(
                f"An estimator class needs a string class attribute {attr!r}; {cls.__name__} has none."
            )
    if cls.kind not in ("discrete", "continuous"):
        raise InputError(
            f"The 'kind' of an estimator must be 'discrete' or 'continuous'. Got {cls.kind!r} instead."
        )
    _REGISTRY[cls.name] = cls
    return cls
