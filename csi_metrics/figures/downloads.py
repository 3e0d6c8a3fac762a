"""Every table a person can download, written one way: CSV whose text cells can
never run as a spreadsheet formula.

A cell beginning with =, +, -, @, | or % is a formula to Excel, LibreOffice
and Google Sheets (=HYPERLINK("http://...") in a school name would run when a
leader opens the file). defusedcsv, a maintained drop-in for the csv module,
prefixes such text with an apostrophe, as OWASP's CSV-injection guidance says,
and leaves numbers (including negative ones) alone."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import polars as pl
from defusedcsv import csv as safe_csv

from csi_metrics.vocabulary import words


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


def _one_cell(note: object) -> str:
    """A note as one line and one cell: no separator (comma, semicolon, tab) or quote a
    spreadsheet would split on, so no later cell can start with a formula; it starts with #."""
    return " ".join(re.sub(r'[,;\t"]', " ", str(note)).split())


def header_lines(*, filters: str | None = None, source: str | None = None, demo: bool = False) -> list[str]:
    """What a CSV says about itself above its header: the filters and choices it was
    drawn with, its source, and DEMO DATA for the demo (a file travels without the page)."""
    out = ["DEMO DATA: fictional schools, not real students"] if demo else []
    out += [f"Filters: {filters}"] if filters else []
    out += [f"Source: {source}"] if source else []
    return out


# Names from the data (a school called "... Community School") are not the dashboard's words.
_NAMES = re.compile(r"(school|district|grantee|lea)_name$")


def terms_used(df: pl.DataFrame, notes: Sequence[str] = ()) -> list[str]:
    """The glossary terms a CSV uses: in its notes, its column names (did_pp, suppressed) or
    the words in its text cells (SPA 4 Metro, Community schools), names from the data aside."""
    cells = [v for c, t in df.schema.items() if t == pl.String and not _NAMES.search(c)
             for v in df[c].unique().drop_nulls().to_list()]
    return words.terms_in(*notes, *df.columns, *cells)


def csv_bytes(df: pl.DataFrame, *, notes: Sequence[str] = (), terms: bool = True) -> bytes:
    """`df` as UTF-8 CSV, every text cell neutralised (see the module docstring),
    after one `# note` line per note and (with `terms`) a `# Terms:` line defining each
    glossary term the file uses (read back with a comment prefix of #): the file travels
    without the About page."""
    used = words.terms_line(terms_used(df, notes)) if terms else ""
    head = "".join("# " + _one_cell(n) + "\n" for n in [*notes, *([used] if used else [])])
    return (head + csv_text(df.columns, df.rows())).encode("utf-8")


def file_name(*parts: object, ext: str = "csv") -> str:
    """csi-trends-chronic-absenteeism-2023-24-spa4.csv: the view in the name, so two
    downloads never collide; blank parts left out."""
    from csi_metrics.figures.export import slug

    return "-".join(["csi", *(slug(str(p), 80) for p in parts if p not in (None, ""))]) + f".{ext}"
