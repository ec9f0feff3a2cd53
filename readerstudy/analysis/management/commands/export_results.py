"""python manage.py export_results --study SLUG --out DIR [--n-boot N] [--seed S] [--alpha A]
[--power-effect E]"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.analysis import services
from readerstudy.analysis.models import AnalysisExport
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Export a study's results: every statistic, the publication tables, figures and MRMC "
        "files, per test set and subgroup, into DIR. Reuses the last export when the data "
        "have not changed; otherwise computes it here (no Celery worker needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study slug")
        parser.add_argument("--out", required=True, type=Path, help="folder to write into")
        parser.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (2000)")
        parser.add_argument("--seed", type=int, default=None, help="bootstrap seed (0)")
        parser.add_argument("--alpha", type=float, default=None,
                            help="1 - confidence level (0.05)")
        parser.add_argument("--power-effect", type=float, default=None,
                            help="difference of AUCs table 9 plans a future study for (0.05)")
        parser.add_argument("--wait", type=int, default=1800,
                            help="seconds to wait for a worker producing the same export")

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        given = {"n_boot": opts["n_boot"], "seed": opts["seed"], "alpha": opts["alpha"],
                 "power_effect": opts["power_effect"]}
        try:
            parameters = services.ExportParameters.from_data(
                {k: v for k, v in given.items() if v is not None})
        except ValidationError as exc:
            raise CommandError("; ".join(f"--{k.replace('_', '-')}: {' '.join(v)}"
                                         for k, v in exc.message_dict.items())) from exc
        out: Path = opts["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a folder.")
        export, _created = services.export_request(study=study, parameters=parameters,
                                                  enqueue=False)
        if export.status == AnalysisExport.Status.DONE:
            self.stdout.write(f"Export #{export.pk} of {study.slug} is reused: the data have "
                              "not changed.")
        else:
            self.stdout.write(f"Computing export #{export.pk} of {study.slug}...")
            export = services.export_run(export_pk=export.pk)
            deadline = time.monotonic() + opts["wait"]
            while not export.is_finished and time.monotonic() < deadline:
                time.sleep(2)  # a worker is producing it
                export.refresh_from_db()
            if not export.is_finished:
                raise CommandError(f"Export #{export.pk} is still being produced by a worker "
                                   f"({export.progress}%); run the command again later.")
        if export.status == AnalysisExport.Status.FAILED:
            raise CommandError(f"Export #{export.pk} failed: {export.error}")
        files = services.export_extract(export=export, out=out)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(files)} files to {out}."))
