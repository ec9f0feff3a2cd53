"""A trainee's progress page: the learning curve against the model and the attendings on the
same cases, the cases to review and the features that misled them; for trainees of teaching
studies only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from statsmodels.stats.proportion import proportion_confint

from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.predictions.progress import ProgressUnavailable, trainee_progress
from readerstudy.studies import services
from readerstudy.studies.models import ReadingSlot, Study
from readerstudy.studies.protocol import FEATURES

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _teaching(make_study, *readers, n: int = 6) -> Study:
    study = make_study("teach", n=n, repeat_sample_size=0, mode="teaching", ask_features=True)
    for reader in readers:
        services.assignment_create(study=study, reader=reader)
    return services.study_open(study=study)


def _read(study: Study, reader, case, call: str, minutes: int, features=()) -> None:
    services.case_open(study=study, reader=reader, code=case.code, round="first")
    services.read_submit(study=study, reader=reader, now=T0 + timedelta(minutes=minutes), data={
        "case": case.code, "round": "first", "submission_id": str(uuid.uuid4()), "call": call,
        "confidence": 80 if call == "malignant" else 20,
        "features": {key: key in features for key in FEATURES}})


def _predict(study: Study, probabilities: dict) -> None:
    model = ModelVersion.objects.create(name="m", version="1", modality="CT", architecture="x", sha256="0" * 64,
                                        card={"thresholds": {"lower": 0.3, "upper": 0.7}}, weights_path="none")
    job = InferenceJob.objects.create(study=study, model_version=model, status=InferenceJob.Status.DONE)
    for case, probability in probabilities.items():
        Prediction.objects.create(case=case, model_version=model, job=job, probability=probability,
                                  three_tier="uncertain", runtime_s=1.0)


def _cases(study, reader):
    return [s.case for s in ReadingSlot.objects.filter(study=study, reader=reader).order_by("position")]


def test_the_progress_scores_the_trainee_the_model_and_the_attendings_on_the_same_cases(
        make_study, make_reader):
    trainee, attending = make_reader("trainee_t", "trainee", 1), make_reader("attending_a", "attending", 10)
    study = _teaching(make_study, trainee, attending)
    cases = _cases(study, trainee)[:4]
    truth = [c.reference.label for c in cases]
    # The trainee: right, wrong, right, wrong; the attending right on all four.
    calls = [truth[0], "benign" if truth[1] == "malignant" else "malignant", truth[2],
             "benign" if truth[3] == "malignant" else "malignant"]
    for i, (case, call) in enumerate(zip(cases, calls, strict=True)):
        _read(study, trainee, case, call, minutes=i, features=("fluid_cleft",) if call != truth[i] else ("dark_line_band",))
        _read(study, attending, case, truth[i], minutes=10 + i)
    # The model says malignant for every case.
    _predict(study, dict.fromkeys(cases, 0.9))

    progress = trainee_progress(study=study, reader=trainee, window=2)

    assert progress["n_reads"] == 4
    accuracy = progress["yours"].accuracy
    assert (accuracy.successes, accuracy.total) == (2, 4)
    # Wilson interval as statsmodels computes it (method="wilson").
    assert (accuracy.ci_low, accuracy.ci_high) == pytest.approx(proportion_confint(2, 4, method="wilson"))
    assert [row["scores"].accuracy.estimate for row in progress["curve"]] == [1.0, 0.5, 0.5, 0.5]
    assert [row["scores"].accuracy.total for row in progress["curve"]] == [1, 2, 2, 2]
    assert progress["attendings"].accuracy.estimate == 1.0
    n_malignant = truth.count("malignant")
    assert (progress["model"].sensitivity.successes, progress["model"].sensitivity.total) == (n_malignant, n_malignant)
    assert progress["model"].specificity.successes == 0
    # Cases to review: newest first; wrong calls and disagreements with the model.
    review = {row["code"]: row["reasons"] for row in progress["to_review"]}
    assert [row["code"] for row in progress["to_review"]] == [
        c.code for c, call in reversed(list(zip(cases, calls, strict=True)))
        if call != truth[cases.index(c)] or call != "malignant"]
    assert "wrong call" in review[cases[1].code] and "wrong call" not in review.get(cases[0].code, [])
    # The model's call is scored at 0.5; the row also says what the feedback showed of it.
    assert {(row["model_call"], row["model_said"]) for row in progress["to_review"]} == {
        ("malignant", "90.0 %, uncertain - recommend MRI")}
    # The feature ticked only in the wrong reads misled them.
    assert [(f["key"], f["in_wrong"], f["wrong"], f["in_right"]) for f in progress["features"]] == [
        ("fluid_cleft", 2, 2, 0)]


def test_progress_is_for_trainees_of_teaching_studies_only(make_study, make_reader, attending):
    trainee = make_reader("trainee_t", "trainee", 1)
    study = _teaching(make_study, trainee, attending)
    with pytest.raises(ProgressUnavailable):
        trainee_progress(study=study, reader=attending)
    blinded = make_study("blind", n=2, repeat_sample_size=0)
    with pytest.raises(ProgressUnavailable):
        trainee_progress(study=blinded, reader=trainee)


def test_the_progress_page_updates_after_a_read_and_is_a_404_for_others(make_study, make_reader, attending,
                                                                         client):
    trainee = make_reader("trainee_t", "trainee", 1)
    study = _teaching(make_study, trainee, attending)
    client.force_login(trainee)
    assert b"No reads yet" in client.get("/progress/teach/").content
    case = _cases(study, trainee)[0]
    _read(study, trainee, case, "malignant", minutes=0)

    page = client.get("/progress/teach/")

    assert page.status_code == 200 and b'data-reads="1"' in page.content
    assert b"<polyline" in page.content and b"cases-to-review" in page.content
    client.force_login(attending)
    assert client.get("/progress/teach/").status_code == 404
