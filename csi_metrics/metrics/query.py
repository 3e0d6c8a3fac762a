"""Filters to SQL, once per table, and the query helper every metric function uses.

Each table says which column answers each filter (`Table`); `where` turns
Filters into conditions with bound `?` parameters in that table's terms. A
filter a table cannot answer is not silently dropped: `where` raises unless the
caller lists it in `skip` (the caller then says, in its docstring and caption,
that it ignores it). Identifiers come only from these declarations, never from a
user value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.filters import COMMUNITY_CHOICES, KEYS, FilterOptions, Filters


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
    """Run a query with bound parameters and return a Polars frame (duckdb 2.x has
    no `.pl()` on execute results; `con.sql(...).pl()` avoids a copy)."""
    return con.sql(sql, params=list(params)).pl()


@dataclass(frozen=True)
class Table:
    """How one table (with its fixed alias) answers each filter. `columns` maps a
    filter to the SQL expression holding it; `community` is the boolean column
    that is true for community schools; `county` the county code column."""

    name: str
    columns: dict[str, str]
    community: str | None = None
    county: str | None = None
    # the filters answered through the schools table (s.*): a caller joins it only then
    via_schools: frozenset[str] = field(default_factory=frozenset)

    def answers(self, key: str) -> bool:
        return key in self.columns or (key == "community" and self.community is not None)


OUTCOMES = Table(
    "outcomes o JOIN schools s",
    {"year": "o.academic_year", "spa": "s.spa_n", "district": "s.district_code", "school": "s.cds_code",
     "cohort": "s.ccspp_cohort", "school_type": "s.school_type", "student_group": "o.reporting_category"},
    community="s.is_community", county="s.county_code")
SCHOOLS = Table(
    "schools s",
    {"spa": "s.spa_n", "district": "s.district_code", "school": "s.cds_code", "cohort": "s.ccspp_cohort",
     "school_type": "s.school_type"},
    community="s.is_community", county="s.county_code")
# Grants go to community schools (and their LEAs), so the community filter has no meaning here.
GRANTS = Table(
    "grants g",
    {"year": "g.award_year", "spa": "g.spa_n", "district": "g.district_code", "school": "g.grantee_cds",
     "cohort": "g.cohort", "school_type": "g.school_type"},
    county="g.county_code")
ACTIVITIES = Table(
    "activities a (schools s when needed)",
    {"year": "a.academic_year", "spa": "a.spa_n", "district": "substr(a.cds_code, 1, 7)", "school": "a.cds_code",
     "cohort": "s.ccspp_cohort", "school_type": "s.school_type"},
    community="s.is_community", via_schools=frozenset({"community", "cohort", "school_type"}))


def where(filters: Filters, table: Table, *, skip: Sequence[str] = (),
          county_code: str | None = codes.LA_COUNTY_CODE) -> tuple[list[str], list[object]]:
    """Conditions and bound parameters for `filters` on `table`. Filters in `skip`
    are left out on purpose; any other filter the table cannot answer raises
    ValueError naming it (a view must say what it ignores, not drop it).
    county_code: one county's rows (LA, '19'), or None for every row."""
    if filters.community not in COMMUNITY_CHOICES:
        raise ValueError(f"community must be one of {', '.join(COMMUNITY_CHOICES)}; got {filters.community!r}")
    conds: list[str] = []
    params: list[object] = []
    if county_code is not None and table.county is not None:
        conds.append(f"{table.county} = ?")
        params.append(county_code)
    defaults = Filters()
    for key in KEYS:
        value = getattr(filters, key)
        if key in skip or value is None or (key == "community" and value == "all"):
            continue
        if key == "student_group" and value == defaults.student_group and not table.answers(key):
            continue  # all students: every table's rows are all students
        if not table.answers(key):
            raise ValueError(f"{table.name} cannot be filtered by {key}; list it in skip= and say so")
        if key == "community":
            conds.append(table.community if value == "community" else f"NOT {table.community}")
        else:
            conds.append(f"{table.columns[key]} = ?")
            params.append(int(value) if key in ("spa", "cohort") else value)
    return conds, params


def needs_schools(filters: Filters, table: Table, skip: Sequence[str] = ()) -> bool:
    """Whether `where` on `table` refers to the schools table (s.*) for these filters."""
    return any(getattr(filters, k) not in (None, "all") and k not in skip for k in table.via_schools)


def check_by(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """The grouping columns as a list, or a ValueError naming the allowed ones."""
    out = list(by)
    bad = [b for b in out if b not in allowed]
    if bad:
        raise ValueError(f"by must be drawn from {', '.join(allowed)}; got {', '.join(map(repr, bad))}")
    if len(set(out)) != len(out):
        raise ValueError(f"by has a repeated column: {out}")
    return out


# Each page offers the years its own data has: CDE's outcome files lag a year or
# more behind the initiative's awards and activities.
YEAR_SOURCES = {
    "outcomes": "SELECT DISTINCT academic_year AS y FROM outcomes WHERE aggregate_level = 'S' ORDER BY 1",
    "grants": "SELECT DISTINCT award_year AS y FROM grants WHERE county_code = '19' ORDER BY 1",
    "activities": "SELECT DISTINCT academic_year AS y FROM activities ORDER BY 1",
}


def filter_options(con: duckdb.DuckDBPyConnection, years_from: str = "outcomes") -> FilterOptions:
    """Every value a filter may take in this database; years from `years_from`
    (YEAR_SOURCES; the outcome years when that source has none)."""
    years = fetch(con, YEAR_SOURCES[years_from])
    if years.is_empty():
        years = fetch(con, YEAR_SOURCES["outcomes"])
    spas = fetch(con, "SELECT DISTINCT spa_n FROM schools WHERE spa_n IS NOT NULL ORDER BY 1")
    dists = fetch(con, "SELECT DISTINCT district_code, district_name, spa_n FROM schools ORDER BY 2, 3")
    cohorts = fetch(con, "SELECT DISTINCT ccspp_cohort FROM schools WHERE ccspp_cohort IS NOT NULL ORDER BY 1")
    types = fetch(con, "SELECT DISTINCT school_type FROM schools")
    groups = fetch(con, """SELECT rc.code, rc.label FROM reporting_categories rc
                           WHERE rc.code IN (SELECT DISTINCT reporting_category FROM outcomes) ORDER BY rc.sort_order""")
    order = {t: i for i, t in enumerate(codes.SCHOOL_TYPES)}
    return FilterOptions(
        years=tuple(years["y"].to_list()),
        spas=tuple(spas["spa_n"].to_list()),
        districts=tuple(dists.iter_rows()),
        cohorts=tuple(cohorts["ccspp_cohort"].to_list()),
        school_types=tuple(sorted(types["school_type"].to_list(), key=lambda t: order.get(t, 99))),
        student_groups=tuple(groups.iter_rows()),
    )
