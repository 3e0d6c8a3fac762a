"""Readers for the initiative's own records: UTF-8, comma-separated CSV files
whose header-only templates live in data/templates/ (see its README.md).

Same discipline as the CDE readers: columns by header name, read as text,
validated vectorised, and the first bad row named by file, line and column.
A header-only file is valid (no rows yet); an empty file is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.ingest.cde import DirectoryResult, ReadResult, Rejection, academic_year_bad, check, count_checks, read_text_table

ROSTER_COLUMNS = ["cds_code", "cohort", "grant_type", "first_grant_year"]
GRANT_COLUMNS = [
    "grant_id", "grantee_cds", "grantee_name", "grantee_level", "county_code",
    "cohort", "grant_type", "award_year", "amount_usd", "funding_source",
]
ACTIVITY_COLUMNS = ["activity_id", "activity_date", "activity_type", "spa_n", "cds_code", "attendees_n", "items_n"]
ATTENDANCE_COLUMNS = ["activity_id", "person_key"]
CROSSWALK_COLUMNS = ["cds_code", "spa_n"]
GRANTEE_COLUMNS = ["cds_code"]

# file name -> columns, for the templates and the build's directory scan.
FILES: dict[str, list[str]] = {
    "roster.csv": ROSTER_COLUMNS,
    "grants.csv": GRANT_COLUMNS,
    "activities.csv": ACTIVITY_COLUMNS,
    "attendance.csv": ATTENDANCE_COLUMNS,
    "spa_crosswalk.csv": CROSSWALK_COLUMNS,
    "ccspp_grantees.csv": GRANTEE_COLUMNS,
}
OPTIONAL_FILES = ("attendance.csv", "spa_crosswalk.csv", "ccspp_grantees.csv")

# The first school year the dashboard covers (fetch.KNOWN_YEARS starts at 2018-19).
FIRST_DATE = dt.date(2018, 7, 1)
# These files are kept in Excel, whose "Unicode Text" is UTF-16.
EXCEL_REDO = "in Excel: Save As, CSV UTF-8 (Comma delimited)"


def _read(path: str | Path, columns: list[str]) -> tuple[pl.DataFrame, str, Path]:
    p = Path(path)
    df, encoding = read_text_table(p, columns, ",", quote_char='"', allow_no_rows=True, redo=EXCEL_REDO)
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


def _start_year(day: dt.date) -> int:
    """First calendar year of the July-June academic year holding `day`."""
    return day.year if day.month >= 7 else day.year - 1


def _grant_year(df: pl.DataFrame, p: Path, col: str, today: dt.date | None) -> None:
    """A well-formed year no later than the academic year after the build's:
    grants are awarded for the coming year at most, so 2035-36 is a typo, and
    it would put a school in a cohort no figure can show."""
    _year(df, p, col)
    now = _start_year(today or dt.date.today())
    limit = now + 1
    check(df, p, pl.col(col).str.slice(0, 4).cast(pl.Int32, strict=False) > limit, col,
          lambda r: f"year {r[col]!r} is after {codes.academic_year(limit)}, the academic year after this "
                    f"build's ({codes.academic_year(now)}); a grant cannot start further ahead")


def _one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def read_roster(path: str | Path, today: dt.date | None = None) -> ReadResult:
    """roster.csv: the community schools. cds_code (14 digits), cohort (>= 1),
    grant_type (planning|implementation|coordination), first_grant_year ('2022-23',
    at most the academic year after `today`'s, default the build date)."""
    df, enc, p = _read(path, ROSTER_COLUMNS)
    _required(df, p, ROSTER_COLUMNS)
    _cds_check(df, p, "cds_code")
    _unique(df, p, ["cds_code"])
    _int_in(df, p, "cohort", 1)
    _one_of(df, p, "grant_type", codes.GRANT_TYPES)
    _grant_year(df, p, "first_grant_year", today)
    out = df.with_row_index("_row").with_columns(pl.col("cohort").cast(pl.Int32))
    return ReadResult(p, "roster", out, df.height, enc)


def read_grants(path: str | Path, today: dt.date | None = None) -> ReadResult:
    """grants.csv: one award per row. An LEA grantee's CDS code ends 0000000.
    amount_usd is whole dollars; award_year as roster.csv's first_grant_year."""
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
    _grant_year(df, p, "award_year", today)
    _int_in(df, p, "amount_usd", 0)
    out = df.with_columns(pl.col("cohort").cast(pl.Int32), pl.col("amount_usd").cast(pl.Int64))
    return ReadResult(p, "grants", out, df.height, enc)


def read_activities(path: str | Path, today: dt.date | None = None) -> ReadResult:
    """activities.csv: one activity per row. activity_date YYYY-MM-DD, from
    FIRST_DATE to one year after `today` (default the build date); academic_year
    is derived (July-June); spa_n, cds_code, attendees_n, items_n may be blank."""
    df, enc, p = _read(path, ACTIVITY_COLUMNS)
    _required(df, p, ["activity_id", "activity_date", "activity_type"])
    _unique(df, p, ["activity_id"])
    date = pl.col("activity_date").str.to_date("%Y-%m-%d", strict=False)
    check(df, p, ~pl.col("activity_date").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") | date.is_null(), "activity_date",
          lambda r: f"date {r['activity_date']!r} is not a YYYY-MM-DD calendar date")
    # Refused, not flagged: 1899-12-30 is Excel's day zero and 2199 a typo; either
    # would be stored as a school year no page offers, and its activity lost from view.
    # A date up to a year ahead is allowed for activities already scheduled.
    last = _one_year_after(today or dt.date.today())
    check(df, p, (date < FIRST_DATE) | (date > last), "activity_date",
          lambda r: f"date {r['activity_date']!r} is outside {FIRST_DATE}..{last} (the dashboard covers school "
                    f"years from {codes.academic_year(FIRST_DATE.year)} to one year after the build date)")
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


def read_ccspp_grantees(path: str | Path) -> ReadResult:
    """ccspp_grantees.csv (optional): the CDS code of every CCSPP-funded school, in LA
    or elsewhere, on the roster or not. None of them is ever a matched comparison
    school (csi_metrics.ingest.matching). cds_code: 14 digits, each once."""
    df, enc, p = _read(path, GRANTEE_COLUMNS)
    _required(df, p, GRANTEE_COLUMNS)
    _cds_check(df, p, "cds_code")
    _unique(df, p, ["cds_code"])
    return ReadResult(p, "ccspp_grantees", df.with_row_index("_row"), df.height, enc)


def check_known(frame: pl.DataFrame, path: Path, col: str, known: pl.Series, what: str) -> None:
    """Every non-blank `col` value must be in `known`; else InputError at its line (frame needs `_row`)."""
    check(frame, path, pl.col(col).is_not_null() & ~pl.col(col).is_in(known.implode()), col,
          lambda r: f"{r[col]} is not {what}")



def grantees_not_in_directory(grants: pl.DataFrame, directory: DirectoryResult, all_counties: bool) -> list[Rejection]:
    """Grants whose grantee (school, or LEA by its 0000000 code) the directory lacks.

    Recorded, not refused: the award is real and its dollars still count in
    totals, but no school or district carries them. An LA-only directory lacks
    other counties' grantees by design (grants.csv may list the whole state), so
    then only LA County grantees are looked at."""
    known = pl.concat([directory.schools["cds_code"], directory.districts["district_code"] + "0000000"])
    scope = pl.lit(True) if all_counties else pl.col("county_code") == codes.LA_COUNTY_CODE
    # grants.csv rows are not filtered, so the row index gives the file line.
    missing = grants.with_row_index("_row").filter(scope & ~pl.col("grantee_cds").is_in(known.implode()))
    if not missing.height:
        return []
    who = "grantee" if all_counties else "LA County grantee"
    return [Rejection(f"{who} not in the directory ({directory.path.name}): its dollars are in no SPA, "
                      "district or per-student figure", missing.height, int(missing["_row"][0]) + 2)]
