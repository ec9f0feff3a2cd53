"""The coordinator's page of sign-in lockouts (django-axes): who is locked out, from which
address, and a button to unlock each (``accounts.lockout.lockout_clear``, audited).

The same can be done with django-axes' commands (``manage.py axes_reset_username NAME``)
and, for superusers, in the admin under "Axes".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from readerstudy.accounts.lockout import lockout_clear, lockouts_active
from readerstudy.web.coordinator_views import coordinator_page


@coordinator_page
def lockouts(request: HttpRequest) -> HttpResponse:
    cool_off = settings.AXES_COOLOFF_TIME
    return render(request, "web/coordinator/lockouts.html", {
        "lockouts": lockouts_active(),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    })


@coordinator_page
@require_POST
def lockout_unlock(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "")
    address = request.POST.get("ip_address", "")
    if lockout_clear(username=username, ip_address=address, by=request.user):
        messages.success(request, f"Unlocked {username} from {address}: they can sign in again.")
    else:
        messages.info(request, f"{username} was not locked out from {address}.")
    return redirect("web-lockouts")
