"""Shared fixtures: three personas (a reader, another reader, a coordinator) and a study."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from readerstudy.accounts.services import reader_create
from readerstudy.studies.models import Case, ReferenceStandard, Study

PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_reader(db):
    def make(username: str, role: str = "resident", years: int = 2):
        return reader_create(username=username, password=PASSWORD, role=role, years_experience=years)

    return make


@pytest.fixture
def reader(make_reader):
    return make_reader("resident_a", "resident", 2)


@pytest.fixture
def other_reader(make_reader):
    return make_reader("resident_b", "resident", 4)


@pytest.fixture
def attending(make_reader):
    return make_reader("attending_c", "attending", 7)


@pytest.fixture
def coordinator(django_user_model):
    return django_user_model.objects.create_user(username="coordinator", password=PASSWORD, is_staff=True)


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def dicom_storages(settings, tmp_path) -> dict[str, Path]:
    """Both DICOM storages in this test's temporary folder."""
    folders = {"dicom": tmp_path / "storage" / "dicom", "dicom_originals": tmp_path / "storage" / "originals"}
    storages = dict(settings.STORAGES)
    for alias, folder in folders.items():
        storages[alias] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                           "OPTIONS": {"location": folder}}
    settings.STORAGES = storages
    return folders


@pytest.fixture
def make_study(db):
    """A draft study with ``n`` test cases, half malignant, with demographics filled in."""

    def make(slug: str = "ct-study", n: int = 30, **fields) -> Study:
        fields = {"title": f"Study {slug}", "modality": "CT", "seed": 1234} | fields
        study = Study.objects.create(slug=slug, **fields)
        for i in range(n):
            case = Case.objects.create(
                study=study, source_case_id=f"SRC-{i:03d}", patient_pseudonym=f"PAT-{i:03d}",
                test_set="internal" if i % 3 else "external", vertebra_level="L1",
                age=60 + i, sex="F" if i % 2 else "M", institution="Secret General Hospital",
                scanner_vendor="VendorX", field_strength=None,
            )
            ReferenceStandard.objects.create(
                case=case, label="malignant" if i % 2 else "benign", source="histopathology",
                notes="biopsy: metastatic adenocarcinoma" if i % 2 else "follow-up stable",
            )
        return study

    return make


@pytest.fixture(autouse=True)
def eager_unless_worker(request):
    """Tasks run in this process (as without a broker), except in the ``worker`` tests,
    even where CI configures a broker for the whole suite."""
    from readerstudy.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
