"""Information relays of recurrent networks: relay information, the greedy relay search, drift.

numpy/xarray only at import time (torch is used, lazily, for the optional GPU search; no widget or
plotting imports). See docs/method.md for the definitions.

- :func:`relay_information`: I_R of one node set at one step for one concept.
- :func:`find_relays`: the relay map over concepts x time steps, with scores, curves and a
  permutation null; :func:`relays_at` re-derives relay sets for another threshold.
- :func:`relay_drift`, :func:`compare_architectures`: persistence of relay sets over time.
"""

from __future__ import annotations

from ._prepare import ConstantOutputWarning, EstimatorFailedWarning
from .drift import compare_architectures, jaccard, relay_drift
from .information import relay_information
from .search import find_relays
from .threshold import relays_at

__all__ = [
    "relay_information",
    "find_relays",
    "relays_at",
    "relay_drift",
    "compare_architectures",
    "jaccard",
    "ConstantOutputWarning",
    "EstimatorFailedWarning",
]
