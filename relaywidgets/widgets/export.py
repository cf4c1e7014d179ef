"""Static pictures of the explorer's current view with matplotlib (for papers and reports)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ._style import CURRENT_COLOR, DROP_COLOR, INTACT_COLOR
from ..contract import concept_title
from ..errors import InputError
from .state import ExplorerState

__all__ = ["explorer_figure", "save_figure"]


def explorer_figure(state: ExplorerState) -> Any:
    """A matplotlib Figure of the selected concept's contribution map, its effect map and the per-class accuracy.

    Left: contribution (bits) of every node at every step, relay cells dotted (filled where the step is
    significant), the selected step outlined. Next (once the causal map is computed): the effect map of
    the concept on the same rows and steps, the selected step outlined. Right (when a model is present):
    per-class accuracy, intact and with the current knockout.
    """
    from matplotlib.figure import Figure

    with_bars = state.has_model and len(state.per_class_accuracy) > 0
    effects = _effect_data(state)
    panels = [1.5] + ([1.5] if effects is not None else []) + ([1.0] if with_bars else [])
    fig = Figure(figsize=(4.0 + 4.4 * len(panels), 4.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False, width_ratios=panels)[0]
    ax = axes[0]
    relays = state.relays
    if relays is None or state.concept not in state.concepts:
        ax.text(0.5, 0.5, "no relay map yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        from ..plot.data import heatmap_data
        from ..plot.draw_matplotlib import relay_heatmap

        n = len(state.relay_nodes())
        title = (f"{concept_title(state.concept)}: {n} relay node{'s' if n != 1 else ''} at t={state.time}, "
                 f"threshold {state.threshold:.2f}")
        # The same map as the explorer's heat map and relaywidgets.plot.relay_heatmap, plus the selected step.
        data = heatmap_data(relays, state.concept, alpha=state.alpha, title=title, owner="explorer_figure")
        relay_heatmap(data, ax=ax, marker_size=24)
        times = data.times.tolist()
        if state.time in times:
            ax.axvline(times.index(state.time), color="#d62728", alpha=0.6, lw=2)
        ax.tick_params(axis="y", labelsize=7 if data.nodes.size > 20 else 9)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7, frameon=False)
    if effects is not None:
        from ..plot.draw_matplotlib import effect_heatmap

        ex = axes[1]
        effect_heatmap(effects, ax=ex)
        times = effects.times.tolist()
        if state.time in times:
            ex.axvline(times.index(state.time), color="#d62728", alpha=0.6, lw=2)
        ex.tick_params(axis="y", labelsize=7 if effects.nodes.size > 20 else 9)
    if with_bars:
        bx = axes[-1]
        names = state.class_names
        base = np.asarray(state.baseline_per_class_accuracy, dtype=float)
        now = np.asarray(state.per_class_accuracy, dtype=float)
        x = np.arange(len(base))
        bx.bar(x - 0.2, base, 0.4, color=INTACT_COLOR, label="intact")
        bx.bar(x + 0.2, now, 0.4, color=CURRENT_COLOR, label="with knockout")
        drop = np.clip(np.nan_to_num(base - now), 0.0, None)
        bx.bar(x + 0.2, drop, 0.4, bottom=now, color=DROP_COLOR, alpha=0.6, label="drop")
        bx.set_xticks(x, names)
        bx.set_ylim(0, 1.05)
        bx.set_xlabel("class")
        bx.set_ylabel("accuracy")
        knocked = ", ".join(state.knocked_out) if state.knocked_out else "none"
        bx.set_title(f"accuracy {state.accuracy:.3f} (intact {state.baseline_accuracy:.3f})\nknocked out: {knocked}",
                     fontsize=9)
        bx.legend(fontsize=7, loc="lower right")
    return fig


def _effect_data(state: ExplorerState) -> Any:
    """What the explorer's effect map shows (on the relay map's rows and steps), or None before it is computed."""
    if state.effects is None:
        return None
    from ..plot.causal_data import effect_map_data

    relays = state.relays
    nodes = None if relays is None else [str(n) for n in relays["node"].values]
    times = None if relays is None else [int(t) for t in relays["time"].values]
    try:
        return effect_map_data(state.effects, state.concept or "all", variable=state.effect_variable, nodes=nodes,
                               times=times, owner="explorer_figure")
    except InputError:  # e.g. a concept the effect map lacks: the picture shows what it can
        return None


def save_figure(state: ExplorerState, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write :func:`explorer_figure` to ``path`` (format from the suffix) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    explorer_figure(state).savefig(path, dpi=dpi)
    return path
