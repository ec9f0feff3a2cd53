"""python manage.py run_inference --study SLUG [--model PATH | --cancel JOB | --retry JOB]"""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, close_old_connections
from tqdm import tqdm

from readerstudy.celery import app
from readerstudy.core.tasks import BrokerUnavailable
from readerstudy.predictions import registry, services, tasks, worker
from readerstudy.predictions.models import InferenceJob
from readerstudy.predictions.registry import ModelRegistrationError
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Run a model over a study's reading cases and store its predictions. Without a broker "
        "the cases are predicted in this process; with one, the job is queued and followed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study slug")
        parser.add_argument(
            "--model", metavar="PATH",
            help="checkpoint directory (weights.pt + model_card.json), registered if new; "
            "default: the newest registered model of the study's modality",
        )
        parser.add_argument("--cancel", type=int, metavar="JOB",
                            help="cancel the study's queued or running job JOB and return")
        parser.add_argument("--retry", type=int, metavar="JOB",
                            help="run the study's failed or cancelled job JOB again (the cases "
                            "without its model's prediction), then follow it")
        parser.add_argument("--no-wait", action="store_true",
                            help="with a broker: queue the job and return")
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress checks")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        if opts["cancel"] is not None:
            self._cancel(self._job(study, opts["cancel"]))
            return
        model_version = None
        if opts["model"]:
            try:
                model_version = registry.model_version_register(path=opts["model"])
            except ModelRegistrationError as exc:
                raise CommandError(str(exc)) from exc
        eager = bool(app.conf.task_always_eager)
        try:
            if opts["retry"] is not None:
                job, created = services.inference_job_retry(
                    job=self._job(study, opts["retry"]), dispatch=not eager)
            else:
                job, created = services.inference_job_start(
                    study=study, model_version=model_version, dispatch=not eager
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except BrokerUnavailable as exc:
            raise CommandError(f"{exc} (The broker's error is in the log above.)") from exc
        self.stdout.write(
            f"{'Started' if created else 'Following'} job {job.pk}: {job.model_version.reader_name} "
            f"on {study.slug} ({job.total} cases, {job.done} predicted before)"
        )
        if not eager and opts["no_wait"]:
            return
        bar = tqdm(total=job.total, initial=job.processed, unit="case", file=sys.stderr,
                   disable=opts["no_progress"], desc=study.slug)
        try:
            if eager:
                self._run_here(job, bar)
            else:
                self._follow(job, bar, opts["poll"])
        finally:
            bar.close()
        self._report(InferenceJob.objects.get(pk=job.pk))

    def _run_here(self, job: InferenceJob, bar: tqdm) -> None:
        """Eager mode: the chunks the worker would run, one after the other, here."""
        if worker.job_model_ready(job_pk=job.pk) is None:
            return
        for chunk in services.chunked(services.inference_job_claim(job_pk=job.pk)):
            tasks.predict_cases.apply(kwargs={
                "case_pks": chunk, "model_version_pk": job.model_version_id, "job_pk": job.pk,
            })
            job.refresh_from_db()
            bar.update(job.processed - bar.n)
        services.inference_job_finish_if_complete(job_pk=job.pk)

    def _job(self, study: Study, pk: int) -> InferenceJob:
        job = InferenceJob.objects.filter(study=study, pk=pk).select_related("study").first()
        if job is None:
            raise CommandError(f"Study {study.slug} has no inference job {pk}.")
        return job

    def _cancel(self, job: InferenceJob) -> None:
        if services.inference_job_cancel(job=job):
            self.stdout.write(self.style.SUCCESS(
                f"Job {job.pk} cancelled: {job.done}/{job.total} cases predicted, {job.failed} failed."))
        else:
            self.stdout.write(f"Job {job.pk} had already ended: {job.status}.")

    def _follow(self, job: InferenceJob, bar: tqdm, poll: float) -> None:
        """With a broker: the workers run it; follow the job's counters, re-queue it when it
        stops moving (its tasks were lost), and wait out a database outage."""
        while True:
            try:
                job.refresh_from_db()
                if job.pk in services.inference_jobs_requeue_stale():
                    bar.write(f"Job {job.pk} had not moved for "
                              f"{settings.READERSTUDY_INFERENCE_STALE_AFTER} s (its tasks were "
                              "lost): re-queued.")
                    bar.reset(total=job.total)  # the rate so far no longer predicts the rest
                    bar.update(job.processed)
            except (OperationalError, InterfaceError) as exc:
                bar.write(f"The database is unavailable ({str(exc).strip()}); trying again.")
                close_old_connections()
                time.sleep(max(poll, 2.0))
                continue
            bar.update(job.processed - bar.n)
            if job.is_finished:
                return
            time.sleep(poll)

    def _report(self, job: InferenceJob) -> None:
        for row in job.errors:
            self.stderr.write(f"  {row['case'] or 'job'}: {row['error']}")
        summary = (
            f"Job {job.pk} {job.status}: {job.done}/{job.total} cases predicted, "
            f"{job.failed} failed."
        )
        if job.status == InferenceJob.Status.CANCELLED:
            raise CommandError(f"{summary} It was cancelled; retry it from the model page "
                               "or run this command again.")
        if job.status == InferenceJob.Status.FAILED:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
