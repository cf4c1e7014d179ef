"""Array backends for discrete state counting: numpy (default) and torch (CPU or CUDA).

A backend supplies the few primitives :mod:`relaywidgets.info.counting` needs: pack columns of small
integer codes into one integer per sample, re-densify integer keys, and count with ``bincount``.
Counts come back as numpy arrays, so entropies are computed by the same numpy code on every backend
and the two backends give the same numbers. torch is imported only when its backend is requested.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["NumpyBackend", "TorchBackend", "get_backend", "BACKENDS"]

BACKENDS = ("numpy", "torch")

# Below this many possible keys, densifying goes through a presence table (bincount) instead of a sort.
_TABLE_LIMIT_FACTOR = 4
_TABLE_LIMIT_MIN = 1 << 16


def _table_limit(n_samples: int) -> int:
    """Largest number of possible keys that is densified or counted through a table."""
    return max(_TABLE_LIMIT_FACTOR * n_samples, _TABLE_LIMIT_MIN)


class NumpyBackend:
    """Counting primitives on numpy arrays."""

    name = "numpy"
    device = None

    def asarray(self, x: Any) -> np.ndarray:
        if hasattr(x, "detach") and hasattr(x, "cpu"):
            x = x.detach().cpu().numpy()
        return np.asarray(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def zeros(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def column_min_max(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.min(axis=0).astype(np.int64), x.max(axis=0).astype(np.int64)

    def column(self, x: np.ndarray, j: int, offset: int) -> np.ndarray:
        col = x[:, j].astype(np.int64)
        return col - offset if offset else col

    def pack(self, x: np.ndarray, cols: list[int], offsets: list[int], shifts: list[int]) -> np.ndarray:
        """One int64 key per row: sum of (x[:, c] - offset) << shift over ``cols``."""
        sub = x[:, cols].astype(np.int64)
        sub -= np.asarray(offsets, dtype=np.int64)
        sub <<= np.asarray(shifts, dtype=np.int64)
        return sub.sum(axis=1)

    def global_min_max(self, x: np.ndarray) -> tuple[int, int]:
        return int(x.min()), int(x.max())

    def pack_binary(self, x: np.ndarray) -> list[np.ndarray]:
        """Pack rows of 0/1 codes into uint64 words with ``np.packbits`` (8 codes per byte)."""
        bits = x.view(np.uint8) if x.dtype.itemsize == 1 else x.astype(np.uint8)
        packed = np.packbits(bits, axis=1)
        pad = (-packed.shape[1]) % 8
        if pad:
            packed = np.concatenate([packed, np.zeros((packed.shape[0], pad), np.uint8)], axis=1)
        words = np.ascontiguousarray(packed).view(np.uint64)
        return [words[:, i] for i in range(words.shape[1])]

    def densify(self, key: np.ndarray, n_possible: float | None = None) -> tuple[np.ndarray, int]:
        """Map keys to dense codes 0..n_states-1 (every code occurs)."""
        n = key.shape[0]
        if n == 0:
            return np.zeros(0, np.int64), 0
        if n_possible is not None and n_possible <= _table_limit(n) and key.dtype.kind == "i":
            present = np.bincount(key, minlength=int(n_possible)) > 0
            remap = np.cumsum(present) - 1
            return remap[key], int(remap[-1]) + 1
        uniq, inverse = np.unique(key, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64, copy=False), int(uniq.shape[0])

    def combine(self, a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
        return a * n_b + b

    def bincount(self, x: np.ndarray, n: int) -> np.ndarray:
        return np.bincount(x, minlength=n)


class TorchBackend:
    """Counting primitives on torch tensors (CPU or CUDA)."""

    name = "torch"
    #: On the CPU, pack with numpy on a zero-copy view (faster than torch's CPU integer kernels).
    #: Tests switch it off to run the accelerator code path on the CPU.
    numpy_on_cpu = True

    def __init__(self, device: Any = None) -> None:
        try:
            import torch
        except ImportError as err:  # pragma: no cover - torch is a dependency of the package
            raise InputError(
                "The 'torch' backend needs PyTorch. Install it (pip install torch) or use "
                "backend='numpy'."
            ) from err
        self._torch = torch
        try:
            self.device = torch.device(device if device is not None else "cpu")
        except (RuntimeError, TypeError) as err:
            raise InputError(
                f"The 'device' parameter must name a torch device such as 'cpu' or 'cuda'. "
                f"Got {device!r} instead."
            ) from err
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(
                f"device={device!r} was requested but CUDA is not available on this machine. "
                "Use device='cpu' or backend='numpy'."
            )

    def asarray(self, x: Any) -> Any:
        torch = self._torch
        if isinstance(x, torch.Tensor):
            t = x
        else:
            arr = np.asarray(x)
            if arr.dtype.kind == "b":
                arr = arr.astype(np.uint8)
            t = torch.from_numpy(np.ascontiguousarray(arr))
        if t.dtype == torch.bool:
            t = t.to(torch.uint8)
        return t.to(self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def zeros(self, n: int) -> Any:
        return self._torch.zeros(n, dtype=self._torch.int64, device=self.device)

    def column_min_max(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        t = x.to(self._torch.int64)
        mn = t.amin(dim=0).cpu().numpy().astype(np.int64)
        mx = t.amax(dim=0).cpu().numpy().astype(np.int64)
        return mn, mx

    def column(self, x: Any, j: int, offset: int) -> Any:
        col = x[:, j].to(self._torch.int64)
        return col - offset if offset else col

    def pack(self, x: Any, cols: list[int], offsets: list[int], shifts: list[int]) -> Any:
        torch = self._torch
        idx = torch.as_tensor(cols, dtype=torch.int64, device=self.device)
        sub = x.index_select(1, idx).to(torch.int64)
        sub = sub - torch.as_tensor(offsets, dtype=torch.int64, device=self.device)
        sub = torch.bitwise_left_shift(sub, torch.as_tensor(shifts, dtype=torch.int64, device=self.device))
        return sub.sum(dim=1)

    def global_min_max(self, x: Any) -> tuple[int, int]:
        if self.device.type == "cpu" and self.numpy_on_cpu:
            return _NUMPY.global_min_max(x.numpy())
        lo, hi = self._torch.aminmax(x)
        return int(lo), int(hi)

    def pack_binary(self, x: Any) -> list[Any]:
        """Pack rows of 0/1 codes into int64 words, 8 codes per byte (like ``np.packbits``)."""
        torch = self._torch
        if self.device.type == "cpu" and self.numpy_on_cpu:
            # torch's CPU integer kernels are slow for this; numpy packs a zero-copy view.
            return [torch.from_numpy(w.view(np.int64)) for w in _NUMPY.pack_binary(x.numpy())]
        n, v = x.shape
        bits = x.to(torch.uint8)
        pad = (-v) % 64
        if pad:
            bits = torch.nn.functional.pad(bits, (0, pad))
        weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=self.device)
        packed = (bits.view(n, -1, 8) * weights).sum(dim=2, dtype=torch.uint8)
        words = packed.contiguous().view(torch.int64)  # reinterpret 8 bytes as one int64
        return [words[:, i] for i in range(words.shape[1])]

    def densify(self, key: Any, n_possible: float | None = None) -> tuple[Any, int]:
        torch = self._torch
        if key.shape[0] == 0:
            return torch.zeros(0, dtype=torch.int64, device=self.device), 0
        uniq, inverse = torch.unique(key, sorted=True, return_inverse=True)
        return inverse.to(torch.int64), int(uniq.shape[0])

    def combine(self, a: Any, b: Any, n_b: int) -> Any:
        return a * n_b + b

    def bincount(self, x: Any, n: int) -> np.ndarray:
        return self._torch.bincount(x, minlength=n).cpu().numpy()


_NUMPY = NumpyBackend()


def get_backend(backend: Any = "numpy", device: Any = None) -> NumpyBackend | TorchBackend:
    """Return a counting backend by name (``"numpy"`` or ``"torch"``), or pass one through.

    Parameters
    ----------
    backend : {"numpy", "torch"} or backend object
        Where discrete states are packed and counted.
    device : str or torch.device, optional
        Torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``); only for ``backend="torch"``.
    """
    if isinstance(backend, (NumpyBackend, TorchBackend)):
        return backend
    if backend == "numpy":
        if device is not None and str(device) != "cpu":
            raise InputError(
                f"The 'device' parameter is only used with backend='torch'; got device={device!r} "
                "with backend='numpy'. Pass backend='torch' to count on that device."
            )
        return NumpyBackend()
    if backend == "torch":
        return TorchBackend(device)
    listed = ", ".join(repr(b) for b in BACKENDS)
    raise InputError(f"The 'backend' parameter must be one of {listed}. Got {backend!r} instead.")
