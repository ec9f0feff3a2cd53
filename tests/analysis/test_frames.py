"""The reads frame: reads, the model and the reference standard in the stats package's format."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from readerstudy.analysis.fingerprint import study_fingerprint
from readerstudy.analysis.frames import STATS_COLUMNS, reads_frame
from readerstudy.stats.analysis import analyse
from readerstudy.studies.answer_form import FEATURES
from readerstudy.studies.models import Case, ReferenceStandard, Round, Study
from tests.analysis.conftest import T0, add_model, add_reads, make_cases

pytestmark = pytest.mark.django_db


def test_truth_comes_from_the_reference_standard_and_the_model_reads_as_a_reader(
        published_ct_study):
    frame = reads_frame(published_ct_study)
    truth = dict(ReferenceStandard.objects.filter(case__study=published_ct_study)
                 .values_list("case__code", "label"))
    assert (frame["truth"] == frame["case"].map(truth).eq("malignant").astype(int)).all()
    model = frame.loc[frame["reader_kind"] == "model"]
    assert set(model["reader"]) == {"model:ct-unet@1.0"} and len(model) == 86
    assert set(frame.loc[frame["reader_kind"] == "human", "role"]) == {"resident", "attending"}
    assert frame.loc[frame["reader"] == "attending_7y", "years"].eq(7).all()
    assert set(frame["condition"]) == {"CT"} and set(frame["round"]) == {"first"}


def test_scores_are_percent_for_readers_and_the_model_alike(make_reader):
    study = Study.objects.create(slug="scores", title="Scores", modality="CT", seed=2)
    cases = make_cases(study, malignant=3, benign=3)
    add_reads(study, make_reader("r1"), cases, ["malignant"] * 3 + ["benign"] * 3,
              confidences=[90, 80, 70, 30, 20, 10])
    add_model(study, cases, [0.91, 0.8, 0.6, 0.4, 0.2, 0.05])
    frame = reads_frame(study).set_index(["reader", "case"])["score"]
    codes = [c.code for c in cases]
    assert frame.loc["r1"].loc[codes].tolist() == [90, 80, 70, 30, 20, 10]
    assert frame.loc["model:ct-unet@1.0"].loc[codes].tolist() == pytest.approx(
        [91, 80, 60, 40, 20, 5])
    assert reads_frame(study, include_model=False)["reader_kind"].eq("human").all()


def test_training_cases_and_cases_without_a_reference_standard_are_left_out(make_reader):
    study = Study.objects.create(slug="left-out", title="Left out", modality="CT",
                                 ask_confidence=False, seed=2)
    cases = make_cases(study, malignant=2, benign=2)
    training = make_cases(study, malignant=1, benign=0, test_set="training")
    unclear = Case.objects.create(study=study, source_case_id="unclear", patient_pseudonym="PX",
                                  test_set="internal", vertebra_level="T12")
    add_reads(study, make_reader("r1"), [*cases, unclear], ["benign"] * 5)
    add_model(study, [*cases, *training], [0.2] * 5)
    frame = reads_frame(study)
    assert set(frame["case"]) == {c.code for c in cases}
    assert len(frame) == 8


def test_repeat_reads_keep_the_reader_condition_and_carry_the_actual_interval(make_reader):
    study = Study.objects.create(slug="repeat-frame", title="Repeat", modality="MR",
                                 ask_confidence=False, seed=2)
    cases = make_cases(study, malignant=2, benign=2)
    reader = make_reader("r1")
    first = add_reads(study, reader, cases, ["malignant", "benign", "benign", "benign"])
    add_reads(study, reader, cases[:2], ["malignant", "malignant"], round=Round.REPEAT,
              start=T0 + timedelta(days=34), first_reads={r.case_id: r for r in first})
    add_reads(study, reader, cases, ["malignant"] * 4, round=Round.AIDED,
              start=T0 + timedelta(days=40))
    frame = reads_frame(study)
    repeats = frame.loc[frame["round"] == "repeat"]
    assert set(repeats["condition"]) == {"MRI"}
    assert repeats["interval_days"].between(34, 34.1).all()
    assert frame.loc[frame["round"] == "first", "interval_days"].isna().all()
    aided = frame.loc[frame["condition"] == "MRI + AI"]
    assert len(aided) == 4 and set(aided["round"]) == {"first"}


def test_features_and_measurements_become_one_column_each(make_reader):
    study = Study.objects.create(slug="features", title="Features", modality="MR",
                                 ask_confidence=False, ask_features=True,
                                 measurements=["anterior_height", "vertebral_angle"], seed=2)
    cases = make_cases(study, malignant=1, benign=1)
    features = {key: key == "fluid_cleft" for key in FEATURES}
    add_reads(study, make_reader("r1"), cases, ["benign", "benign"],
              measurements=[{"anterior_height": 21.5, "vertebral_angle": 8.0},
                            {"anterior_height": 18.0, "vertebral_angle": 12.5}],
              features=[features, {}])
    frame = reads_frame(study)
    assert {f"feature_{k}" for k in FEATURES} <= set(frame.columns)
    assert {"measurement_anterior_height", "measurement_vertebral_angle"} <= set(frame.columns)
    assert sorted(frame["measurement_anterior_height"]) == [18.0, 21.5]
    first, second = frame.set_index("case").loc[[cases[0].code, cases[1].code]].itertuples()
    assert first.feature_fluid_cleft is True and first.feature_dark_patch is False
    assert pd.isna(second.feature_fluid_cleft)  # a read without the checklist stays missing


def test_the_frame_is_what_the_statistics_package_reads(published_ct_study):
    frame = reads_frame(published_ct_study)
    results = analyse(frame[STATS_COLUMNS], n_boot=20, seed=0)
    auc = results.loc[(results["metric"] == "auc_calls") & (results["reader"] == "resident_2y")]
    assert auc["estimate"].iloc[0] == pytest.approx((33 / 49 + 26 / 37) / 2)


def test_the_fingerprint_changes_with_a_read_a_prediction_or_the_reference(make_reader):
    study = Study.objects.create(slug="fp", title="FP", modality="CT", ask_confidence=False, seed=2)
    cases = make_cases(study, malignant=2, benign=2)
    reader = make_reader("r1")
    add_reads(study, reader, cases[:3], ["benign"] * 3)
    parameters = {"n_boot": 10, "seed": 0, "alpha": 0.05}
    seen = {study_fingerprint(study, parameters=parameters)[0]}
    assert study_fingerprint(study, parameters=parameters)[0] in seen  # stable
    add_reads(study, reader, cases[3:], ["benign"], start=T0 + timedelta(hours=1))
    seen.add(study_fingerprint(study, parameters=parameters)[0])
    add_model(study, cases, [0.5] * 4)
    seen.add(study_fingerprint(study, parameters=parameters)[0])
    ReferenceStandard.objects.filter(case=cases[0]).update(label="benign")
    seen.add(study_fingerprint(study, parameters=parameters)[0])
    seen.add(study_fingerprint(study, parameters=parameters | {"seed": 1})[0])
    assert len(seen) == 5


def test_an_empty_study_gives_an_empty_frame_with_the_columns():
    study = Study.objects.create(slug="empty", title="Empty", modality="CT", seed=2)
    frame = reads_frame(study)
    assert frame.empty and set(STATS_COLUMNS) <= set(frame.columns)
    assert isinstance(frame, pd.DataFrame) and np.isnan(frame["score"].astype(float)).all()
