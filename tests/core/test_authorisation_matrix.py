"""Who may do what, over the whole URL configuration: every URL pattern x every persona
(anonymous, the assigned reader, another study's reader, a trainee, a coordinator) x every
method (GET, POST, PUT, PATCH, DELETE).

The URLs are found by walking the URL configuration, so a new endpoint is in the matrix
without being listed here; its arguments point at one open study that ``reader`` reads, with
reads by a colleague, model predictions, an export and a case with images (the DICOMweb URLs
name its series). Each request runs in a transaction
that is rolled back, so a coordinator's DELETE does not change what the next request meets.

Checked for every cell: no 5xx; nobody but a coordinator gets a 2xx from a coordinator's
URL; anonymous visitors get nothing but the login pages; a reader not assigned to the study
gets nothing of it; and no reader's response carries ground truth, model output, another
reader's read or anything that identifies a patient.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from readerstudy.analysis.models import AnalysisExport
from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import Series
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies import services
from readerstudy.studies.models import ReadingSlot
from tests.imaging.factory import ct_case, write_manifest

METHODS = ("get", "post", "put", "patch", "delete")
PERSONAS = ("anonymous", "reader", "other_study_reader", "trainee", "coordinator")
READERS = ("reader", "other_study_reader", "trainee")

# Open to anyone: the sign-in pages (and signing out, which needs no session).
PUBLIC = {"login", "logout", "admin:login", "admin:logout"}
# Any signed-in user: their own things, and the API's description (no data in it).
SIGNED_IN = {"me", "reading-studies", "web-worklist", "schema", "api-docs"}
# The API's description: it names the choices (a reference's source, ...), but holds no data.
DESCRIBES_THE_API = {"schema", "api-docs"}
# A reader's views of a study they read; the DICOMweb views serve that study's images.
READER_SCOPED = re.compile(r"^(reading-|web-read$|web-progress$|trainee-feedback$|dicomweb-|wado-uri$)")
# The assigned reader's GETs that must work (else the matrix could pass by refusing everyone).
READER_MUST_GET = {"me", "reading-studies", "reading-worklist", "reading-case", "web-worklist", "web-read",
                   "dicomweb-series-metadata", "dicomweb-instance", "dicomweb-frames"}
COORDINATOR_MUST_GET = {"web-coordinator-home", "web-coordinator", "study-list", "study-detail",
                        "study-case-list", "study-assignment-list", "reader-list", "web-lockouts",
                        "study-predictions", "study-exports"}

MARKERS = {
    "model": "matrix-model-secret",
    "probability": "0.8137",
    "colleague": "attending_c",
}
# Values of ``make_study``'s cases: patient identifiers, the source's ids, the reference.
CASE_SECRETS = ("Secret General Hospital", "PAT-0", "SRC-0", "VendorX", "histopathology",
                "metastatic adenocarcinoma", "follow-up stable",
                "MRN-MATRIX", "matrix-imaged")  # the imaged case's patient id and source case id
FORBIDDEN_KEYS = {"reference", "notes", "age", "sex", "institution", "scanner_vendor", "field_strength",
                  "patient_pseudonym", "source_case_id", "test_set", "truth", "probability",
                  "prediction", "predictions", "answers", "readers"}


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    """``(route, namespaced name, pattern)`` of every named URL pattern."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name, pattern


def url_patterns() -> list[tuple[str, str]]:
    return sorted({(name, route) for route, name, _ in walk(get_resolver().url_patterns)})


def arguments(route: str) -> list[str]:
    """The names of a route's arguments: ``<slug:slug>`` and, in the admin's regexes, ``(?P<app_label>...)``."""
    return [a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)]


@pytest.fixture
def world(db, make_study, reader, other_reader, attending, make_reader, coordinator, settings, dicom_storages,
          tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    study = make_study("matrix-open", n=4, repeat_sample_size=0)
    # One case with images, so that the DICOMweb URLs name a real series of the reader's worklist.
    incoming = tmp_path / "incoming"
    row = ct_case(incoming, "imaged/ct", case_id="matrix-imaged", patient_id="MRN-MATRIX", n=3, rows=16, columns=16)
    import_study(study=study, manifest_text=write_manifest(tmp_path / "manifest.csv", [row]).read_text(),
                 dicom_root=incoming)
    series = Series.objects.get(case__study=study, role="axial")
    sop_uid = series.instances.order_by("position").first().sop_uid
    services.assignment_create(study=study, reader=reader)
    services.assignment_create(study=study, reader=attending)  # the colleague
    study = services.study_open(study=study)
    elsewhere = make_study("matrix-elsewhere", n=2, repeat_sample_size=0)
    services.assignment_create(study=elsewhere, reader=other_reader)
    elsewhere = services.study_open(study=elsewhere)
    trainee = make_reader("trainee_t", "trainee", 1)
    teaching = make_study("matrix-teaching", n=2, repeat_sample_size=0, mode="teaching")
    services.assignment_create(study=teaching, reader=trainee)
    teaching = services.study_open(study=teaching)

    # The colleague has read every case; the reader has read one.
    colleague_ids = []
    for slot in ReadingSlot.objects.filter(study=study, reader=attending).order_by("position"):
        submission = str(uuid.uuid4())
        colleague_ids.append(submission)
        services.case_open(study=study, reader=attending, code=slot.case.code, round="first")
        services.read_submit(study=study, reader=attending, data={
            "case": slot.case.code, "round": "first", "submission_id": submission,
            "call": "malignant", "confidence": 77})
    slots = list(ReadingSlot.objects.filter(study=study, reader=reader).order_by("position"))
    services.case_open(study=study, reader=reader, code=slots[0].case.code, round="first")
    services.read_submit(study=study, reader=reader, data={
        "case": slots[0].case.code, "round": "first", "submission_id": str(uuid.uuid4()),
        "call": "benign", "confidence": 20})

    model = ModelVersion.objects.create(name=MARKERS["model"], version="1", modality="CT", architecture="x",
                                        sha256="0" * 64, card={"thresholds": {"lower": 0.3, "upper": 0.7}},
                                        weights_path="none")
    job = InferenceJob.objects.create(study=study, model_version=model, status=InferenceJob.Status.DONE)
    for case in study.cases.all():
        Prediction.objects.create(case=case, model_version=model, job=job, probability=float(MARKERS["probability"]),
                                  three_tier="malignant", runtime_s=1.0)
    export = AnalysisExport.objects.create(study=study, fingerprint="f" * 64, parameters={})
    pk = {"inference": job.pk, "model": job.pk, "export": export.pk}
    return {
        "study": study, "code": slots[1].case.code, "pk": pk, "colleague_ids": colleague_ids,
        "personas": {"anonymous": None, "reader": reader, "other_study_reader": other_reader,
                     "trainee": trainee, "coordinator": coordinator},
        "kwargs": {"slug": study.slug, "study_slug": study.slug, "code": slots[1].case.code,
                   "username": reader.username, "app_label": "studies", "object_id": str(study.pk),
                   "id": str(reader.pk), "content_type_id": 1, "study_uid": series.study_uid,
                   "series_uid": series.series_uid, "sop_uid": sop_uid, "frames": "1"},
    }


def concrete_url(name: str, route: str, world) -> str:
    kwargs = {}
    for argument in arguments(route):
        if argument == "pk":
            kind = next((k for k in world["pk"] if k in route), None)
            assert kind, f"{name}: which object does <pk> of {route!r} name? Add it to world['pk']."
            kwargs["pk"] = world["pk"][kind]
        else:
            assert argument in world["kwargs"], f"{name}: add a value for <{argument}> to world['kwargs']."
            kwargs[argument] = world["kwargs"][argument]
    if name.startswith("admin:") and "app_label" in kwargs and name != "admin:app_list":
        kwargs.pop("app_label")
    return reverse(name, kwargs=kwargs or None)


def status_class(code: int) -> str:
    return f"{code // 100}xx"


def to_sign_in(response) -> bool:
    return response.status_code in (301, 302) and "login" in response.get("Location", "")


def forbidden_content(response, body: bytes, world) -> list[str]:
    text = body.decode("utf-8", errors="replace")
    found = [s for s in (*CASE_SECRETS, *MARKERS.values(), *world["colleague_ids"]) if s in text]
    if response.get("Content-Type", "").startswith("application/json") and text:
        found += sorted(_keys(json.loads(text)) & FORBIDDEN_KEYS)
    return found


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


class _Rollback(Exception):
    pass


def request(client: Client, method: str, url: str):
    """The response and its body, read inside a transaction that is then rolled back; the
    client keeps its session cookie (a sign-out, rolled back, does not sign it out)."""
    cookies = client.cookies
    client.cookies = SimpleCookie(cookies)
    try:
        with transaction.atomic():
            if method == "get":
                response = client.get(url)
            else:
                response = getattr(client, method)(url, content_type="application/json")
            body = b"".join(response.streaming_content) if response.streaming else response.content
            raise _Rollback
    except _Rollback:
        pass
    client.cookies = cookies
    return response, body


def problems_of(persona: str, name: str, method: str, response, body: bytes, world) -> list[str]:
    code = response.status_code
    where = f"{persona} {method.upper()} {name}: {code}"
    if code >= 500:
        return [f"{where} (server error)"]
    problems = []
    ok = 200 <= code < 300
    reader_scoped = name not in SIGNED_IN and READER_SCOPED.match(name)
    coordinator_only = name not in PUBLIC | SIGNED_IN and not reader_scoped
    if persona == "anonymous" and name not in PUBLIC and (ok or (code in (301, 302) and not to_sign_in(response))):
        problems.append(f"{where} (anonymous)")
    if persona in READERS and coordinator_only and (ok or (code in (301, 302) and not to_sign_in(response))):
        problems.append(f"{where} (a reader on a coordinator's URL)")
    if persona in ("other_study_reader", "trainee") and reader_scoped and ok:
        problems.append(f"{where} (not assigned to the study)")
    if persona in READERS and name not in DESCRIBES_THE_API:
        problems += [f"{where} carries {secret!r}" for secret in forbidden_content(response, body, world)]
    return problems


@pytest.mark.django_db
def test_every_url_for_every_persona_and_method(world):
    patterns = url_patterns()
    clients = {}
    for persona, user in world["personas"].items():
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        clients[persona] = client
    problems, classes, cells = [], Counter(), 0
    gets: dict[tuple[str, str], int] = {}
    for name, route in patterns:
        url = concrete_url(name, route, world)
        for persona in PERSONAS:
            for method in METHODS:
                response, body = request(clients[persona], method, url)
                cells += 1
                classes[status_class(response.status_code)] += 1
                if method == "get":
                    gets[persona, name] = response.status_code
                problems += problems_of(persona, name, method, response, body, world)
    print(f"\nauthorisation matrix: {len(patterns)} URL patterns x {len(PERSONAS)} personas x "
          f"{len(METHODS)} methods = {cells} requests; status classes {dict(sorted(classes.items()))}")
    assert not problems, "\n".join(problems)
    assert {n: gets["reader", n] for n in READER_MUST_GET} == dict.fromkeys(READER_MUST_GET, 200)
    assert {n: gets["coordinator", n] for n in COORDINATOR_MUST_GET} == dict.fromkeys(COORDINATOR_MUST_GET, 200)


def test_the_matrix_covers_every_app_of_the_url_configuration():
    names = {name for name, _route in url_patterns()}
    assert {"reading-reads", "web-read", "study-detail", "dicomweb-frames", "wado-uri", "trainee-feedback",
            "study-inference", "study-exports", "web-exports", "web-inference", "web-lockouts", "admin:index",
            "api-docs"} <= names
