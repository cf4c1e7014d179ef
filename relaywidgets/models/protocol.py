"""What the analyses need of a model, and the two kinds of model that offer it.

Every analysis (recording, knockouts, effect maps, the explorer) reaches a network only through
``run(x, lengths, knockout, *, start=, initial=, keep_states=)`` returning
:class:`~relaywidgets.models.RecurrentStates`, ``predict``, and a few descriptive attributes
(:class:`RecurrentModel`). :class:`~relaywidgets.models.RecurrentClassifier` and the models that
:func:`relaywidgets.stepwise` returns offer them; the helpers here read either without asking which it is.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from .._validation import check_inputs
from ..errors import InputError

__all__ = [
    "RecurrentModel",
    "RecurrentLayer",
    "is_recurrent_model",
    "check_model",
    "check_model_inputs",
    "layout_of",
    "layer_sizes",
    "knockout_shape",
    "node_positions",
]


class RecurrentLayer(NamedTuple):
    """One recurrent layer of a model, in node-label order.

    ``module`` is the submodule's path in a model wrapped with :func:`relaywidgets.stepwise` (``""`` for a
    :class:`~relaywidgets.models.RecurrentClassifier`), ``layer`` the layer within that submodule.
    """

    module: str
    layer: int
    arch: str
    hidden_size: int


@runtime_checkable
class RecurrentModel(Protocol):
    """The protocol of a model every analysis of the package runs on."""

    node_labels: list[str]
    num_classes: int
    num_layers: int
    metadata: dict[str, Any]

    @property
    def device(self) -> torch.device: ...

    def run(
        self,
        x: Any,
        lengths: Any = None,
        knockout: Any = None,
        *,
        start: int = 0,
        initial: Any = None,
        keep_states: bool = True,
    ) -> Any: ...

    def predict(self, x: Any, lengths: Any = None, knockout: Any = None) -> np.ndarray: ...


def is_recurrent_model(model: Any) -> bool:
    """Whether ``model`` is a RecurrentClassifier or a model wrapped with :func:`relaywidgets.stepwise`."""
    from .recurrent import RecurrentClassifier
    from .stepwise import StepwiseModel

    return isinstance(model, (RecurrentClassifier, StepwiseModel))


def check_model(model: Any, owner: str) -> Any:
    """``model`` when the analyses can run it, else an InputError saying how to make one that they can.

    Examples
    --------
    >>> check_model("lstm", "evaluate")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: evaluate() needs a relaywidgets RecurrentClassifier or a model wrapped ...
    """
    if is_recurrent_model(model):
        return model
    hint = (
        "Build one with relaywidgets.RecurrentClassifier, load one with relaywidgets.load, or wrap your own "
        "PyTorch model with relaywidgets.stepwise(model)."
    )
    if isinstance(model, torch.nn.Module):
        from .stepped_modules import find_recurrent

        if find_recurrent(model):
            hint = (
                f"This {type(model).__name__} holds torch recurrent layers: wrap it first, "
                "model = relaywidgets.stepwise(model), so that its units can be recorded and knocked out."
            )
    raise InputError(
        f"{owner}() needs a relaywidgets RecurrentClassifier or a model wrapped with relaywidgets.stepwise; "
        f"got {type(model).__name__}. {hint}"
    )


def check_model_inputs(
    model: Any, X: Any, y: Any = None, lengths: Any = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validate inputs for ``model``: ``X`` as numpy (float32, or int64 token ids for a wrapped model), ``y``, ``lengths``.

    A RecurrentClassifier takes ``(sample, time, feature)`` floats; a wrapped model takes whatever its own
    forward takes with samples first and time second (``(sample, time)`` token ids for an embedding).
    """
    own = getattr(model, "check_inputs", None)
    if callable(own):
        return own(X, y, lengths)
    return check_inputs(X, y, lengths, num_features=model.input_size, num_classes=model.num_classes)


def layout_of(model: Any) -> tuple[RecurrentLayer, ...]:
    """The recurrent layers of ``model`` in node-label order.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier
    >>> layout_of(RecurrentClassifier("gru", 2, 3, 2, num_layers=2, device="cpu"))
    (RecurrentLayer(module='', layer=0, arch='gru', hidden_size=3), RecurrentLayer(module='', layer=1, arch='gru', hidden_size=3))
    """
    layout = getattr(model, "layout", None)
    if layout is not None:
        return tuple(layout)
    try:  # any object with a RecurrentClassifier's shape attributes (not only the class itself)
        arch, hidden_size, num_layers = model.arch, model.hidden_size, model.num_layers
    except AttributeError:
        raise InputError(
            f"layout_of needs a relaywidgets RecurrentClassifier or a model wrapped with relaywidgets.stepwise; got "
            f"{type(model).__name__}. Wrap a torch model with relaywidgets.stepwise(model) first."
        ) from None
    return tuple(RecurrentLayer("", layer, arch, hidden_size) for layer in range(num_layers))


def layer_sizes(model: Any) -> list[int]:
    """Units per layer, in node-label order."""
    return [spec.hidden_size for spec in layout_of(model)]


def node_positions(model: Any) -> list[tuple[int, int]]:
    """``(layer, unit)`` of every node, in the order of ``model.node_labels`` (layers count across submodules)."""
    return [(g, u) for g, size in enumerate(layer_sizes(model)) for u in range(size)]


def knockout_shape(model: Any) -> dict[str, Any]:
    """The model-shape arguments of :func:`~relaywidgets.models.plan.compile_knockouts` for ``model``.

    A RecurrentClassifier gives ``hidden_size``, ``num_layers`` and ``arch``; a wrapped model adds its
    ``layout``, so that knockouts can name its submodules and layers of different sizes.
    """
    layout = getattr(model, "layout", None)
    if layout is None:
        return {"hidden_size": model.hidden_size, "num_layers": model.num_layers, "arch": model.arch}
    sizes = {spec.hidden_size for spec in layout}
    archs = {spec.arch for spec in layout}
    return {
        "hidden_size": max(sizes),
        "num_layers": len(layout),
        "arch": archs.pop() if len(archs) == 1 else "mixed",
        "layout": tuple(layout),
    }
