"""Array backends, numpy (default) and torch (CPU or CUDA), and the one vocabulary that picks them.

A backend supplies the primitives that discrete state counting (:mod:`relaywidgets.info.counting`),
the discrete estimators' count hooks and the greedy relay search (:mod:`relaywidgets.relay`) run
on: packing codes into keys, re-densifying keys, ``bincount``, table look-ups and a few element-wise
operations. Code written once against these methods runs the same algorithm, step for step, on
numpy and on torch, and gives the same numbers. torch is imported only when a torch backend is
requested (or ``"auto"`` asks whether a GPU is there); the numpy path never imports it.

Vocabulary (the same for ``relaywidgets.info`` and ``relaywidgets.relay``, resolved by
:func:`get_backend`):

- ``backend``: ``"numpy"``, ``"torch"``, ``"auto"`` (torch on CUDA when torch is installed and a GPU
  is visible, numpy otherwise), a backend object, or None (decided by ``device``);
- ``device``: None, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device`` (where torch runs), or
  the two words ``"numpy"`` and ``"auto"``, which name a backend (``device="numpy"`` is
  ``backend="numpy"``; ``find_relays`` has always been called with ``device="auto"`` / ``"numpy"``).
"""

from __future__ import annotations

import importlib.util
from typing import Any, Union

import numpy as np

from ..errors import InputError

__all__ = ["NumpyBackend", "TorchBackend", "Backend", "get_backend", "BACKENDS", "DEVICE_WORDS"]

#: Accepted values of the ``backend`` parameter (besides None and a backend object).
BACKENDS = ("numpy", "torch", "auto")
#: ``device`` values that name a backend rather than a torch device.
DEVICE_WORDS = ("numpy", "auto")

# Below this many possible keys, densifying goes through a presence table (bincount) instead of a sort.
_TABLE_LIMIT_FACTOR = 4
_TABLE_LIMIT_MIN = 1 << 16

try:  # the C kernel behind scipy's sparse (CSC) x dense product, without the wrapper's checks
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
except ImportError:  # pragma: no cover - other scipy layouts fall back to the public API
    _csc_matvecs = None


def _table_limit(n_samples: int) -> int:
    """Largest number of possible keys that is densified or counted through a table."""
    return max(_TABLE_LIMIT_FACTOR * n_samples, _TABLE_LIMIT_MIN)


def _klogk_table(size: int) -> np.ndarray:
    """``k * log2(k)`` for k = 0 .. size - 1 (0 at k = 0)."""
    k = np.arange(size, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, k * np.log2(np.maximum(k, 1.0)), 0.0)


class NumpyBackend:
    """Array primitives on numpy arrays (the default)."""

    name = "numpy"
    device = None

    def __init__(self) -> None:
        self._klogk = np.zeros(1)

    def __repr__(self) -> str:
        return "NumpyBackend()"

    @property
    def label(self) -> str:
        """Where the backend runs, as recorded in results: ``"numpy"``."""
        return "numpy"

    # ------------------------------------------------------------------ conversion
    def asarray(self, x: Any, dtype: Any = None) -> np.ndarray:
        if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
            x = x.detach().cpu().numpy()
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def zeros(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int64)

    def astype(self, x: np.ndarray, dtype: Any) -> np.ndarray:
        return x.astype(dtype, copy=False)

    def to_float(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64, copy=False)

    def table(self, values: np.ndarray) -> np.ndarray:
        """A numpy look-up table (or float vector) as an array of this backend."""
        return values

    # ------------------------------------------------------------------ packing and counting
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
        """Dense codes ``0 .. n_states - 1`` of an integer ``key`` (order-preserving; every code occurs)."""
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
        """Counts of ``0 .. n - 1`` (at least ``n`` entries) of the flattened ``x``."""
        return np.bincount(x.ravel(), minlength=n)

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

    # ------------------------------------------------------------------ element-wise
    def klogk(self, counts: np.ndarray, top: int | None = None) -> np.ndarray:
        """``k * log2(k)`` of integer counts through a cached table (0 for k = 0).

        ``top`` is an upper bound of the counts (e.g. the number of samples), saving a pass over them.
        """
        if top is None:
            top = int(counts.max()) if counts.size else 0
        if self._klogk.size <= top:
            self._klogk = self.table(_klogk_table(max(top + 1, 2 * self._klogk.size)))
        return self.take(self._klogk, counts)

    def take(self, table: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.take(table, idx)

    def log2(self, x: np.ndarray) -> np.ndarray:
        return np.log2(x)

    def concat(self, arrays: list[Any], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def where(self, cond: np.ndarray, a: Any, b: Any) -> np.ndarray:
        return np.where(cond, a, b)

    def clip(self, x: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.clip(x, low, high)


class TorchBackend:
    """Array primitives on torch tensors (CPU or CUDA)."""

    name = "torch"
    #: On the CPU, pack with numpy on a zero-copy view (faster than torch's CPU integer kernels).
    #: Tests switch it off to run the accelerator code path on the CPU.
    numpy_on_cpu = True

    def __init__(self, device: Any = None) -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device if device is not None else "cpu")
        self._klogk: Any = None
        self._klogk_size = 0

    def __repr__(self) -> str:
        return f"TorchBackend({str(self.device)!r})"

    @property
    def label(self) -> str:
        """Where the backend runs, as recorded in results: the torch device (``"cpu"``, ``"cuda:0"``)."""
        return str(self.device)

    # ------------------------------------------------------------------ conversion
    def asarray(self, x: Any, dtype: Any = None) -> Any:
        torch = self._torch
        if isinstance(x, torch.Tensor):
            t = x
        else:
            arr = np.asarray(x)
            if arr.dtype.kind == "b" and dtype is None:
                arr = arr.astype(np.uint8)
            t = torch.from_numpy(np.ascontiguousarray(arr))
        if t.dtype == torch.bool and dtype is None:
            t = t.to(torch.uint8)  # integer kernels (bincount, shifts) do not take bool
        t = t.to(self.device)
        return t if dtype is None else t.to(self._dtype(dtype))

    def _dtype(self, dtype: Any) -> Any:
        torch = self._torch
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
        if isinstance(x, self._torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def zeros(self, n: int) -> Any:
        return self._torch.zeros(n, dtype=self._torch.int64, device=self.device)

    def arange(self, n: int) -> Any:
        return self._torch.arange(n, dtype=self._torch.int64, device=self.device)

    def astype(self, x: Any, dtype: Any) -> Any:
        return x.to(self._dtype(dtype))

    def to_float(self, x: Any) -> Any:
        return x.to(self._torch.float64)

    def table(self, values: np.ndarray) -> Any:
        return self._torch.as_tensor(values, device=self.device)

    # ------------------------------------------------------------------ packing and counting
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
        if key.numel() == 0:
            return torch.zeros(0, dtype=torch.int64, device=self.device), 0
        uniq, inverse = torch.unique(key, sorted=True, return_inverse=True)
        return inverse.to(torch.int64), int(uniq.numel())

    def combine(self, a: Any, b: Any, n_b: int) -> Any:
        return a * n_b + b

    def bincount(self, x: Any, n: int) -> Any:
        """Counts of ``0 .. n - 1`` (a tensor on this device) of the flattened ``x``."""
        return self._torch.bincount(x.reshape(-1).to(self._torch.int64), minlength=n)

    def group_sums(self, key: Any, n_keys: int, rows: Any) -> Any:
        out = self._torch.zeros((n_keys, rows.shape[1]), dtype=rows.dtype, device=self.device)
        return out.index_add_(0, key.to(self._torch.int64), rows)

    # ------------------------------------------------------------------ element-wise
    def klogk(self, counts: Any, top: int | None = None) -> Any:
        """``k * log2(k)`` of integer counts through a cached table (0 for k = 0); ``top`` bounds them."""
        if top is None:
            top = int(counts.max()) if counts.numel() else 0
        if self._klogk_size <= top:
            self._klogk_size = max(top + 1, 2 * self._klogk_size, 2)
            self._klogk = self.table(_klogk_table(self._klogk_size))
        return self.take(self._klogk, counts)

    def take(self, table: Any, idx: Any) -> Any:
        return table[idx.to(self._torch.int64)]

    def log2(self, x: Any) -> Any:
        return self._torch.log2(x)

    def concat(self, arrays: list[Any], axis: int) -> Any:
        return self._torch.cat(arrays, dim=axis)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        torch = self._torch
        a = a if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=torch.float64, device=self.device)
        b = b if isinstance(b, torch.Tensor) else torch.tensor(b, dtype=torch.float64, device=self.device)
        return torch.where(cond, a, b)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self._torch.clamp(x, low, high)


#: Either backend; code in ``info`` and ``relay`` is written against their common methods.
Backend = Union[NumpyBackend, TorchBackend]

_NUMPY = NumpyBackend()


def _torch_or_error(device: Any) -> Any:
    if importlib.util.find_spec("torch") is None:
        raise InputError(
            f"device={device!r} runs on torch, which is not installed. Use backend='numpy' "
            "(device='numpy'), or install torch (pip install torch)."
        )
    import torch

    return torch


def _torch_backend(device: Any, of: str) -> TorchBackend:
    torch = _torch_or_error(device)
    try:
        dev = torch.device(device if device is not None else "cpu")
    except (RuntimeError, TypeError):
        raise InputError(
            f"The 'device' parameter{of} must be 'auto', 'numpy', 'cpu', 'cuda', 'cuda:N' or a "
            f"torch.device. Got {device!r} instead."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device={device!r} was requested but no CUDA GPU is available here; use device='cpu', "
            "'auto' or 'numpy'."
        )
    return TorchBackend(dev)


def _auto() -> Backend:
    """torch on CUDA when torch is installed and a GPU is visible, numpy otherwise."""
    if importlib.util.find_spec("torch") is None:
        return _NUMPY
    try:
        import torch
    except ImportError:  # present but not importable (a broken install, or blocked in tests)
        return _NUMPY
    return TorchBackend("cuda") if torch.cuda.is_available() else _NUMPY


def get_backend(backend: Any = None, device: Any = None, *, owner: str | None = None) -> Backend:
    """Resolve the ``backend`` and ``device`` parameters to a backend object.

    Parameters
    ----------
    backend : {"numpy", "torch", "auto"}, backend object or None
        Which array library counts. None: decided by ``device`` (numpy when ``device`` is None too).
        ``"auto"``: torch on CUDA when torch is installed and a GPU is visible, numpy otherwise.
        A backend object is passed through.
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``: where torch runs (with
        ``backend=None`` this selects torch). ``"numpy"`` and ``"auto"`` name a backend instead
        (the spelling ``find_relays(device=...)`` has always used). With ``backend="numpy"`` only
        None, ``"cpu"``, ``"numpy"`` and ``"auto"`` are accepted.
    owner : str, optional
        The public function whose parameters these are, named in error messages.

    Returns
    -------
    NumpyBackend or TorchBackend
        ``.name`` is ``"numpy"`` or ``"torch"``; ``.label`` says where it runs (``"numpy"``,
        ``"cpu"``, ``"cuda:0"``).

    Examples
    --------
    >>> from relaywidgets.info.backends import get_backend
    >>> get_backend().name, get_backend(device="numpy").label
    ('numpy', 'numpy')
    """
    of = f" of {owner}" if owner else ""
    if isinstance(backend, (NumpyBackend, TorchBackend)):
        return backend
    if not (backend is None or (isinstance(backend, str) and backend in BACKENDS)):
        listed = ", ".join(repr(b) for b in BACKENDS)
        raise InputError(f"The 'backend' parameter{of} must be one of {listed}. Got {backend!r} instead.")
    word = device if isinstance(device, str) and device in DEVICE_WORDS else None
    if backend is None:
        backend = word or ("numpy" if device is None else "torch")
    if backend == "numpy":
        if device is None or word is not None or str(device) == "cpu":
            return _NUMPY
        raise InputError(
            f"The 'device' parameter{of} is only used with backend='torch'; got device={device!r} "
            "with backend='numpy'. Pass backend='torch' to count on that device."
        )
    if backend == "auto":
        if device is None or word == "auto":
            return _auto()
        if word == "numpy":
            return _NUMPY
        return _torch_backend(device, of)
    # backend == "torch"
    if word == "numpy":
        raise InputError(
            f"device='numpy' contradicts backend='torch'{of}. Pass a torch device ('cpu', 'cuda') "
            "or backend='numpy'."
        )
    if word == "auto":
        torch = _torch_or_error(device)
        return TorchBackend("cuda" if torch.cuda.is_available() else "cpu")
    return _torch_backend(device, of)
