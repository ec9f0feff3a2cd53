"""``manage.py import_study MANIFEST.csv --dicom-root DIR --study SLUG``: all or nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.imaging.importer import import_study, manifest_read
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Import cases into a draft study from a manifest CSV and a DICOM folder "
        "(see docs/import-manifest.md). Nothing is imported if any file or row is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest", type=Path, help="The manifest CSV.")
        parser.add_argument("--dicom-root", type=Path, required=True,
                            help="The folder the manifest's series paths are relative to.")
        parser.add_argument("--study", required=True, help="Slug of the (draft) study.")
        parser.add_argument("--allow-burned-in", action="store_true",
                            help="Accept files with BurnedInAnnotation=YES (check the pixels first).")
        parser.add_argument("--keep-originals", action="store_true",
                            help="Also keep the original files (separate storage, never served).")

    def handle(self, *args, **options):
        manifest: Path = options["manifest"]
        root: Path = options["dicom_root"]
        if not manifest.is_file():
            raise CommandError(f"Manifest {manifest} not found.")
        if not root.is_dir():
            raise CommandError(f"DICOM root {root} is not a folder.")
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {options['study']!r}.")
        try:
            result = import_study(
                study=study, manifest_text=manifest_read(manifest), dicom_root=root,
                allow_burned_in=options["allow_burned_in"], keep_originals=options["keep_originals"],
            )
        except ImportRefused as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"Nothing was imported: {len(exc.problems)} problem(s) listed above.") from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported {len(result.case_codes)} case(s), {result.n_series} series, "
            f"{result.n_instances} instance(s) into {study.slug}."
        ))
