"""De-identification (DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile).

The end-to-end test puts an identifying value into every attribute of the profile's table
that pydicom's dictionary knows, and into private attributes, imports the file, fetches
every byte a reader can fetch and proves none of those values is there. The list of the
profile's attributes is Table E.1-1 of PS3.15 (edition 2026c) as shipped by the
dicom-anonymizer package (KitwareMedical), read here independently of the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom import dcmread
from pydicom.datadict import dictionary_has_tag, dictionary_keyword, dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from readerstudy.imaging.blinding import DISPLAY_KEYWORDS
from readerstudy.imaging.deidentify import (
    date_offset_days,
    deidentify,
    patient_pseudonym,
    replacement_uid,
)
from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import Series
from readerstudy.studies import services
from readerstudy.studies.models import Case
from tests.imaging.dicomweb import everything_a_reader_can_fetch
from tests.imaging.factory import ct_case, write_manifest

TEXT_VRS = {"AE", "CS", "LO", "SH", "PN", "LT", "ST", "UT", "UC", "UR"}
BINARY_VRS = {"OB", "OW", "UN", "OF", "OD", "OL", "OV"}
NUMBER_VRS = {"US", "SS", "UL", "SL", "FL", "FD", "DS", "IS", "SV", "UV"}
GEOMETRY_UIDS = {"StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "SOPInstanceUID"}


def profile_attributes() -> list[tuple[int, str, str]]:
    """``(tag, keyword, VR)`` of every exact attribute of Table E.1-1 that pydicom knows."""
    table = dicom_anonymization_database_selector("dicomfields_2026c")["ALL_TAGS"]
    out = []
    for entry in table:
        if len(entry) != 2 or entry[0] in (0x0000, 0x0002):
            continue  # repeating groups; command set and file meta (never in a stored dataset)
        tag = Tag(entry[0], entry[1])
        if dictionary_has_tag(tag):
            out.append((int(tag), dictionary_keyword(tag), dictionary_VR(tag).split(" or ")[0]))
    return out


class Planted:
    """Identifying values planted in a series, and the texts that must never come back."""

    def __init__(self):
        self.attributes = profile_attributes()
        self.series_uids: dict[str, str] = {}
        self.tokens: set[str] = {"Doe^Jane", "MRN-0001", "Secret General Hospital"}
        self.values: dict[int, object] = {}

    def token(self, n: int, kind: str = "ID") -> str:
        value = f"{kind}{n:04d}Q"
        self.tokens.add(value)
        return value

    def plant(self, ds: Dataset, k: int) -> None:
        for n, (tag, keyword, vr) in enumerate(self.attributes):
            if keyword in GEOMETRY_UIDS:
                value = self.series_uids.setdefault(keyword, f"1.2.826.0.1.3680043.10.543.{n}")
                if keyword == "SOPInstanceUID":
                    value = f"1.2.826.0.1.3680043.10.543.{n}.{k + 1}"
                    ds.file_meta.MediaStorageSOPInstanceUID = value
                self.tokens.add(value)
            elif vr in TEXT_VRS:
                value = self.token(n)
            elif vr == "UI":
                value = f"1.2.826.0.1.3680043.10.544.{n}"
                self.tokens.add(value)
            elif vr == "DA":
                value = (date(1931, 1, 1) + timedelta(days=37 * n)).strftime("%Y%m%d")
            elif vr == "DT":
                value = (date(1931, 1, 1) + timedelta(days=37 * n)).strftime("%Y%m%d") + "083015"
            elif vr == "TM":
                value = f"{n % 24:02d}{n % 60:02d}17"
            elif vr == "AS":
                value = "071Y"
            elif vr in NUMBER_VRS:
                value = "4242" if vr in ("DS", "IS") else 4242
            elif vr in BINARY_VRS:
                value = self.token(n, "BIN").encode() + b"\x00" * (len(self.token(n, "BIN")) % 2)
            elif vr == "SQ":
                item = Dataset()
                item.CodeMeaning = self.token(n, "SEQ")
                item.PersonName = self.token(n, "SQPN")
                value = Sequence([item])
            else:
                continue
            ds.add_new(tag, vr, value)
            self.values[tag] = value
        block = ds.private_block(0x0011, "HOSPITAL PRIVATE", create=True)
        block.add_new(0x01, "LO", self.token(9001, "PRIV"))
        block.add_new(0x02, "UI", "1.2.826.0.1.3680043.10.545.1")
        self.tokens.add("1.2.826.0.1.3680043.10.545.1")
        self.tokens.add("HOSPITAL PRIVATE")


@pytest.mark.slow
@pytest.mark.django_db
def test_no_identifying_value_reaches_a_reader(ct_study, dicom_root, tmp_path, reader, client_for):
    planted = Planted()
    assert len(planted.attributes) > 550  # the whole table, not a sample
    row = ct_case(dicom_root, n=6, rows=24, columns=24, edit=planted.plant)
    import_study(study=ct_study, manifest_text=write_manifest(tmp_path / "m.csv", [row]).read_text(),
                 dicom_root=dicom_root)
    services.assignment_create(study=ct_study, reader=reader)
    services.study_open(study=ct_study)
    case = Case.objects.get()

    fetched = everything_a_reader_can_fetch(client_for(reader), study=ct_study, case=case)

    assert fetched.n_instances == 6 + 24 and fetched.n_frames == 6 + 24  # axial + derived sagittal
    leaked = sorted(t for t in planted.tokens if t.encode() in fetched.body)
    assert leaked == []
    for ds in fetched.datasets:
        # Served for display only: no patient module at all, not even the case code.
        assert {elem.keyword for elem in ds.iterall()} <= DISPLAY_KEYWORDS
        assert not any(elem.tag.is_private for elem in ds.iterall())
        for tag, value in planted.values.items():
            if tag in ds and tag not in (0x00100010, 0x00100020) and ds[tag].VR != "SQ":
                assert ds[tag].value != value, (ds[tag].keyword, value)


def test_uids_are_replaced_consistently_within_a_study_and_differently_across_studies():
    uid = "1.2.840.113619.2.55.3.604688119.971.1234567890.123"
    first = replacement_uid("secret-a", uid)
    assert first == replacement_uid("secret-a", uid)
    assert first != replacement_uid("secret-b", uid)
    assert first.startswith("2.25.") and len(first) <= 64 and uid not in first


def _dataset(**values) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # registered: kept
    ds.SOPInstanceUID = "1.2.3.4.5"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def test_dates_of_one_patient_are_shifted_by_one_offset_and_registered_uids_are_kept():
    ds = _dataset(StudyDate="20240105", PatientBirthDate="19510304", AcquisitionDateTime="20240105101500",
                  StudyTime="101500", ReferringPhysicianName="Dr^Who", StudyDescription="L1 biopsy Mrs Doe")
    deidentify(ds, secret="s", case_code="ABCDEFGH", patient_id="MRN-1")
    offset = timedelta(days=date_offset_days("s", "MRN-1"))
    assert ds.StudyDate == (date(2024, 1, 5) - offset).strftime("%Y%m%d")
    assert ds.PatientBirthDate == (date(1951, 3, 4) - offset).strftime("%Y%m%d")
    assert ds.AcquisitionDateTime == (date(2024, 1, 5) - offset).strftime("%Y%m%d") + "101500"
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.SOPInstanceUID == replacement_uid("s", "1.2.3.4.5")
    assert "StudyDescription" not in ds  # X in the table
    assert not ds.get("ReferringPhysicianName")  # Z
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_a_patient_pseudonym_is_keyed_and_does_not_contain_the_patient_id():
    assert patient_pseudonym("s", "MRN-0001") == patient_pseudonym("s", " MRN-0001 ")
    assert patient_pseudonym("s", "MRN-0001") != patient_pseudonym("t", "MRN-0001")
    assert "0001" not in patient_pseudonym("s", "MRN-0001")


def test_only_de_identified_files_are_stored_and_originals_only_on_request(
        ct_study, dicom_root, tmp_path, dicom_storages, db):
    row = ct_case(dicom_root, n=4)
    manifest = write_manifest(tmp_path / "m.csv", [row]).read_text()
    import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root, keep_originals=True)
    originals = sorted(dicom_storages["dicom_originals"].rglob("*.dcm"))
    assert len(originals) == 4
    assert dcmread(originals[0]).PatientName == "Doe^Jane"
    for path in dicom_storages["dicom"].rglob("*.dcm"):
        assert b"Doe^Jane" not in path.read_bytes() and b"MRN-0001" not in path.read_bytes()
    stored_names = set(Series.objects.values_list("instances__storage_name", flat=True))
    assert not any("originals" in name for name in stored_names)
