"""Cancelling a model run and retrying a failed or cancelled one: the services and what the
worker's tasks do for a cancelled job."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from readerstudy.core.models import AuditEvent
from readerstudy.predictions import registry, services, worker
from readerstudy.predictions.models import InferenceJob, Prediction
from readerstudy.predictions.tasks import predict_cases, run_inference_job

pytestmark = pytest.mark.django_db


def _start(study, model, **kwargs) -> InferenceJob:
    job, created = services.inference_job_start(study=study, model_version=model, dispatch=False,
                                                **kwargs)
    assert created
    return job


def _cancel_events(job: InferenceJob):
    return AuditEvent.objects.filter(verb="inference", object_id=str(job.pk),
                                     details__action="cancelled")


def _must_not_load(model_version):
    raise AssertionError("a cancelled job's task loaded the model")


def _predict_first_cases(job: InferenceJob, n: int) -> list[int]:
    """Claim the job and predict its first ``n`` cases, as the first chunk of a worker would."""
    pks = services.inference_job_claim(job_pk=job.pk)
    predict_cases.apply(kwargs={"case_pks": pks[:n], "model_version_pk": job.model_version_id,
                                "job_pk": job.pk})
    return pks


# --------------------------------------------------------------------------- cancel


def test_a_queued_job_is_cancelled_once_and_the_cancel_is_audited(ct_cases, ct_model, coordinator):
    job = _start(ct_cases[0].study, ct_model)

    assert services.inference_job_cancel(job=job, by=coordinator) is True
    assert (job.status, job.is_finished) == ("cancelled", True)
    assert job.finished_at is not None
    assert services.inference_job_cancel(job=job, by=coordinator) is False

    (event,) = _cancel_events(job)
    assert event.actor == coordinator and event.study_slug == job.study.slug
    assert event.details["model"] == ct_model.reader_name


def test_a_job_that_has_ended_is_not_cancelled(ct_cases, ct_model, coordinator):
    job = _start(ct_cases[0].study, ct_model)
    run_inference_job.apply(kwargs={"job_pk": job.pk})

    assert services.inference_job_cancel(job=job, by=coordinator) is False
    assert job.status == "done" and not _cancel_events(job).exists()


def test_a_cancelled_jobs_fan_out_and_remaining_chunks_do_no_work(ct_cases, ct_model, monkeypatch):
    job = _start(ct_cases[0].study, ct_model)
    pks = services.inference_job_claim(job_pk=job.pk)
    services.inference_job_cancel(job=job)
    monkeypatch.setattr(registry, "model_version_load", _must_not_load)

    assert run_inference_job.apply(kwargs={"job_pk": job.pk}).get() == 0
    for chunk in services.chunked(pks, 2):
        kwargs = {"case_pks": chunk, "model_version_pk": ct_model.pk, "job_pk": job.pk}
        assert predict_cases.apply(kwargs=kwargs).get() == 0

    job.refresh_from_db()
    assert (job.status, job.done, job.failed, job.errors) == ("cancelled", 0, 0, [])
    assert not Prediction.objects.exists()


def test_a_chunk_under_way_stops_before_its_next_case_once_the_job_is_cancelled(
        ct_cases, ct_model, monkeypatch):
    job = _start(ct_cases[0].study, ct_model)
    pks = services.inference_job_claim(job_pk=job.pk)
    read = []
    real_case_patches = worker.case_patches_placed

    def read_then_cancel(model, series, center):
        read.append(center)
        services.inference_job_cancel(job=job)  # the coordinator cancels while case 1 is read
        return real_case_patches(model, series, center)

    monkeypatch.setattr(worker, "case_patches_placed", read_then_cancel)
    stored = predict_cases.apply(kwargs={"case_pks": pks, "model_version_pk": ct_model.pk,
                                         "job_pk": job.pk}).get()

    assert len(pks) == 4 and len(read) == 1
    assert stored == 0 and not Prediction.objects.exists()
    job.refresh_from_db()
    assert (job.status, job.done) == ("cancelled", 0)


def test_a_chunk_whose_job_is_cancelled_during_the_network_run_stores_nothing(
        ct_cases, ct_model, monkeypatch):
    job = _start(ct_cases[0].study, ct_model)
    pks = services.inference_job_claim(job_pk=job.pk)
    real_predict = worker.predict_patches

    def cancel_then_predict(model, batch):
        services.inference_job_cancel(job=job)
        return real_predict(model, batch)

    monkeypatch.setattr(worker, "predict_patches", cancel_then_predict)
    stored = predict_cases.apply(kwargs={"case_pks": pks, "model_version_pk": ct_model.pk,
                                         "job_pk": job.pk}).get()

    assert stored == 0 and not Prediction.objects.exists()


def test_a_job_cancelled_before_its_worker_claims_it_stays_cancelled(ct_cases, ct_model):
    job = _start(ct_cases[0].study, ct_model)
    services.inference_job_cancel(job=job)

    assert services.inference_job_claim(job_pk=job.pk) == []
    job.refresh_from_db()
    assert job.status == "cancelled" and job.started_at is None


def test_a_case_failure_reported_after_the_cancel_is_not_counted(ct_cases, ct_model):
    job = _start(ct_cases[0].study, ct_model)
    services.inference_job_cancel(job=job)

    assert services.prediction_failure_record(job_pk=job.pk, case=ct_cases[0], error="late") is False
    job.refresh_from_db()
    assert (job.failed, job.errors) == (0, [])


def test_a_new_job_can_start_once_the_active_one_is_cancelled(ct_cases, ct_model):
    first = _start(ct_cases[0].study, ct_model)
    services.inference_job_cancel(job=first)

    second, created = services.inference_job_start(study=first.study, model_version=ct_model,
                                                   dispatch=False)

    assert created and second.pk != first.pk and second.status == "queued"


# --------------------------------------------------------------------------- retry


def test_retrying_a_cancelled_job_reads_only_the_cases_without_a_prediction(
        ct_cases, ct_model, coordinator):
    job = _start(ct_cases[0].study, ct_model)
    _predict_first_cases(job, 2)
    services.inference_job_cancel(job=job, by=coordinator)
    kept = set(Prediction.objects.values_list("pk", "probability"))
    assert len(kept) == 2

    retry, created = services.inference_job_retry(job=job, by=coordinator, dispatch=False)
    assert created and retry.retry_of == job
    assert (retry.status, retry.total, retry.done) == ("queued", 4, 2)
    to_read = services.inference_job_claim(job_pk=retry.pk)
    assert sorted(to_read) == sorted(
        c.pk for c in ct_cases if not Prediction.objects.filter(case=c).exists())
    run_inference_job.apply(kwargs={"job_pk": retry.pk})

    retry.refresh_from_db()
    assert (retry.status, retry.done, retry.failed) == ("done", 4, 0)
    assert kept <= set(Prediction.objects.values_list("pk", "probability"))
    assert Prediction.objects.count() == 4
    event = AuditEvent.objects.get(verb="inference", object_id=str(retry.pk), actor=coordinator)
    assert event.details["retry_of"] == job.pk


def test_retrying_a_failed_job_predicts_the_case_that_failed(ct_cases, ct_model):
    broken = ct_cases[1]
    location = broken.vertebra_location
    location.delete()
    job = _start(broken.study, ct_model)
    run_inference_job.apply(kwargs={"job_pk": job.pk})
    job.refresh_from_db()
    assert (job.status, job.failed) == ("failed", 1)
    location.pk = None
    location.save()

    retry, _ = services.inference_job_retry(job=job, dispatch=False)
    run_inference_job.apply(kwargs={"job_pk": retry.pk})

    retry.refresh_from_db()
    assert (retry.status, retry.done, retry.failed) == ("done", 4, 0)
    assert Prediction.objects.filter(case=broken, job=retry).count() == 1


@pytest.mark.parametrize("status", ["queued", "running", "done"])
def test_only_a_failed_or_cancelled_job_can_be_retried(ct_cases, ct_model, status):
    job = _start(ct_cases[0].study, ct_model)
    InferenceJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()

    with pytest.raises(ValidationError, match=f"is {status}: only a failed or cancelled"):
        services.inference_job_retry(job=job, dispatch=False)
    assert InferenceJob.objects.count() == 1


def test_a_retry_while_the_same_model_runs_joins_that_run(ct_cases, ct_model):
    old = _start(ct_cases[0].study, ct_model)
    services.inference_job_cancel(job=old)
    running = _start(old.study, ct_model)

    joined, created = services.inference_job_retry(job=old, dispatch=False)

    assert not created and joined.pk == running.pk


# --------------------------------------------------------------------------- the API


def test_a_script_cancels_and_retries_a_job_through_the_api(ct_cases, ct_model, coordinator,
                                                            client_for,
                                                            django_capture_on_commit_callbacks):
    job = _start(ct_cases[0].study, ct_model)
    api = client_for(coordinator)
    base = f"/api/v1/studies/{job.study.slug}/inference/{job.pk}"

    cancelled = api.post(f"{base}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"{base}/cancel/").json()["status"] == "cancelled"
    assert _cancel_events(job).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"{base}/retry/")

    assert retried.status_code == 202 and retried.json()["retry_of"] == job.pk
    retry = InferenceJob.objects.get(pk=retried.json()["id"])  # run on commit, after the response
    assert (retry.status, retry.done, retry.retry_of) == ("done", 4, job)


def test_the_api_refuses_to_retry_a_job_that_is_not_failed_or_cancelled(ct_cases, ct_model,
                                                                        coordinator, client_for):
    job = _start(ct_cases[0].study, ct_model)

    response = client_for(coordinator).post(
        f"/api/v1/studies/{job.study.slug}/inference/{job.pk}/retry/")

    assert response.status_code == 400
    assert "only a failed or cancelled job" in response.json()["non_field_errors"][0]


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_readers_cannot_cancel_or_retry_a_job(ct_cases, ct_model, reader, client_for, action):
    job = _start(ct_cases[0].study, ct_model)
    InferenceJob.objects.filter(pk=job.pk).update(status="failed")

    for user in (reader, None):
        response = client_for(user).post(
            f"/api/v1/studies/{job.study.slug}/inference/{job.pk}/{action}/")
        assert response.status_code in (401, 403)
    job.refresh_from_db()
    assert job.status == "failed" and InferenceJob.objects.count() == 1


def test_run_inference_says_so_when_its_job_is_cancelled(ct_cases, ct_model, monkeypatch):
    claim = services.inference_job_claim

    def cancelled_from_the_page_first(*, job_pk):
        services.inference_job_cancel(job=InferenceJob.objects.get(pk=job_pk))
        return claim(job_pk=job_pk)

    monkeypatch.setattr(services, "inference_job_claim", cancelled_from_the_page_first)

    with pytest.raises(CommandError, match=r"cancelled: 0/4 cases predicted.*It was cancelled"):
        call_command("run_inference", "--study", ct_cases[0].study.slug, "--no-progress",
                     stdout=io.StringIO())
    assert not Prediction.objects.exists()
