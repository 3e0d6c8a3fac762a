"""What the county map shows, as frames: each map measure by SPA and the community
schools as points, with their Dashboard placement. The figures are
csi_metrics.figures.maps; the boundaries csi_metrics.ingest.boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from csi_metrics.metrics import funding, placement, query, rates
from csi_metrics.vocabulary import registry
from csi_metrics.vocabulary.filters import Filters

@dataclass(frozen=True)
class MapMeasure:
    id: str
    value_col: str
    registry_id: str       # csi_metrics.vocabulary.registry id: its label, unit, definition and source
    outcome: str | None    # the outcome metric behind it, if any

    @property
    def label(self) -> str:
        return registry.get(self.registry_id).label

    @property
    def unit(self) -> str:
        return registry.get(self.registry_id).unit


MEASURES: dict[str, MapMeasure] = {m.id: m for m in [
    MapMeasure("chronic_absenteeism", "rate", "chronic_absenteeism", "chronic_absenteeism"),
    MapMeasure("suspension", "rate", "suspension", "suspension"),
    MapMeasure("chronic_absenteeism_since_baseline", "since_baseline_pp", "chronic_absenteeism_since_baseline_pp",
               "chronic_absenteeism"),
    MapMeasure("suspension_since_baseline", "since_baseline_pp", "suspension_since_baseline_pp", "suspension"),
    MapMeasure("ccspp_usd", "amount_usd", "ccspp_usd", None),
    MapMeasure("usd_per_student", "usd_per_student", "usd_per_student", None),
    MapMeasure("community_schools_n", "community_schools_n", "community_schools_n", None),
    MapMeasure("activities_n", "activities_n", "activities_n", None),
]}


def _with_spa_rows(df: pl.DataFrame) -> pl.DataFrame:
    """Rows attributed to an SPA only (LEA-wide and unassigned buckets have none to colour)."""
    return df.filter(pl.col("spa").is_not_null()).with_columns(pl.col("spa").cast(pl.Int64))


def _rates_with_colour(con: duckdb.DuckDBPyConnection, metric: str, by: list[str],
                       filters: Filters) -> pl.DataFrame:
    """Pooled rates by `by` with their placement (csi_metrics.metrics.placement, the one rule)."""
    cur = rates.pooled_rates(con, metric, by, filters)
    placed = placement.place(con, metric, by, filters).select(
        *by, "placed_rate", "placed_group", "status_level", "change_level", "color", "level_note", "level_source",
        "cut_set_note")
    return cur.join(placed, on=by, how="left", nulls_equal=True)


def spa_measure(con: duckdb.DuckDBPyConnection, measure: str, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per SPA holding `measure` (an id of MEASURES) under `filters`.

    Columns: spa, the measure's value_col, schools_n, suppressed, and for rates
    prior_rate and the Dashboard placement (color, status_level, change_level;
    cut sets as csi_metrics.rules.levels assigns them to a pooled group). Definitions
    and suppression are those of the metric function used: rates.pooled_rates
    (pooled, <11 students and complementary cells suppressed), trends.trend
    (since_baseline_pp: rate in filters.year, else the latest year, minus the
    rate in the first year, x100), funding.awards / funding.dollars_per_student
    (every award year; grants attributed to an SPA only, LEA-wide grants left
    off), activities.activity_counts, and the
    roster count of community schools. filters.spa is ignored: the map shows
    every SPA."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}; got {measure!r}")
    m = MEASURES[measure]
    f = filters.with_(spa=None)
    if m.unit == "rate":
        assert m.outcome is not None
        df = _rates_with_colour(con, m.outcome, ["spa"], f)
        return _with_spa_rows(df)
    if m.unit == "pp":
        from csi_metrics.metrics import trends

        assert m.outcome is not None
        t = trends.trend(con, m.outcome, ["spa"], f)
        years = sorted(set(t["year"].to_list()))
        if not years:
            return pl.DataFrame(schema={"spa": pl.Int64, m.value_col: pl.Float64, "schools_n": pl.Int64,
                                        "suppressed": pl.Boolean})
        year = f.year if f.year in years else years[-1]
        df = t.filter(pl.col("year") == year).with_columns(pl.lit(years[0]).alias("baseline_year"))
        # A change built from a hidden rate is hidden too.
        df = df.with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(m.value_col))
                             .alias(m.value_col))
        keep = ["spa", "year", "baseline_year", "rate", m.value_col, "schools_n", "suppressed"]
        return _with_spa_rows(df.select([c for c in keep if c in df.columns]))
    if measure in ("ccspp_usd", "usd_per_student"):
        from csi_metrics.metrics import funding

        # Every award year: grants run a year or more ahead of the latest
        # outcome data, so the selected school year often has no awards at all.
        fn = funding.awards if measure == "ccspp_usd" else funding.dollars_per_student
        df = _with_spa_rows(fn(con, ["spa"], f.with_(year=None)))
        if "suppressed" not in df.columns:
            df = df.with_columns(pl.lit(False).alias("suppressed"))
        return df
    if measure == "activities_n":
        from csi_metrics.metrics import activities  # type: ignore[attr-defined]

        df = _with_spa_rows(activities.activity_counts(con, ["spa"], f))
        if "suppressed" not in df.columns:
            df = df.with_columns(pl.lit(False).alias("suppressed"))
        return df
    conds, params = query.where(f.with_(community="community"), query.SCHOOLS, skip=("year", "student_group"))
    df = query.fetch(con, f"""
        SELECT s.spa_n AS spa, CAST(count(*) AS BIGINT) AS community_schools_n
        FROM schools s WHERE s.spa_n IS NOT NULL {''.join(' AND ' + c for c in conds)}
        GROUP BY 1 ORDER BY 1""", params)
    return df.with_columns(pl.col("spa").cast(pl.Int64), pl.col("community_schools_n").alias("schools_n"),
                           pl.lit(False).alias("suppressed"))


def school_points_frame(con: duckdb.DuckDBPyConnection, metric: str, filters: Filters = Filters()) -> pl.DataFrame:
    """The community schools under `filters` (community filter aside: the points
    are always the roster's schools), with coordinates, cohort, `metric`'s pooled
    rate for filters.year, enrolled_n (the school's enrolment as the Overview's
    students served counts it) and its placement (csi_metrics.metrics.placement:
    dashboard_color, placed_rate, level_source, level_note).

    Columns: cds_code, school_name, district_name, latitude, longitude, spa_n,
    cohort, school_type, rate, suppressed, placed_rate, dashboard_color,
    level_source, level_note, cut_set_note, enrolled_n. A school whose figure is suppressed
    has null rate and no colour; a school whose enrolment cell is hidden has
    null enrolled_n."""
    rates.check_metric(metric)
    f = filters.with_(community="community")
    conds, params = query.where(f, query.SCHOOLS, skip=("year", "student_group"))
    schools = query.fetch(con, f"""
        SELECT s.cds_code, s.school_name, s.district_name, s.latitude, s.longitude, s.spa_n,
               s.ccspp_cohort AS cohort, s.school_type
        FROM schools s WHERE TRUE {''.join(' AND ' + c for c in conds)} ORDER BY s.cds_code""", params)
    if schools.is_empty():
        return schools.with_columns(pl.lit(None, dtype=pl.Float64).alias("rate"),
                                    pl.lit(False).alias("suppressed"),
                                    pl.lit(None, dtype=pl.Float64).alias("placed_rate"),
                                    pl.lit(None, dtype=pl.String).alias("dashboard_color"),
                                    pl.lit(None, dtype=pl.String).alias("level_source"),
                                    pl.lit(None, dtype=pl.String).alias("level_note"),
                                    pl.lit(None, dtype=pl.String).alias("cut_set_note"),
                                    pl.lit(None, dtype=pl.Int64).alias("enrolled_n"))
    r = _rates_with_colour(con, metric, ["school"], f)
    # Point size and "N students": the enrolment the Overview's students served adds up
    # (funding.enrolled_students' definition), so the two views give the same count.
    enrol = funding.school_enrolment(con, f)
    out = schools.join(
        r.select(pl.col("school").alias("cds_code"), "rate", "suppressed", "placed_rate",
                 pl.col("color").alias("dashboard_color"), "level_source", "level_note", "cut_set_note"),
        on="cds_code", how="left").join(enrol, on="cds_code", how="left")
    return out.with_columns(pl.col("suppressed").fill_null(False))
