"""Information estimators for relay analysis: coarse-graining, entropies, mutual informations, tests.

A small library of its own (numpy/scipy; torch only for the optional GPU counting backend; no
widget imports). Arguments are arrays with samples on the first axis, a 2-D argument being one
joint variable; results are in bits.

- :func:`discretize` / :func:`discretizers`: continuous activations to small integer codes.
- :func:`estimators` / :func:`get_estimator`: ``plugin``, ``miller-madow``, ``shrinkage`` (discrete),
  ``gcmi``, ``ksg`` (continuous, also against discrete labels); the classes live in
  ``relaywidgets.info.estimation`` (one module each) and are exported here.
- :func:`entropy`, :func:`conditional_entropy`, :func:`mutual_information`,
  :func:`conditional_mutual_information` with ``estimator=`` by name or object.
- :func:`permutation_test`: null mean (bias floor), null quantiles, p-value, bootstrap CI.
- :func:`joint_codes`, :func:`entropy_from_counts`: the counting core reused by the relay search.
"""

from __future__ import annotations

from .counting import combine_codes, count_states, entropy_from_counts, joint_codes
from .discretize import Discretizer, discretize, discretizers
from .estimation import (
    ContinuousEstimator,
    DiscreteEstimator,
    Estimator,
    GCMIEstimator,
    KSGEstimator,
    MillerMadowEstimator,
    PluginEstimator,
    ShrinkageEstimator,
)
from .functions import conditional_entropy, conditional_mutual_information, entropy, mutual_information
from .registry import estimators, get_estimator, register_estimator
from .significance import PermutationResult, permutation_test
from .._validation import UndersamplingWarning

__all__ = [
    "discretize",
    "discretizers",
    "Discretizer",
    "estimators",
    "get_estimator",
    "register_estimator",
    "Estimator",
    "DiscreteEstimator",
    "ContinuousEstimator",
    "PluginEstimator",
    "MillerMadowEstimator",
    "ShrinkageEstimator",
    "GCMIEstimator",
    "KSGEstimator",
    "entropy",
    "conditional_entropy",
    "mutual_information",
    "conditional_mutual_information",
    "permutation_test",
    "PermutationResult",
    "joint_codes",
    "combine_codes",
    "count_states",
    "entropy_from_counts",
    "UndersamplingWarning",
]
