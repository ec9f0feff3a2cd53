"""Error pages: JSON ``{"detail": ...}`` under the API and DICOMweb paths, Django's HTML pages
elsewhere.

DRF answers the errors its views raise with JSON already; these handlers cover what happens
outside a view (no URL matched, a request Django refused, an unexpected exception), so that
a script calling the API never has to parse an HTML page.

An outage of a service the request needs (the database, the broker) is not the request's
fault and passes: it is answered 503 with ``Retry-After`` (:data:`RETRY_AFTER_S`), which the
reading page's outbox honours before it sends a read again.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler

# The URL prefixes of readerstudy/urls.py that answer JSON.
JSON_PREFIXES = ("/api/v1/", "/api/schema/", "/dicomweb/", "/wado")

#: Seconds a client is asked to wait (``Retry-After``) when a service is away.
RETRY_AFTER_S = 5

logger = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service the request needs is away for now (say, the broker): answered 503."""


#: What an outage looks like from inside a request: the database refusing or dropping the
#: connection, or a :class:`ServiceUnavailable` raised by the code that met one.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, ServiceUnavailable)


def _outage_detail(exc: BaseException) -> str:
    if isinstance(exc, ServiceUnavailable):  # its message says what to do (BrokerUnavailable's)
        return str(exc)
    return "The database is unavailable for a moment. Try again in a few seconds."


def service_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with ``Retry-After``: JSON under the API paths, a short page elsewhere."""
    logger.warning("Service unavailable for %s: %s: %s", request.path, type(exc).__name__, exc)
    detail = _outage_detail(exc)
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"detail": detail, "code": "service_unavailable"}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
            f"<p>{detail}</p>", status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


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
    # Django calls this handler while it handles the exception, so the exception is at hand.
    exc = sys.exc_info()[1]
    if isinstance(exc, OUTAGE_ERRORS):
        return service_unavailable(request, exc)
    if wants_json(request):
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    return defaults.server_error(request)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` as a 413 (Django
    would answer it with a bare 400), and an outage (:data:`OUTAGE_ERRORS`) as a 503."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"The body is larger than {limit} bytes."}, status=413)
    if isinstance(exc, OUTAGE_ERRORS):
        logger.warning("Service unavailable: %s: %s", type(exc).__name__, exc)
        return Response({"detail": _outage_detail(exc), "code": "service_unavailable"}, status=503,
                        headers={"Retry-After": str(RETRY_AFTER_S)})
    return exception_handler(exc, context)
