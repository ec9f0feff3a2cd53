"""python manage.py restore_study ARCHIVE.zip [--keys KEYFILE.json]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.backup.archive import RestoreError, study_restore


class Command(BaseCommand):
    help = ("Restore a study from a backup_study archive (every checksum is checked first); "
            "its de-identification key from --keys.")

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--keys", type=Path, help="the key file backup_study wrote")

    def handle(self, *args, archive: Path, keys: Path | None, **opts):
        try:
            study = study_restore(archive_path=archive, keys_path=keys)
        except (RestoreError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Study {study.slug} restored: {study.cases.count()} cases, {study.reads.count()} reads"
            + ("" if keys else "; no de-identification key (see docs/deployment.md)")))
