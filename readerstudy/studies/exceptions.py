"""Domain errors of the reading workflow, each with a message a person can act on."""

from __future__ import annotations

from datetime import datetime


class ReadingError(Exception):
    """Base class; ``code`` is a stable machine-readable name."""

    code = "reading_error"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotInWorklist(ReadingError):
    code = "not_in_worklist"


class RoundNotRead(ReadingError):
    """A round the protocol defines but no study reads yet (``RoundDefinition.in_use``)."""

    code = "round_not_read"


class StudyNotOpen(ReadingError):
    code = "study_not_open"


class ReadConflict(ReadingError):
    code = "already_read"


class RepeatNotDue(ReadingError):
    code = "repeat_not_due"

    def __init__(self, message: str, *, available_from: datetime):
        super().__init__(message, available_from=available_from)
        self.available_from = available_from
