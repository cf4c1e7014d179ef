"""The relay heat map: each node's contribution over time for the selected concept, relay cells marked."""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from ..contract import concept_title
from ..plot.data import heatmap_data
from ..plot.draw_bqplot import grid_cells
from ._style import CSS, escape
from .state import ExplorerState

__all__ = ["RelayHeatmap"]


class RelayHeatmap(widgets.VBox):
    """A node x time map of relay contributions (bits) for the selected concept.

    Cell colour: the node's contribution, i.e. the relay information lost when the greedy search
    removed it. Dots mark relay cells at the current threshold: filled where the step's relay
    information is significant (p < alpha), hollow where it is not. The selected step is outlined by
    a vertical line; clicking a cell selects its step.

    Parameters
    ----------
    state : ExplorerState

    Attributes
    ----------
    grid : bqplot.GridHeatMap
        ``grid.color`` is ``relays.contribution`` for the concept, shape (node, time).
    relay_marks : bqplot.Scatter
        Relay cells of significant steps (``x`` time, ``y`` node label).
    relay_marks_ns : bqplot.Scatter
        Relay cells of steps that are not significant (hollow).
    figure : bqplot.Figure
    concept, time : ipywidgets.Dropdown, ipywidgets.IntSlider
        Selection controls (CSS classes ``rw-concept``, ``rw-time``).
    relay_count : ipywidgets.HTML
        E.g. "relays of class 2 at t=19: 3 nodes" (CSS class ``rw-relay-count``).
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        self.state = state
        self.concept = widgets.Dropdown(description="concept", layout=widgets.Layout(width="240px"))
        self.concept.add_class("rw-concept")
        self.time = widgets.SelectionSlider(
            options=[0], description="time step", continuous_update=False, layout=widgets.Layout(width="330px")
        )
        self.time.add_class("rw-time")
        self.relay_count = widgets.HTML()
        self.relay_count.add_class("rw-relay-count")

        self.x_scale = bqplot.OrdinalScale()
        self.y_scale = bqplot.OrdinalScale(reverse=True)
        self.color_scale = bqplot.ColorScale(scheme="Blues", min=0.0)
        self.grid = bqplot.GridHeatMap(
            color=None,
            row=None,
            column=None,
            scales={"row": self.y_scale, "column": self.x_scale, "color": self.color_scale},
            stroke="white",
            null_color="#f4f4f4",
            tooltip=bqplot.Tooltip(
                fields=["row", "column", "color"], labels=["node", "time", "contribution (bits)"],
                formats=["", "", ".3f"],
            ),
        )
        marker = dict(scales={"x": self.x_scale, "y": self.y_scale}, marker="circle", default_size=64,
                      stroke_width=1.5, enable_hover=False)
        # Filled black dots: relays of significant steps; hollow rings: relays of steps that are not.
        self.relay_marks = bqplot.Scatter(x=np.array([]), y=np.array([]), colors=["#111111"], stroke="#ffffff",
                                          fill=True, **marker)
        self.relay_marks_ns = bqplot.Scatter(x=np.array([]), y=np.array([]), colors=["#111111"], fill=False,
                                             **marker)
        self.selected_line = bqplot.Lines(
            x=np.array([]), y=np.array([]), scales={"x": self.x_scale, "y": self.y_scale},
            colors=["#d62728"], stroke_width=3, opacities=[0.55], enable_hover=False,
        )
        axes = [
            bqplot.Axis(scale=self.x_scale, label="time step"),
            bqplot.Axis(scale=self.y_scale, orientation="vertical", label="node", label_offset="50px"),
            bqplot.ColorAxis(scale=self.color_scale, side="right"),
        ]
        self.figure = bqplot.Figure(
            marks=[self.grid, self.selected_line, self.relay_marks, self.relay_marks_ns],
            axes=axes,
            padding_y=0.0,
            fig_margin={"top": 40, "bottom": 45, "left": 70, "right": 90},
            layout=widgets.Layout(width="100%", min_width="380px", height="420px"),
            title="contribution (bits)",
        )
        self.figure.add_class("rw-heatmap")
        self.legend = widgets.HTML(
            CSS + '<span style="font-size:90%">colour: contribution of the node (bits lost when it was removed); '
            "&#9679; relay at a significant step, &#9675; relay at a step that is not significant "
            "(p &ge; alpha); red line: selected step (click a cell to select its step)</span>"
        )
        self.grid.on_element_click(self._on_click)
        self.concept.observe(self._push_concept, names="value")
        self.time.observe(self._push_time, names="value")
        state.observe(self._redraw, names=["relays", "concept", "time", "alpha"])
        controls = widgets.HBox([self.concept, self.time], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([controls, self.relay_count, self.figure, self.legend], **kwargs)
        self.add_class("rw-relay-heatmap")
        self._redraw()

    # widgets -> state
    def _push_concept(self, change: Any) -> None:
        if change["new"] is not None and change["new"] != self.state.concept:
            with self.state.reporting():
                self.state.concept = change["new"]

    def _push_time(self, change: Any) -> None:
        if change["new"] is not None and change["new"] != self.state.time:
            with self.state.reporting():
                self.state.time = int(change["new"])

    def _on_click(self, mark: Any, event: dict) -> None:
        """A click on a cell selects its step (bqplot sends the cell's row, column and indices)."""
        data = event.get("data") or {}
        times = self.state.times
        with self.state.reporting():
            column = str(data.get("column", "")).strip()
            if column.lstrip("-").isdigit() and int(column) in times:
                self.state.time = int(column)
            elif data.get("columnNum") is not None and 0 <= int(data["columnNum"]) < len(times):
                self.state.time = times[int(data["columnNum"])]

    def select_column(self, index: int) -> None:
        """Select the step of column ``index`` as a click on the map would."""
        self._on_click(self.grid, {"event": "element_click", "data": {"columnNum": int(index)}})

    # state -> widgets
    def _redraw(self, change: Any = None) -> None:
        s = self.state
        relays = s.relays
        concepts = s.concepts
        options = [(concept_title(c) if c != "all" else "all (the decision)", c) for c in concepts]
        if list(self.concept.options) != options:
            self.concept.options = options
        if s.concept in concepts:
            self.concept.value = s.concept
        times = s.times
        if times and tuple(self.time.options) != tuple(times):
            self.time.options = times
        if s.time in times:
            self.time.value = s.time
        if relays is None or s.concept not in concepts:
            self.relay_count.value = (
                '<span role="status" aria-live="polite">no relay map yet: choose an estimator and press '
                "Recompute</span>"
            )
            return
        # The map shows what relaywidgets.plot.relay_heatmap shows; columns are labelled by the step as
        # text, so that the ordinal scales keep them in time order.
        data = heatmap_data(relays, s.concept, alpha=s.alpha, owner="RelayHeatmap")
        color, row_labels, col_labels = grid_cells(data, data.time_labels)
        # Explicit domains keep rows and columns in node and time order whatever the marks hold.
        self.x_scale.domain = col_labels.tolist()
        self.y_scale.domain = row_labels.tolist()
        with self.grid.hold_sync():
            self.grid.color = color  # first: row and column are validated against its shape
            self.grid.row = row_labels
            self.grid.column = col_labels
        x, y, sig = data.time_labels[data.relay_time], data.nodes[data.relay_node], data.relay_significant
        for mark, keep in ((self.relay_marks, sig), (self.relay_marks_ns, ~sig)):
            with mark.hold_sync():
                mark.x = x[keep]
                mark.y = y[keep]
        with self.selected_line.hold_sync():
            self.selected_line.x = np.array([str(s.time), str(s.time)])
            self.selected_line.y = np.array([data.nodes[0], data.nodes[-1]])
        self.color_scale.max = data.vmax
        self.figure.title = f"{data.value_label}, {concept_title(data.concept)}"
        self.relay_count.value = self._count_html()

    def _count_html(self) -> str:
        s = self.state
        nodes = s.relay_nodes()
        n = len(nodes)
        sig = s.is_significant()
        text = f"relays of {concept_title(s.concept)} at t={s.time}: {n} node{'s' if n != 1 else ''}"
        detail = ""
        if nodes:
            detail += " (" + ", ".join(nodes) + ")"
        if s.relays is not None and "total" in s.relays:
            total = float(s.relays["total"].sel(concept=s.concept, time=s.time))
            detail += f"; relay information {total:.3f} bits"
        if sig is not None:
            p = float(s.relays["p_value"].sel(concept=s.concept, time=s.time))
            detail += f"; p = {p:.3f}, " + ("significant" if sig else "not significant") + f" at alpha {s.alpha:g}"
        return (f'<span role="status" aria-live="polite"><b class="rw-relay-count-text">{escape(text)}</b>'
                f"{escape(detail)}</span>")
