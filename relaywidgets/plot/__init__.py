"""Figures of relay maps and knockout tests (being split into data preparation and backends)."""

from .knockout_figures import plot_knockout_test
from .relay_figures import *  # noqa: F401,F403
from .relay_figures import __all__ as _relay_all

__all__ = [*_relay_all, "plot_knockout_test"]
