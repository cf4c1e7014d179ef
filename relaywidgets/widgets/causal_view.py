"""The causal view: what knockouts do, beside what the relay map says.

- :class:`EffectHeatmap`: the effect map of the selected concept on the relay heat map's axes, and the
  "Compute causal map" button with its progress;
- :class:`CausalPanel`: the causal set of the selected concept, a button that knocks it out, and the
  deletion curves of the relay ranking and its baselines against random k-sets.

Both observe the :class:`~relaywidgets.widgets.state.ExplorerState` and act through it only.
"""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from ..contract import concept_title
from ..plot.causal_data import EFFECT_VARIABLES, RANKING_LABELS, deletion_data, effect_map_data
from ..plot.draw_bqplot import DIVERGING_COLORS, deletion_marks, diverging_scale, grid_cells
from ._binding import pusher
from ._style import CSS, escape
from .state import EFFECT_VALUES, ExplorerState

__all__ = ["EffectHeatmap", "CausalPanel"]

_VALUE_LABELS = {"zero": "zero", "mean": "the unit's mean"}
EMPTY_COLOR = "#f4f4f4"  #: every cell before the effect map is computed (the heat maps' null colour)


def _sequence_length(state: ExplorerState) -> int:
    """Steps of the recorded sequences: the longest knockout window there can be (1000 without a recording)."""
    return int(state.recording.sizes["time"]) if state.recording is not None else 1000


class EffectHeatmap(widgets.VBox):
    """A node x time map of what knocking out each unit at each step costs the selected concept.

    Cell colour: the drop of the concept's accuracy (or mean true-class margin) when the unit is knocked
    out at that step only (or over ``effect_window`` steps from there): red where the knockout hurts,
    blue where it helps, white at no effect. Rows and columns are the relay heat map's (same node order,
    same steps) and the selected step has the same red line; clicking a cell selects its step. Nothing
    is computed until the "Compute causal map" button is pressed; results are cached per knockout value
    and window.

    Parameters
    ----------
    state : ExplorerState

    Attributes
    ----------
    compute : ipywidgets.Button
        "Compute causal map" (CSS class ``rw-compute-causal``): :meth:`ExplorerState.compute_causal`.
    variable, value : ipywidgets.Dropdown
        The drop shown and the knockout value (CSS classes ``rw-effect-variable``, ``rw-effect-value``).
    window : ipywidgets.BoundedIntText
        Steps per knockout window (CSS class ``rw-effect-window``).
    status : ipywidgets.HTML
        The causal view's status line (CSS class ``rw-causal-status``).
    output : ipywidgets.Output
        Receives the progress bars (tqdm.auto; CSS class ``rw-causal-progress``).
    grid : bqplot.GridHeatMap
        ``grid.color`` is the (node, time) drop shown (zeros on an all-grey colour scale before the map
        is computed).
    figure : bqplot.Figure
        CSS class ``rw-effect-heatmap``.
    data : EffectMapData or None
        What the map shows (:func:`relaywidgets.plot.causal_data.effect_map_data`), None before computing.
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        self.state = state
        self.data = None
        self.compute = widgets.Button(
            description="Compute causal map", icon="bolt", layout=widgets.Layout(width="auto"),
            tooltip="Knock out every unit at every step (the effect map), grow the causal set of the selected "
                    "concept and its deletion curves; cached results are instant.",
        )
        self.compute.add_class("rw-compute-causal")
        self.variable = widgets.Dropdown(
            options=[(label, name) for name, label in (("accuracy_drop", "accuracy drop"),
                                                        ("margin_drop", "margin drop"))],
            value=state.effect_variable, description="show", layout=widgets.Layout(width="200px"),
        )
        self.variable.add_class("rw-effect-variable")
        self.value = widgets.Dropdown(
            options=[(_VALUE_LABELS[v], v) for v in EFFECT_VALUES], value=state.effect_value,
            description="set to", layout=widgets.Layout(width="200px"),
            tooltip="What a knocked-out unit is set to in the causal view's knockouts.",
        )
        self.value.add_class("rw-effect-value")
        self.window = widgets.BoundedIntText(
            value=state.effect_window, min=1, max=_sequence_length(state), description="window",
            layout=widgets.Layout(width="150px"), tooltip="Steps per knockout window of the effect map.",
        )
        self.window.add_class("rw-effect-window")
        self.status = widgets.HTML()
        self.status.add_class("rw-causal-status")
        self.output = widgets.Output(layout=widgets.Layout(width="100%"))
        self.output.add_class("rw-causal-progress")

        self.x_scale = bqplot.OrdinalScale()
        self.y_scale = bqplot.OrdinalScale(reverse=True)
        self.color_scale = diverging_scale(-1.0, 1.0)
        self.grid = bqplot.GridHeatMap(
            color=None, row=None, column=None,
            scales={"row": self.y_scale, "column": self.x_scale, "color": self.color_scale},
            stroke="white", null_color="#f4f4f4",
            tooltip=bqplot.Tooltip(fields=["row", "column", "color"], labels=["node", "time", "drop"],
                                   formats=["", "", ".3f"]),
        )
        self.selected_line = bqplot.Lines(
            x=np.array([]), y=np.array([]), scales={"x": self.x_scale, "y": self.y_scale},
            colors=["#d62728"], stroke_width=3, opacities=[0.55], enable_hover=False,
        )
        self.color_axis = bqplot.ColorAxis(scale=self.color_scale, side="right")
        self.figure = bqplot.Figure(
            marks=[self.grid, self.selected_line],
            axes=[bqplot.Axis(scale=self.x_scale, label="time step"),
                  bqplot.Axis(scale=self.y_scale, side="left", label="node", label_offset="50px"),
                  self.color_axis],
            padding_y=0.0,
            fig_margin={"top": 40, "bottom": 45, "left": 70, "right": 90},
            layout=widgets.Layout(width="100%", min_width="380px", height="420px"),
            title="knockout effects: press Compute causal map",
        )
        self.figure.add_class("rw-effect-heatmap")
        self.legend = widgets.HTML(
            CSS + '<span style="font-size:90%">colour: drop of the concept when the unit is knocked out at that '
            "step (red: the knockout hurts, blue: it helps); red line: selected step (click a cell to select "
            "its step)</span>"
        )
        self.compute.on_click(self._on_compute)
        self.grid.on_element_click(self._on_click)
        for control, name in ((self.variable, "effect_variable"), (self.value, "effect_value"),
                              (self.window, "effect_window")):
            control.observe(pusher(self.state, name), names="value")
        state.observe(self._redraw, names=["effects", "relays", "concept", "time", "effect_variable"])
        state.observe(self._pull, names=["effect_variable", "effect_value", "effect_window", "causal_status",
                                         "causal_stale", "busy", "model"])
        controls = widgets.HBox([self.compute, self.variable, self.value, self.window],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        super().__init__([controls, self.status, self.output, self.figure, self.legend], **kwargs)
        self.add_class("rw-effect-view")
        self._pull()
        self._redraw()

    def _on_compute(self, button: Any = None) -> None:
        with self.state.reporting():
            self.output.clear_output()
            with self.output:
                self.state.compute_causal()
            # Done: a bar left behind (a causal set that stopped early leaves its bar part-filled) would
            # read as work still going on. After an error the output stays, next to the message.
            self.output.clear_output()

    def _on_click(self, mark: Any, event: dict) -> None:
        """A click on a cell selects its step, as on the relay heat map."""
        data = event.get("data") or {}
        columns = [] if self.data is None else [int(t) for t in self.data.times]
        with self.state.reporting():
            column = str(data.get("column", "")).strip()
            if column.lstrip("-").isdigit() and int(column) in columns:
                self.state.time = int(column)
            elif data.get("columnNum") is not None and 0 <= int(data["columnNum"]) < len(columns):
                self.state.time = columns[int(data["columnNum"])]

    def select_column(self, index: int) -> None:
        """Select the step of column ``index`` as a click on the map would."""
        self._on_click(self.grid, {"event": "element_click", "data": {"columnNum": int(index)}})

    # state -> widgets
    def _pull(self, change: Any = None) -> None:
        s = self.state
        self.variable.value = s.effect_variable
        self.value.value = s.effect_value
        self.window.value = s.effect_window
        self.compute.disabled = s.busy or not s.has_model
        self.compute.button_style = "warning" if s.causal_stale else ""
        if not s.has_model:
            text = "the causal map needs the model: create the explorer with model=..."
        else:
            text = s.causal_status or ("computing ..." if s.busy else "")
        self.status.value = f'<span role="status" aria-live="polite">{escape(text)}</span>'

    def _axes(self) -> tuple[list[str] | None, list[int] | None]:
        """The relay map's nodes and steps, so that both maps have the same rows and columns."""
        relays = self.state.relays
        if relays is None:
            return None, None
        return [str(n) for n in relays["node"].values], [int(t) for t in relays["time"].values]

    def _redraw(self, change: Any = None) -> None:
        s = self.state
        nodes, times = self._axes()
        effects = s.effects
        concept = s.concept or "all"
        self.data = None
        if effects is not None:
            try:
                self.data = effect_map_data(effects, concept, variable=s.effect_variable, nodes=nodes, times=times,
                                            owner="EffectHeatmap")
            except Exception as exc:  # noqa: BLE001 - e.g. a concept the effect map lacks: say so in the widget
                s.error = f"{type(exc).__name__}: {exc}"
        if self.data is not None:
            data = self.data
            color, rows, cols = grid_cells(data, data.time_labels)
            with self.color_scale.hold_sync():
                self.color_scale.colors = list(DIVERGING_COLORS)
                self.color_scale.min, self.color_scale.max = data.vmin, data.vmax
            i, j = np.unravel_index(np.nanargmax(np.abs(np.nan_to_num(data.values, nan=0.0))), data.values.shape)
            top = f"largest |drop| {data.values[i, j]:+.3f} at {data.nodes[i]}, t={data.times[j]}"
            self.figure.title = f"{EFFECT_VARIABLES[data.variable]}, {concept_title(data.concept)}; {top}"
        else:
            # Before computing: the relay map's grid, empty, so the axes already match.
            row_labels = np.asarray(nodes if nodes is not None else s.node_labels, dtype=str)
            col_labels = np.asarray([str(t) for t in (times if times is not None else s.times)], dtype=str)
            if row_labels.size == 0 or col_labels.size == 0:
                return
            # Zeros on an all-grey scale: bqplot draws NaN cells black, and only None in its null colour.
            color = np.zeros((max(2, row_labels.size), max(2, col_labels.size)))
            rows = row_labels if row_labels.size > 1 else np.append(row_labels, " ")
            cols = col_labels if col_labels.size > 1 else np.append(col_labels, " ")
            self.color_scale.colors = [EMPTY_COLOR] * len(DIVERGING_COLORS)
            self.figure.title = (f"knockout effects on {concept_title(concept)}: press Compute causal map"
                                 if s.has_model else "knockout effects need the model")
        self.x_scale.domain = [str(c) for c in cols]
        self.y_scale.domain = [str(r) for r in rows]
        with self.grid.hold_sync():
            self.grid.color = color  # first: row and column are validated against its shape
            self.grid.row = np.asarray(rows)
            self.grid.column = np.asarray(cols)
        with self.selected_line.hold_sync():
            self.selected_line.x = np.array([str(s.time), str(s.time)])
            self.selected_line.y = np.array([str(rows[0]), str(rows[-1])])


class CausalPanel(widgets.VBox):
    """The causal set of the selected concept, a button that knocks it out, and its deletion curves.

    The causal set is grown greedily: at each step the unit whose knockout (over every step, with the
    set so far) adds the largest drop of the concept's accuracy, until the drop reaches ``causal_target``
    of the intact accuracy (:func:`relaywidgets.knockout.causal_set`). The deletion plot knocks out the
    top-k units of the relay ranking at the selected step and of two baselines (readout weight, gradient
    x activation) and compares the drops with random k-sets (:func:`relaywidgets.knockout.deletion_curve`).

    Parameters
    ----------
    state : ExplorerState

    Attributes
    ----------
    readout : ipywidgets.HTML
        The causal set and its drop (CSS class ``rw-causal-set``).
    knock_causal : ipywidgets.Button
        Knocks out the causal set (CSS class ``rw-knockout-causal``); the knockout panel's readout follows.
    target : ipywidgets.FloatSlider
        ``causal_target`` (CSS class ``rw-causal-target``).
    ranking : ipywidgets.Dropdown
        ``relay_ranking`` (CSS class ``rw-relay-ranking``).
    figure : bqplot.Figure
        The deletion plot (CSS class ``rw-deletion-plot``): ``marks[0]`` the random band, ``marks[1]`` its
        mean, ``marks[2:]`` one line per ranking (relay ranking first), then the intact accuracy.
    summary : ipywidgets.HTML
        Each ranking's area over random and p-value (CSS class ``rw-deletion-summary``).
    data : DeletionData or None
        What the plot shows (:func:`relaywidgets.plot.causal_data.deletion_data`).
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        from ..knockout.faithfulness import RELAY_RANKINGS

        self.state = state
        self.data = None
        self.readout = widgets.HTML()
        self.readout.add_class("rw-causal-set")
        self.knock_causal = widgets.Button(description="knock out causal set", icon="bolt",
                                           layout=widgets.Layout(width="auto"))
        self.knock_causal.add_class("rw-knockout-causal")
        self.target = widgets.FloatSlider(
            value=state.causal_target, min=0.05, max=1.0, step=0.05, readout_format=".2f", continuous_update=False,
            description="target", layout=widgets.Layout(width="280px"),
            tooltip="Share of the concept's intact accuracy the causal set's knockout must remove.",
        )
        self.target.add_class("rw-causal-target")
        self.ranking = widgets.Dropdown(
            options=[(RANKING_LABELS[name], name) for name in RELAY_RANKINGS], value=state.relay_ranking,
            description="ranking", layout=widgets.Layout(width="300px"),
            tooltip="The relay score whose top-k units the deletion curve knocks out.",
        )
        self.ranking.add_class("rw-relay-ranking")
        self.figure = bqplot.Figure(
            marks=[], axes=[], title="deletion curves: press Compute causal map",
            legend_location="top-left", legend_text={"font-size": "11px"},
            fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 20},
            layout=widgets.Layout(width="100%", min_width="320px", height="360px"),
        )
        self.figure.add_class("rw-deletion-plot")
        self.summary = widgets.HTML()
        self.summary.add_class("rw-deletion-summary")
        self.knock_causal.on_click(self._act(state.knock_out_causal_set))
        self.target.observe(pusher(self.state, "causal_target"), names="value")
        self.ranking.observe(pusher(self.state, "relay_ranking"), names="value")
        state.observe(self._redraw_set, names=["causal", "concept", "busy", "model", "knocked_out"])
        state.observe(self._redraw_curves, names=["deletion"])
        state.observe(self._pull, names=["causal_target", "relay_ranking", "relays"])
        controls = widgets.HBox([self.knock_causal, self.target],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        super().__init__([self.readout, controls, self.ranking, self.figure, self.summary], **kwargs)
        self.add_class("rw-causal-panel")
        self._pull()
        self._redraw_set()
        self._redraw_curves()

    def _act(self, action: Any):
        def run(button: Any = None) -> None:
            with self.state.reporting():
                action()
        return run

    # state -> widgets
    def _pull(self, change: Any = None) -> None:
        s = self.state
        self.target.value = s.causal_target
        self.ranking.value = s.relay_ranking
        self.ranking.disabled = s.relays is None

    def _redraw_set(self, change: Any = None) -> None:
        s = self.state
        causal = s.causal
        self.knock_causal.disabled = causal is None or not s.has_model or s.busy
        if causal is None:
            self.knock_causal.description = "knock out causal set (not computed yet)"
            self.readout.value = (f'<span role="status" aria-live="polite">causal set of '
                                  f"{escape(concept_title(s.concept or 'all'))}: press Compute causal map</span>")
            return
        order = [str(v) for v in causal["order"].values]
        n = len(order)
        self.knock_causal.description = f"knock out causal set ({n} unit{'s' if n != 1 else ''})"
        drop = float(causal["accuracy_drop"].values[-1])
        base = float(causal["baseline_accuracy"])
        reached = bool(causal["reached"])
        off = causal["off_target_drop"].values[-1]
        off = off[np.isfinite(off)]
        concepts = [str(c) for c in causal["concept"].values]
        others = [c for c in concepts if c != "all" and c != causal.attrs.get("concept")]
        off_text = ""
        if off.size and others:
            worst = causal["off_target_drop"].isel(step=-1).sel(concept=others)
            c = str(worst["concept"].values[int(np.nanargmax(worst.values))])
            off_text = f"; largest drop of another class: {float(worst.max()):.3f} ({concept_title(c)})"
        value = causal.attrs.get("value", "zero")
        note = "" if value == "zero" else " (found with mean knockouts; the knockout panel clamps to zero)"
        text = (f"causal set of {concept_title(causal.attrs.get('concept', s.concept))}: {', '.join(order) or 'none'}"
                f" — knocking it out over every step drops its accuracy by {drop:.3f} (intact {base:.3f}; target "
                f"{float(causal['goal']):.3f}, {'reached' if reached else 'not reached'}){off_text}{note}")
        self.readout.value = f'<span role="status" aria-live="polite">{escape(text)}</span>'

    def _redraw_curves(self, change: Any = None) -> None:
        s = self.state
        curve = s.deletion
        self.data = None if curve is None else deletion_data(curve, owner="CausalPanel")
        if self.data is None:
            old = list(self.figure.marks)
            self.figure.marks, self.figure.axes = [], []
            for m in old:
                m.close()
            self.figure.title = "deletion curves: press Compute causal map"
            self.summary.value = ""
            return
        data = self.data
        log = data.ks.size > 1 and data.ks.max() / data.ks.min() >= 4
        x_scale = bqplot.LogScale() if log else bqplot.LinearScale()
        y_scale = bqplot.LinearScale()
        old = list(self.figure.marks)
        self.figure.marks = deletion_marks(data, {"x": x_scale, "y": y_scale})
        self.figure.axes = [
            bqplot.Axis(scale=x_scale, label="units knocked out (k)", tick_values=data.ks.astype(float), tick_format="d"),
            bqplot.Axis(scale=y_scale, side="left", label=data.ylabel, label_offset="40px"),
        ]
        for m in old:
            m.close()
        step = curve.attrs.get("time")
        self.figure.title = f"deletion curves, {concept_title(curve.attrs.get('concept', ''))}; relay ranking at t={step}"
        rows = "".join(
            f"<tr><td>{escape(r.label.split(' (')[0])}</td><td>{r.area:+.3f}</td><td>{r.p_value:.3g}</td></tr>"
            for r in data.rankings
        )
        self.summary.value = (
            '<table style="font-size:90%"><tr><th>ranking</th><th>area over random</th><th>p</th></tr>'
            f"{rows}</table><span style=\"font-size:85%\">grey band: {data.n_random} random k-sets (5-95 %); "
            "area: mean over k of the ranking's drop minus the random mean.</span>"
        )
