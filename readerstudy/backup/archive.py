"""One study in one zip archive, and back.

``study_backup`` writes ``rows.json`` (every row of the study: the study, its cases and
reference standard, readers' assignments, slots, case openings and reads, the images' series
and instances, the vertebra locations, the model runs and predictions with the model versions
they used, the user accounts and reader profiles these rows name, and the audit events of the
study and of those accounts and model versions; not the exports, which are recomputed), the de-identified DICOM under ``dicom/``, each model version's checkpoint files under
``models/<pk>/``, and ``manifest.json``: the SHA-256 and size of every other member.

Timestamps are written with their microseconds (``isoformat``), durations as ISO 8601
durations: Django's ``dumpdata`` JSON cuts both to milliseconds, so a read's reading time
or its order against an audit event would change in a round trip.

The study's de-identification key (the secret that maps source UIDs and patient ids to the
stored ones) is never in the archive: ``study_backup`` writes it to a key file of its own
(mode 0600), to be kept apart from the archives (docs/deployment.md). A restore without it
gives a study whose reads, images and analyses are whole, but whose cases cannot be
extended by a new import that must match the old pseudonyms.

``study_restore`` checks every checksum before it writes anything, refuses a study whose
slug exists, keeps user accounts and model versions that already exist with the same id and
name (and refuses ones whose id belongs to another), then writes the rows with their ids,
the files, and resets the database sequences.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.files.base import File
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q
from django.utils import timezone
from django.utils.duration import duration_iso_string

from readerstudy.accounts.models import ReaderProfile
from readerstudy.core.models import AuditEvent, audit
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.imaging.storage import dicom_storage
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.predictions.registry import checkpoint_dir
from readerstudy.studies.models import (
    Assignment,
    Case,
    CaseOpening,
    Read,
    ReadingSlot,
    ReferenceStandard,
    Study,
)

FORMAT = "readerstudy-study-backup/1"
ROWS = "rows.json"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class RestoreError(Exception):
    """The archive cannot be restored here (damaged, or it clashes with what exists)."""


@dataclass(frozen=True)
class BackupSummary:
    archive: Path
    keys: Path | None
    rows: int
    files: int
    bytes: int


# --------------------------------------------------------------------------- rows


def study_rows(study: Study) -> list[tuple[type[models.Model], models.QuerySet]]:
    """The study's rows by model, in an order that satisfies every foreign key."""
    user_model = get_user_model()
    reads = Read.objects.filter(study=study)
    jobs = InferenceJob.objects.filter(study=study)
    predictions = Prediction.objects.filter(case__study=study)
    user_ids: set[int] = set()
    for queryset, field in (
        (Assignment.objects.filter(study=study), "reader_id"),
        (ReadingSlot.objects.filter(study=study), "reader_id"),
        (CaseOpening.objects.filter(case__study=study), "reader_id"),
        (reads, "reader_id"),
        (jobs, "created_by_id"),
        (Study.objects.filter(pk=study.pk), "created_by_id"),
    ):
        user_ids.update(pk for pk in queryset.values_list(field, flat=True) if pk is not None)
    model_ids = set(predictions.values_list("model_version_id", flat=True)) | set(
        jobs.values_list("model_version_id", flat=True))
    # The study's events, and those of the accounts and model versions it carries along
    # (their creation, registration).
    audit_events = AuditEvent.objects.filter(
        Q(study_slug=study.slug)
        | Q(object_type=ModelVersion._meta.label_lower, object_id__in=[str(pk) for pk in model_ids])
        | Q(object_type=user_model._meta.label_lower, object_id__in=[str(pk) for pk in user_ids])
    )
    user_ids.update(pk for pk in audit_events.values_list("actor_id", flat=True) if pk is not None)
    return [
        (user_model, user_model.objects.filter(pk__in=user_ids)),
        (ReaderProfile, ReaderProfile.objects.filter(user_id__in=user_ids)),
        (ModelVersion, ModelVersion.objects.filter(pk__in=model_ids)),
        (Study, Study.objects.filter(pk=study.pk)),
        (Case, Case.objects.filter(study=study)),
        (ReferenceStandard, ReferenceStandard.objects.filter(case__study=study)),
        (VertebraLocation, VertebraLocation.objects.filter(case__study=study)),
        (Assignment, Assignment.objects.filter(study=study)),
        (ReadingSlot, ReadingSlot.objects.filter(study=study)),
        (CaseOpening, CaseOpening.objects.filter(case__study=study)),
        (Read, reads),
        (Series, Series.objects.filter(case__study=study)),
        (Instance, Instance.objects.filter(series__case__study=study)),
        (InferenceJob, jobs),
        (Prediction, predictions),
        (AuditEvent, audit_events),
    ]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # with microseconds, unlike DjangoJSONEncoder
    if isinstance(value, dt.timedelta):
        return duration_iso_string(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def rows_as_python(querysets: Iterable[tuple[type[models.Model], models.QuerySet]]) -> list[dict]:
    """Every row as Django's "python" serializer gives it, ordered by model then pk."""
    out: list[dict] = []
    for _model, queryset in querysets:
        out.extend(serializers.serialize("python", queryset.order_by("pk")))
    return out


def rows_dump(rows: list[dict]) -> bytes:
    return json.dumps(rows, default=_json_default, indent=1, sort_keys=True).encode()


# --------------------------------------------------------------------------- files


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while block := handle.read(CHUNK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def _dicom_names(study: Study) -> list[str]:
    names = set(Series.objects.filter(case__study=study).values_list("metadata_name", flat=True))
    names |= set(Instance.objects.filter(series__case__study=study).values_list("storage_name", flat=True))
    return sorted(names)


def _model_files(model_version: ModelVersion) -> Iterator[tuple[Path, str]]:
    """``(path, name in the archive)`` of each file of the version's checkpoint directory."""
    root = checkpoint_dir(model_version)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield path, f"models/{model_version.pk}/{path.relative_to(root).as_posix()}"


def _write_member(archive: zipfile.ZipFile, name: str, source: IO[bytes],
                  manifest: dict[str, dict]) -> int:
    digest, size = hashlib.sha256(), 0
    with archive.open(name, "w", force_zip64=True) as target:
        while block := source.read(CHUNK):
            digest.update(block)
            size += len(block)
            target.write(block)
    manifest[name] = {"sha256": digest.hexdigest(), "size": size}
    return size


def _schema() -> dict[str, str]:
    """The newest applied migration of each of the project's apps."""
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        if app in ("core", "accounts", "studies", "imaging", "predictions"):
            latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


# --------------------------------------------------------------------------- backup


def study_backup(*, study: Study, archive_path: Path, keys_path: Path | None) -> BackupSummary:
    """Write ``study`` to ``archive_path`` (a zip) and its de-identification key to
    ``keys_path`` (none when the study has no key, or ``keys_path`` is None)."""
    archive_path = Path(archive_path)
    if keys_path is not None and Path(keys_path).resolve() == archive_path.resolve():
        raise ValueError("the key file must not be the archive")
    manifest: dict[str, dict] = {}
    total = 0
    partial = archive_path.with_name(archive_path.name + ".partial")
    with transaction.atomic():  # one consistent view of the rows (REPEATABLE READ on PostgreSQL)
        rows = rows_as_python(study_rows(study))
        model_versions = list(ModelVersion.objects.filter(
            pk__in=[row["pk"] for row in rows if row["model"] == "predictions.modelversion"]))
        storage = dicom_storage()
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            total += _write_member(archive, ROWS, io.BytesIO(rows_dump(rows)), manifest)
            for name in _dicom_names(study):
                with storage.open(name, "rb") as source:
                    total += _write_member(archive, f"dicom/{name}", source, manifest)
            for model_version in model_versions:
                for path, member in _model_files(model_version):
                    with path.open("rb") as source:
                        total += _write_member(archive, member, source, manifest)
            archive.writestr(MANIFEST, json.dumps({
                "format": FORMAT, "study": study.slug, "created_at": timezone.now().isoformat(),
                "schema": _schema(), "rows": len(rows), "files": manifest,
            }, indent=1, sort_keys=True))
        key = DeidentificationKey.objects.filter(study=study).first()
    os.replace(partial, archive_path)
    if key is not None and keys_path is not None:
        keys_path = Path(keys_path)
        descriptor = os.open(keys_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"format": FORMAT, "study": study.slug, "rows": serializers.serialize(
                "python", [key])}, handle, default=_json_default, indent=1)
    return BackupSummary(archive=archive_path, keys=keys_path if key is not None else None,
                         rows=len(rows), files=len(manifest) - 1, bytes=total)


# --------------------------------------------------------------------------- restore


def archive_verify(archive: zipfile.ZipFile) -> dict:
    """The manifest, once every member's SHA-256 and size match it and nothing is missing or
    added; ``RestoreError`` otherwise."""
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as exc:
        raise RestoreError(f"No readable {MANIFEST}: this is not a study backup.") from exc
    if manifest.get("format") != FORMAT:
        raise RestoreError(f"Unknown backup format {manifest.get('format')!r} (expected {FORMAT}).")
    files: dict[str, dict] = manifest["files"]
    members = {info.filename for info in archive.infolist() if not info.is_dir()} - {MANIFEST}
    if members != set(files):
        extra, missing = sorted(members - set(files)), sorted(set(files) - members)
        raise RestoreError(f"The archive does not match its manifest: extra {extra}, missing {missing}.")
    for name, expected in files.items():
        with archive.open(name) as handle:
            digest, size = _sha256(handle)
        if (digest, size) != (expected["sha256"], expected["size"]):
            raise RestoreError(f"{name} is damaged: its SHA-256 or size differs from the manifest.")
    return manifest


def _decode(rows: list[dict]) -> list:
    return list(serializers.deserialize("python", rows))


def _restore_row(obj, *, keep_if_same: tuple[str, ...] = ()) -> bool:
    """Save a deserialized row with its id; True when written. With ``keep_if_same``, a row
    that exists with the same id and the same values of those fields is kept as it is."""
    model = type(obj.object)
    existing = model.objects.filter(pk=obj.object.pk).first() if keep_if_same else None
    if existing is not None:
        if all(getattr(existing, f) == getattr(obj.object, f) for f in keep_if_same):
            return False
        raise RestoreError(
            f"{model._meta.verbose_name} {obj.object.pk} exists here as another one "
            f"({', '.join(f'{f}={getattr(existing, f)!r}' for f in keep_if_same)}): restore into "
            "a fresh database, or one that shares this site's accounts and models.")
    obj.save()
    return True


def _write_dicom(archive: zipfile.ZipFile, files: dict[str, dict]) -> int:
    storage = dicom_storage()
    written = 0
    for member in sorted(n for n in files if n.startswith("dicom/")):
        name = member.removeprefix("dicom/")
        if storage.exists(name):
            with storage.open(name, "rb") as handle:
                if _sha256(handle)[0] != files[member]["sha256"]:
                    raise RestoreError(f"The DICOM storage already holds a different {name}.")
            continue
        with archive.open(member) as source:
            saved = storage.save(name, File(source, name=PurePosixPath(name).name))
        if saved != name:
            raise RestoreError(f"The DICOM storage stored {name} as {saved}.")
        written += 1
    return written


def _write_models(archive: zipfile.ZipFile, files: dict[str, dict]) -> int:
    written = 0
    for member in sorted(n for n in files if n.startswith("models/")):
        _, pk, relative = member.split("/", 2)
        target = checkpoint_dir(ModelVersion.objects.get(pk=int(pk))) / relative
        if target.exists():
            with target.open("rb") as handle:
                if _sha256(handle)[0] != files[member]["sha256"]:
                    raise RestoreError(f"{target} exists with other contents.")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        written += 1
    return written


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def study_restore(*, archive_path: Path, keys_path: Path | None = None, by=None) -> Study:
    """Restore the study of ``archive_path`` (and its key from ``keys_path``); see the module."""
    user_model = get_user_model()
    with zipfile.ZipFile(archive_path) as archive:
        manifest = archive_verify(archive)
        if Study.objects.filter(slug=manifest["study"]).exists():
            raise RestoreError(f"A study {manifest['study']!r} exists here already.")
        rows = json.loads(archive.read(ROWS))
        key_rows: list[dict] = []
        if keys_path is not None:
            keys = json.loads(Path(keys_path).read_text())
            if keys.get("study") != manifest["study"]:
                raise RestoreError(f"The key file is study {keys.get('study')!r}'s, not "
                                   f"{manifest['study']!r}'s.")
            key_rows = keys["rows"]
        restored: set[type[models.Model]] = set()
        try:
            with transaction.atomic():
                kept_users: set[int] = set()
                for obj in _decode(rows):
                    model = type(obj.object)
                    if model is user_model:
                        # A username taken by another id fails on its unique index.
                        if not _restore_row(obj, keep_if_same=("username",)):
                            kept_users.add(obj.object.pk)
                    elif model is ReaderProfile:
                        if obj.object.user_id not in kept_users:
                            _restore_row(obj)
                    elif model is ModelVersion:
                        _restore_row(obj, keep_if_same=("name", "version", "sha256"))
                    elif model is AuditEvent:  # an account's or a model's, kept at this site
                        _restore_row(obj, keep_if_same=("at", "verb", "object_type", "object_id"))
                    else:
                        _restore_row(obj)
                    restored.add(model)
                for obj in _decode(key_rows):
                    _restore_row(obj)
                    restored.add(DeidentificationKey)
                _write_dicom(archive, manifest["files"])
                _write_models(archive, manifest["files"])
                _reset_sequences(sorted(restored, key=lambda m: m._meta.label))
                study = Study.objects.get(slug=manifest["study"])
                audit(actor=by, verb=AuditEvent.Verb.CHANGED, obj=study, study_slug=study.slug,
                      action="restored", archive=Path(archive_path).name,
                      backed_up_at=manifest["created_at"], rows=manifest["rows"],
                      with_key=bool(key_rows))
        except IntegrityError as exc:
            raise RestoreError(f"The rows clash with rows that exist here: {exc}") from exc
    return study
