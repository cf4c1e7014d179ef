"""Saving and loading models: a state_dict plus a JSON config, loaded without unpickling objects."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ._version import __version__
from .errors import ModelFileError
from .models import RecurrentClassifier

__all__ = ["save", "load", "MODEL_FORMAT"]

MODEL_FORMAT = "relaywidgets-model/1"


def save(model: RecurrentClassifier, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` (one file: weights and a JSON config).

    The file holds only tensors and strings, so :func:`load` can read it with
    ``torch.load(weights_only=True)``, which never unpickles arbitrary objects.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    if not isinstance(model, RecurrentClassifier):
        raise ModelFileError(f"save() writes RecurrentClassifier models; got {type(model).__name__}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": MODEL_FORMAT,
        "config": json.dumps({**model.config(), "relaywidgets_version": __version__}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # never leave a half-written model behind
    return path


def load(path: str | os.PathLike, *, device: str | torch.device = "auto") -> RecurrentClassifier:
    """Load a model written by :func:`save`.

    Raises
    ------
    ModelFileError
        When the file is missing or is not a relaywidgets model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No model file at {str(path)!r}.")
    try:
        payload: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign files
        raise ModelFileError(
            f"{str(path)!r} is not a relaywidgets model file (torch could not read it safely: "
            f"{type(exc).__name__}). Save models with relaywidgets.save(model, path)."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ModelFileError(
            f"{str(path)!r} is not a relaywidgets model file (no {MODEL_FORMAT!r} marker). "
            "Save models with relaywidgets.save(model, path)."
        )
    config = json.loads(payload["config"])
    model = RecurrentClassifier(
        config["arch"], config["input_size"], config["hidden_size"], config["num_classes"], config["num_layers"], device="cpu"
    )
    model.load_state_dict(payload["state_dict"])
    model.metadata.update(config.get("metadata", {}))
    from .models import resolve_device

    model.to(resolve_device(device))
    model.eval()
    return model
