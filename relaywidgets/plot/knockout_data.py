"""What a knockout-test panel shows: the random sets' drops binned, the relay set's drop, the test's numbers.

Backend-free like :mod:`relaywidgets.plot.data`. It reads the Dataset of
:func:`relaywidgets.knockout.relay_knockout_test` by its variables and never imports the knockout
package, so drawing a test needs no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._validation import is_int, is_real
from ..errors import InputError

__all__ = ["KnockoutPanel", "KNOCKOUT_VARS", "check_knockout_test", "knockout_tests", "knockout_panel",
           "default_bins", "check_bins", "MAX_BINS"]

#: The variables of a relay_knockout_test result that a panel reads.
KNOCKOUT_VARS = ("random_drops", "relay_drop", "p_value", "effect_size")


def check_knockout_test(test: Any, owner: str, *, collection: bool = False) -> xr.Dataset:
    """Return ``test`` if it is a :func:`~relaywidgets.knockout.relay_knockout_test` result, else raise.

    ``collection`` says in the message that a dict or list of such results is accepted too.
    """
    if not isinstance(test, xr.Dataset) or not all(v in test.data_vars for v in KNOCKOUT_VARS):
        also = ", a dict of class -> such Dataset, or a list of them" if collection else ""
        raise InputError(
            f"{owner} needs the Dataset returned by relay_knockout_test (relaywidgets.knockout.relay_knockout_test, "
            f"with variables {', '.join(KNOCKOUT_VARS)}){also}. Got {type(test).__name__}."
        )
    return test


def knockout_tests(test: Any, owner: str) -> list[tuple[str, xr.Dataset]]:
    """``(panel name, test)`` pairs from one knockout test, a dict of them or a list of them.

    A dict key names its panel; otherwise the panel is named by the test's ``concept`` attribute.
    """
    if isinstance(test, xr.Dataset):
        items: list[tuple[Any, Any]] = [(None, test)]
    elif isinstance(test, Mapping):
        items = list(test.items())
    elif isinstance(test, Sequence) and not isinstance(test, (str, bytes)):
        items = [(None, t) for t in test]
    else:
        items = [(None, test)]
    out = []
    for key, item in items:
        item = check_knockout_test(item, owner, collection=True)
        out.append((str(key) if key is not None else str(item.attrs.get("concept", "")), item))
    if not out:
        raise InputError(f"{owner} got no knockout test to draw; pass relay_knockout_test(...) results.")
    return out


def default_bins(drops: np.ndarray) -> int:
    """One histogram bin per distinct drop, between 5 and 30."""
    return int(min(30, max(5, np.unique(np.round(drops, 9)).size)))


#: The most bins a panel draws: more than any screen shows, and a bound on what a typo (``bins=10**12``) allocates.
MAX_BINS = 10_000


def check_bins(bins: Any, owner: str) -> int | np.ndarray | None:
    """``bins`` as numpy.histogram takes them, checked: None, an int in [1, MAX_BINS], or increasing edges.

    numpy would silently draw nothing for empty edges, and raise its own errors (or allocate without bound) for
    the rest; a bool is refused, not read as 0 or 1 bins.

    Examples
    --------
    >>> check_bins([0.0, 0.1, 0.5], "knockout_drops").tolist()
    [0.0, 0.1, 0.5]
    """
    if bins is None:
        return None
    if is_int(bins):
        if not 1 <= int(bins) <= MAX_BINS:
            raise InputError(
                f"The 'bins' parameter of {owner} must be an int in [1, {MAX_BINS}] or a sequence of increasing bin "
                f"edges. Got {bins!r} instead."
            )
        return int(bins)
    edges = None
    if (
        isinstance(bins, (Sequence, np.ndarray))
        and not isinstance(bins, (str, bytes))
        and all(is_real(e) for e in np.asarray(bins, dtype=object).ravel())
    ):
        edges = np.asarray(bins, dtype=float)
    if edges is None or edges.ndim != 1 or edges.size < 2 or not np.isfinite(edges).all() or np.any(np.diff(edges) <= 0):
        raise InputError(
            f"The 'bins' parameter of {owner} must be an int in [1, {MAX_BINS}] or a sequence of at least 2 finite, "
            f"strictly increasing bin edges, e.g. [0.0, 0.05, 0.1]. Got {bins!r} instead."
        )
    return edges


@dataclass(frozen=True)
class KnockoutPanel:
    """One knockout test as a histogram of the random drops with the relay drop marked.

    Attributes
    ----------
    name, concept : str
        The panel's name (a dict key or the concept) and the tested concept.
    drops : numpy.ndarray
        The finite accuracy drops of the random node sets.
    counts, edges : numpy.ndarray
        ``numpy.histogram(drops, bins)``.
    relay_drop, p_value, effect_size, off_target : float
        The test's numbers; ``off_target`` (mean drop of the other classes) is NaN when not measured.
    title : str
        E.g. ``"class 3, 2 relay nodes"``.
    xlabel : str
        E.g. ``"accuracy drop of class 3"``.
    summary : str
        The p-value, effect size and off-target drop, one per line.
    """

    name: str
    concept: str
    drops: np.ndarray
    counts: np.ndarray
    edges: np.ndarray
    relay_drop: float
    p_value: float
    effect_size: float
    off_target: float
    title: str
    xlabel: str
    summary: str


def _panel_title(name: str, test: xr.Dataset) -> str:
    """"class 3, 2 relay nodes"; a panel name other than the tested class is shown as given."""
    concept = str(test.attrs.get("concept", ""))
    parts = [f"class {name}" if name and name == concept else name]
    if "relay_nodes" in test.variables:
        n = int(test.sizes.get("member", np.size(test["relay_nodes"])))
        parts.append(f"{n} relay node{'' if n == 1 else 's'}")
    return ", ".join(p for p in parts if p)


def knockout_panel(
    test: xr.Dataset,
    *,
    name: str | None = None,
    bins: int | Sequence[float] | None = None,
    owner: str = "knockout_panel",
) -> KnockoutPanel:
    """What the panel of one knockout test shows.

    Parameters
    ----------
    test : xarray.Dataset
        A :func:`~relaywidgets.knockout.relay_knockout_test` result.
    name : str, optional
        The panel's name; default the test's ``concept`` attribute.
    bins : int or sequence of float, optional
        Histogram bins (``numpy.histogram``); default :func:`default_bins`.
    owner : str
        The public function asking, named in error messages.

    Returns
    -------
    KnockoutPanel

    Examples
    --------
    >>> import xarray as xr
    >>> test = xr.Dataset({"random_drops": ("control", [0.0, 0.005, 0.02]), "relay_drop": 0.4,
    ...                    "p_value": 0.25, "effect_size": 38.0}, attrs={"concept": "3"})
    >>> panel = knockout_panel(test, bins=2)
    >>> panel.counts.tolist(), panel.title, panel.xlabel
    ([2, 1], 'class 3', 'accuracy drop of class 3')
    """
    test = check_knockout_test(test, owner)
    bins = check_bins(bins, owner)
    concept = str(test.attrs.get("concept", ""))
    name = concept if name is None else str(name)
    drops = np.asarray(test["random_drops"].values, dtype=float).ravel()
    drops = drops[np.isfinite(drops)]
    if drops.size == 0:
        raise InputError(f"{owner}: the knockout test of class {name!r} holds no finite random drop.")
    counts, edges = np.histogram(drops, bins=default_bins(drops) if bins is None else bins)
    p_value, effect_size = float(test["p_value"]), float(test["effect_size"])
    off = float(test["off_target_drop_mean"]) if "off_target_drop_mean" in test else np.nan
    summary = f"p = {p_value:.3g}\neffect size = {effect_size:.3g}"
    if np.isfinite(off):
        summary += f"\noff-target drop = {off:.3g}"
    return KnockoutPanel(
        name=name, concept=concept, drops=drops, counts=counts, edges=edges, relay_drop=float(test["relay_drop"]),
        p_value=p_value, effect_size=effect_size, off_target=off, title=_panel_title(name, test),
        xlabel=f"accuracy drop of class {concept}", summary=summary,
    )
