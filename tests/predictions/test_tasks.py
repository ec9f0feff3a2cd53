"""The inference tasks: named, routed to the inference queue, idempotent, retried on
transient errors, and safe when a worker is killed mid-task. The ``worker`` tests run a
real Celery worker against a real broker."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from readerstudy.celery import app
from readerstudy.core.tasks import route
from readerstudy.predictions import registry, services, tasks, worker
from readerstudy.predictions.models import InferenceJob, Prediction
from readerstudy.predictions.registry import ModelRegistrationError
from tests.predictions.helpers import save_tiny_model
from tests.predictions.workers import (
    Worker,
    new_queue,
    require_worker_setup,
    use_queue,
    wait_for,
    worker_env,
)

# --------------------------------------------------------------------------- in this process


def test_the_tasks_have_their_apps_names_and_go_to_the_inference_queue(settings):
    settings.READERSTUDY_INFERENCE_QUEUE = "gpu"

    assert {t.name for t in (tasks.run_inference_job, tasks.predict_cases, tasks.predict_case)} == {
        "predictions.run_inference_job", "predictions.predict_cases", "predictions.predict_case"}
    assert route("predictions.predict_cases", (), {}, {}) == {"queue": "gpu"}
    assert route("analysis.export_job", (), {}, {}) is None
    assert app.amqp.router.route({}, "predictions.run_inference_job")["queue"].name == "gpu"


def _job(study, model) -> InferenceJob:
    job, _ = services.inference_job_start(study=study, model_version=model, dispatch=False)
    services.inference_job_claim(job_pk=job.pk)
    return job


@pytest.mark.django_db
def test_the_case_task_run_twice_stores_one_prediction_and_counts_it_once(ct_cases, ct_model):
    job = _job(ct_cases[0].study, ct_model)
    kwargs = {"case_pk": ct_cases[0].pk, "model_version_pk": ct_model.pk, "job_pk": job.pk}

    assert tasks.predict_case.apply(kwargs=kwargs).get() == 1
    assert tasks.predict_case.apply(kwargs=kwargs).get() == 0

    assert Prediction.objects.filter(case=ct_cases[0]).count() == 1
    job.refresh_from_db()
    assert (job.done, job.failed, job.status) == (1, 0, "running")


@pytest.mark.django_db
def test_the_job_task_run_twice_predicts_every_case_once(ct_cases, ct_model):
    job, _ = services.inference_job_start(
        study=ct_cases[0].study, model_version=ct_model, dispatch=False
    )

    assert tasks.run_inference_job.apply(kwargs={"job_pk": job.pk}).get() == 4
    assert tasks.run_inference_job.apply(kwargs={"job_pk": job.pk}).get() == 0

    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 4, 4)
    assert Prediction.objects.count() == 4


@pytest.mark.django_db
def test_a_transient_error_is_retried_then_recorded_for_each_case(ct_cases, ct_model, monkeypatch):
    calls = []

    def unreachable_storage(*args, **kwargs):
        calls.append(1)
        raise ConnectionError("object storage unreachable")

    monkeypatch.setattr(worker, "case_patches_placed", unreachable_storage)
    # Eager retries run only when the Retry is not propagated to the caller.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    job = _job(ct_cases[0].study, ct_model)
    pks = [c.pk for c in ct_cases]

    tasks.predict_cases.apply(
        kwargs={"case_pks": pks, "model_version_pk": ct_model.pk, "job_pk": job.pk}
    )

    assert len(calls) == 1 + tasks.predict_cases.max_retries
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("failed", 0, 4)
    assert all("Gave up after 3 retries: ConnectionError" in e["error"] for e in job.errors)


@pytest.mark.django_db
def test_an_unreadable_file_is_the_cases_error_at_once_and_the_others_are_read(
        ct_cases, ct_model, monkeypatch):
    real_case_patches = worker.case_patches_placed
    calls = []

    def unreadable_first_case(model, series, center):
        calls.append(center)
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied", "/storage/first.dcm")
        return real_case_patches(model, series, center)

    monkeypatch.setattr(worker, "case_patches_placed", unreadable_first_case)
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    job = _job(ct_cases[0].study, ct_model)

    stored = tasks.predict_cases.apply(kwargs={
        "case_pks": [c.pk for c in ct_cases], "model_version_pk": ct_model.pk, "job_pk": job.pk,
    }).get()

    assert len(calls) == 4 and stored == 3  # read once each: no retry
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("failed", 3, 1)
    assert job.errors == [{"case": ct_cases[0].code,
                           "error": "PermissionError: [Errno 13] Permission denied: "
                                    "'/storage/first.dcm'"}]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [FileNotFoundError, IsADirectoryError, NotADirectoryError])
def test_a_permanent_file_error_of_a_chunk_is_recorded_without_a_retry(
        ct_cases, ct_model, monkeypatch, error):
    calls = []

    def missing_file(**kwargs):
        calls.append(1)
        raise error(2, "gone", "/storage/models/weights.pt")

    monkeypatch.setattr(worker, "predict_chunk", missing_file)
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    job = _job(ct_cases[0].study, ct_model)

    tasks.predict_cases.apply(kwargs={
        "case_pks": [c.pk for c in ct_cases], "model_version_pk": ct_model.pk, "job_pk": job.pk,
    })

    assert len(calls) == 1
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("failed", 0, 4)
    assert all(e["error"].startswith(f"{error.__name__}: ") for e in job.errors)
    assert not any("retries" in e["error"] for e in job.errors)


# --------------------------------------------------------------------------- a real worker


@pytest.fixture
def worker_run(settings, tmp_path, storage_root, imported_ct):
    """Start workers on a queue of this test's own; stops them at the end."""
    require_worker_setup()
    queue = new_queue()
    use_queue(queue)
    assert not app.conf.task_always_eager, "a broker is configured, so tasks must not run eagerly"
    started: list[Worker] = []

    def start(*, program: list[str] | None = None, wait: bool = True) -> Worker:
        env = worker_env(
            queue=queue, var_dir=imported_ct.storage, model_dir=storage_root / "models"
        )
        worker = Worker(
            queue=queue, env=env, log=tmp_path / f"worker-{len(started)}.log", program=program
        )
        started.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for each in started:
        each.stop()


def _wait_finished(job: InferenceJob, timeout: float = 120.0) -> InferenceJob:
    def finished() -> bool:
        job.refresh_from_db()
        return job.is_finished

    wait_for(finished, timeout=timeout, what=f"job {job.pk} to finish")
    return job


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_run_inference_follows_a_workers_job_until_its_progress_reaches_the_total(
    worker_run, ct_cases, ct_model
):
    worker_run()
    out = io.StringIO()

    call_command(
        "run_inference",
        "--study",
        ct_cases[0].study.slug,
        "--poll",
        "0.2",
        "--no-progress",
        stdout=out,
    )

    job = InferenceJob.objects.get()
    assert (job.status, job.done, job.failed, job.total) == ("done", 4, 0, 4)
    assert f"Job {job.pk} done: 4/4 cases predicted, 0 failed." in out.getvalue()
    assert sorted(Prediction.objects.values_list("case_id", flat=True)) == sorted(
        c.pk for c in ct_cases
    )


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_delivered_twice_to_a_worker_stores_one_prediction(worker_run, ct_cases, ct_model):
    worker_run()
    job = _job(ct_cases[0].study, ct_model)
    twice = {"case_pk": ct_cases[0].pk, "model_version_pk": ct_model.pk, "job_pk": job.pk}

    tasks.predict_case.apply_async(kwargs=twice)  # routed to this test's queue
    tasks.predict_case.apply_async(kwargs=twice)
    tasks.predict_cases.apply_async(
        kwargs={  # one worker takes them in order: this one is last
            "case_pks": [c.pk for c in ct_cases[1:]],
            "model_version_pk": ct_model.pk,
            "job_pk": job.pk,
        },
    )
    job = _wait_finished(job)

    assert (job.status, job.done, job.total) == ("done", 4, 4)
    assert Prediction.objects.filter(case=ct_cases[0]).count() == 1


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_corrupt_checkpoint_is_refused_at_registration_and_at_task_time(
    worker_run, ct_cases, storage_root, tmp_path
):
    corrupt = save_tiny_model(tmp_path / "corrupt", seed=4, version="corrupt")
    (corrupt / "weights.pt").write_bytes(b"\0" * 64)
    with pytest.raises(ModelRegistrationError, match=r"weights\.pt: SHA-256"):
        registry.model_version_register(path=corrupt)
    model = registry.model_version_register(
        path=save_tiny_model(tmp_path / "good", seed=4, version="2")
    )
    weights = registry.checkpoint_dir(model) / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-512])  # damaged on disk after registration
    worker_run()

    job, _ = services.inference_job_start(study=ct_cases[0].study, model_version=model)
    job = _wait_finished(job)

    assert job.status == "failed" and job.done == 0
    (error,) = job.errors
    assert "The model cannot be loaded" in error["error"] and str(weights) in error["error"]
    assert "SHA-256" in error["error"]
    assert not Prediction.objects.exists()


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_of_a_killed_worker_runs_again_on_a_new_worker_without_duplicates(
    worker_run, ct_cases, ct_model, tmp_path
):
    marker = tmp_path / "chunk-started"
    doomed = worker_run(program=["-m", "tests.predictions.slow_worker", str(marker), "60"])

    job, _ = services.inference_job_start(study=ct_cases[0].study, model_version=ct_model)
    wait_for(marker.exists, timeout=120, what="the first chunk to start", process=doomed.process)
    doomed.kill()  # SIGKILL in the middle of the chunk: it was never acknowledged
    job.refresh_from_db()
    assert job.done == 0 and not Prediction.objects.exists()

    worker_run()
    job = _wait_finished(job)

    assert (job.status, job.done, job.failed, job.total) == ("done", 4, 0, 4)
    assert Prediction.objects.count() == 4
    assert sorted(Prediction.objects.values_list("case_id", flat=True)) == sorted(
        c.pk for c in ct_cases
    )
