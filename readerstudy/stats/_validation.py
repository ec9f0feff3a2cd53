"""Shared input checks for the statistics package.

Every public statistic validates its input through these helpers, so that bad
input fails early with a ``ValueError`` that says what is wrong and where
(which column, how many rows). :func:`columns` takes the named columns of the
tidy DataFrame a statistic is given; the array helpers accept numpy arrays,
pandas Series and plain sequences, and return plain numpy arrays.

Conventions
-----------
- truth is coded 0 = benign / negative, 1 = malignant / positive;
- missing values are NaN (or None / pandas NA); the policy is ``"raise"``
  (default: refuse, naming the column and the row count) or ``"drop"`` (drop
  incomplete cases; for paired and multi-reader data, drop the case for everyone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from readerstudy.stats.estimable import NotEstimableError

MissingPolicy = Literal["raise", "drop"]
MISSING_POLICIES: tuple[str, ...] = ("raise", "drop")

__all__ = [
    "MISSING_POLICIES",
    "MissingPolicy",
    "as_binary_truth",
    "as_float_array",
    "as_score_matrix",
    "check_alpha",
    "check_missing_policy",
    "check_same_length",
    "columns",
    "drop_missing",
    "handle_missing",
    "require_both_classes",
    "require_columns",
    "wide_ratings",
]


def _to_numpy(x: object, name: str) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        raise ValueError(f"{name} must be 1-D (an array or a Series), got a DataFrame")
    if isinstance(x, pd.Series):
        # Nullable dtypes (Int64, boolean) turn pd.NA into NaN on the way out.
        if isinstance(x.dtype, pd.api.extensions.ExtensionDtype) and x.hasnans:
            return x.to_numpy(dtype="float64", na_value=np.nan)
        return x.to_numpy()
    return np.asarray(x)


def as_float_array(x: object, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array.

    Parameters
    ----------
    x : array-like or pandas.Series
        The values.
    name : str
        Name used in error messages (argument or column name).
    allow_nan : bool, default False
        If False, NaN (missing) values raise; infinite values always raise.

    Returns
    -------
    numpy.ndarray
        1-D float64 copy-or-view of the values.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D, not numeric, empty, holds infinities, or holds NaN
        while ``allow_nan`` is False.
    """
    raw = _to_numpy(x, name)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {raw.shape}")
    if raw.size == 0:
        raise ValueError(f"{name} is empty")
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got dtype {raw.dtype}") from exc
    nan = np.isnan(arr)
    if np.isinf(arr).any():
        raise ValueError(f"{name} holds {int(np.isinf(arr).sum())} infinite value(s)")
    if not allow_nan and nan.any():
        first = int(np.flatnonzero(nan)[0])
        raise ValueError(
            f"{name} has {int(nan.sum())} missing value(s) in {arr.size} rows "
            f"(first at position {first}); pass missing='drop' to drop those cases"
        )
    return arr


def as_binary_truth(x: object, name: str = "truth", *, allow_nan: bool = False) -> np.ndarray:
    """Return the reference standard as a 1-D array of 0 (negative) and 1 (positive).

    Parameters
    ----------
    x : array-like or pandas.Series
        Truth coded 0/1 (integers, floats or booleans).
    name : str, default "truth"
        Name used in error messages.
    allow_nan : bool, default False
        If True, NaN is kept (the result is then float64 with NaN); otherwise
        missing values raise.

    Returns
    -------
    numpy.ndarray
        int64 array of 0 and 1 (float64 if ``allow_nan`` and NaN are present).

    Raises
    ------
    ValueError
        If any value is not 0 or 1 (for example strings such as "Good"/"Poor":
        recode them first), or missing values are present and not allowed.
    """
    raw = _to_numpy(x, name)
    if raw.dtype.kind in "OUS":
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            bad = sorted({str(v) for v in raw.ravel()})[:5]
            raise ValueError(
                f"{name} must be coded 0 = negative/benign, 1 = positive/malignant; "
                f"got values such as {bad}"
            ) from exc
    arr = as_float_array(raw, name, allow_nan=allow_nan)
    nan = np.isnan(arr)
    bad = ~nan & (arr != 0) & (arr != 1)
    if bad.any():
        values = sorted(set(arr[bad].tolist()))[:5]
        raise ValueError(
            f"{name} must be coded 0 = negative/benign, 1 = positive/malignant; "
            f"{int(bad.sum())} value(s) are not, e.g. {values}"
        )
    if nan.any():
        return arr
    return arr.astype(np.int64)


def as_score_matrix(x: object, name: str = "scores", *, allow_nan: bool = False) -> np.ndarray:
    """Return scores as a 2-D float64 array of shape (k, n): k score vectors, n cases.

    A 1-D input becomes shape (1, n). A DataFrame is read with one column per
    score vector (cases in rows) and transposed.

    Raises
    ------
    ValueError
        If the input is not 1-D or 2-D, not numeric, empty, holds infinities,
        or holds NaN while ``allow_nan`` is False.
    """
    if isinstance(x, pd.DataFrame):
        raw = x.to_numpy(dtype="float64", na_value=np.nan).T
    elif isinstance(x, pd.Series):
        raw = _to_numpy(x, name)
    else:
        raw = np.asarray(x)
    if raw.ndim == 1:
        raw = raw[np.newaxis, :]
    if raw.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (k, n), got shape {raw.shape}")
    if raw.size == 0:
        raise ValueError(f"{name} is empty (shape {raw.shape})")
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got dtype {raw.dtype}") from exc
    if np.isinf(arr).any():
        raise ValueError(f"{name} holds {int(np.isinf(arr).sum())} infinite value(s)")
    if not allow_nan:
        nan_rows = np.isnan(arr).any(axis=0)
        if nan_rows.any():
            raise ValueError(
                f"{name} has missing values in {int(nan_rows.sum())} of {arr.shape[1]} cases; "
                "pass missing='drop' to drop those cases"
            )
    return arr


def check_same_length(**arrays: Sequence[object] | np.ndarray | pd.Series) -> int:
    """Check that all named 1-D inputs (or the last axis of 2-D ones) have one length.

    Returns
    -------
    int
        The common length.

    Raises
    ------
    ValueError
        Naming every input and its length when they differ.

    Examples
    --------
    >>> check_same_length(truth=[0, 1, 1], score=[0.2, 0.4, 0.9])
    3
    """
    lengths = {name: int(np.asarray(a).shape[-1]) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listing = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have the same number of cases, got {listing}")
    return next(iter(lengths.values())) if lengths else 0


def require_both_classes(truth: np.ndarray, name: str = "truth") -> tuple[int, int]:
    """Check that truth holds at least one positive and one negative case.

    Returns
    -------
    tuple of int
        ``(n_pos, n_neg)``.

    Raises
    ------
    NotEstimableError
        If either class is absent (an AUC is then undefined).
    """
    truth = np.asarray(truth)
    n_pos = int(np.count_nonzero(truth == 1))
    n_neg = int(np.count_nonzero(truth == 0))
    if n_pos == 0 or n_neg == 0:
        raise NotEstimableError(
            f"{name} needs both classes (1 = positive, malignant; 0 = negative, benign); "
            f"got {n_pos} positive and {n_neg} negative cases"
        )
    return n_pos, n_neg


def require_columns(df: pd.DataFrame, cols: Iterable[str]) -> None:
    """Check that ``df`` is a DataFrame holding every column in ``cols``.

    Raises
    ------
    ValueError
        Listing the missing columns and the columns present.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"DataFrame lacks column(s) {missing}; it has {list(map(str, df.columns))}"
        )


def columns(data: object, **names: str) -> dict[str, pd.Series]:
    """The columns of ``data`` a statistic uses, by role.

    ``columns(data, truth="truth", score="reader_1")`` returns
    ``{"truth": data["truth"], "score": data["reader_1"]}``.

    Raises
    ------
    ValueError
        ``data`` is not a DataFrame, or lacks one of the columns (naming it).
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(
            f"data must be a pandas DataFrame (one row per observation) with the columns "
            f"{list(names.values())}, got {type(data).__name__}"
        )
    require_columns(data, names.values())
    return {role: data[column] for role, column in names.items()}


def wide_ratings(data: pd.DataFrame, *, subject: str, rater: str, rating: str) -> pd.DataFrame:
    """Long ratings as a subjects x raters table (NaN where a rater did not rate a subject).

    Raises
    ------
    ValueError
        A missing column, or a (subject, rater) pair rated more than once.
    """
    given = columns(data, subject=subject, rater=rater, rating=rating)
    long = pd.DataFrame(given)
    duplicated = long.duplicated(["subject", "rater"], keep=False)
    if duplicated.any():
        first = long.loc[duplicated, ["subject", "rater"]].iloc[0].tolist()
        raise ValueError(
            f"{int(duplicated.sum())} rows rate the same ({subject}, {rater}) pair more than "
            f"once, e.g. {first}; give one rating per subject and rater"
        )
    return long.pivot_table(index="subject", columns="rater", values="rating", aggfunc="first",
                            dropna=False)


def check_missing_policy(policy: str) -> None:
    """Raise ``ValueError`` unless ``policy`` is ``"raise"`` or ``"drop"``."""
    if policy not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {policy!r}")


def check_alpha(alpha: float) -> None:
    """Raise ``ValueError`` unless ``0 < alpha < 1``."""
    if not (isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha!r}")


def handle_missing(
    df: pd.DataFrame,
    cols: Sequence[str],
    policy: str = "raise",
    *,
    unit: str | None = None,
) -> pd.DataFrame:
    """Apply the missing-data policy to the columns ``cols`` of a long DataFrame.

    Parameters
    ----------
    df : pandas.DataFrame
        Long (tidy) data.
    cols : sequence of str
        Columns that must be complete.
    policy : {"raise", "drop"}, default "raise"
        ``"raise"``: a missing value raises ``ValueError`` naming the column and
        the number of rows affected. ``"drop"``: incomplete rows are dropped.
    unit : str, optional
        Column identifying the unit of analysis (e.g. ``"case"``). With
        ``"drop"``, every row of a unit that has any incomplete row is dropped,
        so that paired and multi-reader analyses keep the same cases for every
        reader and treatment.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself if complete, otherwise a filtered copy.
    """
    check_missing_policy(policy)
    cols = list(cols)
    require_columns(df, cols + ([unit] if unit is not None else []))
    isna = df[cols].isna()
    if not isna.to_numpy().any():
        return df
    if policy == "raise":
        counts = isna.sum()
        listing = ", ".join(f"{c!r}: {int(n)} row(s)" for c, n in counts.items() if n)
        raise ValueError(
            f"missing values in {listing} of {len(df)}; pass missing='drop' to drop those cases"
        )
    incomplete = isna.any(axis=1)
    if unit is None:
        return df.loc[~incomplete].copy()
    bad_units = df.loc[incomplete, unit].unique()
    return df.loc[~df[unit].isin(bad_units)].copy()


def drop_missing(policy: str, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Apply the missing-data policy to aligned float arrays (1-D, or 2-D over cases).

    The arrays must already have equal case counts (last axis). With
    ``"raise"``, any NaN raises ``ValueError`` naming the input; with
    ``"drop"``, a case missing in any input is dropped from all of them.

    Returns
    -------
    dict of str to numpy.ndarray
        The same names, filtered to complete cases.
    """
    check_missing_policy(policy)
    n = check_same_length(**arrays)
    incomplete = np.zeros(n, dtype=bool)
    for name, a in arrays.items():
        nan = np.isnan(a)
        if nan.ndim == 2:
            nan = nan.any(axis=0)
        if nan.any() and policy == "raise":
            raise ValueError(
                f"{name} has missing values in {int(nan.sum())} of {n} cases; "
                "pass missing='drop' to drop those cases"
            )
        incomplete |= nan
    if not incomplete.any():
        return dict(arrays)
    keep = ~incomplete
    return {name: a[..., keep] for name, a in arrays.items()}
