"""python manage.py repeat_schedule --study SLUG [--csv]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.models import Study
from readerstudy.studies.selectors import SCHEDULE_CSV_COLUMNS, repeat_schedule, repeat_schedule_csv


def _fmt(value) -> str:
    if value is None:
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


class Command(BaseCommand):
    help = "Show the repeat-read schedule: per reader and case, first read, due date, repeat read, interval."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study slug")
        parser.add_argument("--csv", action="store_true", help="write CSV to standard output")

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        if opts["csv"]:
            repeat_schedule_csv(study=study, out=self.stdout)
            return
        rows = repeat_schedule(study=study)
        columns = SCHEDULE_CSV_COLUMNS
        if not rows:
            self.stdout.write("No repeat reads scheduled (is the study open, with readers assigned?).")
            return
        widths = {c: max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns}
        self.stdout.write("  ".join(c.ljust(widths[c]) for c in columns))
        for row in rows:
            self.stdout.write("  ".join(_fmt(row[c]).ljust(widths[c]) for c in columns))
