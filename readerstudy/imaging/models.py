"""Stored images of a case: de-identified series and instances, the vertebra location and
the per-study de-identification key.

Only de-identified DICOM is stored in the ``dicom`` storage; every UID kept here is the
de-identified one. The vertebra location is for the model and coordinators: no reader
endpoint ever reads this table.
"""

from __future__ import annotations

import secrets

from django.db import models

from readerstudy.studies.models import Case, Study


def new_secret() -> str:
    return secrets.token_hex(32)


class DeidentificationKey(models.Model):
    """The secret that keys a study's pseudonyms, UIDs and date offsets.

    The same source UID or patient id always maps to the same value within a study (series
    keep grouping across imports) and cannot be reversed without this secret.
    """

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="deidentification_key")
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"de-identification key of {self.study.slug}"


class Series(models.Model):
    class Role(models.TextChoices):
        AXIAL = "axial", "axial"
        SAGITTAL = "sagittal", "sagittal (derived)"
        T1W = "t1w", "sagittal T1W"
        T2W = "t2w", "sagittal T2W"
        STIR = "stir", "STIR"
        DWI = "dwi", "DWI"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="series")
    role = models.CharField(max_length=10, choices=Role.choices)
    study_uid = models.CharField(max_length=64, help_text="De-identified StudyInstanceUID.")
    series_uid = models.CharField(max_length=64, unique=True, help_text="De-identified SeriesInstanceUID.")
    modality = models.CharField(max_length=16)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    orientation = models.JSONField(help_text="ImageOrientationPatient: row then column direction cosines.")
    spacing = models.JSONField(help_text="[row spacing, column spacing, slice spacing] in mm.")
    origin = models.JSONField(help_text="LPS position (mm) of the first slice's first pixel.")
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    number_of_slices = models.PositiveIntegerField(help_text="Frames along the slice normal.")
    number_of_instances = models.PositiveIntegerField()
    derived = models.BooleanField(default=False, help_text="Computed on the server (e.g. sagittal from axial CT).")
    metadata_name = models.CharField(max_length=255, help_text="WADO-RS metadata (DICOM JSON) in the dicom storage.")
    metadata_sha256 = models.CharField(max_length=64)
    metadata_size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "role"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(fields=["case", "role"], name="series_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.case.code} {self.role}"


class Instance(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_uid = models.CharField(max_length=64, unique=True, help_text="De-identified SOPInstanceUID.")
    sop_class_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    position = models.FloatField(help_text="Position along the slice normal (mm): the sort key.")
    number_of_frames = models.PositiveIntegerField(default=1)
    transfer_syntax_uid = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255, unique=True, help_text="Name in the dicom storage.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the stored file; the HTTP ETag.")
    frames = models.JSONField(
        help_text="Per frame, the [offset, length] byte ranges of its pixel data in the stored file."
    )

    class Meta:
        ordering = ["series", "position", "instance_number"]

    def __str__(self) -> str:
        return f"{self.series} #{self.instance_number}"


class VertebraLocation(models.Model):
    """The annotated fractured vertebra, in patient coordinates (LPS, mm). Readers receive it only
    as the viewer's marker of the vertebra asked about (``selectors.viewer_target_for_case``)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="vertebra_location")
    center_x = models.FloatField()
    center_y = models.FloatField()
    center_z = models.FloatField()
    bbox_min_x = models.FloatField(null=True, blank=True)
    bbox_min_y = models.FloatField(null=True, blank=True)
    bbox_min_z = models.FloatField(null=True, blank=True)
    bbox_max_x = models.FloatField(null=True, blank=True)
    bbox_max_y = models.FloatField(null=True, blank=True)
    bbox_max_z = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.case.code} at ({self.center_x:.1f}, {self.center_y:.1f}, {self.center_z:.1f})"

    @property
    def center(self) -> tuple[float, float, float]:
        return (self.center_x, self.center_y, self.center_z)

    @property
    def bbox(self) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
        x0, y0, z0 = self.bbox_min_x, self.bbox_min_y, self.bbox_min_z
        x1, y1, z1 = self.bbox_max_x, self.bbox_max_y, self.bbox_max_z
        if x0 is None or y0 is None or z0 is None or x1 is None or y1 is None or z1 is None:
            return None
        return (x0, y0, z0), (x1, y1, z1)
