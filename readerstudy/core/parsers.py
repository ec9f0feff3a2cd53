"""The API's JSON parser: a body is one JSON object, nested at most ``MAX_DEPTH`` levels.

Every JSON endpoint of the API takes an object. DRF's own parser accepts any JSON value, so
a list or a number reached views that call ``request.data.get`` (a 500), and Python's
decoder answers a body of a few thousand nested brackets with a ``RecursionError`` (a 500
too) rather than a ``ValueError``. Both are refused here as a 400 with a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest a real body goes is two levels (a read's ``features`` object); room to spare.
MAX_DEPTH = 8


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (a scalar is 0, ``{}`` and ``[]`` are 1).

    Iterative, so that it cannot itself run out of stack.
    """
    deepest = 0
    stack = [(value, 1)]
    children: Iterable[Any]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONObjectParser(JSONParser):
    """DRF's JSON parser, refusing anything but an object of at most ``MAX_DEPTH`` levels.

    DRF reads the body through ``request.body``, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    applies before this runs (``readerstudy.core.errors.api_exception_handler`` answers 413).
    """

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.") from None
        if not isinstance(data, dict):
            raise ParseError("The body must be a JSON object ({...}).")
        if json_depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        return data
