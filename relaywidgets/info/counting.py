"""Joint state codes and counts of discrete variables, without Python loops over samples.

A set of discrete nodes is one joint variable. :func:`joint_codes` packs the columns of an integer
code matrix into one integer per sample (bits of binary columns go through ``np.packbits``; wider
columns are shifted into 62-bit words) and re-densifies the result, so a joint variable of any
number of nodes becomes a vector of codes ``0 .. n_states - 1`` with ``n_states <= n_samples``.
Joint variables combine with ``code_ab = code_a * n_b + code_b`` and are counted with one
``bincount``; entropies come from the counts through a sum of ``k log2 k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import is_int
from ..errors import InputError
from .backends import _table_limit, get_backend

__all__ = [
    "joint_codes",
    "combine_codes",
    "count_states",
    "entropy_from_counts",
    "column_alphabet_log2",
    "SubsetCounter",
]

_WORD_BITS = 62
# Below this many binary columns the compact shift-packing (which allows table densification) wins.
_PACKBITS_MIN_COLUMNS = 16


def joint_codes(codes: Any, *, backend: Any = "numpy", device: Any = None) -> tuple[Any, int]:
    """Pack the columns of an integer code matrix into one dense joint code per sample.

    Parameters
    ----------
    codes : array-like of int or bool, shape (sample,) or (sample, variable)
        State codes; any integers (negative ones too). Each distinct row is one joint state.
        A torch tensor is accepted with ``backend="torch"``.
    backend, device : optional
        Where to pack and count: ``backend="numpy"`` (default) or ``"torch"`` with a ``device``
        (``"cpu"``, ``"cuda"``); the vocabulary of :func:`relaywidgets.info.backends.get_backend`.

    Returns
    -------
    dense : array of int64, shape (sample,)
        Joint state of each sample, in ``0 .. n_states - 1``; every value occurs. A numpy array, or a
        torch tensor on ``device`` for the torch backend. Equal rows get equal codes.
    n_states : int
        Number of distinct rows, at most the number of samples (1 when there are no columns).

    Examples
    --------
    >>> import numpy as np
    >>> from relaywidgets.info import joint_codes
    >>> dense, n = joint_codes(np.array([[0, 1], [1, 1], [0, 1]]))
    >>> n, dense.tolist()
    (2, [0, 1, 0])
    """
    be = get_backend(backend, device)
    x = be.asarray(codes)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputError(
            f"joint_codes needs a 1-D or 2-D code array (sample, variable), got {x.ndim} dimensions. "
            "Reshape it to (sample, -1) first."
        )
    if _dtype_kind(x) not in "biu":
        raise InputError(
            f"joint_codes needs integer or bool state codes, got dtype {x.dtype}. Coarse-grain "
            "continuous values first with relaywidgets.info.discretize()."
        )
    n, v = x.shape
    if n == 0:
        return be.zeros(0), 0
    if v == 0:
        return be.zeros(n), 1
    lo, hi = be.global_min_max(x)
    if lo >= 0 and hi <= 1 and v >= _PACKBITS_MIN_COLUMNS:
        # All codes are bits: pack whole rows (a constant column adds the same bit to every row,
        # which leaves the partition into joint states unchanged).
        keys = [(w, None) for w in be.pack_binary(x)]
        return _reduce_keys(be, keys)
    mn, mx = be.column_min_max(x)
    span = mx.astype(np.uint64) - mn.astype(np.uint64)  # wraps correctly for any int64 range
    cols = np.flatnonzero(span > 0)
    if cols.size == 0:
        return be.zeros(n), 1
    bits = np.array([int(s).bit_length() for s in span[cols]])
    bits_of = dict(zip(cols.tolist(), bits.tolist()))

    keys: list[tuple[Any, float | None]] = []
    for j in cols[bits > _WORD_BITS]:  # loops over columns, never samples
        keys.append((be.column(x, int(j), 0), None))
    narrow = bits <= _WORD_BITS
    group: list[int] = []
    used = 0
    for j, b in zip(cols[narrow], bits[narrow]):
        if used + b > _WORD_BITS:
            keys.append(_packed_key(be, x, group, mn, bits_of))
            group, used = [], 0
        group.append(int(j))
        used += int(b)
    if group:
        keys.append(_packed_key(be, x, group, mn, bits_of))

    return _reduce_keys(be, keys)


def _reduce_keys(be: Any, keys: list[tuple[Any, float | None]]) -> tuple[Any, int]:
    """Dense joint code of several integer keys (each with its number of possible values or None)."""
    dense, n_states = be.densify(*keys[0])
    for key, n_possible in keys[1:]:
        d, nd = be.densify(key, n_possible)
        dense, n_states = be.densify(be.combine(dense, d, nd), float(n_states) * nd)
    return dense, n_states


def _dtype_kind(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return x.dtype.kind
    if x.dtype.is_floating_point or x.dtype.is_complex:  # torch tensor
        return "f"
    return "i"


def _packed_key(be: Any, x: Any, group: list[int], mn: np.ndarray, bits_of: dict) -> tuple[Any, float]:
    shifts, total = [], 0
    for j in group:
        shifts.append(total)
        total += int(bits_of[j])
    key = be.pack(x, group, [int(mn[j]) for j in group], shifts)
    return key, float(2**total)


def combine_codes(
    a: Any, n_a: int, b: Any, n_b: int, *, backend: Any = "numpy", device: Any = None
) -> tuple[Any, int]:
    """Joint code of two code vectors, ``a * n_b + b``, re-densified when the product is large.

    Parameters
    ----------
    a, b : array of int64, shape (sample,)
        Codes in ``0 .. n_a - 1`` and ``0 .. n_b - 1`` (e.g. from :func:`joint_codes`).
    n_a, n_b : int
        Their numbers of possible values.

    Returns
    -------
    codes : array of int64, shape (sample,)
    n_possible : int
        An upper bound of the codes (exclusive), small enough to ``bincount``: at most
        ``max(4 * n_samples, 65536)``, or the exact number of states when re-densified.
    """
    be = get_backend(backend, device)
    joint = be.combine(a, b, n_b)
    n_possible = int(n_a) * int(n_b)
    if n_possible <= _table_limit(int(a.shape[0])):
        return joint, n_possible
    return be.densify(joint)


def count_states(codes: Any, n_states: int, *, backend: Any = "numpy", device: Any = None) -> np.ndarray:
    """Counts of each code ``0 .. n_states - 1`` (a numpy int64 array of length ``n_states``).

    Codes outside ``0 .. n_states - 1`` are refused: counting them would return another length (or a raw
    numpy error for negative codes).

    Examples
    --------
    >>> count_states(np.array([0, 2, 2]), 3).tolist()
    [1, 0, 2]
    """
    if not is_int(n_states) or n_states < 0:
        raise InputError(f"The 'n_states' parameter of count_states must be an int in [0, inf). Got {n_states!r} instead.")
    be = get_backend(backend, device)
    try:
        counts = be.to_numpy(be.bincount(codes, int(n_states)))
    except (ValueError, TypeError, RuntimeError) as exc:
        raise InputError(
            f"count_states needs codes that are non-negative integers ({type(exc).__name__}: {exc})."
        ) from None
    if counts.shape[0] != int(n_states):
        raise InputError(
            f"count_states: the codes run up to {counts.shape[0] - 1}, beyond the {int(n_states)} states "
            f"0 .. {int(n_states) - 1}. Pass n_states = the number of states (e.g. the count joint_codes returns)."
        )
    return counts


def entropy_from_counts(counts: Any) -> float:
    """Shannon entropy in bits of the empirical distribution given by ``counts``.

    ``H = log2(n) - sum(k * log2(k)) / n`` over the non-zero counts ``k``, with ``n = sum(k)``.

    Parameters
    ----------
    counts : array-like of non-negative numbers
        Occurrences of each state; zeros are ignored.

    Returns
    -------
    float
        Entropy in bits; 0.0 for a single occupied state or no samples.

    Examples
    --------
    >>> from relaywidgets.info import entropy_from_counts
    >>> entropy_from_counts([5, 5, 0])
    1.0
    """
    if hasattr(counts, "detach"):
        counts = counts.detach().cpu().numpy()
    try:
        c = np.asarray(counts, dtype=np.float64).ravel()
    except (ValueError, TypeError):
        c = np.array([np.nan])  # not numbers: refused below with the others
    if not np.all(np.isfinite(c) & (c >= 0)):  # zeros are skipped below; a negative or NaN count is no count
        raise InputError(f"entropy_from_counts needs finite, non-negative counts; got {counts!r}.")
    c = c[c > 0]
    n = c.sum()
    if c.size <= 1:
        return 0.0
    return float(np.log2(n) - np.dot(c, np.log2(c)) / n)


def column_alphabet_log2(codes: np.ndarray) -> float:
    """Sum over columns of log2(number of distinct values in the column).

    The log2 of the number of joint cells of a variable whose components take the observed values;
    used by the shrinkage estimator as its alphabet size.
    """
    x = np.asarray(codes)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] == 0 or x.shape[1] == 0:
        return 0.0
    s = np.sort(x, axis=0)
    distinct = 1 + np.count_nonzero(s[1:] != s[:-1], axis=0)
    return float(np.log2(distinct).sum())


class SubsetCounter:
    """Counts of the joint states of subsets of several variables, sharing common prefixes.

    Parameters
    ----------
    variables : dict of str to (codes, n_states)
        Dense codes of each variable (from :func:`joint_codes`).
    n_samples : int
    backend : backend object or name
    """

    def __init__(self, variables: dict[str, tuple[Any, int]], n_samples: int, backend: Any) -> None:
        self._be = get_backend(backend)
        self._n = int(n_samples)
        self._memo: dict[tuple[str, ...], tuple[Any, int]] = {(k,): v for k, v in variables.items()}

    def codes(self, subset: Sequence[str]) -> tuple[Any, int]:
        """Codes and number of possible values of the joint variable ``subset`` (in that order)."""
        key = tuple(subset)
        if key in self._memo:
            return self._memo[key]
        prev, n_prev = self.codes(key[:-1])
        last, n_last = self._memo[(key[-1],)]
        self._memo[key] = combine_codes(prev, n_prev, last, n_last, backend=self._be)
        return self._memo[key]

    def counts(self, subset: Sequence[str]) -> np.ndarray:
        """Counts (numpy int64) of the joint states of ``subset``; zeros for unobserved codes."""
        codes, n_possible = self.codes(subset)
        return self._be.to_numpy(self._be.bincount(codes, int(n_possible)))
