"""Admin: stored series and instances are read-only (they come from an import, with their files;
deleting a row here would leave its file behind). A vertebra location can be corrected."""

from django.contrib import admin

from readerstudy.core.admin import ReadOnlyAdmin
from readerstudy.imaging.models import Instance, Series, VertebraLocation


@admin.register(Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = ["case", "role", "modality", "number_of_instances", "rows", "columns", "derived"]
    list_filter = ["role", "modality", "derived", "case__study"]
    search_fields = ["case__code", "series_uid"]


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = ["series", "instance_number", "position", "number_of_frames", "transfer_syntax_uid", "size"]
    search_fields = ["sop_uid", "series__case__code"]


@admin.register(VertebraLocation)
class VertebraLocationAdmin(admin.ModelAdmin):
    list_display = ["case", "center_x", "center_y", "center_z"]
    search_fields = ["case__code"]
    readonly_fields = ["case"]

    def has_add_permission(self, request):
        return False  # created by the import, from the manifest

    def has_delete_permission(self, request, obj=None):
        return False
