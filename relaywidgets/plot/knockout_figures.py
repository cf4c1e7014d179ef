"""Figures of knockout tests: the random node sets' accuracy drops against the relay set's drop.

:func:`knockout_drops` draws one panel per test with either backend; :func:`plot_knockout_test`
draws one test into matplotlib axes (also available as ``relaywidgets.knockout.plot_knockout_test``).
What a panel shows is read by :mod:`relaywidgets.plot.knockout_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._validation import check_int
from .backends import drawer
from .knockout_data import knockout_panel, knockout_tests

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["knockout_drops", "plot_knockout_test"]


def knockout_drops(
    test: Any,
    *,
    bins: int | Sequence[float] | None = None,
    backend: str = "matplotlib",
    ncols: int = 3,
    title: str | None = None,
) -> Any:
    """Histogram of the accuracy drops of random node sets, with the relay set's drop as a line, per class.

    If the relay set matters for the class more than a random set of the same size, its drop (red
    line) lies to the right of the random drops (grey bars); the p-value is the share of random sets
    (plus one) that dropped the accuracy at least as much. The matplotlib panels are those of
    :func:`plot_knockout_test`, which also print the p-value, the effect size and the mean drop of
    the other classes.

    Parameters
    ----------
    test : xarray.Dataset, dict of str to Dataset, or list of Dataset
        Result(s) of :func:`relaywidgets.knockout.relay_knockout_test`, e.g. one per class. A panel is
        titled "class <concept>" (the test's ``concept`` attribute); a dict key other than the concept
        is shown as the title instead (e.g. ``{"controls from other units": test}``).
    bins : int or sequence of float, optional
        Histogram bins (``numpy.histogram``); default one per distinct drop, between 5 and 30.
    backend : {"matplotlib", "bqplot"}, default "matplotlib"
    ncols : int, default 3
        Panels per row.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure or bqplot.Figure or ipywidgets.GridBox
        matplotlib: one axes per class; ``ax.patches`` are the histogram bars (heights = counts),
        ``ax.lines[0]`` marks the relay drop. bqplot: one Figure (a single class) or a GridBox of
        Figures, each with a ``Bars`` mark of the counts and a ``Lines`` mark at the relay drop.

    Examples
    --------
    >>> import xarray as xr
    >>> from relaywidgets.plot import knockout_drops
    >>> test = xr.Dataset({"random_drops": ("control", [0.0, 0.005, 0.02]), "relay_drop": 0.4,
    ...                    "p_value": 0.25, "effect_size": 38.0}, attrs={"concept": "3"})
    >>> fig = knockout_drops(test, bins=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 1.0]
    """
    owner = "knockout_drops"
    draw = drawer(backend, owner)
    tests = knockout_tests(test, owner)
    ncols = check_int(ncols, "ncols", owner, 1)
    panels = [knockout_panel(t, name=name, bins=bins, owner=owner) for name, t in tests]
    return draw.knockout_drops(panels, ncols=ncols, title=title)


def plot_knockout_test(
    test: "xr.Dataset", *, ax: "Axes | None" = None, bins: int | Sequence[float] | None = None
) -> "Axes":
    """Histogram of the random sets' accuracy drops with the relay set's drop marked (matplotlib).

    Parameters
    ----------
    test : xarray.Dataset
        Result of :func:`relaywidgets.knockout.relay_knockout_test`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    bins : int or sequence of float, optional
        Histogram bins (default: one per distinct drop, between 5 and 30).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.patches`` are the histogram bars (heights = counts), ``ax.lines[0]`` marks the relay
        drop, ``ax.texts[0]`` gives the p-value, the effect size and, when measured, the mean drop
        of the other classes.

    Raises
    ------
    InputError
        When ``test`` is not a relay_knockout_test result or holds no finite random drop.

    Examples
    --------
    >>> import xarray as xr
    >>> from relaywidgets.plot import plot_knockout_test
    >>> test = xr.Dataset({"random_drops": ("control", [0.0, 0.005, 0.02]), "relay_drop": 0.4,
    ...                    "p_value": 0.25, "effect_size": 38.0}, attrs={"concept": "3"})
    >>> ax = plot_knockout_test(test, bins=2)
    >>> [float(p.get_height()) for p in ax.patches], ax.texts[0].get_text().splitlines()[0]
    ([2.0, 1.0], 'p = 0.25')
    """
    panel = knockout_panel(test, bins=bins, owner="plot_knockout_test")
    return drawer("matplotlib", "plot_knockout_test").knockout_axes(panel, ax=ax)
