"""The plotting backends and the one place a figure function picks the module that draws it."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from ..errors import InputError

__all__ = ["BACKENDS", "check_backend", "drawer"]

#: Backend name -> the module of this package that draws with it (imported on first use, so that
#: ``import relaywidgets.plot`` loads neither matplotlib nor bqplot).
_MODULES = {"matplotlib": "draw_matplotlib", "bqplot": "draw_bqplot"}
BACKENDS = tuple(_MODULES)


def check_backend(backend: Any, owner: str) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS`, else raise an :class:`InputError` naming both."""
    if backend not in BACKENDS:
        raise InputError(
            f"The 'backend' parameter of {owner} must be one of 'matplotlib' (a static Figure for export) or "
            f"'bqplot' (an interactive figure for notebooks). Got {backend!r} instead."
        )
    return backend


def drawer(backend: Any, owner: str) -> ModuleType:
    """The drawing module of ``backend``: ``draw_matplotlib`` or ``draw_bqplot`` (checked first).

    Examples
    --------
    >>> drawer("matplotlib", "relay_heatmap").__name__
    'relaywidgets.plot.draw_matplotlib'
    """
    return importlib.import_module(f"{__package__}.{_MODULES[check_backend(backend, owner)]}")
