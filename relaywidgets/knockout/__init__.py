"""Knockout experiments: clamp hidden units and measure what the network loses.

The model module imports the spec, so the parts that need the model classes
(:func:`relay_knockout_test`, :class:`KnockoutSession`) and the matplotlib helper load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .spec import (
    KNOCKOUT_VALUES,
    Knockout,
    KnockoutPlan,
    compile_knockouts,
    node_label,
    parse_node_label,
    relay_units,
    stack_knockouts,
)
from .evaluate import evaluate  # eager: the name must shadow the submodule of the same name


_LAZY = {
    "relay_knockout_test": "relaywidgets.knockout.causal",
    "KnockoutSession": "relaywidgets.knockout.session",
    "KnockoutResult": "relaywidgets.knockout.session",
    "plot_knockout_test": "relaywidgets.plot",
}

__all__ = [
    "Knockout",
    "KnockoutPlan",
    "compile_knockouts",
    "stack_knockouts",
    "relay_units",
    "node_label",
    "parse_node_label",
    "KNOCKOUT_VALUES",
    "evaluate",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'relaywidgets.knockout' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
