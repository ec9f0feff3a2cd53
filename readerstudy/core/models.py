"""The append-only audit log: who opened, submitted, exported what, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise PermissionError("The audit log is append-only: events cannot be updated.")

    def delete(self):  # type: ignore[override]
        raise PermissionError("The audit log is append-only: events cannot be deleted.")


class AuditEvent(models.Model):
    class Verb(models.TextChoices):
        OPENED = "opened", "opened a case"
        SUBMITTED = "submitted", "submitted a read"
        EXPORTED = "exported", "exported results"
        IMPORTED = "imported", "imported a study"
        ASSIGNED = "assigned", "assigned a reader"
        UNASSIGNED = "unassigned", "removed a reader"
        CREATED = "created", "created"
        CHANGED = "changed", "changed"
        INFERENCE = "inference", "ran the model"
        FEEDBACK = "feedback", "viewed AI feedback"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="audit_events",
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64, blank=True)
    study_slug = models.CharField(max_length=80, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.verb} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only: events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only: events cannot be deleted.")


def audit(*, actor, verb: str, obj=None, object_type: str = "", object_id: str = "",
          study_slug: str = "", **details) -> AuditEvent:
    """Append one event to the audit log."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        actor=actor if (actor is not None and actor.is_authenticated) else None,
        verb=verb, object_type=object_type, object_id=object_id, study_slug=study_slug,
        details=details,
    )
