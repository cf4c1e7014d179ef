"""Colours and small HTML helpers shared by the explorer's views (one palette for every view)."""

from __future__ import annotations

import html
from typing import Sequence

__all__ = [
    "CONCEPT_COLORS",
    "ALL_COLOR",
    "MULTI_COLOR",
    "PLAIN_COLOR",
    "KNOCKED_OUT_COLOR",
    "INPUT_COLOR",
    "INTACT_COLOR",
    "CURRENT_COLOR",
    "DROP_COLOR",
    "CAUSAL_COLOR",
    "concept_colors",
    "escape",
    "swatch",
    "ring",
    "CSS",
]

#: One colour per concept (matplotlib's tab10, colour-blind friendlier than a rainbow).
CONCEPT_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f",
)
ALL_COLOR = "#222222"  #: the concept "all" (the whole decision)
MULTI_COLOR = "#f0c419"  #: a node that relays for several concepts
PLAIN_COLOR = "#d9e4f0"  #: a hidden node that is no relay at the selected step
KNOCKED_OUT_COLOR = "#9e9e9e"  #: a knocked-out node (grey)
INPUT_COLOR = "#555555"  #: the input node of the graph
INTACT_COLOR = "#b0b0b0"  #: per-class bars of the intact network
CURRENT_COLOR = "#1f77b4"  #: per-class bars with the knockout
DROP_COLOR = "#d62728"  #: the drop in accuracy
CAUSAL_COLOR = "#000000"  #: the ring around a unit of the causal set (graph), distinct from every fill


def concept_colors(concepts: Sequence[str]) -> dict[str, str]:
    """Colour of each concept: tab10 in order, ``"all"`` in near-black."""
    colors: dict[str, str] = {}
    i = 0
    for concept in concepts:
        if concept == "all":
            colors[concept] = ALL_COLOR
        else:
            colors[concept] = CONCEPT_COLORS[i % len(CONCEPT_COLORS)]
            i += 1
    return colors


def escape(text: object) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def ring(color: str, label: str) -> str:
    """An inline legend entry: a hollow ring (a thick outline, no fill) and its label."""
    return (
        f'<span style="display:inline-block;margin-right:10px;white-space:nowrap">'
        f'<span style="display:inline-block;width:9px;height:9px;border-radius:7px;'
        f'background:transparent;border:3px solid {color};vertical-align:middle;margin-right:4px"></span>'
        f"{escape(label)}</span>"
    )


def swatch(color: str, label: str) -> str:
    """An inline legend entry: a coloured square and its label."""
    return (
        f'<span style="display:inline-block;margin-right:10px;white-space:nowrap">'
        f'<span style="display:inline-block;width:11px;height:11px;border-radius:6px;'
        f'background:{color};border:1px solid #666;vertical-align:middle;margin-right:4px"></span>'
        f"{escape(label)}</span>"
    )


#: Style rules for the explorer (no JavaScript): overlay marks and tooltips must not swallow the clicks
#: meant for the heat-map cells and graph nodes underneath them.
CSS = """<style>
.rw-relay-heatmap .dot, .rw-relay-heatmap .line, .rw-relay-heatmap .curve { pointer-events: none; }
.rw-effect-view .line, .rw-effect-view .curve, .rw-relay-graph .dot { pointer-events: none; }
.rw-relay-heatmap .bqplot_tooltip_div, .rw-relay-graph .bqplot_tooltip_div, .rw-effect-view .bqplot_tooltip_div,
.rw-causal-panel .bqplot_tooltip_div, .rw-knockout-panel .bqplot_tooltip_div { pointer-events: none; }
.rw-relay-heatmap .heatmapcell, .rw-effect-view .heatmapcell, .rw-relay-graph .node .element { cursor: pointer; }
.rw-node-toggle.mod-active { background-color: #9e9e9e; color: white; }
</style>"""
