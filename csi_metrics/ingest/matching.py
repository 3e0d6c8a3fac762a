"""Matched comparison schools for the impact study, chosen once in the build.

For each community school (every grant type: the grant type is kept on each row
so the estimator can select implementation, planning or coordination grantees)
and each outcome (chronic_absenteeism, suspension), the comparison schools are
chosen among schools that received no CCSPP grant: not on the roster, and not in
the optional list of every CCSPP grantee (initiative/ccspp_grantees.csv) nor a
school-level grantee in grants.csv, so funded schools outside the roster never
serve as controls.

Baseline: csi_metrics.rules.impact.default_baseline (the last year before the
first grant year with data for the metric that is not 2019-20 or 2020-21).

Matching variables, all at the baseline year and from the all-students (TA)
school rows the pooled rates use (aggregate level S, visible cells only, so no
suppressed figure enters a distance):
- level_rate: the outcome rate (numerator / denominator);
- trend_pp: the baseline rate minus the year before's, in percentage points, when
  the year before has a visible row (otherwise the school is matched without it);
- ss_share_rate: socioeconomically disadvantaged share, the SS reporting
  category's denominator over the TA denominator in the same file and year;
- log_enrollment: log of the TA denominator;
- school_type: matched exactly.

Method (Stuart 2010, "Matching methods for causal inference", Statistical
Science 25(1)): nearest neighbour on standardised covariates, 1:K with K = 3,
WITH replacement (a comparison school may serve several community schools and
several cohorts; the estimator weights it by how often it is used), exact on
school type, and a caliper. Each covariate is divided by its standard deviation
over the baseline year's pool (community schools and eligible controls), and
the distance is the root mean square of the standardised differences over the
covariates used, so CALIPER = 0.5 means "on average within half a standard
deviation per covariate". A community school with a trend is matched to
controls that have one, on all four; one without (no visible year before) on
the other three. The nearest neighbours come from scipy's cKDTree; ties are
broken by CDS code, and inputs are sorted first, so results do not depend on
row order.

A community school that cannot be matched is written to impact_unmatched with
the reason (REASONS), never silently dropped.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from csi_metrics.rules import impact as rules
from csi_metrics.vocabulary import codes

K = 3
CALIPER = 0.5

NO_BASELINE = "no baseline year (no non-pandemic year with data before the first grant)"
SUPPRESSED_BASELINE = "suppressed or missing baseline figure"
SUPPRESSED_COVARIATE = "suppressed socioeconomically disadvantaged count at baseline"
NO_SAME_TYPE = "no comparison school of the same school type"
NO_WITHIN_CALIPER = "no comparison school within the caliper"
REASONS = (NO_BASELINE, SUPPRESSED_BASELINE, SUPPRESSED_COVARIATE, NO_SAME_TYPE, NO_WITHIN_CALIPER)

MATCHES_SCHEMA = {
    "metric": pl.String, "treated_cds": pl.String, "control_cds": pl.String, "grant_type": pl.String,
    "first_grant_year": pl.String, "baseline_year": pl.String, "distance": pl.Float64, "rank": pl.Int32,
}
UNMATCHED_SCHEMA = {
    "metric": pl.String, "treated_cds": pl.String, "grant_type": pl.String, "first_grant_year": pl.String,
    "baseline_year": pl.String, "reason": pl.String,
}
COVARIATES_SCHEMA = {
    "metric": pl.String, "baseline_year": pl.String, "cds_code": pl.String, "school_type": pl.String,
    "is_community": pl.Boolean, "eligible_control": pl.Boolean, "level_rate": pl.Float64,
    "trend_pp": pl.Float64, "ss_share_rate": pl.Float64, "log_enrollment": pl.Float64,
}


def _panel(outcomes: pl.DataFrame, category: str) -> pl.DataFrame:
    """Visible school rows of one reporting category: metric, cds_code, academic_year, numerator_n, denominator_n."""
    return (outcomes.lazy()
            .filter((pl.col("aggregate_level") == "S") & (pl.col("reporting_category") == category)
                    & pl.col("visible") & pl.col("denominator_n").is_not_null()
                    & pl.col("numerator_n").is_not_null() & (pl.col("denominator_n") > 0))
            .group_by("metric", "cds_code", "academic_year")
            .agg(pl.col("numerator_n").sum(), pl.col("denominator_n").sum())
            .collect())


def covariates(outcomes: pl.DataFrame, schools: pl.DataFrame, metric: str, baseline_year: str,
               excluded: set[str]) -> pl.DataFrame:
    """Every school with a visible all-students row at baseline_year: its matching
    variables (COVARIATES_SCHEMA), sorted by cds_code."""
    ta = _panel(outcomes.filter(pl.col("metric") == metric), "TA")
    ss = _panel(outcomes.filter(pl.col("metric") == metric), "SS")
    prev = codes.previous_year(baseline_year)
    base = ta.filter(pl.col("academic_year") == baseline_year)
    before = ta.filter(pl.col("academic_year") == prev).select(
        "cds_code", (pl.col("numerator_n") / pl.col("denominator_n")).alias("_prev_rate"))
    ss_b = ss.filter(pl.col("academic_year") == baseline_year).select(
        "cds_code", pl.col("denominator_n").alias("_ss_n"))
    info = schools.select("cds_code", "school_type", "is_community")
    out = (base.join(info, on="cds_code", how="inner")
           .join(before, on="cds_code", how="left")
           .join(ss_b, on="cds_code", how="left")
           .with_columns((pl.col("numerator_n") / pl.col("denominator_n")).alias("level_rate"))
           .with_columns(
               ((pl.col("level_rate") - pl.col("_prev_rate")) * 100).alias("trend_pp"),
               pl.when(pl.col("_ss_n") <= pl.col("denominator_n"))
               .then(pl.col("_ss_n") / pl.col("denominator_n")).alias("ss_share_rate"),
               pl.col("denominator_n").cast(pl.Float64).log().alias("log_enrollment"),
               (~pl.col("is_community") & ~pl.col("cds_code").is_in(sorted(excluded))).alias("eligible_control"),
               pl.lit(metric).alias("metric"), pl.lit(baseline_year).alias("baseline_year"),
           ))
    return out.select(list(COVARIATES_SCHEMA)).cast(COVARIATES_SCHEMA).sort("cds_code")


def match_schools(
    schools: pl.DataFrame,
    outcomes: pl.DataFrame,
    excluded: set[str] | frozenset[str] = frozenset(),
    *,
    k: int = K,
    caliper: float = CALIPER,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(impact_matches, impact_unmatched, impact_covariates) for every community
    school and both outcomes. schools: the schools table's columns (cds_code,
    school_type, is_community, grant_type, first_grant_year); outcomes: the outcomes
    table after privacy.cell_visibility; excluded: CDS codes of every other CCSPP
    grantee (never a control)."""
    if k < 1:
        raise ValueError(f"k must be 1 or more; got {k}")
    if not caliper > 0:
        raise ValueError(f"caliper must be positive; got {caliper}")
    schools = schools.sort("cds_code")
    treated = schools.filter(pl.col("is_community"))
    matches: list[dict] = []
    unmatched: list[dict] = []
    covs: list[pl.DataFrame] = []
    for metric in codes.METRICS:
        years = sorted(outcomes.filter(pl.col("metric") == metric)["academic_year"].unique().to_list())
        if not years:
            continue
        # One baseline per first grant year, looked up in Python (no Polars UDF: see test_no_python_udfs).
        firsts = treated["first_grant_year"].drop_nulls().unique().sort().to_list()
        base_of = {g: rules.default_baseline(g, years) for g in firsts}
        rows = treated.with_columns(
            pl.col("first_grant_year").replace_strict(base_of, default=None, return_dtype=pl.String)
            .alias("baseline_year"))
        for r in rows.filter(pl.col("baseline_year").is_null()).iter_rows(named=True):
            unmatched.append(_unmatched(metric, r, None, NO_BASELINE))
        for b in sorted(rows["baseline_year"].drop_nulls().unique().to_list()):
            cov = covariates(outcomes, schools, metric, b, set(excluded))
            covs.append(cov)
            members = rows.filter(pl.col("baseline_year") == b)
            _match_one_baseline(metric, b, members, cov, k, caliper, matches, unmatched)
    m = pl.DataFrame(matches, schema=MATCHES_SCHEMA).sort("metric", "treated_cds", "rank")
    u = pl.DataFrame(unmatched, schema=UNMATCHED_SCHEMA).sort("metric", "treated_cds")
    c = pl.concat(covs) if covs else pl.DataFrame(schema=COVARIATES_SCHEMA)
    return m, u, c.sort("metric", "baseline_year", "cds_code")


def _unmatched(metric: str, r: dict, baseline: str | None, reason: str) -> dict:
    return {"metric": metric, "treated_cds": r["cds_code"], "grant_type": r["grant_type"],
            "first_grant_year": r["first_grant_year"], "baseline_year": baseline, "reason": reason}


def _match_one_baseline(metric: str, b: str, members: pl.DataFrame, cov: pl.DataFrame, k: int, caliper: float,
                        matches: list[dict], unmatched: list[dict]) -> None:
    pool = cov.filter(pl.col("is_community") | pl.col("eligible_control"))
    names = list(rules.COVARIATES)
    sd = {c: pool[c].drop_nulls().std() for c in names}
    sd = {c: (v if v is not None and math.isfinite(v) and v > 0 else 1.0) for c, v in sd.items()}
    by_cds = {r["cds_code"]: r for r in cov.iter_rows(named=True)}
    controls = cov.filter(pl.col("eligible_control") & pl.col("ss_share_rate").is_not_null())
    trees: dict[tuple[str, bool], tuple[cKDTree, list[str], list[str]] | None] = {}

    def tree(school_type: str, with_trend: bool):
        key = (school_type, with_trend)
        if key not in trees:
            cols = names if with_trend else [c for c in names if c != "trend_pp"]
            part = controls.filter(pl.col("school_type") == school_type)
            if with_trend:
                part = part.filter(pl.col("trend_pp").is_not_null())
            if part.height == 0:
                trees[key] = None
            else:
                x = np.column_stack([part[c].to_numpy() / sd[c] for c in cols]) / math.sqrt(len(cols))
                trees[key] = (cKDTree(x), part["cds_code"].to_list(), cols)
        return trees[key]

    for r in members.sort("cds_code").iter_rows(named=True):
        c = by_cds.get(r["cds_code"])
        if c is None:
            unmatched.append(_unmatched(metric, r, b, SUPPRESSED_BASELINE))
            continue
        if c["ss_share_rate"] is None:
            unmatched.append(_unmatched(metric, r, b, SUPPRESSED_COVARIATE))
            continue
        t = tree(c["school_type"], c["trend_pp"] is not None)
        if t is None:
            unmatched.append(_unmatched(metric, r, b, NO_SAME_TYPE))
            continue
        kd, ids, cols = t
        q = np.array([c[col] / sd[col] for col in cols]) / math.sqrt(len(cols))
        extra = min(len(ids), k + 5)  # a few more than k, so ties at the k-th distance are broken by CDS code
        dist, idx = kd.query(q, k=extra)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        found = sorted((round(float(d), 12), ids[i]) for d, i in zip(dist, idx) if i < len(ids) and d <= caliper)
        if not found:
            unmatched.append(_unmatched(metric, r, b, NO_WITHIN_CALIPER))
            continue
        for rank, (d, cds) in enumerate(found[:k], start=1):
            matches.append({"metric": metric, "treated_cds": r["cds_code"], "control_cds": cds,
                            "grant_type": r["grant_type"], "first_grant_year": r["first_grant_year"],
                            "baseline_year": b, "distance": d, "rank": rank})
