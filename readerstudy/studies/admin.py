"""The Django admin for coordinators. Every write goes through the services the coordinator's
pages and the API call: study settings through ``study_save``, opening and closing through
``study_open`` / ``study_close``, assignments through ``assignment_create`` (which draws the
reader's orders in an open study) and ``assignment_remove``, a case's fields and its reference
standard through ``case_save``, ``case_delete``, ``reference_set`` and ``reference_remove``.
Reads, slots and the audit log are read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from readerstudy.core.admin import ReadOnlyAdmin
from readerstudy.core.models import AuditEvent
from readerstudy.studies import services
from readerstudy.studies.models import Assignment, Case, Read, ReadingSlot, ReferenceStandard, Study


class ReferenceInline(admin.StackedInline):
    """Saved by ``CaseAdmin.save_formset`` through the services, never by the formset itself."""

    model = ReferenceStandard
    extra = 0


def _each(modeladmin, request, queryset, change, done: str) -> None:
    """Run a service on each selected study; one message per study that refused."""
    ok = 0
    for study in queryset:
        try:
            change(study=study, by=request.user)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{study.slug}: {' '.join(exc.messages)}", messages.ERROR)
        else:
            ok += 1
    if ok:
        modeladmin.message_user(request, f"{done}: {ok} stud{'y' if ok == 1 else 'ies'}.", messages.SUCCESS)


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "modality", "status", "washout_days", "repeat_sample_size")
    list_filter = ("modality", "status")
    prepopulated_fields = {"slug": ("title",)}
    search_fields = ("title", "slug")
    actions = ["open_studies", "close_studies"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["status", "created_at", "created_by"]
        if obj is not None and obj.status != Study.Status.DRAFT:
            readonly.append("slug")
        if obj is not None and obj.has_reads():
            readonly.extend(Study.FROZEN_FIELDS)
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if "slug" in self.get_readonly_fields(request, obj) else self.prepopulated_fields

    def save_model(self, request, obj, form, change):
        services.study_save(study=obj, by=request.user)

    @admin.action(description="Open selected studies (draw each reader's orders)")
    def open_studies(self, request, queryset):
        _each(self, request, queryset, services.study_open, "Opened")

    @admin.action(description="Close selected studies (no more reads; cannot be reopened)")
    def close_studies(self, request, queryset):
        _each(self, request, queryset, services.study_close, "Closed")


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases come from an import (with their images); here their reference standard and
    descriptive fields can be corrected."""

    list_display = ("code", "study", "source_case_id", "test_set", "vertebra_level", "institution")
    list_filter = ("study", "test_set", "institution", "scanner_vendor")
    search_fields = ("code", "source_case_id", "patient_pseudonym")
    # Which cases are read, and by whom in which order, follows from these: fixed after import.
    readonly_fields = ("code", "study", "source_case_id", "patient_pseudonym", "test_set")
    inlines = [ReferenceInline]

    def has_add_permission(self, request):
        return False  # import cases on the study's Cases page (or import_study): with their images

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.study.status == Study.Status.DRAFT and not obj.reads.exists()

    def save_model(self, request, obj, form, change):
        services.case_save(case=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        # commit=False writes nothing, and lists what changed for the admin's history message.
        for reference in formset.save(commit=False):
            services.reference_set(case=form.instance, label=reference.label, source=reference.source,
                                   notes=reference.notes, by=request.user)
        if formset.deleted_objects:
            services.reference_remove(case=form.instance, by=request.user)

    def delete_model(self, request, obj):
        services.case_delete(case=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for case in queryset:
            services.case_delete(case=case, by=request.user)


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ["study", "reader"]

    def clean(self):
        data = super().clean()
        if data.get("study") and data.get("reader"):
            services.assignment_check(study=data["study"], reader=data["reader"])
        return data


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    form = AssignmentForm
    list_display = ("study", "reader", "created_at")
    list_filter = ("study",)
    actions = ["remove_readers"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "reader":
            kwargs["queryset"] = db_field.related_model.objects.filter(reader_profile__isnull=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False  # assign again instead: an assignment's orders belong to its reader

    def has_delete_permission(self, request, obj=None):
        return False  # the "remove" action goes through assignment_remove, which keeps readers with reads

    def save_model(self, request, obj, form, change):
        saved = services.assignment_create(study=obj.study, reader=obj.reader, by=request.user)
        obj.pk, obj.created_at = saved.pk, saved.created_at

    @admin.action(description="Remove the selected readers from their studies (only readers without reads)")
    def remove_readers(self, request, queryset):
        removed = 0
        for assignment in queryset.select_related("study", "reader"):
            try:
                services.assignment_remove(study=assignment.study, reader=assignment.reader, by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{assignment}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                removed += 1
        if removed:
            self.message_user(request, f"Removed {removed} assignment{'s' if removed != 1 else ''}.", messages.SUCCESS)


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
