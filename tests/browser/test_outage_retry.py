"""A read answered 503 with Retry-After (the database or the task queue away for a moment) is
kept, the reader is told, and it is sent again after the wait the server asked for."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest

from readerstudy.studies.models import Read
from tests.browser.conftest import ARTIFACTS, sign_in, wait_until_loaded
from tests.browser.test_reading_room import open_next_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_read_answered_503_waits_as_the_server_asks_then_lands_once(page, live_server, ct_study, reader):
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    attempts: list[tuple[float, str]] = []

    def database_away_once(route):
        attempts.append((time.monotonic(), route.request.post_data_json["submission_id"]))
        if len(attempts) == 1:
            route.fulfill(status=503, headers={"Retry-After": "4", "Content-Type": "application/json"},
                          body=json.dumps({"detail": "The database is unavailable for a moment. "
                                           "Try again in a few seconds.", "code": "service_unavailable"}))
        else:
            route.continue_()

    page.route("**/api/v1/reading/*/reads/", database_away_once)
    page.keyboard.press("b")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.click("#confirm-submit")
    page.wait_for_selector('#submit-banner[data-kind="warning"]')
    banner = page.text_content("#submit-banner")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "outage_retry_503_banner.png"))
    assert "the server answered 503" in banner and "again in 4 s" in banner

    page.wait_for_url(lambda url: f"/{code}/" not in url, timeout=30_000)
    assert len(attempts) == 2 and attempts[0][1] == attempts[1][1]  # one submission id
    assert attempts[1][0] - attempts[0][0] >= 3.9  # waited as asked (its own backoff is 1 s)
    assert Read.objects.filter(reader=reader, case__code=code).count() == 1


def test_the_coordinator_is_told_when_the_task_queue_is_away(page, live_server, ct_study, reader,
                                                             coordinator):
    from readerstudy.analysis.models import AnalysisExport
    from tests.core.test_outages import broker_down

    sign_in(page, live_server, coordinator)
    page.goto(f"{live_server.url}/coordinator/{ct_study.slug}/exports/")
    with broker_down() as url:
        page.click("#run-export")
        page.wait_for_selector("text=The task queue is not reachable; the job was not queued.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "outage_export_broker_down.png"), full_page=True)
    # The broker's address stays in the server's log.
    assert f":{urlsplit(url).port}" not in page.content()
    assert not AnalysisExport.objects.filter(status__in=["queued", "running"]).exists()
