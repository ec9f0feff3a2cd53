"""De-identification of DICOM datasets: the DICOM PS3.15 Annex E Basic Application Level
Confidentiality Profile with the Retain Longitudinal Temporal Information with Modified
Dates Option.

Which attribute gets which action (remove, empty, dummy, replace UID) comes from the
profile's table (PS3.15 Table E.1-1) as maintained by the ``dicom-anonymizer`` package
(KitwareMedical), edition 2026c. The actions themselves are ours, because the study needs
three things that package (and ``dicognito``) do differently:

- UIDs are replaced by a keyed hash (HMAC-SHA256 with a per-study secret, written as a
  ``2.25.`` UID): the same source UID always gives the same UID within a study, so series
  still group across files and imports, and without the secret the mapping cannot be
  reversed. Every UID that is not a registered DICOM UID (SOP classes, transfer syntaxes,
  coding schemes) is replaced, whether or not the table lists its attribute.
- Dates are shifted back by a per-patient offset (also keyed), so intervals within one
  patient are kept (Modified Dates Option); times are handled as the table says.
- Patient Name and Patient ID become the blinded case code.

All private attributes are removed, at every nesting level, and so is any person name the
table does not list. Reference: NEMA PS3.15 2026c, Annex E,
https://dicom.nema.org/medical/dicom/current/output/chtml/part15/chapter_E.html
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta
from functools import lru_cache

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

PROFILE_EDITION = "dicomfields_2026c"
# De-identification Method is LO (64 characters a value): one value per step.
METHOD = [
    "DICOM PS3.15 Annex E Basic Application Confidentiality Profile",
    "Retain Longitudinal Temporal Info with Modified Dates Option",
    "UIDs replaced by keyed hash; patient name and id = case code",
]
# CID 7050 De-identification Method (PS3.16).
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
DUMMY_TEXT = "REMOVED"
_REFERENCE_NUMBERS = {"ReferencedFrameNumber", "ReferencedSegmentNumber"}
MIN_OFFSET_DAYS = 365
MAX_OFFSET_DAYS = 3650

# Table categories of dicom-anonymizer -> the action taken here. Where the standard lets
# the action depend on the attribute's type in the IOD (X/Z, X/D, ...) we take the one that
# keeps a conformant object, as the package does.
_CATEGORY_ACTION = {
    "X_TAGS": "X",
    "Z_TAGS": "Z",
    "D_TAGS": "D",
    "U_TAGS": "U",
    "Z_D_TAGS": "D",
    "X_Z_TAGS": "Z",
    "X_D_TAGS": "D",
    "X_Z_D_TAGS": "D",
    "X_Z_U_STAR_TAGS": "U*",
}


@lru_cache(maxsize=1)
def profile_actions() -> tuple[dict[int, str], tuple[tuple[int, int, int, int, str], ...]]:
    """The profile's table: ``({tag: action}, ((group, element, group_mask, element_mask, action), ...))``.

    The second part holds the repeating groups (curves ``50xx``, overlays ``60xx``).
    """
    tables = dicom_anonymization_database_selector(PROFILE_EDITION)
    exact: dict[int, str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for category, action in _CATEGORY_ACTION.items():
        for entry in tables[category]:
            if len(entry) == 2:
                exact[(entry[0] << 16) | entry[1]] = action
            else:
                masked.append((entry[0], entry[1], entry[2], entry[3], action))
    return exact, tuple(masked)


def _action_for(tag: BaseTag) -> str | None:
    exact, masked = profile_actions()
    action = exact.get(int(tag))
    if action is not None:
        return action
    for group, element, group_mask, element_mask, masked_action in masked:
        if tag.group & group_mask == group & group_mask and tag.element & element_mask == element & element_mask:
            return masked_action
    return None


def _digest(secret: str, purpose: str, value: str) -> bytes:
    return hmac.new(secret.encode(), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


def replacement_uid(secret: str, uid: str) -> str:
    """The de-identified UID for ``uid``: a ``2.25.`` UID from 128 bits of HMAC-SHA256.

    Deterministic for a given secret (same input, same output) and not reversible without it.
    """
    return "2.25." + str(int.from_bytes(_digest(secret, "uid", str(uid).strip())[:16], "big"))


def patient_pseudonym(secret: str, patient_id: str) -> str:
    """A per-study pseudonym of a patient id (keyed hash), for patient-level splits."""
    return "P-" + _digest(secret, "patient", patient_id.strip()).hex()[:16].upper()


def date_offset_days(secret: str, patient_id: str) -> int:
    """Days to shift every date of one patient back by (the same for all their images)."""
    span = MAX_OFFSET_DAYS - MIN_OFFSET_DAYS + 1
    return MIN_OFFSET_DAYS + int.from_bytes(_digest(secret, "date", patient_id.strip())[:8], "big") % span


def is_registered_uid(uid: str) -> bool:
    """A UID defined by the standard (SOP class, transfer syntax, coding scheme...): not identifying."""
    return UID(uid).is_valid and UID(uid).name != uid


def _shift_date(value: str, offset_days: int) -> str:
    value = value.strip()
    if len(value) < 8 or not value[:8].isdigit():
        return ""
    try:
        shifted = date(int(value[:4]), int(value[4:6]), int(value[6:8])) - timedelta(days=offset_days)
    except ValueError:
        return ""
    return shifted.strftime("%Y%m%d") + value[8:]


def _map_values(value, function):
    if value is None:
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [function(str(v)) for v in value]
    return function(str(value))


def _dummy(vr: str):
    if vr in ("AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN"):
        return DUMMY_TEXT
    if vr == "AS":
        return "000Y"
    if vr == "UR":
        return "http://removed.invalid"
    if vr in ("DS", "IS"):
        return "0"
    if vr in ("FD", "FL", "SS", "US", "SL", "UL", "SV", "UV"):
        return 0
    if vr == "TM":
        return "000000"
    return b""


class _Cleaner:
    def __init__(self, *, secret: str, offset_days: int):
        self.secret = secret
        self.offset_days = offset_days

    def uid(self, value: str) -> str:
        value = value.strip().rstrip("\x00")
        if not value or is_registered_uid(value):
            return value
        return replacement_uid(self.secret, value)

    def clean(self, ds: Dataset) -> None:
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                del ds[tag]
                continue
            action = _action_for(tag)
            vr = elem.VR
            if vr == "SQ":
                self._clean_sequence(ds, tag, action)
            elif action == "X":
                del ds[tag]
            elif vr == "UI":
                elem.value = _map_values(elem.value, self.uid)
            elif vr in ("DA", "DT"):
                # Modified Dates Option: every date is shifted, listed in the table or not.
                elem.value = _map_values(elem.value, lambda v: _shift_date(v, self.offset_days))
            elif action == "Z":
                elem.value = None if vr not in ("OB", "OW", "UN") else b""
            elif action in ("D", "U", "U*"):
                elem.value = _dummy(vr)
            elif vr == "PN":
                # A person's name the table does not list: remove it all the same.
                elem.value = None

    def _clean_sequence(self, ds: Dataset, tag: BaseTag, action: str | None) -> None:
        if action == "X":
            del ds[tag]
            return
        if action in ("Z", "D"):
            ds[tag].value = Sequence()
            return
        if action == "U*":
            # Keep the references, nothing else: UIDs (replaced) and frame/segment numbers.
            for item in ds[tag].value:
                for elem in list(item):
                    if elem.VR == "UI":
                        elem.value = _map_values(elem.value, self.uid)
                    elif elem.keyword not in _REFERENCE_NUMBERS:
                        del item[elem.tag]
            return
        for item in ds[tag].value:
            self.clean(item)


def _method_code_sequence() -> Sequence:
    items = []
    for value, meaning in METHOD_CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    return Sequence(items)


def deidentify(ds: Dataset, *, secret: str, case_code: str, patient_id: str) -> Dataset:
    """De-identify ``ds`` in place (and return it) for storage in a study.

    Parameters
    ----------
    ds
        A dataset read from a file; its file meta information is rebuilt.
    secret
        The study's de-identification secret (:class:`~readerstudy.imaging.models.DeidentificationKey`).
    case_code
        The blinded case code: the new Patient Name and Patient ID.
    patient_id
        The patient id of the manifest, which keys the date offset (one offset per patient).

    Notes
    -----
    DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile, Retain
    Longitudinal Temporal Information with Modified Dates Option. Pixel data is not
    inspected: files declaring burned-in annotation are refused before this is called.
    """
    transfer_syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    cleaner = _Cleaner(secret=secret, offset_days=date_offset_days(secret, patient_id))
    cleaner.clean(ds)

    ds.PatientName = case_code
    ds.PatientID = case_code
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    ds.DeidentificationMethodCodeSequence = _method_code_sequence()
    ds.LongitudinalTemporalInformationModified = "MODIFIED"

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if transfer_syntax is not None:
        meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128  # free text a file may carry outside its attributes
    return ds

