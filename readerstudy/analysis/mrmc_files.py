"""Read-level files for the established MRMC programs: iMRMC and RJafroc.

Only human readers' first reads go in (the model is not a random reader; repeat reads
measure reproducibility, not accuracy), one modality per reading condition. The rating is
the reader's 0-100 probability of malignancy when the study asks for one, else the call
(1 malignant, 0 benign). Both programs expect a fully crossed design, so a reader who has
not read every case of a condition is left out and named in the key file.

Formats
-------
- ``imrmc.imrmc``: the iMRMC input file (FDA/DIDSR iMRMC; also read by RJafroc's
  ``DfReadDataFile(..., format = "iMRMC")``): a study description with ``N0:``, ``N1:``,
  ``NR:``, ``NM:`` lines, then ``BEGIN DATA:`` and one ``readerID,caseID,modalityID,score``
  row per reading, preceded by one truth row per case, ``-1,caseID,0,truth``. All ids are
  integers (RJafroc requires integer case ids); ``mrmc_key.csv`` maps them back.
- ``imrmc_dataframe.csv``: the R package iMRMC's ``doIMRMC`` data frame, columns
  ``readerID, caseID, modalityID, score`` with the truth rows as reader and modality
  ``"truth"``.
- ``rjafroc.xlsx``: RJafroc's JAFROC Excel format for ROC data (``DfReadDataFile(file)``):
  sheets ``TRUTH`` (``CaseID, LesionID, Weight``; LesionID 0 for benign cases, 1 for
  malignant), ``NL`` (``ReaderID, ModalityID, CaseID, NL_Rating``: ratings of benign cases)
  and ``LL`` (``ReaderID, ModalityID, CaseID, LesionID, LL_Rating``: ratings of malignant
  cases).

References
----------
Gallas BD (2006). One-shot estimate of MRMC variance: AUC. Acad Radiol 13:353-362.
doi:10.1016/j.acra.2005.11.030 (iMRMC, https://github.com/DIDSR/iMRMC)

Chakraborty DP (2017). Observer Performance Methods for Diagnostic Imaging. CRC Press
(RJafroc, https://dpc10ster.github.io/RJafroc/)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from readerstudy.analysis.frames import HUMAN
from readerstudy.core.spreadsheet import csv_safe, xlsx_safe


@dataclass(frozen=True)
class MRMCData:
    """Fully crossed human first reads with integer ids."""

    ratings: pd.DataFrame  # reader_id, case_id, modality_id, rating, truth
    key: pd.DataFrame  # kind, id, name
    rating_kind: str  # "score" (0-100) or "call" (0/1)
    left_out: list[str] = field(default_factory=list)


def mrmc_data(reads: pd.DataFrame) -> MRMCData | None:
    """Select and number the readings; None when no condition has a complete reader.

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame (:mod:`readerstudy.analysis.frames`).
    """
    first = reads.loc[(reads["reader_kind"] == HUMAN) & (reads["round"] == "first")].copy()
    if first.empty:
        return None
    use_scores = pd.to_numeric(first["score"], errors="coerce").notna().all()
    if use_scores:
        first["rating"] = pd.to_numeric(first["score"])
    else:
        first["rating"] = (first["call"] == "malignant").astype(int)
    cases = sorted(first["case"].unique())
    complete = first.groupby(["condition", "reader"])["case"].nunique()
    left_out = [f"{reader} ({condition}: {n} of {len(cases)} cases)"
                for (condition, reader), n in complete.items() if n < len(cases)]
    kept = complete[complete == len(cases)].reset_index()[["condition", "reader"]]
    first = first.merge(kept, on=["condition", "reader"])
    if first.empty:
        return None
    readers = {name: i for i, name in enumerate(sorted(first["reader"].unique()), start=1)}
    case_ids = {code: i for i, code in enumerate(cases, start=1)}
    modalities = {name: i for i, name in enumerate(sorted(first["condition"].unique()), start=1)}
    ratings = pd.DataFrame({
        "reader_id": first["reader"].map(readers),
        "case_id": first["case"].map(case_ids),
        "modality_id": first["condition"].map(modalities),
        "rating": first["rating"],
        "truth": first["truth"].astype(int),
    }).sort_values(["modality_id", "reader_id", "case_id"]).reset_index(drop=True)
    key = pd.DataFrame(
        [("reader", i, name) for name, i in readers.items()]
        + [("case", i, code) for code, i in case_ids.items()]
        + [("modality", i, name) for name, i in modalities.items()],
        columns=["kind", "id", "name"],
    )
    return MRMCData(ratings, key, "score" if use_scores else "call", left_out)


def _truth_by_case(data: MRMCData) -> pd.DataFrame:
    return data.ratings.drop_duplicates("case_id")[["case_id", "truth"]].sort_values("case_id")


def imrmc_text(data: MRMCData, *, title: str) -> str:
    """The ``.imrmc`` input file of iMRMC (see the module docstring)."""
    truth = _truth_by_case(data)
    n1 = int(truth["truth"].sum())
    lines = [
        title,
        f"Rating: {'probability of malignancy, 0-100' if data.rating_kind == 'score' else 'call, 1 = malignant'}",
        f"N0: {len(truth) - n1}",
        f"N1: {n1}",
        f"NR: {data.ratings['reader_id'].nunique()}",
        f"NM: {data.ratings['modality_id'].nunique()}",
        "BEGIN DATA:",
    ]
    lines += [f"-1,{row.case_id},0,{row.truth}" for row in truth.itertuples(index=False)]
    lines += [f"{row.reader_id},{row.case_id},{row.modality_id},{_number(row.rating)}"
              for row in data.ratings.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def imrmc_dataframe(data: MRMCData) -> pd.DataFrame:
    """The R package iMRMC's data frame: truth rows as reader and modality ``"truth"``."""
    truth = _truth_by_case(data)
    truth_rows = pd.DataFrame({"readerID": "truth", "caseID": truth["case_id"],
                               "modalityID": "truth", "score": truth["truth"]})
    readings = pd.DataFrame({"readerID": data.ratings["reader_id"].astype(str),
                             "caseID": data.ratings["case_id"],
                             "modalityID": data.ratings["modality_id"].astype(str),
                             "score": data.ratings["rating"]})
    return pd.concat([truth_rows, readings], ignore_index=True)


def rjafroc_sheets(data: MRMCData) -> dict[str, pd.DataFrame]:
    """The ``TRUTH``, ``NL`` and ``LL`` sheets of RJafroc's JAFROC format, ROC paradigm."""
    truth = _truth_by_case(data)
    truth_sheet = pd.DataFrame({"CaseID": truth["case_id"], "LesionID": truth["truth"],
                                "Weight": truth["truth"].astype(float)})
    benign = data.ratings.loc[data.ratings["truth"] == 0]
    malignant = data.ratings.loc[data.ratings["truth"] == 1]
    nl = pd.DataFrame({"ReaderID": benign["reader_id"], "ModalityID": benign["modality_id"],
                       "CaseID": benign["case_id"], "NL_Rating": benign["rating"]})
    ll = pd.DataFrame({"ReaderID": malignant["reader_id"], "ModalityID": malignant["modality_id"],
                       "CaseID": malignant["case_id"], "LesionID": 1,
                       "LL_Rating": malignant["rating"]})
    return {"TRUTH": truth_sheet, "NL": nl, "LL": ll}


def write_mrmc_files(reads: pd.DataFrame, directory: Path, *, title: str) -> tuple[list[Path], list[str]]:
    """Write the iMRMC and RJafroc files; returns (paths written, notes)."""
    data = mrmc_data(reads)
    if data is None:
        return [], ["No complete human reader: no iMRMC/RJafroc files."]
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "imrmc.imrmc", directory / "imrmc_dataframe.csv",
             directory / "rjafroc.xlsx", directory / "mrmc_key.csv"]
    paths[0].write_text(imrmc_text(data, title=title), encoding="utf-8")
    csv_safe(imrmc_dataframe(data)).to_csv(paths[1], index=False)
    with pd.ExcelWriter(paths[2], engine="openpyxl") as writer:
        for name, sheet in rjafroc_sheets(data).items():
            xlsx_safe(sheet).to_excel(writer, sheet_name=name, index=False)
    csv_safe(data.key).to_csv(paths[3], index=False)
    notes = [f"MRMC files: rating = {data.rating_kind}."]
    if data.left_out:
        notes.append("Left out of the MRMC files (not fully crossed): " + "; ".join(data.left_out))
    return paths, notes
