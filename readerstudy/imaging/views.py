"""DICOMweb (WADO-RS, WADO-URI) serving of de-identified images, and the import endpoint.

The image views run once per frame the viewer loads, so they are plain Django views rather
than DRF ones: the session comes from Django's middleware, token authentication is tried
only when there is no session, one SQL query both finds the image and checks the reader's
worklist, and a session that just passed that check for a series skips it for a few
seconds (:mod:`readerstudy.imaging.access`). A refused image and a missing one get the
same 404. Errors are JSON ``{"detail": ...}`` as from the rest of the API.

Nothing carries a ``Content-Disposition`` (a file name can unblind). Series metadata and
whole instances (WADO-RS instance, WADO-URI) are rebuilt for every request from an
allow-list of what display needs, with the UIDs of the round the request names and a zero
preamble (:mod:`readerstudy.imaging.blinding`); an ETag never repeats across rounds. Frames
are the stored pixel bytes, streamed from the ``dicom`` storage, never read whole into
memory; a frame list is bounded (:func:`_frame_numbers`).

A single frame asked for with its bare media type in ``Accept`` (``application/octet-stream``
for native pixels, ``image/jls`` etc. or ``image/*`` for compressed ones; PS3.18's single-part
payload) goes out as that byte range of the stored file alone, as a ``FileResponse`` that the
WSGI server sends with ``sendfile``; the viewer asks for frames this way. Without such an ``Accept`` a frame comes as
``multipart/related``, the WADO-RS default.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import wraps
from typing import IO, TypeVar, cast

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseNotModified,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core.permissions import IsCoordinator
from readerstudy.imaging import access, blinding, selectors, storage
from readerstudy.imaging.importer import import_study_zip
from readerstudy.imaging.pixels import frame_media_type
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Study

CHUNK_SIZE = 256 * 1024
IN_MEMORY_BODY = 4 * 1024 * 1024
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
NOT_FOUND = "No such image, or not in your worklist."
# _headers() returns the response it was given, whichever kind.
AnyResponse = TypeVar("AnyResponse", bound=HttpResponseBase)
# A frame may be asked for again in one request (a client retrying a part), this many times.
MAX_FRAME_REPEATS = 2


def _error(detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status_code)


class BadFrameList(Exception):
    """A frame list out of proportion to the instance: refused before anything is read."""


def dicomweb_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """GET (and HEAD) only; no valid credentials: 403 (as DRF's session authentication
    answers); ``Http404``: a JSON 404; a frame list too long: a JSON 400."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        try:
            return view(request, *args, **kwargs)
        except access.NotAuthenticated as exc:
            return _error(exc.detail, status.HTTP_403_FORBIDDEN)
        except Http404 as exc:
            return _error(str(exc) or NOT_FOUND, status.HTTP_404_NOT_FOUND)
        except BadFrameList as exc:
            return _error(str(exc), status.HTTP_400_BAD_REQUEST)

    return wrapped


def _round_etag(*parts: object) -> str:
    """An ETag from the stored content and the UIDs the request named: the same image in two
    rounds has two ETags, so that a cache entry cannot link them."""
    return quote_etag(hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:40])


def _instance(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> access.StoredInstance:
    instance = access.instance_for_request(request, study_uid=study_uid, series_uid=series_uid,
                                           sop_uid=sop_uid)
    if instance is None:
        raise Http404(NOT_FOUND)
    return instance


def _matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag in tags or etag in [t.removeprefix("W/") for t in tags]


def _headers(response: AnyResponse, *, etag: str, content_type: str | None = None,
             length: int | None = None) -> AnyResponse:
    if content_type is not None:
        response["Content-Type"] = content_type
    if length is not None:
        response["Content-Length"] = str(length)
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["X-Content-Type-Options"] = "nosniff"
    if "Content-Disposition" in response:
        del response["Content-Disposition"]
    return response


def _not_modified(etag: str) -> HttpResponse:
    return _headers(HttpResponseNotModified(), etag=etag)


class _ByteRange:
    """``length`` bytes of an open stored file from ``offset``, as a read-only file object.

    gunicorn sends it with ``sendfile()``: from the file's current position, as many bytes as
    the response's ``Content-Length``. A server without ``sendfile`` (or a storage without a
    file descriptor) calls ``read()``, which stops at the end of the range. It has no
    ``tell()``, so ``FileResponse`` leaves the length to the caller.
    """

    mode = "rb"

    def __init__(self, handle: IO[bytes], offset: int, length: int) -> None:
        handle.seek(offset)
        self._handle, self._remaining, self._name = handle, length, getattr(handle, "name", "?")

    def fileno(self) -> int:
        return self._handle.fileno()

    def read(self, size: int | None = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._handle.read(size)
        if not data:
            raise OSError(f"stored file {self._name} is shorter than its frame index")
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _read_ranges(name: str, ranges: Iterable[Sequence[int]]) -> Iterator[bytes]:
    with selectors.open_instance(name) as handle:
        for offset, length in ranges:
            handle.seek(offset)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise OSError(f"stored file {name} is shorter than its frame index")
                remaining -= len(chunk)
                yield chunk


def _built(body: bytes, *, content_type: str, etag: str) -> HttpResponse:
    return _headers(HttpResponse(body, content_type=content_type), etag=etag, content_type=content_type,
                    length=len(body))


def _round_uids(stored: access.StoredInstance | access.StoredMetadata, *,
                instance: access.StoredInstance | None = None) -> blinding.RoundUids:
    uids = blinding.RoundUids(round=stored.round, series_pk=stored.series_pk)
    if instance is not None:
        uids.instances = {instance.sop_uid: instance.pk}
    elif not blinding.pseudonyms.is_first(stored.round):
        uids.instances = selectors.instance_pks_by_sop_uid(stored.series_pk)
    return uids


def _display_instance(stored: access.StoredInstance) -> bytes:
    with selectors.open_instance(stored.storage_name) as handle:
        return blinding.display_file(handle, _round_uids(stored, instance=stored))


def _multipart(parts: Sequence[tuple[str, Iterable[Sequence[int]], int]], *, name: str, boundary: str,
               type_: str, etag: str) -> HttpResponseBase:
    """A multipart/related body of byte ranges of one stored file: ``[(part type, ranges, length)]``."""
    heads = [f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode() for part_type, _r, _l in parts]
    tail = f"\r\n--{boundary}--\r\n".encode()
    separator = b"\r\n"
    length = sum(len(h) + n for h, (_t, _r, n) in zip(heads, parts, strict=True)) + len(tail) + len(separator) * (len(parts) - 1)

    def body() -> Iterator[bytes]:
        for i, (head, (_t, ranges, _n)) in enumerate(zip(heads, parts, strict=True)):
            if i:
                yield separator
            yield head
            yield from _read_ranges(name, ranges)
        yield tail

    # A single frame or slice goes out in one write (the usual request); a large body of many
    # frames is streamed so that it is never whole in memory.
    response: HttpResponseBase = (HttpResponse(b"".join(body())) if length <= IN_MEMORY_BODY
                                  else StreamingHttpResponse(body()))
    return _headers(response, etag=etag, length=length,
                    content_type=f'multipart/related; type="{type_}"; boundary={boundary}')


@dicomweb_view
def series_metadata(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """WADO-RS series metadata: the DICOM JSON model of every instance, without pixel data,
    cut to the display allow-list, with the round's UIDs."""
    metadata = access.series_metadata_for_request(request, study_uid=study_uid, series_uid=series_uid)
    if metadata is None:
        raise Http404(NOT_FOUND)
    etag = _round_etag(metadata.sha256, blinding.DISPLAY_KEYWORDS_VERSION, study_uid, series_uid)
    if _matches(request, etag):
        return _not_modified(etag)
    with storage.dicom_storage().open(metadata.storage_name, "rb") as handle:
        items = json.load(handle)
    body = blinding.display_metadata(items, _round_uids(metadata))
    return _built(body, content_type=DICOM_JSON, etag=etag)


@dicomweb_view
def instance(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> HttpResponse:
    """WADO-RS instance: the stored file rebuilt from the display allow-list, with the round's
    UIDs, as ``multipart/related; type="application/dicom"``."""
    stored = _instance(request, study_uid, series_uid, sop_uid)
    etag = _round_etag(stored.sha256, blinding.DISPLAY_KEYWORDS_VERSION, "instance", study_uid, series_uid, sop_uid)
    if _matches(request, etag):
        return _not_modified(etag)
    data = _display_instance(stored)
    boundary = f"dicom-{etag.strip(chr(34))[:32]}"
    body = f"--{boundary}\r\nContent-Type: {DICOM}\r\n\r\n".encode() + data + f"\r\n--{boundary}--\r\n".encode()
    response = HttpResponse(body)
    return _headers(response, etag=etag, length=len(body),
                    content_type=f'multipart/related; type="{DICOM}"; boundary={boundary}')


def _wants_single_part(request: HttpRequest, media_type: str) -> bool:
    """Whether ``Accept`` prefers the frame's bare media type (single part) to multipart.

    ``media_type`` is the frame's, with its ``transfer-syntax`` parameter. Ranges are taken in
    the client's order of preference (quality, then specificity); a multipart range or
    ``*/*`` reached first keeps the multipart default. A single-part range matches on its
    type (``image/*`` matches ``image/jls``) and on ``transfer-syntax`` when it names one.
    """
    base, _, parameter = media_type.partition(";")
    main, sub = base.strip().split("/")
    syntax = parameter.partition("=")[2].strip()
    for accepted in request.accepted_types:
        if accepted.main_type in ("multipart", "*"):
            return False
        # django-stubs types MediaType.params as bytes (Django < 5); Django 5 parses them as str.
        params = cast(dict[str, str], accepted.params)
        wanted_syntax = params.get("transfer-syntax", "*").strip('"')
        if accepted.main_type == main and accepted.sub_type in (sub, "*") and wanted_syntax in ("*", syntax):
            return True
    return False


def _frame_numbers(raw: str, count: int) -> list[int]:
    """The frame numbers of ``frames/1,2,...``: each 1 to ``count``; no frame more than
    ``MAX_FRAME_REPEATS`` times, so a list asks for at most that many times the instance.

    Checked on the text before it is parsed: without a bound a few kilobytes of URL
    (``1,1,1,...``) made a response of hundreds of MB.
    """
    if raw.count(",") >= count * MAX_FRAME_REPEATS:
        raise BadFrameList(f"Too many frames in one request: this instance has {count}, and a frame may be "
                           f"asked for at most {MAX_FRAME_REPEATS} times.")
    try:
        numbers = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= n <= count for n in numbers):
        raise Http404(f"Frames are numbered 1 to {count}.")
    if max(Counter(numbers).values()) > MAX_FRAME_REPEATS:
        raise BadFrameList(f"A frame may be asked for at most {MAX_FRAME_REPEATS} times in one request.")
    return numbers


@dicomweb_view
def instance_frames(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str,
                    frames: str) -> HttpResponseBase:
    """WADO-RS frames: each frame's pixel data as stored (native bytes, or the compressed
    frame with its media type and transfer syntax), in a multipart/related body; one frame
    asked for by its bare media type, alone (see the module docstring)."""
    stored = _instance(request, study_uid, series_uid, sop_uid)
    numbers = _frame_numbers(frames, stored.number_of_frames)
    part_type = frame_media_type(stored.transfer_syntax_uid)
    single = len(numbers) == 1 and _wants_single_part(request, part_type)
    etag = _round_etag(stored.sha256, "frame" if single else "frames", frames, study_uid, series_uid, sop_uid)
    response: HttpResponseBase
    if _matches(request, etag):
        response = _not_modified(etag)
    elif single:
        offset, length = stored.frames[numbers[0] - 1]
        frame = _ByteRange(selectors.open_instance(stored.storage_name), offset, length)
        file_response = FileResponse(frame, content_type=part_type)
        file_response.block_size = CHUNK_SIZE
        response = _headers(file_response, etag=etag, content_type=part_type, length=length)
    else:
        index = stored.frames
        parts = [(part_type, [index[n - 1]], index[n - 1][1]) for n in numbers]
        response = _multipart(parts, name=stored.storage_name, boundary=f"frame-{etag.strip(chr(34))[:32]}",
                              type_=part_type.split(";")[0], etag=etag)
    patch_vary_headers(response, ["Accept"])  # single or multipart follows Accept
    return response


@dicomweb_view
def wado_uri(request: HttpRequest) -> HttpResponse:
    """WADO-URI (PS3.18 chapter 9): ``?requestType=WADO&studyUID=&seriesUID=&objectUID=``,
    answered with the stored file rebuilt from the display allow-list with the round's UIDs,
    as ``application/dicom`` (the transfer syntax as stored)."""
    params = request.GET
    if params.get("requestType") != "WADO":
        return _error("requestType must be WADO.", status.HTTP_400_BAD_REQUEST)
    missing = [k for k in ("studyUID", "seriesUID", "objectUID") if not params.get(k)]
    if missing:
        return _error(f"Missing parameter(s): {', '.join(missing)}.", status.HTTP_400_BAD_REQUEST)
    content_type = params.get("contentType", DICOM)
    if content_type.split(";")[0].strip() != DICOM:
        return _error("Only contentType=application/dicom is served.", status.HTTP_406_NOT_ACCEPTABLE)
    stored = _instance(request, params["studyUID"], params["seriesUID"], params["objectUID"])
    etag = _round_etag(stored.sha256, blinding.DISPLAY_KEYWORDS_VERSION, "wado-uri", params["studyUID"],
                       params["seriesUID"], params["objectUID"])
    if _matches(request, etag):
        return _not_modified(etag)
    return _built(_display_instance(stored), content_type=DICOM, etag=etag)


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class StudyImportView(APIView):
    """Import cases into a draft study from a zip of ``manifest.csv`` and the DICOM tree."""

    permission_classes = [IsCoordinator]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=inline_serializer("StudyImport", {
            "file": serializers.FileField(help_text="A zip holding manifest.csv and the DICOM folders it names."),
            "allow_burned_in": serializers.BooleanField(required=False),
            "keep_originals": serializers.BooleanField(required=False),
        }),
        responses={201: inline_serializer("StudyImportResult", {
            "cases": serializers.ListField(child=serializers.CharField()),
            "series": serializers.IntegerField(), "instances": serializers.IntegerField(),
        })},
        parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)],
    )
    def post(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"detail": "Upload a zip file in the 'file' field.",
                             "problems": [{"file": "file", "reason": "missing"}]},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            result = import_study_zip(
                study=study, upload=upload, by=request.user,
                allow_burned_in=_flag(request.data.get("allow_burned_in", "")),
                keep_originals=_flag(request.data.get("keep_originals", "")),
            )
        except ImportRefused as exc:
            return Response({"detail": f"Nothing was imported: {len(exc.problems)} problem(s).",
                             "problems": [p.as_dict() for p in exc.problems]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"cases": result.case_codes, "series": result.n_series, "instances": result.n_instances},
                        status=status.HTTP_201_CREATED)
