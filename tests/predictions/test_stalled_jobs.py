"""Model runs always end: a run whose tasks were lost (a worker killed, a broker restarted with
its chunks queued) is re-queued once it stops moving, and ends with one prediction per case;
the command cancels and retries runs. The ``worker`` tests kill a real worker and stop a real
Redis in the middle of a run."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from readerstudy.core.models import AuditEvent
from readerstudy.predictions import services
from readerstudy.predictions.models import InferenceJob, Prediction
from readerstudy.predictions.tasks import predict_cases
from tests.predictions.workers import (
    Worker,
    broker,
    new_queue,
    require_worker_setup,
    use_queue,
    wait_for,
    worker_env,
)


def _started_and_half_done(study, model) -> InferenceJob:
    """A running job with its first two cases predicted, whose other chunk was lost."""
    job, _ = services.inference_job_start(study=study, model_version=model, dispatch=False)
    pks = services.inference_job_claim(job_pk=job.pk)
    predict_cases.apply(kwargs={"case_pks": pks[:2], "model_version_pk": model.pk, "job_pk": job.pk})
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 2, 4)
    return job


def _idle_for(job: InferenceJob, seconds: float) -> None:
    InferenceJob.objects.filter(pk=job.pk).update(
        progressed_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_a_job_that_stopped_moving_is_requeued_once_and_finishes_without_duplicates(
        ct_cases, ct_model, settings):
    settings.READERSTUDY_INFERENCE_STALE_AFTER = 60
    job = _started_and_half_done(ct_cases[0].study, ct_model)
    _idle_for(job, 30)
    assert services.inference_jobs_requeue_stale() == []  # still within its time

    _idle_for(job, 61)
    assert services.inference_jobs_requeue_stale() == [job.pk]  # eager: the task runs here

    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 4, 0)
    assert sorted(Prediction.objects.values_list("case_id", flat=True)) == sorted(c.pk for c in ct_cases)
    assert services.inference_jobs_requeue_stale() == []  # ended jobs are left alone
    (event,) = AuditEvent.objects.filter(verb="inference", details__action="requeued")
    assert event.object_id == str(job.pk) and event.details["idle_s"] >= 61


@pytest.mark.django_db
def test_sweeps_meeting_each_other_send_a_stalled_job_once(ct_cases, ct_model, settings, monkeypatch):
    settings.READERSTUDY_INFERENCE_STALE_AFTER = 60
    job = _started_and_half_done(ct_cases[0].study, ct_model)
    _idle_for(job, 120)
    sent, nested = [], []

    def send_and_meet_another_sweep(name, **kwargs):
        sent.append(kwargs)
        # A second sweep (a status request) runs while this one sends: the claim stops it.
        nested.append(services.inference_jobs_requeue_stale())

    monkeypatch.setattr(services, "enqueue", send_and_meet_another_sweep)
    assert services.inference_jobs_requeue_stale() == [job.pk]
    assert services.inference_jobs_requeue_stale() == []
    assert sent == [{"job_pk": job.pk}] and nested == [[]]


@pytest.mark.django_db
def test_a_stalled_job_the_broker_cannot_take_is_left_for_the_next_sweep(
        ct_cases, ct_model, settings, monkeypatch):
    from readerstudy.core.tasks import BrokerUnavailable

    settings.READERSTUDY_INFERENCE_STALE_AFTER = 60
    job = _started_and_half_done(ct_cases[0].study, ct_model)
    _idle_for(job, 120)

    def broker_away(name, **kwargs):
        raise BrokerUnavailable("The task queue is unavailable (test).")

    monkeypatch.setattr(services, "enqueue", broker_away)
    assert services.inference_jobs_requeue_stale() == []
    job.refresh_from_db()
    assert job.status == "running"  # still active; swept again after another STALE_AFTER


@pytest.mark.django_db
def test_the_command_cancels_and_retries_a_job(ct_cases, ct_model):
    study = ct_cases[0].study
    job = _started_and_half_done(study, ct_model)
    out = io.StringIO()

    call_command("run_inference", "--study", study.slug, "--cancel", str(job.pk), stdout=out)
    assert f"Job {job.pk} cancelled: 2/4 cases predicted" in out.getvalue()
    call_command("run_inference", "--study", study.slug, "--cancel", str(job.pk), stdout=out)
    assert f"Job {job.pk} had already ended: cancelled." in out.getvalue()

    call_command("run_inference", "--study", study.slug, "--retry", str(job.pk), "--no-progress",
                 stdout=out)
    retry = InferenceJob.objects.get(retry_of=job)
    assert (retry.status, retry.done, retry.total) == ("done", 4, 4)
    assert Prediction.objects.count() == 4
    with pytest.raises(CommandError, match="only a failed or cancelled job"):
        call_command("run_inference", "--study", study.slug, "--retry", str(retry.pk))
    with pytest.raises(CommandError, match="has no inference job 999"):
        call_command("run_inference", "--study", study.slug, "--cancel", "999")


# --------------------------------------------------------------------------- a real worker


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A Redis server of this test's own (never the shared one), stopped and started at will."""

    def __init__(self, port: int):
        self.port, self.process = port, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(answers, timeout=20, what=f"redis on port {self.port}")
        return self

    def stop(self) -> None:
        """SIGKILL: what was queued is lost, as when a broker without persistence restarts."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def stalling_setup(settings, tmp_path, storage_root, imported_ct):
    """Workers on a queue of this test's own, with the production visibility timeout (a killed
    worker's chunk is not given back during the test) and a short stale-after."""
    require_worker_setup()
    settings.READERSTUDY_INFERENCE_STALE_AFTER = 3
    queue = new_queue()
    use_queue(queue)
    started: list[Worker] = []

    def start(*, slow: float = 0, broker: str | None = None) -> Worker:
        extra = {"CELERY_VISIBILITY_TIMEOUT": "3600"}
        if broker:
            extra["CELERY_BROKER_URL"] = broker
        env = worker_env(queue=queue, var_dir=imported_ct.storage,
                         model_dir=storage_root / "models", **extra)
        program = (["-m", "tests.predictions.slow_worker", str(tmp_path / f"chunk-{len(started)}"),
                    str(slow)] if slow else None)
        worker = Worker(queue=queue, env=env, log=tmp_path / f"worker-{len(started)}.log",
                        program=program)
        started.append(worker)
        return worker.wait_ready()

    start.tmp_path = tmp_path  # type: ignore[attr-defined]
    yield start
    for each in started:
        each.stop()


def _sweep_until_finished(job: InferenceJob, timeout: float = 180.0) -> InferenceJob:
    """What the coordinator's page does while it polls: look at the job, sweep stalled ones."""
    def finished() -> bool:
        services.inference_jobs_requeue_stale()
        job.refresh_from_db()
        return job.is_finished

    wait_for(finished, timeout=timeout, what=f"job {job.pk} to finish")
    return job


def _one_prediction_per_case(job: InferenceJob, cases) -> None:
    assert (job.status, job.done, job.failed, job.total) == ("done", 4, 0, 4)
    assert sorted(Prediction.objects.filter(model_version=job.model_version)
                  .values_list("case_id", flat=True)) == sorted(c.pk for c in cases)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_is_requeued_and_finishes_before_the_visibility_timeout(
        stalling_setup, ct_cases, ct_model):
    doomed = stalling_setup(slow=60)
    marker = stalling_setup.tmp_path / "chunk-0"

    job, _ = services.inference_job_start(study=ct_cases[0].study, model_version=ct_model)
    wait_for(marker.exists, timeout=120, what="the first chunk to start", process=doomed.process)
    doomed.kill()  # SIGKILL of the worker's main process in the middle of the chunk
    job.refresh_from_db()
    assert job.status == "running" and job.done == 0

    stalling_setup()
    job = _sweep_until_finished(job)

    _one_prediction_per_case(job, ct_cases)
    assert AuditEvent.objects.filter(verb="inference", details__action="requeued",
                                     object_id=str(job.pk)).exists()


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_queued_chunks_a_broker_restart_lost_is_requeued_and_finishes(
        stalling_setup, ct_cases, ct_model):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(_free_port()).start()
    try:
        with broker(redis.url):
            worker = stalling_setup(slow=4, broker=redis.url)
            marker = stalling_setup.tmp_path / "chunk-0"
            job, _ = services.inference_job_start(study=ct_cases[0].study, model_version=ct_model)
            wait_for(marker.exists, timeout=120, what="the first chunk to start",
                     process=worker.process)
            redis.stop()  # the second chunk, still queued, is lost with the broker
            redis.start()
            job = _sweep_until_finished(job)
        _one_prediction_per_case(job, ct_cases)
    finally:
        redis.stop()


@pytest.mark.django_db
def test_run_inference_following_a_job_waits_out_a_database_outage(ct_cases, ct_model, monkeypatch,
                                                                   capsys):
    from django.db import OperationalError
    from tqdm import tqdm

    from readerstudy.predictions.management.commands.run_inference import Command

    job = _started_and_half_done(ct_cases[0].study, ct_model)
    InferenceJob.objects.filter(pk=job.pk).update(status="done", done=4)
    refresh = InferenceJob.refresh_from_db
    calls = []

    def database_away_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(InferenceJob, "refresh_from_db", database_away_once)
    monkeypatch.setattr("readerstudy.predictions.management.commands.run_inference.time.sleep",
                        lambda seconds: None)
    # The command drops the broken connection; here that would be the test's own transaction
    # (on PostgreSQL the next query then fails for ever), so the drop is only recorded.
    dropped = []
    monkeypatch.setattr("readerstudy.predictions.management.commands.run_inference.close_old_connections",
                        lambda: dropped.append(1))
    bar = tqdm(total=4, disable=False, file=io.StringIO())

    Command(stdout=io.StringIO(), stderr=io.StringIO())._follow(job, bar, poll=0.01)

    assert len(calls) == 2 and dropped == [1] and job.status == "done"
    assert "The database is unavailable (server closed the connection unexpectedly); trying again." \
        in capsys.readouterr().out
