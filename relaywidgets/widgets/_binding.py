"""One way from a control to the explorer's state: a value the user sets is pushed into one state trait."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["pusher"]


def pusher(state: Any, name: str) -> Callable[[Any], None]:
    """A ``control.observe(..., names="value")`` callback that sets ``state.<name>`` to the control's value.

    Unchanged and empty values are not pushed (so a view that updates its control from the state does not
    echo the change back), and a value the state rejects is reported in the explorer's error area
    (``state.reporting()``) instead of raising in the front end's callback.
    """

    def push(change: Any) -> None:
        if change["new"] is None or getattr(state, name) == change["new"]:
            return
        with state.reporting():
            setattr(state, name, change["new"])

    return push
