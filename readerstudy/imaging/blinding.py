"""What a DICOMweb client receives of a stored image: only what displaying it needs.

The stored files are de-identified (PS3.15 Annex E, :mod:`~readerstudy.imaging.deidentify`),
but the profile keeps what a reader must not see: dates (shifted, the birth date with them,
so the age at the scan stays readable), sex, the scanner's manufacturer and model (which tell
the external hospital, so the test set), the MRI field strength, the case code as patient
name. So every served document (WADO-RS metadata, WADO-RS instances, WADO-URI) is rebuilt
from an allow-list, :data:`DISPLAY_KEYWORDS`: the image pixel module, the image plane
(geometry), the modality and VOI LUTs, the SOP class and the image's UIDs, the modality and
the numbers that order the images. Everything else is left out, at every nesting level.

In a round after the first the image UIDs are the round's
(:mod:`readerstudy.studies.pseudonyms`): :class:`RoundUids` maps them. A served file's
128-byte preamble is zeros.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from readerstudy.studies import pseudonyms

PREAMBLE = b"\x00" * 128

DISPLAY_KEYWORDS = frozenset({
    # SOP common, and the UIDs that group the images (replaced per round)
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID",
    "SpecificCharacterSet", "Modality", "ImageType", "SeriesNumber", "InstanceNumber",
    # image plane: geometry
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "SliceLocation",
    # image pixel module
    "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PlanarConfiguration", "PixelAspectRatio", "NumberOfFrames",
    "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue", "PixelPaddingRangeLimit",
    "PixelData", "FloatPixelData", "DoubleFloatPixelData", "LossyImageCompression",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    # modality LUT and VOI LUT
    "RescaleIntercept", "RescaleSlope", "RescaleType", "ModalityLUTSequence", "LUTDescriptor",
    "LUTData", "ModalityLUTType", "WindowCenter", "WindowWidth", "VOILUTFunction", "VOILUTSequence",
    "PresentationLUTShape",
    # enhanced multi-frame: the functional groups that carry geometry and LUTs
    "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence", "PixelMeasuresSequence",
    "PlanePositionSequence", "PlaneOrientationSequence", "PixelValueTransformationSequence",
    "FrameVOILUTSequence",
    # file meta: the transfer syntax the pixels are in
    "TransferSyntaxUID",
})
# Part of every served document's ETag: a changed allow-list changes them all.
DISPLAY_KEYWORDS_VERSION = 1
DISPLAY_TAGS = frozenset(tag_for_keyword(k) for k in DISPLAY_KEYWORDS)
# Tags of the DICOM JSON model (PS3.18 F.2): eight upper-case hex digits.
_DISPLAY_JSON_TAGS = frozenset(f"{t:08X}" for t in DISPLAY_TAGS)
_UID_KEYWORDS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID")
_UID_JSON_TAGS = {f"{tag_for_keyword(k):08X}": k for k in _UID_KEYWORDS}


@dataclass
class RoundUids:
    """The image UIDs of one series as a reader sees them in ``round``.

    ``instances`` maps each stored SOP Instance UID to its row's primary key. In the first
    round every UID is the stored one.
    """

    round: str
    series_pk: int
    instances: dict[str, int] = field(default_factory=dict)

    def map(self, keyword: str, stored: str) -> str:
        stored = str(stored)
        if pseudonyms.is_first(self.round) or not stored:
            return stored
        if keyword == "SeriesInstanceUID":
            return pseudonyms.image_uid(kind="series", pk=self.series_pk, round=self.round)
        if keyword == "SOPInstanceUID":
            pk = self.instances.get(stored)
            if pk is None:
                raise KeyError(f"instance {stored} is not in series {self.series_pk}")
            return pseudonyms.image_uid(kind="instance", pk=pk, round=self.round)
        return pseudonyms.round_uid(stored, round=self.round)


def _display_copy(source: Dataset, uids: RoundUids) -> Dataset:
    kept = Dataset()
    for element in source:
        if element.tag not in DISPLAY_TAGS:
            continue
        if element.VR == "SQ":
            kept.add_new(element.tag, "SQ", Sequence([_display_copy(item, uids) for item in element.value]))
        elif element.keyword in _UID_KEYWORDS:
            kept.add_new(element.tag, element.VR, uids.map(element.keyword, element.value))
        else:
            kept.add(element)
    return kept


def display_file(handle: IO[bytes], uids: RoundUids) -> bytes:
    """A stored Part-10 file rebuilt from the allow-list, with the round's UIDs and a zero
    preamble, in the transfer syntax it is stored in."""
    stored = dcmread(handle)
    ds = _display_copy(stored, uids)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = stored.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = stored.file_meta.TransferSyntaxUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.preamble = PREAMBLE
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _display_json(item: dict[str, Any], uids: RoundUids) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for tag, element in item.items():
        tag = tag.upper()
        if tag not in _DISPLAY_JSON_TAGS:
            continue
        element = dict(element)
        if element.get("vr") == "SQ":
            element["Value"] = [_display_json(child, uids) for child in element.get("Value", [])]
        elif tag in _UID_JSON_TAGS and element.get("Value"):
            element["Value"] = [uids.map(_UID_JSON_TAGS[tag], v) for v in element["Value"]]
        kept[tag] = element
    return kept


def display_metadata(items: Iterable[dict[str, Any]], uids: RoundUids) -> bytes:
    """A series' stored WADO-RS metadata (DICOM JSON) cut to the allow-list, with the round's UIDs."""
    return json.dumps([_display_json(item, uids) for item in items], separators=(",", ":")).encode()
