"""Exports never fail on data: small and degenerate studies (1-10 cases, one-class subgroups,
readers who call everything one way or "uncertain", missing repeat rounds, no model, no reads)
export completely, every file parses, and every estimate the data do not allow says why."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from readerstudy.analysis import bundle
from readerstudy.analysis.comparison_tables import ALL_READERS
from readerstudy.analysis.frames import BASE_COLUMNS, feature_column, measurement_column
from readerstudy.analysis.services import ExportParameters
from readerstudy.stats.estimable import NOT_ESTIMABLE, is_no_interval, is_not_estimable
from readerstudy.studies.answer_form import FEATURES

PARAMETERS = ExportParameters(n_boot=20)
MODEL = "model:net@1.0"
LOWER, UPPER = 30.0, 70.0  # the model's three-tier thresholds, in percent

# Display columns that hold an estimate: never empty, a number or "not estimable: <reason>".
ESTIMATE_CELLS = {
    "1 Performance": ["Sensitivity, % (n/N)", "Specificity, % (n/N)", "Accuracy, % (n/N)",
                      "AUC from calls (95% CI)"],
    "3 Agreement": ["Estimate (95% CI)"],
    "3b Measurements": ["ICC(2,1) (95% CI)", "Bias, reader - other (95% CI)"],
    "4 Three-tier": ["Sensitivity, % (n/N)", "Specificity, % (n/N)", "Accuracy, % (n/N)",
                     "AUC from calls (95% CI)", "Sent to MRI, % (n/N)"],
    "5 MRMC": ["Estimate (95% CI)"],
    "6 Features": ["Odds ratio (95% CI), Fisher", "p (Fisher)",
                   "Odds ratio (95% CI), logistic regression", "p (logistic regression)"],
}


def _three_tier_of(score: float) -> str:
    return "benign" if score < LOWER else ("malignant" if score >= UPPER else "uncertain")


@st.composite
def study_reads(draw) -> pd.DataFrame:
    """A reads frame as :func:`readerstudy.analysis.frames.reads_frame` builds it, of a small
    study: its cases, 0-3 readers, the model or not, the study's optional answers or not."""
    n = draw(st.integers(1, 10))
    truth = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    two_sets, two_vendors = draw(st.booleans()), draw(st.booleans())
    test_set = draw(st.lists(st.sampled_from(["internal", "external"] if two_sets else
                                             ["internal"]), min_size=n, max_size=n))
    vendor = draw(st.lists(st.sampled_from(["VendorX", "VendorY"] if two_vendors else
                                           ["VendorX"]), min_size=n, max_size=n))
    modality = draw(st.sampled_from(["CT", "MRI"]))
    conditions = [modality, f"{modality} + AI"][: draw(st.integers(1, 2))]
    confidence, tiers = draw(st.booleans()), draw(st.booleans())
    features = modality == "MRI" and draw(st.booleans())
    measures = draw(st.booleans())
    cases = [{"case": f"C{i:02d}", "truth": truth[i], "test_set": test_set[i],
              "scanner_vendor": vendor[i], "institution": "Hospital A", "patient": f"P{i:02d}",
              "field_strength": 1.5 if modality == "MRI" else np.nan} for i in range(n)]
    rows = []
    for k in range(draw(st.integers(0, 3))):
        habit = draw(st.sampled_from([None, "benign", "malignant", "uncertain"]))
        person = {"reader": f"reader{k}", "reader_kind": "human", "role": "resident",
                  "years": k + 1}
        for condition in conditions:
            for rnd in ["first", "repeat"][: draw(st.integers(1, 2))]:
                read = draw(st.lists(st.booleans(), min_size=n, max_size=n))
                for case in (c for c, r in zip(cases, read, strict=True) if r):
                    tier = habit or draw(st.sampled_from(["benign", "uncertain", "malignant"]))
                    call = tier if tier != "uncertain" else draw(
                        st.sampled_from(["benign", "malignant"]))
                    row = person | case | {
                        "condition": condition, "round": rnd, "call": call,
                        "three_tier": tier if tiers else np.nan,
                        "score": float(draw(st.integers(0, 100))) if confidence else np.nan,
                        "interval_days": 30.0 + k if rnd == "repeat" else np.nan,
                    }
                    if features:
                        row |= {feature_column(key): draw(st.booleans()) for key in FEATURES}
                    if measures:
                        row[measurement_column("anterior_height")] = float(
                            draw(st.integers(10, 30)))
                    rows.append(row)
    if draw(st.booleans()):  # the model, repeated in every condition the readers read
        scores = [float(draw(st.integers(0, 100))) for _ in cases]
        present = sorted({r["condition"] for r in rows}) or [modality]
        rows += [{"reader": MODEL, "reader_kind": "model", "role": "model", "years": np.nan}
                 | case | {"condition": condition, "round": "first", "score": score,
                           "call": "malignant" if score >= 50 else "benign",
                           "three_tier": _three_tier_of(score)}
                 for condition in present for case, score in zip(cases, scores, strict=True)]
    extra = ([feature_column(k) for k in FEATURES] if features else []) + (
        [measurement_column("anterior_height")] if measures else [])
    return pd.DataFrame(rows).reindex(columns=BASE_COLUMNS + extra)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _check_results(path: Path) -> None:
    results = pd.read_csv(path, keep_default_na=False, na_values=[""],
                          dtype={"note": str, "condition": str})
    results["note"] = results["note"].fillna("")
    missing = results["estimate"].isna() & results["statistic"].isna()
    unexplained = results.loc[missing & ~results["note"].map(is_not_estimable).astype(bool)]
    assert unexplained.empty, f"{path}: {unexplained[['analysis', 'reader', 'metric']]}"


def _check_table(path: Path) -> None:
    """A NaN estimate has its note, unless the estimate does not apply to that row."""
    table = pd.read_csv(path)
    for column in [c for c in table.columns if c.endswith("_note")] + ["note"]:
        prefix = "estimate" if column == "note" else column.removesuffix("_note")
        if prefix not in table or column not in table:
            continue
        silent = table[prefix].isna() & table[column].isna()
        if prefix == "auc_scores":
            silent &= table["auc_scores_n"].notna()  # no scores at all: does not apply
        if prefix.startswith("p_") and "versus" in table:
            silent &= table["versus"].notna()  # the model itself, or no model
        if prefix not in ("auc_difference", "p_auc") and "reader" in table:
            silent &= table["reader"] != ALL_READERS  # table 8's ORH row: AUCs only
        if "statistic" in table and prefix == "estimate":
            silent &= table["statistic"].isna()  # an MRMC equality test has no estimate
        assert not silent.any(), f"{path.name}: {prefix} missing without a reason"
        notes = table[column].dropna()
        # "no interval: <reason>": the estimate exists, its interval would have no width.
        no_interval = notes.map(is_no_interval).astype(bool)
        assert (notes.map(is_not_estimable).astype(bool) | no_interval).all(), (
            f"{path.name}: {column}: {notes.tolist()}")
        # A difference without variance has no test either: its p is missing, with the note.
        if not prefix.startswith("p_"):
            assert table.loc[no_interval[no_interval].index, prefix].notna().all(), path.name


def _check_workbook(path: Path) -> None:
    book = load_workbook(path)
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        if header == (None,) or header == ("",):  # "Not applicable."
            continue
        if sheet.title != "Notes":
            # The table ends at a blank row; the methods footnote is under it.
            end = next(i for i, row in enumerate(body) if all(v is None for v in row))
            assert str(body[end + 1][0]).startswith("Methods: "), (sheet.title, body[end + 1])
            assert "Software: Python " in str(body[end + 1][0])
            body = body[:end]
        for row in body:
            cells = dict(zip(header, row, strict=True))
            for value in cells.values():
                text = "" if value is None else str(value)
                assert "nan" not in text.split() and "(0/0)" not in text, (sheet.title, text)
                if text.startswith(NOT_ESTIMABLE):
                    assert is_not_estimable(text) and len(text) > len(NOT_ESTIMABLE) + 2, text
            if cells.get("Comparison") == "all conditions equal":
                continue
            for column in ESTIMATE_CELLS.get(sheet.title, []):
                assert cells[column] not in (None, ""), (sheet.title, column, cells)


def check_export(directory: Path, reads: pd.DataFrame, notes: list[str]) -> None:
    """Everything an export of ``reads`` must be, whatever the data."""
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert {"README.md", "reads.csv"} <= {p.name for p in files}
    for path in files:
        if path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".xlsx":
            load_workbook(path)
        elif path.suffix in (".md", ".html", ".imrmc"):
            assert path.read_text().strip(), path
    for unit in bundle.plan(reads):
        folder = directory / unit.folder
        for name in ("results.csv", "results.json", "results.xlsx", "tables.md", "tables.html",
                     "tables.xlsx", "table1_performance.csv", "table5_mrmc.csv"):
            assert (folder / name).is_file(), folder / name
        _check_results(folder / "results.csv")
        for table in folder.glob("table*.csv"):
            _check_table(table)
        _check_workbook(folder / "tables.xlsx")
    failed = [n for n in notes if "No results table" in n or "No publication tables" in n]
    assert not failed, failed
    if not bundle.plan(reads):
        assert any("No analysable reads" in n for n in notes)


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(reads=study_reads())
def test_the_export_of_any_small_study_completes_and_every_file_parses(reads, monkeypatch):
    # Figures (a second or so each) are drawn by the database-level tests of the same cases.
    monkeypatch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])
    with tempfile.TemporaryDirectory(prefix="export-property-") as folder:
        directory = Path(folder)
        notes = bundle.build_export(reads, directory, parameters=PARAMETERS, title="Study",
                                    slug="study", fingerprint="0" * 64, data_state={})
        check_export(directory, reads, notes)
