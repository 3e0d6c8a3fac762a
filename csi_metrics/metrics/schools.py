"""School table and school profile.

`school_table`: one row per LA County school in the filters with its roster
facts and, for the year, both outcome rates, the change from the prior year
(pp, unrounded) and the Dashboard status, change and colour.
`school_profile`: one school's facts and its trend frames.

Dashboard placement comes from csi_metrics.metrics.placement (CDE's official colour
where its Dashboard file was loaded, else computed: chronic absenteeism on
the school's TK-8 rows, so a high school has none; suspension with the cut set
of the school's type). Rates shown are the DataQuest rates of the student group.

Suppression: rates, counts and changes come from rates.pooled_rates grouped by
school, so a school cell the build hid (CDE '*', under 11 students,
complementary) shows null values and suppressed=True, and no level.
"""

from __future__ import annotations

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.metrics import placement, rates, trends
from csi_metrics.rules import privacy
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query

OUTCOMES = ("chronic_absenteeism", "suspension")
SCHOOL_COLUMNS = ["cds_code", "school_name", "district_code", "district_name", "spa_n", "school_type",
                  "is_community", "ccspp_cohort", "grant_type", "first_grant_year"]


def _latest_year(con: duckdb.DuckDBPyConnection) -> str | None:
    return query.fetch(con, "SELECT max(academic_year) AS y FROM outcomes").item()


def _schools(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    conds, params = query.where(filters, query.SCHOOLS, skip=("year", "student_group"))
    return query.fetch(
        con,
        f"SELECT {', '.join('s.' + c for c in SCHOOL_COLUMNS)} FROM schools s "
        f"{'WHERE ' + ' AND '.join(conds) if conds else ''} ORDER BY s.school_name, s.cds_code",
        params,
    )


def _by_school(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col("school").alias("cds_code"), "rate", "numerator_n", "denominator_n", "suppressed"
    )


PLACED = ("placed_rate", "placed_group", "status_level", "change_level", "color", "level_note", "level_source",
          "cut_set_note")


def school_table(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per school: cds_code, school_name, district_code, district_name,
    spa_n, school_type, is_community, ccspp_cohort, grant_type,
    first_grant_year, year, and for m in chronic_absenteeism, suspension:
    {m}_rate, {m}_numerator_n, {m}_denominator_n, {m}_suppressed,
    {m}_change_pp, and the placement (csi_metrics.metrics.placement, the one rule):
    {m}_placed_rate (the rate placed: TK-8 for chronic absenteeism),
    {m}_placed_group, {m}_status_level, {m}_change_level, {m}_color,
    {m}_level_note, {m}_level_source (official / computed), {m}_cut_set_note.
    filters.year None = latest year; filters.student_group is used for the rates
    and the placement."""
    # The rates, their change and their placement pool the same school figures: each is asked
    # of the database once (rates.reuse), the year and the prior year in one query.
    with rates.reuse():
        return _school_table(con, filters)


def _school_table(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    year = filters.year or _latest_year(con)
    out = _schools(con, filters)
    if year is None:
        return out.with_columns(pl.lit(None, dtype=pl.String).alias("year"))
    f = filters.with_(year=year)
    prior = codes.previous_year(year)
    out = out.with_columns(pl.lit(year).alias("year"))
    for metric in OUTCOMES:
        both = rates.pooled_rates_in_years(con, metric, ["school"], f, [year, prior])
        cur = _by_school(both[year])
        pre = _by_school(both[prior]).select("cds_code", pl.col("rate").alias("prior_rate"))
        shown = cur.join(pre, on="cds_code", how="left").with_columns(
            pl.when(pl.col("suppressed")).then(None).otherwise((pl.col("rate") - pl.col("prior_rate")) * 100)
            .alias("change_pp_exact"))
        placed = placement.place(con, metric, ["school"], f).rename({"school": "cds_code"}).select(
            "cds_code", *[pl.col(c).alias(f"{metric}_{c}") for c in PLACED])
        m = shown.select(
            "cds_code",
            pl.col("rate").alias(f"{metric}_rate"),
            pl.col("numerator_n").alias(f"{metric}_numerator_n"),
            pl.col("denominator_n").alias(f"{metric}_denominator_n"),
            pl.col("suppressed").alias(f"{metric}_suppressed"),
            pl.col("change_pp_exact").alias(f"{metric}_change_pp"),
        ).join(placed, on="cds_code", how="left")
        out = out.join(m, on="cds_code", how="left").with_columns(pl.col(f"{metric}_suppressed").fill_null(False))
    return out


def school_profile(con: duckdb.DuckDBPyConnection, cds_code: str) -> dict[str, pl.DataFrame]:
    """One school: {'school': its roster row (SCHOOL_COLUMNS), and for each
    metric a trend frame (trends.trend columns + the placement of each year:
    placed_rate, status_level, change_level, color, level_note, level_source),
    and 'student_groups': latest-year rates by reporting category for both
    metrics (metric column added) with their placement}. Raises ValueError for
    an unknown CDS code."""
    if not isinstance(cds_code, str) or len(cds_code) != 14:
        raise ValueError(f"cds_code must be a 14-character string; got {cds_code!r}")
    info = query.fetch(
        con, f"SELECT {', '.join(SCHOOL_COLUMNS)} FROM schools WHERE cds_code = ?", [cds_code]
    )
    if info.height == 0:
        raise ValueError(f"no school with CDS code {cds_code}")
    f = Filters(school=cds_code)
    out: dict[str, pl.DataFrame] = {"school": info}
    for metric in OUTCOMES:
        t = trends.trend(con, metric, [], f)
        placed = placement.place(con, metric, ["year"], f).select("year", *PLACED)
        out[metric] = t.join(placed, on="year", how="left")
    groups = []
    year = _latest_year(con)
    for metric in OUTCOMES:
        fy = Filters(school=cds_code, year=year)
        g = rates.pooled_rates(con, metric, ["student_group"], fy)
        g = g.join(placement.place(con, metric, ["student_group"], fy).select("student_group", *PLACED),
                   on="student_group", how="left")
        groups.append(g.select(pl.lit(metric).alias("metric"), pl.lit(year).alias("year"), *g.columns))
    out["student_groups"] = pl.concat(groups, how="vertical") if groups else pl.DataFrame()
    if groups:
        # Which privacy rule hid each hidden group (rules.privacy decided it at build time), so the
        # profile can say "hidden so another cannot be worked out" instead of "fewer than 11".
        reasons = query.fetch(
            con,
            """SELECT metric, reporting_category AS student_group, min(hidden_reason) AS hidden_reason
               FROM outcomes WHERE cds_code = ? AND academic_year = ? AND aggregate_level = 'S'
                 AND NOT visible GROUP BY ALL""",
            [cds_code, year],
        ).cast({"metric": pl.String, "student_group": pl.String, "hidden_reason": pl.String})
        out["student_groups"] = out["student_groups"].join(reasons, on=["metric", "student_group"], how="left")
    return out


COMPARISON_COLUMNS = {"year": pl.String, "comparison": pl.String, "numerator_n": pl.Int64, "denominator_n": pl.Int64,
                      "rate": pl.Float64, "schools_n": pl.Int64, "suppressed": pl.Boolean}


def school_comparison(con: duckdb.DuckDBPyConnection, cds_code: str, metric: str) -> pl.DataFrame:
    """One school beside its district and its matched comparison schools, every year
    (all students). Each is pooled: sum of the visible school numerators over the sum
    of their denominators (rates.pooled_rates' rule; the district's figure includes the
    school). The matched schools are the school's comparison schools in impact_matches
    (csi_metrics.ingest.matching), none for a school that is not a community school.
    Columns COMPARISON_COLUMNS; `comparison` is "school", "district" or "matched";
    a figure of fewer than 11 students is null with suppressed=True."""
    rates.check_metric(metric)
    info = query.fetch(con, "SELECT district_code FROM schools WHERE cds_code = ?", [cds_code])
    if info.height == 0:
        raise ValueError(f"no school with CDS code {cds_code}")
    parts = []
    for name, f in (("school", Filters(school=cds_code)), ("district", Filters(district=info["district_code"][0]))):
        p = rates.pooled_rates(con, metric, ["year"], f)
        parts.append(p.select(pl.col("year"), pl.lit(name).alias("comparison"), *[c for c in COMPARISON_COLUMNS
                                                                                    if c not in ("year", "comparison")]))
    # Pooled over the matched schools' visible figures only, as every pooled rate is; a
    # match table may repeat a school (several grant types or baselines): counted once.
    matched = query.fetch(con, """
        SELECT o.academic_year AS year, 'matched' AS comparison,
               CAST(sum(o.numerator_n) AS BIGINT) AS numerator_n, CAST(sum(o.denominator_n) AS BIGINT) AS denominator_n,
               CAST(count(*) AS BIGINT) AS schools_n
        FROM outcomes o
        WHERE o.metric = ? AND o.aggregate_level = 'S' AND o.reporting_category = 'TA'
          AND o.visible AND o.numerator_n IS NOT NULL AND o.denominator_n IS NOT NULL
          AND o.cds_code IN (SELECT DISTINCT control_cds FROM impact_matches WHERE treated_cds = ? AND metric = ?)
        GROUP BY 1 ORDER BY 1""", [metric, cds_code, metric])
    if matched.height:
        matched = matched.with_columns(
            pl.when(pl.col("denominator_n") > 0).then(pl.col("numerator_n") / pl.col("denominator_n"))
            .cast(pl.Float64).alias("rate"))
        matched = privacy.suppress(matched).select(list(COMPARISON_COLUMNS))
        parts.append(matched)
    out = pl.concat([p.cast(COMPARISON_COLUMNS) for p in parts], how="vertical")  # type: ignore[arg-type]
    return out.with_columns(pl.col("suppressed").fill_null(False))


def matched_schools_n(con: duckdb.DuckDBPyConnection, cds_code: str, metric: str) -> int:
    """How many comparison schools impact_matches matched to this school for `metric`."""
    return con.execute("SELECT count(DISTINCT control_cds) FROM impact_matches WHERE treated_cds = ? AND metric = ?",
                       [cds_code, metric]).fetchall()[0][0]

