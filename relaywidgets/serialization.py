"""Saving and loading models: a state_dict plus a JSON config, loaded without unpickling objects.

Files are written atomically (:func:`relaywidgets._files.atomic_write`) and carry a SHA-256 of their weights,
checked on load, so a half-written, corrupted or hand-edited file is refused with a :class:`ModelFileError`
that says what is wrong instead of loading a different network.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import torch

from ._files import atomic_write, content_digest
from ._version import __version__
from .errors import ModelFileError, RelaywidgetsError
from .models import RecurrentClassifier

__all__ = ["save", "load", "MODEL_FORMAT"]

MODEL_FORMAT = "relaywidgets-model/1"
_CONFIG_KEYS = ("arch", "input_size", "hidden_size", "num_classes", "num_layers")


def _weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the weights (names, dtypes, shapes, bytes), stored in the config as ``sha256``."""
    items = []
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        # raw bytes through a uint8 view: works for every dtype, bfloat16 included
        items.append((f"{name}:{t.dtype}", t.reshape(-1).view(torch.uint8).numpy().reshape(-1)))
        items.append((f"{name}:shape", torch.tensor(t.shape, dtype=torch.int64).numpy()))
    return content_digest(items)


def _non_finite(state_dict: dict[str, torch.Tensor]) -> list[str]:
    return [
        name for name, t in state_dict.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def save(model: RecurrentClassifier, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` (one file: weights and a JSON config), atomically.

    The file holds only tensors and strings, so :func:`load` can read it with
    ``torch.load(weights_only=True)``, which never unpickles arbitrary objects. The config stores a SHA-256
    of the weights, which :func:`load` checks. The file is written under a unique temporary name beside
    ``path`` and moved into place when complete, so concurrent saves to one path never mix and a failed save
    (disk full, permission) leaves any existing file untouched and no temporary file behind. Missing parent
    directories are created.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ModelFileError
        When ``model`` is not a RecurrentClassifier, holds NaN or infinite weights, or the file cannot be
        written (the message names the cause: disk full, permission denied, a directory at ``path``, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from relaywidgets import RecurrentClassifier, load
    >>> path = save(RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=0), pathlib.Path(tempfile.mkdtemp()) / "m.pt")
    >>> load(path, device="cpu").hidden_size
    4
    """
    if not isinstance(model, RecurrentClassifier):
        raise ModelFileError(f"save() writes RecurrentClassifier models; got {type(model).__name__}.")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    bad = _non_finite(state)
    if bad:
        raise ModelFileError(
            f"The model holds NaN or infinite weights in {', '.join(bad)}; such a file could not be loaded. "
            "Retrain it (e.g. with a smaller lr or clip_grad) before saving."
        )
    config = {**model.config(), "relaywidgets_version": __version__, "sha256": _weights_digest(state)}
    payload = {"format": MODEL_FORMAT, "config": json.dumps(config), "state_dict": state}
    # Serialised in memory first (models are small): the file is then written with plain writes, so a full
    # disk is an ordinary OSError that atomic_write translates, never a half-written zip from torch.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    return atomic_write(path, lambda fh: fh.write(data), error=ModelFileError, what="model")


def _read_config(payload: dict, where: str) -> dict[str, Any]:
    if "config" not in payload or "state_dict" not in payload:
        missing = [k for k in ("config", "state_dict") if k not in payload]
        raise ModelFileError(f"{where} lacks the {' and '.join(repr(k) for k in missing)} entry; it is damaged. Save the model again.")
    if not isinstance(payload["config"], str):
        raise ModelFileError(f"{where} has a config of type {type(payload['config']).__name__}; it must be a JSON string.")
    try:
        config = json.loads(payload["config"])
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{where} has a config that is not valid JSON ({exc}); it is damaged or was edited by hand.") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{where} has a config that is not a JSON object; it is damaged or was edited by hand.")
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        raise ModelFileError(
            f"{where} has a config without {', '.join(repr(k) for k in missing)}; it needs {', '.join(_CONFIG_KEYS)}."
        )
    if not isinstance(config.get("metadata", {}), dict):
        raise ModelFileError(f"{where} has a 'metadata' entry that is not a JSON object.")
    return config


def load(path: str | os.PathLike, *, device: str | torch.device = "auto") -> RecurrentClassifier:
    """Load a model written by :func:`save`.

    The weights are checked against the SHA-256 stored at save time (files written before checksums existed
    load without this check) and must be finite.

    Raises
    ------
    ModelFileError
        When the file is missing, is not a relaywidgets model, is corrupted (checksum mismatch), holds NaN or
        infinite weights, or was edited into an inconsistent state (bad JSON, missing keys, wrong shapes).
    """
    path = Path(path)
    where = f"The model file {str(path)!r}"
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
    config = _read_config(payload, where)
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{where} has a 'state_dict' that is not a mapping of names to tensors; it is damaged.")
    expected = config.get("sha256")
    if expected is not None and _weights_digest(state) != expected:
        raise ModelFileError(
            f"{where} is corrupted: its weights do not match the SHA-256 checksum stored when it was saved. "
            "Restore it from a backup or save the model again."
        )
    bad = _non_finite(state)
    if bad:
        raise ModelFileError(
            f"{where} holds NaN or infinite weights in {', '.join(bad)}; every prediction would be meaningless. "
            "Retrain the model (e.g. with a smaller lr or clip_grad) and save it again."
        )
    try:
        model = RecurrentClassifier(
            config["arch"], config["input_size"], config["hidden_size"], config["num_classes"], config["num_layers"],
            device="cpu",
        )
    except RelaywidgetsError as exc:
        raise ModelFileError(f"{where} has an unusable config: {exc}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        # torch lists missing/unexpected keys and shape mismatches; keep its first lines, which name them
        detail = " ".join(str(exc).split())[:400]
        raise ModelFileError(
            f"{where} holds weights that do not fit its config ({config['arch']}, input_size={config['input_size']}, "
            f"hidden_size={config['hidden_size']}, num_classes={config['num_classes']}, "
            f"num_layers={config['num_layers']}): {detail}"
        ) from None
    model.metadata.update(config.get("metadata", {}))
    from .models import resolve_device

    model.to(resolve_device(device))
    model.eval()
    return model
