"""Text cells that a spreadsheet would run as a formula, made inert ("CSV injection").

Text from users reaches the exported tables: institution and scanner names and case ids from
the import manifest, usernames. Excel and LibreOffice run a CSV cell starting with ``=``,
``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a formula, and openpyxl
writes an ``.xlsx`` cell starting with ``=`` as one. Such a cell is written with a leading
``'``, the spreadsheets' own mark for text (OWASP, "CSV Injection"). Numbers, and numbers
written as text (``"-0.5"``), are left as they are.
"""

from __future__ import annotations

import pandas as pd

# A CSV cell starting with one of these is a formula to Excel and LibreOffice.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# openpyxl writes a string starting with "=" as a formula; other text stays text in .xlsx.
XLSX_FORMULA_START = ("=",)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def formula_safe(value: object, starts: tuple[str, ...] = CSV_FORMULA_START) -> object:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(starts) and not _is_number(value):
        return "'" + value
    return value


def _frame_safe(frame: pd.DataFrame, starts: tuple[str, ...]) -> pd.DataFrame:
    safe = frame.copy()
    for column in safe.columns:
        dtype = safe[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) \
                or isinstance(dtype, pd.CategoricalDtype):
            safe[column] = safe[column].map(lambda value: formula_safe(value, starts))
    safe.columns = [formula_safe(column, starts) for column in safe.columns]
    return safe


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` to write as CSV: text cells (and headers) that would be formulas
    start with ``'``."""
    return _frame_safe(frame, CSV_FORMULA_START)


def xlsx_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` to write with openpyxl: text cells starting with ``=`` start with
    ``'``. Other text (``-0.05 (-0.10, 0.01)``) is stored as text and shown as it is."""
    return _frame_safe(frame, XLSX_FORMULA_START)
