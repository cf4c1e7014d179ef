"""Reading students' answers: numbers, arrays, node labels and names, with an :class:`AnswerError` on nonsense.

Shared by the answer checks of lessons 3-5; every reader names the answer in its message, so that a student
who assigned the wrong kind of object learns which variable to fix and what it should hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._feedback import AnswerError

__all__ = ["as_bool", "as_labels", "as_name", "as_number", "as_vector", "call_answer", "close"]


def as_number(value: Any, name: str, hint: str = "") -> float:
    """``value`` as a finite float, or an :class:`AnswerError` naming ``name``.

    Examples
    --------
    >>> as_number(0.5, "drop")
    0.5
    >>> as_number(None, "drop")
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: drop should be a number; got None.
    """
    suffix = f"\nHint: {hint}" if hint else ""
    if isinstance(value, (bool, np.bool_)):
        # True/False are ints to Python, but a boolean where a number is asked for is a mix-up.
        raise AnswerError(f"{name} should be a number; got the boolean {bool(value)}." + suffix)
    try:
        number = float(value) if np.ndim(value) == 0 and not isinstance(value, (str, bytes)) else None
    except OverflowError:  # a Python int beyond every float (10**400)
        raise AnswerError(f"{name} is a number too large for a float (beyond 1.8e308), not a finite number." + suffix)
    except (TypeError, ValueError):  # not a number, or a ragged nested list (np.ndim cannot read it)
        number = None
    if number is None:
        raise AnswerError(f"{name} should be a number; got {value!r}." + suffix)
    if not math.isfinite(number):
        raise AnswerError(f"{name} is {number}, not a finite number." + suffix)
    return number


def as_bool(value: Any, name: str, hint: str = "") -> bool:
    """``value`` as a bool (Python or numpy), or an :class:`AnswerError`; numbers and strings are refused.

    Examples
    --------
    >>> as_bool(True, "significant")
    True
    >>> as_bool("yes", "significant")
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: significant should be True or False; got 'yes'.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise AnswerError(f"{name} should be True or False; got {value!r}." + (f"\nHint: {hint}" if hint else ""))


def as_vector(value: Any, name: str, size: int, hint: str = "") -> np.ndarray:
    """``value`` as a 1-D float array of ``size`` finite numbers, or an :class:`AnswerError`.

    Examples
    --------
    >>> as_vector([0.0, 1.0], "drops", 2)
    array([0., 1.])
    >>> as_vector(0.5, "drops", 2)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: drops should hold 2 numbers (one per class); got a single number, 0.5.
    """
    suffix = f"\nHint: {hint}" if hint else ""
    if value is None:
        raise AnswerError(f"{name} is None: did the function forget to return its result?" + suffix)
    values = getattr(value, "values", value)  # xarray and pandas objects: their numbers
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):  # not numbers, ragged, or an int beyond every float
        raise AnswerError(f"{name} should hold {size} numbers; got {value!r}." + suffix) from None
    if array.ndim == 0:
        raise AnswerError(
            f"{name} should hold {size} numbers (one per class); got a single number, {float(array):.4g}." + suffix
        )
    array = array.ravel()
    if array.size != size:
        raise AnswerError(f"{name} should hold {size} numbers (one per class); got {array.size}." + suffix)
    if not np.all(np.isfinite(array)):
        raise AnswerError(f"{name} holds non-finite numbers: {array.tolist()}." + suffix)
    return array


def as_labels(value: Any, name: str, hint: str = "") -> list[str]:
    """``value`` as a list of node labels such as ``"l0.h3"``; bare unit numbers of layer 0 are accepted.

    Examples
    --------
    >>> as_labels(["l0.h1", 2], "relays")
    ['l0.h1', 'l0.h2']
    >>> as_labels("l0.h1", "relays")
    ['l0.h1']
    """
    suffix = f"\nHint: {hint}" if hint else ""
    if value is None:
        raise AnswerError(f"{name} is None; it should be a list of node labels such as ['l0.h1']." + suffix)
    if isinstance(value, (str, np.str_)):
        value = [value]
    values = getattr(value, "values", value)
    if not isinstance(values, (Iterable, np.ndarray)):
        raise AnswerError(f"{name} should be a list of node labels such as ['l0.h1']; got {value!r}." + suffix)
    labels = []
    for item in np.asarray(values, dtype=object).ravel().tolist() if isinstance(values, np.ndarray) else values:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            labels.append(f"l0.h{int(item)}")  # a unit number of the (single) layer 0
        elif isinstance(item, (str, np.str_)):
            labels.append(str(item))
        else:
            raise AnswerError(f"{name} should hold node labels such as 'l0.h1'; it holds {item!r}." + suffix)
    return labels


def as_name(value: Any, name: str, choices: Iterable[str], hint: str = "") -> str:
    """``value`` as one of ``choices`` (compared case-insensitively), or an :class:`AnswerError`.

    Examples
    --------
    >>> as_name("LSTM", "arch", ["rnn", "lstm", "gru"])
    'lstm'
    """
    options = [str(c) for c in choices]
    if isinstance(value, (str, np.str_)):
        for option in options:
            if str(value).strip().lower() == option.lower():
                return option
    raise AnswerError(f"{name} should be one of {options}; got {value!r}." + (f"\nHint: {hint}" if hint else ""))


def call_answer(fn: Any, name: str, shown: str, *args: Any) -> Any:
    """Call the student's function ``fn(*args)``; a crash becomes an :class:`AnswerError` that says on which input.

    ``NotImplementedError`` (the unanswered stub of the student version) passes through unchanged, so that a
    blank cell fails as unanswered rather than as wrong.

    Examples
    --------
    >>> call_answer(lambda n: n + 1, "f", "1", 1)
    2
    >>> call_answer(lambda n: 1 / n, "f", "0", 0)
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: f(0) raised ZeroDivisionError: division by zero
    """
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as exc:  # any crash of student code: say where, keep the original as the cause
        raise AnswerError(f"{name}({shown}) raised {type(exc).__name__}: {exc}") from exc


def close(a: Any, b: Any, atol: float) -> bool:
    """Whether two numbers or arrays agree within ``atol`` everywhere (shapes must match).

    Examples
    --------
    >>> close([0.1, 0.2], [0.1, 0.25], atol=0.1), close(1.0, 2.0, atol=0.1)
    (True, False)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol))
