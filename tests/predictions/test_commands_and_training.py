"""run_inference and train_model."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from readerstudy.predictions import registry
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction

pytestmark = pytest.mark.django_db


def _call(*args) -> str:
    out = io.StringIO()
    quiet = ["--no-progress"] if args[0] == "run_inference" else []
    call_command(*args, *quiet, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --------------------------------------------------------------------------- run_inference


def test_run_inference_registers_a_new_checkpoint_and_predicts_the_study(ct_cases, storage_root,
                                                                        tiny_ct_checkpoint):
    output = _call("run_inference", "--study", "ct-study", "--model", str(tiny_ct_checkpoint))

    model = ModelVersion.objects.get()
    job = InferenceJob.objects.get()
    assert (job.model_version, job.status, job.done, job.total) == (model, "done", 4, 4)
    assert Prediction.objects.filter(model_version=model).count() == 4
    assert f"Job {job.pk} done: 4/4 cases predicted, 0 failed." in output


def test_run_inference_again_predicts_nothing_new(ct_cases, ct_model):
    _call("run_inference", "--study", "ct-study")
    before = list(Prediction.objects.order_by("pk").values_list("pk", "probability"))

    output = _call("run_inference", "--study", "ct-study")

    assert "4 predicted before" in output
    assert list(Prediction.objects.order_by("pk").values_list("pk", "probability")) == before


def test_run_inference_shows_a_progress_bar(ct_cases, ct_model, capsys):
    call_command("run_inference", "--study", "ct-study", stdout=io.StringIO())

    assert "4/4" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--study", "nope"], "No study with slug 'nope'"),
    (["--study", "ct-study"], "No model is registered for CT"),
])
def test_run_inference_refuses_with_a_clear_message(ct_cases, storage_root, args, message):
    with pytest.raises(CommandError, match=message):
        _call("run_inference", *args)


def test_run_inference_refuses_a_corrupt_checkpoint(ct_cases, storage_root, tiny_ct_checkpoint):
    (tiny_ct_checkpoint / "weights.pt").write_bytes(b"garbage")

    with pytest.raises(CommandError, match=r"Refused to register .*weights\.pt"):
        _call("run_inference", "--study", "ct-study", "--model", str(tiny_ct_checkpoint))
    assert not ModelVersion.objects.exists()


def test_run_inference_fails_loudly_when_a_case_cannot_be_read(ct_cases, ct_model):
    ct_cases[0].vertebra_location.delete()

    with pytest.raises(CommandError, match="failed: 3/4 cases predicted, 1 failed"):
        _call("run_inference", "--study", "ct-study")


# --------------------------------------------------------------------------- training


@pytest.mark.slow
def test_train_model_trains_on_the_training_cases_and_registers_the_model(ct_study, storage_root):
    output = _call("train_model", "--study", "ct-study", "--modality", "CT", "--folds", "2",
                   "--max-epochs", "1", "--model-version", "t1", "--arch-kwargs", '{"channels": [4, 8]}')

    model = ModelVersion.objects.get()
    assert (model.name, model.version, model.modality) == ("ct-ct-study", "t1", "CT")
    training = model.card["training_data"]
    assert training["study"] == "ct-study" and training["cases"] == 2
    assert training["n_patients"] == 2 and training["folds"] == 2
    assert model.card["architecture_kwargs"] == {"channels": [4, 8]}
    folder = registry.checkpoint_dir(model)
    assert (folder / "report" / "report.json").is_file()
    assert f"Registered {model.reader_name}" in output


def test_train_model_refuses_a_modality_other_than_the_studys(ct_study, storage_root):
    with pytest.raises(CommandError, match="is CT; it cannot train a MRI model"):
        _call("train_model", "--study", "ct-study", "--modality", "MRI")


def test_train_model_refuses_a_study_without_training_cases(ct_study, storage_root):
    ct_study.cases.filter(test_set="training").delete()

    with pytest.raises(CommandError, match="no usable training cases"):
        _call("train_model", "--study", "ct-study", "--modality", "CT")
