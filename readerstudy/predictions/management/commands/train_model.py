"""python manage.py train_model --study SLUG --modality CT|MRI [--out DIR] [--folds K] [--max-epochs N]"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.predictions.registry import ModelRegistrationError
from readerstudy.predictions.training import model_train
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Train a model on a study's TRAINING cases (patient-level cross-validation), write the "
        "checkpoint, model card and training report, and register the model."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study slug")
        parser.add_argument("--modality", required=True, choices=["CT", "MR", "MRI"])
        parser.add_argument("--out", metavar="DIR",
                            help="output folder (default: READERSTUDY_MODEL_DIR/<name>/<version>)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--max-epochs", type=int, default=30)
        parser.add_argument("--patience", type=int, default=5,
                            help="epochs without a better validation loss before stopping")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--name", help="model name (default: <modality>-<study>)")
        parser.add_argument("--model-version", help="model version (default: the UTC time)")
        parser.add_argument(
            "--arch-kwargs", type=json.loads, default=None, metavar="JSON",
            help='network arguments recorded in the card, e.g. \'{"channels": [8, 16, 32, 64]}\'',
        )

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        verbose = opts["verbosity"] >= 1
        try:
            model_version = model_train(
                study=study, modality=opts["modality"], out_dir=opts["out"],
                folds=opts["folds"], max_epochs=opts["max_epochs"], patience=opts["patience"],
                seed=opts["seed"], name=opts["name"], version=opts["model_version"],
                arch_kwargs=opts["arch_kwargs"],
                progress=self.stdout.write if verbose else None,
            )
        except (ValidationError, ModelRegistrationError, ValueError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError("; ".join(messages)) from exc
        metrics = model_version.card.get("validation_metrics", {})
        lower, upper = model_version.thresholds
        self.stdout.write(self.style.SUCCESS(
            f"Registered {model_version.reader_name}: cross-validated AUC "
            f"{metrics.get('auc', float('nan')):.3f}, three-tier thresholds {lower:.3f} / {upper:.3f}"
        ))
