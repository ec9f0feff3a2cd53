"""Where DICOM files live: the ``dicom`` storage (de-identified, served) and the
``dicom_originals`` storage (originals kept on request, never served).

Names carry no identifying information: study id, de-identified series UID, de-identified
SOP instance UID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

DICOM = "dicom"
ORIGINALS = "dicom_originals"


def dicom_storage() -> Storage:
    return storages[DICOM]


def originals_storage() -> Storage:
    """The storage of kept originals; configured in settings (``STORAGES['dicom_originals']``)."""
    return storages[ORIGINALS]


def instance_name(*, study_id: int, series_uid: str, sop_uid: str) -> str:
    return f"studies/{study_id}/{series_uid}/{sop_uid}.dcm"


def metadata_name(*, study_id: int, series_uid: str) -> str:
    return f"studies/{study_id}/{series_uid}/metadata.json"


def original_name(*, study_id: int, case_code: str, relative: str) -> str:
    return f"studies/{study_id}/{case_code}/{relative}"


class Writer:
    """Writes files and remembers them, so a failed import can remove what it wrote."""

    def __init__(self) -> None:
        self.written: list[tuple[Storage, str]] = []

    def save(self, storage: Storage, name: str, data: bytes) -> tuple[str, str]:
        """Save ``data``; return the stored name and its sha256."""
        stored = storage.save(name, ContentFile(data))
        self.written.append((storage, stored))
        return stored, hashlib.sha256(data).hexdigest()

    def remove_all(self) -> None:
        for storage, name in reversed(self.written):
            storage.delete(name)
            _prune_empty_folders(storage, name)
        self.written.clear()


def _prune_empty_folders(storage: Storage, name: str) -> None:
    """Remove the folders a file system storage made for ``name`` once they are empty."""
    try:
        root = Path(storage.path("")).resolve()
        folder = Path(storage.path(name)).resolve().parent
    except NotImplementedError:
        return  # object storage: no folders
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@contextmanager
def all_or_nothing() -> Iterator[Writer]:
    """A :class:`Writer` whose files are deleted if the block raises."""
    writer = Writer()
    try:
        yield writer
    except BaseException:
        writer.remove_all()
        raise
