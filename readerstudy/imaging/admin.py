"""Admin: stored series and instances are read-only (they come from an import)."""

from django.contrib import admin

from readerstudy.imaging.models import Instance, Series, VertebraLocation


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Series)
class SeriesAdmin(_ReadOnly):
    list_display = ["case", "role", "modality", "number_of_instances", "rows", "columns", "derived"]
    list_filter = ["role", "modality", "derived", "case__study"]
    search_fields = ["case__code", "series_uid"]


@admin.register(Instance)
class InstanceAdmin(_ReadOnly):
    list_display = ["series", "instance_number", "position", "number_of_frames", "transfer_syntax_uid", "size"]
    search_fields = ["sop_uid", "series__case__code"]


@admin.register(VertebraLocation)
class VertebraLocationAdmin(admin.ModelAdmin):
    list_display = ["case", "center_x", "center_y", "center_z"]
    search_fields = ["case__code"]
