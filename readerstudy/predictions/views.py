"""API of the model as a reader.

Coordinators (staff) see model versions, inference jobs and predictions and start jobs.
Readers never receive predictions, with one exception: trainees in a study with AI
feedback get the feedback on a case after submitting their own read of it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core.permissions import IsCoordinator, IsReader
from readerstudy.predictions import selectors, services
from readerstudy.predictions.feedback import FeedbackUnavailable, feedback_for
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies.api.errors import validation_error_response
from readerstudy.studies.models import Study


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
                  "created_by", "created_at", "started_at", "finished_at"]

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
        return Response({
            "jobs": InferenceJobSerializer(selectors.jobs_for(study=study), many=True).data,
            "model_versions": ModelVersionSerializer(selectors.model_versions_for(study=study), many=True).data,
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


class PredictionsView(APIView):
    """The model's predictions on the study's reading cases (coordinators only)."""

    permission_classes = [IsCoordinator]

    @extend_schema(responses=PredictionSerializer(many=True))
    def get(self, request, slug: str):
        study = get_object_or_404(Study, slug=slug)
        return Response(PredictionSerializer(selectors.predictions_for(study=study), many=True).data)


class FeedbackView(APIView):
    """A trainee's AI feedback on one case, after their own read (404 otherwise)."""

    permission_classes = [IsReader]

    @extend_schema(responses=inline_serializer("TraineeFeedback", {
        "case": serializers.CharField(), "your_read": serializers.DictField(),
        "reference": serializers.DictField(allow_null=True), "model": serializers.DictField(allow_null=True),
        "saliency": serializers.DictField(allow_null=True),
    }))
    def get(self, request, slug: str, code: str):
        try:
            return Response(feedback_for(reader=request.user, slug=slug, code=code))
        except FeedbackUnavailable:
            raise NotFound("No feedback for this case.") from None
