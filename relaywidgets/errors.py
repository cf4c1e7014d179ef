"""Exception types raised by relaywidgets.

Every error the package raises on bad input is one of these, so a user can catch
``relaywidgets.RelaywidgetsError`` and know the message names the problem and the fix.
"""

from __future__ import annotations

__all__ = ["RelaywidgetsError", "InputError", "RecordingError", "ModelFileError", "KnockoutError", "ClusterError", "SweepError"]


class RelaywidgetsError(Exception):
    """Base class of every error raised by relaywidgets."""


class InputError(RelaywidgetsError, ValueError):
    """Data or parameters given to a relaywidgets function are not usable."""


class RecordingError(RelaywidgetsError, ValueError):
    """A dataset or file does not follow the recording contract (docs/recording.md)."""


class ModelFileError(RelaywidgetsError, ValueError):
    """A file is not a model saved by :func:`relaywidgets.save`."""


class KnockoutError(RelaywidgetsError, ValueError):
    """A knockout specification cannot be applied to the model it was given to."""


class ClusterError(RelaywidgetsError, RuntimeError):
    """A Dask cluster running an analysis went away or failed before the analysis finished."""


class SweepError(RelaywidgetsError, RuntimeError):
    """The function run by :func:`relaywidgets.sweep.sweep` failed at a point of the grid (named in the message)."""
