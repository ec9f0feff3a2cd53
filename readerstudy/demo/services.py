"""Making the simulated readers and their reads, through the studies services.

Every simulated read is opened with :func:`readerstudy.studies.services.case_open` and
submitted with :func:`readerstudy.studies.services.read_submit` at its simulated times, so
the answer form's validation, the reader's recorded orders and the washout hold for it as
for any read. Idempotent: a reader who already has reads in the study gets none added, and
each read's submission id is derived from the study, reader, case and round.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from readerstudy.accounts.services import reader_create
from readerstudy.demo.phantom_facts import PhantomTruth
from readerstudy.demo.simulate import (
    CaseFacts,
    Form,
    SimulatedReader,
    drawn_case_facts,
    simulate_reader,
)
from readerstudy.demo.simulate_aided import aided_answers
from readerstudy.predictions.models import Prediction
from readerstudy.predictions.selectors import call_for
from readerstudy.studies import services
from readerstudy.studies.exceptions import StudyNotOpen
from readerstudy.studies.models import Read, ReadingSlot, ReferenceStandard, Round, Study

__all__ = ["SUBMISSION_NAMESPACE", "simulated_aided_reads_make", "simulated_reader_ensure", "simulated_reads_make"]

#: Namespace of the simulated reads' submission ids (uuid5 of study, reader, case, round).
SUBMISSION_NAMESPACE = uuid.UUID("5b0f3c1e-6a4d-4e8b-9a57-0d3c2f1e8b61")


def simulated_reader_ensure(*, spec: SimulatedReader):
    """The simulated reader's user, created without a usable password when missing.

    Refuses to take over an existing user who is not a simulated reader.
    """
    user = (get_user_model().objects.filter(username=spec.username)
            .select_related("reader_profile").first())
    if user is None:
        return reader_create(username=spec.username, password=None, role=spec.role,
                             years_experience=spec.years, specialty=spec.specialty, simulated=True)
    profile = getattr(user, "reader_profile", None)
    if profile is None or not profile.simulated:
        raise ValueError(f"User {spec.username!r} exists and is not a simulated reader: rename the "
                         "simulated reader or the user.")
    return user


def _form(study: Study) -> Form:
    return Form(confidence=study.ask_confidence, three_tier=study.ask_three_tier,
                features=study.ask_features, measurements=tuple(study.measurements))


def _facts(study: Study, case, truths: Mapping[str, PhantomTruth]) -> CaseFacts:
    reference = getattr(case, "reference", None)
    if reference is None:
        # Unclear cases have no reference standard; a reader still reads them.
        digest = hashlib.sha256(f"{study.seed}:{case.code}".encode()).digest()
        malignant = digest[0] % 2 == 1
    else:
        malignant = reference.label == ReferenceStandard.Label.MALIGNANT
    truth = truths.get(case.source_case_id)
    if truth is None:
        return drawn_case_facts(code=case.code, malignant=malignant, seed=study.seed)
    return CaseFacts(code=case.code, malignant=malignant, difficulty=truth.difficulty,
                     features=truth.features, measurements=truth.measurements)


def _submission_id(study: Study, user, code: str, round: str) -> str:
    return str(uuid.uuid5(SUBMISSION_NAMESPACE, f"{study.slug}:{user.username}:{code}:{round}"))


def simulated_reads_make(*, study: Study, readers: Sequence[SimulatedReader],
                         truths: Mapping[str, PhantomTruth] | None = None,
                         now: datetime | None = None, by=None) -> dict[str, int]:
    """Assign the simulated ``readers`` to an open ``study`` and make their reads.

    Each reader reads every case of their first-round order and then the study's repeat
    sample in their repeat-round order (:func:`readerstudy.demo.simulate.simulate_reader`),
    all before ``now``. Reads are made per reader in one transaction.

    Parameters
    ----------
    study : Study
        An open study.
    readers : sequence of SimulatedReader
    truths : mapping, optional
        What the images truly show, by the case's manifest id (``Case.source_case_id``);
        cases without one get drawn facts.
    now : datetime, optional
        The present (default: the current time).
    by : User, optional
        Who assigns the readers (the audit log's actor).

    Returns
    -------
    dict
        Reads made per username (0 for a reader who already had reads).
    """
    now = now or timezone.now()
    if study.status != Study.Status.OPEN:
        raise StudyNotOpen(f"Study {study.slug} is {study.status}: simulated reads need an open study.")
    truths = truths or {}
    made = {}
    for spec in readers:
        user = simulated_reader_ensure(spec=spec)
        services.assignment_create(study=study, reader=user, by=by)
        if Read.objects.filter(study=study, reader=user).exists():
            made[spec.username] = 0
            continue
        slots = list(ReadingSlot.objects.filter(study=study, reader=user)
                     .select_related("case", "case__reference").order_by("round", "position"))
        facts = {slot.case.code: _facts(study, slot.case, truths)
                 for slot in slots if slot.round == Round.FIRST}
        planned = simulate_reader(
            reader=spec,
            first_order=[facts[s.case.code] for s in slots if s.round == Round.FIRST],
            repeat_order=[s.case.code for s in slots if s.round == Round.REPEAT],
            form=_form(study), washout_days=study.washout_days, now=now, seed=study.seed,
        )
        with transaction.atomic():
            for read in planned:
                services.case_open(study=study, reader=user, code=read.case, round=read.round,
                                   now=read.opened_at)
                services.read_submit(study=study, reader=user, now=read.submitted_at, data={
                    "submission_id": _submission_id(study, user, read.case, read.round),
                    "case": read.case, "round": read.round, **read.answers,
                })
        made[spec.username] = len(planned)
    return made


def _unaided_answers(read: Read) -> dict:
    answers: dict = {"call": read.call}
    if read.confidence is not None:
        answers["confidence"] = read.confidence
    if read.three_tier:
        answers["three_tier"] = read.three_tier
    if read.features:
        answers["features"] = dict(read.features)
    if read.measurements:
        answers["measurements"] = dict(read.measurements)
    return {**answers, **(read.answers or {})}


def simulated_aided_reads_make(*, study: Study, readers: Sequence[SimulatedReader], by=None) -> dict[str, int]:
    """In an assisted study, the AI-aided read of every case each simulated reader has read
    unaided and the model has read (:func:`readerstudy.demo.simulate_aided.aided_answers`),
    a minute or two after the unaided read, through the reading services. Idempotent: a case
    with an aided read gets none added; a case the model has not read yet waits.

    Returns
    -------
    dict
        Aided reads made per username.
    """
    made: dict[str, int] = {}
    # The newest model's prediction of each case (what the reader would be shown).
    predictions: dict[int, Prediction] = {
        p.case_id: p for p in Prediction.objects.filter(case__study=study).select_related("model_version")
        .order_by("model_version__created_at", "model_version__pk")}
    for spec in readers:
        user = simulated_reader_ensure(spec=spec)
        done = set(Read.objects.filter(study=study, reader=user, round=Round.AIDED).values_list("case_id", flat=True))
        unaided_reads = (Read.objects.filter(study=study, reader=user, round=Round.FIRST)
                         .exclude(case_id__in=done).select_related("case").order_by("submitted_at"))
        count = 0
        with transaction.atomic():
            for read in unaided_reads:
                prediction = predictions.get(read.case_id)
                if prediction is None:
                    continue
                code = read.case.code
                answers = aided_answers(
                    reader=spec, unaided=_unaided_answers(read), model_probability=prediction.probability,
                    model_call=call_for(prediction.probability, prediction.model_version.card),
                    seed=study.seed, case=code)
                wait = 30 + int.from_bytes(hashlib.sha256(f"{spec.username}:{code}".encode()).digest()[:2], "big") % 90
                opened = read.submitted_at + timedelta(seconds=5)
                services.case_open(study=study, reader=user, code=code, round=Round.AIDED, now=opened)
                services.read_submit(study=study, reader=user, now=opened + timedelta(seconds=wait), data={
                    "submission_id": _submission_id(study, user, code, Round.AIDED),
                    "case": code, "round": Round.AIDED.value, **answers,
                })
                count += 1
        made[spec.username] = count
    return made
