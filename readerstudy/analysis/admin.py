from django.contrib import admin

from readerstudy.analysis.models import AnalysisExport


@admin.register(AnalysisExport)
class AnalysisExportAdmin(admin.ModelAdmin):
    """Read-only: exports are made by the job, from the API, the page or the command."""

    list_display = ["pk", "study", "status", "progress", "created_at", "finished_at",
                    "requested_by"]
    list_filter = ["status", "study"]
    readonly_fields = [f.name for f in AnalysisExport._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
