"""Reads are immutable, studies freeze, the API denies by default, and nothing leaks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from readerstudy.core.models import AuditEvent
from readerstudy.imaging.models import VertebraLocation
from readerstudy.studies import services
from readerstudy.studies.exceptions import NotInWorklist, ReadConflict
from readerstudy.studies.models import Case, Read, ReadingSlot

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_study(make_study, reader, other_reader, coordinator):
    study = make_study("open-study", n=6, repeat_sample_size=3)
    for user in (reader, other_reader):
        services.assignment_create(study=study, reader=user, by=coordinator)
    return services.study_open(study=study, by=coordinator)


def submit(study, user, code, **answers):
    data = {"case": code, "round": "first", "submission_id": str(uuid.uuid4()), "call": "benign",
            "confidence": 10} | answers
    return services.read_submit(study=study, reader=user, data=data)


def first_code(study, user) -> str:
    return ReadingSlot.objects.get(study=study, reader=user, round="first", position=1).case.code


def test_a_submitted_read_cannot_be_changed_or_deleted(open_study, reader):
    read, created = submit(open_study, reader, first_code(open_study, reader))
    assert created
    read.call = "malignant"
    with pytest.raises(PermissionError):
        read.save()
    with pytest.raises(PermissionError):
        Read.objects.filter(pk=read.pk).update(call="malignant")
    with pytest.raises(PermissionError):
        read.delete()
    assert Read.objects.get(pk=read.pk).call == "benign"


def test_the_fields_that_give_reads_their_meaning_freeze_at_the_first_read(open_study, reader):
    open_study.washout_days = 10
    open_study.save()  # no reads yet: still allowed
    submit(open_study, reader, first_code(open_study, reader))
    open_study.washout_days = 14
    with pytest.raises(ValidationError, match="washout_days"):
        open_study.save()
    open_study.refresh_from_db()
    open_study.title = "A clearer title"
    open_study.save()  # a label is not frozen


def test_a_reused_submission_id_from_another_reader_is_refused(open_study, reader, other_reader):
    read, _ = submit(open_study, reader, first_code(open_study, reader))
    with pytest.raises(ReadConflict, match="submission id"):
        submit(open_study, other_reader, first_code(open_study, other_reader), submission_id=str(read.submission_id))


def test_a_case_outside_the_readers_worklist_is_not_found(open_study, make_study, reader):
    elsewhere = make_study("elsewhere", n=2).cases.first()
    with pytest.raises(NotInWorklist):
        submit(open_study, reader, elsewhere.code)
    with pytest.raises(NotInWorklist):
        services.case_open(study=open_study, reader=reader, code=elsewhere.code)


def test_reading_time_runs_from_the_first_opening_of_the_case(open_study, reader):
    code = first_code(open_study, reader)
    services.case_open(study=open_study, reader=reader, code=code, now=timezone.now() - timedelta(seconds=95))
    services.case_open(study=open_study, reader=reader, code=code)  # reopening keeps the first time
    read, _ = submit(open_study, reader, code)
    assert 94 <= read.reading_seconds <= 120
    assert AuditEvent.objects.filter(verb="opened", object_id=code).count() == 1
    assert AuditEvent.objects.filter(verb="submitted", study_slug=open_study.slug).count() == 1


def test_a_readers_receipts_never_show_the_answers(open_study, reader, client_for):
    submit(open_study, reader, first_code(open_study, reader), call="malignant", confidence=93)
    body = client_for(reader).get(f"/api/v1/reading/{open_study.slug}/reads/").json()
    assert set(body[0]) == {"submission_id", "case", "round", "position", "submitted_at"}


def test_coordinator_endpoints_refuse_readers_and_anonymous_users(open_study, reader, client_for):
    slug = open_study.slug
    code = open_study.cases.first().code
    paths = ["/api/v1/studies/", f"/api/v1/studies/{slug}/", f"/api/v1/studies/{slug}/progress/",
             f"/api/v1/studies/{slug}/schedule/", f"/api/v1/studies/{slug}/reads/",
             f"/api/v1/studies/{slug}/audit/", f"/api/v1/studies/{slug}/cases/",
             f"/api/v1/studies/{slug}/cases/{code}/", f"/api/v1/studies/{slug}/assignments/",
             "/api/v1/readers/"]
    for path in paths:
        assert client_for(reader).get(path).status_code == 403, path
        assert client_for(None).get(path).status_code in (401, 403), path
    assert client_for(reader).post(f"/api/v1/studies/{slug}/open/").status_code == 403


def test_a_study_the_reader_is_not_assigned_to_looks_the_same_as_one_that_does_not_exist(
        open_study, make_reader, client_for):
    stranger = client_for(make_reader("stranger"))
    for slug in (open_study.slug, "no-such-study"):
        assert stranger.get(f"/api/v1/reading/{slug}/worklist/").status_code == 404
    assert stranger.get("/api/v1/reading/").json() == []


def test_a_draft_study_is_not_offered_to_readers(make_study, reader, client_for):
    draft = make_study("draft", n=3)
    services.assignment_create(study=draft, reader=reader)
    assert client_for(reader).get("/api/v1/reading/draft/worklist/").status_code == 404


def test_scripts_authenticate_with_a_token(open_study, reader):
    token = Token.objects.create(user=reader)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"/api/v1/reading/{open_study.slug}/worklist/").json()["first_round"]["total"] == 6


def test_the_browser_session_needs_a_csrf_token_to_submit(open_study, reader):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=reader.username, password="correct-horse-battery")
    response = client.post(f"/api/v1/reading/{open_study.slug}/reads/", {
        "case": first_code(open_study, reader), "round": "first", "call": "benign",
        "confidence": 5, "submission_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_an_invalid_read_gets_field_errors_and_stores_nothing(open_study, reader, client_for):
    response = client_for(reader).post(f"/api/v1/reading/{open_study.slug}/reads/", {
        "case": first_code(open_study, reader), "round": "first", "call": "benign",
        "confidence": 99, "submission_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 400 and "contradictory" in response.json()["confidence"][0]
    assert not Read.objects.exists()


def test_a_benign_call_with_a_definitely_malignant_three_tier_call_is_refused(open_study, reader, client_for):
    open_study.ask_three_tier = True
    open_study.save()
    response = client_for(reader).post(f"/api/v1/reading/{open_study.slug}/reads/", {
        "case": first_code(open_study, reader), "round": "first", "call": "benign", "confidence": 20,
        "three_tier": "malignant", "submission_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"three_tier"} and "contradictory" in response.json()["three_tier"][0]
    assert not Read.objects.exists()


def test_a_reader_is_told_the_level_of_the_vertebra_and_where_it_is(open_study, reader, client_for):
    code = first_code(open_study, reader)
    case = Case.objects.get(study=open_study, code=code)
    VertebraLocation.objects.filter(case=case).delete()
    VertebraLocation.objects.create(case=case, center_x=1.234, center_y=-20.0, center_z=305.5,
                                    bbox_min_x=-20, bbox_min_y=-40, bbox_min_z=290,
                                    bbox_max_x=22, bbox_max_y=0, bbox_max_z=321)
    payload = client_for(reader).get(f"/api/v1/reading/{open_study.slug}/cases/{code}/").json()
    assert payload["target"] == {"level": case.vertebra_level, "center": [1.23, -20.0, 305.5],
                                 "box": [[-20, -40, 290], [22, 0, 321]]}


def test_the_openapi_schema_and_docs_are_served_to_signed_in_users(reader, client_for):
    schema = client_for(reader).get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/reading/{slug}/reads/" in schema.content
    assert client_for(reader).get("/api/docs/").status_code == 200
    assert client_for(None).get("/api/schema/").status_code in (401, 403)
