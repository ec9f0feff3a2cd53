"""Read-only queries of stored images: the viewer's series payload, the model's files, and
the image access rule as a queryset (``visible_series``). The DICOMweb views check the same
rule per request in one SQL query: :mod:`readerstudy.imaging.access`.
"""

from __future__ import annotations

from typing import IO, Any

from django.db.models import Prefetch
from django.urls import reverse

from readerstudy.core.permissions import is_coordinator
from readerstudy.imaging import storage
from readerstudy.imaging.models import Instance, Series, VertebraLocation
from readerstudy.studies import pseudonyms
from readerstudy.studies.models import Case, ReadingSlot, Round, Study

# Viewer order: axial first, then its derived sagittal; MRI: T1W, T2W, then STIR and DWI.
# Keyed by Series.Role members, looked up with the role as stored (a plain str).
ROLE_ORDER: dict[str, int] = {Series.Role.AXIAL: 0, Series.Role.SAGITTAL: 1, Series.Role.T1W: 2, Series.Role.T2W: 3,
                              Series.Role.STIR: 4, Series.Role.DWI: 5}
ROLE_LABELS: dict[str, str] = {
    Series.Role.AXIAL: "Axial CT",
    Series.Role.SAGITTAL: "Sagittal CT (reformat)",
    Series.Role.T1W: "Sagittal T1W",
    Series.Role.T2W: "Sagittal T2W",
    Series.Role.STIR: "STIR",
    Series.Role.DWI: "DWI",
}


def _ordered_series(case: Case) -> list[Series]:
    series = Series.objects.filter(case=case).prefetch_related(
        Prefetch("instances", queryset=Instance.objects.order_by("position", "instance_number", "pk"))
    )
    return sorted(series, key=lambda s: ROLE_ORDER.get(s.role, 99))


def series_uids(series: Series, round: str = Round.FIRST) -> tuple[str, str]:
    """The Study and Series UIDs of ``series`` as a reader sees them in ``round``."""
    if pseudonyms.is_first(round):
        return series.study_uid, series.series_uid
    return (pseudonyms.round_uid(series.study_uid, round=round),
            pseudonyms.image_uid(kind="series", pk=series.pk, round=round))


def sop_uid(instance: Instance, round: str = Round.FIRST) -> str:
    """The SOP Instance UID of ``instance`` as a reader sees it in ``round``."""
    if pseudonyms.is_first(round):
        return instance.sop_uid
    return pseudonyms.image_uid(kind="instance", pk=instance.pk, round=round)


def metadata_url(series: Series, round: str = Round.FIRST) -> str:
    study_uid, series_uid = series_uids(series, round)
    return reverse("dicomweb-series-metadata", kwargs={"study_uid": study_uid, "series_uid": series_uid})


def instance_urls(series: Series, instance: Instance, round: str = Round.FIRST) -> dict[str, str]:
    study_uid, series_uid = series_uids(series, round)
    object_uid = sop_uid(instance, round)
    kwargs = {"study_uid": study_uid, "series_uid": series_uid, "sop_uid": object_uid}
    wado_uri = (
        f"{reverse('wado-uri')}?requestType=WADO&studyUID={study_uid}&seriesUID={series_uid}"
        f"&objectUID={object_uid}&contentType=application%2Fdicom"
    )
    return {
        "wado_uri": wado_uri,
        "frames_url": reverse("dicomweb-instance", kwargs=kwargs) + "/frames",
    }


def viewer_series_for_case(*, case: Case, round: str = Round.FIRST) -> list[dict[str, Any]]:
    """The case's de-identified series for the viewer, axial before sagittal, T1W before T2W.

    ``[{role, label, study_uid, series_uid, metadata_url, instances: [{sop_uid,
    number_of_frames, wado_uri, frames_url}]}]`` with instances ordered along the slice
    normal. Frame ``n`` (1-based) of an instance is at ``frames_url + "/" + n``. Only
    de-identified UIDs, the round's (:mod:`readerstudy.studies.pseudonyms`); nothing about
    the patient, the label or the vertebra location.
    """
    payload = []
    for series in _ordered_series(case):
        study_uid, series_uid = series_uids(series, round)
        payload.append({
            "role": series.role,
            "label": ROLE_LABELS.get(series.role, series.role),
            "study_uid": study_uid,
            "series_uid": series_uid,
            "metadata_url": metadata_url(series, round),
            "instances": [
                {"sop_uid": sop_uid(i, round), "number_of_frames": i.number_of_frames,
                 **instance_urls(series, i, round)}
                for i in series.instances.all()
            ],
        })
    return payload


def instance_pks_by_sop_uid(series_pk: int) -> dict[str, int]:
    """``{stored SOP Instance UID: row pk}`` of a series' instances (to give them a round's UIDs)."""
    return dict(Instance.objects.filter(series_id=series_pk).values_list("sop_uid", "pk"))


def case_series_files(case: Case) -> dict[str, list[str]]:
    """Storage names of the case's de-identified instances by role, ordered along the slice normal."""
    return {
        series.role: [i.storage_name for i in series.instances.all()]
        for series in _ordered_series(case)
    }


def open_instance(name: str) -> IO[bytes]:
    """Open a stored de-identified instance for reading (binary; use as a context manager)."""
    return storage.dicom_storage().open(name, "rb")


def vertebra_center(case: Case) -> tuple[float, float, float]:
    """The annotated vertebra centre (LPS, mm). Raises ``VertebraLocation.DoesNotExist``."""
    return VertebraLocation.objects.get(case=case).center


def vertebra_location(case: Case) -> VertebraLocation | None:
    return VertebraLocation.objects.filter(case=case).first()


def viewer_target_for_case(*, case: Case) -> dict[str, Any]:
    """The vertebra a reader is asked about, as the viewer marks it: its level ("L1") and the
    annotated centre and box (LPS, mm, in the served images' own coordinates; the box is null
    when only a centre was annotated, the centre when no location was). The published readers
    were told the level and shown the vertebra; nothing here identifies the patient or tells
    the truth (coordinates are those of the images the reader already receives).
    """
    location = vertebra_location(case)
    bbox = location.bbox if location else None
    return {
        "level": case.vertebra_level,
        "center": [round(v, 2) for v in location.center] if location else None,
        "box": [[round(v, 2) for v in corner] for corner in bbox] if bbox else None,
    }


def visible_series(user):
    """Series a user may fetch images of: coordinators all; a reader those of cases in
    their own worklist (a reading slot) of an open study; anyone else none.

    The same rule as :func:`readerstudy.imaging.access.instance_for` (a test checks that
    they agree); use this one for listings.
    """
    if is_coordinator(user):
        return Series.objects.all()
    if not (user and user.is_authenticated and user.is_active):
        return Series.objects.none()
    cases = ReadingSlot.objects.filter(reader=user, study__status=Study.Status.OPEN).values("case_id")
    return Series.objects.filter(case_id__in=cases)
