"""python manage.py run_inference --study SLUG [--model PATH]"""

from __future__ import annotations

import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from readerstudy.celery import app
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
        parser.add_argument("--no-wait", action="store_true",
                            help="with a broker: queue the job and return")
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress checks")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        model_version = None
        if opts["model"]:
            try:
                model_version = registry.model_version_register(path=opts["model"])
            except ModelRegistrationError as exc:
                raise CommandError(str(exc)) from exc
        eager = bool(app.conf.task_always_eager)
        try:
            job, created = services.inference_job_start(
                study=study, model_version=model_version, dispatch=not eager
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
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

    def _follow(self, job: InferenceJob, bar: tqdm, poll: float) -> None:
        """With a broker: the workers run it; follow the job's counters."""
        while True:
            job.refresh_from_db()
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
