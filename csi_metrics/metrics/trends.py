"""Trends: pooled rates for every year, with year-over-year change and change
since a baseline year, as a tidy long frame ready for a trend chart.

Every academic year from the metric's first to its last year in the database
is present for every group. A year with no data (chronic absenteeism was not
collected for 2019-20) has a null rate: never zero, never interpolated.
Changes are in percentage points from UNROUNDED rates, and null whenever
either side is null or suppressed. Rates and counts carry the suppression of
`rates.pooled_rates` (under 11 students, or recoverable by subtraction).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.metrics import rates
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query


def year_span(con: duckdb.DuckDBPyConnection, metric: str) -> list[str]:
    """Every academic year from the metric's first to its last year in
    `outcomes`, gaps included; [] when there is no data."""
    rates.check_metric(metric)
    span = query.fetch(
        con, "SELECT min(academic_year) AS first, max(academic_year) AS last FROM outcomes WHERE metric = ?", [metric]
    )
    first, last = span.row(0)
    if first is None:
        return []
    return codes.year_range(first, last)


def trend(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    by: Sequence[str] = (),
    filters: Filters = Filters(),
    baseline_year: str | None = None,
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Long frame: year, *by, rate, numerator_n, denominator_n, schools_n,
    suppressed, yoy_change_pp, since_baseline_pp (+ label columns such as
    school_name when grouping by school).

    filters.year is ignored (a trend covers every year). yoy_change_pp =
    (rate - rate of the previous academic year) x 100; since_baseline_pp =
    (rate - rate in baseline_year) x 100, baseline_year defaulting to the first
    year of the span. A group missing from a year gets a row with null rate and
    suppressed=False (no data, not hidden); not_published marks a year CDE published
    no data for the metric (chronic absenteeism 2019-20), so it reads "not published"."""
    by = [b for b in query.check_by(by, rates.BY_COLUMNS) if b != "year"]
    years = year_span(con, metric)
    if baseline_year is not None and not codes.is_academic_year(baseline_year):
        raise ValueError(f"baseline_year must look like '2023-24'; got {baseline_year!r}")
    pooled = rates.pooled_rates(con, metric, ["year", *by], filters.with_(year=None), county_code=county_code)
    value_cols = ["rate", "numerator_n", "denominator_n", "schools_n", "suppressed"]
    label_cols = [c for c in pooled.columns if c not in ["year", *by, *value_cols, "suppressed_schools_n"]]
    year_frame = pl.DataFrame({"year": years}, schema={"year": pl.String})
    if by:
        groups = pooled.select([*by, *label_cols]).unique(subset=by, keep="first", maintain_order=True)
        grid = year_frame.join(groups, how="cross")
    else:
        grid = year_frame
    out = grid.join(pooled.select(["year", *by, *value_cols]), on=["year", *by], how="left", nulls_equal=True)
    out = out.with_columns(
        pl.col("suppressed").fill_null(False),
        pl.col("schools_n").fill_null(0),
        codes.not_published_expr(metric, pl.col("year")).alias("not_published"),
    )
    # Previous academic year by calendar, not by row: 2020-21's prior is 2019-20
    # even when that year has no row with data.
    prior = out.select(
        codes.shift_year_expr(pl.col("year")).alias("year"),
        *by,
        pl.col("rate").alias("__prior_rate"),
    )
    out = out.join(prior, on=["year", *by], how="left", nulls_equal=True)
    base_year = baseline_year or (years[0] if years else None)
    base = out.filter(pl.col("year") == pl.lit(base_year, dtype=pl.String)).select(*by, pl.col("rate").alias("__base_rate"))
    if by:
        out = out.join(base, on=by, how="left", nulls_equal=True)
    else:
        out = out.with_columns(
            pl.lit(base.get_column("__base_rate")[0] if base.height else None, dtype=pl.Float64).alias("__base_rate")
        )
    out = out.with_columns(
        ((pl.col("rate") - pl.col("__prior_rate")) * 100).alias("yoy_change_pp"),
        ((pl.col("rate") - pl.col("__base_rate")) * 100).alias("since_baseline_pp"),
    ).drop("__prior_rate", "__base_rate")
    order = {y: i for i, y in enumerate(years)}
    out = out.with_columns(pl.col("year").replace_strict(order, default=None, return_dtype=pl.Int32).alias("__o"))
    out = out.sort([*by, "__o"], nulls_last=True).drop("__o")
    return out.select(
        ["year", *by, *label_cols, "rate", "numerator_n", "denominator_n", "schools_n", "suppressed",
         "not_published", "yoy_change_pp", "since_baseline_pp"]
    )
