"""Impact the way evaluators measure it: community schools against their matched
comparison schools, a difference-in-differences valid under staggered adoption,
with 95% confidence intervals clustered by school.

The matches are made by the build (csi_metrics.ingest.matching; tables
impact_matches, impact_unmatched, impact_covariates): for each community school
and outcome, up to 3 nearest schools that received no CCSPP grant, on the
outcome's level and pre-period trend, the socioeconomically disadvantaged share
and log enrollment at the pre-grant baseline, exact on school type, within a
caliper (Stuart 2010). The baseline is csi_metrics.rules.impact.default_baseline:
the last year before the first grant year that is not 2019-20 or 2020-21.

Estimator (cohort by cohort, as Callaway & Sant'Anna 2021, "Difference-in-
Differences with multiple time periods", J. Econometrics 225(2), with matched
never-treated comparison schools instead of a propensity score):
- A cohort g is the community schools sharing a first grant year; its
  comparison group is only its own matched schools, never a school funded
  earlier or later (no already-treated school is ever a control, so the
  "forbidden comparisons" of a single two-way fixed-effects regression cannot arise).
- For every school and year t, change_pp = (rate in t - rate in the cohort's
  baseline year) x 100, from the school's visible all-students row in both years.
- Weights: a community school weighs its baseline enrollment (the rate's
  denominator) w_i; each of its m_i matched schools weighs w_i / m_i (added up
  over the community schools it serves: matching is with replacement).
- Per cohort, weighted least squares of change_pp on a cohort indicator and the
  cohort's community indicator (one pair per cohort, no other terms) gives the
  cohort's matched mean change (alpha_g) and its difference-in-differences
  (beta_g); the covariance is cluster-robust by school (statsmodels WLS,
  cov_type="cluster"), so a school's repeated years and a comparison school used
  by two cohorts are one cluster.
- Aggregation across cohorts: omega_g = the cohort's share of the community
  schools' baseline enrollment; effect = sum omega_g beta_g, its variance
  omega' V omega; 95% CI = effect +/- 1.96 SE.
- impact_estimate pools each cohort's post years (t >= g); event_study gives one
  estimate per relative year e = t - g over the cohorts observed at e (a
  cohort's own baseline year is its reference, 0 by construction, and is
  omitted from that cohort).

Privacy: only visible school figures (outcomes.visible) enter, as in pooled
rates; counts are of schools, never students; an estimate whose community side
or comparison side has fewer than 11 students at baseline is suppressed (null).
What this can show: an association between the grant and a change relative to
similar schools; it is not proof of cause (unobserved differences, spillovers).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import polars as pl
import statsmodels.api as sm

from csi_metrics.metrics import query, rates
from csi_metrics.rules import impact as rules
from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.filters import Filters

Z95 = 1.959963984540054
MIN_MATCHED_CHANGE_PP = 0.1  # below this the relative change is not defined (null)

ESTIMATE_SCHEMA = {
    "metric": pl.String, "grant_type": pl.String, "effect_pp": pl.Float64, "ci_low_pp": pl.Float64,
    "ci_high_pp": pl.Float64, "se_pp": pl.Float64, "community_change_pp": pl.Float64,
    "matched_change_pp": pl.Float64, "relative_change_rate": pl.Float64, "treated_schools_n": pl.Int64,
    "control_schools_n": pl.Int64, "unmatched_schools_n": pl.Int64, "cohorts_n": pl.Int64,
    "baseline_rule": pl.String, "suppressed": pl.Boolean,
}
EVENT_SCHEMA = {
    "relative_year": pl.Int64, "effect_pp": pl.Float64, "ci_low_pp": pl.Float64, "ci_high_pp": pl.Float64,
    "se_pp": pl.Float64, "years": pl.String, "pandemic_year": pl.Boolean, "is_reference": pl.Boolean,
    "cohorts_n": pl.Int64, "treated_schools_n": pl.Int64, "control_schools_n": pl.Int64, "suppressed": pl.Boolean,
}
BALANCE_SCHEMA = {
    "variable": pl.String, "label": pl.String, "treated_mean": pl.Float64, "control_mean_before": pl.Float64,
    "control_mean_after": pl.Float64, "smd_before": pl.Float64, "smd_after": pl.Float64,
    "treated_schools_n": pl.Int64, "control_schools_before_n": pl.Int64, "control_schools_after_n": pl.Int64,
    "unmatched_schools_n": pl.Int64, "unmatched_reasons": pl.String,
}


# ---------------------------------------------------------------- reading

def _check(metric: str, filters: Filters, grant_type: str) -> None:
    rates.check_metric(metric)
    rules.check_grant_type(grant_type)
    if filters.student_group != Filters().student_group:
        raise ValueError(f"student_group: the impact study is for all students (TA) only; "
                         f"got {filters.student_group!r}")


def _treated_where(filters: Filters, grant_type: str, alias: str) -> tuple[str, list[object]]:
    conds, params = query.where(filters, query.SCHOOLS, skip=("year", "student_group", "community"),
                                county_code=None)
    if grant_type != "all":
        conds.append(f"{alias}.grant_type = ?")
        params.append(grant_type)
    return (" AND ".join(conds) if conds else "TRUE"), params


def matched_pairs(con: duckdb.DuckDBPyConnection, metric: str, filters: Filters = Filters(),
                  grant_type: str = "implementation") -> pl.DataFrame:
    """The build's matches of the community schools in the filters: treated_cds,
    control_cds, first_grant_year, baseline_year, distance, rank, grant_type."""
    _check(metric, filters, grant_type)
    where_s, params = _treated_where(filters, grant_type, "m")
    return query.fetch(con, f"""
        SELECT m.treated_cds, m.control_cds, m.first_grant_year, m.baseline_year, m.distance, m.rank, m.grant_type
        FROM impact_matches m JOIN schools s ON s.cds_code = m.treated_cds
        WHERE m.metric = ? AND {where_s}
        ORDER BY m.treated_cds, m.rank""", [metric, *params])


def unmatched_schools(con: duckdb.DuckDBPyConnection, metric: str, filters: Filters = Filters(),
                      grant_type: str = "implementation") -> pl.DataFrame:
    """Community schools in the filters the build could not match: treated_cds,
    grant_type, first_grant_year, baseline_year, reason (one row per school)."""
    _check(metric, filters, grant_type)
    where_s, params = _treated_where(filters, grant_type, "u")
    return query.fetch(con, f"""
        SELECT u.treated_cds, u.grant_type, u.first_grant_year, u.baseline_year, u.reason
        FROM impact_unmatched u JOIN schools s ON s.cds_code = u.treated_cds
        WHERE u.metric = ? AND {where_s}
        ORDER BY u.treated_cds""", [metric, *params])


def unmatched_reasons(con: duckdb.DuckDBPyConnection, metric: str, filters: Filters = Filters(),
                      grant_type: str = "implementation") -> pl.DataFrame:
    """reason, schools_n: how many community schools in the filters were left unmatched, by why."""
    u = unmatched_schools(con, metric, filters, grant_type)
    return (u.group_by("reason").agg(pl.len().cast(pl.Int64).alias("schools_n"))
            .sort(["schools_n", "reason"], descending=[True, False]))


def _panel(con: duckdb.DuckDBPyConnection, metric: str, ids: list[str]) -> pl.DataFrame:
    """Visible all-students school rows of these schools: cds_code, year, rate, denominator_n."""
    if not ids:
        return pl.DataFrame(schema={"cds_code": pl.String, "year": pl.String, "rate": pl.Float64,
                                    "denominator_n": pl.Int64})
    con_ids = pl.DataFrame({"cds_code": sorted(set(ids))})
    panel = query.fetch(con, """
        SELECT o.cds_code, o.academic_year AS year, CAST(sum(o.numerator_n) AS BIGINT) AS numerator_n,
               CAST(sum(o.denominator_n) AS BIGINT) AS denominator_n
        FROM outcomes o
        WHERE o.metric = ? AND o.aggregate_level = 'S' AND o.reporting_category = 'TA' AND o.visible
          AND o.numerator_n IS NOT NULL AND o.denominator_n > 0
        GROUP BY ALL""", [metric])
    return (panel.join(con_ids, on="cds_code", how="semi")
            .with_columns((pl.col("numerator_n") / pl.col("denominator_n")).alias("rate"))
            .select("cds_code", "year", "rate", "denominator_n"))


def _resolve_baselines(pairs: pl.DataFrame, baseline: str | None) -> pl.DataFrame:
    if baseline is None:
        return pairs
    if not codes.is_academic_year(baseline):
        raise ValueError(f"baseline must be an academic year like '2018-19'; got {baseline!r}")
    late = [g for g in pairs["first_grant_year"].unique().to_list() if g <= baseline]
    if late:
        raise ValueError(f"baseline {baseline} is not before the first grant year of every cohort selected "
                         f"({', '.join(sorted(late))}); choose an earlier baseline or narrow the cohort")
    return pairs.with_columns(pl.lit(baseline).alias("baseline_year"))


def _stacked(con: duckdb.DuckDBPyConnection, metric: str, pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per cohort x school x year (not the baseline year): cohort, cds_code,
    treated, year, relative_year, change_pp, weight. Sorted, so row order never matters."""
    empty = pl.DataFrame(schema={"cohort": pl.String, "baseline_year": pl.String, "cds_code": pl.String,
                                 "treated": pl.Boolean, "year": pl.String, "relative_year": pl.Int64,
                                 "change_pp": pl.Float64, "weight": pl.Float64, "base_n": pl.Int64})
    if pairs.height == 0:
        return empty
    panel = _panel(con, metric, pairs["treated_cds"].to_list() + pairs["control_cds"].to_list())
    base = panel.rename({"year": "baseline_year", "rate": "base_rate", "denominator_n": "base_n"})
    treated = (pairs.select(pl.col("treated_cds").alias("cds_code"), pl.col("first_grant_year").alias("cohort"),
                            "baseline_year").unique()
               .join(base, on=["cds_code", "baseline_year"], how="inner"))
    m = pairs.group_by("treated_cds").agg(pl.len().alias("_m"))
    ctrl = (pairs.join(m, on="treated_cds")
            .join(treated.select(pl.col("cds_code").alias("treated_cds"), pl.col("base_n").alias("_w")),
                  on="treated_cds", how="inner")
            .group_by(pl.col("control_cds").alias("cds_code"), pl.col("first_grant_year").alias("cohort"),
                      "baseline_year")
            .agg((pl.col("_w") / pl.col("_m")).sum().alias("weight"))
            .join(base, on=["cds_code", "baseline_year"], how="inner"))
    sides = pl.concat([
        treated.with_columns(pl.lit(True).alias("treated"), pl.col("base_n").cast(pl.Float64).alias("weight")),
        ctrl.with_columns(pl.lit(False).alias("treated")),
    ], how="diagonal_relaxed").select("cohort", "baseline_year", "cds_code", "treated", "weight", "base_rate",
                                     "base_n")
    rows = (sides.join(panel, on="cds_code", how="inner")
            .filter(pl.col("year") != pl.col("baseline_year"))
            .with_columns(
                ((pl.col("rate") - pl.col("base_rate")) * 100).alias("change_pp"),
                (pl.col("year").str.slice(0, 4).cast(pl.Int64)
                 - pl.col("cohort").str.slice(0, 4).cast(pl.Int64)).alias("relative_year")))
    if rows.height == 0:
        return empty
    return rows.select(list(empty.columns)).sort("cohort", "treated", "cds_code", "year", descending=[False, True,
                                                                                                        False, False])


def _study(con: duckdb.DuckDBPyConnection, metric: str, filters: Filters, grant_type: str,
           baseline: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The matched pairs under the baseline asked for, and their stacked rows (what the
    estimate and the event study both fit); matched_pairs checks the arguments."""
    pairs = _resolve_baselines(matched_pairs(con, metric, filters, grant_type), baseline)
    return pairs, _stacked(con, metric, pairs)


def _fit(rows: pl.DataFrame) -> dict | None:
    """Cohort-by-cohort WLS with school-clustered covariance, aggregated by baseline enrollment.
    None when no cohort has both sides."""
    ok = rows.group_by("cohort").agg(pl.col("treated").any().alias("t"), (~pl.col("treated")).any().alias("c"))
    cohorts = sorted(ok.filter(pl.col("t") & pl.col("c"))["cohort"].to_list())
    if not cohorts:
        return None
    rows = rows.filter(pl.col("cohort").is_in(cohorts))
    n = rows.height
    G = len(cohorts)
    idx = {g: i for i, g in enumerate(cohorts)}
    gi = np.array([idx[g] for g in rows["cohort"].to_list()])
    tr = rows["treated"].to_numpy().astype(float)
    X = np.zeros((n, 2 * G))
    X[np.arange(n), gi] = 1.0
    X[np.arange(n), G + gi] = tr
    y = rows["change_pp"].to_numpy()
    w = rows["weight"].to_numpy()
    clusters = rows["cds_code"].cast(pl.Categorical).to_physical().to_numpy()
    # Treated enrollment at baseline per cohort (each school once), for omega.
    tw = (rows.filter(pl.col("treated")).unique(["cohort", "cds_code"])
          .group_by("cohort").agg(pl.col("base_n").sum().alias("w")))
    wmap = dict(zip(tw["cohort"].to_list(), tw["w"].to_list()))
    omega = np.array([wmap[g] for g in cohorts], dtype=float)
    omega = omega / omega.sum()
    n_clusters = len(np.unique(clusters))
    # A clustered interval needs two schools and more rows than coefficients: statsmodels'
    # small-sample correction divides by n - k (a filter down to one matched pair did).
    fit = sm.WLS(y, X, weights=w).fit(cov_type="cluster", cov_kwds={"groups": clusters}) \
        if n_clusters > 1 and n > X.shape[1] else None
    beta = fit.params if fit is not None else np.linalg.lstsq(X * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    effect = float(omega @ beta[G:])
    if fit is not None:
        V = np.asarray(fit.cov_params())[G:, G:]
        var = float(omega @ V @ omega)
        se = math.sqrt(var) if var >= 0 and math.isfinite(var) else None
    else:
        se = None
    matched = float(omega @ beta[:G])
    treated_ids = rows.filter(pl.col("treated"))["cds_code"].unique()
    control_ids = rows.filter(~pl.col("treated"))["cds_code"].unique()
    base_t = int(rows.filter(pl.col("treated")).unique(["cohort", "cds_code"])["base_n"].sum())
    base_c = int(rows.filter(~pl.col("treated")).unique(["cohort", "cds_code"])["base_n"].sum())
    return {"effect_pp": effect, "se_pp": se,
            "ci_low_pp": effect - Z95 * se if se is not None else None,
            "ci_high_pp": effect + Z95 * se if se is not None else None,
            "matched_change_pp": matched, "community_change_pp": matched + effect,
            "treated_schools_n": treated_ids.len(), "control_schools_n": control_ids.len(),
            "cohorts_n": G, "small": min(base_t, base_c) < codes.MIN_N}


def impact_estimate(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    grant_type: str = "implementation",
    baseline: str | None = None,
) -> pl.DataFrame:
    """One row: the matched difference-in-differences of the community schools in
    the filters over their post-grant years (t >= first grant year).

    Numerator: sum over cohorts of omega_g x beta_g, beta_g the cohort's weighted
    mean change from baseline of community schools minus that of their matched
    schools (pp); denominator: omega sums to 1 (each cohort's share of community
    baseline enrollment). effect_pp with ci_low_pp/ci_high_pp (95%, clustered by
    school) and se_pp; community_change_pp and matched_change_pp, the two sides'
    aggregated changes (effect = community - matched).

    relative_change_rate = effect_pp / |matched_change_pp|: the community change
    beyond the matched schools', as a share of the size of the matched schools'
    change. -0.30 reads "fell 30% more than matched schools" when both fell (or
    "rose 30% less" when the matched schools rose); null when |matched_change_pp|
    is under 0.1 pp.

    Counts are schools: treated_schools_n and control_schools_n in the estimate,
    unmatched_schools_n left out by the matching (see unmatched_reasons).
    grant_type: implementation (default), planning, coordination or all.
    baseline: None for each cohort's build baseline (rules.impact.BASELINE_RULE),
    or one academic year before every selected cohort's first grant year.
    Filters spa, district, cohort, school_type, school narrow the community
    schools; year is ignored; student_group must be all students.
    Suppression: effect and changes null (suppressed=True) when either side has
    fewer than 11 students at baseline; only visible school figures are used."""
    pairs, rows = _study(con, metric, filters, grant_type, baseline)
    unmatched_n = unmatched_schools(con, metric, filters, grant_type).height
    res = _fit(rows.filter(pl.col("relative_year") >= 0)) if rows.height else None
    rule = rules.BASELINE_RULE if baseline is None else f"baseline = {baseline} for every cohort"
    out = {k: None for k in ESTIMATE_SCHEMA}
    out.update(metric=metric, grant_type=grant_type, unmatched_schools_n=unmatched_n, baseline_rule=rule,
               treated_schools_n=0, control_schools_n=0, cohorts_n=0, suppressed=True)
    if res is not None:
        out.update({k: v for k, v in res.items() if k in ESTIMATE_SCHEMA})
        out["suppressed"] = res["small"]
        if res["small"]:
            for k in ("effect_pp", "ci_low_pp", "ci_high_pp", "se_pp", "community_change_pp", "matched_change_pp"):
                out[k] = None
        elif abs(res["matched_change_pp"]) >= MIN_MATCHED_CHANGE_PP:
            out["relative_change_rate"] = res["effect_pp"] / abs(res["matched_change_pp"])
    return pl.DataFrame([out], schema=ESTIMATE_SCHEMA)


def event_study(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    grant_type: str = "implementation",
    baseline: str | None = None,
) -> pl.DataFrame:
    """One row per year relative to the first grant (..., -2, -1, 0, +1, ...):
    effect_pp with ci_low_pp, ci_high_pp (95%, clustered by school) and se_pp,
    aggregated over the cohorts observed at that relative year by their share of
    community baseline enrollment (as impact_estimate). Pre-period rows (< 0)
    let a viewer judge parallel trends. years: the academic years behind the row;
    pandemic_year: one of them is 2019-20 or 2020-21; is_reference: every cohort's
    baseline year (effect 0 by construction, no interval). Counts are schools.
    Suppression as impact_estimate."""
    pairs, rows = _study(con, metric, filters, grant_type, baseline)
    out: list[dict] = []
    for e in sorted(rows["relative_year"].unique().to_list()) if rows.height else []:
        part = rows.filter(pl.col("relative_year") == e)
        res = _fit(part)
        if res is None:
            continue
        years = sorted(part["year"].unique().to_list())
        row = {k: v for k, v in res.items() if k in EVENT_SCHEMA}
        row.update(relative_year=e, years=", ".join(years), pandemic_year=any(map(rules.is_pandemic, years)),
                   is_reference=False, suppressed=res["small"])
        if res["small"]:
            for k in ("effect_pp", "ci_low_pp", "ci_high_pp", "se_pp"):
                row[k] = None
        out.append(row)
    refs = pairs.select("first_grant_year", "baseline_year").unique()
    ref_e = {codes.year_start(b) - codes.year_start(g) for g, b in refs.iter_rows()}
    if len(ref_e) == 1:
        e = ref_e.pop()
        if e not in {r["relative_year"] for r in out}:
            years = sorted(refs["baseline_year"].unique().to_list())
            out.append({k: None for k in EVENT_SCHEMA} | {
                "relative_year": e, "effect_pp": 0.0, "years": ", ".join(years),
                "pandemic_year": any(map(rules.is_pandemic, years)), "is_reference": True,
                "cohorts_n": refs.height, "treated_schools_n": pairs["treated_cds"].n_unique(),
                "control_schools_n": pairs["control_cds"].n_unique(), "suppressed": False})
    return pl.DataFrame(out, schema=EVENT_SCHEMA).sort("relative_year")


def balance(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    filters: Filters = Filters(),
    grant_type: str = "implementation",
) -> pl.DataFrame:
    """Standardised mean difference (SMD) of every matching variable, before and after matching.

    One row per variable (rules.impact.COVARIATES). treated_mean: the matched
    community schools' mean at their cohort's baseline; control_mean_before: every
    eligible comparison school (no CCSPP grant) of the same baseline years and school
    types, each cohort's pool stacked; control_mean_after: the matched schools,
    weighted 1/m_i per community school i with m_i matches. SMD = (treated mean -
    control mean) / sqrt((treated variance + variance of all eligible controls) / 2),
    the same before-matching denominator before and after (Stuart 2010); |SMD| under
    0.1 is the usual mark of balance. School type is matched exactly (SMD 0).
    Means are of schools (unweighted), from visible figures only. Counts are
    schools: matched, eligible and matched controls, unmatched (unmatched_reasons:
    'reason: n; ...')."""
    _check(metric, filters, grant_type)
    pairs = matched_pairs(con, metric, filters, grant_type)
    reasons = unmatched_reasons(con, metric, filters, grant_type)
    reason_text = "; ".join(f"{r}: {n}" for r, n in reasons.iter_rows())
    unmatched_n = int(reasons["schools_n"].sum()) if reasons.height else 0
    cov = query.fetch(con, "SELECT * FROM impact_covariates WHERE metric = ?", [metric])
    if pairs.height == 0:
        return pl.DataFrame([{k: None for k in BALANCE_SCHEMA} | {
            "variable": v, "label": rules.COVARIATE_LABELS[v], "treated_schools_n": 0, "control_schools_before_n": 0,
            "control_schools_after_n": 0, "unmatched_schools_n": unmatched_n, "unmatched_reasons": reason_text}
            for v in rules.COVARIATES], schema=BALANCE_SCHEMA)
    tkeys = pairs.select(pl.col("treated_cds").alias("cds_code"), "baseline_year").unique()
    treated = cov.join(tkeys, on=["cds_code", "baseline_year"], how="semi")
    strata = treated.select("baseline_year", "school_type").unique()
    before = cov.filter(pl.col("eligible_control")).join(strata, on=["baseline_year", "school_type"], how="semi")
    m = pairs.group_by("treated_cds").agg(pl.len().alias("_m"))
    after = (pairs.join(m, on="treated_cds")
             .select(pl.col("control_cds").alias("cds_code"), "baseline_year", (1 / pl.col("_m")).alias("_w"))
             .join(cov, on=["cds_code", "baseline_year"], how="inner"))
    out = []
    for v in rules.COVARIATES:
        t = treated[v].drop_nulls().to_numpy()
        b = before[v].drop_nulls().to_numpy()
        a = after.filter(pl.col(v).is_not_null())
        av, aw = a[v].to_numpy(), a["_w"].to_numpy()
        sd = math.sqrt((np.var(t, ddof=1) + np.var(b, ddof=1)) / 2) if len(t) > 1 and len(b) > 1 else float("nan")
        tm = float(t.mean()) if len(t) else None
        bm = float(b.mean()) if len(b) else None
        am = float(np.average(av, weights=aw)) if len(av) else None
        good = sd > 0 and math.isfinite(sd)
        out.append({"variable": v, "label": rules.COVARIATE_LABELS[v], "treated_mean": tm,
                    "control_mean_before": bm, "control_mean_after": am,
                    "smd_before": (tm - bm) / sd if good and tm is not None and bm is not None else None,
                    "smd_after": (tm - am) / sd if good and tm is not None and am is not None else None,
                    "treated_schools_n": pairs["treated_cds"].n_unique(),
                    "control_schools_before_n": before["cds_code"].n_unique(),
                    "control_schools_after_n": pairs["control_cds"].n_unique(),
                    "unmatched_schools_n": unmatched_n, "unmatched_reasons": reason_text})
    return pl.DataFrame(out, schema=BALANCE_SCHEMA)
