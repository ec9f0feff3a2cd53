"""DICOMweb (WADO-RS, WADO-URI) serving of de-identified images, and the import endpoint.

Every image view starts with the same fetch helper: the object if it exists and the user
may see it (a coordinator; a reader with the case in their worklist of an open study),
else 404, whether it exists or not. Files are streamed from the ``dicom`` storage, never
read whole into memory, and carry no ``Content-Disposition`` (a file name can unblind).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core.permissions import IsCoordinator, IsReader
from readerstudy.imaging import selectors, storage
from readerstudy.imaging.importer import import_study_zip
from readerstudy.imaging.models import Instance, Series
from readerstudy.imaging.pixels import frame_media_type
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Study

CHUNK_SIZE = 256 * 1024
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"


class _AnyAccept(BaseContentNegotiation):
    """DICOMweb clients send multipart Accept headers no DRF renderer names: answer anyway
    (errors as JSON, images as the stored representation)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _DicomWebView(APIView):
    permission_classes = [IsReader]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AnyAccept


def _not_found() -> Http404:
    return Http404("No such image, or not in your worklist.")


def _instance(request, study_uid: str, series_uid: str, sop_uid: str) -> Instance:
    instance = selectors.instance_for_user(user=request.user, study_uid=study_uid,
                                           series_uid=series_uid, sop_uid=sop_uid)
    if instance is None:
        raise _not_found()
    return instance


def _matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag in tags or etag in [t.removeprefix("W/") for t in tags]


def _headers(response: HttpResponse, *, etag: str, content_type: str | None = None,
             length: int | None = None) -> HttpResponse:
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


def _read_ranges(name: str, ranges: Iterable[tuple[int, int]]) -> Iterator[bytes]:
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


def _stream_file(name: str, *, content_type: str, etag: str, size: int) -> FileResponse:
    response = FileResponse(storage.dicom_storage().open(name, "rb"), content_type=content_type)
    response.block_size = CHUNK_SIZE
    _headers(response, etag=etag, content_type=content_type, length=size)
    return response


def _multipart(parts: list[tuple[str, Iterable[tuple[int, int]], int]], *, name: str, boundary: str,
               type_: str, etag: str) -> StreamingHttpResponse:
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

    response = StreamingHttpResponse(body())
    return _headers(response, etag=etag, length=length,
                    content_type=f'multipart/related; type="{type_}"; boundary={boundary}')


class SeriesMetadataView(_DicomWebView):
    """WADO-RS series metadata: the DICOM JSON model of every instance, without pixel data."""

    @extend_schema(exclude=True)
    def get(self, request, study_uid: str, series_uid: str):
        series: Series | None = selectors.series_for_user(user=request.user, study_uid=study_uid,
                                                          series_uid=series_uid)
        if series is None:
            raise _not_found()
        etag = quote_etag(series.metadata_sha256)
        if _matches(request, etag):
            return _not_modified(etag)
        return _stream_file(series.metadata_name, content_type=DICOM_JSON, etag=etag, size=series.metadata_size)


class InstanceView(_DicomWebView):
    """WADO-RS instance: the stored file as ``multipart/related; type="application/dicom"``."""

    @extend_schema(exclude=True)
    def get(self, request, study_uid: str, series_uid: str, sop_uid: str):
        instance = _instance(request, study_uid, series_uid, sop_uid)
        etag = quote_etag(f"{instance.sha256}.instance")
        if _matches(request, etag):
            return _not_modified(etag)
        return _multipart([(DICOM, [(0, instance.size)], instance.size)], name=instance.storage_name,
                          boundary=f"dicom-{instance.sha256[:32]}", type_=DICOM, etag=etag)


def _frame_numbers(raw: str, count: int) -> list[int]:
    try:
        numbers = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= n <= count for n in numbers):
        raise Http404(f"Frames are numbered 1 to {count}.")
    return numbers


class FramesView(_DicomWebView):
    """WADO-RS frames: each frame's pixel data as stored (native bytes, or the compressed
    frame with its media type and transfer syntax), in a multipart/related body."""

    @extend_schema(exclude=True)
    def get(self, request, study_uid: str, series_uid: str, sop_uid: str, frames: str):
        instance = _instance(request, study_uid, series_uid, sop_uid)
        numbers = _frame_numbers(frames, instance.number_of_frames)
        etag = quote_etag(f"{instance.sha256}.frames-{'-'.join(map(str, numbers))}")
        if _matches(request, etag):
            return _not_modified(etag)
        part_type = frame_media_type(instance.transfer_syntax_uid)
        parts = []
        for n in numbers:
            offset, length = instance.frames[n - 1]
            parts.append((part_type, [(offset, length)], length))
        return _multipart(parts, name=instance.storage_name, boundary=f"frame-{instance.sha256[:32]}",
                          type_=part_type.split(";")[0], etag=etag)


class WadoUriView(_DicomWebView):
    """WADO-URI (PS3.18 chapter 9): ``?requestType=WADO&studyUID=&seriesUID=&objectUID=``,
    answered with the stored file as ``application/dicom`` (the transfer syntax as stored)."""

    @extend_schema(exclude=True)
    def get(self, request):
        params = request.query_params
        if params.get("requestType") != "WADO":
            return Response({"detail": "requestType must be WADO."}, status=status.HTTP_400_BAD_REQUEST)
        missing = [k for k in ("studyUID", "seriesUID", "objectUID") if not params.get(k)]
        if missing:
            return Response({"detail": f"Missing parameter(s): {', '.join(missing)}."},
                            status=status.HTTP_400_BAD_REQUEST)
        content_type = params.get("contentType", DICOM)
        if content_type.split(";")[0].strip() != DICOM:
            return Response({"detail": "Only contentType=application/dicom is served."},
                            status=status.HTTP_406_NOT_ACCEPTABLE)
        instance = _instance(request, params["studyUID"], params["seriesUID"], params["objectUID"])
        etag = quote_etag(instance.sha256)
        if _matches(request, etag):
            return _not_modified(etag)
        return _stream_file(instance.storage_name, content_type=DICOM, etag=etag, size=instance.size)


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
