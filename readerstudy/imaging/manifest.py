"""The import manifest: one CSV row per case (see docs/import-manifest.md).

Parsing collects every problem with its row number (the header is row 1) instead of
stopping at the first.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from readerstudy.imaging.validation import Problem
from readerstudy.studies.models import LEVELS, Case, Modality, ReferenceStandard, is_reading_set

REQUIRED_COLUMNS = (
    "patient_id", "case_id", "label", "label_source", "test_set", "vertebra_level",
    "center_x", "center_y", "center_z", "age", "sex", "institution", "scanner_vendor",
    "field_strength", "modality", "series",
)
BBOX_COLUMNS = ("bbox_min_x", "bbox_min_y", "bbox_min_z", "bbox_max_x", "bbox_max_y", "bbox_max_z")
# The series each modality needs, and those it may list besides (a site's STIR or DWI).
# Keyed by Modality members, looked up with plain strings (a str enum member equals its value).
SERIES_ROLES: dict[str, tuple[str, ...]] = {Modality.CT: ("axial",), Modality.MRI: ("t1w", "t2w")}
OPTIONAL_SERIES_ROLES: dict[str, tuple[str, ...]] = {Modality.MRI: ("stir", "dwi")}
MODALITY_NAMES = {"CT": Modality.CT, "MR": Modality.MRI, "MRI": Modality.MRI}
SEX_NAMES = {"F": "F", "M": "M", "O": "O", "": ""}
MAX_AGE = 130


@dataclass(frozen=True)
class ManifestRow:
    row: int
    patient_id: str
    case_id: str
    label: str
    label_source: str
    test_set: str
    vertebra_level: str
    center: tuple[float, float, float]
    bbox: tuple[tuple[float, float, float], tuple[float, float, float]] | None
    age: int | None
    sex: str
    institution: str
    scanner_vendor: str
    field_strength: float | None
    modality: str
    series: dict[str, str] = field(default_factory=dict)


def _choice(value: str, allowed, what: str, problems: list[str], *, given: str | None = None) -> str:
    """``value`` (the cell as normalised) if allowed; else a problem quoting the cell as written
    (``given``), which is what the coordinator will look for in the spreadsheet."""
    if value not in allowed:
        names = ", ".join(sorted(a or "(empty)" for a in allowed))
        problems.append(f"unknown {what} {value if given is None else given!r} (use one of: {names})")
    return value


def _number(value: str, what: str, problems: list[str], *, required: bool) -> float | None:
    if value == "":
        if required:
            problems.append(f"{what} is required")
        return None
    try:
        number = float(value)
    except ValueError:
        problems.append(f"{what} {value!r} is not a number")
        return None
    if not math.isfinite(number):
        problems.append(f"{what} {value!r} is not a finite number")
        return None
    return number


def _series(value: str, modality: str | None, problems: list[str]) -> dict[str, str]:
    series: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        role, sep, path = part.partition("=")
        role, path = role.strip().lower(), path.strip()
        if not sep or not role or not path:
            problems.append(f"series entry {part!r} is not role=relative/path")
            continue
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or "\\" in path:
            problems.append(f"series path {path!r} must be relative to the DICOM root, without '..'")
            continue
        if role in series:
            problems.append(f"series role {role!r} is listed twice")
        series[role] = path
    if modality in SERIES_ROLES:
        needed = SERIES_ROLES[modality]
        missing = [r for r in needed if r not in series]
        allowed = (*needed, *OPTIONAL_SERIES_ROLES.get(modality, ()))
        unknown = [r for r in series if r not in allowed]
        if missing:
            problems.append(f"missing required series for {modality}: {', '.join(missing)} "
                            f"(the series column must list {', '.join(f'{r}=...' for r in needed)})")
        if unknown:
            problems.append(f"series role(s) {', '.join(unknown)} are not used for {modality} "
                            f"(allowed: {', '.join(allowed)})")
    return series


def _parse_row(row_number: int, raw: dict[str, str]) -> ManifestRow | list[str]:
    problems: list[str] = []
    value = {k: (raw.get(k) or "").strip() for k in (*REQUIRED_COLUMNS, *BBOX_COLUMNS)}
    for key in ("patient_id", "case_id"):
        if not value[key]:
            problems.append(f"{key} is required")
        elif len(value[key]) > 64:
            problems.append(f"{key} is longer than 64 characters")
    label = _choice(value["label"].lower(), ReferenceStandard.Label.values, "label", problems,
                     given=value["label"])
    source = _choice(value["label_source"].lower(), ReferenceStandard.Source.values, "label_source", problems,
                     given=value["label_source"])
    test_set = _choice(value["test_set"].lower(), Case.TestSet.values, "test_set", problems,
                     given=value["test_set"])
    level = _choice(value["vertebra_level"].upper(), LEVELS, "vertebra_level", problems,
                     given=value["vertebra_level"])
    sex = _choice(value["sex"].upper(), SEX_NAMES, "sex", problems,
                     given=value["sex"])
    modality = MODALITY_NAMES.get(value["modality"].upper())
    if modality is None:
        problems.append(f"unknown modality {value['modality']!r} (use CT or MR)")
    age_number = _number(value["age"], "age", problems, required=False)
    age = None
    if age_number is not None:
        if age_number != int(age_number) or not 0 <= age_number <= MAX_AGE:
            problems.append(f"age {value['age']!r} is not a whole number of years between 0 and {MAX_AGE}")
        else:
            age = int(age_number)
    field_strength = _number(value["field_strength"], "field_strength", problems, required=False)
    if field_strength is not None and not 0 < field_strength <= 20:
        problems.append(f"field_strength {value['field_strength']!r} is not a plausible field in tesla")

    bbox_values = [_number(value[k], k, problems, required=False) for k in BBOX_COLUMNS]
    bbox: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    known = [v for v in bbox_values if v is not None]
    if known:
        if len(known) < len(bbox_values):
            problems.append("a bounding box needs all six bbox_min_x..bbox_max_z values")
        elif any(lo > hi for lo, hi in zip(known[:3], known[3:], strict=True)):
            problems.append("bounding box minimum exceeds its maximum")
        else:
            bbox = ((known[0], known[1], known[2]), (known[3], known[4], known[5]))
    has_center = any(value[k] for k in ("center_x", "center_y", "center_z"))
    center_values = [_number(value[k], k, problems, required=has_center or bbox is None)
                     for k in ("center_x", "center_y", "center_z")]
    if not has_center and bbox is not None:
        center_values = [(lo + hi) / 2 for lo, hi in zip(bbox[0], bbox[1], strict=True)]
    series = _series(value["series"], modality, problems)
    if problems:
        return problems
    return ManifestRow(
        row=row_number, patient_id=value["patient_id"], case_id=value["case_id"], label=label,
        label_source=source, test_set=test_set, vertebra_level=level,
        center=(center_values[0], center_values[1], center_values[2]), bbox=bbox,  # type: ignore[arg-type]
        age=age, sex=sex, institution=value["institution"][:120],
        scanner_vendor=value["scanner_vendor"][:120], field_strength=field_strength,
        modality=modality, series=series,  # type: ignore[arg-type]
    )


def parse_manifest(text: str, *, study_modality: str) -> tuple[list[ManifestRow], list[Problem]]:
    """Parse and check a manifest; return its rows and every problem found.

    Besides each value, checks that the rows' modality is the study's, that case ids are
    unique, that a patient is in one split only (splits are made at patient level) and
    that a test set holds one fracture per patient.
    """
    # newline="": the csv module reads the line ends itself ("\r", "\r\n", "\n", and line
    # breaks inside quoted cells), as it asks of the files it is given.
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _parse_rows(reader, study_modality)
    except csv.Error as exc:  # a stray quote, a cell over the csv module's size limit...
        return [], [Problem(row=max(reader.line_num, 1), reason=f"not a readable CSV file: {exc}")]


def _has_control_character(value: str) -> bool:
    """True for the C0 control characters other than tab and line ends (NUL among them, which
    no database text column holds)."""
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def _parse_rows(reader: csv.DictReader, study_modality: str) -> tuple[list[ManifestRow], list[Problem]]:
    problems: list[Problem] = []
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [Problem(row=1, reason=f"missing column(s): {', '.join(missing)}")]
    rows: list[ManifestRow] = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append(Problem(row=number, reason="more values than columns"))
            continue
        if not any((v or "").strip() for v in raw.values()):
            continue
        controls = [column for column, value in raw.items() if _has_control_character(value or "")]
        if controls:
            problems.extend(Problem(row=number, reason=(
                f"{column}: contains a control character (such as NUL); a cell holds text only"))
                for column in controls)
            continue
        parsed = _parse_row(number, raw)
        modality = MODALITY_NAMES.get((raw.get("modality") or "").strip().upper())
        if modality is not None and modality != study_modality:
            # Said first and even when the row has other problems: the series roles a row of
            # the other modality lacks follow from this one.
            problems.append(Problem(row=number, reason=(
                f"modality {modality} does not match the study's modality {study_modality}")))
            continue
        if isinstance(parsed, list):
            problems.extend(Problem(row=number, reason=reason) for reason in parsed)
            continue
        rows.append(parsed)
    if not rows and not problems:
        problems.append(Problem(row=1, reason="the manifest lists no cases"))
    problems.extend(_cross_row_problems(rows))
    return rows, problems


def _cross_row_problems(rows: list[ManifestRow]) -> list[Problem]:
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    split_of: dict[str, tuple[str, int]] = {}
    test_case_of: dict[tuple[str, str], int] = {}
    paths: dict[str, int] = {}
    for r in rows:
        if r.case_id in first_row:
            problems.append(Problem(row=r.row, reason=f"case_id {r.case_id!r} is already used in row {first_row[r.case_id]}"))
        first_row.setdefault(r.case_id, r.row)
        split, where = split_of.setdefault(r.patient_id, (r.test_set, r.row))
        if split != r.test_set:
            problems.append(Problem(row=r.row, reason=(
                f"patient {r.patient_id!r} is in test set {split!r} in row {where} and {r.test_set!r} here: "
                "splits are made at patient level")))
        if is_reading_set(r.test_set):
            key = (r.patient_id, r.test_set)
            if key in test_case_of:
                problems.append(Problem(row=r.row, reason=(
                    f"patient {r.patient_id!r} already has a case in the {r.test_set} test set (row "
                    f"{test_case_of[key]}): a test set holds one fracture per patient")))
            test_case_of.setdefault(key, r.row)
        for path in r.series.values():
            if path in paths:
                problems.append(Problem(row=r.row, reason=f"series folder {path!r} is also used in row {paths[path]}"))
            paths.setdefault(path, r.row)
    return problems
