"""AI feedback for trainees: only after their own read, only in feedback studies, only for
cases in their worklist; each view audited."""

from __future__ import annotations

import base64
import io
import uuid

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from inference.saliency import heat_volume_decode
from readerstudy.core.models import AuditEvent
from readerstudy.predictions import registry, services
from readerstudy.predictions.models import Prediction
from readerstudy.predictions.selectors import case_center
from readerstudy.predictions.tasks import predict_case
from readerstudy.studies.models import Study
from readerstudy.studies.protocol import FEATURES
from readerstudy.studies.services import assignment_create, study_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def trainee(make_reader):
    return make_reader("trainee_t", "trainee", 1)


@pytest.fixture
def feedback_study(ct_study, ct_model, trainee, other_reader) -> Study:
    """The CT study as a teaching study, open, two readers assigned, and the model's
    prediction of the first reading case, made by the worker's task with its saliency map."""
    ct_study.mode = "teaching"
    ct_study.save()
    for user in (trainee, other_reader):
        assignment_create(study=ct_study, reader=user)
    study_open(study=ct_study)
    job, _ = services.inference_job_start(study=ct_study, model_version=ct_model, dispatch=False)
    predict_case.apply(kwargs={"case_pk": _reading_case(ct_study).pk, "model_version_pk": ct_model.pk,
                               "job_pk": job.pk})
    return ct_study


def _reading_case(study: Study):
    return study.cases.exclude(test_set="training").order_by("source_case_id").first()


def _submit(client, study: Study, code: str, call: str = "benign"):
    response = client.post(f"/api/v1/reading/{study.slug}/reads/", {
        "case": code, "round": "first", "call": call, "confidence": 80 if call == "malignant" else 20,
        "submission_id": str(uuid.uuid4()),
    }, format="json")
    assert response.status_code == 201, response.content
    return response


def _feedback(client, study: Study, code: str):
    return client.get(reverse("trainee-feedback", kwargs={"slug": study.slug, "code": code}))


def _png(data_uri: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri[len(prefix):]))))


def test_after_their_read_a_trainee_sees_the_model_the_reference_and_where_it_looked(
        client_for, trainee, feedback_study, ct_model):
    client = client_for(trainee)
    case = _reading_case(feedback_study)
    _submit(client, feedback_study, case.code, call="malignant")

    response = _feedback(client, feedback_study, case.code)

    assert response.status_code == 200
    body = response.json()
    prediction = Prediction.objects.get(case=case)
    assert body["case"] == case.code
    assert body["mode"] == "teaching" and body["your_reads"]["first"]["call"] == "malignant"
    assert body["reference"]["label"] == case.reference.label
    assert body["reference"]["source"] == case.reference.source
    assert body["model"]["reader"] == ct_model.reader_name
    assert body["model"]["probability"] == prediction.probability
    assert body["model"]["three_tier"] == prediction.three_tier
    assert body["model"]["call"] == ("malignant" if prediction.probability >= 0.5 else "benign")
    assert body["saliency"]["method"] == "Grad-CAM"
    assert [v["view"] for v in body["saliency"]["views"]] == ["axial", "sagittal", "coronal"]
    assert all(_png(v["png"]).shape == (64, 64, 3) for v in body["saliency"]["views"])
    # The map placed in the patient for the viewer's overlay: the patch's 64 mm around the centre.
    volume = body["saliency"]["volume"]
    assert (volume["shape"], volume["axes"], volume["spacing_mm"]) == ([64, 64, 64], "SPL", 1.0)
    assert volume["origin_lps"] == pytest.approx([c - 32 for c in case_center(case)])
    assert heat_volume_decode(volume).max() == 1.0
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.FEEDBACK)
    assert (event.actor, event.object_id, event.study_slug) == (trainee, case.code, feedback_study.slug)


def test_the_feedback_shows_the_saliency_the_worker_stored_and_loads_no_network(
        client_for, trainee, feedback_study, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a feedback request loaded the model")

    monkeypatch.setattr(registry, "model_version_load", no_network)
    client = client_for(trainee)
    case = _reading_case(feedback_study)
    _submit(client, feedback_study, case.code)

    body = _feedback(client, feedback_study, case.code).json()

    assert body["saliency"] == Prediction.objects.get(case=case).saliency
    assert body["saliency"]["method"] == "Grad-CAM"


def test_feedback_is_404_before_the_trainees_own_read(client_for, trainee, feedback_study):
    response = _feedback(client_for(trainee), feedback_study, _reading_case(feedback_study).code)

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.FEEDBACK).exists()


def test_another_readers_read_does_not_unlock_a_trainees_feedback(client_for, trainee, other_reader,
                                                                  feedback_study):
    code = _reading_case(feedback_study).code
    _submit(client_for(other_reader), feedback_study, code)

    assert _feedback(client_for(trainee), feedback_study, code).status_code == 404
    assert _feedback(client_for(other_reader), feedback_study, code).status_code == 200


def test_feedback_is_404_in_a_blinded_study(client_for, trainee, ct_study, ct_model):
    assignment_create(study=ct_study, reader=trainee)
    study_open(study=ct_study)
    client = client_for(trainee)
    code = _reading_case(ct_study).code
    _submit(client, ct_study, code)

    assert _feedback(client, ct_study, code).status_code == 404


def test_feedback_is_404_for_cases_outside_the_worklist(client_for, trainee, feedback_study):
    client = client_for(trainee)
    training_case = feedback_study.cases.filter(test_set="training").first()

    assert _feedback(client, feedback_study, training_case.code).status_code == 404
    assert _feedback(client, feedback_study, "NOSUCHCA").status_code == 404
    assert _feedback(client, Study(slug="other-study"), _reading_case(feedback_study).code).status_code == 404


def test_feedback_is_404_for_readers_not_assigned_and_for_anonymous_users(client_for, make_reader,
                                                                          coordinator, feedback_study):
    code = _reading_case(feedback_study).code
    assert _feedback(client_for(make_reader("outsider")), feedback_study, code).status_code == 404
    assert _feedback(client_for(coordinator), feedback_study, code).status_code == 404
    assert _feedback(client_for(None), feedback_study, code).status_code in (401, 403)


def test_without_a_prediction_the_feedback_has_no_model_part(client_for, trainee, feedback_study):
    client = client_for(trainee)
    case = _reading_case(feedback_study)
    Prediction.objects.filter(case=case).delete()
    _submit(client, feedback_study, case.code)

    body = _feedback(client, feedback_study, case.code).json()

    assert body["model"] is None and body["saliency"] is None
    assert body["reference"]["label"] == case.reference.label


def test_an_attending_in_a_teaching_study_is_never_shown_the_feedback(client_for, make_reader,
                                                                       feedback_study):
    feedback_study.refresh_from_db()  # opened since the fixture's instance was made
    attending = make_reader("attending_a", "attending", 12)
    assignment_create(study=feedback_study, reader=attending)
    client = client_for(attending)
    code = _reading_case(feedback_study).code
    _submit(client, feedback_study, code, call="malignant")

    assert _feedback(client, feedback_study, code).status_code == 404
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.FEEDBACK).exists()


def test_a_trainee_sees_an_attendings_features_beside_their_own_with_the_discordant_marked(
        client_for, make_reader, trainee, feedback_study):
    feedback_study.refresh_from_db()
    feedback_study.ask_features = True
    feedback_study.save()
    attending = make_reader("attending_a", "attending", 12)
    assignment_create(study=feedback_study, reader=attending)
    code = _reading_case(feedback_study).code
    theirs = {key: False for key in FEATURES} | {"soft_tissue_mass": True, "mass_like_lesion": True}
    mine = {key: False for key in FEATURES} | {"mass_like_lesion": True, "fluid_cleft": True}
    for user, features in ((attending, theirs), (trainee, mine)):
        response = client_for(user).post(f"/api/v1/reading/{feedback_study.slug}/reads/", {
            "case": code, "round": "first", "call": "malignant", "confidence": 80,
            "features": features, "submission_id": str(uuid.uuid4()),
        }, format="json")
        assert response.status_code == 201, response.content

    body = _feedback(client_for(trainee), feedback_study, code).json()

    rows = {row["key"]: row for row in body["features"]["rows"]}
    assert {key for key, row in rows.items() if row["discordant"]} == {"soft_tissue_mass", "fluid_cleft"}
    assert body["features"]["discordant"] == 2
    assert rows["mass_like_lesion"] == {"key": "mass_like_lesion", "label": FEATURES["mass_like_lesion"],
                                        "yours": True, "expert": True, "discordant": False}
    assert body["features"]["expert"] == {"role": "Attending", "years_experience": 12}
    assert "attending_a" not in str(body)


def test_the_feedback_route_is_not_one_of_the_blinded_reading_routes():
    name = "trainee-feedback"
    assert reverse(name, kwargs={"slug": "s", "code": "C"}) == "/api/v1/feedback/s/C/"
    assert not name.startswith("reading-")


def test_in_an_assisted_study_the_worker_stores_the_map_and_the_reveal_follows_the_unaided_read(
        client_for, ct_study, ct_model, other_reader):
    ct_study.mode = "assisted"
    ct_study.save()
    assignment_create(study=ct_study, reader=other_reader)
    study = study_open(study=ct_study)
    job, _ = services.inference_job_start(study=study, model_version=ct_model, dispatch=False)
    case = _reading_case(study)
    predict_case.apply(kwargs={"case_pk": case.pk, "model_version_pk": ct_model.pk, "job_pk": job.pk})
    client = client_for(other_reader)
    assert _feedback(client, study, case.code).status_code == 404

    _submit(client, study, case.code)
    body = _feedback(client, study, case.code).json()

    assert body["saliency"]["volume"]["axes"] == "SPL" and body["model"]["reader"] == ct_model.reader_name
    assert body["reference"] is None and body["aided"] == {"code": case.code, "round": "aided"}
