"""Reading the reads CSV and writing results: same rows in CSV, Excel and JSON, nothing rounded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from readerstudy.stats.io import (
    RESULT_COLUMNS,
    natural_key,
    read_reads_csv,
    validate_reads,
    write_results,
)

NOT_ESTIMABLE = "not estimable: DeLong's variance needs at least 2 positive (malignant) and 2 ..."


def small_results() -> pd.DataFrame:
    nan = np.nan
    rows = [
        ("auc", "ct", "r1", "", "auc_delong", 0.1 + 0.2, 0.25, 0.35, nan, nan, nan, 86, ""),
        ("kappa", "ct", "r1", "r2", "cohen_kappa", 2 / 3, 0.5, 0.8, 3.2, nan, 0.0011, 86, ""),
        (
            "mrmc",
            "ct",
            "",
            "mri",
            "auc_difference_rrrc",
            -0.04,
            -0.08,
            0.0,
            -2.1,
            15.26,
            0.0517,
            None,
            "",
        ),
        ("auc", "ct", "r2", "", "auc_delong", nan, nan, nan, nan, nan, nan, 3, NOT_ESTIMABLE),
    ]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame["n"] = frame["n"].astype("Int64")
    return frame


def test_the_three_files_are_written(tmp_path):
    paths = write_results(small_results(), tmp_path / "out")
    assert {p.name for p in paths.values()} == {"results.csv", "results.xlsx", "results.json"}
    assert all(p.exists() for p in paths.values())


def test_csv_round_trips_at_full_precision(tmp_path):
    results = small_results()
    path = write_results(results, tmp_path)["csv"]
    back = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert list(back.columns) == list(RESULT_COLUMNS)
    assert back.loc[0, "estimate"] == 0.1 + 0.2  # 0.30000000000000004, not rounded
    assert back.loc[1, "estimate"] == 2 / 3
    assert np.isnan(back.loc[0, "statistic"]) and np.isnan(back.loc[2, "n"])
    assert np.isnan(back.loc[3, "estimate"]) and back.loc[3, "note"] == NOT_ESTIMABLE


def test_a_not_estimable_row_keeps_its_reason_in_every_file(tmp_path):
    paths = write_results(small_results(), tmp_path)
    records = json.loads(paths["json"].read_text())
    assert records[3]["estimate"] is None and records[3]["note"] == NOT_ESTIMABLE
    assert records[0]["note"] == ""
    sheet = load_workbook(paths["xlsx"])["auc"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert [r["note"] for r in rows if r["reader"] == "r2"] == [NOT_ESTIMABLE]


def test_json_has_null_for_missing_and_full_precision(tmp_path):
    path = write_results(small_results(), tmp_path)["json"]
    records = json.loads(path.read_text())
    assert records[0]["statistic"] is None and records[2]["n"] is None
    assert records[1]["estimate"] == 2 / 3 and records[1]["n"] == 86
    assert list(records[0]) == list(RESULT_COLUMNS)


def test_json_writes_infinities_as_null(tmp_path):
    results = small_results()
    results.loc[1, "statistic"] = np.inf
    records = json.loads(write_results(results, tmp_path)["json"].read_text())
    assert records[1]["statistic"] is None


def test_workbook_has_one_sheet_per_analysis_in_interface_order(tmp_path):
    path = write_results(small_results().iloc[::-1], tmp_path)["xlsx"]
    book = load_workbook(path)
    assert book.sheetnames == ["auc", "kappa", "mrmc"]
    header = [c.value for c in book["kappa"][1]]
    assert header == list(RESULT_COLUMNS)
    assert book["kappa"]["F2"].value == 2 / 3


def test_an_empty_table_still_gives_a_workbook(tmp_path):
    empty = small_results().iloc[:0]
    path = write_results(empty, tmp_path)["xlsx"]
    assert load_workbook(path).sheetnames == ["results"]


def test_a_table_with_other_columns_is_refused(tmp_path):
    with pytest.raises(ValueError, match="exactly the columns"):
        write_results(small_results().drop(columns="df"), tmp_path)


def test_reads_csv_keeps_identifiers_as_text_and_numbers_lines(tmp_path):
    path = tmp_path / "reads.csv"
    path.write_text("\ufeffreader, case,truth\nr1,007,1\nr1,8,\n", encoding="utf-8")
    reads = read_reads_csv(path)
    assert reads.index.name == "line" and list(reads.index) == [2, 3]
    assert reads.loc[2, "case"] == "007"
    assert pd.isna(reads.loc[3, "truth"])


def test_validation_normalises_calls_kinds_and_defaults():
    reads = pd.DataFrame(
        {
            "Reader": ["model", "r1", "r1"],
            "case": [1, 1, 2],
            "call": ["1", "0", " 1 "],
        }
    )
    valid = validate_reads(reads)
    assert list(valid["call"]) == ["malignant", "benign", "malignant"]
    assert list(valid["reader_kind"]) == ["model", "human", "human"]
    assert set(valid["round"]) == {"first"} and set(valid["condition"]) == {""}
    assert list(valid["case"]) == ["1", "1", "2"]


def test_other_call_categories_are_kept_and_numbers_stay_numbers():
    words = validate_reads(
        pd.DataFrame({"reader": ["a", "b"], "case": [1, 1], "call": ["M1", "M2"]})
    )
    assert list(words["call"]) == ["M1", "M2"]
    scale = validate_reads(pd.DataFrame({"reader": ["a", "b"], "case": [1, 1], "call": ["2", "5"]}))
    assert list(scale["call"]) == [2.0, 5.0]


def test_an_explicit_reader_kind_overrides_the_name():
    reads = pd.DataFrame(
        {"reader": ["model_fan", "cnn"], "case": [1, 1], "reader_kind": ["human", "model"]}
    )
    assert list(validate_reads(reads)["reader_kind"]) == ["human", "model"]


def test_natural_order_puts_reader2_before_reader10():
    assert sorted(["reader10", "reader2", "reader1"], key=natural_key) == [
        "reader1",
        "reader2",
        "reader10",
    ]
