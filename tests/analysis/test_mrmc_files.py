"""The iMRMC and RJafroc input files hold every human first read, in those programs' formats
(iMRMC: DIDSR/iMRMC's input description and RJafroc's ``ReadImrmc``; RJafroc: the JAFROC
Excel format read by ``DfReadDataFile``, ROC paradigm)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from readerstudy.analysis.frames import reads_frame
from readerstudy.analysis.mrmc_files import write_mrmc_files
from readerstudy.studies.models import Study
from tests.analysis.conftest import add_model, add_reads, make_cases

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored_study(make_reader):
    """Two complete readers with confidences, one reader who read half, and the model."""
    study = Study.objects.create(slug="mrmc", title="MRMC", modality="CT", seed=5)
    cases = make_cases(study, malignant=6, benign=8)
    for name, shift in (("r1", 0), ("r2", 15)):
        confidences = [min(100, 60 + shift + 3 * i) if c.reference.label == "malignant"
                       else max(0, 45 - shift + 4 * i) for i, c in enumerate(cases)]
        calls = ["malignant" if v > 50 else "benign" for v in confidences]
        add_reads(study, make_reader(name), cases, calls, confidences=confidences)
    add_reads(study, make_reader("partial"), cases[:7], ["benign"] * 7, confidences=[10] * 7)
    add_model(study, cases, [0.7] * 14)
    return study


def _imrmc_rows(text: str) -> tuple[dict[str, int], pd.DataFrame]:
    header, data = text.split("BEGIN DATA:\n")
    sizes = {line.split(":")[0]: int(line.split(":")[1]) for line in header.splitlines()
             if line.split(":")[0] in ("N0", "N1", "NR", "NM")}
    rows = pd.DataFrame([line.split(",") for line in data.strip().splitlines()],
                        columns=["reader", "case", "modality", "score"]).astype(float)
    return sizes, rows


def test_the_imrmc_file_describes_the_study_and_lists_truth_then_readings(scored_study,
                                                                         tmp_path):
    reads = reads_frame(scored_study)
    _paths, notes = write_mrmc_files(reads, tmp_path, title="MRMC test")
    sizes, rows = _imrmc_rows((tmp_path / "imrmc.imrmc").read_text())
    assert sizes == {"N0": 8, "N1": 6, "NR": 2, "NM": 1}
    truth = rows.loc[rows["reader"] == -1]
    assert len(truth) == 14 and set(truth["modality"]) == {0} and set(truth["score"]) == {0, 1}
    readings = rows.loc[rows["reader"] != -1]
    assert len(readings) == 2 * 14
    key = pd.read_csv(tmp_path / "mrmc_key.csv")
    readers = dict(key.loc[key["kind"] == "reader", ["name", "id"]].itertuples(index=False))
    assert set(readers) == {"r1", "r2"}  # the model is not a random reader; partial is left out
    assert any("partial (CT: 7 of 14 cases)" in note for note in notes)
    # Each reader's AUC from the file equals the AUC of the reads (scikit-learn).
    truth_by_case = truth.set_index("case")["score"]
    cases = dict(key.loc[key["kind"] == "case", ["id", "name"]].itertuples(index=False))
    for name, reader_id in readers.items():
        mine = readings.loc[readings["reader"] == reader_id]
        from_file = roc_auc_score(mine["case"].map(truth_by_case), mine["score"])
        original = reads.loc[reads["reader"] == name]
        assert from_file == pytest.approx(roc_auc_score(original["truth"], original["score"]))
        assert set(mine["case"].map(cases)) == set(original["case"])


def test_the_rjafroc_workbook_has_truth_nl_and_ll_sheets(scored_study, tmp_path):
    write_mrmc_files(reads_frame(scored_study), tmp_path, title="MRMC test")
    sheets = pd.read_excel(tmp_path / "rjafroc.xlsx", sheet_name=None)
    assert list(sheets) == ["TRUTH", "NL", "LL"]
    truth, nl, ll = sheets["TRUTH"], sheets["NL"], sheets["LL"]
    assert list(truth.columns) == ["CaseID", "LesionID", "Weight"]
    assert list(nl.columns) == ["ReaderID", "ModalityID", "CaseID", "NL_Rating"]
    assert list(ll.columns) == ["ReaderID", "ModalityID", "CaseID", "LesionID", "LL_Rating"]
    benign = set(truth.loc[truth["LesionID"] == 0, "CaseID"])
    malignant = set(truth.loc[truth["LesionID"] == 1, "CaseID"])
    assert (len(benign), len(malignant)) == (8, 6)
    assert set(nl["CaseID"]) == benign and set(ll["CaseID"]) == malignant
    assert len(nl) == 2 * 8 and len(ll) == 2 * 6 and set(ll["LesionID"]) == {1}


def test_calls_are_the_rating_when_the_study_asks_for_no_confidence(published_ct_study, tmp_path):
    _paths, notes = write_mrmc_files(reads_frame(published_ct_study), tmp_path, title="CT")
    assert "MRMC files: rating = call." in notes
    _sizes, rows = _imrmc_rows((tmp_path / "imrmc.imrmc").read_text())
    assert set(rows.loc[rows["reader"] != -1, "score"]) == {0, 1}
    assert "Rating: call, 1 = malignant" in (tmp_path / "imrmc.imrmc").read_text()


def test_no_files_without_a_complete_human_reader(make_reader, tmp_path):
    study = Study.objects.create(slug="model-only", title="Model only", modality="CT", seed=5)
    add_model(study, make_cases(study, malignant=2, benign=2), [0.9, 0.8, 0.1, 0.2])
    paths, notes = write_mrmc_files(reads_frame(study), tmp_path, title="none")
    assert paths == [] and "No complete human reader" in notes[0]
