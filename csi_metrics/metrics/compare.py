"""Fair comparison: community schools against comparison schools.

Comparison schools are LA County schools that are NOT community schools and
share a (SPA, school type) stratum with at least one community school in the
filters. Both sides are pooled rates (sum of numerators / sum of
denominators), so a stratum weighs by its enrolment; the comparison side's
strata are exactly the community side's, but their mix may differ (this is a
matched comparison, not a reweighted one). Schools with no SPA cannot be
matched and are left out of both sides.

`community_vs_comparison`: each year's rate of each side and the gap
(community - comparison) in percentage points, every year of the metric's span
present (missing years null).

`diff_in_diff`: for each group of community schools sharing a first CCSPP
grant year g, the baseline is the year before g (or, when that year has no
data for the metric, e.g. chronic absenteeism 2019-20, the latest earlier year
with data) and the end is the latest year with data. Each side's change is
measured on the schools with a known (not CDE-suppressed) row in BOTH years,
so a changing roster cannot fake a change. did_pp = community change -
comparison change. The 'all' row averages the groups weighted by the community
side's baseline enrolment (denominator); its schools_n count each school
once (community schools belong to one group; a comparison school can serve
several).

Filters: spa, district, school_type, student_group restrict both sides;
cohort and school restrict the community side (the strata follow it);
community and year are ignored. Suppression: a side whose pooled denominator
is under 11 has its rates and counts nulled (suppressed=True), and every gap
or change built on it is null. Within a year the two sides are complementary
(they add up to every school of the strata) so one hidden side hides the other.
"""

from __future__ import annotations

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.rules import privacy
from csi_metrics.metrics import rates, trends
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query

SIDES = ("community", "comparison")


def school_rows(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """School rows of both sides for every year: cds_code, side, spa_n,
    school_type, first_grant_year, year, numerator_n, denominator_n, visible.
    Only visible rows (privacy.cell_visibility) have counts; the hidden ones are
    kept so a side made only of hidden schools can say it is suppressed."""
    rates.check_metric(metric)
    base = filters.with_(community="all", year=None, cohort=None, school=None)
    conds, params = query.where(base, query.SCHOOLS, skip=("year", "student_group"), county_code=county_code)
    comm = ["s.is_community", "s.spa_n IS NOT NULL"]
    comm_params: list[object] = []
    if filters.cohort is not None:
        comm.append("s.ccspp_cohort = ?")
        comm_params.append(int(filters.cohort))
    if filters.school is not None:
        comm.append("s.cds_code = ?")
        comm_params.append(filters.school)
    where_s = " AND ".join(conds) if conds else "TRUE"
    sql = f"""
        WITH base AS (SELECT * FROM schools s WHERE {where_s}),
        community AS (SELECT * FROM base s WHERE {' AND '.join(comm)}),
        strata AS (SELECT DISTINCT spa_n, school_type FROM community),
        comparison AS (
            SELECT b.* FROM base b JOIN strata t ON t.spa_n = b.spa_n AND t.school_type = b.school_type
            WHERE NOT b.is_community
        ),
        sides AS (
            SELECT cds_code, 'community' AS side, spa_n, school_type, first_grant_year FROM community
            UNION ALL
            SELECT cds_code, 'comparison' AS side, spa_n, school_type, NULL AS first_grant_year FROM comparison
        )
        SELECT x.cds_code, x.side, x.spa_n, x.school_type, x.first_grant_year, o.academic_year AS year,
               CAST(CASE WHEN o.visible THEN o.numerator_n END AS BIGINT) AS numerator_n,
               CAST(CASE WHEN o.visible THEN o.denominator_n END AS BIGINT) AS denominator_n,
               o.visible AND o.numerator_n IS NOT NULL AND o.denominator_n IS NOT NULL AS visible
        FROM sides x JOIN outcomes o ON o.cds_code = x.cds_code
        WHERE o.metric = ? AND o.aggregate_level = 'S' AND o.reporting_category = ?
    """
    return query.fetch(con, sql, [*params, *comm_params, metric, filters.student_group])


def _pool(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return df.group_by(keys).agg(
        pl.col("numerator_n").sum(),
        pl.col("denominator_n").sum(),
        pl.col("cds_code").n_unique().cast(pl.Int64).alias("schools_n"),
    ).with_columns(
        pl.when(pl.col("denominator_n") > 0).then(pl.col("numerator_n") / pl.col("denominator_n"))
        .otherwise(None).alias("rate")
    )


def community_vs_comparison(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Long frame: year, side ('community'|'comparison'), rate, numerator_n,
    denominator_n, schools_n, suppressed, gap_pp (community rate - comparison
    rate in pp, the same on both rows of a year; null when either is
    suppressed or missing). Every year of the metric's span is present."""
    all_rows = school_rows(con, metric, filters, county_code=county_code)
    rows = all_rows.filter(pl.col("visible"))
    years = trends.year_span(con, metric)
    grid = pl.DataFrame({"year": years}, schema={"year": pl.String}).join(
        pl.DataFrame({"side": list(SIDES)}), how="cross"
    )
    pooled = _pool(rows, ["year", "side"]) if rows.height else pl.DataFrame(
        schema={"year": pl.String, "side": pl.String, "numerator_n": pl.Int64, "denominator_n": pl.Int64,
                "schools_n": pl.Int64, "rate": pl.Float64}
    )
    hidden = all_rows.filter(~pl.col("visible")).group_by("year", "side").len("__hidden_n")
    out = grid.join(pooled, on=["year", "side"], how="left").join(hidden, on=["year", "side"], how="left")
    present = out.filter(pl.col("denominator_n").is_not_null()).drop("__hidden_n")
    # A side with no visible school: suppressed when it has hidden ones, else simply no data.
    missing = out.filter(pl.col("denominator_n").is_null()).with_columns(
        (pl.col("__hidden_n").fill_null(0) > 0).alias("suppressed"), pl.col("schools_n").fill_null(0)
    ).drop("__hidden_n")
    shown = privacy.suppress_breakdown(present, ["year", "side"], ["side"])
    out = pl.concat([shown, missing.select(shown.columns)], how="vertical")
    gap = out.group_by("year").agg(
        (
            (pl.col("rate").filter(pl.col("side") == "community").first()
             - pl.col("rate").filter(pl.col("side") == "comparison").first()) * 100
        ).alias("gap_pp")
    )
    out = out.join(gap, on="year", how="left")
    order = {y: i for i, y in enumerate(years)}
    out = out.with_columns(
        pl.col("year").replace_strict(order, default=None, return_dtype=pl.Int32).alias("__o"),
        pl.col("side").replace_strict({"community": 0, "comparison": 1}, return_dtype=pl.Int32).alias("__s"),
    ).sort("__o", "__s").drop("__o", "__s")
    return out.select(["year", "side", "rate", "numerator_n", "denominator_n", "schools_n", "suppressed", "gap_pp"])


DID_SCHEMA = {
    "group": pl.String, "baseline_year": pl.String, "end_year": pl.String,
    "community_baseline_rate": pl.Float64, "community_end_rate": pl.Float64,
    "comparison_baseline_rate": pl.Float64, "comparison_end_rate": pl.Float64,
    "community_change_pp": pl.Float64, "comparison_change_pp": pl.Float64, "did_pp": pl.Float64,
    "community_schools_n": pl.Int64, "comparison_schools_n": pl.Int64,
    "community_baseline_n": pl.Int64, "comparison_baseline_n": pl.Int64, "suppressed": pl.Boolean,
}


def _baseline_year(first_grant_year: str, years_with_data: list[str]) -> str | None:
    target = codes.previous_year(first_grant_year)
    earlier = [y for y in years_with_data if y <= target]
    return max(earlier) if earlier else None


def _balanced(df: pl.DataFrame, base: str, end: str) -> tuple[dict | None, dict | None, set[str]]:
    """Pooled baseline and end figures of the schools known in both years, and those schools."""
    both = df.filter(pl.col("year").is_in([base, end]))
    keep = both.group_by("cds_code").agg(pl.col("year").n_unique().alias("k")).filter(pl.col("k") == 2)
    both = both.join(keep.select("cds_code"), on="cds_code", how="semi")
    if both.height == 0:
        return None, None, set()
    pooled = _pool(both, ["year"])
    get = {r["year"]: r for r in pooled.iter_rows(named=True)}
    return get.get(base), get.get(end), set(keep["cds_code"].to_list())


def diff_in_diff(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Difference-in-differences from the year before each school's first CCSPP
    grant to the latest year. One row per first-grant-year group (group = that
    year) and a first row group='all' (weighted by community baseline
    enrolment). Columns: group, baseline_year, end_year, community/comparison
    baseline and end rates, community_change_pp, comparison_change_pp, did_pp,
    community_schools_n, comparison_schools_n, community_baseline_n,
    comparison_baseline_n, suppressed. Rates and changes are null where a side
    has fewer than 11 students in either year."""
    rows = school_rows(con, metric, filters, county_code=county_code).filter(pl.col("visible"))
    years_with_data = sorted(query.fetch(
        con, "SELECT DISTINCT academic_year AS y FROM outcomes WHERE metric = ?", [metric]
    )["y"].to_list())
    if not years_with_data:
        return pl.DataFrame(schema=DID_SCHEMA)
    end = years_with_data[-1]
    comm = rows.filter(pl.col("side") == "community")
    comp = rows.filter(pl.col("side") == "comparison")
    groups = sorted(g for g in comm["first_grant_year"].unique().to_list() if g is not None)
    out: list[dict] = []
    peer_ids: dict[str, set[str]] = {}
    for g in groups:
        base = _baseline_year(g, years_with_data)
        if base is None or base >= end:
            continue
        members = comm.filter(pl.col("first_grant_year") == g)
        strata = members.select("spa_n", "school_type").unique()
        peers = comp.join(strata, on=["spa_n", "school_type"], how="semi")
        cb, ce, cids = _balanced(members, base, end)
        pb, pe, pids = _balanced(peers, base, end)
        peer_ids[g] = pids
        out.append(_did_row(g, base, end, cb, ce, len(cids), pb, pe, len(pids)))
    if not out:
        return pl.DataFrame(schema=DID_SCHEMA)
    groups_df = pl.DataFrame(out, schema=DID_SCHEMA)
    ok = groups_df.filter(~pl.col("suppressed"))
    if ok.height:
        w = ok["community_baseline_n"].cast(pl.Float64)
        def wavg(col: str) -> float:
            return float((ok[col] * w).sum() / w.sum())
        all_row = {
            "group": "all", "baseline_year": None, "end_year": end,
            "community_baseline_rate": None, "community_end_rate": None,
            "comparison_baseline_rate": None, "comparison_end_rate": None,
            "community_change_pp": wavg("community_change_pp"),
            "comparison_change_pp": wavg("comparison_change_pp"),
            "did_pp": wavg("did_pp"),
            "community_schools_n": int(ok["community_schools_n"].sum()),
            # a comparison school can serve several groups: count it once
            "comparison_schools_n": len(set().union(*(peer_ids[g] for g in ok["group"].to_list()))),
            "community_baseline_n": int(ok["community_baseline_n"].sum()),
            "comparison_baseline_n": None, "suppressed": False,
        }
    else:
        all_row = {**{k: None for k in DID_SCHEMA}, "group": "all", "end_year": end, "suppressed": True,
                   "community_schools_n": 0, "comparison_schools_n": 0}
    return pl.concat([pl.DataFrame([all_row], schema=DID_SCHEMA), groups_df], how="vertical")


def _did_row(g, base, end, cb, ce, cn, pb, pe, pn) -> dict:
    def small(r: dict | None) -> bool:
        return r is None or r["denominator_n"] is None or r["denominator_n"] < codes.MIN_N
    hidden = any(small(r) for r in (cb, ce, pb, pe))
    if hidden:
        return {**{k: None for k in DID_SCHEMA}, "group": g, "baseline_year": base, "end_year": end,
                "community_schools_n": cn, "comparison_schools_n": pn, "suppressed": True}
    cc = (ce["rate"] - cb["rate"]) * 100
    pc = (pe["rate"] - pb["rate"]) * 100
    return {
        "group": g, "baseline_year": base, "end_year": end,
        "community_baseline_rate": cb["rate"], "community_end_rate": ce["rate"],
        "comparison_baseline_rate": pb["rate"], "comparison_end_rate": pe["rate"],
        "community_change_pp": cc, "comparison_change_pp": pc, "did_pp": cc - pc,
        "community_schools_n": cn, "comparison_schools_n": pn,
        "community_baseline_n": cb["denominator_n"], "comparison_baseline_n": pb["denominator_n"],
        "suppressed": False,
    }
