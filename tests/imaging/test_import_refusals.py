"""Each kind of bad input is refused with a message naming the file or row and the reason,
and leaves nothing behind: no rows, no files."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from pydicom.uid import generate_uid

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Case, ReferenceStandard
from tests.imaging.factory import ct_case, edit_file, manifest_row, mr_case, write_manifest

pytestmark = pytest.mark.django_db


def refused(study, root, tmp_path, rows, **options) -> list[str]:
    """Import ``rows``; assert it was refused and nothing stayed; return the messages."""
    manifest = write_manifest(tmp_path / "manifest.csv", rows).read_text()
    with pytest.raises(ImportRefused) as caught:
        import_study(study=study, manifest_text=manifest, dicom_root=root, **options)
    for model in (Case, ReferenceStandard, Series, Instance, VertebraLocation, DeidentificationKey):
        assert not model.objects.exists(), model
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def nothing_stored(stored_files):
    yield
    assert stored_files() == []


def test_a_file_that_is_not_dicom_is_refused_by_name(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)
    (dicom_root / "P0001/ct_axial/notes.dcm").write_bytes(b"this is not DICOM at all" * 10)
    messages = refused(ct_study, dicom_root, tmp_path, [row])
    assert messages == ["P0001/ct_axial/notes.dcm: not a DICOM file (no DICM prefix after the 128-byte preamble)"]


def test_two_frames_of_reference_in_one_series_are_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)
    edit_file(dicom_root / "P0001/ct_axial/IM0007.dcm", lambda ds: setattr(ds, "FrameOfReferenceUID", generate_uid()))
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message.startswith("P0001/ct_axial: 2 different frames of reference (FrameOfReferenceUID) in one series")


def test_two_orientations_in_one_series_are_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)
    edit_file(dicom_root / "P0001/ct_axial/IM0003.dcm",
              lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, 0.996195, -0.087156]))
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert "two orientations (ImageOrientationPatient) in one series" in message
    assert "IM0003.dcm" in message


def test_unequal_slice_spacing_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)

    def shift(ds):
        ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1],
                                   float(ds.ImagePositionPatient[2]) + 1.0]

    edit_file(dicom_root / "P0001/ct_axial/IM0010.dcm", shift)
    messages = refused(ct_study, dicom_root, tmp_path, [row])
    assert messages == [
        "P0001/ct_axial: unequal slice spacing between P0001/ct_axial/IM0009.dcm and P0001/ct_axial/IM0010.dcm: "
        "3.50 mm where the series steps 2.50 mm",
        "P0001/ct_axial: unequal slice spacing between P0001/ct_axial/IM0010.dcm and P0001/ct_axial/IM0011.dcm: "
        "1.50 mm where the series steps 2.50 mm",
    ]


def test_a_missing_slice_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)
    (dicom_root / "P0001/ct_axial/IM0012.dcm").unlink()
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message == ("P0001/ct_axial: 1 missing slice between P0001/ct_axial/IM0011.dcm and "
                       "P0001/ct_axial/IM0013.dcm: a gap of 5.00 mm where the series steps 2.50 mm")


def test_a_duplicated_slice_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root)
    copy = dicom_root / "P0001/ct_axial/IM0005-copy.dcm"
    copy.write_bytes((dicom_root / "P0001/ct_axial/IM0005.dcm").read_bytes())
    edit_file(copy, lambda ds: setattr(ds, "SOPInstanceUID", generate_uid()))
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message.startswith("P0001/ct_axial: duplicated slice: P0001/ct_axial/IM0005")
    assert "lie at the same position" in message


def test_unknown_manifest_values_are_each_reported_with_their_row(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root) | {"label": "maybe", "vertebra_level": "C5", "sex": "X", "age": "old"}
    messages = refused(ct_study, dicom_root, tmp_path, [row])
    assert "manifest row 2: unknown label 'maybe' (use one of: benign, malignant)" in messages
    assert any(m.startswith("manifest row 2: unknown vertebra_level 'C5'") for m in messages)
    assert any(m.startswith("manifest row 2: unknown sex 'X'") for m in messages)
    assert "manifest row 2: age 'old' is not a number" in messages


def test_a_refused_value_is_quoted_as_written_and_problems_come_in_row_order(ct_study, dicom_root, tmp_path,
                                                                             nothing_stored):
    # A user trial typed "Malignant?" and was told of 'malignant?', and row 6 came before row 4.
    rows = [ct_case(dicom_root, f"P{i}/ct", case_id=f"c{i}", patient_id=f"MRN-{i}") for i in range(5)]
    rows[4] |= {"label": "Malignant?"}
    rows[2] |= {"sex": "x"}
    messages = refused(ct_study, dicom_root, tmp_path, rows)
    assert messages[0].startswith("manifest row 4: unknown sex 'x'")
    assert messages[1] == "manifest row 6: unknown label 'Malignant?' (use one of: benign, malignant)"


def test_a_row_of_the_other_modality_is_told_so_before_its_series(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root) | {"modality": "MR"}
    messages = refused(ct_study, dicom_root, tmp_path, [row])
    assert messages == ["manifest row 2: modality MR does not match the study's modality CT"]


@pytest.mark.parametrize("column", ["patient_id", "case_id", "institution", "scanner_vendor"])
def test_a_control_character_in_a_cell_is_refused_with_its_column(ct_study, dicom_root, tmp_path, nothing_stored,
                                                                   column):
    # NUL is what a PostgreSQL text column cannot hold: it was imported on SQLite and crashed
    # the import on PostgreSQL (found by tests/imaging/test_manifest_fuzz.py's kind of input).
    row = ct_case(dicom_root)
    row[column] = row[column][:3] + "\x00" + row[column][3:]
    assert refused(ct_study, dicom_root, tmp_path, [row]) == [
        f"manifest row 2: {column}: contains a control character (such as NUL); a cell holds text only"]


def test_a_missing_required_series_is_refused(mr_study, dicom_root, tmp_path, nothing_stored):
    row = mr_case(dicom_root) | {"series": "t1w=P0002/mr_t1w"}
    [message] = refused(mr_study, dicom_root, tmp_path, [row])
    assert message == ("manifest row 2: missing required series for MR: t2w "
                       "(the series column must list t1w=..., t2w=...)")


def test_a_series_role_the_modality_does_not_use_is_refused(mr_study, dicom_root, tmp_path, nothing_stored):
    row = mr_case(dicom_root)
    row["series"] += ";flair=P0002/mr_t2w"
    [message] = refused(mr_study, dicom_root, tmp_path, [row])
    assert message == "manifest row 2: series role(s) flair are not used for MR (allowed: t1w, t2w, stir, dwi)"


def test_a_centre_outside_the_volume_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = ct_case(dicom_root) | {"center_z": "400"}
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message.startswith("manifest row 2, P0001/ct_axial: the vertebra centre (")
    assert "lies outside the axial series volume" in message


def test_a_manifest_modality_other_than_the_studys_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    row = mr_case(dicom_root)
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message == "manifest row 2: modality MR does not match the study's modality CT"


def test_burned_in_annotation_is_refused_unless_allowed(ct_study, dicom_root, tmp_path, stored_files):
    row = ct_case(dicom_root, edit=lambda ds, k: setattr(ds, "BurnedInAnnotation", "YES" if k == 4 else "NO"))
    [message] = refused(ct_study, dicom_root, tmp_path, [row])
    assert message.startswith("P0001/ct_axial/IM0004.dcm: BurnedInAnnotation is YES")
    assert "--allow-burned-in" in message
    assert stored_files() == []

    manifest = write_manifest(tmp_path / "manifest.csv", [row]).read_text()
    import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root, allow_burned_in=True)
    assert Case.objects.count() == 1


def test_all_problems_of_all_rows_are_reported_together(ct_study, dicom_root, tmp_path, nothing_stored):
    good = ct_case(dicom_root, "P1/ct", case_id="ok", patient_id="A")
    bad_centre = ct_case(dicom_root, "P2/ct", case_id="far", patient_id="B") | {"center_x": "999"}
    missing = manifest_row(case_id="gone", patient_id="C", series="axial=P3/nowhere")
    messages = refused(ct_study, dicom_root, tmp_path, [good, bad_centre, missing])
    assert any(m.startswith("manifest row 3, P2/ct: the vertebra centre") for m in messages)
    assert "manifest row 4, P3/nowhere: the axial series folder does not exist" in messages


def test_a_failure_while_writing_removes_the_files_already_written(ct_study, dicom_root, tmp_path,
                                                                    stored_files, monkeypatch):
    rows = [ct_case(dicom_root, "P1/ct", case_id="a", patient_id="A"),
            ct_case(dicom_root, "P2/ct", case_id="b", patient_id="B")]
    from readerstudy.imaging import importer

    calls = {"n": 0}
    real = importer._write_sagittal

    def fail_on_second_case(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(importer, "_write_sagittal", fail_on_second_case)
    manifest = write_manifest(tmp_path / "m.csv", rows).read_text()
    with pytest.raises(OSError, match="disk full"):
        import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root, keep_originals=True)
    assert calls["n"] == 2
    assert not Case.objects.exists() and not Instance.objects.exists()
    assert stored_files() == []


@pytest.mark.django_db(transaction=True)
def test_the_files_are_written_outside_any_transaction_and_the_rows_in_one(ct_study, dicom_root, tmp_path,
                                                                           stored_files, monkeypatch):
    """On SQLite a transaction that has written holds the one write lock: an import that wrote
    its files inside it (minutes for a large one) kept every sign-in and read waiting (a user
    trial saw 'database is locked'). The files come first, outside; then the rows, all at once."""
    from django.db import connection

    from readerstudy.imaging import importer

    seen = []
    real = importer._write_series

    def recording(**kwargs):
        seen.append((connection.in_atomic_block, Case.objects.count()))
        return real(**kwargs)

    monkeypatch.setattr(importer, "_write_series", recording)
    rows = [ct_case(dicom_root, "P1/ct", case_id="a", patient_id="A"),
            ct_case(dicom_root, "P2/ct", case_id="b", patient_id="B")]
    import_study(study=ct_study, manifest_text=write_manifest(tmp_path / "m.csv", rows).read_text(),
                 dicom_root=dicom_root)
    assert seen == [(False, 0), (False, 0)]
    assert Case.objects.filter(study=ct_study).count() == 2 and Series.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_failure_while_saving_the_rows_removes_every_file_and_row(ct_study, dicom_root, tmp_path,
                                                                    stored_files, monkeypatch):
    from readerstudy.imaging import importer

    def refuse(self, case):
        if Case.objects.count() == 2:  # the second case's rows: the first case's are written
            raise IntegrityError("duplicate key value")
        return real(self, case)

    real = importer._StagedSeries.save
    monkeypatch.setattr(importer._StagedSeries, "save", refuse)
    rows = [ct_case(dicom_root, "P1/ct", case_id="a", patient_id="A"),
            ct_case(dicom_root, "P2/ct", case_id="b", patient_id="B")]
    with pytest.raises(ImportRefused, match="the database refused the import"):
        import_study(study=ct_study, manifest_text=write_manifest(tmp_path / "m.csv", rows).read_text(),
                     dicom_root=dicom_root)
    assert not Case.objects.exists() and not Series.objects.exists() and not Instance.objects.exists()
    assert not DeidentificationKey.objects.exists()
    assert stored_files() == []


def test_a_study_that_is_not_a_draft_is_refused(ct_study, dicom_root, tmp_path, nothing_stored):
    ct_study.status = "open"
    ct_study.save()
    [message] = refused(ct_study, dicom_root, tmp_path, [ct_case(dicom_root)])
    assert message == "study 'ct-study' is open: cases can only be imported into a draft study"
