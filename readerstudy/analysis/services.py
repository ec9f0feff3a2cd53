"""Exports of a study's analysis: requesting one (reusing a cached one) and producing it.

``export_request`` is the one place that decides whether an export must be computed: an
export with the same fingerprint that is queued, running or done is returned as it is.
``export_run`` does the work (the Celery job and the management command both call it); it
claims the export with a conditional UPDATE, so a task delivered twice works once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from readerstudy.analysis import bundle
from readerstudy.analysis.fingerprint import study_fingerprint
from readerstudy.analysis.frames import reads_frame
from readerstudy.analysis.models import AnalysisExport
from readerstudy.core.models import AuditEvent, audit
from readerstudy.core.tasks import QUEUE_UNREACHABLE_ERROR, BrokerUnavailable, enqueue
from readerstudy.stats.analyses.power import DEFAULT_EFFECT
from readerstudy.studies.models import Study

logger = logging.getLogger(__name__)

ARCHIVE_NAME = "export.zip"
# A full export (every test set and subgroup, 2,000 bootstrap resamples each) of a large
# study takes minutes, not hours: the export task's time limit (readerstudy.analysis.tasks).
EXPORT_TIME_LIMIT = 30 * 60
# An export queued or running for longer than its task may run has lost its task.
STALE_AFTER = timedelta(seconds=EXPORT_TIME_LIMIT + 300)
# A queued export whose task has not started by then is sent again (a broker restart may
# have lost it); a duplicate task finds the export claimed or finished and does nothing.
QUEUED_STALE_AFTER = timedelta(minutes=2)
MAX_BOOT = 100_000


@dataclass(frozen=True)
class ExportParameters:
    """The analysis parameters an export is computed with (part of its fingerprint)."""

    n_boot: int = 2000
    seed: int = 0
    alpha: float = 0.05
    #: The difference of reader-averaged AUCs a future study is planned for (table 9).
    power_effect: float = DEFAULT_EFFECT

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> ExportParameters:
        """Validate user input; raises ``ValidationError`` naming the bad field."""
        data = dict(data or {})
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(data) - {"n_boot", "seed", "alpha", "power_effect"})
        for key in unknown:
            errors[key] = ["Unknown parameter: use n_boot, seed, alpha and power_effect."]
        values: dict[str, Any] = {}
        for key, kind, check, message in (
            ("n_boot", int, lambda v: 1 <= v <= MAX_BOOT, f"a whole number from 1 to {MAX_BOOT}"),
            ("seed", int, lambda v: 0 <= v < 2**32, "a whole number from 0 to 2^32 - 1"),
            ("alpha", float, lambda v: 0.0 < v < 0.5, "a number between 0 and 0.5 (0.05: 95% CIs)"),
            ("power_effect", float, lambda v: 0.0 < v <= 1.0,
             "a difference of AUCs above 0 and at most 1 (e.g. 0.05)"),
        ):
            if key not in data or data[key] in (None, ""):
                continue
            raw = data[key]
            try:
                value = kind(raw)
                if isinstance(raw, bool) or (kind is int and float(raw) != value):
                    raise ValueError
            except (TypeError, ValueError):
                errors[key] = [f"Must be {message} (got {raw!r})."]
                continue
            if not check(value):
                errors[key] = [f"Must be {message} (got {raw!r})."]
                continue
            values[key] = value
        if errors:
            raise ValidationError(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _live(study: Study, fingerprint: str) -> AnalysisExport | None:
    return (
        AnalysisExport.objects.filter(
            study=study, fingerprint=fingerprint, status__in=AnalysisExport.LIVE_STATUSES
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def export_request(*, study: Study, by=None, parameters: ExportParameters | None = None,
                   enqueue: bool = True) -> tuple[AnalysisExport, bool]:
    """The export of ``study``'s data as they are now: reused if one exists, else queued.

    Returns ``(export, created)``. A new export's job is enqueued once the transaction
    commits (eager Celery runs it in-process) unless ``enqueue`` is False (the caller then
    runs :func:`export_run` itself). Every request is audited.
    """
    parameters = parameters or ExportParameters()
    fingerprint, state = study_fingerprint(study, parameters=parameters.as_dict())
    existing = _live(study, fingerprint)
    created = False
    if existing is None:
        try:
            with transaction.atomic():
                existing = AnalysisExport.objects.create(
                    study=study, fingerprint=fingerprint, data_state=state,
                    parameters=parameters.as_dict(), requested_by=by if _is_user(by) else None,
                )
            created = True
        except IntegrityError:  # another request created it a moment ago
            existing = _live(study, fingerprint)
            if existing is None:
                raise
    audit(actor=by, verb=AuditEvent.Verb.EXPORTED, obj=existing, study_slug=study.slug,
          action="requested", reused=not created, fingerprint=fingerprint)
    if enqueue and (created or _is_stalled(existing)):
        export_pk = existing.pk
        transaction.on_commit(lambda: _enqueue(export_pk))
    return existing, created


def _is_stalled(export: AnalysisExport) -> bool:
    """Queued or running for longer than :data:`STALE_AFTER` without finishing: its task was
    lost (a broker restart, a killed worker); enqueueing it again is safe."""
    since = timezone.now() - STALE_AFTER
    if export.status == AnalysisExport.Status.QUEUED:
        return export.created_at < timezone.now() - QUEUED_STALE_AFTER
    if export.status == AnalysisExport.Status.RUNNING:
        return export.started_at is not None and export.started_at < since
    return False


def exports_requeue_stale() -> list[int]:
    """Send again the task of each export that stalled (:func:`_is_stalled`); return their pks.

    The periodic sweep (celery beat) and every request of an export run it, so an export
    whose task a broker restart lost still ends; the task claims the export once
    (:func:`_claim`), so a duplicate does nothing. A broker still away leaves it for later.
    """
    now = timezone.now()
    candidates = AnalysisExport.objects.filter(
        Q(status=AnalysisExport.Status.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER)
        | Q(status=AnalysisExport.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    )
    requeued = []
    for export_pk in candidates.values_list("pk", flat=True):
        try:
            enqueue("analysis.export_job", export_pk=export_pk)
        except BrokerUnavailable as exc:
            logger.warning("export %s stalled, and could not be re-queued: %s", export_pk, exc)
            break
        requeued.append(export_pk)
    return requeued


def _is_user(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _enqueue(export_pk: int) -> None:
    """Send the export's task; when the broker is away, fail the export (a later request
    makes a new one) and raise :class:`~readerstudy.core.tasks.BrokerUnavailable` (503)."""
    try:
        enqueue("analysis.export_job", export_pk=export_pk)
    except BrokerUnavailable:
        AnalysisExport.objects.filter(pk=export_pk, status=AnalysisExport.Status.QUEUED).update(
            status=AnalysisExport.Status.FAILED, error=QUEUE_UNREACHABLE_ERROR,
            finished_at=timezone.now(), step="failed",
        )
        raise


def _claim(export_pk: int) -> bool:
    """Move a queued (or stale running) export to running; True for exactly one caller."""
    now = timezone.now()
    queued = AnalysisExport.objects.filter(pk=export_pk, status=AnalysisExport.Status.QUEUED)
    if queued.update(status=AnalysisExport.Status.RUNNING, started_at=now, progress=0,
                     step="starting") == 1:
        return True
    stale = AnalysisExport.objects.filter(
        pk=export_pk, status=AnalysisExport.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    return stale.update(started_at=now, progress=0, step="restarting") == 1


def _report(export_pk: int, progress: int, step: str) -> None:
    AnalysisExport.objects.filter(pk=export_pk, status=AnalysisExport.Status.RUNNING).update(
        progress=max(0, min(99, int(progress))), step=step[:200]
    )


def _zip(directory: Path, archive: Path) -> list[str]:
    names = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.write(directory / name, arcname=name)
    return names


def export_run(*, export_pk: int) -> AnalysisExport:
    """Compute an export: the reads frame, every analysis and file, one zip in storage.

    Safe to call twice or concurrently: only the caller that claims the export works; the
    others return it as it is. A failure is recorded on the export (status "failed" with
    the error, logged with its traceback) rather than raised: the coordinator sees it and
    may request the export again. The reads are those the fingerprint counted; predictions
    and the reference standard are read as they are when the job runs.
    """
    export = AnalysisExport.objects.select_related("study").get(pk=export_pk)
    if export.status in (AnalysisExport.Status.DONE, AnalysisExport.Status.FAILED):
        return export
    if not _claim(export_pk):
        return AnalysisExport.objects.get(pk=export_pk)
    export.refresh_from_db()
    study = export.study
    parameters = ExportParameters(**export.parameters)
    workdir = Path(tempfile.mkdtemp(prefix=f"export-{study.slug}-{export.pk}-"))
    try:
        reads = reads_frame(study, reads_upto=export.data_state.get("reads", {}).get("max_id"))
        content = workdir / "content"
        bundle.build_export(
            reads, content, parameters=parameters, title=study.title, slug=study.slug,
            fingerprint=export.fingerprint, data_state=export.data_state,
            progress=lambda percent, step: _report(export_pk, percent, step),
        )
        names = _zip(content, workdir / ARCHIVE_NAME)
        with (workdir / ARCHIVE_NAME).open("rb") as handle:
            export.archive.save(ARCHIVE_NAME, File(handle), save=False)
        export.files = names
        export.status = AnalysisExport.Status.DONE
        export.progress = 100
        export.step = "done"
        export.finished_at = timezone.now()
        export.save(update_fields=["archive", "files", "status", "progress", "step", "finished_at"])
    except Exception as exc:
        logger.exception("export %s of %s failed", export_pk, study.slug)
        AnalysisExport.objects.filter(pk=export_pk).update(
            status=AnalysisExport.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000],
            finished_at=timezone.now(), step="failed",
        )
        return AnalysisExport.objects.get(pk=export_pk)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    audit(actor=export.requested_by, verb=AuditEvent.Verb.EXPORTED, obj=export,
          study_slug=study.slug, action="produced", files=len(names))
    return export


def export_extract(*, export: AnalysisExport, out: Path) -> list[Path]:
    """Unpack a finished export's archive into ``out``; returns the files written."""
    if export.status != AnalysisExport.Status.DONE or not export.archive:
        raise ValueError(f"Export #{export.pk} is {export.status}: nothing to extract.")
    out.mkdir(parents=True, exist_ok=True)
    with export.archive.open("rb") as handle, zipfile.ZipFile(handle) as zf:
        zf.extractall(out)
        return [out / name for name in zf.namelist()]


def export_file_open(*, export: AnalysisExport, name: str | None, by=None):
    """An open binary file of the export: the whole archive, or one file in it.

    Raises ``FileNotFoundError`` for a name the export does not hold. Every download is
    audited.
    """
    if export.status != AnalysisExport.Status.DONE or not export.archive:
        raise FileNotFoundError(f"Export #{export.pk} is {export.status}: nothing to download.")
    audit(actor=by, verb=AuditEvent.Verb.EXPORTED, obj=export, study_slug=export.study.slug,
          action="downloaded", file=name or ARCHIVE_NAME)
    if not name:
        return export.archive.open("rb")
    if name not in export.files:
        raise FileNotFoundError(f"Export #{export.pk} has no file {name!r}.")
    with export.archive.open("rb") as handle, zipfile.ZipFile(handle) as zf:
        # Returned open: the response closes it once sent.
        spooled = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115
        with zf.open(name) as member:
            shutil.copyfileobj(member, spooled)
    spooled.seek(0)
    return spooled
