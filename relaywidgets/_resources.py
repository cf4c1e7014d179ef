"""Resource checks: refuse a request the machine cannot hold before allocating it.

Estimates are simple counts of the big arrays a request creates (documented where each is made); a request
whose estimate exceeds the available memory is an :class:`~relaywidgets.errors.InputError` that names the
need and the fix, instead of a raw ``MemoryError`` or a machine swapping for hours. Standard library only
(psutil when installed).
"""

from __future__ import annotations

import os

from .errors import InputError

__all__ = ["available_memory", "check_memory"]


def available_memory() -> int | None:
    """Bytes of memory this machine can still give a process (psutil when installed, else ``os.sysconf``).

    None when neither can tell (then :func:`check_memory` lets every request through).

    Examples
    --------
    >>> available_memory() is None or available_memory() > 0
    True
    """
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil is optional, and some containers hide the numbers
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(needed: float, what: str, fix: str) -> None:
    """Refuse a request estimated to need ``needed`` bytes when the machine has less memory available.

    Called before allocating, so an impossible request is a clear :class:`InputError` naming the numbers
    and the fix, instead of a raw ``MemoryError`` (or a machine swapping for hours). The estimates passed in
    are simple upper-order counts of the big arrays (documented where they are made), not exact totals.

    Parameters
    ----------
    needed : float
        Estimated bytes.
    what : str
        The request, e.g. ``"n_perm=10**12 permutations of 500 samples"``.
    fix : str
        What to pass instead.

    Examples
    --------
    >>> check_memory(1024, "a small request", "pass less")
    >>> check_memory(2.0**80, "n_perm=10**15 permutations", "pass n_perm=1000 or fewer")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: n_perm=10**15 permutations would need about ... GiB of memory, ...
    """
    available = available_memory()
    if available is None or needed <= available:
        return
    raise InputError(
        f"{what} would need about {needed / 2**30:,.1f} GiB of memory, more than the {available / 2**30:,.1f} GiB "
        f"this machine has available. {fix}"
    )
