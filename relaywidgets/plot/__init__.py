"""Figures of relay maps and knockout tests: static matplotlib figures for export, bqplot ones for notebooks.

Every function takes ``backend="matplotlib"`` (returns a :class:`matplotlib.figure.Figure`) or
``backend="bqplot"`` (returns a :class:`bqplot.Figure`, or an :class:`ipywidgets.GridBox` of figures
when there is one panel per class). What a figure shows is computed without any plotting library
(:mod:`~relaywidgets.plot.data`, :mod:`~relaywidgets.plot.series_data`,
:mod:`~relaywidgets.plot.knockout_data`) and drawn by :mod:`~relaywidgets.plot.draw_matplotlib` or
:mod:`~relaywidgets.plot.draw_bqplot`, imported on first use: ``import relaywidgets.plot`` loads
neither matplotlib nor bqplot, and the numerical core never loads a plotting library.

- :func:`relay_heatmap`: contribution (bits) of every node at every step for one concept, relay
  cells marked;
- :func:`relay_sizes`: relay-set size per step, for one concept, every concept, or per architecture;
- :func:`relay_persistence`: Jaccard persistence of the relay sets between consecutive steps;
- :func:`persistence_index`: the persistence index of each run, grouped by architecture;
- :func:`elimination_curve`: relay information along the greedy elimination path at one step;
- :func:`effect_heatmap`: what knocking out each unit at each step costs one concept, on the relay map's axes;
- :func:`deletion_plot`: drops when the top-k units of rankings are knocked out, against random k-sets;
- :func:`knockout_drops`: accuracy drop of a relay knockout against the drops of random node sets;
- :func:`plot_knockout_test`: one knockout test drawn into matplotlib axes.
"""

from __future__ import annotations

from .backends import BACKENDS
from .causal_figures import deletion_plot, effect_heatmap
from .data import ARCH_COLORS
from .knockout_figures import knockout_drops, plot_knockout_test
from .relay_figures import elimination_curve, persistence_index, relay_heatmap, relay_persistence, relay_sizes

__all__ = [
    "relay_heatmap",
    "relay_sizes",
    "relay_persistence",
    "persistence_index",
    "elimination_curve",
    "effect_heatmap",
    "deletion_plot",
    "knockout_drops",
    "plot_knockout_test",
    "BACKENDS",
    "ARCH_COLORS",
]
