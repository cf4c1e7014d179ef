"""The relay graph: input -> hidden nodes at the selected step -> output concepts, relays coloured."""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from ._style import (
    CAUSAL_COLOR,
    INPUT_COLOR,
    KNOCKED_OUT_COLOR,
    MULTI_COLOR,
    PLAIN_COLOR,
    CSS,
    concept_colors,
    ring,
    swatch,
)
from .state import ExplorerState, concept_title

__all__ = ["RelayGraph"]

_MAX_WIDTH = 9.0  # stroke width (px) of the strongest hidden -> concept edge
_HIDDEN_RADIUS = 8  # px
_MAX_LABELLED = 32  # more hidden nodes than this and their names would not fit: tooltips only


class RelayGraph(widgets.VBox):
    """A network diagram of the relays at the selected time step.

    Columns: the input, the hidden nodes of each layer, the output concepts. An edge from a hidden
    node to a concept has a width proportional to the node's contribution (bits) to that concept's
    relay information at the step; only relay nodes' edges are drawn. A hidden node's colour says
    for which concept it relays (the concept's colour, yellow for several, pale when none); knocked-out
    nodes are grey. Once the causal view has computed it, the causal set of the selected concept (the units
whose knockout removes the target share of its accuracy) is ringed in black, next to the relay colours.
Clicking a hidden node toggles its knockout.

    Parameters
    ----------
    state : ExplorerState

    Attributes
    ----------
    mark : bqplot.Graph
        The current graph mark; ``mark.colors[i]`` is the fill of ``node_labels[i]`` (see :attr:`node_index`).
    hidden_names : bqplot.Label
        The names of the hidden nodes, drawn left of their circles (empty when there are too many).
    causal_rings : bqplot.Scatter
        Rings around the units of the causal set of the selected concept (``x``, ``y`` their positions;
        empty before the causal set is computed); :attr:`causal_nodes` names them.
    node_labels : list of str
        Label of every graph node: ``"input"``, the hidden node labels, then ``"concept <c>"``.
    figure : bqplot.Figure

    Notes
    -----
    bqplot's Graph view draws node colours and links once, when it renders (bqplot issue #1155), so
    every change builds a new Graph mark and swaps it into the figure; the click handler moves with it.
    The Graph mark can only put a label right of its node, where the hidden -> concept edges are drawn
    over it, so the hidden nodes' names are a separate Label mark left of the circles, where only the
    thin input edges pass.
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        self.state = state
        self.x_scale = bqplot.LinearScale(min=-0.4, max=2.6)
        self.y_scale = bqplot.LinearScale(min=-0.03, max=1.03)
        self.mark: bqplot.Graph | None = None
        self.hidden_names: bqplot.Label | None = None
        self.causal_rings: bqplot.Scatter | None = None
        self.causal_nodes: list[str] = []
        self.node_labels: list[str] = []
        self.figure = bqplot.Figure(
            marks=[],
            fig_margin={"top": 40, "bottom": 10, "left": 10, "right": 10},
            layout=widgets.Layout(width="100%", min_width="320px", height="420px"),
            title="relays",
            animation_duration=0,
        )
        self.figure.add_class("rw-graph")
        self.legend = widgets.HTML()
        self.legend.add_class("rw-graph-legend")
        state.observe(self._redraw, names=["relays", "concept", "time", "knocked_out", "model", "causal"])
        super().__init__([self.figure, self.legend], **kwargs)
        self.add_class("rw-relay-graph")
        self._redraw()

    @property
    def node_index(self) -> dict[str, int]:
        """Position of each graph node label in ``mark.node_data`` and ``mark.colors``."""
        return {label: i for i, label in enumerate(self.node_labels)}

    def node_color(self, label: str) -> str:
        """Fill colour of a graph node (a hidden node label, ``"input"`` or ``"concept <c>"``)."""
        return self.mark.colors[self.node_index[label]]

    # ------------------------------------------------------------------ drawing
    def _redraw(self, change: Any = None) -> None:
        s = self.state
        hidden = s.node_labels if s.relays is None else [str(n) for n in s.relays["node"].values]
        concepts = s.concepts
        palette = concept_colors(concepts)
        knocked = set(s.knocked_out)

        relays_for: dict[str, list[str]] = {n: [] for n in hidden}
        contrib = np.zeros((len(hidden), len(concepts)))
        if s.relays is not None and s.time in s.times:
            at = s.relays.sel(time=s.time)
            is_relay = at["is_relay"].transpose("node", "concept").values.astype(bool)
            contrib = np.nan_to_num(at["contribution"].transpose("node", "concept").values.astype(float), nan=0.0)
            for i, n in enumerate(hidden):
                relays_for[n] = [c for j, c in enumerate(concepts) if is_relay[i, j]]
            contrib = np.where(is_relay, np.clip(contrib, 0.0, None), 0.0)

        layers = sorted({label.split(".")[0] for label in hidden})
        n_cols = len(layers) + 2
        labels, data, colors, xs, ys = [], [], [], [], []

        def add(label: str, x: float, y: float, color: str, **extra: Any) -> None:
            labels.append(label)
            xs.append(x)
            ys.append(y)
            colors.append(color)
            data.append({"label": label, **extra})

        add("input", 0.0, 0.5, INPUT_COLOR, shape="rect", shape_attrs={"width": 44, "height": 22},
            label_display="none", role="input", relays_for="")
        names_x, names_y, names = [], [], []
        for k, layer in enumerate(layers):
            members = [n for n in hidden if n.split(".")[0] == layer]
            for pos, n in zip(_spread(len(members)), members):
                rel = relays_for[n]
                if n in knocked:
                    color = KNOCKED_OUT_COLOR
                elif len(rel) > 1:
                    color = MULTI_COLOR
                elif rel:
                    color = palette[rel[0]]
                else:
                    color = PLAIN_COLOR
                if len(hidden) <= _MAX_LABELLED:
                    names_x.append(1.0 + k)
                    names_y.append(pos)
                    names.append(n)
                add(n, 1.0 + k, pos, color, shape="circle", shape_attrs={"r": _HIDDEN_RADIUS}, label_display="none",
                    role="hidden", relays_for=", ".join(rel) if rel else "none",
                    knocked_out="yes" if n in knocked else "no")
        for pos, c in zip(_spread(len(concepts)), concepts):
            radius = 15 if c == s.concept else 11
            add(f"concept {c}", n_cols - 1.0, pos, palette[c], shape="circle", shape_attrs={"r": radius},
                label_display="outside", role="output", relays_for="")

        index = {label: i for i, label in enumerate(labels)}
        links = []
        first_layer = layers[0] + "." if layers else None
        for n in hidden:
            if first_layer is not None and n.startswith(first_layer):
                links.append({"source": 0, "target": index[n], "value": 0.0, "link_width": 0.6})
        top = float(contrib.max()) if contrib.size else 0.0
        for i, n in enumerate(hidden):
            for j, c in enumerate(concepts):
                if contrib[i, j] > 0:
                    width = 1.0 + (_MAX_WIDTH - 1.0) * contrib[i, j] / top if top > 0 else 1.0
                    links.append({"source": index[n], "target": index[f"concept {c}"],
                                  "value": float(contrib[i, j]), "link_width": round(width, 2)})

        self.x_scale.max = n_cols - 0.4
        mark = bqplot.Graph(
            node_data=data,
            link_data=links,
            x=np.array(xs),
            y=np.array(ys),
            scales={"x": self.x_scale, "y": self.y_scale},
            colors=colors,
            link_type="line",
            directed=False,
            static=True,
            charge=0,
            highlight_links=True,
            tooltip=bqplot.Tooltip(fields=["label", "relays_for"], labels=["node", "relays for"]),
        )
        mark.on_element_click(self._on_click)
        hidden_names = bqplot.Label(
            x=np.array(names_x, dtype=float),
            y=np.array(names_y, dtype=float),
            text=np.array(names, dtype=str),
            scales={"x": self.x_scale, "y": self.y_scale},
            x_offset=-(_HIDDEN_RADIUS + 4),
            align="end",
            default_size=11,
            font_weight="normal",
            colors=["#333333"],
        )
        causal = [] if s.causal is None else [str(v) for v in s.causal["order"].values]
        causal = [n for n in causal if n in index]
        # A hollow ring around each causal unit, wider than the node, so the relay colour stays visible.
        rings = bqplot.Scatter(
            x=np.array([xs[index[n]] for n in causal], dtype=float),
            y=np.array([ys[index[n]] for n in causal], dtype=float),
            scales={"x": self.x_scale, "y": self.y_scale},
            marker="circle", fill=False, colors=[CAUSAL_COLOR], stroke_width=3,
            default_size=int((2 * _HIDDEN_RADIUS + 9) ** 2), enable_hover=False,
        )
        old = [m for m in (self.mark, self.hidden_names, self.causal_rings) if m is not None]
        self.mark, self.hidden_names, self.causal_rings, self.node_labels = mark, hidden_names, rings, labels
        self.causal_nodes = causal
        self.figure.marks = [mark, rings, hidden_names]  # names on top of the thin input edges
        for m in old:
            m.close()

        where = f"t={s.time}" if s.relays is not None else "no relay map yet"
        self.figure.title = f"relays at {where}; click a hidden node to knock it out" if s.has_model else \
            f"relays at {where}"
        entries = [swatch(palette[c], concept_title(c)) for c in concepts]
        entries += [swatch(MULTI_COLOR, "several concepts"), swatch(PLAIN_COLOR, "no relay"),
                    swatch(KNOCKED_OUT_COLOR, "knocked out")]
        if s.causal is not None:
            entries.append(ring(CAUSAL_COLOR, f"causal set of {concept_title(s.concept)} ({len(causal)} units)"))
        else:
            entries.append(ring(CAUSAL_COLOR, "causal set (press Compute causal map)"))
        self.legend.value = (CSS + '<div style="font-size:90%">' + "".join(entries)
                             + "<br>edge width: contribution (bits) of the relay to the concept</div>")

    # ------------------------------------------------------------------ interaction
    def _on_click(self, mark: Any, event: dict) -> None:
        """Toggle the knockout of a clicked hidden node (bqplot sends the node's datum)."""
        data = event.get("data") or {}
        label = data.get("label")
        if label is None and "index" in data and 0 <= int(data["index"]) < len(self.node_labels):
            label = self.node_labels[int(data["index"])]
        if label is None or label == "input" or str(label).startswith("concept "):
            return
        with self.state.reporting():
            self.state.toggle(str(label))

    def click_node(self, label: str) -> None:
        """Act as a click on the node ``label`` would."""
        self._on_click(self.mark, {"event": "element_click", "data": {"label": label, "index": self.node_index[label]}})


def _spread(n: int) -> list[float]:
    """``n`` positions spread evenly over [0, 1], top first."""
    if n <= 1:
        return [0.5] * n
    return list(np.linspace(1.0, 0.0, n))

