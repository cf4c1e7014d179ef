"""Information estimator classes: discrete (plug-in, Miller-Madow, shrinkage) and continuous (GCMI, KSG).

(Named ``estimation`` so that it does not clash with the function ``relaywidgets.info.estimators()``.)
"""

from __future__ import annotations

from .base import ContinuousEstimator, DiscreteEstimator, Estimator
from .gcmi import GCMIEstimator
from .ksg import KSGEstimator
from .miller_madow import MillerMadowEstimator
from .plugin import PluginEstimator
from .shrinkage import ShrinkageEstimator

__all__ = [
    "Estimator",
    "DiscreteEstimator",
    "ContinuousEstimator",
    "PluginEstimator",
    "MillerMadowEstimator",
    "ShrinkageEstimator",
    "GCMIEstimator",
    "KSGEstimator",
]
