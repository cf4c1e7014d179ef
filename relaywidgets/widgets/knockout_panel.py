"""The knockout panel: toggle nodes, knock out a relay set or a random control, read the accuracy live."""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from ._style import CSS, CURRENT_COLOR, DROP_COLOR, INTACT_COLOR, escape, swatch
from .state import ExplorerState, concept_title

__all__ = ["KnockoutPanel", "accuracy_text"]


def accuracy_text(accuracy: float | None, baseline: float | None) -> str:
    """The readout's text, e.g. ``"accuracy 0.973 (intact 0.995)"``."""
    if accuracy is None or baseline is None:
        return "accuracy - (no model)"
    return f"accuracy {accuracy:.3f} (intact {baseline:.3f})"


class KnockoutPanel(widgets.VBox):
    """Knock hidden nodes out and see the accuracy the network keeps, overall and per class.

    Every node has a toggle button (grouped by layer; the relays of the selected concept and step
    are highlighted). Each change re-evaluates the network synchronously through the state, so the
    readout always shows the current knockout (the last state wins).

    Parameters
    ----------
    state : ExplorerState

    Attributes
    ----------
    toggles : dict of str to ipywidgets.ToggleButton
        One per node label (CSS class ``rw-node-toggle``, description = the label).
    knock_relays, random_control, reset : ipywidgets.Button
        CSS classes ``rw-knockout-relays``, ``rw-random-control``, ``rw-reset``.
    readout : ipywidgets.HTML
        "accuracy 0.973 (intact 0.995)" in a ``role="status" aria-live="polite"`` span (CSS class
        ``rw-accuracy``).
    bars : bqplot.Bars
        Per-class accuracy: ``y[0]`` intact, ``y[1]`` with the knockout, ``y[2]`` the drop.
    message : ipywidgets.HTML
        Says why knockouts are disabled when there is no model (CSS class ``rw-knockout-disabled``).
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        self.state = state
        self._syncing = False
        self.toggles: dict[str, widgets.ToggleButton] = {}
        groups = []
        labels = state.node_labels
        for layer in dict.fromkeys(label.split(".")[0] for label in labels):
            buttons = []
            for label in (lab for lab in labels if lab.split(".")[0] == layer):
                button = widgets.ToggleButton(
                    value=False,
                    description=label,
                    tooltip=f"knock out {label}",
                    layout=widgets.Layout(width="auto", min_width="70px"),
                )
                button.add_class("rw-node-toggle")
                button.observe(self._toggled(label), names="value")
                self.toggles[label] = button
                buttons.append(button)
            title = widgets.HTML(f"<b>layer {escape(layer[1:])}</b>")
            grid = widgets.GridBox(
                buttons, layout=widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(74px, 1fr))",
                                               grid_gap="2px", width="100%"),
            )
            groups.append(widgets.VBox([title, grid]))
        self.knock_relays = widgets.Button(description="knock out relays", icon="crosshairs",
                                           layout=widgets.Layout(width="auto"))
        self.knock_relays.add_class("rw-knockout-relays")
        self.random_control = widgets.Button(description="random control (same size)", icon="random",
                                             layout=widgets.Layout(width="auto"))
        self.random_control.add_class("rw-random-control")
        self.reset = widgets.Button(description="reset", icon="undo", layout=widgets.Layout(width="auto"))
        self.reset.add_class("rw-reset")
        self.knock_relays.on_click(self._act(state.knock_out_relays))
        self.random_control.on_click(self._act(state.random_control))
        self.reset.on_click(self._act(state.reset_knockout))

        self.readout = widgets.HTML()
        self.readout.add_class("rw-accuracy")
        self.knocked_text = widgets.HTML()
        self.knocked_text.add_class("rw-knocked-out")
        self.message = widgets.HTML()
        self.css = widgets.HTML(CSS, layout=widgets.Layout(height="0px", overflow="hidden"))
        self.message.add_class("rw-knockout-disabled")

        self.x_scale = bqplot.OrdinalScale()
        self.y_scale = bqplot.LinearScale(min=0.0, max=1.0)
        names = state.class_names or ["-"]
        self.bars = bqplot.Bars(
            x=np.array(names),
            y=np.zeros((3, len(names))),
            scales={"x": self.x_scale, "y": self.y_scale},
            type="grouped",
            colors=[INTACT_COLOR, CURRENT_COLOR, DROP_COLOR],
            labels=["intact", "with knockout", "drop"],
            padding=0.2,
            tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["class", "accuracy"], formats=["", ".3f"]),
        )
        self.figure = bqplot.Figure(
            marks=[self.bars],
            axes=[bqplot.Axis(scale=self.x_scale, label="class"),
                  bqplot.Axis(scale=self.y_scale, orientation="vertical", label="accuracy", tick_format=".1f")],
            title="per-class accuracy",
            fig_margin={"top": 40, "bottom": 45, "left": 55, "right": 20},
            layout=widgets.Layout(width="100%", min_width="320px", height="300px"),
            animation_duration=0,
        )
        self.figure.add_class("rw-class-bars")

        state.observe(self._sync_toggles, names=["knocked_out", "relays", "concept", "time", "model"])
        state.observe(self._sync_readout, names=["accuracy", "baseline_accuracy", "per_class_accuracy",
                                                 "baseline_per_class_accuracy", "busy", "model", "knocked_out"])
        buttons = widgets.HBox([self.knock_relays, self.random_control, self.reset],
                               layout=widgets.Layout(flex_flow="row wrap"))
        left = widgets.VBox([self.css, self.message, buttons, self.readout, self.knocked_text, *groups],
                            layout=widgets.Layout(width="55%", min_width="320px"))
        self.bars_legend = widgets.HTML(
            '<div style="font-size:90%">' + swatch(INTACT_COLOR, "intact") + swatch(CURRENT_COLOR, "with knockout")
            + swatch(DROP_COLOR, "drop") + "</div>"
        )
        right = widgets.VBox([self.figure, self.bars_legend], layout=widgets.Layout(width="45%", min_width="320px"))
        super().__init__([widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))], **kwargs)
        self.add_class("rw-knockout-panel")
        self._sync_toggles()
        self._sync_readout()

    # widgets -> state
    def _toggled(self, label: str):
        def on_change(change: Any) -> None:
            if self._syncing:
                return
            with self.state.reporting():
                if change["new"] != (label in self.state.knocked_out):
                    self.state.toggle(label)
            self._sync_toggles()  # undo the button's own change when the state refused it
        return on_change

    def _act(self, action: Any):
        def on_click(button: Any) -> None:
            with self.state.reporting():
                action()
        return on_click

    # state -> widgets
    def _sync_toggles(self, change: Any = None) -> None:
        s = self.state
        enabled = s.has_model
        relays = set(s.relay_nodes())
        knocked = set(s.knocked_out)
        self._syncing = True
        try:
            for label, button in self.toggles.items():
                button.value = label in knocked
                button.disabled = not enabled
                button.button_style = "warning" if label in relays else ""
                tip = f"{'restore' if label in knocked else 'knock out'} {label}"
                if label in relays:
                    tip += f" (relay of {concept_title(s.concept)} at t={s.time})"
                button.tooltip = tip
        finally:
            self._syncing = False
        n_relays = len(relays)
        plural = "s" if n_relays != 1 else ""
        self.knock_relays.description = (
            f"knock out relays of {concept_title(s.concept)} (t={s.time}, {n_relays} node{plural})"
            if s.relays is not None else "knock out relays (no relay map yet)"
        )
        self.knock_relays.disabled = not enabled or s.relays is None
        self.random_control.disabled = not enabled
        self.reset.disabled = not enabled
        n = len(knocked)
        self.knocked_text.value = (
            f"<span>{n} node{'s' if n != 1 else ''} knocked out: {escape(', '.join(s.knocked_out))}</span>"
            if n else "<span>no node knocked out</span>"
        )

    def _sync_readout(self, change: Any = None) -> None:
        s = self.state
        if not s.has_model:
            self.message.value = (
                '<div role="note" style="color:#8a6d3b">Knockouts are disabled: this explorer has no model. '
                "Create it with <code>Explorer(recording, relays, model=model)</code> (it reuses the recording's "
                "inputs, or pass <code>X=..., y=...</code>) or with "
                "<code>relaywidgets.explore(model, X, y)</code>.</div>"
            )
            self.message.layout.display = None
            self.figure.layout.display = "none"
            self.bars_legend.layout.display = "none"
        else:
            self.bars_legend.layout.display = None
            self.message.value = ""
            self.message.layout.display = "none"
            self.figure.layout.display = None
        text = accuracy_text(s.accuracy, s.baseline_accuracy)
        self.readout.value = f'<span role="status" aria-live="polite" style="font-size:120%">{escape(text)}</span>'
        base = np.asarray(s.baseline_per_class_accuracy, dtype=float)
        now = np.asarray(s.per_class_accuracy, dtype=float)
        if base.size and now.size == base.size:
            drop = np.clip(np.nan_to_num(base - now), 0.0, None)
            with self.bars.hold_sync():
                self.bars.x = np.array(s.class_names[: base.size] or [str(i) for i in range(base.size)])
                self.bars.y = np.vstack([np.nan_to_num(base), np.nan_to_num(now), drop])
