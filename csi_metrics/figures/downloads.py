"""Every table a person can download, written one way: CSV whose text cells can
never run as a spreadsheet formula.

A cell beginning with =, +, -, @, | or % is a formula to Excel, LibreOffice
and Google Sheets (=HYPERLINK("http://...") in a school name would run when a
leader opens the file). defusedcsv, a maintained drop-in for the csv module,
prefixes such text with an apostrophe, as OWASP's CSV-injection guidance says,
and leaves numbers (including negative ones) alone."""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl
from defusedcsv import csv as safe_csv


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):  # a small trend: its values joined, blanks kept blank
        return ";".join("" if v is None or (isinstance(v, float) and v != v) else str(v) for v in value)
    return value


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Header and rows as CSV text, every text cell neutralised."""
    buf = io.StringIO()
    w = safe_csv.writer(buf, lineterminator="\n")
    w.writerow(list(columns))
    w.writerows([_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def csv_bytes(df: pl.DataFrame) -> bytes:
    """`df` as UTF-8 CSV, every text cell neutralised (see the module docstring)."""
    return csv_text(df.columns, df.rows()).encode("utf-8")
