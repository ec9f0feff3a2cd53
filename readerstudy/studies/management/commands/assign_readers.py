"""python manage.py assign_readers --study SLUG USERNAME [USERNAME ...]"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.models import Study
from readerstudy.studies.services import assignment_create


class Command(BaseCommand):
    help = "Assign readers to a study (their reading orders are drawn when the study is open)."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study slug")
        parser.add_argument("usernames", nargs="+")

    def handle(self, *args, **opts):
        study = Study.objects.filter(slug=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study with slug {opts['study']!r}.")
        User = get_user_model()
        users = []
        for name in opts["usernames"]:
            user = User.objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"No user named {name!r}: create it with create_reader first.")
            users.append(user)
        for user in users:
            try:
                assignment_create(study=study, reader=user)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"Assigned {user.username} to {study.slug}")
