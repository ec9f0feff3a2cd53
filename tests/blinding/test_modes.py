"""The study modes, endpoint by endpoint: before a reader's read of a case is locked nothing of
the model or the truth reaches them by any endpoint (worklist, reading page, case payload,
DICOMweb metadata, instances, frames, WADO-URI, reads, the reveal); after it, a blinded study
still reveals nothing, an assisted study the model's output and saliency (never the truth) and
then takes an aided read in its own round, and a teaching study shows trainees the model, the
truth with its source, and nobody else anything.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from readerstudy.core.models import AuditEvent
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies import services
from readerstudy.studies.models import Read, ReadingSlot, Study
from tests.imaging.dicomweb import body_of, multipart_parts
from tests.predictions.helpers import (  # noqa: F401  (fixtures)
    ct_study,
    fresh_caches,
    imported_ct,
    storage_root,
)

pytestmark = pytest.mark.django_db

MODEL_NAME = "mode-model-secret"
PROBABILITY = 0.8137
SALIENCY_MARKER = "SALIENCYMARKERQZ"
# What no reader may receive before the lock: the model, its output, where it looked, the truth.
SECRETS = (MODEL_NAME.encode(), b"0.8137", b"81.37", SALIENCY_MARKER.encode(), b"histopathology",
           b"follow-up", b'"reference"', b'"saliency"')  # the JSON keys, not a script's file name


def _study(ct_study: Study, mode: str, readers) -> Study:  # noqa: F811
    ct_study.mode = mode
    ct_study.save()
    for user in readers:
        services.assignment_create(study=ct_study, reader=user)
    study = services.study_open(study=ct_study)
    model = ModelVersion.objects.create(name=MODEL_NAME, version="1", modality="CT", architecture="x",
                                        sha256="0" * 64, card={"thresholds": {"lower": 0.3, "upper": 0.7}},
                                        weights_path="none")
    job = InferenceJob.objects.create(study=study, model_version=model, status=InferenceJob.Status.DONE)
    for case in study.cases.all():
        Prediction.objects.create(
            case=case, model_version=model, job=job, probability=PROBABILITY, three_tier="malignant",
            runtime_s=1.0, saliency={"method": "Grad-CAM", "views": [
                {"view": "sagittal", "png": f"data:image/png;base64,{SALIENCY_MARKER}"}]})
    return study


@pytest.fixture
def client_for(settings):
    """A signed-in client (a session, so that the pages and the DICOM views see the user too)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


def _code(study: Study, reader) -> str:
    return ReadingSlot.objects.filter(study=study, reader=reader, round="first").order_by("position")[0].case.code


def _reveal(client, study: Study, code: str, round: str = "first"):
    return client.get(reverse("trainee-feedback", kwargs={"slug": study.slug, "code": code}) + f"?round={round}")


def everything_fetched(client, study: Study, code: str, round: str = "first") -> bytes:
    """Every body a reader can fetch for the case in ``round``: pages, payload, every DICOM
    request, the worklist and the receipts; the reveal must be a 404 here."""
    slug = study.slug
    bodies = []
    for url in ("/", "/api/v1/reading/", f"/api/v1/reading/{slug}/worklist/", f"/api/v1/reading/{slug}/reads/",
                f"/read/{slug}/{code}/?round={round}", f"/api/v1/reading/{slug}/cases/{code}/?round={round}"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        bodies.append(body_of(response))
    payload = client.get(f"/api/v1/reading/{slug}/cases/{code}/?round={round}").json()
    for series in payload["series"]:
        bodies.append(body_of(client.get(series["metadata_url"])))
        for instance in series["instances"][:3]:
            base = instance["frames_url"].removesuffix("/frames")
            [(_type, data)] = multipart_parts(client.get(base))
            bodies += [data, body_of(client.get(instance["wado_uri"]))]
            bodies += [data for _t, data in multipart_parts(client.get(f"{base}/frames/1"))]
    return b"".join(bodies)


def _submit(client, study: Study, code: str, round: str = "first", call: str = "benign"):
    return client.post(f"/api/v1/reading/{study.slug}/reads/", {
        "case": code, "round": round, "call": call, "confidence": 80 if call == "malignant" else 20,
        "submission_id": str(uuid.uuid4())}, format="json")


def _no_secrets(body: bytes) -> list[bytes]:
    return [s for s in SECRETS if s in body]


@pytest.mark.parametrize("mode", ["blinded", "assisted", "teaching"])
def test_before_the_lock_no_endpoint_carries_the_model_or_the_truth(mode, ct_study, make_reader,  # noqa: F811
                                                                    client_for):
    trainee = make_reader("trainee_t", "trainee", 1)
    study = _study(ct_study, mode, [trainee])
    client = client_for(trainee)
    code = _code(study, trainee)

    fetched = everything_fetched(client, study, code)

    assert _no_secrets(fetched) == []
    assert _reveal(client, study, code).status_code == 404
    # The aided round cannot be opened before the unaided read is locked (nor outside assisted studies).
    assert client.get(f"/api/v1/reading/{study.slug}/cases/{code}/?round=aided").status_code == 404
    assert client.get(f"/read/{study.slug}/{code}/?round=aided").status_code == 404


def test_a_blinded_study_reveals_nothing_after_the_read_either(ct_study, make_reader, client_for):  # noqa: F811
    trainee = make_reader("trainee_t", "trainee", 1)
    study = _study(ct_study, "blinded", [trainee])
    client = client_for(trainee)
    code = _code(study, trainee)
    assert _submit(client, study, code).status_code == 201

    assert _reveal(client, study, code).status_code == 404
    assert client.get(f"/api/v1/reading/{study.slug}/cases/{code}/?round=aided").status_code == 404
    assert _no_secrets(b"".join(body_of(client.get(url)) for url in (
        "/", f"/api/v1/reading/{study.slug}/worklist/", f"/api/v1/reading/{study.slug}/reads/"))) == []
    assert client.get(f"/api/v1/reading/{study.slug}/worklist/").json()["next"]["round"] == "first"


def test_an_assisted_study_reveals_the_model_after_the_lock_and_takes_an_aided_read_apart(
        ct_study, reader, client_for):  # noqa: F811
    study = _study(ct_study, "assisted", [reader])
    client = client_for(reader)
    code = _code(study, reader)
    assert _submit(client, study, code, call="benign").status_code == 201

    revealed = _reveal(client, study, code)

    assert revealed.status_code == 200
    body = revealed.json()
    assert body["model"]["probability"] == PROBABILITY and body["model"]["three_tier"] == "malignant"
    assert body["saliency"]["views"][0]["png"].endswith(SALIENCY_MARKER)
    assert body["reference"] is None and body["features"] is None
    assert b"histopathology" not in revealed.content
    assert body["aided"] == {"code": code, "round": "aided"}
    worklist = client.get(f"/api/v1/reading/{study.slug}/worklist/").json()
    assert worklist["next"] == {"code": code, "round": "aided", "position": worklist["next"]["position"]}
    # The aided round shows the same case: the same code and images, and the reveal beside them.
    opened = client.get(f"/api/v1/reading/{study.slug}/cases/{code}/?round=aided")
    assert opened.status_code == 200 and opened.json()["code"] == code
    # Numbered within its round: the first aided read is "case 1 of 4" (4 reading cases).
    assert (opened.json()["position"], opened.json()["total"]) == (1, 4)
    assert _reveal(client, study, code, round="aided").json()["model"]["probability"] == PROBABILITY

    # The unaided read cannot change; the aided read is stored as its own round.
    assert _submit(client, study, code, call="malignant").status_code == 409
    assert _submit(client, study, code, round="aided", call="malignant").status_code == 201
    unaided, aided = (Read.objects.get(reader=reader, round=r) for r in ("first", "aided"))
    assert (unaided.call, aided.call) == ("benign", "malignant")
    assert aided.first_read == unaided and aided.repeat_interval is None
    assert _submit(client, study, code, round="aided", call="benign").status_code == 409
    assert _reveal(client, study, code).json()["aided"] is None
    assert client.get(f"/api/v1/reading/{study.slug}/worklist/").json()["aided_round"] == {"done": 1, "total": 4}  # 4 reading cases


def test_an_assisted_reveal_is_each_readers_own(ct_study, reader, other_reader, client_for):  # noqa: F811
    study = _study(ct_study, "assisted", [reader, other_reader])
    code = _code(study, reader)
    assert _submit(client_for(other_reader), study, code).status_code == 201

    assert _reveal(client_for(reader), study, code).status_code == 404
    assert client_for(reader).get(f"/api/v1/reading/{study.slug}/cases/{code}/?round=aided").status_code == 404


def test_a_teaching_study_shows_trainees_the_truth_and_non_trainees_nothing(
        ct_study, make_reader, client_for):  # noqa: F811
    trainee = make_reader("trainee_t", "trainee", 1)
    attending = make_reader("attending_a", "attending", 15)
    study = _study(ct_study, "teaching", [trainee, attending])
    code = _code(study, trainee)
    for user in (trainee, attending):
        assert _submit(client_for(user), study, code).status_code == 201

    body = _reveal(client_for(trainee), study, code).json()
    assert body["reference"]["source"] == study.cases.get(code=code).reference.source
    assert body["model"]["probability"] == PROBABILITY and body["aided"] is None
    assert _reveal(client_for(attending), study, code).status_code == 404
    assert client_for(trainee).get(f"/api/v1/reading/{study.slug}/cases/{code}/?round=aided").status_code == 404


def test_the_mode_is_fixed_when_the_study_opens_and_its_changes_are_audited(make_study, coordinator):
    study = make_study("mode-audit", n=2)
    study.mode = "assisted"
    services.study_save(study=study, by=coordinator)
    event = AuditEvent.objects.filter(verb=AuditEvent.Verb.CHANGED, study_slug="mode-audit").latest("pk")
    assert event.details == {"fields": ["mode"], "mode_from": "blinded", "mode_to": "assisted"}
    services.study_open(study=study)
    study.refresh_from_db()
    study.mode = "teaching"
    with pytest.raises(services.ValidationError, match="mode"):
        services.study_save(study=study, by=coordinator)
    assert Study.objects.get(pk=study.pk).mode == "assisted"
