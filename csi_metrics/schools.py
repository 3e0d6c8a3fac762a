"""School table and school profile.

`school_table`: one row per LA County school in the filters with its roster
facts and, for the year, both outcome rates, the change from the prior year
(pp, unrounded) and the Dashboard status, change and colour.
`school_profile`: one school's facts and its trend frames.

Dashboard placement per school: chronic absenteeism uses the school's GRTK8
(grades TK-8) rows, since the Dashboard indicator covers K-8 only (a high
school has no chronic absenteeism colour); suspension uses the all-students
rows and the cut set of the school's type (ES, MS, HS; K-12 and other schools
use the unified set). Rates shown are the all-students (TA) rates.

Suppression: rates, counts and changes come from rates.pooled_rates grouped by
school, so a school under 11 students (CDE '*' included) shows null values and
suppressed=True, with complementary suppression among the listed schools when a
hidden school's counts are known; no colour under 30 students.
"""

from __future__ import annotations

import duckdb
import polars as pl

from . import codes, levels, rates, trends
from .filters import Filters

OUTCOMES = ("chronic_absenteeism", "suspension")
SCHOOL_COLUMNS = ["cds_code", "school_name", "district_code", "district_name", "spa_n", "school_type",
                  "is_community", "ccspp_cohort", "grant_type", "first_grant_year"]


def _latest_year(con: duckdb.DuckDBPyConnection) -> str | None:
    return rates.fetch(con, "SELECT max(academic_year) AS y FROM outcomes").item()


def _schools(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    conds, params = rates.filter_where(filters, outcome_alias=None)
    return rates.fetch(
        con,
        f"SELECT {', '.join('s.' + c for c in SCHOOL_COLUMNS)} FROM schools s "
        f"{'WHERE ' + ' AND '.join(conds) if conds else ''} ORDER BY s.school_name, s.cds_code",
        params,
    )


def _by_school(con, metric: str, filters: Filters, year: str, group: str) -> pl.DataFrame:
    df = rates.pooled_rates(con, metric, ["school"], filters.with_(year=year, student_group=group))
    return df.select(
        pl.col("school").alias("cds_code"), "rate", "numerator_n", "denominator_n", "suppressed"
    )


def _levels_for(metric: str, frame: pl.DataFrame) -> pl.DataFrame:
    """frame: cds_code, school_type, rate, denominator_n, prior_rate, suppressed."""
    if metric == "suspension":
        frame = frame.with_columns(
            levels.suspension_cut_set_expr(pl.col("school_type")).alias("__cut")
        )
        return levels.add_dashboard_levels(frame, metric, "__cut").drop("__cut")
    return levels.add_dashboard_levels(frame, metric)


def school_table(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per school: cds_code, school_name, district_code, district_name,
    spa_n, school_type, is_community, ccspp_cohort, grant_type,
    first_grant_year, year, and for m in chronic_absenteeism, suspension:
    {m}_rate, {m}_numerator_n, {m}_denominator_n, {m}_suppressed,
    {m}_change_pp, {m}_status_level, {m}_change_level, {m}_color, {m}_level_note.
    filters.year None = latest year; filters.student_group is used for the rates
    (the Dashboard placement always uses GRTK8 / TA as described above)."""
    year = filters.year or _latest_year(con)
    out = _schools(con, filters)
    if year is None:
        return out.with_columns(pl.lit(None, dtype=pl.String).alias("year"))
    prior = codes.previous_year(year)
    out = out.with_columns(pl.lit(year).alias("year"))
    for metric in OUTCOMES:
        cur = _by_school(con, metric, filters, year, filters.student_group)
        pre = _by_school(con, metric, filters, prior, filters.student_group).select(
            "cds_code", pl.col("rate").alias("prior_rate")
        )
        shown = cur.join(pre, on="cds_code", how="left").with_columns(
            ((pl.col("rate") - pl.col("prior_rate")) * 100).alias("change_pp_exact")
        )
        group = "GRTK8" if metric == "chronic_absenteeism" else "TA"
        lcur = _by_school(con, metric, filters, year, group)
        lpre = _by_school(con, metric, filters, prior, group).select("cds_code", pl.col("rate").alias("prior_rate"))
        placed = _levels_for(
            metric,
            lcur.join(lpre, on="cds_code", how="left").join(
                out.select("cds_code", "school_type"), on="cds_code", how="left"
            ),
        ).select("cds_code", "status_level", "change_level", "color", "level_note")
        m = shown.select(
            "cds_code",
            pl.col("rate").alias(f"{metric}_rate"),
            pl.col("numerator_n").alias(f"{metric}_numerator_n"),
            pl.col("denominator_n").alias(f"{metric}_denominator_n"),
            pl.col("suppressed").alias(f"{metric}_suppressed"),
            pl.col("change_pp_exact").alias(f"{metric}_change_pp"),
        ).join(placed.rename({c: f"{metric}_{c}" for c in ["status_level", "change_level", "color", "level_note"]}),
               on="cds_code", how="left")
        out = out.join(m, on="cds_code", how="left").with_columns(
            pl.col(f"{metric}_suppressed").fill_null(False)
        )
        # A level of a hidden figure would narrow it down: none where the rate is suppressed.
        hidden = pl.col(f"{metric}_suppressed")
        out = out.with_columns(
            [pl.when(hidden).then(None).otherwise(pl.col(f"{metric}_{c}")).alias(f"{metric}_{c}")
             for c in ("status_level", "change_level", "color", "change_pp")]
            + [pl.when(hidden).then(pl.lit(levels.NOTE_SUPPRESSED)).otherwise(pl.col(f"{metric}_level_note"))
               .alias(f"{metric}_level_note")]
        )
    return out


def school_profile(con: duckdb.DuckDBPyConnection, cds_code: str) -> dict[str, pl.DataFrame]:
    """One school: {'school': its roster row (SCHOOL_COLUMNS), and for each
    metric a trend frame (trends.trend columns + status_level, change_level,
    color, level_note per year), and 'student_groups': latest-year rates by
    reporting category for both metrics (metric column added)}. Raises
    ValueError for an unknown CDS code."""
    if not isinstance(cds_code, str) or len(cds_code) != 14:
        raise ValueError(f"cds_code must be a 14-character string; got {cds_code!r}")
    info = rates.fetch(
        con, f"SELECT {', '.join(SCHOOL_COLUMNS)} FROM schools WHERE cds_code = ?", [cds_code]
    )
    if info.height == 0:
        raise ValueError(f"no school with CDS code {cds_code}")
    school_type = info["school_type"][0]
    f = Filters(school=cds_code)
    out: dict[str, pl.DataFrame] = {"school": info}
    for metric in OUTCOMES:
        t = trends.trend(con, metric, [], f)
        group = "GRTK8" if metric == "chronic_absenteeism" else "TA"
        lt = trends.trend(con, metric, [], f.with_(student_group=group))
        lt = lt.with_columns(
            (pl.col("rate") - pl.col("yoy_change_pp") / 100).alias("prior_rate"),
            pl.lit(school_type).alias("school_type"),
        )
        placed = _levels_for(metric, lt).select("year", "status_level", "change_level", "color", "level_note")
        t = t.join(placed, on="year", how="left")
        out[metric] = t.with_columns(
            [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
             for c in ("status_level", "change_level", "color")]
        )
    groups = []
    year = _latest_year(con)
    for metric in OUTCOMES:
        g = rates.pooled_rates(con, metric, ["student_group"], Filters(school=cds_code, year=year))
        groups.append(g.select(pl.lit(metric).alias("metric"), pl.lit(year).alias("year"), *g.columns))
    out["student_groups"] = pl.concat(groups, how="vertical") if groups else pl.DataFrame()
    return out
