"""Fixtures of the imaging tests: storages in a temporary folder (every test), a CT and an MRI study."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.studies.models import Study


@pytest.fixture(autouse=True)
def _temporary_dicom_storages(dicom_storages) -> None:
    """Every imaging test stores DICOM in its temporary folder (``dicom_storages``)."""


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
