"""The import endpoint: a coordinator uploads a zip of manifest.csv and the DICOM tree."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from readerstudy.imaging.models import Instance
from readerstudy.studies.models import Case
from tests.imaging.factory import ct_case, write_manifest

pytestmark = pytest.mark.django_db


def zipped(root: Path, manifest_rows: list[dict], *, extra: dict[str, bytes] | None = None) -> SimpleUploadedFile:
    write_manifest(root / "manifest.csv", manifest_rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return SimpleUploadedFile("upload.zip", buffer.getvalue(), content_type="application/zip")


def test_a_coordinator_imports_a_zip(ct_study, dicom_root, coordinator, client_for):
    upload = zipped(dicom_root, [ct_case(dicom_root, n=6)])
    response = client_for(coordinator).post("/api/v1/studies/ct-study/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cases"] == [Case.objects.get().code]
    assert (body["series"], body["instances"]) == (2, 6 + 64)


def test_a_refused_zip_answers_400_with_every_problem_and_imports_nothing(ct_study, dicom_root, coordinator,
                                                                          client_for, stored_files):
    row = ct_case(dicom_root, n=6) | {"label": "unsure"}
    upload = zipped(dicom_root, [row], extra={"P0001/ct_axial/junk.dcm": b"not dicom"})
    response = client_for(coordinator).post("/api/v1/studies/ct-study/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["problems"] == [
        {"row": 2, "reason": "unknown label 'unsure' (use one of: benign, malignant)"},
    ]
    assert not Case.objects.exists() and not Instance.objects.exists() and stored_files() == []

    upload = zipped(dicom_root, [ct_case(dicom_root, "P9/ct", n=6, case_id="x", patient_id="x")],
                    extra={"P9/ct/junk.dcm": b"not dicom"})
    response = client_for(coordinator).post("/api/v1/studies/ct-study/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert {"file": "P9/ct/junk.dcm",
            "reason": "not a DICOM file (no DICM prefix after the 128-byte preamble)"} in response.json()["problems"]


def test_a_zip_with_an_unsafe_path_is_refused(ct_study, dicom_root, coordinator, client_for):
    upload = zipped(dicom_root, [ct_case(dicom_root, n=6)], extra={"../escape.dcm": b"x"})
    response = client_for(coordinator).post("/api/v1/studies/ct-study/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["problems"][0]["file"] == "../escape.dcm"


def test_only_coordinators_may_import(ct_study, dicom_root, reader, client_for):
    upload = zipped(dicom_root, [ct_case(dicom_root, n=6)])
    assert client_for(reader).post("/api/v1/studies/ct-study/import/", {"file": upload},
                                   format="multipart").status_code == 403
    assert client_for(None).post("/api/v1/studies/ct-study/import/", {"file": upload},
                                 format="multipart").status_code in (401, 403)
    assert not Case.objects.exists()
