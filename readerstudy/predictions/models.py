"""The model as the study's other reader: registered model versions, their predictions and
the inference jobs that produce them.

A prediction is unique per (case, model version): running the same model twice on a case
creates nothing new. Job progress is only ever changed by single UPDATE statements
(``F()`` expressions), so concurrent workers cannot lose a count.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from readerstudy import vocabulary
from readerstudy.studies.models import Case, Modality, Study

TIER_CHOICES = list(vocabulary.THREE_TIER.items())


class ModelVersion(models.Model):
    """A registered checkpoint (``weights.pt`` + ``model_card.json``) the app may run."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    modality = models.CharField(max_length=2, choices=Modality.choices)
    architecture = models.CharField(max_length=50)
    sha256 = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the weights file.")
    card = models.JSONField(help_text="The model card as written next to the weights.")
    weights_path = models.CharField(
        max_length=500,
        help_text="The checkpoint directory, relative to READERSTUDY_MODEL_DIR when inside it.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    # Not stored: the inference page sets them for its template (predictions.views._page).
    lower: float
    upper: float
    decision: float
    percent: dict[str, str]

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="model_version_unique"),
        ]

    def __str__(self) -> str:
        return self.reader_name

    @property
    def reader_name(self) -> str:
        """How the model appears among the readers of an analysis."""
        return f"model:{self.name}@{self.version}"

    @property
    def thresholds(self) -> tuple[float, float]:
        """``(lower, upper)`` of the three-tier output, from the card."""
        return float(self.card["thresholds"]["lower"]), float(self.card["thresholds"]["upper"])


class InferenceJob(models.Model):
    """One run of a model over a study's reading cases.

    A job ends ``done`` (every case predicted), ``failed`` (some case could not be, or the
    model could not be loaded) or ``cancelled`` (a coordinator stopped it; the predictions
    stored before then are kept).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    RETRYABLE = (Status.FAILED, Status.CANCELLED)

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="inference_jobs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Cases the job covers.")
    done = models.PositiveIntegerField(
        default=0, help_text="Cases with a stored prediction (including ones predicted earlier)."
    )
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{case, error}] per failed case.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When it ended: done, failed or cancelled."
    )
    progressed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When its work last moved: claimed, a case predicted or failed, or re-queued. "
        "An active job that has not moved for READERSTUDY_INFERENCE_STALE_AFTER seconds is "
        "re-queued (services.inference_jobs_requeue_stale).",
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries",
        help_text="The failed or cancelled job this one runs again.",
    )

    # Not stored: how many cases a retry would read (predictions.views._with_retry).
    retry_cases: int

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One active job per study and model: a second start joins the running one.
            models.UniqueConstraint(
                fields=["study", "model_version"],
                condition=Q(status__in=["queued", "running"]),
                name="inference_job_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} on {self.study.slug}: {self.status} {self.done}/{self.total}"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def processed(self) -> int:
        return self.done + self.failed


class Prediction(models.Model):
    """The model's reading of one case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="predictions")
    job = models.ForeignKey(
        InferenceJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    probability = models.FloatField(help_text="Probability of malignancy, 0..1.")
    three_tier = models.CharField(max_length=10, choices=TIER_CHOICES)
    runtime_s = models.FloatField(help_text="Seconds from stored DICOM to probability.")
    saliency = models.JSONField(
        null=True, blank=True,
        help_text="Where the model looked, made by the worker with the prediction: "
        '{"method": "Grad-CAM", "views": [{"view", "png" (data URI)}]}; the trainees\' '
        "feedback shows it. Made in assisted and teaching studies only (Study.mode), else empty.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "model_version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "model_version"], name="prediction_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0.0) & Q(probability__lte=1.0),
                name="prediction_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} {self.case.code}: {self.probability:.3f} ({self.three_tier})"
