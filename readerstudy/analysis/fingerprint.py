"""The fingerprint of what a study's analysis is computed from.

Two exports with the same fingerprint would contain the same numbers, so a finished export
is reused until a read arrives, a prediction is stored, the reference standard or a case's
subgroup fields change, a reader's profile changes, or other analysis parameters are asked
for. Reads and predictions only ever grow (reads are immutable and cannot be deleted), so
their count and largest id identify them; the reference standard and case fields have no
timestamp, so their values are hashed (a few thousand short rows: one cheap query).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db.models import Count, Max

from readerstudy.predictions.models import Prediction
from readerstudy.studies.models import Case, Read, Study

# Bump when the contents or layout of an export change, so cached exports are redone.
EXPORT_FORMAT_VERSION = 1


def _digest(rows: list[Any]) -> str:
    payload = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _prediction_state(study: Study) -> dict[str, Any]:
    agg = Prediction.objects.filter(case__study=study).aggregate(count=Count("id"), max_id=Max("id"))
    return {"count": agg["count"], "max_id": agg["max_id"]}


def data_state(study: Study, *, parameters: dict[str, Any]) -> dict[str, Any]:
    """What an export of ``study`` with ``parameters`` is computed from.

    Returns a JSON-serialisable dict: read and prediction counts and largest ids, digests of
    the reference standard with the cases' subgroup fields and of the readers' profiles,
    the parameters and the export format version.
    """
    reads = Read.objects.filter(study=study).aggregate(count=Count("id"), max_id=Max("id"))
    cases = list(
        Case.objects.filter(study=study)
        .order_by("pk")
        .values_list(
            "pk", "code", "test_set", "institution", "scanner_vendor", "field_strength",
            "reference__label",
        )
    )
    readers = list(
        Read.objects.filter(study=study)
        .order_by("reader__username")
        .values_list("reader__username", "reader__reader_profile__role",
                     "reader__reader_profile__years_experience")
        .distinct()
    )
    return {
        "format": EXPORT_FORMAT_VERSION,
        "reads": {"count": reads["count"], "max_id": reads["max_id"]},
        "predictions": _prediction_state(study),
        "cases": _digest([list(row) for row in cases]),
        "readers": _digest([list(row) for row in readers]),
        "parameters": dict(sorted(parameters.items())),
    }


def fingerprint_of(state: dict[str, Any]) -> str:
    """The sha256 hex digest of a :func:`data_state`."""
    return _digest([state])


def study_fingerprint(study: Study, *, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(fingerprint, state)`` of ``study``'s data as it is now."""
    state = data_state(study, parameters=parameters)
    return fingerprint_of(state), state
