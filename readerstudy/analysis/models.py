"""Exports of a study's analysis: one row per run, cached by a fingerprint of the data.

An export is reused until its data change: the fingerprint covers the reads, the model's
predictions, the reference standard, the case subgroups, the readers' profiles and the
analysis parameters (see ``readerstudy.analysis.fingerprint``). At most one export per study
and fingerprint is queued, running or done (a conditional unique constraint), so a request
made twice, or a task delivered twice, still gives one export.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def archive_path(instance: AnalysisExport, filename: str) -> str:
    return f"exports/{instance.study.slug}/{instance.pk}/{filename}"


class AnalysisExport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    LIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.DONE)

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    step = models.CharField(max_length=200, blank=True, help_text="What the job is doing now.")
    fingerprint = models.CharField(max_length=64, db_index=True)
    data_state = models.JSONField(
        default=dict, blank=True, help_text="What the fingerprint was computed from (counts, ids)."
    )
    parameters = models.JSONField(default=dict, blank=True, help_text="n_boot, seed, alpha.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archive = models.FileField(upload_to=archive_path, blank=True, max_length=300)
    files = models.JSONField(default=list, blank=True, help_text="Paths inside the archive.")
    error = models.TextField(blank=True)

    # Not stored: the views set it for the templates (analysis.views._export_context).
    download: str | None

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "fingerprint"],
                condition=Q(status__in=["queued", "running", "done"]),
                name="export_one_live_per_fingerprint",
            ),
        ]

    def __str__(self) -> str:
        return f"export #{self.pk} of {self.study.slug} ({self.status}, {self.progress}%)"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
