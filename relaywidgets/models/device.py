"""Choosing the torch device: ``"auto"`` means CUDA when available, else the CPU."""

from __future__ import annotations

import torch

from ..errors import InputError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Return the torch device for ``device`` ("auto", "cpu", "cuda", "cuda:1" or a torch.device).

    Raises
    ------
    InputError
        When CUDA is asked for but not available, or the name is not a device.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"The 'device' parameter must be 'auto', 'cpu', 'cuda' or a torch.device. Got {device!r} instead.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device='cuda' was asked for but no CUDA GPU is available here; use device='auto' or 'cpu'.")
    return dev
