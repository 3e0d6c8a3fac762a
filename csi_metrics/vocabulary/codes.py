"""Code lists shared by ingest and metrics: SPAs, CDE reporting categories,
school and LEA types, academic years. Sources: ../shared/data/SOURCES.md."""

from __future__ import annotations

import re

import polars as pl

# (number, name, abbreviation) as the LA County eGIS 2022 layer has them.
SPAS: list[tuple[int, str, str]] = [
    (1, "Antelope Valley", "ATV"),
    (2, "San Fernando", "SFV"),
    (3, "San Gabriel", "SGV"),
    (4, "Metro", "MET"),
    (5, "West", "W"),
    (6, "South", "S"),
    (7, "East", "E"),
    (8, "South Bay", "SBA"),
]
SPA_NAMES: dict[int, str] = {n: name for n, name, _ in SPAS}


def spa_label(spa_n: int) -> str:
    return f"SPA {spa_n} {SPA_NAMES[spa_n]}"


LA_COUNTY_CODE = "19"

# code -> (label, kind); order is display order.
REPORTING_CATEGORIES: dict[str, tuple[str, str]] = {
    "TA": ("All students", "total"),
    "RA": ("Asian", "race"),
    "RB": ("African American", "race"),
    "RD": ("Race not reported", "race"),
    "RF": ("Filipino", "race"),
    "RH": ("Hispanic or Latino", "race"),
    "RI": ("American Indian or Alaska Native", "race"),
    "RP": ("Pacific Islander", "race"),
    "RT": ("Two or more races", "race"),
    "RW": ("White", "race"),
    "GF": ("Female", "gender"),
    "GM": ("Male", "gender"),
    "GX": ("Non-binary", "gender"),
    "SD": ("Students with disabilities", "program"),
    "SE": ("English learners", "program"),
    "SF": ("Foster youth", "program"),
    "SH": ("Homeless youth", "program"),
    "SM": ("Migrant", "program"),
    "SS": ("Socioeconomically disadvantaged", "program"),
    "GRTKKN": ("Grades TK-K", "grade"),
    "GR13": ("Grades 1-3", "grade"),
    "GR46": ("Grades 4-6", "grade"),
    "GR78": ("Grades 7-8", "grade"),
    "GRTK8": ("Grades TK-8", "grade"),
    "GR912": ("Grades 9-12", "grade"),
}
# CDE documents GZ but it was not seen in 2024-25 files; accept it on read.
EXTRA_CATEGORIES: dict[str, tuple[str, str]] = {"GZ": ("Missing gender", "gender")}

# Directory SOC code -> dashboard school type.
SOC_SCHOOL_TYPE: dict[str, str] = {
    "60": "ES",
    "61": "ES",  # Elementary Schools in 1 School District (Public)
    "62": "MS",
    "64": "MS",
    "65": "K-12",
    "66": "HS",
    "67": "HS",  # High Schools in 1 School District (Public)
    "68": "HS",
}


def school_type_from_soc(soc: str | None) -> str:
    return SOC_SCHOOL_TYPE.get((soc or "").strip(), "other")


# Directory DOC code -> LEA type (picks the Dashboard suspension cut set).
DOC_LEA_TYPE: dict[str, str] = {"52": "elementary", "56": "high", "54": "unified", "00": "coe"}


def lea_type_from_doc(doc: str | None) -> str:
    return DOC_LEA_TYPE.get((doc or "").strip(), "other")


SCHOOL_TYPES = ["ES", "MS", "HS", "K-12", "other"]
METRICS = ["chronic_absenteeism", "suspension"]
ACTIVITY_TYPES = ["learning_opportunity", "support_session", "referral", "engagement_event", "items_distributed"]
GRANT_TYPES = ["planning", "implementation", "coordination"]

_YEAR_RE = re.compile(r"^(\d{4})-(\d{2})$")


def is_academic_year(value: str) -> bool:
    """'2023-24' style, second part the year after the first."""
    m = _YEAR_RE.match(value)
    return bool(m) and (int(m.group(1)) + 1) % 100 == int(m.group(2))


def year_start(year: str) -> int:
    """'2023-24' -> 2023."""
    if not is_academic_year(year):
        raise ValueError(f"not an academic year like '2023-24': {year!r}")
    return int(year[:4])


def academic_year(start: int) -> str:
    """2023 -> '2023-24'."""
    return f"{start}-{(start + 1) % 100:02d}"


def previous_year(year: str) -> str:
    return academic_year(year_start(year) - 1)


def year_range(first: str, last: str) -> list[str]:
    return [academic_year(y) for y in range(year_start(first), year_start(last) + 1)]


# The same year arithmetic as native Polars expressions. Python functions inside
# Polars (map_elements) run on its thread pool and need the GIL there: under
# concurrent sessions that deadlocked the server, so request-path code uses these.

def shift_year_expr(year: pl.Expr, years: int = 1) -> pl.Expr:
    """'2023-24' -> '2024-25' (years=1) as an expression; null stays null."""
    start = year.str.slice(0, 4).cast(pl.Int32) + years
    return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))


def month_academic_year_expr(month: pl.Expr) -> pl.Expr:
    """'2024-09' -> '2024-25', '2025-03' -> '2024-25': academic years run July to June."""
    y = month.str.slice(0, 4).cast(pl.Int32)
    m = month.str.slice(5, 2).cast(pl.Int32)
    start = pl.when(m >= 7).then(y).otherwise(y - 1)
    return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))


def shift_month_expr(month: pl.Expr, years: int = 1) -> pl.Expr:
    """'2024-09' -> '2025-09' (years=1)."""
    return pl.format("{}-{}", month.str.slice(0, 4).cast(pl.Int32) + years, month.str.slice(5, 2))


# Years a trend, a change or a baseline must flag (CDE's own statements, quoted in the
# research notes of issue 14): what the year is, per metric (None: both metrics).
YEAR_CAVEATS: dict[tuple[str | None, str], str] = {
    ("suspension", "2019-20"): "2019-20 suspension data are not comparable with other years (CDE: schools closed "
                               "in March 2020)",
    ("chronic_absenteeism", "2019-20"): "2019-20 chronic absenteeism was not published (CDE: not valid and "
                                        "reliable that year)",
    (None, "2020-21"): "2020-21 was taught mostly at a distance",
}


# Years CDE published no file for a metric: a figure there is "not published", never
# "suppressed" (that word is for the privacy rule, fewer than 11 students).
NOT_PUBLISHED: frozenset[tuple[str, str]] = frozenset({("chronic_absenteeism", "2019-20")})


def is_published(metric: str | None, year: str | None) -> bool:
    """False where CDE published no data for `metric` in `year` (chronic absenteeism 2019-20)."""
    return (metric, year) not in NOT_PUBLISHED


def not_published_expr(metric: str | None, year: "pl.Expr") -> "pl.Expr":
    """A boolean column: this row's year is one CDE never published for `metric`."""
    years = [y for m, y in NOT_PUBLISHED if m == metric]
    return year.is_in(years) if years else pl.lit(False)


def year_caveats(metric: str | None, years: list[str]) -> list[str]:
    """The caveats of the years shown (in year order) for a metric."""
    out = []
    for y in sorted(set(years)):
        for m in (metric, None):
            if (m, y) in YEAR_CAVEATS:
                out.append(YEAR_CAVEATS[(m, y)])
    return out


# Minimum number of students behind any figure a person may see.
MIN_N = 11
