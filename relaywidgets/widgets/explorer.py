"""The relay explorer: the estimator panel, relay and effect maps, graph, causal panel and knockout panel
around one state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..errors import InputError
from ._style import escape
from .causal_view import CausalPanel, EffectHeatmap
from .estimator_panel import EstimatorPanel
from .graph import RelayGraph
from .heatmap import RelayHeatmap
from .knockout_panel import KnockoutPanel
from .state import ExplorerState

__all__ = ["Explorer", "explore"]

# Settings the explorer's state owns; every other find_relays argument is kept for Recompute.
_STATE_SETTINGS = ("estimator", "discretizer", "threshold", "alpha", "progress")


class Explorer(widgets.VBox):
    """Explore a network's information relays and knock them out, in JupyterLab or Notebook 7.

    Parameters
    ----------
    recording : xarray.Dataset
        A recording (``relaywidgets.record(model, X, y)``).
    relays : xarray.Dataset, optional
        Its relay map (``relaywidgets.find_relays(recording)``); without one, pick an estimator and
        press Recompute.
    model : RecurrentClassifier, optional
        The recorded network; needed for knockouts (the knockout panel says so when it is missing).
    X, y : array-like, optional
        Data knockouts are scored on; default: the inputs and labels stored in ``recording``.
    lengths : array-like of int, optional
        Valid steps per sequence of ``X``.
    progress : bool, default True
        Show find_relays' progress bar when recomputing.
    find_relays_kwargs : dict, optional
        Other find_relays arguments for Recompute (``n_perm``, ``seed``, ``concepts``, ``times``, ...).
    **traits
        Initial state (``concept``, ``time``, ``threshold``, ``alpha``, ``estimator``, ...).

    Attributes
    ----------
    state : ExplorerState
        The one state every view observes; set its traits to drive the explorer from code.
    estimator_panel : EstimatorPanel
    heatmap : RelayHeatmap
    effect_heatmap : EffectHeatmap
        The effect map of the selected concept beside the relay heat map, with "Compute causal map".
    graph : RelayGraph
    causal_panel : CausalPanel
        The causal set (and a button that knocks it out) and the deletion curves, beside the graph.
    knockout_panel : KnockoutPanel
    error_area : ipywidgets.HTML
        Shows ``state.error`` (CSS class ``rw-error``).

    Notes
    -----
    Stable CSS classes (for styling and browser tests): ``rw-explorer`` (root), ``rw-error``,
    ``rw-estimator``, ``rw-discretizer``, ``rw-threshold``, ``rw-alpha``, ``rw-recompute``,
    ``rw-status``, ``rw-progress``, ``rw-concept``, ``rw-time``, ``rw-relay-count``, ``rw-heatmap``
    (the heat-map figure; its cells are bqplot's ``heatmapcell``), ``rw-graph`` (the graph figure; its
    nodes are ``.node .element``), ``rw-node-toggle`` (one per node, text = the node label),
    ``rw-knockout-relays``, ``rw-random-control``, ``rw-reset``, ``rw-accuracy``, ``rw-knocked-out``,
    ``rw-class-bars`` and ``rw-knockout-disabled``; the causal view: ``rw-compute-causal``,
    ``rw-effect-variable``, ``rw-effect-value``, ``rw-effect-window``, ``rw-causal-status``,
    ``rw-causal-progress``, ``rw-effect-heatmap`` (its cells are ``heatmapcell``), ``rw-causal-set``,
    ``rw-knockout-causal``, ``rw-causal-target``, ``rw-relay-ranking``, ``rw-deletion-plot`` and
    ``rw-deletion-summary``.

    Nothing of the causal view is computed when the explorer opens: "Compute causal map" computes the
    effect map, the causal set and the deletion curves of the selected concept (with a progress bar),
    and caches them.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task, record, find_relays
    >>> from relaywidgets.widgets import Explorer
    >>> X, y = make_task("delayed-cue", n_samples=64, seq_len=6, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 4, 4, device="cpu")
    >>> rec = record(model, X, y)
    >>> ex = Explorer(rec, find_relays(rec, n_perm=0, progress=False), model=model)
    >>> ex.state.knocked_out = ("l0.h1",)
    >>> ex.state.accuracy is not None
    True
    """

    def __init__(
        self,
        recording: Any,
        relays: Any = None,
        model: Any = None,
        X: Any = None,
        y: Any = None,
        lengths: Any = None,
        *,
        progress: bool = True,
        find_relays_kwargs: dict | None = None,
        **traits: Any,
    ) -> None:
        if recording is None:
            raise InputError(
                "Explorer needs a recording: Explorer(relaywidgets.record(model, X, y)), or use "
                "relaywidgets.explore(model, X, y), which records and finds the relays for you."
            )
        self.state = ExplorerState(
            recording, relays, model, X, y, lengths,
            find_relays_kwargs=find_relays_kwargs, progress=bool(progress), **traits,
        )
        if relays is None:
            self.state.status = "no relay map yet: press Recompute."
        self.title = widgets.HTML(self._title_html())
        self.error_area = widgets.HTML()
        self.error_area.add_class("rw-error")
        self.estimator_panel = EstimatorPanel(self.state)
        half = dict(width="50%", min_width="380px")
        self.heatmap = RelayHeatmap(self.state, layout=widgets.Layout(**half))
        self.effect_heatmap = EffectHeatmap(self.state, layout=widgets.Layout(**half))
        self.graph = RelayGraph(self.state, layout=widgets.Layout(**half))
        self.causal_panel = CausalPanel(self.state, layout=widgets.Layout(**half))
        self.knockout_panel = KnockoutPanel(self.state)
        self.state.observe(self._show_error, names="error")
        self._show_error()
        row = dict(flex_flow="row wrap", width="100%")
        # Information beside intervention: the relay map next to the effect map (same rows and steps),
        # the relay graph next to the causal set and the deletion curves.
        maps = widgets.HBox([self.heatmap, self.effect_heatmap], layout=widgets.Layout(**row))
        sets = widgets.HBox([self.graph, self.causal_panel], layout=widgets.Layout(**row))
        super().__init__(
            [self.title, self.error_area, self.estimator_panel, maps, sets, self.knockout_panel],
            layout=widgets.Layout(width="100%"),
        )
        self.add_class("rw-explorer")

    @property
    def widget(self) -> "Explorer":
        """The widget to display (the explorer itself; for symmetry with non-widget front ends)."""
        return self

    def _title_html(self) -> str:
        rec = self.state.recording
        a = rec.attrs
        task = f", task {a.get('task')}" if a.get("task") else ""
        layers = int(a.get("num_layers", 1))
        text = (f"{str(a.get('arch', '')).upper()}, {a.get('hidden_size')} units x {layers} "
                f"layer{'s' if layers != 1 else ''}{task}; {rec.sizes['sample']} sequences of "
                f"{rec.sizes['time']} steps")
        return f'<div class="rw-title"><b>relay explorer</b> &mdash; {escape(text)}</div>'

    def _show_error(self, change: Any = None) -> None:
        message = self.state.error
        if message:
            self.error_area.value = (
                '<div role="alert" style="color:#a94442;background:#f2dede;border:1px solid #ebccd1;'
                f'padding:4px 8px;border-radius:3px">{escape(message)}</div>'
            )
            self.error_area.layout.display = None
        else:
            self.error_area.value = ""
            self.error_area.layout.display = "none"

    def save_png(self, path: str | os.PathLike, *, dpi: int = 150) -> Path:
        """Write a static picture of the current view (heat map and per-class accuracy) with matplotlib.

        Parameters
        ----------
        path : str or path-like
            Output file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).
        dpi : int, default 150

        Returns
        -------
        pathlib.Path
        """
        from .export import save_figure

        return save_figure(self.state, path, dpi=dpi)


def explore(
    model: Any,
    X: Any,
    y: Any,
    lengths: Any = None,
    *,
    progress: bool = True,
    **find_relays_kwargs: Any,
) -> Explorer:
    """Record ``model`` on ``(X, y)``, find its relays and return an :class:`Explorer` on them.

    Parameters
    ----------
    model : RecurrentClassifier
        A trained network.
    X : array-like, shape (sample, time, feature)
    y : array-like of int, shape (sample,)
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence.
    progress : bool, default True
        Progress bar while finding relays (tqdm.auto).
    **find_relays_kwargs
        Passed to :func:`relaywidgets.find_relays` (``estimator``, ``discretizer``, ``threshold``,
        ``n_perm``, ``alpha``, ``seed``, ``concepts``, ``times``, ``device``, ...); Recompute reuses them.

    Returns
    -------
    Explorer

    Examples
    --------
    >>> import relaywidgets as rw
    >>> X, y = rw.make_task("delayed-cue", n_samples=64, seq_len=6, seed=0)
    >>> model = rw.RecurrentClassifier("gru", 4, 4, 4, device="cpu")
    >>> ex = rw.explore(model, X, y, n_perm=0, progress=False)
    >>> ex.state.concept
    '0'
    """
    from ..recording import record
    from ..relay import find_relays

    rec = record(model, X, y, lengths)
    relays = find_relays(rec, progress=progress, **find_relays_kwargs)
    keep = {k: v for k, v in find_relays_kwargs.items() if k not in _STATE_SETTINGS}
    return Explorer(rec, relays, model=model, X=X, y=y, lengths=lengths, progress=progress, find_relays_kwargs=keep)
