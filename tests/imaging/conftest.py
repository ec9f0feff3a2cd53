"""Fixtures of the imaging tests: storages in a temporary folder, a CT and an MRI study."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.studies.models import Study


@pytest.fixture(autouse=True)
def dicom_storages(settings, tmp_path) -> dict[str, Path]:
    """Both DICOM storages in this test's temporary folder."""
    folders = {"dicom": tmp_path / "storage" / "dicom", "dicom_originals": tmp_path / "storage" / "originals"}
    storages = dict(settings.STORAGES)
    for alias, folder in folders.items():
        storages[alias] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                           "OPTIONS": {"location": folder}}
    settings.STORAGES = storages
    return folders


@pytest.fixture
def stored_files(dicom_storages):
    """Every file in both DICOM storages (relative names), to check nothing was left behind."""

    def files() -> list[str]:
        return sorted(
            str(p.relative_to(folder.parent)) for folder in dicom_storages.values() if folder.exists()
            for p in folder.rglob("*")
        )

    return files


@pytest.fixture
def dicom_root(tmp_path) -> Path:
    root = tmp_path / "incoming"
    root.mkdir()
    return root


@pytest.fixture
def ct_study(db) -> Study:
    return Study.objects.create(slug="ct-study", title="CT study", modality="CT", seed=7, repeat_sample_size=0)


@pytest.fixture
def mr_study(db) -> Study:
    return Study.objects.create(slug="mr-study", title="MRI study", modality="MR", seed=7, repeat_sample_size=0)
