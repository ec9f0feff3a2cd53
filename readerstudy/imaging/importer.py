"""Importing a study's cases from a manifest and a DICOM tree: all or nothing.

Everything is checked first (the manifest, every file, every series, the vertebra centre)
and every problem is reported together; only then are files de-identified and written,
inside one database transaction, and the files written are removed again if anything
fails after all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from pydicom import dcmread
from pydicom.dataset import Dataset

from readerstudy.core.models import AuditEvent, audit
from readerstudy.imaging import pixels, storage
from readerstudy.imaging.deidentify import deidentify, patient_pseudonym, replacement_uid
from readerstudy.imaging.derive import hounsfield, sagittal_series, sagittal_shape
from readerstudy.imaging.manifest import ManifestRow, parse_manifest
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.imaging.validation import (
    ImportRefused,
    InstanceHeader,
    Problem,
    SeriesGeometry,
    check_series,
    read_header,
)
from readerstudy.studies.models import (
    Case,
    Modality,
    ReferenceStandard,
    Study,
    is_reading_set,
    new_case_code,
)

MANIFEST_NAME = "manifest.csv"
DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024**3


@dataclass
class SeriesPlan:
    role: str
    folder: str
    headers: list[InstanceHeader]
    geometry: SeriesGeometry


@dataclass
class CasePlan:
    row: ManifestRow
    series: list[SeriesPlan] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    case_codes: list[str]
    n_series: int
    n_instances: int


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _plan_series(*, row: ManifestRow, role: str, folder: str, root: Path, study: Study, secret: str,
                 allow_burned_in: bool, problems: list[Problem]) -> SeriesPlan | None:
    path = root / folder
    if not path.is_dir():
        problems.append(Problem(row=row.row, file=folder, reason=f"the {role} series folder does not exist"))
        return None
    headers: list[InstanceHeader] = []
    for file in _files_in(path):
        header = read_header(file, file.relative_to(root).as_posix())
        if isinstance(header, Problem):
            problems.append(header)
        else:
            headers.append(header)
    if len(headers) != len(_files_in(path)):
        return None
    geometry, series_problems = check_series(headers, where=folder)
    problems.extend(series_problems)
    for h in headers:
        if h.burned_in_annotation and not allow_burned_in:
            problems.append(Problem(file=h.name, reason=(
                "BurnedInAnnotation is YES: the pixels may show identifying text. Check the "
                "images and import with --allow-burned-in (API: allow_burned_in; import page: the box "
                "\"Accept images marked as having burned-in annotations\") if they are safe")))
    modalities = {h.modality for h in headers}
    if modalities and modalities != {study.modality}:
        problems.append(Problem(row=row.row, file=folder, reason=(
            f"the {role} series is {', '.join(sorted(modalities))} but the study is {study.modality}")))
    if headers and Series.objects.filter(series_uid=replacement_uid(secret, headers[0].series_uid)).exists():
        problems.append(Problem(row=row.row, file=folder, reason="this series is already imported in this study"))
    if geometry is None:
        return None
    if not geometry.contains(row.center):
        index = ", ".join(f"{v:.1f}" for v in geometry.voxel_index(row.center))
        problems.append(Problem(row=row.row, file=folder, reason=(
            f"the vertebra centre ({', '.join(f'{v:g}' for v in row.center)}) mm lies outside the {role} "
            f"series volume (voxel index {index}; the volume is {geometry.columns} x {geometry.rows} x "
            f"{len(geometry.frames)})")))
    return SeriesPlan(role=role, folder=folder, headers=headers, geometry=geometry)


def plan_import(*, study: Study, manifest_text: str, dicom_root: Path, secret: str,
                allow_burned_in: bool = False) -> list[CasePlan]:
    """Check everything; return what to import or raise :class:`ImportRefused` with every problem."""
    if study.status != Study.Status.DRAFT:
        raise ImportRefused([Problem(reason=f"study {study.slug!r} is {study.status}: cases can only be imported into a draft study")])
    rows, problems = parse_manifest(manifest_text, study_modality=study.modality)
    existing_ids = set(study.cases.values_list("source_case_id", flat=True))
    existing_splits = dict(study.cases.values_list("patient_pseudonym", "test_set"))
    existing_test_cases = dict(
        study.cases.reading().values_list("patient_pseudonym", "source_case_id")
    )
    plans: list[CasePlan] = []
    source_series: dict[str, str] = {}
    for row in rows:
        if row.case_id in existing_ids:
            problems.append(Problem(row=row.row, reason=f"case_id {row.case_id!r} is already in this study"))
        pseudonym = patient_pseudonym(secret, row.patient_id)
        split = existing_splits.get(pseudonym)
        if split is not None and split != row.test_set:
            problems.append(Problem(row=row.row, reason=(
                f"patient {row.patient_id!r} already has cases in the {split} set of this study: "
                "splits are made at patient level")))
        elif is_reading_set(row.test_set) and pseudonym in existing_test_cases:
            problems.append(Problem(row=row.row, reason=(
                f"patient {row.patient_id!r} already has a case in the {row.test_set} test set of this study "
                f"(case_id {existing_test_cases[pseudonym]!r}): a test set holds one fracture per patient")))
        plan = CasePlan(row=row)
        for role, folder in row.series.items():
            series = _plan_series(row=row, role=role, folder=folder, root=dicom_root, study=study,
                                  secret=secret, allow_burned_in=allow_burned_in, problems=problems)
            if series is None:
                continue
            uid = series.headers[0].series_uid
            if uid in source_series:
                problems.append(Problem(row=row.row, file=folder, reason=(
                    f"holds the same series (SeriesInstanceUID) as {source_series[uid]}")))
            source_series.setdefault(uid, folder)
            plan.series.append(series)
        plans.append(plan)
    if problems:
        raise ImportRefused(problems)
    return plans


def _study_secret(study: Study) -> tuple[DeidentificationKey | None, str]:
    key = DeidentificationKey.objects.filter(study=study).first()
    if key is not None:
        return key, key.secret
    return None, DeidentificationKey._meta.get_field("secret").get_default()


def _unique_code(taken: set[str]) -> str:
    while True:
        code = new_case_code()
        if code not in taken and not Case.objects.filter(code=code).exists():
            taken.add(code)
            return code


def _metadata_json(ds: Dataset) -> dict:
    """The instance in the DICOM JSON model (PS3.18 F.2), without its pixel data."""
    pixel_data = ds["PixelData"]
    del ds["PixelData"]
    try:
        return ds.to_json_dict(bulk_data_threshold=1 << 30)
    finally:
        ds["PixelData"] = pixel_data


class _SeriesWriter:
    """Writes one series' instances and its WADO-RS metadata; creates its rows."""

    def __init__(self, *, writer: storage.Writer, study: Study, case: Case, role: str, derived: bool = False):
        self.writer, self.study, self.case, self.role, self.derived = writer, study, case, role, derived
        self.instances: list[Instance] = []
        self.metadata: list[dict] = []

    def add(self, ds: Dataset, *, position: float, name: str) -> None:
        try:
            pixels.normalize_for_storage(ds)
            data = pixels.encode(ds)
            ranges = pixels.frame_ranges(data)
        except Exception as exc:
            raise ImportRefused([Problem(file=name, reason=f"could not be re-encoded for storage: {exc}")]) from exc
        stored, sha = self.writer.save(
            storage.dicom_storage(),
            storage.instance_name(study_id=self.study.pk, series_uid=ds.SeriesInstanceUID, sop_uid=ds.SOPInstanceUID),
            data,
        )
        number = ds.get("InstanceNumber")
        self.instances.append(Instance(
            sop_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.SOPClassUID),
            instance_number=int(number) if number not in (None, "") else None, position=position,
            number_of_frames=len(ranges), transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
            storage_name=stored, size=len(data), sha256=sha, frames=ranges,
        ))
        self.metadata.append(_metadata_json(ds))

    def finish(self, *, first: Dataset, geometry: SeriesGeometry, orientation: list[float],
               spacing: list[float], origin: list[float], rows: int, columns: int, n_slices: int) -> _StagedSeries:
        """Writes the series' metadata file; its rows are made by :meth:`_StagedSeries.save`, in
        the import's one short transaction once every file is written."""
        body = json.dumps(self.metadata, separators=(",", ":")).encode()
        name, sha = self.writer.save(
            storage.dicom_storage(),
            storage.metadata_name(study_id=self.study.pk, series_uid=first.SeriesInstanceUID), body,
        )
        series = Series(
            case=self.case, role=self.role, study_uid=str(first.StudyInstanceUID),
            series_uid=str(first.SeriesInstanceUID), modality=str(first.Modality),
            frame_of_reference_uid=str(first.get("FrameOfReferenceUID") or ""),
            orientation=orientation, spacing=spacing, origin=origin, rows=rows, columns=columns,
            number_of_slices=n_slices, number_of_instances=len(self.instances), derived=self.derived,
            metadata_name=name, metadata_sha256=sha, metadata_size=len(body),
        )
        return _StagedSeries(series=series, instances=self.instances)


@dataclass
class _StagedSeries:
    """A series whose files are written and whose rows are not yet made."""

    series: Series
    instances: list[Instance]

    def save(self, case: Case) -> Series:
        self.series.case = case  # saved now: the case had no primary key when the files were written
        self.series.save()
        for instance in self.instances:
            instance.series = self.series
        Instance.objects.bulk_create(self.instances)
        return self.series


def _ordered_headers(plan: SeriesPlan) -> list[tuple[InstanceHeader, float]]:
    seen: dict[str, tuple[InstanceHeader, float]] = {}
    for frame in plan.geometry.frames:
        seen.setdefault(frame.header.name, (frame.header, frame.position))
    return list(seen.values())


def _write_series(*, writer: storage.Writer, study: Study, case: Case, row: ManifestRow, plan: SeriesPlan,
                  secret: str, keep_originals: bool) -> tuple[list[_StagedSeries], int]:
    geometry = plan.geometry
    series_writer = _SeriesWriter(writer=writer, study=study, case=case, role=plan.role)
    derive = (study.modality == Modality.CT and plan.role == Series.Role.AXIAL and len(plan.headers) > 1
              and all(h.number_of_frames == 1 for h in plan.headers))
    ordered = _ordered_headers(plan)
    volume = np.empty((len(ordered), geometry.rows, geometry.columns), dtype=np.int16) if derive else None
    first: Dataset | None = None
    for index, (header, position) in enumerate(ordered):
        raw = header.path.read_bytes()
        if keep_originals:
            writer.save(storage.originals_storage(),
                        storage.original_name(study_id=study.pk, case_code=case.code, relative=header.name), raw)
        try:
            ds = dcmread(header.path)
            deidentify(ds, secret=secret, case_code=case.code, patient_id=row.patient_id)
        except Exception as exc:
            raise ImportRefused([Problem(file=header.name, reason=f"could not be de-identified: {exc}")]) from exc
        series_writer.add(ds, position=position, name=header.name)
        first = first or ds
        if volume is not None:
            try:
                volume[index] = hounsfield(ds)
            except Exception as exc:
                raise ImportRefused([Problem(file=header.name, reason=f"the pixel data cannot be decoded: {exc}")]) from exc
    assert first is not None
    spacing = [geometry.pixel_spacing[0], geometry.pixel_spacing[1], geometry.slice_spacing]
    created = [series_writer.finish(
        first=first, geometry=geometry, orientation=geometry.orientation, spacing=spacing,
        origin=[float(v) for v in geometry.origin], rows=geometry.rows, columns=geometry.columns,
        n_slices=len(geometry.frames),
    )]
    n_instances = len(series_writer.instances)
    if volume is not None:
        sagittal = _write_sagittal(writer=writer, study=study, case=case, template=first, volume=volume,
                                   geometry=geometry, source_series_uid=plan.headers[0].series_uid, secret=secret)
        created.append(sagittal)
        n_instances += sagittal.series.number_of_instances
    return created, n_instances


def _write_sagittal(*, writer: storage.Writer, study: Study, case: Case, template: Dataset, volume: np.ndarray,
                    geometry: SeriesGeometry, source_series_uid: str, secret: str) -> _StagedSeries:
    series_uid = replacement_uid(secret, f"{source_series_uid}/derived-sagittal")
    series_writer = _SeriesWriter(writer=writer, study=study, case=case, role=Series.Role.SAGITTAL, derived=True)
    row_direction = geometry.column_direction
    column_direction = -geometry.normal
    normal = np.cross(row_direction, column_direction)
    first = None
    for ds in sagittal_series(
        template=template, volume=volume, geometry=geometry, series_uid=series_uid,
        sop_uid_for=lambda i: replacement_uid(secret, f"{source_series_uid}/derived-sagittal/{i}"),
    ):
        position = float(np.asarray(ds.ImagePositionPatient, dtype=float) @ normal)
        series_writer.add(ds, position=position, name=f"derived sagittal image {ds.InstanceNumber}")
        first = first or ds
    if first is None:  # sagittal_series yields one image per column of the volume
        raise ValueError("the volume has no column to derive a sagittal image from")
    n_rows, row_step = sagittal_shape(geometry)
    return series_writer.finish(
        first=first, geometry=geometry,
        orientation=[*map(float, row_direction), *map(float, column_direction)],
        spacing=[row_step, geometry.pixel_spacing[0], geometry.pixel_spacing[1]],
        origin=[float(v) for v in first.ImagePositionPatient], rows=n_rows, columns=geometry.rows,
        n_slices=geometry.columns,
    )


def import_study(*, study: Study, manifest_text: str, dicom_root: Path | str, by=None,
                 allow_burned_in: bool = False, keep_originals: bool = False) -> ImportResult:
    """Import the cases of a manifest into a draft study; all or nothing.

    Raises :class:`ImportRefused` (with every problem found) and leaves no rows and no
    files behind if anything is wrong.
    """
    root = Path(dicom_root)
    key, secret = _study_secret(study)
    plans = plan_import(study=study, manifest_text=manifest_text, dicom_root=root, secret=secret,
                        allow_burned_in=allow_burned_in)
    codes: list[str] = []
    n_series = n_instances = 0
    taken: set[str] = set()
    try:
        with storage.all_or_nothing() as writer:
            # The files first (de-identifying, re-encoding and deriving take minutes for a large
            # import), outside any transaction: on SQLite a transaction that has written holds the
            # database's one write lock, and every sign-in and read submission waited behind it.
            # Then every row in one short transaction; a failure in either removes the files.
            staged: list[tuple[ManifestRow, Case, list[_StagedSeries]]] = []
            for plan in plans:
                row = plan.row
                case = Case(
                    study=study, code=_unique_code(taken), source_case_id=row.case_id,
                    patient_pseudonym=patient_pseudonym(secret, row.patient_id), test_set=row.test_set,
                    vertebra_level=row.vertebra_level, age=row.age, sex=row.sex,
                    institution=row.institution, scanner_vendor=row.scanner_vendor,
                    field_strength=row.field_strength,
                )
                series: list[_StagedSeries] = []
                for series_plan in plan.series:
                    created, count = _write_series(writer=writer, study=study, case=case, row=row,
                                                   plan=series_plan, secret=secret, keep_originals=keep_originals)
                    series += created
                    n_instances += count
                staged.append((row, case, series))
            with transaction.atomic():
                if key is None:
                    DeidentificationKey.objects.create(study=study, secret=secret)
                for row, case, series in staged:
                    case.save()
                    ReferenceStandard.objects.create(case=case, label=row.label, source=row.label_source)
                    _create_location(case, row)
                    for staged_series in series:
                        staged_series.save(case)
                    n_series += len(series)
                    codes.append(case.code)
                audit(actor=by, verb=AuditEvent.Verb.IMPORTED, obj=study, study_slug=study.slug,
                      cases=len(codes), instances=n_instances,
                      manifest_sha256=hashlib.sha256(manifest_text.encode()).hexdigest(),
                      kept_originals=keep_originals, allowed_burned_in=allow_burned_in)
    except IntegrityError as exc:
        raise ImportRefused([Problem(reason=f"the database refused the import: {exc}")]) from exc
    return ImportResult(case_codes=codes, n_series=n_series, n_instances=n_instances)


def _create_location(case: Case, row: ManifestRow) -> None:
    bbox = row.bbox or ((None, None, None), (None, None, None))
    VertebraLocation.objects.create(
        case=case, center_x=row.center[0], center_y=row.center[1], center_z=row.center[2],
        bbox_min_x=bbox[0][0], bbox_min_y=bbox[0][1], bbox_min_z=bbox[0][2],
        bbox_max_x=bbox[1][0], bbox_max_y=bbox[1][1], bbox_max_z=bbox[1][2],
    )


def _safe_members(archive: zipfile.ZipFile, limit: int) -> Iterable[zipfile.ZipInfo]:
    total = 0
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise ImportRefused([Problem(file=info.filename, reason="unsafe path in the zip (absolute or with '..')")])
        total += info.file_size
        if total > limit:
            raise ImportRefused([Problem(reason=f"the zip unpacks to more than {limit} bytes")])
        yield info


def manifest_read(path: Path) -> str:
    """The manifest's text (UTF-8, with or without a byte order mark); ``ImportRefused`` if
    it is not UTF-8, as a spreadsheet saving "CSV" in a legacy encoding makes it."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused([Problem(file=path.name, reason=(
            f"{path.name} is not UTF-8 text (byte {exc.start + 1} is not); save it as "
            "'CSV UTF-8'"))]) from None


def import_study_zip(*, study: Study, upload, by=None, allow_burned_in: bool = False,
                     keep_originals: bool = False) -> ImportResult:
    """Import from an uploaded zip holding ``manifest.csv`` and the DICOM tree it points to."""
    limit = getattr(settings, "READERSTUDY_IMPORT_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    workdir = Path(tempfile.mkdtemp(prefix="import-"))
    try:
        try:
            with zipfile.ZipFile(upload) as archive:
                members = list(_safe_members(archive, limit))
                archive.extractall(workdir, members=members)
        except zipfile.BadZipFile:
            raise ImportRefused([Problem(file="upload", reason="not a zip file")]) from None
        manifests = sorted(workdir.rglob(MANIFEST_NAME), key=lambda p: len(p.parts))
        if not manifests:
            raise ImportRefused([Problem(file=MANIFEST_NAME, reason="the zip holds no manifest.csv")])
        manifest = manifests[0]
        text = manifest_read(manifest)
        return import_study(study=study, manifest_text=text, dicom_root=manifest.parent, by=by,
                            allow_burned_in=allow_burned_in, keep_originals=keep_originals)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
