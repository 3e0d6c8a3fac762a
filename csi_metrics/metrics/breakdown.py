"""Pooled rates by one column with their Dashboard placement: what the report
command prints, the Equity page shows and the by-SPA and by-group slides draw."""

from __future__ import annotations

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.metrics import placement, rates
from csi_metrics.vocabulary.filters import Filters


def _prior(
    con: duckdb.DuckDBPyConnection, metric: str, by: str, filters: Filters, by_dtype: pl.DataType
) -> pl.DataFrame:
    """by, prior_rate: the shown rows a year earlier (null when unknown or suppressed)."""
    if by == "year":
        every = rates.pooled_rates(con, metric, ["year"], filters.with_(year=None))
        return every.select(codes.shift_year_expr(pl.col("year")).alias("year"), pl.col("rate").alias("prior_rate"))
    if not (filters.year and codes.is_academic_year(filters.year)):
        return pl.DataFrame(schema={by: by_dtype, "prior_rate": pl.Float64})
    return rates.pooled_rates(con, metric, [by], filters.with_(year=codes.previous_year(filters.year))).select(
        by, pl.col("rate").alias("prior_rate"))


PLACEMENT_OUT = ["placed_group", "placed_rate", "placed_change_pp", "status_level", "change_level", "color",
                 "level_note", "level_source", "cut_set", "cut_set_note"]


def breakdown(
    con: duckdb.DuckDBPyConnection, metric: str, by: str, filters: Filters
) -> pl.DataFrame:
    """Pooled rates by one column with their Dashboard placement: the report, the
    Equity page and the presenter's by-SPA and by-group charts.

    rate = pooled numerator_n / denominator_n of filters.student_group (every
    group when by='student_group'), as rates.pooled_rates (the DataQuest rate,
    all grades); prior_rate = the same rows a year earlier; change_pp = (rate -
    prior_rate) * 100, unrounded. The placement columns come from
    csi_metrics.metrics.placement (the one placement rule): placed_rate is the rate the
    level was placed on (TK-8 for chronic absenteeism), level_source says
    official or computed. Suppression: a suppressed row (under 11 students, CDE
    '*', or hidden by the build's pattern) has null rate, counts, prior_rate,
    change_pp and placement, level_note 'suppressed'.
    Columns: by, [labels], numerator_n, denominator_n, rate, rate_pct,
    schools_n, suppressed_schools_n, suppressed, prior_rate, change_pp, and PLACEMENT_OUT."""
    shown = rates.pooled_rates(con, metric, [by], filters)
    pre = _prior(con, metric, by, filters, shown.schema[by])
    placed = placement.place(con, metric, [by], filters).select(by, *PLACEMENT_OUT)
    out = shown.join(pre, on=[by], how="left", nulls_equal=True).join(placed, on=[by], how="left", nulls_equal=True)
    out = out.with_columns(((pl.col("rate") - pl.col("prior_rate")) * 100).alias("change_pp"))
    # A prior or change of a hidden figure would narrow it down.
    out = out.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in ("prior_rate", "change_pp")])
    out = out.with_columns((pl.col("rate") * 100).alias("rate_pct"))
    return out.select(*[c for c in out.columns if c not in ("prior_rate", "change_pp", *PLACEMENT_OUT)],
                      "prior_rate", "change_pp", *PLACEMENT_OUT)
