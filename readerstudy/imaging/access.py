"""Who may fetch which stored image, decided on every DICOMweb request.

The rule (one rule, here): a coordinator may fetch every image; a reader only images of a
case in their own worklist (a reading slot) of an open study, by the UIDs of that slot's
round (the stored UIDs in the first round, the round's own in a later one:
:mod:`readerstudy.studies.pseudonyms`); anyone else nothing. A refusal
and a missing image look the same to the caller (``None``), so a reader cannot probe for
UIDs outside their worklist.

This runs once per frame the viewer loads (hundreds per case), so each lookup is a single
hand-written, indexed SQL query that finds the image and checks the worklist together and
returns only the columns a response needs. The ORM spelling of the same query costs more
to compile than the database takes to answer it. ``selectors.visible_series`` states the
same rule as a queryset; a test checks that the two agree.

A session that has just passed the whole check for a series is remembered for a few
seconds (``READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS``), so the rest of that series' slices
skip the session, user and worklist lookups; revoking access therefore takes effect within
that bound (the grants section below says exactly what it covers). Everything else is
checked on every request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, router
from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from readerstudy.core.permissions import is_coordinator
from readerstudy.imaging.models import Instance, Series
from readerstudy.studies import pseudonyms
from readerstudy.studies.models import ReadingSlot, Round, Study

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """What serving one instance needs: where it is stored, how its frames are laid out, and
    the round whose UIDs the request named (:mod:`readerstudy.studies.pseudonyms`)."""

    storage_name: str
    size: int
    sha256: str
    number_of_frames: int
    transfer_syntax_uid: str
    frames_json: str
    pk: int
    sop_uid: str
    series_pk: int
    round: str

    @property
    def frames(self) -> list[list[int]]:
        """Per frame, the ``[offset, length]`` of its pixel data in the stored file."""
        return json.loads(self.frames_json)


@dataclass(frozen=True, slots=True)
class StoredMetadata:
    """A series' WADO-RS metadata document in the ``dicom`` storage."""

    storage_name: str
    size: int
    sha256: str
    series_pk: int
    round: str


class NotAuthenticated(Exception):
    """The request carries no credentials, or credentials that are wrong (``detail`` says which)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _authenticate(request: HttpRequest) -> tuple[Any, bool]:
    """The request's active user, and whether it came from the session cookie."""
    user = getattr(request, "user", None)
    from_session = user is not None and user.is_authenticated
    if not from_session:
        try:
            user = Request(request, authenticators=[TokenAuthentication()]).user
        except AuthenticationFailed as exc:
            raise NotAuthenticated(str(exc.detail)) from None
    if not (user is not None and user.is_authenticated and user.is_active):
        raise NotAuthenticated("Authentication credentials were not provided.")
    return user, from_session


# -- the short-lived grants ---------------------------------------------------------------------
#
# A reader scrolling a series asks for each of its slices within seconds, with the same
# session cookie. After one request has passed the whole check (session, user, worklist),
# the grant "this session may fetch this series" is remembered in this process for
# READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS, so the next slices skip the session and user
# lookups and the worklist join. A grant is never extended by use: it lapses that many
# seconds after the check that made it, and the next request checks everything again. So a
# logout, a deactivated account, a removed assignment or a closed study stops image requests
# within that bound, and only for series the session fetched in those last seconds.
# Refusals are never remembered. 0 turns the grants off.

MAX_GRANTS = 10_000
_grants: dict[tuple[str, str, str], float] = {}


def _clock() -> float:
    return time.monotonic()


def _grant_key(request: HttpRequest, study_uid: str, series_uid: str) -> tuple[str, str, str] | None:
    if settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS <= 0:
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return (session_key, study_uid, series_uid) if session_key else None


def _granted(key: tuple[str, str, str]) -> bool:
    expires = _grants.get(key)
    if expires is None:
        return False
    if expires <= _clock():
        _grants.pop(key, None)
        return False
    return True


def _grant(key: tuple[str, str, str]) -> None:
    now = _clock()
    if len(_grants) >= MAX_GRANTS:
        for stale in [k for k, expires in list(_grants.items()) if expires <= now]:
            _grants.pop(stale, None)
        if len(_grants) >= MAX_GRANTS:
            _grants.clear()
    _grants[key] = now + settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS


def forget_grants() -> None:
    """Drop every remembered grant of this process (tests; an operator's shell)."""
    _grants.clear()


# -- the queries --------------------------------------------------------------------------------


@cache
def _sql(alias: str, *, kind: str, worklist: bool, by_pk: bool) -> str:
    """The lookup query of ``kind`` (``"instance"`` or ``"metadata"``), by stored UIDs or (a
    later round's UIDs) by primary keys, with the reader's worklist condition for the round if
    ``worklist``. Built once per database from the models' meta."""
    connection = connections[alias]
    q = connection.ops.quote_name
    instance, series = Instance._meta, Series._meta
    slot, study = ReadingSlot._meta, Study._meta

    def col(meta, field: str) -> str:
        return q(meta.get_field(field).column)

    if kind == "instance":
        columns = ", ".join(
            f"i.{col(instance, f)}"
            for f in ("storage_name", "size", "sha256", "number_of_frames", "transfer_syntax_uid", "frames",
                      "id", "sop_uid")
        )
        sql = (
            f"SELECT {columns}, s.{col(series, 'id')}, s.{col(series, 'study_uid')} FROM {q(instance.db_table)} i"
            f" INNER JOIN {q(series.db_table)} s ON s.{col(series, 'id')} = i.{col(instance, 'series')}"
        )
        if by_pk:
            sql += f" WHERE i.{col(instance, 'id')} = %s AND s.{col(series, 'id')} = %s"
        else:
            sql += (f" WHERE i.{col(instance, 'sop_uid')} = %s AND s.{col(series, 'series_uid')} = %s"
                    f" AND s.{col(series, 'study_uid')} = %s")
    else:
        sql = (
            f"SELECT s.{col(series, 'metadata_name')}, s.{col(series, 'metadata_size')},"
            f" s.{col(series, 'metadata_sha256')}, s.{col(series, 'id')}, s.{col(series, 'study_uid')}"
            f" FROM {q(series.db_table)} s"
        )
        if by_pk:
            sql += f" WHERE s.{col(series, 'id')} = %s"
        else:
            sql += f" WHERE s.{col(series, 'series_uid')} = %s AND s.{col(series, 'study_uid')} = %s"
    if worklist:
        sql += (
            f" AND EXISTS (SELECT 1 FROM {q(slot.db_table)} r"
            f" INNER JOIN {q(study.db_table)} st ON st.{col(study, 'id')} = r.{col(slot, 'study')}"
            f" WHERE r.{col(slot, 'reader')} = %s AND r.{col(slot, 'case')} = s.{col(series, 'case')}"
            f" AND r.{col(slot, 'round')} = %s AND st.{col(study, 'status')} = %s)"
        )
    return sql


def _reader_id(user) -> int | None:
    """Whose worklist limits the lookup: None for a coordinator (no limit)."""
    return None if is_coordinator(user) else user.pk


def _fetch_one(model, *, kind: str, reader_id: int | None, params: list[Any], round: str,
               by_pk: bool) -> tuple | None:
    alias = router.db_for_read(model)
    worklist = reader_id is not None
    if worklist:
        params = [*params, reader_id, round, Study.Status.OPEN.value]
    with connections[alias].cursor() as cursor:
        cursor.execute(_sql(alias, kind=kind, worklist=worklist, by_pk=by_pk), params)
        return cursor.fetchone()


def _round_of(series_uid: str) -> pseudonyms.ImageRef | None:
    """The series row and round a later round's Series UID names; ``None`` for a stored UID."""
    ref = pseudonyms.uid_parse(series_uid)
    return ref if ref is not None and ref.kind == "series" else None


def _instance(reader_id: int | None, study_uid: str, series_uid: str, sop_uid: str) -> StoredInstance | None:
    series_ref = _round_of(series_uid)
    if series_ref is None:
        round = Round.FIRST.value
        row = _fetch_one(Instance, kind="instance", reader_id=reader_id, params=[sop_uid, series_uid, study_uid],
                         round=round, by_pk=False)
    else:
        round = series_ref.round
        instance_ref = pseudonyms.uid_parse(sop_uid)
        if instance_ref is None or instance_ref.kind != "instance" or instance_ref.round != round:
            return None
        row = _fetch_one(Instance, kind="instance", reader_id=reader_id, params=[instance_ref.pk, series_ref.pk],
                         round=round, by_pk=True)
    if row is None:
        return None
    storage_name, size, sha256, n_frames, transfer_syntax, frames, pk, stored_sop, series_pk, stored_study = row
    if series_ref is not None and pseudonyms.round_uid(stored_study, round=round) != study_uid:
        return None
    if not isinstance(frames, str):  # a database adapter that decodes JSON itself
        frames = json.dumps(frames)
    return StoredInstance(storage_name, int(size), sha256, int(n_frames), transfer_syntax, frames,
                          int(pk), stored_sop, int(series_pk), round)


def _metadata(reader_id: int | None, study_uid: str, series_uid: str) -> StoredMetadata | None:
    series_ref = _round_of(series_uid)
    round = Round.FIRST.value if series_ref is None else series_ref.round
    params = [series_uid, study_uid] if series_ref is None else [series_ref.pk]
    row = _fetch_one(Series, kind="metadata", reader_id=reader_id, params=params, round=round,
                     by_pk=series_ref is not None)
    if row is None:
        return None
    name, size, sha256, series_pk, stored_study = row
    if series_ref is not None and pseudonyms.round_uid(stored_study, round=round) != study_uid:
        return None
    return StoredMetadata(name, int(size), sha256, int(series_pk), round)


def _may_fetch(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def instance_for(*, user, study_uid: str, series_uid: str, sop_uid: str) -> StoredInstance | None:
    """The stored instance if it exists and ``user`` may fetch it, else ``None``.

    One query: the instance, its series' UIDs, and (for a reader) a reading slot of theirs
    for the series' case in an open study.
    """
    if not _may_fetch(user):
        return None
    return _instance(_reader_id(user), study_uid, series_uid, sop_uid)


def series_metadata_for(*, user, study_uid: str, series_uid: str) -> StoredMetadata | None:
    """The series' stored metadata document if the series exists and ``user`` may fetch it."""
    if not _may_fetch(user):
        return None
    return _metadata(_reader_id(user), study_uid, series_uid)


def _for_request(request: HttpRequest, study_uid: str, series_uid: str,
                 lookup: Callable[[int | None], T | None]) -> T | None:
    key = _grant_key(request, study_uid, series_uid)
    if key is not None and _granted(key):
        return lookup(None)  # this session passed the whole check for this series moments ago
    user, from_session = _authenticate(request)
    found = lookup(_reader_id(user))
    if found is not None and key is not None and from_session:
        _grant(key)
    return found


def instance_for_request(request: HttpRequest, *, study_uid: str, series_uid: str,
                         sop_uid: str) -> StoredInstance | None:
    """The stored instance if it exists and the request's user may fetch it, else ``None``.

    Raises :class:`NotAuthenticated` when the request has no valid credentials. A session
    that was granted this series moments ago skips the authentication and worklist lookups
    (see the grants above); otherwise it authenticates the request (the session, else a
    token: :func:`_authenticate`) then calls :func:`instance_for`.
    """
    return _for_request(request, study_uid, series_uid,
                        lambda reader_id: _instance(reader_id, study_uid, series_uid, sop_uid))


def series_metadata_for_request(request: HttpRequest, *, study_uid: str,
                                series_uid: str) -> StoredMetadata | None:
    """:func:`series_metadata_for` the request's user, with the same grants as
    :func:`instance_for_request`."""
    return _for_request(request, study_uid, series_uid,
                        lambda reader_id: _metadata(reader_id, study_uid, series_uid))
