"""Creating readers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from readerstudy.accounts.models import ReaderProfile


@transaction.atomic
def reader_create(*, username: str, password: str | None, role: str, years_experience: int,
                  specialty: str = "", email: str = "", simulated: bool = False):
    """Create a user with a reader profile; refuses an existing username or unknown role.

    ``password=None`` gives the user an unusable password (it cannot sign in); a simulated
    reader (``simulated=True``, the demo's generated reads) must have none.
    """
    User = get_user_model()
    if role not in ReaderProfile.Role.values:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ReaderProfile.Role.values)}.")
    if simulated and password is not None:
        raise ValueError(f"A simulated reader cannot sign in: give {username!r} no password.")
    if User.objects.filter(username=username).exists():
        raise ValueError(f"A user named {username!r} already exists.")
    user = User.objects.create_user(username=username, password=password, email=email)
    ReaderProfile.objects.create(
        user=user, role=role, years_experience=years_experience, specialty=specialty,
        simulated=simulated,
    )
    return user
