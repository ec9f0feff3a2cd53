"""Reads, the model's predictions and the reference standard as one long (tidy) DataFrame.

The frame is the input of the statistics package (``readerstudy.stats.analysis.analyse`` and
``python -m readerstudy.stats``) and of the publication tables. It holds the ground truth
and every case's subgroup fields, so only coordinators ever receive it.

Conventions
-----------
- ``truth``: 1 malignant, 0 benign, from the reference standard. Cases without a reference
  standard (unclear cases, excluded by the protocol) and training cases are left out.
- ``score``: probability of malignancy **in percent, 0-100**, for every reader: the reader's
  confidence slider, and the model's probability x 100. Missing when a study does not ask
  for a confidence. AUCs do not depend on the scale; figures and the MRMC exports do.
- ``call``: "benign" / "malignant"; ``three_tier``: "benign" / "uncertain" / "malignant"
  (definitely benign, uncertain - recommend MRI, definitely malignant) or missing.
- ``condition``: the reading condition: the study's modality ("CT", "MRI") for unaided reads,
  "<modality> + AI" for reads of the AI-aided round. The model reads unaided; its rows are
  repeated in every condition present so that readers are compared with it in each.
- ``simulated``: True for the reads of a simulated reader (the demo's generated reads,
  ``ReaderProfile.simulated``); False for people and the model.
- ``round``: "first" or "repeat" (an AI-aided read is the reader's first read in the aided
  condition); ``interval_days`` is the actual time from the first to the repeat read.
- one column per other question the study asks (``protocol.QUESTIONS``, its ``frame_column``):
  ``feature_<key>`` (True/False) per feature of the 15-feature checklist,
  ``measurement_<key>`` (mm or degrees) per measurement, and any question added to the
  protocol under its own key; missing where a read has no answer to it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from readerstudy.predictions.selectors import predictions_frame
from readerstudy.studies.answer_form import answer_of
from readerstudy.studies.models import Case, Modality, Read, Study
from readerstudy.studies.protocol import FIRST, GROUPS, ROUNDS, Question, questions_for
from readerstudy.vocabulary import TRUTH

logger = logging.getLogger(__name__)

HUMAN = "human"
MODEL = "model"

CASE_COLUMNS = [
    "case", "patient", "truth", "reference_source", "test_set", "institution", "scanner_vendor",
    "field_strength", "vertebra_level", "age", "sex",
]
BASE_COLUMNS = [
    "reader", "reader_kind", "role", "years", "simulated", "case", "truth", "score", "call",
    "three_tier", "condition", "round", "interval_days", "test_set", "institution", "scanner_vendor",
    "field_strength", "patient", "vertebra_level", "age", "sex", "reference_source",
    "reading_seconds",
]

# The columns the statistics package reads (python -m readerstudy.stats, analyse()).
STATS_COLUMNS = [
    "reader", "case", "truth", "score", "call", "condition", "round", "interval_days",
    "reader_kind", "patient",
]
# Subgroup columns of the publication tables, in the protocol's order.
SUBGROUPS = ("institution", "scanner_vendor", "field_strength")


def feature_column(key: str) -> str:
    return f"{GROUPS['features'].prefix}_{key}"


def measurement_column(key: str) -> str:
    return f"{GROUPS['measurements'].prefix}_{key}"


def condition_name(study: Study, round: str) -> str:
    """The reading condition of a read in ``round`` of ``study`` (see the module docstring)."""
    return ROUNDS[round].condition_for(Modality(study.modality).label)


def _answer_columns(study: Study) -> list[Question]:
    """The questions ``study`` asks, in any round, whose answers are not base columns."""
    return [q for q in questions_for(study) if q.frame_column not in BASE_COLUMNS]


def _cell(question: Question, read: Read):
    value = answer_of(read, question)
    if value is None:
        return np.nan
    return float(value) if question.frame_column == "score" else value


def cases_frame(study: Study) -> pd.DataFrame:
    """One row per analysable case: test cases with a reference standard."""
    rows = (
        Case.objects.reading().filter(study=study, reference__isnull=False)
        .order_by("code")
        .values("code", "patient_pseudonym", "reference__label", "reference__source", "test_set",
                "institution", "scanner_vendor", "field_strength", "vertebra_level", "age", "sex")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=[
        "code", "patient_pseudonym", "reference__label", "reference__source", "test_set",
        "institution", "scanner_vendor", "field_strength", "vertebra_level", "age", "sex",
    ])
    frame = frame.rename(columns={
        "code": "case", "patient_pseudonym": "patient", "reference__source": "reference_source",
    })
    frame["truth"] = frame.pop("reference__label").map(TRUTH).astype("int64")
    frame["field_strength"] = pd.to_numeric(frame["field_strength"], errors="coerce")
    frame["age"] = pd.to_numeric(frame["age"], errors="coerce")
    return frame[CASE_COLUMNS]


def _human_reads(study: Study, reads_upto: int | None) -> pd.DataFrame:
    reads = Read.objects.of_reading_cases().filter(study=study)
    if reads_upto is not None:
        reads = reads.filter(pk__lte=reads_upto)
    questions = list(questions_for(study))
    records = []
    for r in reads.select_related("reader", "reader__reader_profile", "case").order_by("pk"):
        profile = getattr(r.reader, "reader_profile", None)
        record = {
            "reader": r.reader.username,
            "reader_kind": HUMAN,
            "role": profile.role if profile else "",
            "years": profile.years_experience if profile else np.nan,
            "simulated": bool(profile and profile.simulated),
            "case": r.case.code,
            "condition": condition_name(study, r.round),
            "round": ROUNDS[r.round].analysed_as,
            "interval_days": r.repeat_interval_days if r.repeat_interval is not None else np.nan,
            "reading_seconds": r.reading_seconds,
        }
        record |= {q.frame_column: _cell(q, r) for q in questions}
        records.append(record)
    return pd.DataFrame.from_records(records)


def model_reads(study: Study) -> pd.DataFrame:
    """The model versions' predictions as reader rows (``reader="model:<name>@<version>"``,
    the three-tier output as the predictions app stores it); empty without predictions."""
    frame = predictions_frame(study)
    if frame.empty:
        return pd.DataFrame()
    return frame.assign(
        score=frame["score"] * 100.0, reader_kind=MODEL, role=MODEL, years=np.nan,
        simulated=False, round=FIRST, interval_days=np.nan, reading_seconds=np.nan,
    )[["reader", "reader_kind", "role", "years", "simulated", "case", "score", "call",
       "three_tier", "round", "interval_days", "reading_seconds"]]


def reads_frame(study: Study, *, include_model: bool = True,
                reads_upto: int | None = None) -> pd.DataFrame:
    """The study's reads (and the model's predictions) with the reference standard, long format.

    Parameters
    ----------
    study : Study
    include_model : bool, default True
        Add the model versions' predictions as readers (``reader_kind == "model"``).
    reads_upto : int, optional
        Only reads with a primary key up to this one (an export is computed from the reads
        its fingerprint counted).

    Returns
    -------
    pandas.DataFrame
        One row per read; the columns are documented in this module's docstring. Reads of
        cases without a reference standard, and of training cases, are left out.
    """
    cases = cases_frame(study)
    humans = _human_reads(study, reads_upto)
    parts = [humans] if not humans.empty else []
    if include_model:
        model = model_reads(study)
        if not model.empty:
            conditions = (
                sorted(humans["condition"].unique()) if not humans.empty
                else [condition_name(study, FIRST)]
            )
            parts += [model.assign(condition=condition) for condition in conditions]
    columns = BASE_COLUMNS + [q.frame_column for q in _answer_columns(study)]
    if not parts:
        return pd.DataFrame(columns=columns)
    reads = pd.concat(parts, ignore_index=True)
    unknown = set(reads["case"]) - set(cases["case"])
    if unknown:
        logger.info("%d read(s) of cases without a reference standard left out of %s",
                    int(reads["case"].isin(unknown).sum()), study.slug)
    frame = reads.merge(cases, on="case", how="inner", validate="many_to_one")
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    frame = frame[columns].sort_values(
        ["reader_kind", "reader", "condition", "round", "case"], kind="stable"
    )
    return frame.reset_index(drop=True)
