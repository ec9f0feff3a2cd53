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
from readerstudy.analysis.forms import ExportParametersForm
from readerstudy.analysis.models import AnalysisExport
from readerstudy.core.permissions import IsCoordinator, is_coordinator
from readerstudy.core.tasks import BrokerUnavailable, runs_in_process
from readerstudy.studies.models import Study
from readerstudy.web.coordinator_views import _study_context as study_page_context
from readerstudy.web.csp import strict_csp


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
    power_effect = serializers.FloatField(
        required=False, help_text="Difference of reader-averaged AUCs a future study is "
                                  "planned for in table 9 (0.05).")


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
        if not runs_in_process():
            services.exports_requeue_stale()  # a status request ends a stalled export too
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


FOLDER_NAMES = {"all": "All test sets", "internal": "Internal test set",
                "external": "External test set", "figures": "figures",
                "mrmc": "MRMC input files (iMRMC, RJafroc)"}


def _folder_label(folder: str) -> str:
    """``internal/subgroups/institution-a/figures`` as "Internal test set · subgroup
    institution-a · figures"; the top level as "The whole study"."""
    if not folder:
        return "The whole study"
    parts = [p for p in folder.split("/") if p != "subgroups"]
    words = [FOLDER_NAMES.get(part, part) for part in parts]
    if "/subgroups/" in f"/{folder}/" and len(words) > 1:
        words[1] = f"subgroup {words[1]}"
    return " · ".join(words)


def _files_by_folder(names: list[str]) -> list[dict]:
    """An export's files by folder, the top level first:
    ``[{"folder", "label", "files": [(path, file name), ...]}, ...]``."""
    folders: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        path = PurePosixPath(name)
        folder = "" if str(path.parent) == "." else str(path.parent)
        folders.setdefault(folder, []).append((name, path.name))
    return [{"folder": folder, "label": _folder_label(folder), "files": files}
            for folder, files in sorted(folders.items(), key=lambda item: (item[0] != "", item[0]))]


def _parameters_label(parameters: dict) -> str:
    """``2,000 bootstrap resamples, seed 0, 95% confidence intervals, future study planned
    for an AUC difference of 0.05``."""
    try:
        values = services.ExportParameters(**parameters)
    except TypeError:  # parameters of an older version of the export
        return ", ".join(f"{key} {value}" for key, value in parameters.items())
    return (f"{values.n_boot:,} bootstrap resamples, seed {values.seed}, "
            f"{100 * (1 - values.alpha):g}% confidence intervals, future study planned for an "
            f"AUC difference of {values.power_effect:g}")


def _export_context(export: AnalysisExport, *, open_files: bool) -> dict:
    export.download = download_url(None, export)
    return {
        "study": export.study, "export": export, "open_files": open_files,
        "parameters": _parameters_label(export.parameters),
        "folders": _files_by_folder(export.files) if export.download else [],
    }


@never_cache
@strict_csp
@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator's exports page: the parameters form, and each export with its live
    progress, its files or the reason it failed."""
    study = _coordinator_study(request, slug)
    form = ExportParametersForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            export, created = services.export_request(study=study, by=request.user,
                                                      parameters=form.parameters)
        except BrokerUnavailable as exc:
            messages.error(request, str(exc))
            return redirect("web-exports", slug=slug)
        if created:
            messages.success(request, f"Export #{export.pk} started.")
        else:
            messages.info(request, f"The data and parameters have not changed since export "
                                   f"#{export.pk}: it is reused.")
        return redirect("web-exports", slug=slug)
    exports = list(study.exports.select_related("requested_by", "study"))
    newest_done = next((e for e in exports if e.status == AnalysisExport.Status.DONE), None)
    items = [_export_context(e, open_files=e is newest_done) for e in exports]
    return render(request, "analysis/exports.html", study_page_context(study, "exports") | {
        "form": form, "items": items,
    }, status=400 if form.errors else 200)


@never_cache
@strict_csp
@login_required
@require_http_methods(["GET"])
def export_fragment(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One export as the page shows it: what the page's script polls while it runs. Each
    poll also sends again an export whose task was lost."""
    study = _coordinator_study(request, slug)
    if not runs_in_process():
        services.exports_requeue_stale()
    export = get_object_or_404(study.exports.select_related("requested_by", "study"), pk=pk)
    return render(request, "analysis/_export.html",
                  _export_context(export, open_files=True))
