"""The file interface of the statistics: reads in, results out.

- :func:`read_reads_csv` and :func:`validate_reads`: the long table of reads
  (one row per reader, case, condition and round), checked with errors that
  name the rows at fault;
- :data:`RESULT_COLUMNS` and :data:`ANALYSES`: the results table;
- :func:`write_results`: the results as CSV, Excel and JSON.

The three result files hold the same rows and columns (``docs/stats-interface.md``):

- ``results.csv``: UTF-8, comma-separated, full floating point precision,
  empty cells for missing values;
- ``results.xlsx``: one sheet per analysis, in the order of :data:`ANALYSES`;
- ``results.json``: a list of records; NaN and infinities become ``null``
  (JSON has neither), numbers keep full precision.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from readerstudy.stats._validation import check_missing_policy

__all__ = [
    "ANALYSES",
    "INPUT_COLUMNS",
    "INPUT_PREFIXES",
    "RESULT_COLUMNS",
    "TIERS",
    "natural_key",
    "read_reads_csv",
    "validate_reads",
    "write_csv",
    "write_json",
    "write_results",
    "write_xlsx",
]

RESULT_COLUMNS: tuple[str, ...] = (
    "analysis",
    "condition",
    "reader",
    "other",
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "statistic",
    "df",
    "p_value",
    "n",
    "note",
)
ANALYSES: tuple[str, ...] = (
    "auc",
    "diagnostic",
    "three_tier",
    "delong_paired",
    "mcnemar",
    "definite_cases",
    "kappa",
    "bland_altman",
    "measurement",
    "fleiss_kappa",
    "icc",
    "mrmc",
    "power",
    "aided",
    "features",
    "intra_reader",
)
INPUT_COLUMNS = (
    "reader",
    "case",
    "truth",
    "score",
    "call",
    "condition",
    "round",
    "interval_days",
    "reader_kind",
    "three_tier",
    "patient",
)
BENIGN, UNCERTAIN, MALIGNANT = "benign", "uncertain", "malignant"
TIERS = (BENIGN, UNCERTAIN, MALIGNANT)
#: Column name prefixes of inputs that come in families: ``measurement_<name>`` (a number,
#: e.g. a height in mm) and ``feature_<name>`` (0/1 presence of an imaging feature).
INPUT_PREFIXES = ("measurement_", "feature_")
_PRESENCE = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0,
             "no": 0.0, "present": 1.0, "absent": 0.0}
_NUMERIC_CALLS = {"0": BENIGN, "1": MALIGNANT, "0.0": BENIGN, "1.0": MALIGNANT}


def _where(index: pd.Index, mask: pd.Series | np.ndarray, limit: int = 5) -> str:
    labels = list(index[np.asarray(mask, dtype=bool)])
    name = index.name or "row"
    shown = ", ".join(str(v) for v in labels[:limit])
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return f"{name}{'s' if len(labels) > 1 else ''} {shown}{more}"


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column].astype("string").str.strip()
    return text.mask(text == "")


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.astype("float64")
    else:
        text = _text(frame, column)
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = values.isna() & text.notna()
        if bad.any():
            example = text[bad].iloc[0]
            raise ValueError(
                f"column {column!r} must be numeric: {_where(frame.index, bad)} (e.g. {example!r})"
            )
    if np.isinf(values).any():
        raise ValueError(
            f"column {column!r} is infinite at {_where(frame.index, np.isinf(values))}"
        )
    return values


def _apply_policy(frame: pd.DataFrame, blank: pd.Series, column: str, missing: str) -> pd.DataFrame:
    if not blank.any():
        return frame
    if missing == "raise":
        raise ValueError(
            f"column {column!r} is empty at {_where(frame.index, blank)}; fill it in or pass "
            "missing='drop' to drop those reads"
        )
    return frame.loc[~blank]


def natural_key(value: object) -> tuple:
    """Sort key that orders "reader2" before "reader10"."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", str(value))
        if part
    )


def validate_reads(reads: pd.DataFrame, *, missing: str = "raise") -> pd.DataFrame:
    """Check and normalise a long table of reads.

    Parameters
    ----------
    reads : pandas.DataFrame
        Columns (names are matched ignoring case and blanks): ``reader``,
        ``case`` (required); ``truth`` (0/1), ``score`` (numeric), ``call``,
        ``condition``, ``round`` ("first"/"repeat"), ``interval_days``,
        ``reader_kind`` ("human"/"model"), ``three_tier``
        ("benign"/"uncertain"/"malignant"), any number of ``measurement_<name>``
        (numeric) and ``feature_<name>`` (0/1, true/false, yes/no,
        present/absent) (optional; an empty cell leaves the read out of that
        column's analyses), ``patient`` (optional: the patient a case belongs to;
        when a patient has several cases, the AUCs get Obuchowski's clustered
        variance too; an empty cell, or no column, makes the case a patient of its
        own). Values may be text (as read from a CSV). Other columns are ignored.
        Error messages name rows by their index label (the CLI uses CSV line
        numbers, index name "line"), or by position when the index has repeated
        labels.
    missing : {"raise", "drop"}, default "raise"
        An empty reader, case, truth, condition or round, or a reader who
        scored (or called) some cases of a condition but not others: raise,
        or drop the read (the score/call only, for partial scores and calls).

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, case, condition, round, reader_kind`` (text) and
        whichever of ``truth, score, interval_days``, ``measurement_*``,
        ``feature_*`` (float; features 1.0/0.0), ``call``, ``three_tier`` and
        ``patient`` (text, empty cells missing) were given. Calls 0/1 become
        "benign"/"malignant"; "benign", "malignant", "uncertain" are lower-cased;
        calls that are all numbers become floats; other calls are kept as text
        categories.

    Raises
    ------
    ValueError
        Saying what is wrong and at which rows.
    """
    check_missing_policy(missing)
    if not isinstance(reads, pd.DataFrame):
        raise ValueError(f"reads must be a pandas DataFrame, got {type(reads).__name__}")
    names = [str(c).strip().lower() for c in reads.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"column names repeat (ignoring case and blanks): {list(reads.columns)}")
    frame = reads.set_axis(names, axis=1)
    if not frame.index.is_unique:
        # Row labels must identify rows in error messages; fall back to positions.
        frame = frame.reset_index(drop=True)
    absent = [c for c in ("reader", "case") if c not in frame.columns]
    if absent:
        raise ValueError(f"reads lack required column(s) {absent}; columns are {names}")
    if frame.empty:
        raise ValueError("reads hold no rows")
    families = [c for c in frame.columns if c.startswith(INPUT_PREFIXES)]
    frame = frame[[c for c in INPUT_COLUMNS if c in frame.columns] + families]

    out = pd.DataFrame(index=frame.index)
    for column in ("reader", "case"):
        out[column] = _text(frame, column)
    out["condition"] = _text(frame, "condition") if "condition" in frame else ""
    out["round"] = _text(frame, "round").str.lower() if "round" in frame else "first"
    for column in ("reader", "case", "condition", "round"):
        out = _apply_policy(out, out[column].isna(), column, missing)
    frame = frame.loc[out.index]
    bad_round = ~out["round"].isin(["first", "repeat"])
    if bad_round.any():
        raise ValueError(
            f"column 'round' must be 'first' or 'repeat': {_where(out.index, bad_round)} "
            f"(e.g. {out.loc[bad_round, 'round'].iloc[0]!r})"
        )

    if "truth" in frame:
        out["truth"] = _numeric(frame, "truth")
        bad = out["truth"].notna() & ~out["truth"].isin([0.0, 1.0])
        if bad.any():
            raise ValueError(
                f"column 'truth' must be 0 (benign) or 1 (malignant): {_where(out.index, bad)}"
            )
        out = _apply_policy(out, out["truth"].isna(), "truth", missing)
        frame = frame.loc[out.index]
        conflict = out.groupby("case")["truth"].transform("nunique") > 1
        if conflict.any():
            raise ValueError(
                "column 'truth' differs between reads of the same case: "
                f"{_where(out.index, conflict)}; truth belongs to the case"
            )
    if "patient" in frame:
        out["patient"] = _patients(out, _text(frame, "patient"))
    if "score" in frame:
        out["score"] = _numeric(frame, "score")
    if "call" in frame:
        out["call"] = _normalise_calls(_text(frame, "call"))
    if "interval_days" in frame:
        out["interval_days"] = _numeric(frame, "interval_days")
        negative = out["interval_days"] < 0
        if negative.any():
            raise ValueError(f"column 'interval_days' is negative at {_where(out.index, negative)}")

    if "three_tier" in frame:
        out["three_tier"] = _three_tier(frame)
    for column in families:
        out[column] = (
            _numeric(frame, column) if column.startswith("measurement_")
            else _presence(frame, column)
        )  # fmt: skip

    kind = _text(frame, "reader_kind").str.lower() if "reader_kind" in frame else None
    if kind is not None:
        bad = kind.notna() & ~kind.isin(["human", "model"])
        if bad.any():
            raise ValueError(
                f"column 'reader_kind' must be 'human' or 'model': {_where(out.index, bad)}"
            )
    inferred = np.where(out["reader"].str.lower().str.startswith("model"), "model", "human")
    out["reader_kind"] = (
        kind.fillna(pd.Series(inferred, index=out.index)) if kind is not None else inferred
    )
    mixed = out.groupby("reader")["reader_kind"].transform("nunique") > 1
    if mixed.any():
        raise ValueError(
            f"a reader is both 'human' and 'model' in column 'reader_kind': {_where(out.index, mixed)}"
        )

    duplicated = out.duplicated(["reader", "case", "condition", "round"], keep=False)
    if duplicated.any():
        raise ValueError(
            "the same reader read the same case twice in one condition and round: "
            f"{_where(out.index, duplicated)}"
        )
    for column in ("score", "call"):
        if column in out:
            out = _partial_values(out, column, missing)
    return out


def _patients(out: pd.DataFrame, patient: pd.Series) -> pd.Series:
    """The patient of each read; a case belongs to one patient (empty cells aside)."""
    conflict = patient.groupby(out["case"]).transform("nunique") > 1
    if conflict.any():
        raise ValueError(
            "column 'patient' differs between reads of the same case: "
            f"{_where(out.index, conflict)}; a case (fracture) belongs to one patient"
        )
    return patient.astype(object).where(patient.notna(), None)


def _three_tier(frame: pd.DataFrame) -> pd.Series:
    tiers = _text(frame, "three_tier").str.lower()
    bad = tiers.notna() & ~tiers.isin(TIERS)
    if bad.any():
        raise ValueError(
            "column 'three_tier' must be 'benign', 'uncertain' or 'malignant': "
            f"{_where(frame.index, bad)} (e.g. {tiers[bad].iloc[0]!r})"
        )
    return tiers.astype(object).where(tiers.notna(), None)


def _presence(frame: pd.DataFrame, column: str) -> pd.Series:
    text = _text(frame, column).str.lower()
    values = text.map(_PRESENCE, na_action="ignore").astype("float64")
    bad = values.isna() & text.notna()
    if bad.any():
        raise ValueError(
            f"column {column!r} must be 0/1 (or true/false, yes/no, present/absent): "
            f"{_where(frame.index, bad)} (e.g. {text[bad].iloc[0]!r})"
        )
    return values


def _normalise_calls(text: pd.Series) -> pd.Series:
    lower = text.str.lower()
    present = set(lower.dropna().unique())
    if present <= set(TIERS) | set(_NUMERIC_CALLS):
        return lower.map(lambda v: _NUMERIC_CALLS.get(v, v), na_action="ignore").astype(object)
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().sum() == text.notna().sum():
        return numbers.astype(object).where(numbers.notna(), None)
    return text.astype(object).where(text.notna(), None)


def _partial_values(out: pd.DataFrame, column: str, missing: str) -> pd.DataFrame:
    given = out[column].notna()
    groups = [out["reader"], out["condition"], out["round"]]
    share = given.groupby(groups).transform("mean")
    partial = ~given & (share > 0)
    if partial.any() and missing == "raise":
        raise ValueError(
            f"column {column!r} is empty at {_where(out.index, partial)}, although the same "
            "reader gave it for other cases of that condition and round; fill it in or pass "
            "missing='drop' to leave those reads out of the analyses of that column"
        )
    return out


def read_reads_csv(path: str | Path) -> pd.DataFrame:
    """Read a reads CSV as text, indexed by line number.

    Every cell is read as text (case identifiers such as "007" keep their
    zeros; :func:`readerstudy.stats.analysis.validate_reads` converts and
    checks the values). The index is the line number in the file (the header
    is line 1) and is named "line", so that validation errors point at lines.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is empty or not parseable as CSV.
    """
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise ValueError(
            "the file is empty: expected a header line (reader,case,...) and one line per read"
        ) from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"not a readable CSV file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start}): save the file as UTF-8 CSV") from None
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    return frame


def _check(results: pd.DataFrame) -> None:
    if list(results.columns) != list(RESULT_COLUMNS):
        raise ValueError(
            f"results must have exactly the columns {list(RESULT_COLUMNS)}, "
            f"got {list(results.columns)}"
        )


def write_csv(results: pd.DataFrame, path: str | Path) -> Path:
    """Write the results table as CSV (full precision, empty cells for NaN)."""
    _check(results)
    path = Path(path)
    results.to_csv(path, index=False, na_rep="")
    return path


def write_xlsx(results: pd.DataFrame, path: str | Path) -> Path:
    """Write the results table to an Excel workbook, one sheet per analysis.

    An empty table gives one sheet, "results", with the header only.
    """
    _check(results)
    path = Path(path)
    present = list(pd.unique(results["analysis"]))
    order = [a for a in ANALYSES if a in present] + [a for a in present if a not in ANALYSES]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        if not order:
            results.to_excel(writer, sheet_name="results", index=False)
        for analysis in order:
            sheet = results[results["analysis"] == analysis]
            sheet.to_excel(writer, sheet_name=analysis[:31], index=False, na_rep="")
    return path


def _json_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value


def write_json(results: pd.DataFrame, path: str | Path) -> Path:
    """Write the results table as a JSON list of records (NaN and inf -> null)."""
    _check(results)
    path = Path(path)
    records = [
        {column: _json_value(value) for column, value in zip(results.columns, row, strict=True)}
        for row in results.itertuples(index=False, name=None)
    ]
    path.write_text(json.dumps(records, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def write_results(results: pd.DataFrame, out_dir: str | Path) -> dict[str, Path]:
    """Write ``results.csv``, ``results.xlsx`` and ``results.json`` into ``out_dir``.

    Parameters
    ----------
    results : pandas.DataFrame
        The output of :func:`readerstudy.stats.analysis.analyse`.
    out_dir : str or pathlib.Path
        Created if needed.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"csv": ..., "xlsx": ..., "json": ...}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "csv": write_csv(results, out / "results.csv"),
        "xlsx": write_xlsx(results, out / "results.xlsx"),
        "json": write_json(results, out / "results.json"),
    }
