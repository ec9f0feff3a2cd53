"""The rule for usernames, wherever an account is created (``services.reader_create``).

Usernames end up in spreadsheets (every export names the reader) and in pages. Django's own
rule already keeps to letters, digits and ``@ . + - _`` (no markup, no ``= |``); this adds
that a name may not start with a character that makes a spreadsheet cell a formula.
"""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

# A cell starting with one of these is a formula in Excel and LibreOffice (CSV injection).
FORMULA_START = ("=", "+", "-", "@")


def validate_username(username: str) -> None:
    """Raises ``ValidationError`` unless ``username`` is letters, digits and ``@ . + - _``,
    starting with none of ``= + - @``."""
    UnicodeUsernameValidator()(username)
    if username.startswith(FORMULA_START):
        raise ValidationError(
            "A username may not start with = + - or @ (a spreadsheet would read it as a formula).",
            code="formula",
        )
