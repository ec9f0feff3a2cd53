"""Admin views of models, jobs and predictions: read-only (they are written by the
registry, the tasks and the management commands, which check what they write)."""

from django.contrib import admin

from readerstudy.core.admin import ReadOnlyAdmin
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "modality", "architecture", "short_sha256", "created_at")
    list_filter = ("modality", "architecture")
    search_fields = ("name", "version", "sha256")

    @admin.display(description="SHA-256")
    def short_sha256(self, obj: ModelVersion) -> str:
        return f"{obj.sha256[:12]}..."


@admin.register(InferenceJob)
class InferenceJobAdmin(ReadOnlyAdmin):
    list_display = ("study", "model_version", "status", "done", "failed", "total", "created_at",
                    "finished_at")
    list_filter = ("status", "study", "model_version")


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ("case", "model_version", "probability", "three_tier", "runtime_s", "created_at")
    list_filter = ("model_version", "three_tier", "case__study")
    search_fields = ("case__code",)
    # The saliency images (tens of kB of data URIs a case) are the trainees' feedback.
    exclude = ("saliency",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("saliency")
