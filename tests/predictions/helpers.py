"""Fixtures and builders shared by the prediction and inference-task tests.

The plumbing is tested with tiny untrained networks on the CPU (STYLE.md 13) and small
synthetic DICOM series imported through the real import path (64 x 64, 20 slices).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core import serializers
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connection, transaction
from django.test import override_settings

from inference.checkpoint import save_model
from inference.networks import build_network
from inference.preprocess import CT_INPUT_SPEC, MRI_INPUT_SPEC
from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.predictions import registry
from readerstudy.studies.models import Case, ReferenceStandard, Study
from tests.imaging.factory import ct_case, mr_case, write_manifest

TINY_CT = {"channels": [4, 8, 8, 8]}
TINY_MRI = {"depth": 10}


def card_for(arch: str, kwargs: dict, **overrides) -> dict:
    card = {
        "name": f"tiny-{arch}",
        "version": "1",
        "architecture": arch,
        "architecture_kwargs": kwargs,
        "input": dict(CT_INPUT_SPEC if arch.startswith("ct") else MRI_INPUT_SPEC),
        "thresholds": {"lower": 0.3, "upper": 0.7},
        "training_data": {"note": "untrained test network"},
        "validation_metrics": {},
        "intended_use": "tests of the plumbing only",
    }
    card.update(overrides)
    return card


def save_tiny_model(folder: Path, *, modality: str = "CT", seed: int = 1, **card) -> Path:
    """An untrained tiny network saved with its card; ``seed`` changes the weights."""
    torch.manual_seed(seed)
    arch, kwargs = ("ct_unet_encoder", TINY_CT) if modality == "CT" else ("mri_resnet50", TINY_MRI)
    return save_model(build_network(arch, **kwargs), folder, card=card_for(arch, kwargs, **card))


def import_cases(study: Study, root: Path, labels: list[str], *, test_set: str = "internal",
                 start: int = 0) -> list[Case]:
    """Write one small series per label (each with its own HU offset) and import them."""
    rows = []
    for i, label in enumerate(labels, start=start):
        options = {"edit": _hu_offset(40 * i)}
        if study.modality == "CT":
            row = ct_case(root, f"P{i:04d}/ct_axial", patient_id=f"MRN-{i:04d}",
                          case_id=f"case-{i}", **options)
        else:
            row = mr_case(root, f"P{i:04d}", patient_id=f"MRN-{i:04d}", case_id=f"case-{i}")
        row.update(label=label, test_set=test_set)
        rows.append(row)
    manifest = write_manifest(root / f"manifest-{start}.csv", rows).read_text()
    result = import_study(study=study, manifest_text=manifest, dicom_root=root)
    return list(Case.objects.filter(code__in=result.case_codes).order_by("source_case_id"))


def _hu_offset(offset: int):
    def edit(ds, k):
        ds.RescaleIntercept = -1024 + offset

    return edit


def _storages(settings_storages: dict, root: Path) -> dict:
    storages = dict(settings_storages)
    for alias in ("dicom", "dicom_originals"):
        storages[alias] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                           "OPTIONS": {"location": root / alias}}
    return storages


@pytest.fixture
def storage_root(settings, tmp_path) -> Path:
    """DICOM storage and model registry in this test's temporary folder."""
    root = tmp_path / "var"
    settings.STORAGES = _storages(settings.STORAGES, root)
    settings.READERSTUDY_MODEL_DIR = root / "models"
    return root


_SNAPSHOT_MODELS = (Study, DeidentificationKey, Case, ReferenceStandard, VertebraLocation, Series, Instance)


@dataclass(frozen=True)
class ImportedStudy:
    """A study imported once per test session: its stored files and its rows as JSON.

    Importing (de-identification, the derived sagittal) costs about a second per case;
    loading the rows back costs milliseconds, so each test gets the same imported study
    fresh (``load``) without importing it again.
    """

    storage: Path
    rows: str

    def load(self) -> Study:
        objects = [o.object for o in serializers.deserialize("json", self.rows)]
        for model in _SNAPSHOT_MODELS:  # parents before children
            model.objects.bulk_create([o for o in objects if type(o) is model])
        with connection.cursor() as cursor:  # as loaddata does: move sequences past the pks
            for sql in connection.ops.sequence_reset_sql(no_style(), _SNAPSHOT_MODELS):
                cursor.execute(sql)
        return next(o for o in objects if isinstance(o, Study))


def snapshot_import(root: Path, *, slug: str, modality: str, reading: list[str],
                    training: list[str], **study_fields) -> ImportedStudy:
    """Import a study in a rolled-back transaction and keep its files and serialized rows."""
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    with override_settings(STORAGES=_storages({}, root)), transaction.atomic():
        study = Study.objects.create(slug=slug, title=slug, modality=modality, seed=11,
                                     repeat_sample_size=0, **study_fields)
        import_cases(study, root / "incoming", reading)
        if training:
            import_cases(study, root / "incoming", training, test_set="training", start=10)
        cases = Case.objects.filter(study=study)
        rows = serializers.serialize("json", [
            study, *DeidentificationKey.objects.filter(study=study), *cases,
            *ReferenceStandard.objects.filter(case__in=cases),
            *VertebraLocation.objects.filter(case__in=cases),
            *Series.objects.filter(case__in=cases), *Instance.objects.filter(series__case__in=cases),
        ])
        transaction.set_rollback(True)
    return ImportedStudy(storage=root, rows=rows)


@pytest.fixture(scope="session")
def imported_ct(django_db_setup, django_db_blocker, tmp_path_factory) -> ImportedStudy:
    """Four CT reading cases (benign, malignant, benign, malignant) and two training cases."""
    with django_db_blocker.unblock():
        return snapshot_import(
            tmp_path_factory.mktemp("imported-ct"), slug="ct-study", modality="CT",
            reading=["benign", "malignant", "benign", "malignant"], training=["benign", "malignant"],
        )


@pytest.fixture(autouse=True)
def fresh_caches(settings):
    """No network or saliency map cached by an earlier test; quick password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    registry.model_cache_clear()
    cache.clear()
    yield
    registry.model_cache_clear()


@pytest.fixture
def incoming(tmp_path) -> Path:
    root = tmp_path / "incoming"
    root.mkdir()
    return root


@pytest.fixture
def ct_study(db, settings, storage_root, imported_ct) -> Study:
    """The imported CT study (its DICOM storage is the session's, read-only)."""
    settings.STORAGES = _storages(settings.STORAGES, imported_ct.storage)
    return imported_ct.load()


@pytest.fixture
def ct_cases(ct_study) -> list[Case]:
    """The four CT reading cases (benign, malignant, benign, malignant)."""
    return list(ct_study.cases.exclude(test_set="training").order_by("source_case_id"))


@pytest.fixture
def tiny_ct_checkpoint(tmp_path) -> Path:
    return save_tiny_model(tmp_path / "checkpoints" / "tiny-ct")


@pytest.fixture
def ct_model(storage_root, tiny_ct_checkpoint):
    return registry.model_version_register(path=tiny_ct_checkpoint)


def probabilities_differ(values) -> bool:
    return bool(np.ptp(np.asarray(values, dtype=float)) > 0)
