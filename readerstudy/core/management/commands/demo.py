"""python manage.py demo: the demo study, its readers, a phantom-trained model and its reads.

Idempotent: a second run reuses what exists (delete ``var/`` to start over: reads and the
audit log are append-only, so the command never deletes them). Everything shown is a
SYNTHETIC PHANTOM with no clinical meaning.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from readerstudy.accounts.models import ReaderProfile
from readerstudy.accounts.services import reader_create
from readerstudy.studies import services
from readerstudy.studies.models import Case, Study

# Demo accounts: username, role, years of experience. Passwords are "demo-" + username.
DEMO_READERS = [
    ("resident1", ReaderProfile.Role.RESIDENT, 2),
    ("resident2", ReaderProfile.Role.RESIDENT, 4),
    ("attending", ReaderProfile.Role.ATTENDING, 7),
    ("trainee", ReaderProfile.Role.TRAINEE, 1),
]
COORDINATOR = "coordinator"

DEMO_STUDIES = [
    # slug, title, manifest modality, readers, form and protocol, the study whose model it uses
    # (its own, trained on its training cases, or another's; a study that borrows a model
    # imports only the test cases)
    ("demo-ct", "Demo: benign vs malignant vertebral fractures on CT (phantoms)", "CT",
     ["resident1", "resident2", "attending"],
     {"ask_confidence": True, "ask_three_tier": True, "measurements": ["anterior_height", "posterior_height"]},
     "demo-ct"),
    ("demo-mri", "Demo: benign vs malignant vertebral fractures on MRI (phantoms)", "MR",
     ["resident1", "resident2", "attending"],
     {"ask_confidence": True, "ask_features": True}, "demo-mri"),
    ("demo-teaching", "Teaching: CT fractures with AI feedback (phantoms)", "CT",
     ["trainee"], {"ask_confidence": True, "ai_feedback": True, "repeat_sample_size": 0}, "demo-ct"),
]


def password_for(username: str) -> str:
    return f"demo-{username}"


def _manifest_for(manifest: Path, modality: str, *, with_training: bool) -> str:
    """The manifest's rows of one modality (a study is CT or MRI), with or without the
    training cases."""
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(row for row in reader if row["modality"] == modality
                         and (with_training or row["test_set"] != Case.TestSet.TRAINING))
    return out.getvalue()


class Command(BaseCommand):
    help = "Build the demo: phantom CT and MRI studies, demo readers, a phantom-trained model."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=str(settings.VAR_DIR / "demo-data"))
        parser.add_argument("--skip-model", action="store_true", help="no model training or inference")

    def say(self, message: str) -> None:
        self.stdout.write(self.style.HTTP_INFO(f"  {message}"))

    def handle(self, *args, **opts):
        started = time.monotonic()
        data_dir = Path(opts["data_dir"])
        users = self._users()
        manifest = self._dataset(data_dir)
        studies = {}
        for slug, title, modality, readers, form, model_from in DEMO_STUDIES:
            studies[slug] = study = self._study(slug, title, modality, form, manifest, data_dir, users, readers,
                                                with_training=model_from == slug)
            if not opts["skip_model"]:
                self._model(study, trained_on=studies[model_from])
        self._print_accounts(time.monotonic() - started)

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        if not User.objects.filter(username=COORDINATOR).exists():
            User.objects.create_superuser(COORDINATOR, password=password_for(COORDINATOR), email="")
        users[COORDINATOR] = User.objects.get(username=COORDINATOR)
        for username, role, years in DEMO_READERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = reader_create(username=username, password=password_for(username), role=role,
                                     years_experience=years)
            users[username] = user
        return users

    def _dataset(self, data_dir: Path) -> Path:
        manifest = data_dir / "manifest.csv"
        if manifest.exists():
            self.say(f"Phantom dataset: reusing {data_dir}")
            return manifest
        from fixtures.phantoms import build_demo_dataset

        self.say(f"Generating the synthetic phantom dataset in {data_dir} (a few minutes)")
        return Path(build_demo_dataset(data_dir, seed=2026))

    def _study(self, slug, title, modality, form, manifest, data_dir, users, readers, *,
               with_training: bool) -> Study:
        from readerstudy.imaging.importer import import_study

        study = Study.objects.filter(slug=slug).first()
        if study is None:
            with transaction.atomic():
                study = Study.objects.create(
                    slug=slug, title=title, modality=modality, seed=2026, created_by=users[COORDINATOR],
                    description="Synthetic phantom cases generated by fixtures/phantoms: no clinical meaning.",
                    **form,
                )
                result = import_study(study=study,
                                      manifest_text=_manifest_for(manifest, modality, with_training=with_training),
                                      dicom_root=data_dir, by=users[COORDINATOR])
            self.say(f"{slug}: imported {len(result.case_codes)} cases ({result.n_instances} instances)")
        for username in readers:
            services.assignment_create(study=study, reader=users[username], by=users[COORDINATOR])
        if study.status == Study.Status.DRAFT:
            study = services.study_open(study=study, by=users[COORDINATOR])
        return study

    def _model(self, study: Study, *, trained_on: Study) -> None:
        """Runs on ``study`` the demo model of ``trained_on`` (trained first if need be)."""
        from readerstudy.predictions.models import InferenceJob
        from readerstudy.predictions.services import demo_models_ensure, inference_job_start

        if trained_on == study:
            self.say(f"{study.slug}: training or reusing the phantom model (minutes on 2 CPU cores)")
        model_version = demo_models_ensure(study=trained_on)
        job, created = inference_job_start(study=study, model_version=model_version)
        if created:
            job.refresh_from_db()
        state = job.status if job.status != InferenceJob.Status.QUEUED else "queued on the worker"
        self.say(f"{study.slug}: model {model_version.reader_name}: inference {state} "
                 f"({job.done}/{job.total} cases)")

    def _print_accounts(self, seconds: float) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo ready in {seconds:.0f} s. Sign in at http://127.0.0.1:8000/ as:"))
        self.stdout.write(f"  {'coordinator':<12} password {password_for(COORDINATOR):<20} study coordinator (and /admin/)")
        for username, role, years in DEMO_READERS:
            self.stdout.write(f"  {username:<12} password {password_for(username):<20} {role.label}, {years} y")
        self.stdout.write("All images are SYNTHETIC PHANTOMS; the model was trained on phantoms and has no clinical meaning.")
