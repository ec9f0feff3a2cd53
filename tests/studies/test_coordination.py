"""The coordinator's services (study settings, opening and closing, assignments) and the API
and admin that call them: one rule each, whichever way in."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from readerstudy.core.models import AuditEvent
from readerstudy.studies import services
from readerstudy.studies.models import Assignment, CaseOpening, ReadingSlot, Study
from readerstudy.studies.selectors import worklist_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_study(make_study, reader, other_reader):
    study = make_study("coord", n=4, repeat_sample_size=1)
    services.assignment_create(study=study, reader=reader)
    services.assignment_create(study=study, reader=other_reader)
    return services.study_open(study=study)


def first_read(study, reader) -> None:
    code = worklist_for(study=study, reader=reader)["next"]["code"]
    services.read_submit(study=study, reader=reader, data={
        "case": code, "round": "first", "call": "benign", "confidence": 10, "submission_id": str(uuid.uuid4())})


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="admin", password="x-admin-password")
    client.force_login(admin)
    client.admin = admin
    return client


# ---- study settings ------------------------------------------------------------------------


def test_saving_a_new_study_validates_it_and_audits_its_creation(coordinator):
    study = services.study_save(study=Study(title="T", slug="t", modality="CT"), by=coordinator)
    assert study.created_by == coordinator and study.status == Study.Status.DRAFT
    assert AuditEvent.objects.get(study_slug="t").verb == "created"
    with pytest.raises(ValidationError, match="Unknown measurements: girth"):
        services.study_save(study=Study(title="U", slug="u", modality="CT", measurements=["girth"]))
    with pytest.raises(ValidationError) as refused:
        services.study_save(study=Study(title="V", slug="t", modality="CT", washout_days=0))
    assert set(refused.value.message_dict) == {"slug", "washout_days"}


def test_an_unchanged_save_writes_no_audit_event(make_study, coordinator):
    study = make_study("same", n=0)
    services.study_save(study=study, by=coordinator)
    assert not AuditEvent.objects.filter(study_slug="same").exists()


def test_the_status_changes_only_by_opening_and_closing(make_study):
    study = make_study("status", n=2)
    study.status = Study.Status.OPEN
    with pytest.raises(ValidationError, match="opened and closed by its own actions"):
        services.study_save(study=study)
    with pytest.raises(ValidationError, match="starts as a draft"):
        services.study_save(study=Study(title="W", slug="w", modality="CT", status=Study.Status.CLOSED))


def test_the_slug_is_fixed_once_the_study_is_opened(make_study, reader):
    study = make_study("named", n=2)
    study.slug = "renamed"
    services.study_save(study=study)  # a draft may still be renamed
    study = services.study_open(study=study)
    study.slug = "again"
    with pytest.raises(ValidationError, match="its slug is fixed once it has been opened"):
        services.study_save(study=study)


def test_what_the_reading_orders_are_drawn_from_is_fixed_once_the_study_is_opened(open_study):
    """Before any read, too: the orders and the repeat samples already exist."""
    for field, value in (("seed", 99), ("repeat_sample_size", 3), ("repeat_same_patients", False)):
        study = Study.objects.get(pk=open_study.pk)
        setattr(study, field, value)
        with pytest.raises(ValidationError, match=f"drawn when the study was opened, so these fields are fixed: {field}"):
            services.study_save(study=study)
    study = Study.objects.get(pk=open_study.pk)
    study.washout_days = 42  # due dates are computed, not drawn: still free until the first read
    services.study_save(study=study)


def test_the_modality_is_fixed_once_cases_exist(make_study):
    empty = make_study("empty", n=0)
    empty.modality = "MR"
    services.study_save(study=empty)
    study = make_study("with-cases", n=1)
    study.modality = "MR"
    with pytest.raises(ValidationError, match="already has cases imported as CT"):
        services.study_save(study=study)


def test_the_frozen_settings_are_refused_after_the_first_read_but_the_title_is_not(open_study, reader):
    first_read(open_study, reader)
    open_study.repeat_sample_size = 5
    with pytest.raises(ValidationError, match="frozen: repeat_sample_size"):
        services.study_save(study=open_study)
    open_study.refresh_from_db()
    open_study.title = "Clearer"
    services.study_save(study=open_study)
    assert AuditEvent.objects.get(study_slug="coord", verb="changed", details__fields=["title"])


def test_the_api_creates_and_changes_studies_through_the_same_rule(open_study, coordinator, client_for, reader):
    api = client_for(coordinator)
    created = api.post("/api/v1/studies/", {"title": "API", "slug": "api-study", "modality": "CT"})
    assert created.status_code == 201, created.content
    assert AuditEvent.objects.get(study_slug="api-study").actor == coordinator

    refused = api.patch(f"/api/v1/studies/{open_study.slug}/", {"slug": "moved"})
    assert refused.status_code == 400
    assert "its slug is fixed once it has been opened" in refused.json()["slug"][0]
    first_read(open_study, reader)
    frozen = api.patch(f"/api/v1/studies/{open_study.slug}/", {"washout_days": 7})
    assert frozen.status_code == 400 and "frozen: washout_days" in frozen.json()["non_field_errors"][0]
    assert api.patch(f"/api/v1/studies/{open_study.slug}/", {"title": "Better"}).status_code == 200


# ---- opening and closing -------------------------------------------------------------------


def test_closing_is_final_and_a_draft_cannot_be_closed(make_study, open_study, client_for, coordinator):
    draft = make_study("draft", n=2)
    with pytest.raises(ValidationError, match="nothing to close"):
        services.study_close(study=draft)
    assert client_for(coordinator).post("/api/v1/studies/draft/close/").status_code == 400
    closed = services.study_close(study=open_study)
    assert services.study_close(study=closed).status == Study.Status.CLOSED  # again: no change
    assert AuditEvent.objects.filter(study_slug="coord", details__status="closed").count() == 1


# ---- assignments ---------------------------------------------------------------------------


def test_removing_a_reader_without_reads_deletes_their_orders_and_openings(open_study, reader, other_reader):
    code = worklist_for(study=open_study, reader=reader)["next"]["code"]
    services.case_open(study=open_study, reader=reader, code=code)
    services.assignment_remove(study=open_study, reader=reader)
    assert not Assignment.objects.filter(study=open_study, reader=reader).exists()
    assert not ReadingSlot.objects.filter(study=open_study, reader=reader).exists()
    assert not CaseOpening.objects.filter(reader=reader).exists()
    assert ReadingSlot.objects.filter(study=open_study, reader=other_reader).count() == 5  # 4 first + 1 repeat
    with pytest.raises(ValidationError, match="is not assigned to this study"):
        services.assignment_remove(study=open_study, reader=reader)


def test_a_reader_with_reads_cannot_be_removed(open_study, reader):
    first_read(open_study, reader)
    with pytest.raises(ValidationError, match="has submitted 1 read in this study"):
        services.assignment_remove(study=open_study, reader=reader)
    assert ReadingSlot.objects.filter(study=open_study, reader=reader).count() == 5


def test_the_api_removes_an_assignment_through_the_same_rule(open_study, reader, other_reader, coordinator,
                                                             client_for):
    first_read(open_study, reader)
    api = client_for(coordinator)
    refused = api.delete(f"/api/v1/studies/coord/assignments/{reader.username}/")
    assert refused.status_code == 409 and "has submitted 1 read" in refused.json()["detail"]
    assert api.delete(f"/api/v1/studies/coord/assignments/{other_reader.username}/").status_code == 204
    assert list(Assignment.objects.filter(study=open_study).values_list("reader__username", flat=True)) == [
        reader.username]
    assert client_for(reader).delete(f"/api/v1/studies/coord/assignments/{reader.username}/").status_code == 403


# ---- the admin -----------------------------------------------------------------------------


def test_an_assignment_made_in_the_admin_gets_its_reading_slots(admin_client, open_study, attending):
    response = admin_client.post(reverse("admin:studies_assignment_add"),
                                 {"study": open_study.pk, "reader": attending.pk})
    assert response.status_code == 302, response.content
    assert ReadingSlot.objects.filter(study=open_study, reader=attending).count() == 5
    assert worklist_for(study=open_study, reader=attending)["next"] is not None
    assert AuditEvent.objects.get(verb="assigned", details__reader=attending.username).actor == admin_client.admin


def test_the_admin_refuses_an_assignment_the_service_refuses(admin_client, open_study, coordinator, attending):
    add = reverse("admin:studies_assignment_add")
    response = admin_client.post(add, {"study": open_study.pk, "reader": coordinator.pk})
    assert response.status_code == 200
    assert "reader" in response.context["adminform"].form.errors  # only reader accounts are offered
    closed = services.study_close(study=open_study)
    response = admin_client.post(add, {"study": closed.pk, "reader": attending.pk})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Readers cannot be assigned to a closed study."]
    assert not Assignment.objects.filter(reader=attending).exists()


def test_the_admin_removes_only_readers_without_reads(admin_client, open_study, reader, other_reader):
    first_read(open_study, reader)
    response = admin_client.post(reverse("admin:studies_assignment_changelist"), {
        "action": "remove_readers", "_selected_action": list(open_study.assignments.values_list("pk", flat=True)),
    }, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("has submitted 1 read in this study" in t for t in texts)
    assert "Removed 1 assignment." in texts
    assert list(open_study.assignments.values_list("reader__username", flat=True)) == [reader.username]
    actions = admin_client.get(reverse("admin:studies_assignment_changelist")).context["action_form"]
    assert [name for name, _label in actions.fields["action"].choices if name] == ["remove_readers"]


def test_the_admin_opens_and_closes_studies_through_the_services(admin_client, make_study, reader):
    ready = make_study("ready", n=2)
    services.assignment_create(study=ready, reader=reader)
    empty = make_study("empty", n=0)
    response = admin_client.post(reverse("admin:studies_study_changelist"), {
        "action": "open_studies", "_selected_action": [ready.pk, empty.pk]}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert "empty: The study has no cases to read: import cases first." in texts
    assert "Opened: 1 study." in texts
    assert Study.objects.get(pk=ready.pk).status == "open" and Study.objects.get(pk=empty.pk).status == "draft"
    assert ReadingSlot.objects.filter(study=ready, reader=reader).count() == 4  # 2 first + 2 repeat
    admin_client.post(reverse("admin:studies_study_changelist"),
                      {"action": "close_studies", "_selected_action": [ready.pk]})
    assert Study.objects.get(pk=ready.pk).status == "closed"


def test_a_study_edited_in_the_admin_is_validated_by_the_same_rules(admin_client, make_study):
    study = make_study("admin-edit", n=1)
    change = reverse("admin:studies_study_change", args=[study.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and value is not False}
    response = admin_client.post(change, data | {"modality": "MR", "measurements": "[]"})
    assert response.status_code == 200
    assert "already has cases imported as CT" in str(response.context["adminform"].form.errors)
    response = admin_client.post(change, data | {"title": "Edited", "measurements": "[]"})
    assert response.status_code == 302
    assert AuditEvent.objects.get(study_slug="admin-edit", verb="changed").details["fields"] == ["title"]
