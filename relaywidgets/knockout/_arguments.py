"""Checks of the arguments of :class:`~relaywidgets.knockout.Knockout`: nodes, layer, value, window, flags.

Every check is strict: a value is either one the Knockout means exactly, or a :class:`KnockoutError` that
names the problem and the fix (never a silent coercion such as ``int(1.5)`` or ``bool("no")``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import is_int, is_real
from ..contract import parse_node_label
from ..errors import KnockoutError

__all__ = ["KNOCKOUT_VALUES", "parse_nodes", "check_value", "check_times", "check_flag"]

KNOCKOUT_VALUES = ("zero", "mean", "median")


def parse_nodes(nodes: Any, layer: Any, module: Any) -> tuple[list[int], int, str | None]:
    """Unit indices, layer and submodule of a Knockout's ``nodes`` (indices or labels), ``layer`` and ``module``."""
    if module is not None and (not isinstance(module, str) or not module or ":" in module):
        raise KnockoutError(
            f"The 'module' parameter of Knockout must be a submodule path such as 'encoder.lstm'. Got {module!r} instead."
        )
    if isinstance(nodes, (int, np.integer, str)):
        nodes = [nodes]
    try:
        items = list(nodes)
    except TypeError:
        raise KnockoutError(
            f"Knockout nodes must be an int, a label like 'l0.h3', or a list of them; got {type(nodes).__name__}."
        ) from None
    units: list[int] = []
    label_layers: set[int] = set()
    label_modules: set[str | None] = set()
    for item in items:
        if isinstance(item, (str, np.str_)):
            mod, lay, unit = parse_node_label(str(item), error=KnockoutError, with_module=True)
            label_layers.add(lay)
            label_modules.add(mod)
            units.append(unit)
        elif is_int(item):
            if item < 0:
                raise KnockoutError(f"Knockout node indices must be >= 0; got {int(item)}.")
            units.append(int(item))
        else:
            raise KnockoutError(
                f"Knockout nodes must be unit indices (int) or labels like 'l0.h3'; got {item!r}."
            )
    if len(label_modules) > 1:
        raise KnockoutError(
            f"One Knockout acts on one layer of one submodule, but its labels name submodules "
            f"{sorted(str(m) for m in label_modules)}; pass one Knockout per submodule (a list of them combines)."
        )
    if label_modules:
        (inferred_module,) = label_modules
        if inferred_module is not None:
            if module is not None and module != inferred_module:
                raise KnockoutError(
                    f"Knockout labels name submodule {inferred_module!r} but module={module!r} was given; "
                    "drop `module` or fix the labels."
                )
            module = inferred_module
    if len(label_layers) > 1:
        raise KnockoutError(
            f"One Knockout acts on one layer, but its labels name layers {sorted(label_layers)}; "
            "pass one Knockout per layer (a list of them combines)."
        )
    if label_layers:
        (inferred,) = label_layers
        if layer is not None and layer != inferred:
            raise KnockoutError(
                f"Knockout labels name layer {inferred} but layer={layer} was given; drop `layer` or fix the labels."
            )
        layer = inferred
    if layer is None:
        layer = 0
    if not isinstance(layer, (int, np.integer)) or layer < 0:
        raise KnockoutError(f"The 'layer' parameter of Knockout must be an int >= 0. Got {layer!r} instead.")
    return units, int(layer), module


def check_value(value: Any, reference: Any) -> str | float:
    """The knockout value: "zero", "mean" or "median" (with a reference recording), or a finite float."""
    if isinstance(value, str):
        if value not in KNOCKOUT_VALUES:
            raise KnockoutError(
                f"The 'value' parameter of Knockout must be one of 'zero', 'mean', 'median' or a float. "
                f"Got {value!r} instead."
            )
        if value in ("mean", "median") and reference is None:
            raise KnockoutError(
                f"Knockout value {value!r} needs a reference recording to take it from: "
                f"Knockout(..., value={value!r}, reference=relaywidgets.record(model, X, y))."
            )
    elif is_real(value):
        if not np.isfinite(value):
            raise KnockoutError(f"Knockout value must be finite; got {value!r}.")
        value = float(value)
    else:
        raise KnockoutError(
            f"The 'value' parameter of Knockout must be one of 'zero', 'mean', 'median' or a float. "
            f"Got {value!r} instead."
        )
    return value


def check_times(times: Any) -> None | slice | tuple[int, ...]:
    """The knockout window: ``None`` (every step), an int, a slice of ints, or a sequence of ints.

    Booleans, strings and non-integral numbers are refused rather than coerced; a boolean mask over steps
    is refused with the conversion to use (its length could not be checked against the sequence here).
    """
    what = "Knockout times must be None, an int, a slice or a list of ints (step indices)"
    if times is None:
        return None
    if isinstance(times, slice):
        parts = (times.start, times.stop, times.step)
        if not all(p is None or is_int(p) for p in parts) or times.step == 0:
            raise KnockoutError(f"{what}; the slice {times!r} must have int (or None) bounds and a non-zero step.")
        return slice(*(None if p is None else int(p) for p in parts))
    if is_int(times):
        return (int(times),)
    if isinstance(times, (str, bytes, bool, np.bool_)) or is_real(times):
        raise KnockoutError(f"{what}; got {times!r}.")
    try:
        items = list(times)
    except TypeError:
        raise KnockoutError(f"{what}; got {times!r}.") from None
    if items and all(isinstance(t, (bool, np.bool_)) for t in items):
        raise KnockoutError(
            f"{what}; got a boolean mask. Pass the steps where it is True: times=numpy.flatnonzero(mask)."
        )
    bad = [t for t in items if not is_int(t)]
    if bad:
        raise KnockoutError(f"{what}; {bad[:3]!r} are not ints (got {times!r}).")
    return tuple(int(t) for t in items)


def check_flag(value: Any, name: str) -> bool:
    """A True/False parameter of Knockout; truthy strings or numbers are refused, not converted."""
    if not isinstance(value, (bool, np.bool_)):
        raise KnockoutError(f"The {name!r} parameter of Knockout must be True or False. Got {value!r} instead.")
    return bool(value)
