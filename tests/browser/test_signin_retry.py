"""Signing in while many readers sign in at once: the page sends the form again itself.

The server answers a sign-in beyond its bound with 503 and Retry-After
(``readerstudy.accounts.signin``, tested in ``tests/accounts/test_signin_gate.py``); here, in
Chromium, the login page's script waits as asked and sends the same form again, so the
reader does not type the password again, and a wrong password after a wait still gets the
plain error (and counts once towards the lockout)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from readerstudy.accounts import signin
from readerstudy.accounts.signin import BoundedAuthenticationForm, SignInBusy
from readerstudy.web import views
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser]


@pytest.fixture
def busy_twice(monkeypatch):
    """The first two password checks are refused as if the bound were reached; the server
    asks for a retry after 1 s. Returns the list of checks asked for."""
    monkeypatch.setattr(views, "RETRY_AFTER_S", 1)
    checks: list[str] = []
    real = BoundedAuthenticationForm.clean

    def clean(form):
        checks.append(form.data.get("password", ""))
        if len(checks) <= 2:
            raise SignInBusy()
        return real(form)

    monkeypatch.setattr(BoundedAuthenticationForm, "clean", clean)
    return checks


def test_a_refused_sign_in_is_sent_again_with_the_typed_password(page, live_server, reader,
                                                                   busy_twice):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", reader.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    note = page.locator("#signin-retry")
    note.wait_for(state="visible")
    assert "Many readers are signing in" in note.text_content()
    assert "with the password you typed" in note.text_content()
    page.wait_for_url(f"{live_server.url}/", timeout=20_000)
    assert busy_twice == [PASSWORD] * 3  # refused twice, then checked once
    assert page.locator(".site-header .user").text_content() == reader.username


def test_a_wrong_password_after_a_wait_gets_the_error_and_counts_once(page, live_server, reader,
                                                                       busy_twice):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", reader.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.locator(".banner[data-kind=error]").wait_for(timeout=20_000)
    assert "/login/" in page.url and len(busy_twice) == 3
    assert page.locator("#id_username").input_value() == reader.username
    assert AccessAttempt.objects.get().failures_since_start == 1
    assert signin.gate().state() == (0, 0)
