"""Answer checks of the nbgrader course in ``notebooks/course`` (one module a lesson).

The graded cells of the course call these checks on the student's own objects. Each check computes its
truth from those objects (a planted relay set, an analytic entropy, the API's own number), and when an
answer is wrong it fails with an :class:`AnswerError` whose message says what was expected, what was
found, and the usual mistake behind that answer, in words a student can act on.
"""

from __future__ import annotations

from ._feedback import AnswerError, check, check_close

__all__ = ["AnswerError", "check", "check_close"]
