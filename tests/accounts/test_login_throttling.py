"""Sign-in throttling (django-axes): after READERSTUDY_LOGIN_FAILURE_LIMIT wrong passwords for a
username from one address, the right password is refused too, on the reading room's login
page and the admin's, with the reason on the page; a coordinator can unlock it."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client

from readerstudy.core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def throttling(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
    settings.READERSTUDY_PROXY_COUNT = 0


def sign_in(client: Client, username: str, password: str, *, url: str = LOGIN, address: str = "10.0.0.7",
            **headers):
    return client.post(url, {"username": username, "password": password, "next": "/"},
                       REMOTE_ADDR=address, **headers)


def fail(client: Client, username: str, times: int, **kwargs) -> list[int]:
    return [sign_in(client, username, "wrong-password", **kwargs).status_code for _ in range(times)]


def test_the_right_password_is_refused_after_five_wrong_ones(client, reader):
    assert fail(client, reader.username, 4) == [200] * 4  # the form again, with its error
    locked = sign_in(client, reader.username, "wrong-password")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'id="lockout"' in page and "Too many failed sign-ins" in page and "30 minutes" in page
    right = sign_in(client, reader.username, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(client, reader, other_reader):
    fail(client, reader.username, 5)
    # The same reader from another address, and another reader from the same address, sign in.
    assert sign_in(Client(), reader.username, PASSWORD, address="10.0.0.8").status_code == 302
    assert sign_in(Client(), other_reader.username, PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, coordinator):
    assert fail(client, coordinator.username, 5, url=ADMIN_LOGIN)[-1] == 429
    locked = sign_in(client, coordinator.username, PASSWORD, url=ADMIN_LOGIN)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    # Failures on one login page count on the other: it is the same username and address.
    assert sign_in(Client(), coordinator.username, PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, reader, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False)
    fail(client, reader.username, 5)
    time_machine.shift(dt.timedelta(minutes=31))
    assert sign_in(client, reader.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(client, reader):
    fail(client, reader.username, 4)
    assert sign_in(client, reader.username, PASSWORD).status_code == 302
    client.logout()
    assert fail(Client(), reader.username, 4) == [200] * 4


def test_forwarded_addresses_count_only_behind_a_proxy(reader, settings):
    # Without a proxy, X-Forwarded-For is the client's own say: rotating it changes nothing.
    codes = [sign_in(Client(), reader.username, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
             for i in range(5)]
    assert codes[-1] == 429
    AccessAttempt.objects.all().delete()
    # Behind one proxy, the address it appended is the client's; what the client put before it
    # is ignored.
    settings.READERSTUDY_PROXY_COUNT = 1
    for i in range(5):
        sign_in(Client(), reader.username, "wrong", address="127.0.0.1",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.9")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}
    assert sign_in(Client(), reader.username, PASSWORD, address="127.0.0.1",
                   HTTP_X_FORWARDED_FOR="198.51.100.10").status_code == 302


def test_a_coordinator_sees_and_unlocks_a_lockout(client, reader, coordinator):
    fail(Client(), reader.username, 5)
    client.force_login(coordinator)
    page = client.get("/coordinator/lockouts/")
    assert page.status_code == 200 and f'data-username="{reader.username}"' in page.content.decode()
    unlocked = client.post("/coordinator/lockouts/unlock/", {"username": reader.username, "ip_address": "10.0.0.7"},
                           follow=True)
    assert f"Unlocked {reader.username} from 10.0.0.7" in unlocked.content.decode()
    assert sign_in(Client(), reader.username, PASSWORD).status_code == 302
    event = AuditEvent.objects.get(object_type="sign-in lockout")
    assert event.actor == coordinator and event.object_id == reader.username
    assert event.details == {"unlocked_address": "10.0.0.7"}


def test_readers_cannot_see_or_clear_lockouts(client, reader, other_reader):
    fail(Client(), other_reader.username, 5)
    client.force_login(reader)
    assert client.get("/coordinator/lockouts/").status_code == 403
    assert client.post("/coordinator/lockouts/unlock/",
                       {"username": other_reader.username, "ip_address": "10.0.0.7"}).status_code == 403
    assert AccessAttempt.objects.filter(username=other_reader.username).exists()
