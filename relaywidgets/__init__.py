"""relaywidgets: find the information relays of recurrent networks and knock them out, from JupyterLab.

The top-level names are loaded lazily, so ``import relaywidgets.info`` stays a light numpy-only import
and ``import relaywidgets`` does not pull in torch or the widget stack until they are used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import InputError, KnockoutError, ModelFileError, RecordingError, RelaywidgetsError

_LAZY = {
    "RecurrentClassifier": "relaywidgets.models",
    "stepwise": "relaywidgets.models",
    "StepwiseModel": "relaywidgets.models",
    "Knockout": "relaywidgets.knockout",
    "make_task": "relaywidgets.tasks",
    "tasks": "relaywidgets.tasks",
    "train": "relaywidgets.training",
    "TrainingHistory": "relaywidgets.training",
    "save": "relaywidgets.serialization",
    "load": "relaywidgets.serialization",
    "record": "relaywidgets.recording",
    "check_recording": "relaywidgets.contract",
    "check_relays": "relaywidgets.contract",
    "recording_from_arrays": "relaywidgets.recording_arrays",
    "save_recording": "relaywidgets.recording",
    "load_recording": "relaywidgets.recording",
    "find_relays": "relaywidgets.relay",
    "relays_at": "relaywidgets.relay",
    "load_dataset": "relaywidgets.data",
    "datasets": "relaywidgets.data",
    "from_arrays": "relaywidgets.data",
    "load_pretrained": "relaywidgets.pretrained",
    "explore": "relaywidgets.widgets",
    "Explorer": "relaywidgets.widgets",
}

__all__ = sorted(
    [
        "__version__",
        "RelaywidgetsError",
        "InputError",
        "RecordingError",
        "ModelFileError",
        "KnockoutError",
        *_LAZY,
    ]
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'relaywidgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
