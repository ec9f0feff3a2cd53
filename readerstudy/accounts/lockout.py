"""Sign-in throttling with django-axes: what a locked-out sign-in sees, the client's address,
and a coordinator's view and reset of the lockouts.

django-axes counts failed sign-ins per username and address (``AXES_LOCKOUT_PARAMETERS``)
on every way in that calls ``django.contrib.auth.authenticate`` with a request: the reading
room's login page and the admin's. Settings: ``READERSTUDY_LOGIN_FAILURE_LIMIT``,
``READERSTUDY_LOGIN_COOLOFF_MINUTES`` (``readerstudy/settings.py``).
"""

from __future__ import annotations

from datetime import datetime

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from readerstudy.core.models import AuditEvent, audit


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' backend (first in ``AUTHENTICATION_BACKENDS``), with no opinion on a sign-in
    that has no request: without one there is no address to count failures from.

    Every way in from the network passes its request (the login pages, the admin's, DRF's
    session and basic authentication); Django's test client's ``login()`` and management
    commands do not, and axes' own backend would refuse them outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the connection's own, or behind ``READERSTUDY_PROXY_COUNT``
    proxies the address the outermost proxy saw.

    Each proxy appends the address it was connected from to ``X-Forwarded-For``; entries to
    the left of those come from the client itself and could be forged, so they are skipped.
    """
    count = settings.READERSTUDY_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    cool_off = settings.AXES_COOLOFF_TIME
    when = (f"Try again in {int(cool_off.total_seconds() // 60)} minutes, or ask"
            if cool_off else "Ask")
    return (f"Too many failed sign-ins for this username from your address: it is locked. "
            f"{when} a study coordinator to unlock it.")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the login page again, with the reason (HTTP 429).

    The same page answers a lockout on the admin's login; a script asking for JSON gets
    ``{"detail": ...}``.
    """
    message = lockout_message()
    # axes.conf sets the default (429) on the settings at import; the stubs' settings plugin
    # sees only readerstudy.settings.
    status = settings.AXES_HTTP_RESPONSE_CODE  # type: ignore[misc]
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    return render(request, "web/login.html", {
        "form": form, "lockout": message, "next": request.POST.get("next", ""),
    }, status=status)


def lockouts_active(*, now: datetime | None = None) -> QuerySet[AccessAttempt]:
    """The username-and-address pairs that are locked out now, the latest first."""
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    cool_off = get_cool_off()
    if cool_off:
        attempts = attempts.filter(attempt_time__gt=(now or timezone.now()) - cool_off)
    return attempts.order_by("-attempt_time")


@transaction.atomic
def lockout_clear(*, username: str, ip_address: str, by) -> int:
    """Unlock ``username`` from ``ip_address`` (its failed sign-ins are forgotten); audited.
    Returns how many records were removed (0: it was not locked)."""
    if not (username and ip_address):  # axes' reset would drop the empty filter: unlock more
        return 0
    removed = reset(ip=ip_address, username=username)
    if removed:
        audit(actor=by, verb=AuditEvent.Verb.CHANGED, object_type="sign-in lockout",
              object_id=username[:64], unlocked_address=ip_address)
    return removed
