"""Headers every response gets unless its view chose its own.

- ``Content-Security-Policy`` on every HTML page: the strict policy of the reading room
  (``readerstudy.web.csp.POLICY``) reaches the Django admin and the API docs too.
- ``Cache-Control: no-store`` on JSON: API answers (worklists, reads, ground truth for
  coordinators) are never kept by a browser or a shared cache. Responses that set their own
  caching (DICOM JSON metadata, revalidated by ETag) keep it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from readerstudy.web.csp import POLICY


def _media_type(response: HttpResponse) -> str:
    return response.get("Content-Type", "").split(";")[0].strip().lower()


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        media_type = _media_type(response)
        if media_type == "text/html":
            response.headers.setdefault("Content-Security-Policy", POLICY)
        elif media_type == "application/json" or media_type.endswith("+json"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
