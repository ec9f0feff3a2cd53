"""Readers: residents, attendings and trainees, with their years of experience.

Study coordinators are staff users; they need no reader profile.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ReaderProfile(models.Model):
    class Role(models.TextChoices):
        RESIDENT = "resident", "Resident"
        ATTENDING = "attending", "Attending"
        TRAINEE = "trainee", "Trainee"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader_profile"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    years_experience = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(60)],
        help_text="Years in radiology (residency year for residents).",
    )
    specialty = models.CharField(max_length=80, blank=True, help_text="e.g. musculoskeletal")

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.username} ({self.get_role_display()}, {self.years_experience} y)"
