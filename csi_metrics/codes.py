"""Code lists shared by ingest and metrics: SPAs, CDE reporting categories,
school and LEA types, academic years. Sources: ../shared/data/SOURCES.md."""

from __future__ import annotations

import re

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


# Minimum number of students behind any figure a person may see.
MIN_N = 11
