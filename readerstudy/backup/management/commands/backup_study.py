"""python manage.py backup_study SLUG ARCHIVE.zip --keys KEYFILE.json"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.backup.archive import study_backup
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = ("Back up one study: its rows (reads and audit with full timestamps), de-identified "
            "DICOM and models' files in one zip with a checksum manifest; its de-identification "
            "key in a separate file, to be kept apart from the archive.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("archive", type=Path, help="the zip to write")
        parser.add_argument("--keys", type=Path, help="where to write the de-identification key "
                            "(mode 0600); required unless --without-keys")
        parser.add_argument("--without-keys", action="store_true",
                            help="write no key file (the key stays only in this database)")

    def handle(self, *args, slug: str, archive: Path, keys: Path | None, without_keys: bool,
               **opts):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        if keys is None and not without_keys:
            raise CommandError("Name the key file (--keys PATH, kept apart from the archive) or "
                               "pass --without-keys.")
        try:
            summary = study_backup(study=study, archive_path=archive, keys_path=keys)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Study {slug}: {summary.rows} rows and {summary.files} files "
            f"({summary.bytes / 1e6:.1f} MB) in {summary.archive}"
            + (f"; its de-identification key in {summary.keys}" if summary.keys else "")))
