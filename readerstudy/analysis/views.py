"""Exports: the coordinator's API and page. Thin views: authenticate, validate, call a service.

Coordinators (staff) only: everything here holds ground truth and every reader's answers.
Readers get 403 (the API's deny-by-default permission; the page refuses them too).
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.analysis import services
from readerstudy.analysis.models import AnalysisExport
from readerstudy.core.permissions import IsCoordinator, is_coordinator
from readerstudy.studies.models import Study

try:  # the reading room's strict Content-Security-Policy, when the web app provides it
    from readerstudy.web.csp import strict_csp
except ImportError:  # pragma: no cover - the web app is part of the project
    def strict_csp(view):
        return view


def download_url(request, export: AnalysisExport, name: str | None = None) -> str | None:
    if export.status != AnalysisExport.Status.DONE:
        return None
    url = reverse("study-export-download", kwargs={"slug": export.study.slug, "pk": export.pk})
    if name:
        url += "?" + urlencode({"file": name})
    return request.build_absolute_uri(url) if request is not None else url


class ExportSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisExport
        fields = [
            "id", "status", "progress", "step", "fingerprint", "parameters", "data_state",
            "requested_by", "created_at", "started_at", "finished_at", "error", "files",
            "download_url",
        ]

    def get_download_url(self, export) -> str | None:
        return download_url(self.context.get("request"), export)


class ExportRequestSerializer(serializers.Serializer):
    n_boot = serializers.IntegerField(required=False, help_text="Bootstrap resamples (2000).")
    seed = serializers.IntegerField(required=False, help_text="Bootstrap seed (0).")
    alpha = serializers.FloatField(required=False, help_text="1 - confidence level (0.05).")


def get_study(slug: str) -> Study:
    """The object fetch helper of the export views (their permission already checked)."""
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        raise NotFound("No such study.")
    return study


def get_export(slug: str, pk: int) -> AnalysisExport:
    export = AnalysisExport.objects.select_related("study", "requested_by").filter(
        study__slug=slug, pk=pk).first()
    if export is None:
        raise NotFound("No such export of this study.")
    return export


class ExportListView(APIView):
    """List a study's exports (newest first) or start one."""

    permission_classes = [IsCoordinator]

    @extend_schema(responses=ExportSerializer(many=True))
    def get(self, request, slug: str):
        study = get_study(slug)
        exports = study.exports.select_related("requested_by", "study")
        return Response(ExportSerializer(exports, many=True, context={"request": request}).data)

    @extend_schema(request=ExportRequestSerializer, responses={200: ExportSerializer,
                                                               202: ExportSerializer})
    def post(self, request, slug: str):
        study = get_study(slug)
        try:
            parameters = services.ExportParameters.from_data(request.data)
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        export, created = services.export_request(study=study, by=request.user,
                                                  parameters=parameters)
        export.refresh_from_db()
        body = ExportSerializer(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ExportDetailView(APIView):
    permission_classes = [IsCoordinator]

    @extend_schema(responses=ExportSerializer)
    def get(self, request, slug: str, pk: int):
        return Response(ExportSerializer(get_export(slug, pk), context={"request": request}).data)


def _file_response(export: AnalysisExport, name: str | None, user) -> FileResponse:
    try:
        handle = services.export_file_open(export=export, name=name, by=user)
    except FileNotFoundError as exc:
        raise Http404(str(exc)) from exc
    if name:
        filename = PurePosixPath(name).name
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    else:
        filename = f"{export.study.slug}-export-{export.pk}.zip"
        content_type = "application/zip"
    response = FileResponse(handle, as_attachment=True, filename=filename,
                            content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


class ExportDownloadView(APIView):
    """The export's zip archive, or one file of it with ``?file=<path>``."""

    permission_classes = [IsCoordinator]

    @extend_schema(parameters=[OpenApiParameter("file", str, required=False)],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, slug: str, pk: int):
        export = get_export(slug, pk)
        return _file_response(export, request.query_params.get("file") or None, request.user)


def _coordinator_study(request: HttpRequest, slug: str) -> Study:
    if not is_coordinator(request.user):
        raise PermissionDenied("Only study coordinators may see exports.")
    return get_object_or_404(Study, slug=slug)


@never_cache
@strict_csp
@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator's exports page: the list with progress, and a button to run one."""
    study = _coordinator_study(request, slug)
    if request.method == "POST":
        export, created = services.export_request(study=study, by=request.user)
        if created:
            messages.success(request, f"Export #{export.pk} started.")
        else:
            messages.info(request, f"The data have not changed since export #{export.pk}: "
                                   "it is reused.")
        return redirect("web-exports", slug=slug)
    exports = list(study.exports.select_related("requested_by"))
    for export in exports:
        export.download = download_url(None, export)
    running = any(e.status in (AnalysisExport.Status.QUEUED, AnalysisExport.Status.RUNNING)
                  for e in exports)
    return render(request, "analysis/exports.html", {
        "study": study, "exports": exports, "running": running,
    })

