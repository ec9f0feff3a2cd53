"""Property-based fuzzing of the import manifest: whatever the text, an import either
succeeds or is refused with problems that each name a row (or the file) and a reason; it
never fails otherwise, and a refusal leaves no rows and no stored files.

Manifests are drawn three ways: a valid one (one real CT series) with some cells replaced by
odd values; that one with its header or rows cut, repeated or shuffled; and arbitrary text.
Each example runs in a transaction that is rolled back, so each starts from the same empty
study; the stored files are compared before and after each refused import.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.manifest import BBOX_COLUMNS, REQUIRED_COLUMNS
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Case, ReferenceStandard
from tests.imaging.factory import ct_case

EXAMPLES = 300
COLUMNS = (*REQUIRED_COLUMNS, *BBOX_COLUMNS)

odd_values = st.one_of(
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e309", "-0", "0x10", "١٢", "NaN", "None", "null",
                     "=HYPERLINK(\"x\")", "../../etc/passwd", "axial=../outside", "axial=", "t1w=a;t2w=b",
                     "axial=P0001/ct_axial;axial=P0001/ct_axial", "L0", "S1", "C1", "CT ", "mr", "MRI",
                     "benign", "malignant", "unknown", "histopathology", "training", "external",
                     "131", "-1", "71.5", "\x00", "a\nb", "\"", "x" * 300]),
    st.text(max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@pytest.fixture
def valid_row(tmp_path, dicom_storages):
    root = tmp_path / "incoming"
    row = ct_case(root, "P0001/ct_axial", n=3, rows=16, columns=16)
    return root, row


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def manifests(draw, row: dict[str, str]) -> str:
    kind = draw(st.sampled_from(["cells", "shape", "text"]))
    if kind == "text":
        return draw(st.text(max_size=400))
    values = dict(row)
    header = list(REQUIRED_COLUMNS)
    if draw(st.booleans()):
        header += list(BBOX_COLUMNS)
    for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=4, unique=True)):
        if column not in header:
            header.append(column)
        values[column] = draw(odd_values)
    rows = [[values.get(c, "") for c in header]]
    if kind == "shape":
        change = draw(st.sampled_from(["drop_column", "duplicate_row", "extra_cell", "short_row",
                                       "duplicate_header", "blank_rows", "many_rows"]))
        if change == "drop_column":
            dropped = draw(st.sampled_from(header))
            index = header.index(dropped)
            header.pop(index)
            rows = [r[:index] + r[index + 1:] for r in rows]
        elif change == "duplicate_row":
            rows = rows * 2
        elif change == "extra_cell":
            rows = [[*r, "surplus"] for r in rows]
        elif change == "short_row":
            rows = [r[: draw(st.integers(min_value=0, max_value=len(r) - 1))] for r in rows]
        elif change == "duplicate_header":
            header.append(draw(st.sampled_from(header)))
            rows = [[*r, ""] for r in rows]
        elif change == "blank_rows":
            rows = [[""] * len(header), *rows, [""] * len(header)]
        else:
            rows = [[*r[:1], f"case-{i}", *r[2:]] for i in range(draw(st.integers(2, 30))) for r in rows]
    return _csv(header, rows)


class _Rollback(Exception):
    pass


def _stored(storages) -> list[str]:
    return sorted(str(p) for folder in storages.values() if folder.exists() for p in folder.rglob("*") if p.is_file())


@pytest.mark.django_db
def test_any_manifest_is_imported_or_refused_with_reasons_and_nothing_half_written(valid_row, make_study,
                                                                                    dicom_storages):
    root, row = valid_row
    study = make_study("manifest-fuzz", n=0, repeat_sample_size=0)
    outcomes = {"imported": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(text=manifests(row))
    def check(text: str) -> None:
        files_before = _stored(dicom_storages)
        try:
            with transaction.atomic():
                try:
                    import_study(study=study, manifest_text=text, dicom_root=root)
                    outcomes["imported"] += 1
                except ImportRefused as refusal:
                    outcomes["refused"] += 1
                    assert refusal.problems, "a refusal with no problem listed"
                    for problem in refusal.problems:
                        assert str(problem).strip() and (problem.row or problem.file), problem
                    for model in (Case, ReferenceStandard, Series, Instance, VertebraLocation, DeidentificationKey):
                        assert not model.objects.filter().exists(), f"{model.__name__} written by a refused import"
                    assert _stored(dicom_storages) == files_before, "files left by a refused import"
                raise _Rollback
        except _Rollback:
            pass

    check()
    assert outcomes["refused"] > 0
    print(f"\nmanifest fuzz: {EXAMPLES} manifests, {outcomes}")
