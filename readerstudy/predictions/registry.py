"""The model registry: which models exist, their cards, where their files are and how to
load them.

A registered model is a :class:`~readerstudy.predictions.models.ModelVersion` row (name,
version, modality, architecture, its model card, the SHA-256 of its weights) and its
checkpoint folder ``READERSTUDY_MODEL_DIR/<name>/<version>/`` (``weights.pt`` and
``model_card.json``, :mod:`inference.checkpoint`). The architecture the app trains for
each modality is :data:`ARCHITECTURE_FOR`.

The web process reads the registry (which models a study can run, their cards) without
loading torch: only :func:`model_version_register` and :func:`model_version_load`, which
verify or build a network, import :mod:`inference.checkpoint`, when they are called.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from readerstudy.core.models import AuditEvent, audit
from readerstudy.predictions.models import ModelVersion
from readerstudy.studies.models import Modality, Study

if TYPE_CHECKING:
    from inference.checkpoint import LoadedModel

__all__ = [
    "ARCHITECTURE_FOR",
    "MODEL_CACHE_SIZE",
    "ModelRegistrationError",
    "checkpoint_dir",
    "latest_model_for",
    "model_cache_clear",
    "model_root",
    "model_version_load",
    "model_version_register",
    "model_versions_for",
    "registry_dir",
]

#: The network the app trains for each modality (:mod:`inference.networks`).
ARCHITECTURE_FOR: dict[str, str] = {Modality.CT: "ct_unet_encoder", Modality.MRI: "mri_resnet50"}
#: Loaded networks kept per process (a model is a few MB; a GPU holds many).
MODEL_CACHE_SIZE = 4


class ModelRegistrationError(ValueError):
    """A checkpoint that cannot be registered; the message says why."""


# --------------------------------------------------------------------------- which models


def model_versions_for(*, study: Study) -> QuerySet[ModelVersion]:
    """Registered models that read the study's modality, newest first."""
    return ModelVersion.objects.filter(modality=study.modality).order_by("-created_at", "-pk")


def latest_model_for(*, study: Study) -> ModelVersion | None:
    """The newest registered model of the study's modality: the one a job runs by default."""
    return model_versions_for(study=study).first()


# --------------------------------------------------------------------------- where


def model_root() -> Path:
    return Path(settings.READERSTUDY_MODEL_DIR)


def checkpoint_dir(model_version: ModelVersion) -> Path:
    """Where the registered checkpoint lives (``weights_path`` may be relative to the root)."""
    path = Path(model_version.weights_path)
    return path if path.is_absolute() else model_root() / path


def _safe(part: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in part).lstrip(".") or "_"


def registry_dir(name: str, version: str) -> Path:
    """The registry's folder of a model version: ``READERSTUDY_MODEL_DIR/<name>/<version>``."""
    return model_root() / _safe(name) / _safe(version)


# --------------------------------------------------------------------------- registering


def model_version_register(*, path: Path | str, by=None) -> ModelVersion:
    """Register a checkpoint directory (``weights.pt`` + ``model_card.json``).

    The checkpoint is verified first (card schema and checksum, weights checksum,
    architecture; :func:`inference.checkpoint.load_model`), then copied into
    ``READERSTUDY_MODEL_DIR/<name>/<version>/`` so the registry does not depend on where
    it was trained. Registering the same checkpoint again returns the existing row.

    Raises
    ------
    ModelRegistrationError
        The checkpoint is corrupt or tampered with (the message names the file), or its
        name and version are already registered with other weights.
    """
    from inference.checkpoint import CARD_FILE, ModelLoadError, load_model

    source = Path(path)
    try:
        loaded = load_model(source)
    except ModelLoadError as exc:
        raise ModelRegistrationError(f"Refused to register {source}: {exc}") from exc
    card = loaded.card
    name, version, sha256 = card["name"], card["version"], card["weights_sha256"]
    existing = ModelVersion.objects.filter(name=name, version=version).first()
    if existing is not None:
        return _same_or_refuse(existing, sha256, source)
    target = registry_dir(name, version)
    if target.resolve() != loaded.path.resolve():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(loaded.path / card["weights_file"], target / card["weights_file"])
        shutil.copyfile(loaded.path / CARD_FILE, target / CARD_FILE)
    try:
        with transaction.atomic():
            model_version = ModelVersion.objects.create(
                name=name, version=version, modality=card["modality"],
                architecture=card["architecture"], sha256=sha256, card=card,
                weights_path=str(target.relative_to(model_root())),
            )
            audit(actor=by, verb=AuditEvent.Verb.CREATED, obj=model_version,
                  model=model_version.reader_name, sha256=sha256)
    except IntegrityError:
        # A concurrent registration of the same name and version landed first.
        return _same_or_refuse(ModelVersion.objects.get(name=name, version=version), sha256, source)
    return model_version


def _same_or_refuse(existing: ModelVersion, sha256: str, source: Path) -> ModelVersion:
    if existing.sha256 == sha256:
        return existing
    raise ModelRegistrationError(
        f"Refused to register {source}: {existing.reader_name} is already registered with "
        f"other weights (SHA-256 {existing.sha256[:12]}..., this one {sha256[:12]}...). "
        "Give the new checkpoint a new version."
    )


# --------------------------------------------------------------------------- loading


_models: OrderedDict[str, LoadedModel] = OrderedDict()
_models_lock = Lock()


def model_version_load(model_version: ModelVersion) -> LoadedModel:
    """The registered network, loaded once per process and cached by its SHA-256.

    The checkpoint is verified on load (:func:`inference.checkpoint.load_model`) and must
    still be the one registered: a valid checkpoint swapped in later is refused too. The
    network goes to CUDA when available, else stays on the CPU.

    Raises
    ------
    inference.checkpoint.ModelLoadError
        The files are missing, corrupt, tampered with or not the registered weights.
    """
    from inference.checkpoint import ModelLoadError, load_model
    from inference.predict import select_device

    with _models_lock:
        cached = _models.get(model_version.sha256)
        if cached is not None:
            _models.move_to_end(model_version.sha256)
            return cached
    path = checkpoint_dir(model_version)
    loaded = load_model(path, device=select_device())
    if loaded.card["weights_sha256"] != model_version.sha256:
        raise ModelLoadError(
            f"{path}: holds weights {loaded.card['weights_sha256'][:12]}..., not the "
            f"{model_version.sha256[:12]}... registered as {model_version.reader_name}"
        )
    with _models_lock:
        _models[model_version.sha256] = loaded
        while len(_models) > MODEL_CACHE_SIZE:
            _models.popitem(last=False)
    return loaded


def model_cache_clear() -> None:
    """Forget the loaded networks of this process (tests; after replacing files)."""
    with _models_lock:
        _models.clear()
