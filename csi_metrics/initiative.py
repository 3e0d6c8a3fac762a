"""Readers for the initiative's own records: UTF-8, comma-separated CSV files
whose header-only templates live in data/templates/ (see its README.md).

Same discipline as the CDE readers: columns by header name, read as text,
validated vectorised, and the first bad row named by file, line and column.
A header-only file is valid (no rows yet); an empty file is not."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from . import codes
from .cde import ReadResult, academic_year_bad, check, count_checks, read_text_table

ROSTER_COLUMNS = ["cds_code", "cohort", "grant_type", "first_grant_year"]
GRANT_COLUMNS = [
    "grant_id", "grantee_cds", "grantee_name", "grantee_level", "county_code",
    "cohort", "grant_type", "award_year", "amount_usd", "funding_source",
]
ACTIVITY_COLUMNS = ["activity_id", "activity_date", "activity_type", "spa_n", "cds_code", "attendees_n", "items_n"]
ATTENDANCE_COLUMNS = ["activity_id", "person_key"]
CROSSWALK_COLUMNS = ["cds_code", "spa_n"]

# file name -> columns, for the templates and the build's directory scan.
FILES: dict[str, list[str]] = {
    "roster.csv": ROSTER_COLUMNS,
    "grants.csv": GRANT_COLUMNS,
    "activities.csv": ACTIVITY_COLUMNS,
    "attendance.csv": ATTENDANCE_COLUMNS,
    "spa_crosswalk.csv": CROSSWALK_COLUMNS,
}
OPTIONAL_FILES = ("attendance.csv", "spa_crosswalk.csv")


def _read(path: str | Path, columns: list[str]) -> tuple[pl.DataFrame, str, Path]:
    p = Path(path)
    df, encoding = read_text_table(p, columns, ",", quote_char='"', allow_no_rows=True)
    df = df.with_columns(pl.col(c).str.strip_chars() for c in columns)
    # strip_chars leaves "" for all-space cells; those are blanks too.
    df = df.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns)
    return df, encoding, p


def _required(df: pl.DataFrame, p: Path, cols: list[str]) -> None:
    for c in cols:
        check(df, p, pl.col(c).is_null(), c, lambda r, c=c: f"blank {c}")


def _cds_check(df: pl.DataFrame, p: Path, col: str) -> None:
    check(df, p, pl.col(col).is_not_null() & ~pl.col(col).str.contains(r"^[0-9]{14}$"), col,
          lambda r: f"CDS code {r[col]!r} is not 14 digits")


def _unique(df: pl.DataFrame, p: Path, cols: list[str]) -> None:
    key = pl.struct(cols) if len(cols) > 1 else pl.col(cols[0])
    check(df, p, ~key.is_first_distinct(), cols[-1],
          lambda r: f"{' + '.join(str(r[c]) for c in cols)} appears more than once")


def _int_in(df: pl.DataFrame, p: Path, col: str, lo: int, hi: int | None = None) -> None:
    count_checks(df, p, col, pl.lit(True))
    v = pl.col(col).cast(pl.Int64, strict=False)
    bad = v < lo if hi is None else (v < lo) | (v > hi)
    rng = f">= {lo}" if hi is None else f"{lo}-{hi}"
    check(df, p, bad, col, lambda r: f"{col} {r[col]} is not {rng}")


def _one_of(df: pl.DataFrame, p: Path, col: str, allowed: list[str] | tuple[str, ...]) -> None:
    check(df, p, pl.col(col).is_not_null() & ~pl.col(col).is_in(list(allowed)), col,
          lambda r: f"{r[col]!r} is not one of {', '.join(allowed)}")


def _year(df: pl.DataFrame, p: Path, col: str) -> None:
    check(df, p, academic_year_bad(col), col, lambda r: f"unknown year format {r[col]!r} (expected e.g. '2023-24')")


def read_roster(path: str | Path) -> ReadResult:
    """roster.csv: the community schools. cds_code (14 digits), cohort (>= 1),
    grant_type (planning|implementation|coordination), first_grant_year ('2022-23')."""
    df, enc, p = _read(path, ROSTER_COLUMNS)
    _required(df, p, ROSTER_COLUMNS)
    _cds_check(df, p, "cds_code")
    _unique(df, p, ["cds_code"])
    _int_in(df, p, "cohort", 1)
    _one_of(df, p, "grant_type", codes.GRANT_TYPES)
    _year(df, p, "first_grant_year")
    out = df.with_row_index("_row").with_columns(pl.col("cohort").cast(pl.Int32))
    return ReadResult(p, "roster", out, df.height, enc)


def read_grants(path: str | Path) -> ReadResult:
    """grants.csv: one award per row. An LEA grantee's CDS code ends 0000000.
    amount_usd is whole dollars."""
    df, enc, p = _read(path, GRANT_COLUMNS)
    _required(df, p, GRANT_COLUMNS)
    _unique(df, p, ["grant_id"])
    _cds_check(df, p, "grantee_cds")
    _one_of(df, p, "grantee_level", ("LEA", "school"))
    check(df, p, (pl.col("grantee_level") == "LEA") & ~pl.col("grantee_cds").str.ends_with("0000000"),
          "grantee_cds", lambda r: f"LEA grantee code {r['grantee_cds']} does not end 0000000")
    check(df, p, ~pl.col("county_code").str.contains(r"^[0-9]{2}$"), "county_code",
          lambda r: f"county code {r['county_code']!r} is not 2 digits")
    check(df, p, pl.col("county_code") != pl.col("grantee_cds").str.slice(0, 2), "county_code",
          lambda r: f"county code {r['county_code']} does not match grantee_cds {r['grantee_cds']}")
    _int_in(df, p, "cohort", 1)
    _one_of(df, p, "grant_type", codes.GRANT_TYPES)
    _year(df, p, "award_year")
    _int_in(df, p, "amount_usd", 0)
    out = df.with_columns(pl.col("cohort").cast(pl.Int32), pl.col("amount_usd").cast(pl.Int64))
    return ReadResult(p, "grants", out, df.height, enc)


def read_activities(path: str | Path) -> ReadResult:
    """activities.csv: one activity per row. activity_date YYYY-MM-DD; academic_year
    is derived (July-June); spa_n, cds_code, attendees_n, items_n may be blank."""
    df, enc, p = _read(path, ACTIVITY_COLUMNS)
    _required(df, p, ["activity_id", "activity_date", "activity_type"])
    _unique(df, p, ["activity_id"])
    date = pl.col("activity_date").str.to_date("%Y-%m-%d", strict=False)
    check(df, p, ~pl.col("activity_date").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") | date.is_null(), "activity_date",
          lambda r: f"date {r['activity_date']!r} is not a YYYY-MM-DD calendar date")
    _one_of(df, p, "activity_type", codes.ACTIVITY_TYPES)
    for c, lo, hi in (("spa_n", 1, 8), ("attendees_n", 0, None), ("items_n", 0, None)):
        count_checks(df, p, c, pl.lit(True), blank_ok=True)
        v = pl.col(c).cast(pl.Int64, strict=False)
        bad = (v < lo) if hi is None else (v < lo) | (v > hi)
        check(df, p, bad, c, lambda r, c=c, lo=lo, hi=hi: f"{c} {r[c]} is not {lo}-{hi}" if hi else f"{c} {r[c]} is negative")
    _cds_check(df, p, "cds_code")
    d = date
    start = pl.when(d.dt.month() >= 7).then(d.dt.year()).otherwise(d.dt.year() - 1)
    out = df.with_row_index("_row").select(
        pl.col("activity_id"),
        date.alias("activity_date"),
        pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.Utf8).str.zfill(2)).alias("academic_year"),
        pl.col("activity_type"),
        pl.col("spa_n").cast(pl.Int32),
        pl.col("cds_code"),
        pl.col("attendees_n").cast(pl.Int32),
        pl.col("items_n").cast(pl.Int32),
        pl.col("_row"),
    )
    return ReadResult(p, "activities", out, df.height, enc)


def read_attendance(path: str | Path) -> ReadResult:
    """attendance.csv: who came to which activity, by a pseudonymous person_key."""
    df, enc, p = _read(path, ATTENDANCE_COLUMNS)
    _required(df, p, ATTENDANCE_COLUMNS)
    _unique(df, p, ATTENDANCE_COLUMNS)
    return ReadResult(p, "attendance", df.with_row_index("_row"), df.height, enc)


def read_spa_crosswalk(path: str | Path) -> ReadResult:
    """spa_crosswalk.csv: a school's SPA, used only when no boundary file is given."""
    df, enc, p = _read(path, CROSSWALK_COLUMNS)
    _required(df, p, CROSSWALK_COLUMNS)
    _cds_check(df, p, "cds_code")
    _unique(df, p, ["cds_code"])
    _int_in(df, p, "spa_n", 1, 8)
    return ReadResult(p, "crosswalk", df.with_row_index("_row").with_columns(pl.col("spa_n").cast(pl.Int32)),
                      df.height, enc)


def check_known(frame: pl.DataFrame, path: Path, col: str, known: pl.Series, what: str) -> None:
    """Every non-blank `col` value must be in `known`; else InputError at its line (frame needs `_row`)."""
    check(frame, path, pl.col(col).is_not_null() & ~pl.col(col).is_in(known.implode()), col,
          lambda r: f"{r[col]} is not {what}")

