"""Recurrent classifiers that can be recorded and knocked out."""

from .device import resolve_device
from .recurrent import ARCHITECTURES, RecurrentClassifier, RecurrentStates

__all__ = ["RecurrentClassifier", "RecurrentStates", "ARCHITECTURES", "resolve_device"]
