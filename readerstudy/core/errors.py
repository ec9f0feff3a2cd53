"""Error pages: JSON ``{"detail": ...}`` under the API and DICOMweb paths, Django's HTML pages
elsewhere.

DRF answers the errors its views raise with JSON already; these handlers cover what happens
outside a view (no URL matched, a request Django refused, an unexpected exception), so that
a script calling the API never has to parse an HTML page.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler

# The URL prefixes of readerstudy/urls.py that answer JSON.
JSON_PREFIXES = ("/api/v1/", "/api/schema/", "/dicomweb/", "/wado")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": str(exception) or "You may not do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    return defaults.server_error(request)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, and a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` as a 413 (Django
    would answer it with a bare 400)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"The body is larger than {limit} bytes."}, status=413)
    return exception_handler(exc, context)
