"""A study backed up and restored into a fresh database and empty storage comes back with no
difference: every row (reads and audit events to the microsecond), the de-identified DICOM and
the model's files; the archive's checksums guard it, and the de-identification key is never in it."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management import CommandError, call_command

from readerstudy.backup.archive import MANIFEST, RestoreError, study_restore
from readerstudy.core.models import AuditEvent
from readerstudy.imaging.models import DeidentificationKey
from readerstudy.predictions import services as prediction_services
from readerstudy.predictions.models import Prediction
from readerstudy.predictions.registry import checkpoint_dir
from readerstudy.predictions.tasks import run_inference_job
from readerstudy.studies import services
from readerstudy.studies.models import Read, ReadingSlot, Study
from tests.predictions.helpers import _storages

# A real flush (TRUNCATE on PostgreSQL) needs a transactional test.
pytestmark = pytest.mark.django_db(transaction=True)

#: Every table a study's data live in (the accounts with them); an omission shows as a difference.
APPS = ("core", "accounts", "studies", "imaging", "predictions")


def _database() -> dict[str, list[dict]]:
    """Every row of the project's tables and the user accounts, as Django's "python"
    serializer gives them (datetimes as objects, to the microsecond); the restore's own audit
    event aside."""
    dump: dict[str, list[dict]] = {}
    models = [m for m in apps.get_models() if m._meta.app_label in APPS] + [get_user_model()]
    for model in models:
        queryset = model.objects.order_by("pk")
        if model is AuditEvent:
            # exclude(details__action=...) would drop the rows without the key on PostgreSQL
            restored = [e.pk for e in queryset if e.details.get("action") == "restored"]
            queryset = queryset.exclude(pk__in=restored)
        dump[model._meta.label] = serializers.serialize("python", queryset)
    return dump


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def study_with_reads(ct_cases, ct_model, make_reader, coordinator):
    study = ct_cases[0].study
    readers = [make_reader("resident_a"), make_reader("attending_b", "attending", 9)]
    for reader in readers:
        services.assignment_create(study=study, reader=reader, by=coordinator)
    study = services.study_open(study=study, by=coordinator)
    for reader in readers:
        for slot in ReadingSlot.objects.filter(study=study, reader=reader, round="first")[:3]:
            services.case_open(study=study, reader=reader, code=slot.case.code)
            services.read_submit(study=study, reader=reader, data={
                "case": slot.case.code, "round": "first", "submission_id": str(uuid.uuid4()),
                "call": "malignant" if slot.position % 2 else "benign",
                "confidence": 70 if slot.position % 2 else 20})
    job, _ = prediction_services.inference_job_start(study=study, model_version=ct_model,
                                                     by=coordinator, dispatch=False)
    run_inference_job.apply(kwargs={"job_pk": job.pk})
    assert Prediction.objects.filter(case__study=study).count() == 4
    assert any(read.submitted_at.microsecond % 1000 for read in Read.objects.all()), \
        "the test needs timestamps below the millisecond"
    return study


def test_a_study_restored_into_a_fresh_database_and_storage_has_no_difference(
        study_with_reads, ct_model, settings, tmp_path):
    study = study_with_reads
    rows_before = _database()
    empty = [label for label in (
        "studies.Read", "studies.CaseOpening", "studies.ReadingSlot", "core.AuditEvent",
        "predictions.Prediction", "predictions.InferenceJob", "imaging.Instance")
        if not rows_before[label]]
    assert not empty
    dicom_before = _files(Path(settings.STORAGES["dicom"]["OPTIONS"]["location"]))
    model_before = _files(checkpoint_dir(ct_model))
    secret = DeidentificationKey.objects.get(study=study).secret
    archive, keys = tmp_path / "backup" / "ct-study.zip", tmp_path / "keys" / "ct-study.key.json"
    archive.parent.mkdir()
    keys.parent.mkdir()

    call_command("backup_study", study.slug, str(archive), "--keys", str(keys), stdout=io.StringIO())

    with zipfile.ZipFile(archive) as opened:
        assert all(secret.encode() not in opened.read(name) for name in opened.namelist())
    assert secret in keys.read_text() and keys.stat().st_mode & 0o777 == 0o600

    # A fresh site: an empty database, empty DICOM storage and model folder.
    call_command("flush", interactive=False, verbosity=0)
    fresh = tmp_path / "fresh"
    settings.STORAGES = _storages(settings.STORAGES, fresh)
    settings.READERSTUDY_MODEL_DIR = fresh / "models"
    assert not Read.objects.exists() and not fresh.exists()

    out = io.StringIO()
    call_command("restore_study", str(archive), "--keys", str(keys), stdout=out)

    assert "restored: 6 cases, 6 reads" in out.getvalue()
    assert _database() == rows_before
    assert _files(fresh / "dicom") == dicom_before
    assert _files(checkpoint_dir(ct_model)) == model_before
    (restored,) = AuditEvent.objects.filter(details__action="restored")
    assert restored.details["with_key"] is True

    # The restored study works: a new read gets a fresh id (the sequences were reset).
    reader = get_user_model().objects.get(username="resident_a")
    slot = ReadingSlot.objects.filter(study__slug=study.slug, reader=reader, round="first")[3]
    read, created = services.read_submit(study=Study.objects.get(slug=study.slug), reader=reader, data={
        "case": slot.case.code, "round": "first", "submission_id": str(uuid.uuid4()),
        "call": "benign", "confidence": 20})
    assert created and read.pk > max(r["pk"] for r in rows_before["studies.Read"])


def test_a_damaged_archive_is_refused_before_anything_is_written(study_with_reads, tmp_path):
    study = study_with_reads
    archive = tmp_path / "ct-study.zip"
    call_command("backup_study", study.slug, str(archive), "--without-keys", stdout=io.StringIO())
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "rows.json":
                data = data.replace(b'"benign"', b'"malignant"', 1)
            target.writestr(info, data)
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(CommandError, match=r"rows\.json is damaged"):
        call_command("restore_study", str(damaged))
    assert not Read.objects.exists()


def test_a_study_that_exists_is_not_restored_over(study_with_reads, tmp_path):
    archive = tmp_path / "ct-study.zip"
    call_command("backup_study", study_with_reads.slug, str(archive), "--without-keys",
                 stdout=io.StringIO())
    manifest = json.loads(zipfile.ZipFile(archive).read(MANIFEST))
    assert manifest["rows"] > 0 and "rows.json" in manifest["files"]

    with pytest.raises(RestoreError, match="exists here already"):
        study_restore(archive_path=archive)
