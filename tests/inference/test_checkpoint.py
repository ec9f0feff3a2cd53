"""Weights + model card: a verified round trip, and every kind of bad file refused."""

from __future__ import annotations

import json

import pytest
import torch

from inference.checkpoint import (
    CARD_FILE,
    WEIGHTS_FILE,
    ModelLoadError,
    card_checksum,
    load_model,
    save_model,
)
from inference.networks import build_network
from tests.inference.conftest import CREATED, card_for


def _rewrite_card(model_dir, **changes):
    path = model_dir / CARD_FILE
    card = json.loads(path.read_text())
    card.update(changes)
    card["card_sha256"] = card_checksum(card)
    path.write_text(json.dumps(card))


def test_a_saved_model_loads_in_eval_mode_and_gives_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    kwargs = {"channels": [4, 8, 16, 16]}
    network = build_network("ct_unet_encoder", **kwargs).eval()
    x = torch.rand(2, 1, 64, 64, 64)
    save_model(network, tmp_path, card=card_for("ct_unet_encoder", kwargs), created=CREATED)

    loaded = load_model(tmp_path)

    assert not loaded.network.training
    with torch.inference_mode():
        assert torch.equal(loaded.network(x), network(x))
    assert loaded.thresholds == (0.2, 0.8)
    assert loaded.modality == "CT"


def test_the_card_records_what_the_weights_are_and_where_they_come_from(ct_model_dir):
    card = json.loads((ct_model_dir / CARD_FILE).read_text())

    assert card["architecture"] == "ct_unet_encoder"
    assert card["architecture_kwargs"] == {"channels": [4, 8, 16, 16]}
    assert card["classes"] == ["benign", "malignant"]
    assert card["input"]["patch_size"] == [64, 64, 64]
    assert card["input"]["spacing_mm"] == 1.0
    assert card["input"]["window_hu"] == [-1000.0, 2000.0]
    assert card["created"] == "2025-01-15T09:30:00+00:00"
    assert card["torch_version"] == torch.__version__
    assert len(card["weights_sha256"]) == 64
    assert card["card_sha256"] == card_checksum(card)


def test_the_card_path_loads_as_well_as_the_directory(ct_model_dir):
    assert load_model(ct_model_dir / CARD_FILE).card == load_model(ct_model_dir).card


def test_truncated_weights_are_refused_naming_the_file(ct_model_dir):
    weights = ct_model_dir / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])

    with pytest.raises(ModelLoadError, match=rf"{WEIGHTS_FILE}: SHA-256 .* does not match"):
        load_model(ct_model_dir)


def test_corrupt_weights_are_refused_even_with_a_matching_checksum(ct_model_dir):
    import hashlib

    garbage = b"\x00not a torch archive" * 100
    (ct_model_dir / WEIGHTS_FILE).write_bytes(garbage)
    _rewrite_card(ct_model_dir, weights_sha256=hashlib.sha256(garbage).hexdigest())

    with pytest.raises(ModelLoadError, match="not a readable weights file"):
        load_model(ct_model_dir)


class _Payload:
    """An arbitrary pickled object: weights_only loading must refuse it."""


def test_a_weights_file_holding_pickled_objects_is_refused(ct_model_dir):
    import hashlib

    weights = ct_model_dir / WEIGHTS_FILE
    torch.save({"payload": _Payload()}, weights)
    _rewrite_card(ct_model_dir, weights_sha256=hashlib.sha256(weights.read_bytes()).hexdigest())

    with pytest.raises(ModelLoadError, match="not a readable weights file"):
        load_model(ct_model_dir)


def test_a_card_edited_by_hand_is_refused(ct_model_dir):
    path = ct_model_dir / CARD_FILE
    card = json.loads(path.read_text())
    card["thresholds"]["upper"] = 0.5
    path.write_text(json.dumps(card))

    with pytest.raises(ModelLoadError, match="modified after it was written"):
        load_model(ct_model_dir)


def test_weights_that_do_not_fit_the_cards_architecture_are_refused(ct_model_dir):
    _rewrite_card(ct_model_dir, architecture_kwargs={"channels": [8, 16, 32, 64]})

    with pytest.raises(ModelLoadError, match="do not fit architecture 'ct_unet_encoder'"):
        load_model(ct_model_dir)


def test_a_card_with_an_unknown_architecture_is_refused(ct_model_dir):
    _rewrite_card(ct_model_dir, architecture="alexnet")

    with pytest.raises(ModelLoadError, match="architecture 'alexnet' is unknown"):
        load_model(ct_model_dir)


def test_a_card_missing_fields_is_refused_naming_them(ct_model_dir):
    path = ct_model_dir / CARD_FILE
    card = json.loads(path.read_text())
    del card["thresholds"], card["intended_use"]
    path.write_text(json.dumps(card))

    with pytest.raises(ModelLoadError, match="thresholds is missing; intended_use is missing"):
        load_model(ct_model_dir)


def test_thresholds_out_of_order_are_refused(ct_model_dir):
    _rewrite_card(ct_model_dir, thresholds={"lower": 0.9, "upper": 0.1})

    with pytest.raises(ModelLoadError, match="0 <= lower <= upper <= 1"):
        load_model(ct_model_dir)


def test_a_card_that_is_not_json_is_refused(ct_model_dir):
    (ct_model_dir / CARD_FILE).write_text("{not json")

    with pytest.raises(ModelLoadError, match=f"{CARD_FILE}: not a readable JSON model card"):
        load_model(ct_model_dir)


def test_a_missing_checkpoint_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="model card not found"):
        load_model(tmp_path)


def test_saving_refuses_a_card_without_intended_use(tmp_path):
    card = card_for("ct_unet_encoder", {})
    del card["intended_use"]

    with pytest.raises(ValueError, match="intended_use is missing"):
        save_model(build_network("ct_unet_encoder"), tmp_path, card=card, created=CREATED)
