"""The bound on password checks at once (readerstudy/accounts/signin.py): checks beyond it wait
their turn in arrival order or are refused at once, a refused sign-in gets the form again with
503 and ``Retry-After``, is not counted as a failed sign-in, and the readers already signed in
are served meanwhile."""

from __future__ import annotations

import threading
import time

import pytest
from axes.models import AccessAttempt
from django.test import Client

from readerstudy.accounts import signin
from readerstudy.accounts.signin import FairGate, SignInBusy
from readerstudy.core.errors import RETRY_AFTER_S
from readerstudy.studies import services as study_services
from tests.conftest import PASSWORD

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def bound(settings):
    """One check at once, one waiting for at most 10 s; a fresh gate for each test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.READERSTUDY_SIGNIN_CONCURRENCY = 1
    settings.READERSTUDY_SIGNIN_QUEUE = 1
    settings.READERSTUDY_SIGNIN_WAIT_SECONDS = 10
    signin.reset_gate()
    yield
    signin.reset_gate()


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _hold(gate: FairGate, entered: list[str], name: str, release: threading.Event,
          refused: list[str]) -> threading.Thread:
    def run() -> None:
        try:
            with gate.slot():
                entered.append(name)
                release.wait(15)
        except SignInBusy:
            refused.append(name)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_checks_beyond_the_bound_wait_in_arrival_order_and_the_rest_are_refused_at_once():
    gate = FairGate(concurrent=2, queue=2, wait_s=5)
    entered: list[str] = []
    refused: list[str] = []
    releases = {name: threading.Event() for name in "abcde"}
    threads = []
    for name, state in zip("abcd", [(1, 0), (2, 0), (2, 1), (2, 2)], strict=True):
        threads.append(_hold(gate, entered, name, releases[name], refused))
        _wait_until(lambda state=state: gate.state() == state)
    assert entered == ["a", "b"]  # two checks at once; c and d wait

    started = time.monotonic()
    threads.append(_hold(gate, entered, "e", releases["e"], refused))
    threads[-1].join(5)
    assert refused == ["e"] and time.monotonic() - started < 1  # the queue is full: refused, no wait

    releases["b"].set()  # b's slot goes to c, the first to wait, then a's to d
    _wait_until(lambda: entered == ["a", "b", "c"])
    releases["a"].set()
    _wait_until(lambda: entered == ["a", "b", "c", "d"])
    for release in releases.values():
        release.set()
    for thread in threads:
        thread.join(5)
    assert gate.state() == (0, 0)


def test_a_check_that_waits_longer_than_the_bound_is_refused_and_leaves_the_queue():
    gate = FairGate(concurrent=1, queue=1, wait_s=0.2)
    entered: list[str] = []
    refused: list[str] = []
    release = threading.Event()
    holder = _hold(gate, entered, "a", release, refused)
    _wait_until(lambda: gate.state() == (1, 0))
    started = time.monotonic()
    with pytest.raises(SignInBusy), gate.slot():
        pass
    assert 0.2 <= time.monotonic() - started < 2
    assert gate.state() == (1, 0)  # nobody left waiting
    release.set()
    holder.join(5)
    with gate.slot():  # the slot was given back
        assert gate.state() == (1, 0)


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError, match="concurrent >= 1"):
        FairGate(concurrent=0, queue=0, wait_s=0)


@pytest.fixture
def gate_full():
    """The one slot held and the one place in the queue taken, as by two long checks."""
    gate = signin.gate()
    release = threading.Event()
    holders = [_hold(gate, [], name, release, []) for name in "ab"]
    _wait_until(lambda: gate.state() == (1, 1))
    yield gate
    release.set()
    for holder in holders:
        holder.join(5)


@pytest.mark.django_db
def test_a_sign_in_beyond_the_bound_gets_the_form_again_with_503_and_retry_after(gate_full, reader):
    client = Client()
    assert client.get(LOGIN).status_code == 200  # the page first, as a browser does
    started = time.monotonic()
    response = client.post(LOGIN, {"username": reader.username, "password": PASSWORD, "next": "/"},
                           REMOTE_ADDR="10.0.0.7")
    assert time.monotonic() - started < 5  # answered at once, not after the 10 s wait
    assert response.status_code == 503 and response["Retry-After"] == str(RETRY_AFTER_S)
    page = response.content.decode()
    assert 'id="signin-busy"' in page and "Many readers are signing in" in page
    assert f'value="{reader.username}"' in page  # the username is kept for the next try
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()  # not a failed sign-in: no step towards a lockout


@pytest.mark.django_db
def test_the_admin_login_shares_the_bound(gate_full, coordinator):
    response = Client(raise_request_exception=False).post(
        ADMIN_LOGIN, {"username": coordinator.username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 503 and response["Retry-After"] == str(RETRY_AFTER_S)
    assert b"Many readers are signing in" in response.content


@pytest.mark.django_db
def test_readers_already_signed_in_are_served_while_sign_ins_queue(gate_full, make_study, reader, coordinator):
    study = make_study("busy-study", n=2, repeat_sample_size=0)
    study_services.assignment_create(study=study, reader=reader, by=coordinator)
    study_services.study_open(study=study, by=coordinator)
    client = Client()
    client.force_login(reader)
    assert client.get("/").status_code == 200
    worklist = client.get(f"/api/v1/reading/{study.slug}/worklist/")
    assert worklist.status_code == 200 and worklist.json()["next"] is not None


@pytest.mark.django_db
def test_a_sign_in_that_waits_its_turn_goes_through(reader):
    gate = signin.gate()
    release = threading.Event()
    holder = _hold(gate, [], "a", release, [])
    _wait_until(lambda: gate.state() == (1, 0))
    threading.Timer(0.3, release.set).start()  # the check ahead of it ends after 0.3 s
    client = Client()
    started = time.monotonic()
    response = client.post(LOGIN, {"username": reader.username, "password": PASSWORD, "next": "/"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(reader.pk)
    assert time.monotonic() - started >= 0.3
    holder.join(5)
    assert gate.state() == (0, 0)


@pytest.mark.django_db
def test_a_wrong_password_still_counts_towards_the_lockout(reader):
    response = Client().post(LOGIN, {"username": reader.username, "password": "wrong-password"},
                             REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200 and signin.gate().state() == (0, 0)
    assert AccessAttempt.objects.get(username=reader.username).failures_since_start == 1


@pytest.mark.django_db
def test_a_form_without_a_password_is_answered_at_once_even_when_the_bound_is_reached(gate_full, reader):
    response = Client().post(LOGIN, {"username": reader.username, "password": ""})
    assert response.status_code == 200 and 'id="signin-busy"' not in response.content.decode()
