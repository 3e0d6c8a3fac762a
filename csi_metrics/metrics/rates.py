"""Pooled chronic absenteeism and suspension rates for any grouping.

Definitions (CDE files, see ../shared/data/SOURCES.md §3):
- chronic absenteeism rate = chronically absent students / eligible cumulative
  enrollment (ChronicAbsenteeismCount / ChronicAbsenteeismEligibleCumulativeEnrollment);
- suspension rate = unduplicated students suspended / cumulative enrollment.

A rate over several schools is POOLED: sum of numerators over sum of
denominators of the school rows (aggregate_level 'S'), never a mean of rates.
Only school figures the build left visible are pooled (outcomes.visible, decided
once by privacy.cell_visibility: CDE's '*' rows, figures under 11 students and
the complementary figures that would give them back). A hidden school figure
contributes nothing; `suppressed_schools_n` says how many a cell left out,
`schools_n` how many it pools. A pooled district figure is therefore not CDE's
own district row: it leaves out hidden school figures, and a student enrolled at
two schools of the district counts at each.

Every frame returned here has had primary and complementary suppression applied
to the pooled cells too (csi_metrics.rules.privacy): rate, numerator_n and
denominator_n are null and `suppressed` is True where the group has fewer than
11 students, or where the value could otherwise be recovered by subtraction.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.rules import privacy
from csi_metrics.metrics import query
from csi_metrics.vocabulary.filters import Filters

METRICS = tuple(codes.METRICS)

# by-name -> SQL expression. Identifiers in SQL come only from this whitelist.
BY_COLUMNS: dict[str, str] = {
    "year": "o.academic_year",
    "spa": "s.spa_n",
    "district": "s.district_code",
    "school": "o.cds_code",
    "school_type": "s.school_type",
    "student_group": "o.reporting_category",
    "community": "CASE WHEN s.is_community THEN 'community' ELSE 'comparison' END",
    "cohort": "s.ccspp_cohort",
}
# Labels carried alongside a grouping column (functionally dependent on it).
BY_LABELS: dict[str, list[tuple[str, str]]] = {
    "district": [("district_name", "any_value(s.district_name)")],
    "school": [("school_name", "any_value(s.school_name)"), ("district_name", "any_value(s.district_name)")],
}
# A breakdown along these partitions a visible total; year does not (no
# multi-year total is shown), so it is never used for complementary suppression.
PARTITION_DIMS = ("spa", "district", "school", "school_type", "student_group", "community", "cohort")

RESULT_COLUMNS = ["numerator_n", "denominator_n", "rate", "schools_n", "suppressed_schools_n", "suppressed"]


def check_metric(metric: str) -> str:
    """The metric name, or a ValueError naming the allowed ones."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    return metric


def raw_pooled(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    by: Sequence[str],
    filters: Filters,
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
    years: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Pooled counts BEFORE suppression, for internal use (e.g. to compute a
    change from unrounded rates). Never show this frame to a person.
    years: only these academic years (with filters.year None), for `pooled_rates_in_years`."""
    check_metric(metric)
    by = query.check_by(by, BY_COLUMNS)
    conds, params = query.where(filters, query.OUTCOMES, skip=("student_group",) if "student_group" in by else (),
                                county_code=county_code)
    if years is not None:
        conds.append(f"o.academic_year IN ({', '.join('?' for _ in years)})")
        params.extend(years)
    select = [f"{BY_COLUMNS[b]} AS {b}" for b in by]
    for b in by:
        select += [f"{expr} AS {name}" for name, expr in BY_LABELS.get(b, []) if name not in by]
    # A label may appear twice (school and district both carry district_name).
    seen: set[str] = set()
    select_unique = []
    for item in select:
        alias = item.rsplit(" AS ", 1)[1]
        if alias not in seen:
            seen.add(alias)
            select_unique.append(item)
    # Only cells the build left visible are pooled (privacy.cell_visibility): every pooled
    # figure is then a sum of figures that are themselves shown, and no difference of
    # two views can give back a hidden cell.
    known = "(o.visible AND o.numerator_n IS NOT NULL AND o.denominator_n IS NOT NULL)"
    # A school has one row per year and category, so within one year a plain count
    # is the number of schools; DISTINCT (several times slower) only across years.
    one_year = "year" in by or filters.year is not None
    schools_n = "count(*)" if one_year else "count(DISTINCT o.cds_code)"
    sql = f"""
        SELECT {', '.join(select_unique + [''])}
               CAST(sum(o.numerator_n) FILTER (WHERE {known}) AS BIGINT) AS numerator_n,
               CAST(sum(o.denominator_n) FILTER (WHERE {known}) AS BIGINT) AS denominator_n,
               CAST({schools_n} FILTER (WHERE {known}) AS BIGINT) AS schools_n,
               CAST({schools_n} FILTER (WHERE NOT {known}) AS BIGINT) AS suppressed_schools_n
        FROM outcomes o JOIN schools s ON s.cds_code = o.cds_code
        WHERE o.metric = ? AND o.aggregate_level = 'S' {''.join(' AND ' + c for c in conds)}
        {'GROUP BY ' + ', '.join(str(i + 1) for i in range(len(by))) if by else ''}
        {'ORDER BY ' + ', '.join(str(i + 1) for i in range(len(by))) if by else ''}
    """
    df = query.fetch(con, sql, [metric, *params])
    return df.with_columns(
        pl.when(pl.col("denominator_n") > 0)
        .then(pl.col("numerator_n") / pl.col("denominator_n"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("rate")
    )


def _finish(df: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    dims = [d for d in by if d in PARTITION_DIMS]
    df = privacy.suppress_breakdown(df, list(by), dims)
    label_cols = [c for c in df.columns if c not in by and c not in RESULT_COLUMNS]
    return df.select([*by, *label_cols, *RESULT_COLUMNS])


def pooled_rates(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    by: Sequence[str],
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Pooled rate of `metric` for each combination of `by` under `filters`.

    numerator_n = sum of the known school numerators, denominator_n = sum of the
    known school denominators, rate = numerator_n / denominator_n (0-1; null
    when the denominator is 0). schools_n counts the school figures pooled;
    suppressed_schools_n the hidden school figures left out (module docstring). When 'student_group' is in `by` every reporting category is
    returned and filters.student_group is ignored. Suppression: a cell under 11
    students, and the complementary cell of a partition with one hidden cell,
    has null rate/numerator_n/denominator_n and suppressed=True.
    Columns: *by, [district_name, school_name labels], numerator_n,
    denominator_n, rate, schools_n, suppressed_schools_n, suppressed.
    """
    by = query.check_by(by, BY_COLUMNS)
    memo = _REUSE.get()
    key = (id(con), metric, tuple(by), filters, county_code)
    if memo is not None and key in memo:
        return memo[key]
    df = _finish(raw_pooled(con, metric, by, filters, county_code=county_code), by)
    if memo is not None:
        memo[key] = df
    return df


# Frames of pooled_rates already computed inside a `reuse()` block, by their arguments.
_REUSE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("pooled_rates_reuse", default=None)


@contextlib.contextmanager
def reuse() -> Iterator[None]:
    """Inside this block pooled_rates returns the frame it already computed for the same
    arguments instead of asking the database again: one view (the school table, the
    headline) asks for the same pooled figures several times over, for the values, the
    change and the placement. Frames are never changed in place, so sharing one is safe;
    the memo lives only as long as the block, in this thread's context (no cache
    outlives a call, so a rebuilt database is always read afresh)."""
    if _REUSE.get() is not None:
        yield
        return
    token = _REUSE.set({})
    try:
        yield
    finally:
        _REUSE.reset(token)


def remembered(key: tuple, compute):
    """compute(), or inside a `reuse()` block the value it gave for `key` earlier in the block."""
    memo = _REUSE.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def pooled_rates_in_years(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    by: Sequence[str],
    filters: Filters,
    years: Sequence[str],
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> dict[str, pl.DataFrame]:
    """{year: pooled_rates(con, metric, by, filters.with_(year=year))} for each of `years`,
    from one query grouped by year as well. The same frames: year is never a partition
    of a total (PARTITION_DIMS), so suppressing the years together is suppressing each
    alone. Inside `reuse()` the frames are kept for the pooled_rates calls that follow."""
    by = query.check_by(by, BY_COLUMNS)
    if "year" in by:
        raise ValueError("pooled_rates_in_years: by already has 'year'")
    if not by:
        # An ungrouped pool is one row even over no school; grouped by year, a year with none has no row.
        return {y: pooled_rates(con, metric, by, filters.with_(year=y), county_code=county_code) for y in years}
    memo = _REUSE.get()
    if memo is None:
        memo = {}
    keys = {y: (id(con), metric, tuple(by), filters.with_(year=y), county_code) for y in years}
    wanted = [y for y in dict.fromkeys(years) if keys[y] not in memo]
    if wanted:
        every = _finish(raw_pooled(con, metric, [*by, "year"], filters.with_(year=None), county_code=county_code,
                                   years=wanted), [*by, "year"])
        for y in wanted:
            memo[keys[y]] = every.filter(pl.col("year") == y).drop("year")
    return {y: memo[keys[y]] for y in years}


def county_rate(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    *,
    by: Sequence[str] = ("year",),
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """The LA County reference: every LA County school pooled, keeping only the
    year and student-group filters (SPA, district, school, community, cohort and
    school type are dropped). Grouped by year by default, so it draws as a
    reference line; same columns and suppression as `pooled_rates`."""
    county_filters = Filters(year=filters.year, student_group=filters.student_group)
    return pooled_rates(con, metric, list(by), county_filters, county_code=county_code)
