"""A signed-in session's two lifetimes: idle and absolute.

A session ends after ``SESSION_IDLE_TIMEOUT`` (default 30 minutes) without a request that
used it, and in any case ``SESSION_COOKIE_AGE`` (``READERSTUDY_SESSION_MAX_DAYS``, default 14)
after signing in. Django alone gives one or the other, and only by saving the session on
every request.

The check runs where the session's user is looked up: ``SessionLifetimeAuthenticationMiddleware``
is Django's ``AuthenticationMiddleware`` with the check in front of that (lazy) lookup. A
request that never asks who its user is (a DICOMweb frame answered from a short-lived
access grant, ``readerstudy.imaging.access``) neither loads the session nor counts as
activity; every request that does is checked. The time of the last activity is written at
most once every ``ACTIVITY_RESOLUTION`` seconds, not on every request.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

logger = logging.getLogger(__name__)

STARTED = "_session_started_at"
SEEN = "_session_seen_at"
ACTIVITY_RESOLUTION = 60  # seconds: the idle timeout is exact to within this


@receiver(user_logged_in)
def _session_start(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[STARTED] = request.session[SEEN] = now


def session_lapsed(request: HttpRequest, now: float) -> str | None:
    """Why the request's signed-in session has ended ("idle", "lifetime"), or ``None``; records
    the activity of a live one."""
    session = request.session
    if auth.SESSION_KEY not in session:
        return None
    started = session.setdefault(STARTED, now)  # signed in before this code ran
    seen = session.get(SEEN, started)
    if now - started > settings.SESSION_COOKIE_AGE:
        return "lifetime"
    if now - seen > settings.SESSION_IDLE_TIMEOUT.total_seconds():
        return "idle"
    if now - seen >= ACTIVITY_RESOLUTION:
        session[SEEN] = now
    return None


def get_user(request: HttpRequest):
    """The request's user, as ``django.contrib.auth.get_user``, after ending a lapsed session."""
    if not hasattr(request, "_cached_user"):
        reason = session_lapsed(request, time.time())
        if reason:
            logger.info("Signed-in session ended (%s).", reason)
            request.session.flush()
            # request._cached_user: the per-request cache Django's own get_user keeps
            # (django.contrib.auth.middleware); private, so not in the stubs.
            request._cached_user = AnonymousUser()  # type: ignore[attr-defined]
        else:
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


async def aget_user(request: HttpRequest):
    return await sync_to_async(get_user)(request)


class SessionLifetimeAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware`` whose user lookup first ends a lapsed session."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # its checks; then our lookups replace its own
        # As Django's AuthenticationMiddleware: a lazy user (the stubs type the attribute as the
        # user itself, not the lazy proxy that stands for it).
        request.user = cast("User | AnonymousUser", SimpleLazyObject(lambda: get_user(request)))
        request.auser = partial(aget_user, request)
