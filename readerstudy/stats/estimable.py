"""Estimates the data do not allow: "not estimable", with the reason.

A reader study's data are often too thin for some estimate even when they are valid: a
subgroup with one malignant case has no AUC interval, a reader who calls every case benign
has no kappa with another who does the same, a test set read by one reader has no
between-reader analysis. Such an estimate is reported, never dropped and never a crash: its
value is missing (NaN) and its note says why, ``"not estimable: <reason>"``.

The convention has three parts, used throughout the package and the exports:

- a statistic whose valid input does not allow the estimate raises
  :class:`NotEstimableError` (a ``ValueError``: callers that treat every ``ValueError`` as
  bad input keep working) with the reason as its message; bad input still raises a plain
  ``ValueError``;
- a statistic that returns NaN by definition (Cohen's kappa when both readers used one
  category, an ICC without variance) exposes the reason as the result's ``not_estimable``
  attribute (``""`` when the estimate exists);
- :func:`attempt` runs a statistic and returns ``(result, note)``, where ``note`` is
  ``""`` or :func:`note` of the reason; the callers write that note next to the NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

__all__ = [
    "LEFT_OUT",
    "NOT_ESTIMABLE",
    "NO_INTERVAL",
    "NotEstimableError",
    "attempt",
    "is_left_out",
    "is_no_interval",
    "is_not_estimable",
    "left_out",
    "no_interval",
    "note",
]

NOT_ESTIMABLE = "not estimable"
#: An estimate that exists but whose interval would have no width (a standard error of 0:
#: perfect separation, constant ratings, exact agreement): the interval is left empty and
#: the note says why, rather than printing "0.50 (0.50, 0.50)" as if it were a real interval.
NO_INTERVAL = "no interval"
#: An estimate made without some readers (the MRMC analysis keeps the fully crossed ones):
#: the count of readers in it says who was left out and why.
LEFT_OUT = "left out"

T = TypeVar("T")


class NotEstimableError(ValueError):
    """Valid data that do not allow the estimate; the message is the reason."""


def note(reason: str) -> str:
    """``"not estimable: <reason>"``, the text written next to a missing estimate."""
    reason = str(reason).strip() or "the data do not allow it"
    return f"{NOT_ESTIMABLE}: {reason}"


def no_interval(reason: str) -> str:
    """``"no interval: <reason>"``, the note of an estimate whose interval has no width."""
    reason = str(reason).strip() or "its standard error is 0 in these data"
    return f"{NO_INTERVAL}: {reason}"


def left_out(why: str, who: list[str]) -> str:
    """``"left out (<why>): <who>, <who>"``, the note of a count of readers that lacks some."""
    return f"{LEFT_OUT} ({why}): {', '.join(who)}"


def is_left_out(text: object) -> bool:
    """Whether ``text`` is a note made by :func:`left_out`."""
    return isinstance(text, str) and text.startswith(f"{LEFT_OUT} (")


def is_no_interval(text: object) -> bool:
    """Whether ``text`` is a note made by :func:`no_interval`."""
    return isinstance(text, str) and text.startswith(f"{NO_INTERVAL}:")


def is_not_estimable(text: object) -> bool:
    """Whether ``text`` is a note made by :func:`note`."""
    return isinstance(text, str) and text.startswith(f"{NOT_ESTIMABLE}:")


def _missing_estimate(result: object) -> bool:
    value = getattr(result, "estimate", 0.0)
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def attempt(compute: Callable[..., T], /, *args: object, **kwargs: object) -> tuple[T | None, str]:
    """Run ``compute(*args, **kwargs)``; return ``(result, "")``, or why it is not estimable.

    Parameters
    ----------
    compute : callable
        A statistic, e.g. ``roc.auc_delong``.
    *args, **kwargs
        Its arguments, e.g. ``attempt(roc.auc_delong, reads, score="confidence", alpha=0.05)``.

    Returns
    -------
    result : object or None
        What ``compute`` returned; None when it raised :class:`NotEstimableError`.
    note : str
        ``""`` when the estimate exists; else ``"not estimable: <reason>"``, the reason
        being the exception's message or the result's ``not_estimable`` attribute (for a
        result whose ``estimate`` is NaN).

    Notes
    -----
    Only :class:`NotEstimableError` is caught: a plain ``ValueError`` (bad input, a bug)
    propagates, so that nothing is hidden behind a "not estimable".
    """
    try:
        result = compute(*args, **kwargs)
    except NotEstimableError as exc:
        return None, note(str(exc))
    if _missing_estimate(result):
        return result, note(getattr(result, "not_estimable", "") or "")
    return result, ""
