"""Read-only queries of the reading workflow: worklists, progress, the repeat schedule.

Everything a reader receives is built here from an explicit allow-list of fields.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from typing import IO, Any

from django.db.models import Count, Q
from django.utils import timezone

from readerstudy.studies.answer_form import form_description
from readerstudy.studies.models import Assignment, Case, Read, ReadingSlot, Round, Study
from readerstudy.studies.pseudonyms import case_code
from readerstudy.studies.services import repeat_available_from


def studies_overview() -> list[dict[str, Any]]:
    """Every study for the coordinator's home: cases (read and training), readers (people, and
    the demo's simulated readers apart), reads done of the reads in the recorded orders."""
    def counts(queryset) -> dict[int, int]:
        return dict(queryset.values_list("study").annotate(n=Count("id")).values_list("study", "n"))

    reading = counts(Case.objects.reading())
    training = counts(Case.objects.training())
    simulated = Q(reader__reader_profile__simulated=True)
    readers = counts(Assignment.objects.exclude(simulated))
    simulated_readers = counts(Assignment.objects.filter(simulated))
    slots = counts(ReadingSlot.objects.all())
    reads = counts(Read.objects.all())
    rank: dict[str, int] = {Study.Status.OPEN: 0, Study.Status.DRAFT: 1, Study.Status.CLOSED: 2}
    return [
        {"study": study, "cases": reading.get(study.pk, 0), "training_cases": training.get(study.pk, 0),
         "readers": readers.get(study.pk, 0), "simulated_readers": simulated_readers.get(study.pk, 0),
         "reads_done": reads.get(study.pk, 0),
         "reads_total": slots.get(study.pk, 0)}
        for study in sorted(Study.objects.all(), key=lambda s: (rank[s.status], s.title.lower()))
    ]


def is_simulated(user) -> bool:
    """Whether ``user`` is one of the demo's simulated readers (``ReaderProfile.simulated``):
    its reads were generated, not made by a person."""
    profile = getattr(user, "reader_profile", None)
    return bool(profile and profile.simulated)


def studies_for_reader(*, reader):
    return Study.objects.filter(assignments__reader=reader).exclude(status=Study.Status.DRAFT)


def study_for_reader(*, reader, slug: str) -> Study | None:
    """The study if ``reader`` is assigned to it and it is not a draft; else None."""
    return studies_for_reader(reader=reader).filter(slug=slug).first()


def _repeat_rows(*, study: Study, reader, now: datetime) -> tuple[list[dict], list[dict], int]:
    slots = list(
        ReadingSlot.objects.filter(study=study, reader=reader, round=Round.REPEAT)
        .select_related("case").order_by("position")
    )
    first_reads = {
        r.case_id: r for r in Read.objects.filter(study=study, reader=reader, round=Round.FIRST)
    }
    repeated = set(
        Read.objects.filter(study=study, reader=reader, round=Round.REPEAT).values_list("case_id", flat=True)
    )
    due, upcoming = [], []
    for slot in slots:
        if slot.case_id in repeated or slot.case_id not in first_reads:
            continue
        available_from = repeat_available_from(study=study, first_read=first_reads[slot.case_id])
        if available_from <= now:
            due.append({"code": case_code(case=slot.case, round=slot.round), "position": slot.position,
                        "available_from": available_from})
        else:
            upcoming.append({"available_from": available_from})
    upcoming.sort(key=lambda row: row["available_from"])
    return due, upcoming, len(repeated)


def worklist_for(*, study: Study, reader, now: datetime | None = None) -> dict[str, Any]:
    """The reader's worklist: progress, the next case, repeat reads due and upcoming dates."""
    now = now or timezone.now()
    first_slots = list(
        ReadingSlot.objects.filter(study=study, reader=reader, round=Round.FIRST)
        .select_related("case").order_by("position")
    )
    read_first = set(
        Read.objects.filter(study=study, reader=reader, round=Round.FIRST).values_list("case_id", flat=True)
    )
    n_repeat = ReadingSlot.objects.filter(study=study, reader=reader, round=Round.REPEAT).count()
    due, upcoming, repeats_done = _repeat_rows(study=study, reader=reader, now=now)
    aided_slots = {s.case_id: s for s in ReadingSlot.objects.filter(study=study, reader=reader, round=Round.AIDED)}
    read_aided = set(
        Read.objects.filter(study=study, reader=reader, round=Round.AIDED).values_list("case_id", flat=True)
    )
    next_case = None
    # The aided read of a case follows its locked unaided read, before any other case.
    for slot in first_slots:
        if slot.case_id in read_first and slot.case_id in aided_slots and slot.case_id not in read_aided:
            aided = aided_slots[slot.case_id]
            next_case = {"code": case_code(case=slot.case, round=Round.AIDED), "round": Round.AIDED.value,
                         "position": aided.position}
            break
    for slot in first_slots:
        if next_case is None and slot.case_id not in read_first:
            next_case = {"code": slot.case.code, "round": Round.FIRST.value, "position": slot.position}
            break
    if next_case is None and due and study.status == Study.Status.OPEN:
        next_case = {"code": due[0]["code"], "round": Round.REPEAT.value, "position": due[0]["position"]}
    if study.status != Study.Status.OPEN:
        next_case = None
    return {
        "study": {"slug": study.slug, "title": study.title, "modality": study.modality,
                  "status": study.status},
        "mode": study.mode,
        "progress": {"done": len(read_first) + repeats_done + len(read_aided),
                     "total": len(first_slots) + n_repeat + len(aided_slots)},
        "first_round": {"done": len(read_first), "total": len(first_slots)},
        "aided_round": {"done": len(read_aided), "total": len(aided_slots)},
        "repeat_round": {"done": repeats_done, "total": n_repeat},
        "next": next_case,
        "repeats_due": due,
        "repeats_upcoming": upcoming,
    }


def case_payload_for_reader(*, study: Study, slot: ReadingSlot) -> dict[str, Any]:
    """What a reader receives when opening a case: the blinded code, the form and the images.

    An allow-list: no reference standard, demographics, institution, scanner, identifiers,
    other readers' reads or model output. The code and the image UIDs are the round's
    (:mod:`readerstudy.studies.pseudonyms`).
    """
    in_round = ReadingSlot.objects.filter(study=study, reader=slot.reader, round=slot.round)
    if slot.round == Round.AIDED:
        # Aided reads follow the unaided ones in the order they were read: the next one is
        # "case (aided reads made + 1)"; slots are numbered across the reader's rounds.
        made = Read.objects.filter(study=study, reader=slot.reader, round=Round.AIDED)
        position = made.count() + (0 if made.filter(case=slot.case).exists() else 1)
    else:
        position = in_round.filter(position__lte=slot.position).count()
    return {
        "code": case_code(case=slot.case, round=slot.round),
        "round": slot.round,
        "position": position,  # "case 3 of 20" within the round
        "total": in_round.count(),
        "modality": study.modality,
        "form": form_description(study, slot.round),
        "series": viewer_series(case=slot.case, round=slot.round),
        "target": viewer_target(case=slot.case),
    }


def viewer_series(*, case, round: str = Round.FIRST) -> list[dict[str, Any]]:
    """The case's de-identified series for the viewer, with the round's UIDs (provided by the
    imaging app)."""
    from readerstudy.imaging.selectors import viewer_series_for_case  # imaging builds on studies

    return viewer_series_for_case(case=case, round=round)


def viewer_target(*, case) -> dict[str, Any]:
    """The vertebra asked about, for the viewer's marker and the header (provided by the
    imaging app)."""
    from readerstudy.imaging.selectors import viewer_target_for_case  # imaging builds on studies

    return viewer_target_for_case(case=case)


def progress_for(*, study: Study) -> list[dict[str, Any]]:
    """Per assigned reader: first, repeat and (assisted studies) AI-aided rounds done / total,
    the last submission, and whether the reader is one of the demo's simulated readers
    (``simulated``)."""
    rows = []
    slot_counts = {
        (r["reader"], r["round"]): r["n"]
        for r in ReadingSlot.objects.filter(study=study).values("reader", "round").annotate(n=Count("id"))
    }
    read_counts = {
        (r["reader"], r["round"]): r["n"]
        for r in Read.objects.filter(study=study).values("reader", "round").annotate(n=Count("id"))
    }
    for assignment in study.assignments.select_related("reader", "reader__reader_profile"):
        reader = assignment.reader
        profile = getattr(reader, "reader_profile", None)
        last = Read.objects.filter(study=study, reader=reader).order_by("-submitted_at").first()
        rows.append({
            "reader": reader.username,
            "role": profile.role if profile else "",
            "years_experience": profile.years_experience if profile else None,
            "simulated": is_simulated(reader),
            "first_done": read_counts.get((reader.pk, Round.FIRST), 0),
            "first_total": slot_counts.get((reader.pk, Round.FIRST), 0),
            "repeat_done": read_counts.get((reader.pk, Round.REPEAT), 0),
            "repeat_total": slot_counts.get((reader.pk, Round.REPEAT), 0),
            "aided_done": read_counts.get((reader.pk, Round.AIDED), 0),
            "aided_total": slot_counts.get((reader.pk, Round.AIDED), 0),
            "last_submitted_at": last.submitted_at if last else None,
        })
    return rows


def repeat_schedule(*, study: Study, now: datetime | None = None) -> list[dict[str, Any]]:
    """The repeat-read schedule for coordinators: one row per reader and sampled case."""
    now = now or timezone.now()
    reads = {
        (r.reader_id, r.case_id, r.round): r
        for r in Read.objects.filter(study=study).filter(Q(round=Round.FIRST) | Q(round=Round.REPEAT))
    }
    rows = []
    for slot in (
        ReadingSlot.objects.filter(study=study, round=Round.REPEAT)
        .select_related("reader__reader_profile", "case").order_by("reader__username", "position")
    ):
        first = reads.get((slot.reader_id, slot.case_id, Round.FIRST))
        repeat = reads.get((slot.reader_id, slot.case_id, Round.REPEAT))
        available_from = repeat_available_from(study=study, first_read=first) if first else None
        if repeat is not None:
            state = "done"
        elif first is None or available_from is None:  # available_from is None iff first is
            state = "waiting for first read"
        elif available_from <= now:
            state = "due"
        else:
            state = "in washout"
        rows.append({
            "reader": slot.reader.username,
            "simulated": is_simulated(slot.reader),
            "case": slot.case.code,
            "patient": slot.case.patient_pseudonym,
            "position": slot.position,
            "first_read_at": first.submitted_at if first else None,
            "available_from": available_from,
            "repeat_read_at": repeat.submitted_at if repeat else None,
            "interval_days": repeat.repeat_interval_days if repeat else None,
            "state": state,
        })
    return rows


SCHEDULE_CSV_COLUMNS = ("reader", "case", "patient", "first_read_at", "available_from", "repeat_read_at",
                        "interval_days", "state")
SCHEDULE_STATES = ("done", "due", "in washout", "waiting for first read")


def repeat_schedule_csv(*, study: Study, out: IO[str], now: datetime | None = None) -> None:
    """Write :func:`repeat_schedule` as CSV (the command's ``--csv`` and the page's download)."""
    writer = csv.DictWriter(out, fieldnames=SCHEDULE_CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(repeat_schedule(study=study, now=now))


def repeat_schedule_by_reader(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per reader, from :func:`repeat_schedule`'s rows: how many repeat reads are in each state,
    and when the next one still in washout becomes due."""
    readers: dict[str, dict[str, Any]] = {}
    for row in rows:
        summary = readers.setdefault(row["reader"], {"reader": row["reader"], "simulated": row["simulated"],
                                                     "total": 0, "counts": Counter(), "next_due": None})
        summary["total"] += 1
        summary["counts"][row["state"]] += 1
        if row["state"] == "in washout" and (summary["next_due"] is None or row["available_from"] < summary["next_due"]):
            summary["next_due"] = row["available_from"]
    return [
        {"reader": s["reader"], "simulated": s["simulated"], "total": s["total"], "next_due": s["next_due"],
         **{state.replace(" ", "_"): s["counts"][state] for state in SCHEDULE_STATES}}
        for s in readers.values()
    ]
