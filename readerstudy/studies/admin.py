"""The Django admin for coordinators. Reads and the audit log are read-only."""

from django.contrib import admin

from readerstudy.core.admin import ReadOnlyAdmin
from readerstudy.core.models import AuditEvent
from readerstudy.studies.models import Assignment, Case, Read, ReadingSlot, ReferenceStandard, Study


class ReferenceInline(admin.StackedInline):
    model = ReferenceStandard
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "modality", "status", "washout_days", "repeat_sample_size")
    list_filter = ("modality", "status")
    prepopulated_fields = {"slug": ("title",)}
    search_fields = ("title", "slug")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.has_reads():
            return ("status", *Study.FROZEN_FIELDS)
        return ("status",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("code", "study", "source_case_id", "test_set", "vertebra_level", "institution")
    list_filter = ("study", "test_set", "institution", "scanner_vendor")
    search_fields = ("code", "source_case_id", "patient_pseudonym")
    readonly_fields = ("code",)
    inlines = [ReferenceInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("study", "reader", "created_at")
    list_filter = ("study",)


@admin.register(Read)
class ReadAdmin(ReadOnlyAdmin):
    list_display = ("case", "reader", "round", "position", "call", "confidence", "submitted_at")
    list_filter = ("study", "round", "reader")
    search_fields = ("case__code", "reader__username", "submission_id")


@admin.register(ReadingSlot)
class ReadingSlotAdmin(ReadOnlyAdmin):
    list_display = ("study", "reader", "round", "position", "case")
    list_filter = ("study", "round", "reader")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "verb", "object_type", "object_id", "study_slug")
    list_filter = ("verb", "study_slug")
