"""What a coordinator changes in the admin goes through the services the API and the pages
call: the same rules, and an audit event for each change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from readerstudy.core.models import AuditEvent
from readerstudy.studies import services
from readerstudy.studies.models import Case, ReferenceStandard

pytestmark = pytest.mark.django_db


def form_data(form) -> dict:
    """A bound form's initial values as its widgets post them (a split date and time in two)."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or value is False:
            continue
        if hasattr(field.widget, "widgets"):
            for i, part in enumerate(field.widget.decompress(value)):
                data[form.add_prefix(f"{name}_{i}")] = part
        else:
            data[form.add_prefix(name)] = value
    return data


def posted(admin_client, url: str) -> dict:
    """The change form's data as the admin page would post it back unchanged."""
    context = admin_client.get(url).context
    data = form_data(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data |= form_data(formset.management_form)
        for form in formset.forms:
            data |= form_data(form)
    return data


def test_a_case_and_its_reference_standard_are_corrected_through_the_services(
        admin_client, admin_user, make_study):
    case = make_study("admin-case", n=1).cases.get()
    change = reverse("admin:studies_case_change", args=[case.pk])
    data = posted(admin_client, change) | {"institution": "Renamed Hospital",
                                           "reference-0-label": "malignant", "reference-0-notes": "revised"}
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    case.refresh_from_db()
    assert case.institution == "Renamed Hospital"
    reference = ReferenceStandard.objects.get(case=case)
    assert (reference.label, reference.notes) == ("malignant", "revised")
    events = AuditEvent.objects.filter(object_type="studies.case", object_id=case.code, verb="changed")
    assert events.filter(actor=admin_user).count() == 2
    assert events.get(details__reference="malignant").details["reference_source"] == "histopathology"


def test_a_case_with_reads_is_not_deleted_by_the_service_the_admin_calls(make_study, reader, coordinator):
    study = make_study("admin-delete", n=2)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    study = services.study_open(study=study, by=coordinator)
    code = services.reading_cases(study).order_by("code").first().code
    services.read_submit(study=study, reader=reader, data={
        "case": code, "submission_id": "0f8c0d2e-7c1b-4b53-9a55-6d2f5d1d3a10", "call": "benign", "confidence": 5})
    with pytest.raises(ValidationError, match="A case with reads cannot be deleted"):
        services.case_delete(case=Case.objects.get(code=code), by=coordinator)
    unread = study.cases.exclude(code=code).get()
    services.case_delete(case=unread, by=coordinator)
    assert not Case.objects.filter(pk=unread.pk).exists()


def test_a_case_deleted_in_the_admin_goes_through_the_service_and_is_audited(
        admin_client, admin_user, make_study):
    case = make_study("admin-delete-page", n=2).cases.order_by("code").first()
    delete = reverse("admin:studies_case_delete", args=[case.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists()
    event = AuditEvent.objects.get(object_type="studies.case", object_id=case.code)
    assert (event.actor, event.details["deleted"]) == (admin_user, True)


def test_reads_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, make_study, reader, coordinator):
    study = make_study("admin-reads", n=1)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    study = services.study_open(study=study, by=coordinator)
    read, _ = services.read_submit(study=study, reader=reader, data={
        "case": study.cases.get().code, "submission_id": "1f8c0d2e-7c1b-4b53-9a55-6d2f5d1d3a10",
        "call": "malignant", "confidence": 80})
    assert admin_client.get(reverse("admin:studies_read_add")).status_code == 403
    assert admin_client.post(reverse("admin:studies_read_change", args=[read.pk]),
                             {"call": "benign"}).status_code == 403
    assert admin_client.post(reverse("admin:studies_read_delete", args=[read.pk]),
                             {"post": "yes"}).status_code == 403
    read.refresh_from_db()
    assert (read.call, read.confidence) == ("malignant", 80)


def test_the_api_writes_cases_and_references_through_the_same_services(client_for, coordinator, make_study, reader):
    study = make_study("api-cases", n=1)
    api = client_for(coordinator)
    url = f"/api/v1/studies/{study.slug}/cases/"
    body = {"source_case_id": "NEW-1", "patient_pseudonym": "PAT-NEW", "test_set": "internal",
            "vertebra_level": "L2", "reference": {"label": "benign", "source": "follow-up"}}
    created = api.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    code = created.json()["code"]
    duplicate = api.post(url, body | {"patient_pseudonym": "PAT-OTHER"}, format="json")
    assert duplicate.status_code == 400 and "already in this study" in duplicate.json()["source_case_id"][0]

    patched = api.patch(f"{url}{code}/", {"reference": {"label": "malignant"}}, format="json")
    assert patched.status_code == 200, patched.json()
    reference = ReferenceStandard.objects.get(case__code=code)
    assert (reference.label, reference.source) == ("malignant", "follow-up")
    events = AuditEvent.objects.filter(object_type="studies.case", object_id=code, actor=coordinator)
    assert sorted(events.values_list("verb", flat=True)) == ["changed", "changed", "changed", "created"]

    assert api.delete(f"{url}{code}/").status_code == 204
    assert events.filter(details__deleted=True).exists()
