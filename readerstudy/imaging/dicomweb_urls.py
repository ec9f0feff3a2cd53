"""DICOMweb endpoints, mounted at the site root (``/dicomweb/...`` and ``/wado``)."""

from django.urls import path, register_converter

from readerstudy.imaging import views


class UidConverter:
    """A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1)."""

    regex = r"[0-9][0-9.]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class FrameListConverter:
    regex = r"[0-9]+(?:,[0-9]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(UidConverter, "uid")
register_converter(FrameListConverter, "frames")

_series = "dicomweb/studies/<uid:study_uid>/series/<uid:series_uid>"

urlpatterns = [
    path(f"{_series}/metadata", views.series_metadata, name="dicomweb-series-metadata"),
    path(f"{_series}/instances/<uid:sop_uid>", views.instance, name="dicomweb-instance"),
    path(f"{_series}/instances/<uid:sop_uid>/frames/<frames:frames>", views.instance_frames, name="dicomweb-frames"),
    path("wado", views.wado_uri, name="wado-uri"),
]
