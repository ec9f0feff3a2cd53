"""Studies, cases, the reference standard, assignments, the reading order and reads.

The reference standard lives in its own table, never as an "answer" row a reader query
could pick up. A submitted read is immutable.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from readerstudy import vocabulary
from readerstudy.studies import protocol

# Unambiguous characters (no 0/O, 1/I/L): codes are read aloud and typed by people.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8

LEVELS = [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]


def new_case_code() -> str:
    """A random, non-sequential, unguessable public code (31^8, about 8.5e11 values)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1)


class Modality(models.TextChoices):
    CT = "CT", "CT"
    MRI = "MR", "MRI"


class Round(models.TextChoices):
    """The rounds by name, for code that means one of them; what each round is (its cases,
    washout, what it shows the reader) is its definition in ``protocol.ROUNDS``, and the
    model fields take every round defined there (``protocol.round_choices``)."""

    FIRST = protocol.FIRST, protocol.ROUNDS[protocol.FIRST].label
    REPEAT = protocol.REPEAT, protocol.ROUNDS[protocol.REPEAT].label
    AIDED = protocol.AIDED, protocol.ROUNDS[protocol.AIDED].label


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        OPEN = "open", "open"
        CLOSED = "closed", "closed"

    # Once a read exists these give the reads their meaning and cannot change.
    FROZEN_FIELDS = (
        "modality", *protocol.question_switches(),
        "washout_days", "repeat_sample_size", "repeat_same_patients", "seed", "mode",
    )

    # The reading orders and the repeat sample are drawn from these when the study opens; the
    # mode too (it decides the rounds read and what readers are shown): fixed when reading begins.
    DRAWN_AT_OPENING = ("seed", "repeat_sample_size", "repeat_same_patients", "mode")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    modality = models.CharField(max_length=2, choices=Modality.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    ask_confidence = models.BooleanField(
        default=True, help_text="Ask for a 0-100 probability of malignancy (makes reader ROC curves)."
    )
    ask_three_tier = models.BooleanField(
        default=False, help_text='Ask for "definitely benign / definitely malignant / uncertain - recommend MRI".'
    )
    ask_features = models.BooleanField(default=False, help_text="Ask for the 15-feature checklist.")
    measurements = models.JSONField(
        default=list, blank=True,
        help_text=f"Continuous measurements to ask for, from: {', '.join(protocol.MEASUREMENTS)}.",
    )

    washout_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)],
        help_text="A repeat read is due no earlier than this many days after the reader's first read.",
    )
    repeat_sample_size = models.PositiveIntegerField(
        default=20, help_text="Patients drawn for repeat reads (0: no repeat round)."
    )
    repeat_same_patients = models.BooleanField(
        default=True,
        help_text="Draw the same repeat patients for every reader (inter-reader agreement on the repeat round).",
    )
    seed = models.BigIntegerField(default=new_seed, help_text="Randomisation seed: reading orders and the repeat sample.")
    mode = models.CharField(
        max_length=10, choices=list(protocol.MODES.items()), default=protocol.BLINDED,
        help_text=" ".join(f"{label}: {protocol.MODE_HELP[key]}" for key, label in protocol.MODES.items()),
    )

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.check_frozen()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The rules of a study's settings, for every way of changing them (the coordinator's
        page, the API and the admin validate through ``full_clean``; ``services.study_save``)."""
        known = protocol.group_questions("measurements")
        unknown = [m for m in self.measurements or [] if m not in known]
        if unknown:
            raise ValidationError({"measurements": f"Unknown measurements: {', '.join(unknown)}."})
        stored = (Study.objects.filter(pk=self.pk).values("status", "slug", "modality", *self.DRAWN_AT_OPENING).first()
                  if self.pk else None)
        if stored is None:
            if self.status != self.Status.DRAFT:
                raise ValidationError("A new study starts as a draft.")
            return
        self.check_frozen()
        if self.status != stored["status"]:
            raise ValidationError("A study is opened and closed by its own actions, not by editing it.")
        if self.slug != stored["slug"] and stored["status"] != self.Status.DRAFT:
            raise ValidationError({"slug": (
                f"The study is {stored['status']}: its slug is fixed once it has been opened "
                "(the audit log and the exports name it).")})
        drawn = [f for f in self.DRAWN_AT_OPENING if getattr(self, f) != stored[f]]
        if drawn and stored["status"] != self.Status.DRAFT:
            raise ValidationError(
                f"The reading orders and repeat samples were drawn when the study was opened, so these "
                f"fields are fixed: {', '.join(drawn)}.")
        if self.modality != stored["modality"] and self.cases.exists():
            raise ValidationError({"modality": (
                f"The study already has cases imported as {stored['modality']}: its modality cannot change.")})

    def changed_frozen_fields(self) -> list[str]:
        if not self.pk:
            return []
        stored = Study.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS).first()
        if stored is None:
            return []
        return [f for f in self.FROZEN_FIELDS if stored[f] != getattr(self, f)]

    def check_frozen(self) -> None:
        changed = self.changed_frozen_fields()
        if changed and self.has_reads():
            raise ValidationError(
                f"Reads exist for this study, so these fields are frozen: {', '.join(changed)}."
            )

    def has_reads(self) -> bool:
        return self.pk is not None and Read.objects.filter(study_id=self.pk).exists()

    @property
    def is_teaching(self) -> bool:
        return self.mode == protocol.TEACHING

    @property
    def is_assisted(self) -> bool:
        return self.mode == protocol.ASSISTED

    @property
    def washout(self) -> timedelta:
        return timedelta(days=self.washout_days)


def is_reading_set(test_set: str) -> bool:
    """Whether the cases of ``test_set`` are read by readers and analysed: every set but the
    training set. The one "not a training case" rule: ``CaseQuerySet.reading`` / ``training``
    and ``ReadQuerySet.of_reading_cases`` for queries, this for rows that are not cases yet (a
    manifest's)."""
    return test_set != Case.TestSet.TRAINING


class CaseQuerySet(models.QuerySet):
    def reading(self) -> CaseQuerySet:
        """The cases readers read: every case outside the training set (``is_reading_set``)."""
        return self.exclude(test_set=Case.TestSet.TRAINING)

    def training(self) -> CaseQuerySet:
        """The training set: never read, never in the analysis; the model learns from it."""
        return self.filter(test_set=Case.TestSet.TRAINING)


class Case(models.Model):
    """One fracture of one patient: the unit of reading."""

    class TestSet(models.TextChoices):
        INTERNAL = "internal", "internal test"
        EXTERNAL = "external", "external test"
        TRAINING = "training", "training"

    class Sex(models.TextChoices):
        FEMALE = "F", "female"
        MALE = "M", "male"
        OTHER = "O", "other"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cases")
    code = models.CharField(max_length=CODE_LENGTH, unique=True, default=new_case_code, editable=False)
    source_case_id = models.CharField(
        max_length=64, help_text="The coordinator's own case id from the manifest (never shown to readers)."
    )
    patient_pseudonym = models.CharField(max_length=64, help_text="For patient-level splits.")
    test_set = models.CharField(max_length=10, choices=TestSet.choices)
    vertebra_level = models.CharField(max_length=3, choices=[(v, v) for v in LEVELS])
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    institution = models.CharField(max_length=120, blank=True)
    scanner_vendor = models.CharField(max_length=120, blank=True)
    field_strength = models.FloatField(null=True, blank=True, help_text="Tesla (MRI).")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["study", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "source_case_id"], name="case_unique_source_id"),
        ]

    def __str__(self) -> str:
        return self.code


class ReferenceStandard(models.Model):
    """Ground truth for one case. Readers can never reach this table."""

    class Label(models.TextChoices):
        BENIGN = vocabulary.BENIGN, vocabulary.LABELS[vocabulary.BENIGN]
        MALIGNANT = vocabulary.MALIGNANT, vocabulary.LABELS[vocabulary.MALIGNANT]

    class Source(models.TextChoices):
        HISTOPATHOLOGY = "histopathology", "histopathology"
        IMAGING = "imaging", "imaging"
        FOLLOW_UP = "follow-up", "follow-up >= 3 months"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="reference")
    label = models.CharField(max_length=10, choices=Label.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.case.code}: {self.label} ({self.source})"


class Assignment(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["study", "reader__username"]
        constraints = [
            models.UniqueConstraint(fields=["study", "reader"], name="assignment_unique_reader"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} in {self.study}"


class ReadingSlot(models.Model):
    """One place in a reader's recorded order for one round: the worklist is made of these."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="slots")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="slots")
    round = models.CharField(max_length=protocol.ROUND_KEY_LENGTH, choices=protocol.round_choices)
    position = models.PositiveIntegerField(help_text="1-based place in this reader's order for the round.")

    class Meta:
        ordering = ["study", "reader", "round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "reader", "round", "case"], name="slot_unique_case"),
            models.UniqueConstraint(fields=["study", "reader", "round", "position"], name="slot_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} {self.round} #{self.position}: {self.case.code}"


class CaseOpening(models.Model):
    """When a reader first opened a case in a round: the start of the reading time."""

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    round = models.CharField(max_length=protocol.ROUND_KEY_LENGTH, choices=protocol.round_choices)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "case", "round"], name="opening_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} opened {self.case.code} ({self.round}) at {self.opened_at:%Y-%m-%d %H:%M}"


class ReadQuerySet(models.QuerySet):
    def of_reading_cases(self) -> ReadQuerySet:
        """Reads of the cases readers read (``CaseQuerySet.reading``): not of training cases."""
        return self.exclude(case__test_set=Case.TestSet.TRAINING)

    def update(self, **kwargs):  # type: ignore[override]
        raise PermissionError("Submitted reads are immutable.")


class Read(models.Model):
    """One reader's answers for one case in one round. Immutable once saved."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="reads")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reads")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reads")
    round = models.CharField(max_length=protocol.ROUND_KEY_LENGTH, choices=protocol.round_choices)
    position = models.PositiveIntegerField(help_text="Place of the case in the reader's order for the round.")
    submission_id = models.UUIDField(unique=True, default=uuid.uuid4, help_text="Generated by the client.")

    # The answers to the questions of the study's form (``protocol.QUESTIONS``); questions
    # without a column of their own are answered in ``answers``.
    call = models.CharField(max_length=10, choices=[(c, c) for c in vocabulary.CALLS])
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text="Probability of malignancy, 0-100.",
    )
    three_tier = models.CharField(max_length=10, blank=True, choices=list(vocabulary.THREE_TIER.items()))
    features = models.JSONField(default=dict, blank=True)
    measurements = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(
        default=dict, blank=True, help_text="Answers to the form's questions that have no column of their own.",
    )

    opened_at = models.DateTimeField(help_text="Server time the reader first opened the case in this round.")
    submitted_at = models.DateTimeField(help_text="Server time of submission.")
    first_read = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="repeats",
        help_text="For a repeat read: the same reader's first read of the case.",
    )
    repeat_interval = models.DurationField(
        null=True, blank=True, help_text="For a repeat read: the actual time since the first read."
    )

    objects = ReadQuerySet.as_manager()

    class Meta:
        ordering = ["study", "reader", "round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "case", "round"], name="read_unique_per_round"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} {self.round} {self.case.code}: {self.call}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Submitted reads are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Submitted reads are immutable and cannot be deleted.")

    @property
    def reading_seconds(self) -> float:
        return (self.submitted_at - self.opened_at).total_seconds()

    @property
    def repeat_interval_days(self) -> float | None:
        if self.repeat_interval is None:
            return None
        return self.repeat_interval.total_seconds() / 86400.0
