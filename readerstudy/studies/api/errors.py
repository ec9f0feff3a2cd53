"""Domain errors -> HTTP answers with a clear message."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response

from readerstudy.studies.exceptions import (
    NotInWorklist,
    ReadConflict,
    ReadingError,
    RepeatNotDue,
    RoundNotRead,
    StudyNotOpen,
)

_STATUS: dict[type[ReadingError], int] = {
    NotInWorklist: status.HTTP_404_NOT_FOUND,
    StudyNotOpen: status.HTTP_409_CONFLICT,
    ReadConflict: status.HTTP_409_CONFLICT,
    RepeatNotDue: status.HTTP_403_FORBIDDEN,
    RoundNotRead: status.HTTP_400_BAD_REQUEST,
}


def reading_error_response(exc: ReadingError) -> Response:
    body = {"detail": exc.message, "code": exc.code}
    if isinstance(exc, RepeatNotDue):
        body["available_from"] = exc.available_from.isoformat()
    return Response(body, status=_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST))


def validation_error_response(exc: ValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)
