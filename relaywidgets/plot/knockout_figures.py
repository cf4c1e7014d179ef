"""Matplotlib view of a relay-versus-random knockout test (matplotlib is imported only when called)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .relay_figures import _KNOCKOUT_VARS, _default_bins

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_knockout_test"]


def plot_knockout_test(test: "xr.Dataset", *, ax: "Axes | None" = None, bins: int | None = None) -> "Axes":
    """Histogram of the random sets' accuracy drops with the relay set's drop marked.

    Parameters
    ----------
    test : xarray.Dataset
        Result of :func:`relaywidgets.knockout.relay_knockout_test`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    bins : int, optional
        Histogram bins (default: one per distinct drop, at most 30).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_knockout_test(relay_knockout_test(model, X, y, relays, concept=1))  # doctest: +SKIP
    """
    if not all(name in getattr(test, "data_vars", {}) for name in _KNOCKOUT_VARS):
        raise InputError(
            "plot_knockout_test needs the Dataset returned by relay_knockout_test "
            f"(with variables {', '.join(_KNOCKOUT_VARS)})."
        )
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.2))
    drops = np.asarray(test["random_drops"].values, dtype=float)
    relay = float(test["relay_drop"])
    if bins is None:
        bins = _default_bins(drops)
    ax.hist(drops, bins=bins, color="0.7", edgecolor="0.4", label=f"{drops.size} random sets")
    ax.axvline(relay, color="C3", linewidth=2, label="relay set")
    ax.set_xlabel(f"accuracy drop of class {test.attrs.get('concept', '')}")
    ax.set_ylabel("random sets")
    off = test.get("off_target_drop_mean")
    text = f"p = {float(test['p_value']):.3g}\neffect size = {float(test['effect_size']):.3g}"
    if off is not None and np.isfinite(float(off)):
        text += f"\noff-target drop = {float(off):.3g}"
    ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize="small")
    ax.legend(loc="center right", fontsize="small", frameon=False)
    return ax
