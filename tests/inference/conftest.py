"""Small saved models shared by the inference tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import torch

from inference.checkpoint import save_model
from inference.networks import build_network
from inference.preprocess import CT_INPUT_SPEC, MRI_INPUT_SPEC

CREATED = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)


def card_for(arch: str, kwargs: dict, **overrides) -> dict:
    card = {
        "name": f"test-{arch}",
        "version": "0.0.1",
        "architecture": arch,
        "architecture_kwargs": kwargs,
        "input": dict(CT_INPUT_SPEC if arch.startswith("ct") else MRI_INPUT_SPEC),
        "thresholds": {"lower": 0.2, "upper": 0.8},
        "training_data": {"n_benign": 0, "n_malignant": 0, "note": "untrained test network"},
        "validation_metrics": {},
        "intended_use": "tests only",
    }
    card.update(overrides)
    return card


@pytest.fixture
def ct_model_dir(tmp_path):
    """A tiny untrained CT network saved with its card."""
    torch.manual_seed(1)
    kwargs = {"channels": [4, 8, 16, 16]}
    network = build_network("ct_unet_encoder", **kwargs)
    return save_model(
        network, tmp_path / "ct_model", card=card_for("ct_unet_encoder", kwargs), created=CREATED
    )


@pytest.fixture
def mri_model_dir(tmp_path):
    """A small untrained MRI network (ResNet-10) saved with its card."""
    torch.manual_seed(2)
    kwargs = {"depth": 10}
    network = build_network("mri_resnet50", **kwargs)
    return save_model(
        network, tmp_path / "mri_model", card=card_for("mri_resnet50", kwargs), created=CREATED
    )
