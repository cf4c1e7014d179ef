"""Recurrent classifiers that can be recorded and knocked out, and wrapped user models (:func:`stepwise`)."""

from .device import resolve_device
from .protocol import RecurrentLayer, RecurrentModel, check_model, is_recurrent_model, layout_of
from .recurrent import ARCHITECTURES, RecurrentClassifier, RecurrentStates
from .stepwise import StepwiseModel, stepwise

__all__ = [
    "RecurrentClassifier",
    "RecurrentStates",
    "ARCHITECTURES",
    "resolve_device",
    "stepwise",
    "StepwiseModel",
    "RecurrentModel",
    "RecurrentLayer",
    "check_model",
    "is_recurrent_model",
    "layout_of",
]
