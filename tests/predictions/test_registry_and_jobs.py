"""Registering checkpoints, running a model over a study, and the model as a reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from inference.checkpoint import ModelLoadError, load_model
from inference.postprocess import three_tier
from inference.predict import case_patches, predict_case
from inference.preprocess import load_series
from inference.saliency import heat_volume_decode
from readerstudy.core.models import AuditEvent
from readerstudy.imaging.importer import import_study
from readerstudy.predictions import registry, selectors, services
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.predictions.registry import ModelRegistrationError
from readerstudy.predictions.tasks import predict_cases, run_inference_job
from readerstudy.studies.models import Case, Study
from tests.imaging.factory import ct_case, write_manifest
from tests.predictions.helpers import import_cases, probabilities_differ, save_tiny_model

pytestmark = pytest.mark.django_db


def _run(job: InferenceJob) -> InferenceJob:
    """Run a job in this process, as the fan-out task does with a worker."""
    run_inference_job.apply(kwargs={"job_pk": job.pk})
    job.refresh_from_db()
    return job


# --------------------------------------------------------------------------- registry


def test_registering_copies_the_verified_checkpoint_into_the_model_registry(storage_root, tiny_ct_checkpoint):
    model = registry.model_version_register(path=tiny_ct_checkpoint)

    card = json.loads((tiny_ct_checkpoint / "model_card.json").read_text())
    assert (model.name, model.version, model.modality) == (card["name"], card["version"], "CT")
    assert model.sha256 == card["weights_sha256"]
    folder = registry.checkpoint_dir(model)
    assert folder.parent.parent == storage_root / "models"
    assert load_model(folder).card == card
    assert model.reader_name == f"model:{card['name']}@{card['version']}"
    assert AuditEvent.objects.filter(verb="created", object_type="predictions.modelversion").count() == 1


def test_registering_the_same_checkpoint_twice_returns_the_existing_version(storage_root, tiny_ct_checkpoint):
    first = registry.model_version_register(path=tiny_ct_checkpoint)
    again = registry.model_version_register(path=registry.checkpoint_dir(first))

    assert again.pk == first.pk
    assert ModelVersion.objects.count() == 1


def test_a_corrupt_checkpoint_is_refused_at_registration_naming_the_file(storage_root, tiny_ct_checkpoint):
    weights = tiny_ct_checkpoint / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-100])

    with pytest.raises(ModelRegistrationError, match=r"weights\.pt.*SHA-256"):
        registry.model_version_register(path=tiny_ct_checkpoint)
    assert not ModelVersion.objects.exists()


def test_a_tampered_card_is_refused_at_registration(storage_root, tiny_ct_checkpoint):
    card_file = tiny_ct_checkpoint / "model_card.json"
    card = json.loads(card_file.read_text())
    card["thresholds"]["upper"] = 0.99
    card_file.write_text(json.dumps(card))

    with pytest.raises(ModelRegistrationError, match=r"model_card\.json.*modified"):
        registry.model_version_register(path=tiny_ct_checkpoint)


def test_the_same_name_and_version_with_other_weights_is_refused(storage_root, tmp_path):
    registry.model_version_register(path=save_tiny_model(tmp_path / "a", seed=1))

    with pytest.raises(ModelRegistrationError, match="already registered with other weights"):
        registry.model_version_register(path=save_tiny_model(tmp_path / "b", seed=2))


# --------------------------------------------------------------------------- jobs


def test_a_job_stores_one_prediction_per_reading_case_as_predict_case_reads_it(ct_cases, ct_model):
    job, created = services.inference_job_start(study=ct_cases[0].study, model_version=ct_model,
                                                dispatch=False)
    assert created and (job.status, job.total, job.done) == ("queued", 4, 0)

    job = _run(job)

    assert (job.status, job.done, job.failed, job.total) == ("done", 4, 0, 4)
    assert job.started_at <= job.finished_at
    loaded = registry.model_version_load(ct_model)
    lower, upper = loaded.thresholds
    for case in ct_cases:
        stored = Prediction.objects.get(case=case, model_version=ct_model)
        with selectors.case_series_paths(case) as series:
            alone = predict_case(loaded, series, selectors.case_center(case))
        # The chunk predicts the cases in one batch; one at a time gives the same numbers.
        assert stored.probability == pytest.approx(alone.probability, abs=1e-5)
        assert stored.three_tier == three_tier(stored.probability, lower, upper)
        assert stored.runtime_s > 0 and stored.job_id == job.pk
    assert probabilities_differ(Prediction.objects.values_list("probability", flat=True))
    # Not a teaching study: no Grad-CAM maps (they cost about as much as the rest of a case).
    assert not Prediction.objects.filter(saliency__isnull=False).exists()


def test_training_cases_are_not_predicted(ct_cases, ct_model):
    _run(services.inference_job_start(study=ct_cases[0].study, model_version=ct_model, dispatch=False)[0])

    assert not Prediction.objects.filter(case__test_set=Case.TestSet.TRAINING).exists()


def test_the_chunk_task_run_twice_stores_and_counts_each_case_once(ct_cases, ct_model):
    job, _ = services.inference_job_start(study=ct_cases[0].study, model_version=ct_model, dispatch=False)
    pks = services.inference_job_claim(job_pk=job.pk)
    kwargs = {"case_pks": pks, "model_version_pk": ct_model.pk, "job_pk": job.pk}

    assert predict_cases.apply(kwargs=kwargs).get() == 4
    first = list(Prediction.objects.order_by("pk").values_list("pk", "probability"))
    job.refresh_from_db()
    # A finished job ignores a stale redelivery; an active one finds nothing left to do.
    InferenceJob.objects.filter(pk=job.pk).update(status="running", finished_at=None)
    assert predict_cases.apply(kwargs=kwargs).get() == 0

    assert list(Prediction.objects.order_by("pk").values_list("pk", "probability")) == first
    job.refresh_from_db()
    assert (job.done, job.failed, job.status) == (4, 0, "done")


def test_a_second_start_while_a_job_is_active_joins_it(ct_cases, ct_model):
    study = ct_cases[0].study
    first, created = services.inference_job_start(study=study, model_version=ct_model, dispatch=False)
    second, created_again = services.inference_job_start(study=study, model_version=ct_model, dispatch=False)

    assert created and not created_again and second.pk == first.pk
    assert InferenceJob.objects.count() == 1


def test_a_new_job_counts_earlier_predictions_and_predicts_nothing_again(ct_cases, ct_model):
    study = ct_cases[0].study
    _run(services.inference_job_start(study=study, model_version=ct_model, dispatch=False)[0])
    stored = set(Prediction.objects.values_list("pk", flat=True))

    again = _run(services.inference_job_start(study=study, model_version=ct_model, dispatch=False)[0])

    assert (again.status, again.done, again.total) == ("done", 4, 4)
    assert set(Prediction.objects.values_list("pk", flat=True)) == stored


def test_an_unreadable_case_is_the_jobs_error_and_the_others_are_predicted(ct_cases, ct_model):
    broken = ct_cases[1]
    broken.vertebra_location.delete()

    job = _run(services.inference_job_start(study=broken.study, model_version=ct_model, dispatch=False)[0])

    assert (job.status, job.done, job.failed) == ("failed", 3, 1)
    assert job.errors[0]["case"] == broken.code and "VertebraLocation" in job.errors[0]["error"]
    assert not Prediction.objects.filter(case=broken).exists()


def test_a_new_job_retries_the_cases_that_failed(ct_cases, ct_model):
    broken = ct_cases[1]
    location = broken.vertebra_location
    location.delete()
    _run(services.inference_job_start(study=broken.study, model_version=ct_model, dispatch=False)[0])
    location.pk = None
    location.save()

    retry = _run(services.inference_job_start(study=broken.study, model_version=ct_model, dispatch=False)[0])

    assert (retry.status, retry.done, retry.failed, retry.errors) == ("done", 4, 0, [])
    assert Prediction.objects.filter(case=broken).count() == 1


def test_a_checkpoint_corrupted_after_registration_fails_the_job_with_a_clear_error(ct_cases, ct_model):
    weights = registry.checkpoint_dir(ct_model) / "weights.pt"
    weights.write_bytes(b"not a checkpoint")

    job = _run(services.inference_job_start(study=ct_cases[0].study, model_version=ct_model, dispatch=False)[0])

    assert job.status == "failed" and job.done == 0
    assert "cannot be loaded" in job.errors[0]["error"] and str(weights) in job.errors[0]["error"]
    assert not Prediction.objects.exists()


def test_a_valid_checkpoint_swapped_in_after_registration_is_refused(ct_cases, ct_model, tmp_path):
    other = save_tiny_model(tmp_path / "other", seed=5)
    target = registry.checkpoint_dir(ct_model)
    for name in ("weights.pt", "model_card.json"):
        (target / name).write_bytes((other / name).read_bytes())

    with pytest.raises(ModelLoadError, match=r"not the .* registered as"):
        registry.model_version_load(ct_model)


def test_a_model_of_another_modality_is_refused(ct_cases, storage_root, tmp_path):
    mri_model = registry.model_version_register(path=save_tiny_model(tmp_path / "mri", modality="MR"))

    with pytest.raises(ValidationError, match="reads MRI, but study ct-study is CT"):
        services.inference_job_start(study=ct_cases[0].study, model_version=mri_model)


def test_without_a_model_the_start_says_how_to_get_one(ct_cases, storage_root):
    with pytest.raises(ValidationError, match="No model is registered for CT"):
        services.inference_job_start(study=ct_cases[0].study)


def test_the_default_model_is_the_newest_of_the_studys_modality(ct_cases, storage_root, tmp_path):
    registry.model_version_register(path=save_tiny_model(tmp_path / "old", version="1"))
    newest = registry.model_version_register(path=save_tiny_model(tmp_path / "new", version="2", seed=3))
    registry.model_version_register(path=save_tiny_model(tmp_path / "mri", modality="MR"))

    job, _ = services.inference_job_start(study=ct_cases[0].study, dispatch=False)

    assert job.model_version == newest


# --------------------------------------------------------------------------- the analysis frame


def test_the_predictions_frame_shows_the_model_as_a_reader_with_its_version(ct_cases, ct_model):
    study = ct_cases[0].study
    _run(services.inference_job_start(study=study, model_version=ct_model, dispatch=False)[0])

    frame = selectors.predictions_frame(study)

    assert list(frame.columns) == ["reader", "case", "score", "call", "three_tier", "reader_kind"]
    assert set(frame["reader"]) == {ct_model.reader_name}
    assert set(frame["reader_kind"]) == {"model"}
    assert sorted(frame["case"]) == sorted(c.code for c in ct_cases)
    stored = {p.case.code: p for p in Prediction.objects.select_related("case")}
    for row in frame.itertuples():
        assert row.score == stored[row.case].probability
        assert row.call == ("malignant" if row.score >= 0.5 else "benign")
        assert row.three_tier == stored[row.case].three_tier


def test_the_predictions_frame_of_a_study_without_predictions_is_empty_with_its_columns(db):
    study = Study.objects.create(slug="empty", title="Empty", modality="CT")

    frame = selectors.predictions_frame(study)

    assert frame.empty and list(frame.columns) == selectors.FRAME_COLUMNS


def test_the_call_follows_the_threshold_at_and_above_0_5():
    assert selectors.call_for(0.5) == "malignant"
    assert selectors.call_for(float(np.nextafter(0.5, 0))) == "benign"
    assert selectors.call_for(0.4, {"decision_threshold": 0.35}) == "malignant"


def test_mri_cases_are_read_as_the_highest_of_three_slice_patches(storage_root, incoming, tmp_path):
    study = Study.objects.create(slug="mr-study", title="MRI", modality="MR", repeat_sample_size=0)
    cases = import_cases(study, incoming, ["benign", "malignant"])
    model = registry.model_version_register(path=save_tiny_model(tmp_path / "mri", modality="MR"))

    job = _run(services.inference_job_start(study=study, model_version=model, dispatch=False)[0])

    assert job.status == "done"
    loaded = registry.model_version_load(model)
    for case in cases:
        with selectors.case_series_paths(case) as series:
            alone = predict_case(loaded, series, selectors.case_center(case))
        assert len(alone.patch_probabilities) == 3
        assert Prediction.objects.get(case=case).probability == pytest.approx(
            max(alone.patch_probabilities), abs=1e-5)



def test_in_an_assisted_mri_study_the_stored_map_lies_in_the_slice_of_the_patch_that_gave_the_call(
        storage_root, incoming, tmp_path):
    """The worker stores the Grad-CAM of the MRI patch with the highest probability as a plane in
    the patient (``heat_plane``): centred in plane on the vertebra, on the T1W slice that patch
    was centred on (the lesion slice or a neighbour), and oriented as the patch (rows superior ->
    inferior, columns anterior -> posterior)."""
    study = Study.objects.create(slug="mr-assisted", title="MRI", modality="MR", repeat_sample_size=0,
                                 mode="assisted")
    case = import_cases(study, incoming, ["malignant"])[0]
    model = registry.model_version_register(path=save_tiny_model(tmp_path / "mri", modality="MR"))

    _run(services.inference_job_start(study=study, model_version=model, dispatch=False)[0])

    volume = Prediction.objects.get(case=case).saliency["volume"]
    center = np.array(selectors.case_center(case))
    with selectors.case_series_paths(case) as series:
        t1 = load_series(series["t1w"])
    step = float(np.linalg.norm(t1.affine[:3, 2]))
    origin, (normal, down, across) = np.array(volume["origin_lps"]), np.array(volume["directions"])
    slab, pixel, _ = volume["spacing_mm"]
    middle = origin + (down + across) * pixel * (volume["shape"][1] - 1) / 2
    assert volume["axes"] == "NRC" and volume["shape"] == [1, 64, 64]
    assert pixel == pytest.approx(60.0 / 64) and slab == pytest.approx(3 * step)
    assert down @ np.array([0, 0, -1.0]) > 0.99 and across @ np.array([0, 1.0, 0]) > 0.99
    offset = center - middle
    np.testing.assert_allclose(offset - (offset @ normal) * normal, 0, atol=1e-6)  # in plane: the centre
    assert abs(offset @ normal) <= 1.5 * step + 1e-6  # through it: the lesion slice or a neighbour
    assert heat_volume_decode(volume).shape == (1, 64, 64)


def test_a_ct_case_is_read_from_the_slices_around_the_vertebra_only(storage_root, incoming, tmp_path):
    study = Study.objects.create(slug="long", title="Long series", modality="CT", repeat_sample_size=0)
    row = ct_case(incoming, "P0100/ct_axial", n=100, slice_spacing=1.0, origin=(-32.0, -32.0, -50.0))
    import_study(study=study, manifest_text=write_manifest(incoming / "m.csv", [row]).read_text(),
                 dicom_root=incoming)
    case = study.cases.get()
    loaded = load_model(save_tiny_model(tmp_path / "m"))
    center = selectors.case_center(case)
    reads = selectors.model_reads(loaded.input_spec)

    trimmed = selectors.case_series_names(case, near=center, **reads)
    full = selectors.case_series_names(case)["axial"]

    assert list(trimmed) == ["axial"]  # not the derived sagittal: the model does not read it
    trimmed = trimmed["axial"]

    # 100 slices 1 mm apart: the 64 mm patch touches 65 of them, plus one on each side.
    assert len(full) == 100 and 65 <= len(trimmed) <= 69
    start = full.index(trimmed[0])
    assert trimmed == full[start : start + len(trimmed)]
    with selectors.case_series_paths(case, near=center, **reads) as near, \
            selectors.case_series_paths(case) as everything:
        np.testing.assert_array_equal(case_patches(loaded, near, center),
                                      case_patches(loaded, everything, center))
