"""An outage of the database or the broker is answered 503 with ``Retry-After`` (JSON under the
API), and a job that could not be queued is ended instead of left waiting for ever."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.utils.html import escape

from readerstudy.analysis.models import AnalysisExport
from readerstudy.core.errors import RETRY_AFTER_S
from readerstudy.core.tasks import BROKER_UNAVAILABLE_MESSAGE, QUEUE_UNREACHABLE_ERROR
from readerstudy.studies import services as study_services
from tests.predictions.workers import broker

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """Every new cursor fails as a refused connection does (``psycopg`` and ``sqlite3`` both
    surface as Django's ``OperationalError``)."""
    def refuse(self):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    with mock.patch.object(BaseDatabaseWrapper, "_cursor", refuse):
        yield


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def broker_down() -> Iterator[str]:
    """A real Redis broker URL on a port where nothing listens (yielded): publishing a task
    fails as it does when Redis is stopped."""
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with broker(url):
        yield url


@pytest.fixture
def open_study(make_study, reader, coordinator):
    study = make_study("outage-study", n=4, repeat_sample_size=0)
    study_services.assignment_create(study=study, reader=reader, by=coordinator)
    return study_services.study_open(study=study, by=coordinator)


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _assert_503(response, *, json: bool) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_S)
    if json:
        assert response["Content-Type"] == "application/json"
        assert "unavailable" in response.json()["detail"]
    else:
        assert response["Content-Type"].startswith("text/html")
        assert b"unavailable" in response.content


def test_with_the_database_down_the_api_answers_json_503_with_retry_after(open_study, reader):
    client = _client(reader)
    with database_down():
        worklist = client.get(f"/api/v1/reading/{open_study.slug}/worklist/")
        read = client.post(f"/api/v1/reading/{open_study.slug}/reads/", {}, content_type="application/json")
        unknown = client.get("/api/v1/no-such-endpoint/")
    _assert_503(worklist, json=True)
    _assert_503(read, json=True)
    assert unknown.status_code in (404, 503) and unknown["Content-Type"] == "application/json"


def test_with_the_database_down_a_page_answers_503_with_retry_after(open_study, reader):
    client = _client(reader)
    with database_down():
        _assert_503(client.get("/"), json=False)


def test_an_error_inside_a_drf_view_that_is_not_an_outage_stays_a_json_500(open_study, reader):
    client = _client(reader)
    with mock.patch("readerstudy.studies.api.reader.selectors.study_for_reader",
                    side_effect=RuntimeError("a bug")):
        response = client.get(f"/api/v1/reading/{open_study.slug}/worklist/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error. It has been logged."}


@pytest.mark.django_db(transaction=True)  # the task is sent on commit, inside the request
def test_an_export_requested_while_the_broker_is_down_is_503_and_not_left_queued(
        open_study, coordinator):
    client = _client(coordinator)
    with broker_down():
        response = client.post(f"/api/v1/studies/{open_study.slug}/exports/", {},
                               content_type="application/json")
    assert response.status_code == 503 and response["Retry-After"] == str(RETRY_AFTER_S)
    assert response.json()["detail"] == BROKER_UNAVAILABLE_MESSAGE
    export = AnalysisExport.objects.get(study=open_study)
    assert export.status == "failed" and export.error == QUEUE_UNREACHABLE_ERROR

    # The broker is back: the next request makes a new export instead of returning the dead one.
    again = client.post(f"/api/v1/studies/{open_study.slug}/exports/", {},
                        content_type="application/json")
    assert again.status_code == 202 and again.json()["id"] != export.pk
    assert AnalysisExport.objects.get(pk=again.json()["id"]).status == "done"


@pytest.mark.django_db(transaction=True)
def test_the_exports_page_says_the_queue_is_away_and_leaves_no_export_queued(open_study, coordinator,
                                                                             caplog):
    client = _client(coordinator)
    with broker_down() as url:
        response = client.post(f"/coordinator/{open_study.slug}/exports/", {
            "n_boot": 200, "seed": 1, "alpha": 0.05}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert escape(BROKER_UNAVAILABLE_MESSAGE) in page
    assert escape(QUEUE_UNREACHABLE_ERROR) in page  # the failed export's row
    assert not AnalysisExport.objects.filter(status__in=["queued", "running"]).exists()
    # The broker's address and the error are for the administrator: in the log, not on the page.
    port = str(urlsplit(url).port)
    assert port not in page and "redis" not in page.lower() and "Connection refused" not in page
    logged = [r.getMessage() for r in caplog.records if r.name == "readerstudy.core.tasks"]
    assert len(logged) == 1 and "analysis.export_job" in logged[0] and f":{port}" in logged[0]
