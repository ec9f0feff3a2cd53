"""Per-round pseudonyms: what a reader sees of a case in a round other than the first.

A repeat read must be made blind to the first: a reader who noted a case's code or its image
UIDs in the first round must not recognise the case in the repeat round. So in every round
after the first a case has another code, and its images other Study, Series, SOP Instance and
Frame of Reference UIDs, derived (nothing is stored) from a server secret, the case or image
and the round. The first round keeps the stored code and the stored de-identified UIDs, which
coordinators also see.

- Case codes: HMAC-SHA256 of the case and the round, written in the case-code alphabet. The
  server finds the case again among the reader's own slots of that round
  (:func:`case_code_resolve`): a code of another round, or of a case outside the reader's
  sample, matches nothing.
- Series and SOP Instance UIDs: the row's primary key and the round, enciphered with a
  128-bit Feistel permutation (four rounds of HMAC-SHA256, Luby-Rackoff) and written as a
  ``2.25.`` UID, so that a DICOMweb request names its image without a lookup table
  (:func:`uid_parse`); 48 zero bits in the block reject a UID the server did not make.
- Study and Frame of Reference UIDs: a keyed hash of the stored UID and the round (never
  resolved: a request's study UID is checked against the one of its series).

Without the secret a round's codes and UIDs cannot be linked to another round's. The secret
is derived from ``SECRET_KEY``: changing it changes every pseudonym (a reader's open page
then needs reloading; reads are stored by case, so nothing recorded changes).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from readerstudy.studies.models import CODE_ALPHABET, CODE_LENGTH, Case, Round, Study
from readerstudy.studies.protocol import ROUNDS

FIRST = Round.FIRST.value
_FEISTEL_ROUNDS = 4
_CHECK_BYTES = 6
_KINDS = {"series": 1, "instance": 2}
_UID = re.compile(r"2\.25\.([1-9][0-9]{0,38})")


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"readerstudy.pseudonyms.v1", hashlib.sha256).digest()


def _mac(purpose: str, *parts: object) -> bytes:
    message = "\x00".join([purpose, *map(str, parts)]).encode()
    return hmac.new(_key(settings.SECRET_KEY), message, hashlib.sha256).digest()


def is_first(round: str) -> bool:
    """Whether a reader sees the stored code and UIDs in ``round``: the first round, and a round
    that shows the first round's (``RoundDefinition.pseudonyms_of``: the aided read of the case
    just read)."""
    definition = ROUNDS.get(str(round))
    return str(round) == FIRST or (definition is not None and definition.pseudonyms_of == FIRST)


def _round_tag(round: str) -> int:
    return list(Round.values).index(str(round)) + 1


# -- case codes ---------------------------------------------------------------------------------


def case_code(*, case: Case, round: str) -> str:
    """The code a reader sees for ``case`` in ``round``: the stored code in the first round,
    a keyed pseudonym (same alphabet and length) in every other."""
    if is_first(round):
        return case.code
    number = int.from_bytes(_mac("case-code", case.study_id, case.pk, round)[:16], "big")
    letters = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        letters.append(CODE_ALPHABET[index])
    return "".join(letters)


def case_code_resolve(*, study: Study, reader, round: str, code: str) -> str | None:
    """The stored code of the case that ``reader`` sees as ``code`` in ``round``, or ``None``.

    Only the reader's own slots of that round are searched, so a code from another round (or
    another reader's sample) resolves to nothing, as an unknown code does.
    """
    code = str(code)
    if is_first(round):
        return code
    if str(round) not in Round.values:
        return None
    for case in Case.objects.filter(slots__study=study, slots__reader=reader, slots__round=round):
        if hmac.compare_digest(case_code(case=case, round=round), code):
            return case.code
    return None


# -- image UIDs ---------------------------------------------------------------------------------


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _f(step: int, half: bytes) -> bytes:
    return _mac("uid-feistel", step, half.hex())[:8]


def _encipher(block: bytes) -> bytes:
    left, right = block[:8], block[8:]
    for step in range(_FEISTEL_ROUNDS):
        left, right = right, _xor(left, _f(step, right))
    return left + right


def _decipher(block: bytes) -> bytes:
    left, right = block[:8], block[8:]
    for step in reversed(range(_FEISTEL_ROUNDS)):
        left, right = _xor(right, _f(step, left)), left
    return left + right


def image_uid(*, kind: str, pk: int, round: str) -> str:
    """The Series (``kind="series"``) or SOP Instance (``"instance"``) UID of row ``pk`` in a
    round after the first."""
    block = bytes([_KINDS[kind], _round_tag(round)]) + int(pk).to_bytes(8, "big") + bytes(_CHECK_BYTES)
    return "2.25." + str(int.from_bytes(_encipher(block), "big"))


@dataclass(frozen=True, slots=True)
class ImageRef:
    """What a per-round UID names: a series or instance row, in a round."""

    kind: str
    pk: int
    round: str


def uid_parse(uid: str) -> ImageRef | None:
    """The row and round a per-round UID of :func:`image_uid` names; ``None`` for any other UID."""
    match = _UID.fullmatch(str(uid))
    if match is None or int(match.group(1)) >= 1 << 128:
        return None
    block = _decipher(int(match.group(1)).to_bytes(16, "big"))
    kinds = {v: k for k, v in _KINDS.items()}
    rounds = list(Round.values)
    if block[10:] != bytes(_CHECK_BYTES) or block[0] not in kinds or not 1 <= block[1] <= len(rounds):
        return None
    round = rounds[block[1] - 1]
    if is_first(round):
        return None
    return ImageRef(kinds[block[0]], int.from_bytes(block[2:10], "big"), round)


def round_uid(uid: str, *, round: str) -> str:
    """A stored Study or Frame of Reference UID as a reader sees it in ``round`` (the stored
    one in the first round; empty stays empty)."""
    uid = str(uid or "")
    if not uid or is_first(round):
        return uid
    return "2.25." + str(int.from_bytes(_mac("uid", round, uid)[:16], "big"))
