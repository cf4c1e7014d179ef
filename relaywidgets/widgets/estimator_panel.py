"""The estimator panel: estimator and discretizer, the relay threshold and alpha, and Recompute."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from ._binding import pusher
from ._style import escape
from .state import ExplorerState, _registry_names

__all__ = ["EstimatorPanel"]

# log10 of the alpha slider's usual range, 0.001 … 0.2.
_ALPHA_LOG_RANGE = (-3.0, math.log10(0.2))


def _description(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    return str(getattr(entry, "description", "") or "")


class EstimatorPanel(widgets.VBox):
    """Choose how relay information is estimated and where relay sets are cut.

    The threshold slider re-derives relay sets from the stored elimination curves at once
    (``relays_at``); the alpha slider re-derives significance from the stored p-values. A new
    estimator or discretizer needs the Recompute button, unless its result is cached already.

    Parameters
    ----------
    state : ExplorerState
        The state the panel shows and changes.

    Attributes
    ----------
    estimator, discretizer : ipywidgets.Dropdown
    threshold, alpha : ipywidgets.FloatSlider
        CSS classes ``rw-threshold`` and ``rw-alpha``.
    recompute : ipywidgets.Button
        CSS class ``rw-recompute``.
    status : ipywidgets.HTML
        The relay map shown (settings; cached or computed), CSS class ``rw-status``.
    output : ipywidgets.Output
        Receives find_relays' progress bar (tqdm.auto).
    """

    def __init__(self, state: ExplorerState, **kwargs: Any) -> None:
        self.state = state
        self._estimators = _registry_names("estimator") or {state.estimator: ""}
        self._discretizers = _registry_names("discretizer") or {state.discretizer: ""}
        self.estimator = widgets.Dropdown(
            options=[(name, name) for name in self._estimators],
            value=state.estimator if state.estimator in self._estimators else None,
            description="estimator",
            layout=widgets.Layout(width="250px"),
        )
        self.estimator.add_class("rw-estimator")
        self.discretizer = widgets.Dropdown(
            options=[(name, name) for name in self._discretizers],
            value=state.discretizer if state.discretizer in self._discretizers else None,
            description="discretizer",
            layout=widgets.Layout(width="250px"),
        )
        self.discretizer.add_class("rw-discretizer")
        self.help = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.help.add_class("rw-estimator-help")
        self.threshold = widgets.FloatSlider(
            value=state.threshold,
            min=0.0,
            max=1.0,
            step=0.01,
            readout_format=".2f",
            continuous_update=False,
            description="threshold",
            tooltip="Relay set = smallest set on the elimination path keeping this fraction of the relay information.",
            layout=widgets.Layout(width="330px"),
        )
        self.threshold.add_class("rw-threshold")
        # A log slider: the useful alphas span decades (0.001 … 0.2). Its range widens to take any alpha
        # the state holds (ExplorerState accepts (0, 1)), so the slider never shows another value than the
        # one the significance is computed with.
        self.alpha = widgets.FloatLogSlider(
            value=state.alpha,
            base=10,
            min=_ALPHA_LOG_RANGE[0],
            max=_ALPHA_LOG_RANGE[1],
            step=0.01,
            readout_format=".3g",
            continuous_update=False,
            description="alpha",
            tooltip="Significance level of the permutation test (significant when p < alpha).",
            layout=widgets.Layout(width="330px"),
        )
        self.alpha.add_class("rw-alpha")
        self.recompute = widgets.Button(
            description="Recompute",
            icon="refresh",
            tooltip="Compute the relay map for this estimator and discretizer (cached results are instant).",
        )
        self.recompute.add_class("rw-recompute")
        self.status = widgets.HTML()
        self.status.add_class("rw-status")
        self.output = widgets.Output(layout=widgets.Layout(width="100%"))
        self.output.add_class("rw-progress")

        for control, name in ((self.estimator, "estimator"), (self.discretizer, "discretizer"),
                              (self.threshold, "threshold"), (self.alpha, "alpha")):
            control.observe(pusher(self.state, name), names="value")
        self.recompute.on_click(self._on_recompute)
        state.observe(self._pull, names=["estimator", "discretizer", "threshold", "alpha"])
        state.observe(self._show_status, names=["status", "stale", "busy"])

        row1 = widgets.HBox([self.estimator, self.discretizer, self.recompute, self.status],
                            layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        row2 = widgets.HBox([self.threshold, self.alpha], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row1, self.help, row2, self.output], **kwargs)
        self.add_class("rw-estimator-panel")
        self._pull()
        self._show_status()

    # state -> widgets
    def _pull(self, change: Any = None) -> None:
        s = self.state
        if s.estimator in self._estimators:
            self.estimator.value = s.estimator
        if s.discretizer in self._discretizers:
            self.discretizer.value = s.discretizer
        self.threshold.value = s.threshold
        exponent = math.log10(s.alpha)
        low = min(_ALPHA_LOG_RANGE[0], math.floor(exponent * 100 - 1e-9) / 100)
        high = max(_ALPHA_LOG_RANGE[1], math.ceil(exponent * 100 + 1e-9) / 100)
        with self.alpha.hold_sync():
            # Widen first, then set the value, then narrow: narrowing around the old value would clamp it
            # and push the clamped value back into the state.
            self.alpha.min, self.alpha.max = min(low, self.alpha.min), max(high, self.alpha.max)
            self.alpha.value = s.alpha
            self.alpha.min, self.alpha.max = low, high
        est = self._estimators.get(s.estimator)
        continuous = getattr(est, "kind", "discrete") == "continuous"
        self.discretizer.disabled = continuous
        self.estimator.tooltip = _description(est)
        disc = self._discretizers.get(s.discretizer)
        self.discretizer.tooltip = (
            "Not used: a continuous estimator reads the raw activations." if continuous else _description(disc)
        )
        citation = getattr(est, "citation", "")
        lines = [f"<b>{escape(s.estimator)}</b> ({escape(getattr(est, 'kind', ''))}): {escape(_description(est))}"]
        if citation:
            lines[0] += f" <i>{escape(citation)}</i>"
        if continuous:
            lines.append("no discretizer: a continuous estimator reads the raw activations")
        else:
            lines.append(f"<b>{escape(s.discretizer)}</b>: {escape(_description(disc))}")
        self.help.value = '<div style="font-size:90%;line-height:1.3">' + "<br>".join(lines) + "</div>"

    def _on_recompute(self, button: Any = None) -> None:
        with self.state.reporting():
            self.output.clear_output()
            with self.output:
                self.state.recompute()

    def _show_status(self, change: Any = None) -> None:
        s = self.state
        self.recompute.disabled = s.busy
        self.recompute.button_style = "warning" if s.stale else ""
        text = escape(s.status) if s.status else ""
        if s.busy:
            text = text or "computing ..."
        self.status.value = f'<span role="status" aria-live="polite">{text}</span>'
