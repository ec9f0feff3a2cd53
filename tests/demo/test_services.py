"""Simulated reads are made through the reading services, once, and touch nobody else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from readerstudy.analysis.frames import reads_frame
from readerstudy.analysis.results import analyse_reads
from readerstudy.core.models import AuditEvent
from readerstudy.demo.phantom_facts import PhantomTruth
from readerstudy.demo.services import (
    simulated_aided_reads_make,
    simulated_reader_ensure,
    simulated_reads_make,
)
from readerstudy.demo.simulate import CT_READERS, MRI_READERS
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies import services
from readerstudy.studies.exceptions import StudyNotOpen
from readerstudy.studies.models import CaseOpening, Read, ReadingSlot, Round

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CT_FORM = {"ask_confidence": True, "ask_three_tier": True,
           "measurements": ["anterior_height", "posterior_height"]}


@pytest.fixture
def open_study(make_study, reader, coordinator):
    """A 16-case CT study asking every CT question, repeat sample 8, with a live reader."""
    study = make_study("sim-ct", n=16, repeat_sample_size=8, **CT_FORM)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    return services.study_open(study=study, by=coordinator)


def test_every_simulated_reader_reads_every_case_and_the_repeat_sample(open_study):
    made = simulated_reads_make(study=open_study, readers=CT_READERS, now=NOW)
    assert made == {spec.username: 16 + 8 for spec in CT_READERS}
    for spec in CT_READERS:
        reads = Read.objects.filter(study=open_study, reader__username=spec.username)
        assert reads.filter(round=Round.FIRST).count() == 16
        assert reads.filter(round=Round.REPEAT).count() == 8
        for read in reads:
            slot = ReadingSlot.objects.get(study=open_study, reader=read.reader, round=read.round,
                                           case=read.case)
            assert read.position == slot.position
            assert read.three_tier in {"benign", "uncertain", "malignant"}
            assert set(read.measurements) == {"anterior_height", "posterior_height"}
            assert read.submitted_at < NOW


def test_repeat_reads_respect_the_washout_and_point_at_the_first_read(open_study):
    simulated_reads_make(study=open_study, readers=CT_READERS[:1], now=NOW)
    repeats = Read.objects.filter(study=open_study, round=Round.REPEAT).select_related("first_read")
    assert repeats.count() == 8
    for read in repeats:
        assert read.first_read.case_id == read.case_id and read.first_read.reader_id == read.reader_id
        assert read.repeat_interval >= timedelta(days=open_study.washout_days)
        assert read.repeat_interval == read.submitted_at - read.first_read.submitted_at


def test_reads_carry_their_simulated_opening_and_reading_times(open_study):
    simulated_reads_make(study=open_study, readers=CT_READERS[:1], now=NOW)
    for read in Read.objects.filter(study=open_study):
        opening = CaseOpening.objects.get(reader=read.reader, case=read.case, round=read.round)
        assert opening.opened_at == read.opened_at < read.submitted_at
        assert 15 <= read.reading_seconds <= 900
    first = Read.objects.filter(study=open_study, round=Round.FIRST)
    assert min(r.submitted_at for r in first) > NOW - timedelta(days=91)
    assert max(r.submitted_at for r in first) < NOW - timedelta(days=49)
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.SUBMITTED, study_slug="sim-ct").count() == 24


def test_making_them_again_adds_nothing(open_study):
    simulated_reads_make(study=open_study, readers=CT_READERS, now=NOW)
    before = Read.objects.count()
    again = simulated_reads_make(study=open_study, readers=CT_READERS, now=NOW + timedelta(days=3))
    assert again == {spec.username: 0 for spec in CT_READERS}
    assert Read.objects.count() == before
    assert get_user_model().objects.filter(username__startswith="sim-").count() == 3


def test_the_live_reader_keeps_every_case_unread(open_study, reader):
    slots_before = list(ReadingSlot.objects.filter(reader=reader).values_list("pk", flat=True))
    simulated_reads_make(study=open_study, readers=CT_READERS, now=NOW)
    assert not Read.objects.filter(reader=reader).exists()
    assert not CaseOpening.objects.filter(reader=reader).exists()
    assert list(ReadingSlot.objects.filter(reader=reader).values_list("pk", flat=True)) == slots_before


def test_simulated_readers_are_flagged_and_cannot_sign_in(open_study, client):
    simulated_reads_make(study=open_study, readers=CT_READERS[:1], now=NOW)
    user = get_user_model().objects.get(username="sim-resident-2y")
    assert user.reader_profile.simulated
    assert (user.reader_profile.role, user.reader_profile.years_experience) == ("resident", 2)
    assert not user.has_usable_password()
    assert not client.login(username="sim-resident-2y", password="")


def test_an_existing_person_is_never_taken_over(make_reader):
    make_reader("sim-resident-2y")
    with pytest.raises(ValueError, match="'sim-resident-2y' exists and is not a simulated reader"):
        simulated_reader_ensure(spec=CT_READERS[0])


def test_a_draft_study_is_refused(make_study):
    study = make_study("draft", n=4)
    with pytest.raises(StudyNotOpen, match="draft is draft"):
        simulated_reads_make(study=study, readers=CT_READERS, now=NOW)
    assert not get_user_model().objects.filter(username__startswith="sim-").exists()


def test_phantom_truth_sets_what_the_readers_measure(open_study):
    truths = {case.source_case_id: PhantomTruth(label="benign", difficulty=0.1,
                                                features=frozenset(),
                                                measurements={"anterior_height": 40.0,
                                                              "posterior_height": 50.0})
              for case in open_study.cases.all()}
    simulated_reads_make(study=open_study, readers=CT_READERS[2:], truths=truths, now=NOW)
    heights = [r.measurements["posterior_height"] for r in Read.objects.filter(study=open_study)]
    assert min(heights) > 45 and max(heights) < 55


def test_the_feature_checklist_is_filled_in_where_the_study_asks_it(make_study, coordinator):
    study = make_study("sim-mri", n=12, modality="MR", ask_features=True, repeat_sample_size=4)
    study = services.study_open(study=study, by=coordinator)
    simulated_reads_make(study=study, readers=MRI_READERS, now=NOW)
    reads = Read.objects.filter(study=study)
    assert reads.count() == 3 * (12 + 4)
    assert all(len(r.features) == 15 for r in reads)
    assert any(any(r.features.values()) for r in reads)


def test_the_reads_frame_labels_simulated_readers(open_study, reader):
    simulated_reads_make(study=open_study, readers=CT_READERS[:1], now=NOW)
    slot = ReadingSlot.objects.filter(reader=reader, round=Round.FIRST).first()
    services.case_open(study=open_study, reader=reader, code=slot.case.code)
    services.read_submit(study=open_study, reader=reader, data={
        "submission_id": "6f1c1b3e-8d4f-4a51-9a0e-3c2b1d0e9f11", "case": slot.case.code,
        "call": "benign", "confidence": 20, "three_tier": "benign",
        "measurements": {"anterior_height": 20, "posterior_height": 25}})
    frame = reads_frame(open_study, include_model=False)
    assert set(frame.loc[frame["simulated"], "reader"]) == {"sim-resident-2y"}
    assert set(frame.loc[~frame["simulated"], "reader"]) == {reader.username}


def test_a_study_without_a_repeat_round_gets_first_reads_only(make_study, coordinator):
    study = make_study("sim-teaching", n=6, repeat_sample_size=0, mode="teaching")
    study = services.study_open(study=study, by=coordinator)
    simulated_reads_make(study=study, readers=CT_READERS[:1], now=NOW)
    assert set(Read.objects.filter(study=study).values_list("round", flat=True)) == {Round.FIRST}
    assert Read.objects.filter(study=study).count() == 6


def assisted_study_read_unaided(make_study, coordinator, slug: str, n: int):
    """An open assisted CT study of ``n`` cases whose simulated readers made their unaided
    reads, and a finished model run on it (no predictions yet): (study, model, job)."""
    study = make_study(slug, n=n, repeat_sample_size=0, mode="assisted", ask_three_tier=True)
    study = services.study_open(study=study, by=coordinator)
    simulated_reads_make(study=study, readers=CT_READERS, now=NOW)
    model = ModelVersion.objects.create(name="m", version="1", modality="CT", architecture="x", sha256="0" * 64,
                                        card={"thresholds": {"lower": 0.3, "upper": 0.7}}, weights_path="none")
    job = InferenceJob.objects.create(study=study, model_version=model, status=InferenceJob.Status.DONE)
    return study, model, job


def test_an_assisted_study_gets_an_aided_read_after_each_unaided_read_the_model_has_read(make_study, coordinator):
    study, model, job = assisted_study_read_unaided(make_study, coordinator, "sim-assisted", 6)
    cases = list(study.cases.order_by("pk"))
    # The model is right with certainty on every case but the last, which it has not read.
    for case in cases[:-1]:
        Prediction.objects.create(case=case, model_version=model, job=job, three_tier="uncertain", runtime_s=1.0,
                                  probability=0.95 if case.reference.label == "malignant" else 0.05)

    made = simulated_aided_reads_make(study=study, readers=CT_READERS)

    assert made == dict.fromkeys((r.username for r in CT_READERS), 5)
    assert simulated_aided_reads_make(study=study, readers=CT_READERS) == dict.fromkeys(made, 0)
    unaided = {(r.reader_id, r.case_id): r for r in Read.objects.filter(study=study, round=Round.FIRST)}
    aided = list(Read.objects.filter(study=study, round=Round.AIDED))
    for read in aided:
        first = unaided[read.reader_id, read.case_id]
        assert read.first_read == first and read.opened_at > first.submitted_at
        # A reader who agreed with a right model keeps the call; nobody moves away from it.
        if first.call == first.case.reference.label:
            assert read.call == first.call
    right = sum(r.call == r.case.reference.label for r in aided)
    right_before = sum(unaided[r.reader_id, r.case_id].call == r.case.reference.label for r in aided)
    assert right >= right_before
    assert frame_conditions(study) >= {"CT", "CT + AI"}
    # The export's statistics pair each reader's unaided and aided reads (readerstudy/stats/analyses/aided.py).
    results = analyse_reads(reads_frame(study), n_boot=0)
    aided_rows = results[results["analysis"] == "aided"]
    assert not aided_rows.empty
    assert set(aided_rows["condition"]) == {"CT", "CT + AI"}
    paired = aided_rows[(aided_rows["condition"] == "CT") & (aided_rows["other"] == "CT + AI")]
    assert {r.username for r in CT_READERS} <= set(paired["reader"])
    assert {"calls_changed", "auc_difference", "accuracy_exact", "auc_difference_rrrc"} <= set(paired["metric"])


def frame_conditions(study) -> set[str]:
    return set(reads_frame(study, include_model=False)["condition"])


def test_the_assisted_studys_orh_rows_leave_out_a_reader_who_has_read_only_part(make_study, coordinator):
    # The demo's assisted study (demo-assisted) as an export sees it while one of its readers
    # is still reading: the readers who read every case in both conditions give the
    # Obuchowski-Rockette-Hillis rows, and the other is named (it used to shrink the analysis
    # to the cases every reader had read, here one: "not estimable").
    study, model, job = assisted_study_read_unaided(make_study, coordinator, "sim-assisted-part", 8)
    for case in study.cases.all():
        Prediction.objects.create(case=case, model_version=model, job=job, three_tier="uncertain", runtime_s=1.0,
                                  probability=0.8 if case.reference.label == "malignant" else 0.3)
    simulated_aided_reads_make(study=study, readers=CT_READERS)
    # The last simulated reader has read only the first case with the model's output so far.
    slow = simulated_reader_ensure(spec=CT_READERS[-1])
    aided = Read.objects.filter(study=study, reader=slow, round=Round.AIDED).order_by("submitted_at")
    Read.objects.filter(pk__in=[r.pk for r in aided[1:]]).delete()

    results = analyse_reads(reads_frame(study), n_boot=0)
    orh = results[(results["analysis"] == "aided") & (results["reader"] == "")]
    difference = orh[orh["metric"] == "auc_difference_rrrc"]
    assert len(difference) == 1 and difference["estimate"].notna().all() and (difference["n"] == 8).all()
    readers = orh[orh["metric"] == "readers"].iloc[0]
    assert readers["estimate"] == len(CT_READERS) - 1
    assert readers["note"] == f"left out (not fully crossed): {slow.username} (CT + AI: 1 of 8 cases)"
