"""Write operations of the reading workflow: opening a study, assigning readers, opening a
case, submitting a read. Keyword-only arguments; each function is the one place its rule lives.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from datetime import time as dt_time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.core.models import AuditEvent, audit
from readerstudy.studies import ordering
from readerstudy.studies.answer_form import read_fields, validate_answers
from readerstudy.studies.exceptions import (
    NotInWorklist,
    ReadConflict,
    RepeatNotDue,
    RoundNotRead,
    StudyNotOpen,
)
from readerstudy.studies.models import (
    Assignment,
    Case,
    CaseOpening,
    Read,
    ReadingSlot,
    ReferenceStandard,
    Study,
)
from readerstudy.studies.protocol import (
    FIRST,
    REPEAT,
    REPEAT_SAMPLE,
    ROUNDS,
    RoundDefinition,
    question_switches,
    rounds_for,
)

# What a submission carries besides its answers.
SUBMISSION_ENVELOPE = ("case", "round", "submission_id")


def reading_cases(study: Study):
    """The cases readers read (``Case.objects.reading``)."""
    return study.cases.reading()


def repeat_patients_for(*, study: Study, reader, round: str = REPEAT) -> list[str]:
    """The patients ``reader`` reads again in ``round`` (a :data:`protocol.REPEAT_SAMPLE` round)."""
    patients = reading_cases(study).values_list("patient_pseudonym", flat=True)
    return ordering.repeat_sample(
        seed=study.seed,
        patients=list(patients),
        size=ROUNDS[round].sample_size(study) or 0,
        reader=None if study.repeat_same_patients else reader.username,
    )


@transaction.atomic
def slots_build(*, study: Study, reader) -> int:
    """Record ``reader``'s own order for each round the study reads (``protocol.rounds_for``):
    every reading case, or the repeat sample; idempotent."""
    if ReadingSlot.objects.filter(study=study, reader=reader).exists():
        return 0
    cases = {c.code: c for c in reading_cases(study)}
    slots = []
    for definition in rounds_for(study):
        codes = list(cases)
        if definition.cases == REPEAT_SAMPLE:
            sampled = set(repeat_patients_for(study=study, reader=reader, round=definition.key))
            codes = [code for code, c in cases.items() if c.patient_pseudonym in sampled]
        order = ordering.reading_order(seed=study.seed, reader=reader.username, round=definition.key,
                                       case_codes=codes)
        slots += [
            ReadingSlot(study=study, reader=reader, case=cases[code], round=definition.key, position=i)
            for i, code in enumerate(order, start=1)
        ]
    ReadingSlot.objects.bulk_create(slots)
    return len(slots)


# What a coordinator sets on a study (the page, the API and the admin): status changes only
# through study_open and study_close.
STUDY_SETTINGS = (
    "title", "slug", "description", "modality", *question_switches(),
    "washout_days", "repeat_sample_size", "repeat_same_patients", "seed", "mode",
)


@transaction.atomic
def study_save(*, study: Study, by=None) -> Study:
    """Create or change a study's settings: what the coordinator's page, the API and the admin call.

    ``study`` is a new or changed instance. Validates it with the model's rules (``Study.clean``
    through ``full_clean``: field limits, known measurements, the fields frozen once reads exist,
    the slug and what the reading orders are drawn from fixed once opened, the modality fixed once
    cases exist, the status changed only by
    :func:`study_open` / :func:`study_close`), saves it and audits what changed.
    """
    stored = Study.objects.select_for_update().filter(pk=study.pk).first() if study.pk else None
    study.full_clean()
    if stored is None:
        if study.created_by_id is None and by is not None and by.is_authenticated:
            study.created_by = by
        study.save()
        audit(actor=by, verb=AuditEvent.Verb.CREATED, obj=study, study_slug=study.slug)
        return study
    changed = sorted(f for f in STUDY_SETTINGS if getattr(stored, f) != getattr(study, f))
    if changed:
        study.save()
        # The mode decides what readers may ever see: its change is audited with both values.
        mode = {"mode_from": stored.mode, "mode_to": study.mode} if "mode" in changed else {}
        audit(actor=by, verb=AuditEvent.Verb.CHANGED, obj=study, study_slug=study.slug, fields=changed, **mode)
    return study


@transaction.atomic
def study_open(*, study: Study, by=None) -> Study:
    """Open a draft study for reading: every assigned reader's orders are recorded now."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.OPEN:
        return study
    if study.status == Study.Status.CLOSED:
        raise ValidationError("A closed study cannot be reopened.")
    if not reading_cases(study).exists():
        raise ValidationError("The study has no cases to read: import cases first.")
    for assignment in study.assignments.select_related("reader"):
        slots_build(study=study, reader=assignment.reader)
    study.status = Study.Status.OPEN
    study.save(update_fields=["status"])
    audit(actor=by, verb=AuditEvent.Verb.CHANGED, obj=study, study_slug=study.slug, status="open")
    return study


@transaction.atomic
def study_close(*, study: Study, by=None) -> Study:
    """Close an open study: no more reads; its reads stay for the analysis. Closing is final."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.CLOSED:
        return study
    if study.status == Study.Status.DRAFT:
        raise ValidationError("A draft study has not been opened, so there is nothing to close.")
    study.status = Study.Status.CLOSED
    study.save(update_fields=["status"])
    audit(actor=by, verb=AuditEvent.Verb.CHANGED, obj=study, study_slug=study.slug, status="closed")
    return study


def assignment_check(*, study: Study, reader) -> None:
    """Whether ``reader`` may be assigned to ``study``; raises ``ValidationError`` saying why not."""
    if not hasattr(reader, "reader_profile"):
        raise ValidationError(f"{reader.username} has no reader profile (role, experience).")
    if study.status == Study.Status.CLOSED:
        raise ValidationError("Readers cannot be assigned to a closed study.")


@transaction.atomic
def assignment_create(*, study: Study, reader, by=None) -> Assignment:
    """Assign a reader (a user with a reader profile); in an open study their orders are drawn now."""
    assignment_check(study=study, reader=reader)
    assignment, created = Assignment.objects.get_or_create(study=study, reader=reader)
    if created:
        audit(actor=by, verb=AuditEvent.Verb.ASSIGNED, obj=assignment, study_slug=study.slug,
              reader=reader.username)
    if study.status == Study.Status.OPEN:
        slots_build(study=study, reader=reader)
    return assignment


@transaction.atomic
def assignment_remove(*, study: Study, reader, by=None) -> None:
    """Take a reader off a study, with their reading orders and case openings.

    Refused once the reader has submitted a read in the study: reads are immutable and belong
    to the analysis, and a reader without an assignment would leave them unexplained. Close
    the study instead, or leave the reader assigned.
    """
    assignment = Assignment.objects.select_for_update().filter(study=study, reader=reader).first()
    if assignment is None:
        raise ValidationError(f"{reader.username} is not assigned to this study.")
    n_reads = Read.objects.filter(study=study, reader=reader).count()
    if n_reads:
        raise ValidationError(
            f"{reader.username} has submitted {n_reads} read{'s' if n_reads != 1 else ''} in this study, "
            "so the assignment stays: reads are kept for the analysis and cannot be removed."
        )
    ReadingSlot.objects.filter(study=study, reader=reader).delete()
    CaseOpening.objects.filter(reader=reader, case__study=study).delete()
    assignment.delete()
    audit(actor=by, verb=AuditEvent.Verb.UNASSIGNED, object_type="studies.assignment",
          study_slug=study.slug, reader=reader.username)


@transaction.atomic
def case_save(*, case: Case, by=None) -> Case:
    """Create or change a case's fields: what the API and the admin call (an import creates its
    cases with their images, in ``imaging.importer``).

    Validates with the model's field rules and refuses a source case id the study has already
    (``ValidationError`` on ``source_case_id``, rather than the database's constraint).
    """
    created = case.pk is None
    case.full_clean(exclude=["study"], validate_unique=False, validate_constraints=False)
    others = Case.objects.filter(study_id=case.study_id, source_case_id=case.source_case_id)
    if others.exclude(pk=case.pk).exists():
        raise ValidationError({"source_case_id": [f"A case {case.source_case_id!r} is already in this study."]})
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:  # added by a concurrent request since the check
        raise ValidationError({"source_case_id": [
            f"A case {case.source_case_id!r} is already in this study."]}) from None
    audit(actor=by, verb=AuditEvent.Verb.CREATED if created else AuditEvent.Verb.CHANGED,
          object_type="studies.case", object_id=case.code, study_slug=case.study.slug)
    return case


@transaction.atomic
def case_delete(*, case: Case, by=None) -> None:
    """Delete a case that has no reads (reads are immutable and belong to the analysis)."""
    if Read.objects.filter(case=case).exists():
        raise ValidationError("A case with reads cannot be deleted.")
    code, study_slug = case.code, case.study.slug
    case.delete()
    audit(actor=by, verb=AuditEvent.Verb.CHANGED, object_type="studies.case", object_id=code,
          study_slug=study_slug, deleted=True)


@transaction.atomic
def reference_set(*, case: Case, label: str, source: str, notes: str = "", by=None) -> ReferenceStandard:
    """Set or correct a case's reference standard (the API, the admin); audited, since every
    estimate of the analysis rests on it."""
    reference = ReferenceStandard.objects.filter(case=case).first() or ReferenceStandard(case=case)
    reference.label, reference.source, reference.notes = label, source, notes
    reference.full_clean(exclude=["case"], validate_unique=False)
    reference.save()
    audit(actor=by, verb=AuditEvent.Verb.CHANGED, object_type="studies.case", object_id=case.code,
          study_slug=case.study.slug, reference=label, reference_source=source)
    return reference


@transaction.atomic
def reference_remove(*, case: Case, by=None) -> None:
    """Remove a case's reference standard: the case becomes unclear, and the analysis leaves it out."""
    if ReferenceStandard.objects.filter(case=case).delete()[0]:
        audit(actor=by, verb=AuditEvent.Verb.CHANGED, object_type="studies.case", object_id=case.code,
              study_slug=case.study.slug, reference=None)


def repeat_available_from(*, study: Study, first_read: Read, round: str = REPEAT) -> datetime:
    """A read in ``round`` (by default the repeat round) is due from the start of the day the
    round's washout (``RoundDefinition.washout_from``) after the day of the reader's own read it
    repeats (days in the site's time zone, ``TIME_ZONE``): by day, because a time to the
    microsecond told a reader which first read a repeat belongs to."""
    zone = timezone.get_default_timezone()
    day = timezone.localtime(first_read.submitted_at, zone).date() + timedelta(
        days=ROUNDS[round].washout_days(study))
    return datetime.combine(day, dt_time.min, tzinfo=zone)


def round_read(key: str) -> RoundDefinition:
    """The definition of the round ``key`` that readers read; ``NotInWorklist`` for an unknown
    round, ``RoundNotRead`` for one the protocol defines but no study reads yet (AI-aided)."""
    definition = ROUNDS.get(key)
    in_use = [r.key for r in ROUNDS.values() if r.in_use]
    if definition is None:
        raise NotInWorklist(f"Unknown round {key!r}: use {' or '.join(repr(k) for k in in_use)}.")
    if not definition.in_use:
        raise RoundNotRead(
            f"The {definition.label} round is defined but not read yet ({definition.not_read_because}): "
            f"use {' or '.join(repr(k) for k in in_use)}.")
    return definition


def _slot_for(*, study: Study, reader, code: str, round: str) -> ReadingSlot:
    # A round no study reads yet has no slots, so its cases are "not in the worklist" too.
    round_read(round)
    slot = (
        ReadingSlot.objects.select_related("case")
        .filter(study=study, reader=reader, round=round, case__code=code)
        .first()
    )
    if slot is None:
        # Same message whether the case exists elsewhere or not: nothing is revealed.
        raise NotInWorklist(f"Case {code} is not in your {round}-round worklist for this study.")
    return slot


def _repeated_read(*, study: Study, reader, case: Case, definition: RoundDefinition,
                   now: datetime) -> Read | None:
    """For a round that repeats another: the reader's read it repeats, once the washout after
    it has passed (``RepeatNotDue`` before); None for a round that repeats nothing."""
    if not definition.repeats:
        return None
    repeated = ROUNDS[definition.repeats]
    first = Read.objects.filter(reader=reader, case=case, round=repeated.key).first()
    if first is None:
        raise NotInWorklist(
            f"Case {case.code} has no {repeated.label} yet, so no {definition.label} is due.")
    available_from = repeat_available_from(study=study, first_read=first, round=definition.key)
    if now < available_from:
        raise RepeatNotDue(
            f"The {definition.label} of case {case.code} is available from "
            f"{available_from:%Y-%m-%d %H:%M} UTC ({definition.washout_days(study)} days after your {repeated.label}).",
            available_from=available_from,
        )
    return first


def case_open(*, study: Study, reader, code: str, round: str = FIRST,
              now: datetime | None = None) -> ReadingSlot:
    """Open a case for reading: checks the worklist and washout, records the first open time."""
    now = now or timezone.now()
    if study.status != Study.Status.OPEN:
        raise StudyNotOpen("This study is not open for reading.")
    slot = _slot_for(study=study, reader=reader, code=code, round=round)
    if Read.objects.filter(reader=reader, case=slot.case, round=round).exists():
        raise ReadConflict(f"You have already submitted your {round} read of case {code}.")
    _repeated_read(study=study, reader=reader, case=slot.case, definition=round_read(round), now=now)
    _opening, created = CaseOpening.objects.get_or_create(
        reader=reader, case=slot.case, round=round, defaults={"opened_at": now}
    )
    if created:
        audit(actor=reader, verb=AuditEvent.Verb.OPENED, object_type="studies.case",
              object_id=slot.case.code, study_slug=study.slug, round=round)
    return slot


def _parse_submission_id(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except (TypeError, ValueError):
        raise ValidationError({"submission_id": [f"Required: a UUID generated by the client (got {raw!r})."]}) from None


def _first_landing(read: Read, *, study: Study, reader) -> Read:
    """The read stored under a submission id sent again: the reader's own first read, or a
    conflict when the id belongs to another reader's or another study's read."""
    if read.reader_id == reader.pk and read.study_id == study.pk:
        return read
    raise ReadConflict("This submission id has already been used; generate a new one.")


def read_submit(*, study: Study, reader, data: dict[str, Any],
                now: datetime | None = None) -> tuple[Read, bool]:
    """Store one read; return ``(read, created)``.

    The same ``submission_id`` sent again returns the first read (``created`` False), so a
    client may retry until it lands. A different read of a case already read in that round
    raises ``ReadConflict``; a repeat read before the washout raises ``RepeatNotDue``.
    """
    now = now or timezone.now()
    submission_id = _parse_submission_id(data.get("submission_id"))
    existing = Read.objects.filter(submission_id=submission_id).first()
    if existing is not None:
        return _first_landing(existing, study=study, reader=reader), False
    if study.status != Study.Status.OPEN:
        raise StudyNotOpen("This study is not open for reading.")
    code = str(data.get("case", ""))
    round = str(data.get("round", FIRST))
    slot = _slot_for(study=study, reader=reader, code=code, round=round)
    earlier = Read.objects.filter(reader=reader, case=slot.case, round=round).first()
    if earlier is not None and earlier.submission_id == submission_id:
        return earlier, False  # a concurrent twin landed since the first look
    if earlier is not None:
        raise ReadConflict(
            f"You already submitted your {round} read of case {code} at "
            f"{earlier.submitted_at:%Y-%m-%d %H:%M} UTC; a submitted read cannot be changed."
        )
    answers = validate_answers(
        study, {k: v for k, v in data.items() if k not in SUBMISSION_ENVELOPE}, round=round)
    definition = round_read(round)
    first_read = _repeated_read(study=study, reader=reader, case=slot.case, definition=definition, now=now)
    opening = CaseOpening.objects.filter(reader=reader, case=slot.case, round=round).first()
    try:
        with transaction.atomic():
            read = Read.objects.create(
                study=study, case=slot.case, reader=reader, round=round, position=slot.position,
                submission_id=submission_id, **read_fields(answers),
                opened_at=opening.opened_at if opening else now, submitted_at=now,
                first_read=first_read,
                repeat_interval=(now - first_read.submitted_at)
                if first_read and definition.analysed_as == REPEAT else None,
            )
            audit(actor=reader, verb=AuditEvent.Verb.SUBMITTED, obj=read, study_slug=study.slug,
                  case=code, round=round, submission_id=str(submission_id))
    except IntegrityError:
        # A concurrent twin of this submission landed first.
        twin = Read.objects.filter(submission_id=submission_id).first()
        if twin is not None:
            return _first_landing(twin, study=study, reader=reader), False
        raise ReadConflict(f"Your {round} read of case {code} was already submitted.") from None
    return read, True
