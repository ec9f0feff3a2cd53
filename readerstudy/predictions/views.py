"""API and coordinator pages of the model as a reader.

Coordinators (staff) see model versions, inference jobs and predictions, and start, cancel
and retry jobs. Readers never receive predictions, with one exception: trainees in a study
with AI feedback get the feedback on a case after submitting their own read of it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core.permissions import IsCoordinator, IsReader, is_coordinator
from readerstudy.core.tasks import BrokerUnavailable, runs_in_process
from readerstudy.predictions import progress, registry, selectors, services
from readerstudy.predictions.feedback import FeedbackUnavailable, feedback_for
from readerstudy.predictions.forms import InferenceStartForm
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies import selectors as study_selectors
from readerstudy.studies.api.errors import validation_error_response
from readerstudy.studies.models import Study
from readerstudy.studies.protocol import FIRST
from readerstudy.web.coordinator_views import _study_context as study_page_context
from readerstudy.web.csp import strict_csp
from readerstudy.web.progress_chart import learning_charts


class ModelVersionSerializer(serializers.ModelSerializer):
    reader = serializers.CharField(source="reader_name")
    thresholds = serializers.SerializerMethodField()
    intended_use = serializers.SerializerMethodField()
    training_data = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "reader", "name", "version", "modality", "architecture", "sha256",
                  "thresholds", "intended_use", "training_data", "created_at"]

    def get_thresholds(self, obj: ModelVersion) -> dict[str, float]:
        lower, upper = obj.thresholds
        return {"lower": lower, "upper": upper}

    def get_intended_use(self, obj: ModelVersion) -> str:
        return str(obj.card.get("intended_use", ""))

    def get_training_data(self, obj: ModelVersion) -> dict:
        return dict(obj.card.get("training_data", {}))


class InferenceJobSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.reader_name")
    created_by = serializers.CharField(source="created_by.username", default=None)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = InferenceJob
        fields = ["id", "model", "status", "total", "done", "failed", "progress", "errors",
                  "created_by", "created_at", "started_at", "finished_at", "retry_of"]

    def get_progress(self, obj: InferenceJob) -> float:
        """Share of the cases processed (predicted or failed), 0..1."""
        return (obj.processed / obj.total) if obj.total else 1.0


class PredictionSerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="case.code")
    reader = serializers.CharField(source="model_version.reader_name")
    call = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = ["case", "reader", "probability", "call", "three_tier", "runtime_s", "created_at"]

    def get_call(self, obj: Prediction) -> str:
        return selectors.call_for(obj.probability, obj.model_version.card)


class InferenceStartSerializer(serializers.Serializer):
    model = serializers.CharField(
        required=False, help_text='"name@version" of a registered model; default: the newest '
        "model of the study's modality.",
    )


def _model_by_reference(reference: str) -> ModelVersion:
    name, _, version = reference.removeprefix("model:").partition("@")
    model_version = ModelVersion.objects.filter(name=name, version=version).first()
    if model_version is None:
        raise ValidationError({"model": [f"No registered model {reference!r} (use name@version)."]})
    return model_version


class InferenceView(APIView):
    """``GET``: the study's inference jobs with progress, and the models that can read it.
    ``POST``: start a job (or join the one running for the same model)."""

    permission_classes = [IsCoordinator]

    @extend_schema(responses=inline_serializer("InferenceOverview", {
        "jobs": InferenceJobSerializer(many=True), "model_versions": ModelVersionSerializer(many=True),
    }))
    def get(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        if not runs_in_process():
            services.inference_jobs_requeue_stale()  # a status request ends stalled jobs too
        return Response({
            "jobs": InferenceJobSerializer(selectors.jobs_for(study=study), many=True).data,
            "model_versions": ModelVersionSerializer(registry.model_versions_for(study=study), many=True).data,
        })

    @extend_schema(request=InferenceStartSerializer,
                   responses={202: InferenceJobSerializer, 200: InferenceJobSerializer})
    def post(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        shape = InferenceStartSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        try:
            reference = shape.validated_data.get("model")
            model_version = _model_by_reference(reference) if reference else None
            job, created = services.inference_job_start(
                study=study, model_version=model_version, by=request.user
            )
        except ValidationError as exc:
            return validation_error_response(exc)
        job.refresh_from_db()  # eager mode (no broker) has run it already
        return Response(InferenceJobSerializer(job).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


def _study_job(slug: str, pk: int) -> InferenceJob:
    """The object fetch helper of the job views (their permission already checked)."""
    return get_object_or_404(selectors.jobs_for(study=get_object_or_404(Study, slug=slug)), pk=pk)


class InferenceCancelView(APIView):
    """``POST``: cancel a queued or running job; a job that has ended is returned as it is."""

    permission_classes = [IsCoordinator]

    @extend_schema(request=None, responses=InferenceJobSerializer)
    def post(self, request, slug: str, pk: int):
        job = _study_job(slug, pk)
        services.inference_job_cancel(job=job, by=request.user)
        return Response(InferenceJobSerializer(job).data)


class InferenceRetryView(APIView):
    """``POST``: a new job of a failed or cancelled job's model, for the cases without its
    prediction (202), or the job of that model already under way (200)."""

    permission_classes = [IsCoordinator]

    @extend_schema(request=None, responses={202: InferenceJobSerializer, 200: InferenceJobSerializer})
    def post(self, request, slug: str, pk: int):
        try:
            job, created = services.inference_job_retry(job=_study_job(slug, pk), by=request.user)
        except ValidationError as exc:
            return validation_error_response(exc)
        job.refresh_from_db()  # eager mode (no broker) has run it already
        return Response(InferenceJobSerializer(job).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class PredictionsView(APIView):
    """The model's predictions on the study's reading cases (coordinators only)."""

    permission_classes = [IsCoordinator]

    @extend_schema(responses=PredictionSerializer(many=True))
    def get(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        return Response(PredictionSerializer(selectors.predictions_for(study=study), many=True).data)


class FeedbackView(APIView):
    """What the reader is shown of the model and the truth on one case: decided for each request
    by the study's mode and the reader's locked reads (``feedback.revealed_for``); 404 otherwise."""

    permission_classes = [IsReader]

    @extend_schema(
        parameters=[OpenApiParameter("round", str, description="The round whose case code is given (default first).")],
        responses=inline_serializer("Reveal", {
            "case": serializers.CharField(), "mode": serializers.CharField(),
            "shown": serializers.ListField(child=serializers.CharField()),
            "your_reads": serializers.DictField(),
            "reference": serializers.DictField(allow_null=True), "model": serializers.DictField(allow_null=True),
            "model_pending": serializers.BooleanField(),
            "saliency": serializers.DictField(allow_null=True), "features": serializers.DictField(allow_null=True),
            "aided": serializers.DictField(allow_null=True),
        }))
    def get(self, request, slug: str, code: str):
        round = str(request.query_params.get("round", FIRST))
        try:
            return Response(feedback_for(reader=request.user, slug=slug, code=code, round=round))
        except FeedbackUnavailable:
            raise NotFound("No feedback for this case.") from None


# --------------------------------------------------------------------------- the model page
# Django pages for coordinators, through the same services as the API and run_inference.


def _coordinator_study(request: HttpRequest, slug: str) -> Study:
    if not is_coordinator(request.user):
        raise PermissionDenied("Only study coordinators may run the model.")
    return get_object_or_404(Study, slug=slug)


def _label(model_version: ModelVersion) -> str:
    return f"{model_version.name} version {model_version.version}"


def _job_of(study: Study, pk: int) -> InferenceJob:
    return get_object_or_404(selectors.jobs_for(study=study), pk=pk)


def _with_retry(study: Study, jobs: list[InferenceJob]) -> list[InferenceJob]:
    """Set ``job.retry_cases`` on each job: how many cases a retry would read. A retry is
    offered for the newest run of a model when it failed or was cancelled and cases still
    lack that model's prediction; 0 otherwise."""
    newest = selectors.newest_job_pks(study=study)
    for job in jobs:
        job.retry_cases = 0
        if job.pk in newest and job.status in InferenceJob.RETRYABLE:
            job.retry_cases = selectors.unpredicted_count(study=study,
                                                          model_version=job.model_version)
    return jobs


def _page(request: HttpRequest, study: Study, form: InferenceStartForm, *,
          status: int = 200) -> HttpResponse:
    models = list(registry.model_versions_for(study=study))
    for model_version in models:
        model_version.lower, model_version.upper = model_version.thresholds
        model_version.decision = model_version.card.get("decision_threshold",
                                                        selectors.DECISION_THRESHOLD)
        # As percentages to one decimal, as the reading room's reveal shows them ("81.4%"):
        # two decimals of a probability (0.81) read as a different cut-off.
        model_version.percent = {name: f"{100 * float(getattr(model_version, name)):.1f}%"
                                 for name in ("lower", "upper", "decision")}
    return render(request, "predictions/inference.html", study_page_context(study, "model") | {
        "form": form, "model_versions": models,
        "jobs": _with_retry(study, list(selectors.jobs_for(study=study))),
        "reading_cases": selectors.reading_cases(study).count(),
    }, status=status)


@never_cache
@strict_csp
@login_required
@require_http_methods(["GET", "POST"])
def inference_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator's model page: the registered models, a form to run one over the
    study, and each run with its live progress, cancel and retry."""
    study = _coordinator_study(request, slug)
    form = InferenceStartForm(request.POST if request.method == "POST" else None, study=study)
    if request.method == "POST" and form.is_valid():
        try:
            job, created = services.inference_job_start(
                study=study, model_version=form.cleaned_data["model_version"], by=request.user)
        except ValidationError as exc:
            form.add_error("model_version", exc)
        except BrokerUnavailable as exc:
            messages.error(request, f"{exc} (The run is listed as failed.)")
            return redirect("web-inference", slug=slug)
        else:
            if created:
                messages.success(request, f"Run #{job.pk} of {_label(job.model_version)} started.")
            else:
                messages.info(request, f"Run #{job.pk} of {_label(job.model_version)} is already "
                                       "under way: follow it below.")
            return redirect("web-inference", slug=slug)
    return _page(request, study, form, status=400 if form.errors else 200)


@never_cache
@strict_csp
@login_required
@require_http_methods(["POST"])
def inference_job_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    study = _coordinator_study(request, slug)
    job = _job_of(study, pk)
    if services.inference_job_cancel(job=job, by=request.user):
        messages.success(request, f"Run #{job.pk} cancelled after {job.processed} of "
                                  f"{job.total} cases; the predictions made are kept.")
    else:
        messages.info(request, f"Run #{job.pk} had already ended ({job.get_status_display()}).")
    return redirect("web-inference", slug=slug)


@never_cache
@strict_csp
@login_required
@require_http_methods(["POST"])
def inference_job_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    study = _coordinator_study(request, slug)
    job = _job_of(study, pk)
    try:
        new, created = services.inference_job_retry(job=job, by=request.user)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    except BrokerUnavailable as exc:
        messages.error(request, str(exc))
    else:
        if created:
            messages.success(request, f"Run #{new.pk} retries run #{job.pk}: it reads the "
                                      f"{new.total - new.done} cases without a prediction.")
        else:
            messages.info(request, f"Run #{new.pk} of the same model is already under way.")
    return redirect("web-inference", slug=slug)


@never_cache
@strict_csp
@login_required
@require_http_methods(["GET"])
def inference_job_row(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One run as the page's table shows it: what the page's script polls while it runs.
    Each poll also re-queues a run that stopped moving (its tasks were lost)."""
    study = _coordinator_study(request, slug)
    if not runs_in_process():
        services.inference_jobs_requeue_stale()
    job = _with_retry(study, [_job_of(study, pk)])[0]
    return render(request, "predictions/_job_row.html", {"study": study, "job": job})


# --------------------------------------------------------------------------- the trainee's page


@never_cache
@strict_csp
@login_required
def trainee_progress_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A trainee's progress in a teaching study (``predictions.progress``); 404 for anyone else."""
    study = study_selectors.study_for_reader(reader=request.user, slug=slug)
    try:
        if study is None:
            raise progress.ProgressUnavailable
        content = progress.trainee_progress(study=study, reader=request.user)
    except progress.ProgressUnavailable:
        return render(request, "web/case_unavailable.html", {
            "title": "No progress page", "message": "Progress pages are for trainees in teaching studies."},
            status=404)
    return render(request, "predictions/progress.html", {
        "study": study, "progress": content, "charts": learning_charts(content),
    })
