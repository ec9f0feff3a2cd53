"""The same submission id sent several times at once lands once, and every copy is answered
with that first read: a page that retries a submission never hears "already read".

The race needs a database that serialises concurrent inserts on a unique index, so the test
runs on PostgreSQL (``DATABASE_URL``); on SQLite it is skipped, and under CI it must run.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from readerstudy.studies import pseudonyms, services
from readerstudy.studies.models import Read, ReadingSlot

COPIES = 5


@pytest.fixture
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run the concurrency tests on PostgreSQL (set DATABASE_URL)")
        pytest.skip("concurrent submissions need PostgreSQL: set DATABASE_URL")


@pytest.fixture
def open_study(postgresql, make_study, reader, coordinator):
    study = make_study("race-study", n=4, repeat_sample_size=0)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    return services.study_open(study=study, by=coordinator)


def _post_copies(study, reader, body: dict, monkeypatch) -> list[tuple[int, dict]]:
    """POST ``COPIES`` copies of ``body`` from as many threads, each on its own connection.

    Every copy passes the first look for its submission id before any copy stores a read
    (a barrier in the worklist check), then they go on a few milliseconds apart, so copies
    meet the stored twin at each later check and at the insert itself.
    """
    barrier = threading.Barrier(COPIES, timeout=30)
    slot_for = services._slot_for
    order = iter(range(COPIES))
    order_lock = threading.Lock()

    def slot_for_together(**kwargs):
        slot = slot_for(**kwargs)
        with order_lock:
            place = next(order)
        barrier.wait()
        time.sleep(0.03 * place)
        return slot

    monkeypatch.setattr(services, "_slot_for", slot_for_together)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        try:
            client = APIClient()
            client.force_authenticate(reader)
            response = client.post(f"/api/v1/reading/{study.slug}/reads/", body, format="json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_copies_of_one_submission_all_get_the_first_read(open_study, reader, monkeypatch):
    case = ReadingSlot.objects.get(study=open_study, reader=reader, round="first", position=1).case
    submission_id = str(uuid.uuid4())
    body = {"case": pseudonyms.case_code(case=case, round="first"), "round": "first",
            "call": "malignant", "confidence": 80, "submission_id": submission_id}

    answers = _post_copies(open_study, reader, body, monkeypatch)

    assert len(answers) == COPIES
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200] * (COPIES - 1) + [201], answers
    assert {body["submission_id"] for _, body in answers} == {submission_id}
    assert len({body["submitted_at"] for _, body in answers}) == 1
    assert Read.objects.filter(reader=reader, case=case).count() == 1


def test_concurrent_different_submissions_of_one_case_store_one_and_refuse_the_others(
        open_study, reader, monkeypatch):
    """The other side of the rule: distinct submission ids for one case are distinct reads,
    and only the first is kept."""
    case = ReadingSlot.objects.get(study=open_study, reader=reader, round="first", position=1).case
    code = pseudonyms.case_code(case=case, round="first")
    barrier = threading.Barrier(COPIES, timeout=30)
    slot_for = services._slot_for

    def slot_for_together(**kwargs):
        slot = slot_for(**kwargs)
        barrier.wait()
        return slot

    monkeypatch.setattr(services, "_slot_for", slot_for_together)
    answers: list[int] = []

    def post() -> None:
        try:
            client = APIClient()
            client.force_authenticate(reader)
            answers.append(client.post(f"/api/v1/reading/{open_study.slug}/reads/", {
                "case": code, "round": "first", "call": "benign", "confidence": 10,
                "submission_id": str(uuid.uuid4())}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [201] + [409] * (COPIES - 1)
    assert Read.objects.filter(reader=reader, case=case).count() == 1
