"""The exports of the issue's failing studies complete, through the database and the export
job: a three-tier subgroup with one case, a 10-case test set, one reader, no reads, no
model; what the data do not allow is marked "not estimable" with the reason."""

from __future__ import annotations

import pandas as pd
import pytest

from readerstudy.analysis import services
from readerstudy.analysis.frames import reads_frame
from readerstudy.studies.models import Case, Study
from tests.analysis.conftest import Counts, add_model, add_reads, calls_for, make_cases
from tests.analysis.test_export_properties import check_export

pytestmark = pytest.mark.django_db

FAST = services.ExportParameters(n_boot=20)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": tmp_path / "media"}},
    }


@pytest.fixture
def out(tmp_path):
    """Where an export is unpacked."""
    return tmp_path / "export"


def run_export(study: Study, out) -> tuple[services.AnalysisExport, list[str]]:
    """Run the export job of ``study`` and unpack it into ``out``; check every file."""
    export, _ = services.export_request(study=study, parameters=FAST, enqueue=False)
    export = services.export_run(export_pk=export.pk)
    assert export.status == "done", export.error
    services.export_extract(export=export, out=out)
    readme = (out / "README.md").read_text()
    notes = [line.removeprefix("- ") for line in readme.split("## Notes", 1)[-1].splitlines()
             if line.startswith("- ")] if "## Notes" in readme else []
    check_export(out, reads_frame(study), notes)
    return export, notes


def study(slug: str, **fields) -> Study:
    fields = {"modality": "CT", "ask_confidence": False, "seed": 1} | fields
    return Study.objects.create(slug=slug, title=f"Study {slug}", **fields)


def test_a_three_tier_subgroup_with_one_case_is_exported_with_its_auc_not_estimable(
        make_reader, out):
    ct = study("three-tier", ask_three_tier=True)
    cases = make_cases(ct, malignant=6, benign=6)
    Case.objects.filter(pk=cases[0].pk).update(scanner_vendor="VendorY")  # one case
    tiers = ["malignant", "uncertain", "malignant", "malignant", "benign", "malignant",
             "benign", "benign", "uncertain", "benign", "malignant", "benign"]
    for name in ("resident_a", "attending_b"):
        calls = ["benign" if t == "uncertain" else t for t in tiers]
        add_reads(ct, make_reader(name, "resident", 3), cases, calls, three_tiers=tiers)
    add_model(ct, cases, [0.9, 0.5, 0.8, 0.75, 0.2, 0.9, 0.1, 0.2, 0.6, 0.1, 0.8, 0.2])

    run_export(ct, out)

    one_case = out / "internal" / "subgroups" / "scanner_vendor-vendory"
    table = pd.read_csv(one_case / "table4_three_tier.csv").set_index("reader")
    assert table["auc_calls"].isna().all()
    assert table.loc["resident_a", "auc_calls_note"] == (
        "not estimable: truth needs both classes (1 = positive, malignant; 0 = negative, "
        "benign); got 1 positive and 0 negative cases (definite cases)")
    assert "Specificity, % (n/N)" in (one_case / "tables.md").read_text()
    assert "not estimable: no benign cases" in (one_case / "tables.md").read_text()
    # The whole test set has an AUC from the three-tier calls.
    whole = pd.read_csv(out / "internal" / "table4_three_tier.csv").set_index("reader")
    assert whole.loc["resident_a", "auc_calls"] > 0.5


def test_a_ten_case_test_set_with_one_malignant_case_is_exported(make_reader, out):
    ct = study("ten-cases", ask_confidence=True)
    internal = make_cases(ct, malignant=10, benign=10)
    external = make_cases(ct, malignant=1, benign=9, test_set="external")
    cases = internal + external
    for name, flip in (("resident_a", 3), ("resident_b", 4)):
        calls = [c.reference.label if i % flip else
                 ("benign" if c.reference.label == "malignant" else "malignant")
                 for i, c in enumerate(cases)]
        add_reads(ct, make_reader(name, "resident", flip), cases, calls,
                  confidences=[80 if call == "malignant" else 25 for call in calls])
    add_model(ct, cases, [0.8] * 10 + [0.3] * 10 + [0.7] + [0.2] * 9)

    run_export(ct, out)

    table = pd.read_csv(out / "external" / "table1_performance.csv").set_index("reader")
    assert table.loc["resident_a", "auc_scores_note"].startswith(
        "not estimable: DeLong's variance needs at least 2 positive (malignant)")
    assert table.loc["resident_a", "p"] == 1 and table.loc["resident_a", "n_benign"] == 9
    results = pd.read_csv(out / "external" / "results.csv")
    auc = results.query("analysis == 'auc' and reader == 'resident_a'")
    assert set(auc["metric"]) == {"auc_delong", "auc_bootstrap", "auc_calls"}
    assert auc["estimate"].isna().all() and auc["note"].str.startswith("not estimable").all()
    # The internal test set, 20 cases, has every estimate.
    internal_table = pd.read_csv(out / "internal" / "table1_performance.csv")
    assert internal_table.query("subset == 'all cases'")["auc_scores"].notna().all()


def test_one_reader_is_exported_with_the_between_reader_analyses_not_estimable(
        make_reader, out):
    ct = study("one-reader")
    cases = make_cases(ct, malignant=8, benign=8)
    add_reads(ct, make_reader("only_reader", "attending", 9), cases,
              calls_for(Counts(tp=7, fn=1, tn=6, fp=2)))
    add_model(ct, cases, [0.9] * 8 + [0.1] * 8)

    run_export(ct, out)

    mrmc = pd.read_csv(out / "internal" / "table5_mrmc.csv")
    assert mrmc["estimate"].isna().all()
    assert set(mrmc["note"]) == {"not estimable: needs at least 2 human readers who read in "
                                 "every condition, got 1"}
    agreement = pd.read_csv(out / "internal" / "table3_agreement.csv")
    assert agreement["analysis"].tolist() == ["reader vs model"]
    assert "not estimable: needs at least 2 human readers" in (
        out / "internal" / "tables.md").read_text()


def test_a_study_without_reads_exports_its_readme_and_an_empty_reads_table(out):
    ct = study("no-reads")
    make_cases(ct, malignant=3, benign=3)

    _export, notes = run_export(ct, out)

    assert sorted(p.name for p in out.iterdir()) == ["README.md", "reads.csv", "software.json"]
    assert notes == ["No analysable reads yet (reads of test cases with a reference standard)."]
    assert pd.read_csv(out / "reads.csv").empty


def test_a_study_without_the_model_is_exported_without_p_values(make_reader, out):
    ct = study("no-model")
    cases = make_cases(ct, malignant=5, benign=5)
    for name, counts in (("resident_a", Counts(4, 1, 3, 2)), ("resident_b", Counts(5, 0, 2, 3))):
        add_reads(ct, make_reader(name, "resident", 2), cases, calls_for(counts))

    _export, notes = run_export(ct, out)

    assert "internal test set: No model predictions: no p-values against the model." in notes
    table = pd.read_csv(out / "internal" / "table1_performance.csv")
    assert "p_sensitivity" not in table and table["auc_calls"].notna().all()
    mrmc = pd.read_csv(out / "internal" / "table5_mrmc.csv")
    assert (mrmc["comparison"] == "reader-averaged AUC").all() and mrmc["estimate"].notna().all()
    assert set(mrmc["analysis"]) == {"RRRC", "FRRC", "RRFC"}
