"""The coordinators' inference and predictions endpoints; readers get none of it."""

from __future__ import annotations

import pytest

from readerstudy.core.models import AuditEvent
from readerstudy.predictions.models import InferenceJob, Prediction

pytestmark = pytest.mark.django_db


def _inference(slug: str) -> str:
    return f"/api/v1/studies/{slug}/inference/"


def test_a_coordinator_starts_a_job_and_follows_its_progress(client_for, coordinator, ct_cases,
                                                             ct_model, django_capture_on_commit_callbacks):
    client = client_for(coordinator)
    study = ct_cases[0].study

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(_inference(study.slug), {}, format="json")

    assert started.status_code == 202
    assert started.json()["model"] == ct_model.reader_name
    overview = client.get(_inference(study.slug)).json()
    assert [m["reader"] for m in overview["model_versions"]] == [ct_model.reader_name]
    (job,) = overview["jobs"]
    assert (job["status"], job["done"], job["total"], job["progress"]) == ("done", 4, 4, 1.0)
    assert Prediction.objects.count() == 4
    assert AuditEvent.objects.filter(verb="inference", actor=coordinator).exists()


def test_a_start_names_the_model_as_name_at_version(client_for, coordinator, ct_cases, ct_model,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(coordinator).post(
            _inference(ct_cases[0].study.slug), {"model": f"{ct_model.name}@{ct_model.version}"},
            format="json",
        )

    assert response.status_code == 202
    assert InferenceJob.objects.get().model_version == ct_model


def test_an_unknown_model_is_a_400_naming_it(client_for, coordinator, ct_cases, ct_model):
    response = client_for(coordinator).post(_inference(ct_cases[0].study.slug), {"model": "nope@1"},
                                            format="json")

    assert response.status_code == 400
    assert "nope@1" in response.json()["model"][0]
    assert not InferenceJob.objects.exists()


def test_a_second_start_while_one_is_queued_returns_the_same_job_with_200(client_for, coordinator,
                                                                          ct_cases, ct_model):
    client = client_for(coordinator)
    first = client.post(_inference(ct_cases[0].study.slug), {}, format="json")
    second = client.post(_inference(ct_cases[0].study.slug), {}, format="json")

    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]


def test_the_coordinator_lists_the_predictions(client_for, coordinator, ct_cases, ct_model,
                                               django_capture_on_commit_callbacks):
    client = client_for(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_inference(ct_cases[0].study.slug), {}, format="json")

    rows = client.get(f"/api/v1/studies/{ct_cases[0].study.slug}/predictions/").json()

    assert sorted(r["case"] for r in rows) == sorted(c.code for c in ct_cases)
    stored = {p.case.code: p.probability for p in Prediction.objects.select_related("case")}
    assert all(r["probability"] == stored[r["case"]] for r in rows)
    assert {r["reader"] for r in rows} == {ct_model.reader_name}


@pytest.mark.parametrize("path", ["inference", "predictions"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_readers_and_strangers_get_nothing(client_for, reader, ct_cases, ct_model, path, method):
    url = f"/api/v1/studies/{ct_cases[0].study.slug}/{path}/"
    for user in (reader, None):
        response = getattr(client_for(user), method)(url, {}, format="json")
        assert response.status_code in (401, 403)
        assert "probability" not in response.content.decode()
    assert not InferenceJob.objects.exists()


def test_an_unknown_study_is_a_404_for_coordinators(client_for, coordinator, db):
    assert client_for(coordinator).get(_inference("no-such-study")).status_code == 404
