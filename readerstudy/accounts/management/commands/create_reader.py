"""python manage.py create_reader USERNAME --role resident --years 2 [--password P]"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.accounts.models import ReaderProfile
from readerstudy.accounts.services import reader_create


class Command(BaseCommand):
    help = "Create a reader (resident, attending or trainee) with a login."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ReaderProfile.Role.values)
        parser.add_argument("--years", type=int, required=True, help="years of experience")
        parser.add_argument("--specialty", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="default: a random password, printed once")

    def handle(self, *args, **opts):
        password = opts["password"] or secrets.token_urlsafe(12)
        try:
            reader_create(
                username=opts["username"], password=password, role=opts["role"],
                years_experience=opts["years"], specialty=opts["specialty"], email=opts["email"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(
                f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
            )) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Created {opts['role']} {opts['username']!r}"
            + ("" if opts["password"] else f" with password {password}")
        ))
