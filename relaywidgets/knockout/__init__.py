"""Knockout experiments: clamp hidden units and measure what the network loses.

- :class:`Knockout`: which units of which layer to clamp, when, and to what value;
- :func:`evaluate`: accuracy of the network with a knockout, as a Dataset;
- :func:`relay_knockout_test`: a relay set's accuracy drop against size-matched random sets;
- :class:`KnockoutSession`: interactive knockouts that reuse the intact network's states;
- :func:`effect_map`, :func:`unit_effects`: accuracy and margin drops per concept, unit and step;
- :func:`causal_set`, :func:`keep_set`: the smallest unit sets whose knockout (or keeping) decides a concept;
- :func:`deletion_curve`, :func:`rankings`: how well a ranking of units predicts knockout drops, against random;
- :func:`agreement`: relay scores and sets against knockout effects and causal sets.

The masks the model applies (:class:`~relaywidgets.models.plan.KnockoutPlan`, :func:`compile_knockouts`,
:func:`stack_knockouts`) live with the model in :mod:`relaywidgets.models.plan`, and the node-label
grammar in :mod:`relaywidgets.contract`; both are re-exported here.
"""

from __future__ import annotations

from typing import Any

from ..contract import node_label
from ..models.plan import KnockoutPlan, compile_knockouts, stack_knockouts
from .agreement import agreement
from .causal import relay_knockout_test
from .causal_sets import causal_set, keep_set
from .effects import effect_map, unit_effects
from .evaluate import evaluate  # the function shadows the submodule of the same name, on purpose
from .faithfulness import RANKINGS, deletion_curve, rankings
from .from_relays import relay_units
from .session import KnockoutResult, KnockoutSession
from .spec import KNOCKOUT_VALUES, Knockout, parse_node_label

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
    "relay_knockout_test",
    "KnockoutSession",
    "KnockoutResult",
    "effect_map",
    "unit_effects",
    "causal_set",
    "keep_set",
    "deletion_curve",
    "rankings",
    "RANKINGS",
    "agreement",
    "plot_knockout_test",
]


def plot_knockout_test(*args: Any, **kwargs: Any) -> Any:
    """Draw a knockout test; an alias of :func:`relaywidgets.plot.plot_knockout_test`, kept for old code.

    The figure code lives on the plotting floor, above the experiment, and is imported only when called
    so that ``import relaywidgets.knockout`` never loads matplotlib.
    """
    from ..plot import plot_knockout_test as plot

    return plot(*args, **kwargs)
