"""The few array primitives the greedy relay search runs on, for numpy and for torch (CPU or CUDA).

The search in :mod:`relaywidgets.relay._greedy` is written once against these methods, so the numpy
and torch paths execute the same algorithm step for step and give the same numbers.
torch is imported only when a torch device is requested.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from ..errors import InputError
from ..info.backends import NumpyBackend

_NUMPY_COUNTING = NumpyBackend()

__all__ = ["NumpyOps", "TorchOps", "resolve_ops"]

try:  # the C kernel behind scipy's sparse (CSC) x dense product, without the wrapper's checks
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
except ImportError:  # pragma: no cover - other scipy layouts fall back to the public API
    _csc_matvecs = None


class NumpyOps:
    """Array primitives on numpy arrays (the default path)."""

    name = "numpy"
    device = "numpy"

    def asarray(self, x: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int64)

    def astype(self, x: np.ndarray, dtype: Any) -> np.ndarray:
        return x.astype(dtype, copy=False)

    def bincount(self, x: np.ndarray, n: int) -> np.ndarray:
        return np.bincount(x.ravel(), minlength=n)

    def densify(self, key: np.ndarray, bound: int | None = None) -> tuple[np.ndarray, int]:
        """Dense codes ``0 .. n-1`` of an integer ``key`` (order-preserving) and their number ``n``."""
        return _NUMPY_COUNTING.densify(key, bound)

    def take(self, table: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.take(table, idx)

    def table(self, values: np.ndarray) -> np.ndarray:
        return values

    def log2(self, x: np.ndarray) -> np.ndarray:
        return np.log2(x)

    def group_sums(self, key: np.ndarray, n_keys: int, rows: np.ndarray) -> np.ndarray:
        """``out[k] = sum of rows[s] over samples s with key[s] == k``, shape (n_keys, columns).

        A sparse one-hot (key x sample) matrix times ``rows``: one pass of row additions in C,
        several times faster than a bincount over (sample, column) keys.
        """
        n, m = rows.shape
        if _csc_matvecs is not None and rows.dtype == np.float32:
            rows = np.ascontiguousarray(rows)
            out = np.zeros((n_keys, m), dtype=np.float32)
            idx = key.astype(np.int64 if n_keys >= 2**31 - 1 else np.int32, copy=False)
            ptr = np.arange(n + 1, dtype=idx.dtype)
            _csc_matvecs(n_keys, n, m, ptr, idx, np.ones(n, np.float32), rows.ravel(), out.ravel())
            return out
        from scipy import sparse

        onehot = sparse.csc_matrix(
            (np.ones(n, dtype=rows.dtype), key.astype(np.int64, copy=False), np.arange(n + 1)),
            shape=(n_keys, n),
        )
        return np.asarray(onehot @ rows)

    def concat(self, arrays: list[Any], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def where(self, cond: np.ndarray, a: Any, b: Any) -> np.ndarray:
        return np.where(cond, a, b)

    def clip(self, x: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.clip(x, low, high)

    def to_float(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64, copy=False)


class TorchOps:
    """Array primitives on torch tensors; used for ``device="cuda"`` (or ``"cpu"`` to test the path)."""

    name = "torch"

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        torch = self.torch
        if isinstance(x, torch.Tensor):
            t = x.to(self.device)
        else:
            t = torch.as_tensor(np.ascontiguousarray(x), device=self.device)
        if dtype is not None:
            t = t.to(self._dtype(dtype))
        return t

    def _dtype(self, dtype: Any) -> Any:
        torch = self.torch
        if isinstance(dtype, torch.dtype):
            return dtype
        return {
            np.dtype(np.int64): torch.int64,
            np.dtype(np.int32): torch.int32,
            np.dtype(np.int8): torch.int8,
            np.dtype(np.float64): torch.float64,
            np.dtype(np.float32): torch.float32,
            np.dtype(np.bool_): torch.bool,
        }[np.dtype(dtype)]

    def to_numpy(self, x: Any) -> np.ndarray:
        if isinstance(x, self.torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, dtype=self.torch.int64, device=self.device)

    def empty_int(self) -> Any:
        return self.torch.zeros(0, dtype=self.torch.int64, device=self.device)

    def astype(self, x: Any, dtype: Any) -> Any:
        return x.to(self._dtype(dtype))

    def bincount(self, x: Any, n: int) -> Any:
        return self.torch.bincount(x.reshape(-1).to(self.torch.int64), minlength=n)

    def densify(self, key: Any, bound: int | None = None) -> tuple[Any, int]:
        if key.numel() == 0:
            return self.empty_int(), 0
        uniq, inverse = self.torch.unique(key, sorted=True, return_inverse=True)
        return inverse.to(self.torch.int64), int(uniq.numel())

    def take(self, table: Any, idx: Any) -> Any:
        return table[idx.to(self.torch.int64)]

    def table(self, values: np.ndarray) -> Any:
        return self.torch.as_tensor(values, device=self.device)

    def log2(self, x: Any) -> Any:
        return self.torch.log2(x)

    def group_sums(self, key: Any, n_keys: int, rows: Any) -> Any:
        out = self.torch.zeros((n_keys, rows.shape[1]), dtype=rows.dtype, device=self.device)
        return out.index_add_(0, key.to(self.torch.int64), rows)

    def concat(self, arrays: list[Any], axis: int) -> Any:
        return self.torch.cat(arrays, dim=axis)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        torch = self.torch
        a = a if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=torch.float64, device=self.device)
        b = b if isinstance(b, torch.Tensor) else torch.tensor(b, dtype=torch.float64, device=self.device)
        return torch.where(cond, a, b)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.torch.clamp(x, low, high)

    def to_float(self, x: Any) -> Any:
        return x.to(self.torch.float64)


def resolve_ops(device: Any = "auto") -> NumpyOps | TorchOps:
    """Pick the backend of the discrete search from the ``device`` parameter.

    ``"auto"``: torch on CUDA when torch is installed and a GPU is visible, numpy otherwise;
    ``"numpy"``: numpy; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``: torch on that device.
    """
    if device is None or (isinstance(device, str) and device in ("auto", "numpy")):
        if device == "numpy" or importlib.util.find_spec("torch") is None:
            return NumpyOps()
        import torch

        return TorchOps("cuda") if torch.cuda.is_available() else NumpyOps()
    if importlib.util.find_spec("torch") is None:
        raise InputError(
            f"device={device!r} runs the search on torch, which is not installed. "
            "Use device='numpy' (or 'auto'), or install torch."
        )
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(
            "The 'device' parameter of find_relays must be 'auto', 'numpy', 'cpu', 'cuda', 'cuda:N' or a "
            f"torch.device. Got {device!r} instead."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device={device!r} was requested but no CUDA GPU is available here; use device='auto' or 'numpy'."
        )
    return TorchOps(dev)
