"""Feedback for graded cells: failed checks raise :class:`AnswerError` with a hint, never a bare assert."""

from __future__ import annotations

from typing import Any

__all__ = ["AnswerError", "check", "check_close"]


class AnswerError(AssertionError):
    """A student's answer is wrong; the message says what was expected and gives a hint.

    It subclasses ``AssertionError`` so that nbgrader scores the cell as failed, as it does a failed
    ``assert``.
    """


def check(condition: Any, problem: str, hint: str = "") -> None:
    """Fail with an :class:`AnswerError` when ``condition`` is false.

    Parameters
    ----------
    condition : object
        The check; its truth value decides.
    problem : str
        What is wrong, with the numbers (e.g. ``"Your entropy is 1.20 bits; a fair coin has 1 bit."``).
    hint : str, optional
        The usual mistake behind this answer and how to fix it.

    Examples
    --------
    >>> check(1 + 1 == 2, "arithmetic is broken")
    >>> check(False, "Your set is empty.", "Did you forget to return it?")
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: Your set is empty.
    Hint: Did you forget to return it?
    """
    if not bool(condition):
        raise AnswerError(problem + (f"\nHint: {hint}" if hint else ""))


def check_close(
    value: Any, expected: float, *, name: str, atol: float = 1e-6, rtol: float = 1e-6, hint: str = ""
) -> None:
    """Fail unless ``value`` is a finite number within ``atol + rtol * |expected|`` of ``expected``.

    Parameters
    ----------
    value : object
        The student's number.
    expected : float
        The truth.
    name : str
        What the number is, for the message (e.g. ``"H(X)"``).
    atol, rtol : float
        Absolute and relative tolerance.
    hint : str, optional
        The usual mistake behind a wrong value.

    Examples
    --------
    >>> check_close(0.9999999, 1.0, name="H(coin)")
    >>> check_close(None, 1.0, name="H(coin)")
    Traceback (most recent call last):
    ...
    relaywidgets.course._feedback.AnswerError: H(coin) should be a number; got None.
    """
    from ._answers import as_number  # (here: _answers imports this module)

    # as every lesson reads a number: one real scalar; booleans, text, arrays and ints beyond a float refused
    number = as_number(value, name, hint)
    check(
        abs(number - expected) <= atol + rtol * abs(expected),
        f"{name} is {number:.6g}; it should be {expected:.6g} (within {atol + rtol * abs(expected):.2g}).",
        hint,
    )
