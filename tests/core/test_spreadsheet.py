"""Text a spreadsheet would run as a formula is written with a leading "'" (OWASP, "CSV
Injection"); numbers, numbers as text and other text are left alone."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from readerstudy.core.spreadsheet import csv_safe, formula_safe, xlsx_safe


def test_formula_starts_are_quoted_and_numbers_are_not():
    assert [formula_safe(v) for v in ["=cmd|' /C calc'!A0", "+SUM(1)", "-1+HYPERLINK(\"x\")", "@A1", "\t=1"]] == [
        "'=cmd|' /C calc'!A0", "'+SUM(1)", "'-1+HYPERLINK(\"x\")", "'@A1", "'\t=1"]
    assert [formula_safe(v) for v in ["-0.5", "+3", "1e-3", "Hospital A", "", -2, None]] == [
        "-0.5", "+3", "1e-3", "Hospital A", "", -2, None]


def test_a_frame_keeps_its_numbers_and_quotes_its_text_and_headers():
    frame = pd.DataFrame({"reader": ["=cmd|calc", "dr_lee"], "auc": [-0.5, 0.9],
                          "institution": pd.Categorical(["@evil", "A"]), "=x": [True, False]})
    safe = csv_safe(frame)
    assert safe["reader"].tolist() == ["'=cmd|calc", "dr_lee"]
    assert safe["auc"].tolist() == [-0.5, 0.9] and safe["auc"].dtype == float
    assert safe["institution"].tolist() == ["'@evil", "A"]
    assert list(safe.columns) == ["reader", "auc", "institution", "'=x"]
    assert frame["reader"].tolist() == ["=cmd|calc", "dr_lee"]  # the input is not changed


def test_an_xlsx_cell_that_would_be_a_formula_is_text_and_a_display_value_is_untouched():
    frame = pd.DataFrame({"reader": ["=1+1", "-0.05 (-0.10, 0.01)", "- (0/0)"]})
    out = io.BytesIO()
    xlsx_safe(frame).to_excel(out, index=False)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    cells = [sheet.cell(row=r, column=1) for r in (2, 3, 4)]
    assert [c.value for c in cells] == ["'=1+1", "-0.05 (-0.10, 0.01)", "- (0/0)"]
    assert all(c.data_type == "s" for c in cells)
