"""Moved: the information estimators' input checks now live in :mod:`relaywidgets._validation`."""
from .._validation import *  # noqa: F401,F403
from .._validation import __all__  # noqa: F401
