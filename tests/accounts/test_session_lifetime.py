"""A signed-in session ends after SESSION_IDLE_TIMEOUT without a request and in
any case SESSION_COOKIE_AGE after signing in; its requests are answered as anonymous ones."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from readerstudy.accounts import sessions

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def signed_in(reader, settings, time_machine) -> Client:
    settings.SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
    settings.SESSION_COOKIE_AGE = 4 * 3600
    time_machine.move_to(START, tick=False)
    client = Client()
    client.force_login(reader)
    return client


def _signed_in(client: Client) -> bool:
    response = client.get("/api/v1/me/")
    assert response.status_code in (200, 403)
    return response.status_code == 200


def test_a_session_idle_for_longer_than_the_timeout_ends(signed_in, time_machine):
    time_machine.shift(dt.timedelta(minutes=29))
    assert _signed_in(signed_in)
    time_machine.shift(dt.timedelta(minutes=31))
    assert not _signed_in(signed_in)
    # It stays ended: the session was flushed, not just refused once.
    time_machine.shift(dt.timedelta(minutes=1))
    assert not _signed_in(signed_in)
    assert signed_in.get("/").status_code == 302  # the pages send it to sign in


def test_requests_keep_a_session_alive_until_its_absolute_lifetime(signed_in, time_machine):
    for _ in range(int(4 * 60 / 20) - 1):  # a request every 20 minutes for just under 4 hours
        time_machine.shift(dt.timedelta(minutes=20))
        assert _signed_in(signed_in)
    time_machine.shift(dt.timedelta(minutes=21))  # 4 h 1 min after signing in
    assert not _signed_in(signed_in)


def test_an_ended_session_is_answered_with_json_by_the_api(signed_in, time_machine):
    time_machine.shift(dt.timedelta(hours=1))
    response = signed_in.get("/api/v1/me/")
    assert response.status_code == 403 and "detail" in response.json()


def test_activity_is_written_at_most_once_a_minute(signed_in, time_machine):
    signed_in.get("/api/v1/me/")
    seen = signed_in.session[sessions.SEEN]
    time_machine.shift(dt.timedelta(seconds=30))
    signed_in.get("/api/v1/me/")
    assert signed_in.session[sessions.SEEN] == seen
    time_machine.shift(dt.timedelta(seconds=31))
    signed_in.get("/api/v1/me/")
    assert signed_in.session[sessions.SEEN] == seen + 61


def test_signing_in_again_starts_a_new_lifetime(signed_in, reader, time_machine):
    time_machine.shift(dt.timedelta(hours=5))
    assert not _signed_in(signed_in)
    signed_in.force_login(reader)
    assert _signed_in(signed_in)
