"""Creating readers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from readerstudy.accounts.models import ReaderProfile
from readerstudy.accounts.validators import validate_username


def _taken(username: str) -> ValidationError:
    return ValidationError({"username": [f"A user named {username!r} already exists."]}, code="taken")


@transaction.atomic
def reader_create(*, username: str, password: str | None, role: str, years_experience: int,
                  specialty: str = "", email: str = "", simulated: bool = False):
    """Create a user with a reader profile.

    The username is normalised as Django stores it (Unicode NFKC) and checked by
    ``validate_username``; it must differ from every existing one in more than letter case.
    The password must pass ``AUTH_PASSWORD_VALIDATORS``. Either failing raises
    ``ValidationError`` keyed by field (``username``, ``password``), with every message.

    ``password=None`` gives the user an unusable password (it cannot sign in); a simulated
    reader (``simulated=True``, the demo's generated reads) must have none. An unknown role
    or a simulated reader with a password is a programming error: ``ValueError``.
    """
    User = get_user_model()
    if role not in ReaderProfile.Role.values:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ReaderProfile.Role.values)}.")
    if simulated and password is not None:
        raise ValueError(f"A simulated reader cannot sign in: give {username!r} no password.")
    username = User.normalize_username(username)
    errors: dict[str, list[str]] = {}
    try:
        validate_username(username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    else:
        if User.objects.filter(username__iexact=username).exists():
            errors.update(_taken(username).message_dict)
    if password is not None:
        try:
            validate_password(password, user=User(username=username, email=email))
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError:  # created by a concurrent request since the check above
        raise _taken(username) from None
    ReaderProfile.objects.create(
        user=user, role=role, years_experience=years_experience, specialty=specialty,
        simulated=simulated,
    )
    return user
