"""Interactive relay explorer for JupyterLab 4 and Notebook 7, built on ipywidgets 8 and bqplot.

This is the only part of relaywidgets that imports ipywidgets and bqplot. One state object
(:class:`ExplorerState`) holds what is shown; each view observes it:

- :class:`EstimatorPanel`: estimator, discretizer, threshold and alpha; Recompute.
- :class:`RelayHeatmap`: contribution of each node over time, relay cells marked.
- :class:`RelayGraph`: input -> hidden nodes -> concepts at the selected step; click to knock out.
- :class:`KnockoutPanel`: node toggles, relay and random-control knockouts, live accuracy.
- :class:`EffectHeatmap`: the effect map of the selected concept on the relay map's axes; Compute causal map.
- :class:`CausalPanel`: the causal set (knock it out) and deletion curves of rankings against random sets.

:func:`explore` records a model, finds its relays and returns an :class:`Explorer`. :func:`app` returns an
:class:`App`: the explorer for students who do not code (pick a task and an architecture, open a shipped
network or train one), shown as a Voilà page by ``notebooks/app.ipynb``.
"""

from __future__ import annotations

from .app import App, AppError, app
from .causal_view import CausalPanel, EffectHeatmap
from .estimator_panel import EstimatorPanel
from .explorer import Explorer, explore
from .graph import RelayGraph
from .heatmap import RelayHeatmap
from .knockout_panel import KnockoutPanel
from .state import ExplorerState, ExplorerStateError

__all__ = [
    "App",
    "AppError",
    "app",
    "Explorer",
    "ExplorerState",
    "ExplorerStateError",
    "explore",
    "EstimatorPanel",
    "RelayHeatmap",
    "RelayGraph",
    "KnockoutPanel",
    "EffectHeatmap",
    "CausalPanel",
]
