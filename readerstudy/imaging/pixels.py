"""Pixel data as stored and served: transfer syntaxes, frame byte ranges, media types.

On import, native (uncompressed) data is written as Explicit VR Little Endian: browsers
cannot inflate Deflated files, and big endian frames would need swapping on every request.
Encapsulated (compressed) data keeps its codec and is laid out one fragment per frame with
a Basic Offset Table, so a frame is one byte range of the stored file and serving it is a
seek and a read.
"""

from __future__ import annotations

import io

import numpy as np
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

NATIVE_MEDIA_TYPE = "application/octet-stream"
PIXEL_DATA = 0x7FE00010
_ITEM = b"\xfe\xff\x00\xe0"

# PS3.18 Table 8.7.3-5: media types of compressed frames (the transfer-syntax parameter is
# always added, which is what the Cornerstone WADO-RS loader reads first).
_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


def frame_media_type(transfer_syntax_uid: str) -> str:
    """The media type of one frame, with its transfer syntax as a parameter."""
    uid = UID(transfer_syntax_uid)
    base = _MEDIA_TYPES.get(str(uid), NATIVE_MEDIA_TYPE) if uid.is_compressed else NATIVE_MEDIA_TYPE
    return f"{base}; transfer-syntax={uid}"


def normalize_for_storage(ds: Dataset) -> None:
    """Re-encode in place for storage and serving (see the module docstring)."""
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    n_frames = int(ds.get("NumberOfFrames") or 1)
    for tag in [elem.tag for elem in ds if elem.tag > PIXEL_DATA]:
        del ds[tag]  # trailing padding: the pixel data is the last element
    if syntax.is_compressed:
        frames = list(generate_frames(ds.PixelData, number_of_frames=n_frames))
        if len(frames) != n_frames:
            raise ValueError(f"the compressed pixel data holds {len(frames)} frames, NumberOfFrames says {n_frames}")
        ds.PixelData = encapsulate(frames, fragments_per_frame=1, has_bot=True)
        ds["PixelData"].VR = "OB"
        for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
            if keyword in ds:
                del ds[keyword]
        return
    if syntax == ExplicitVRBigEndian:
        array = ds.pixel_array
        ds.PixelData = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"))).tobytes()
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
    elif syntax not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian):
        raise ValueError(f"unsupported transfer syntax {syntax} ({syntax.name})")
    if "PixelData" in ds and ds["PixelData"].VR in ("OB or OW", "US or OW", "US or SS or OW"):
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.set_original_encoding(False, True)


def encode(ds: Dataset) -> bytes:
    """The dataset as a DICOM file (Part 10), its 128-byte preamble zeros (text planted
    there would otherwise be stored and served)."""
    ds.preamble = b"\x00" * 128
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def frame_length(ds: Dataset) -> int:
    """Bytes of one native frame."""
    bits = int(ds.BitsAllocated)
    if bits % 8:
        raise ValueError(f"BitsAllocated {bits} is not a whole number of bytes")
    return int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel") or 1) * bits // 8


def frame_ranges(data: bytes) -> list[list[int]]:
    """``[[offset, length], ...]`` of each frame's pixel data in an encoded file."""
    ds = dcmread(io.BytesIO(data))
    raw = ds.get_item(PIXEL_DATA)
    # dcmread leaves elements raw (offset and length in the file) until they are accessed.
    if not isinstance(raw, RawDataElement):
        raise TypeError(f"pixel data is not a raw element: {type(raw).__name__}")
    n_frames = int(ds.get("NumberOfFrames") or 1)
    start = raw.value_tell
    if UID(ds.file_meta.TransferSyntaxUID).is_compressed:
        return _fragment_ranges(data, start, n_frames)
    length = frame_length(ds)
    if raw.length < n_frames * length:
        raise ValueError(f"the pixel data holds {raw.length} bytes, {n_frames} frames need {n_frames * length}")
    return [[start + i * length, length] for i in range(n_frames)]


def _fragment_ranges(data: bytes, start: int, n_frames: int) -> list[list[int]]:
    ranges = []
    position = start
    first = True
    while data[position:position + 4] == _ITEM:
        length = int.from_bytes(data[position + 4:position + 8], "little")
        if not first:
            ranges.append([position + 8, length])
        first = False
        position += 8 + length
    if len(ranges) != n_frames:
        raise ValueError(f"found {len(ranges)} fragments for {n_frames} frames")
    return ranges
