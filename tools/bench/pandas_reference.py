"""Straightforward pandas implementations of the main metrics, for the
benchmark's ratio column.

What "straightforward" means here: read each table into a pandas DataFrame
once (`load_tables`), then filter with boolean masks, merge and groupby/sum,
as an analyst would write it in a notebook. No DuckDB, no Polars. Every
function computes the same definition as its csi_metrics counterpart (pooled
rate = sum of known numerators / sum of known denominators of LA County school
rows) with primary suppression only (fewer than 11 students); complementary
suppression is not reproduced, so a cell the library hides by complement is
still a number here. `tools.bench.benchmark.agree` compares the two on the cells
both show.

The benchmark times these against the library with the table-loading step
excluded (it is timed once, separately), which flatters pandas: the library's
figures include reading from the database every call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_metrics.vocabulary.codes import SPA_NAMES, spa_label

LA = "19"
MIN_N = 11

BY_COLUMNS = {
    "year": "academic_year",
    "spa": "spa_n",
    "district": "district_code",
    "school": "cds_code",
    "school_type": "school_type",
    "student_group": "reporting_category",
    "community": "community",
    "cohort": "ccspp_cohort",
}


@dataclass
class Tables:
    outcomes: pd.DataFrame
    schools: pd.DataFrame
    grants: pd.DataFrame
    activities: pd.DataFrame
    attendance: pd.DataFrame


def load_tables(con) -> Tables:
    """Every table the metrics read, as pandas DataFrames (read once)."""

    def read(sql: str) -> pd.DataFrame:
        return con.sql(sql).df()

    return Tables(
        outcomes=read("SELECT * FROM outcomes"),
        schools=read("SELECT * FROM schools"),
        grants=read("SELECT * FROM grants"),
        activities=read("SELECT * FROM activities"),
        attendance=read("SELECT * FROM attendance"),
    )


# --------------------------------------------------------------------------- years


def _year_start(y: str) -> int:
    return int(y[:4])


def _academic_year(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def _previous_year(y: str) -> str:
    return _academic_year(_year_start(y) - 1)


def _year_range(first: str, last: str) -> list[str]:
    return [_academic_year(s) for s in range(_year_start(first), _year_start(last) + 1)]


# --------------------------------------------------------------------------- pooled rates


def _school_rows(t: Tables, metric: str, county_code: str | None, student_group: str | None,
                 year: str | None = None) -> pd.DataFrame:
    o = t.outcomes
    mask = (o["metric"] == metric) & (o["aggregate_level"] == "S")
    if student_group is not None:
        mask &= o["reporting_category"] == student_group
    if year is not None:
        mask &= o["academic_year"] == year
    o = o[mask]
    s = t.schools
    if county_code is not None:
        s = s[s["county_code"] == county_code]
    s = s[["cds_code", "district_code", "spa_n", "school_type", "is_community", "ccspp_cohort"]].copy()
    s["community"] = np.where(s["is_community"], "community", "comparison")
    return o.merge(s, on="cds_code", how="inner")


def _pool(m: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Sum the known school rows of `m` per `cols` (null sums where no row is known)."""
    known = m["visible"] & m["numerator_n"].notna() & m["denominator_n"].notna()
    work = pd.DataFrame({
        "num": m["numerator_n"].where(known).astype("float64"),
        "den": m["denominator_n"].where(known).astype("float64"),
        "cds": m["cds_code"].where(known),
        "unknown": (~known).astype("int64"),
        "k": known.astype("int64"),
    })
    for c in cols:
        work[c] = m[c].values
    if cols:
        g = work.groupby(cols, dropna=False, sort=True).agg(
            numerator_n=("num", "sum"), denominator_n=("den", "sum"), schools_n=("cds", "nunique"),
            suppressed_schools_n=("unknown", "sum"), k=("k", "sum"),
        ).reset_index()
    else:
        g = pd.DataFrame({
            "numerator_n": [work["num"].sum()], "denominator_n": [work["den"].sum()],
            "schools_n": [work["cds"].nunique()], "suppressed_schools_n": [work["unknown"].sum()],
            "k": [work["k"].sum()],
        })
    none_known = g["k"] == 0
    g.loc[none_known, ["numerator_n", "denominator_n"]] = np.nan
    g = g.drop(columns="k")
    g["rate"] = np.where(g["denominator_n"] > 0, g["numerator_n"] / g["denominator_n"], np.nan)
    return g


def _suppress(g: pd.DataFrame, n_col: str = "denominator_n", cols=("rate", "numerator_n", "denominator_n")) -> pd.DataFrame:
    g["suppressed"] = g[n_col].isna() | (g[n_col] < MIN_N)
    for c in cols:
        g.loc[g["suppressed"], c] = np.nan
    return g


def pooled_rates(t: Tables, metric: str, by: list[str], *, county_code: str | None = LA,
                 student_group: str = "TA", year: str | None = None) -> pd.DataFrame:
    """Pooled rate per combination of `by` (names as in rates.pooled_rates)."""
    m = _school_rows(t, metric, county_code, None if "student_group" in by else student_group, year)
    cols = [BY_COLUMNS[b] for b in by]
    g = _pool(m, cols)
    g = g.rename(columns={BY_COLUMNS[b]: b for b in by})
    return _suppress(g)


# --------------------------------------------------------------------------- trend


def trend(t: Tables, metric: str, by: list[str], *, county_code: str | None = LA) -> pd.DataFrame:
    """year, *by, rate, yoy_change_pp, since_baseline_pp; every year of the metric's span."""
    yrs = t.outcomes.loc[t.outcomes["metric"] == metric, "academic_year"]
    years = _year_range(yrs.min(), yrs.max())
    p = pooled_rates(t, metric, ["year", *by], county_code=county_code)
    grid = pd.DataFrame({"year": years})
    if by:
        grid = grid.merge(p[by].drop_duplicates(), how="cross")
    out = grid.merge(p, on=["year", *by], how="left")
    prior = out[["year", *by, "rate"]].copy()
    prior["year"] = prior["year"].map(lambda y: _academic_year(_year_start(y) + 1))
    out = out.merge(prior.rename(columns={"rate": "prior_rate"}), on=["year", *by], how="left")
    base = out.loc[out["year"] == years[0], [*by, "rate"]].rename(columns={"rate": "base_rate"})
    out = out.merge(base, on=by, how="left") if by else out.assign(base_rate=base["rate"].iloc[0])
    out["yoy_change_pp"] = (out["rate"] - out["prior_rate"]) * 100
    out["since_baseline_pp"] = (out["rate"] - out["base_rate"]) * 100
    return out.drop(columns=["prior_rate", "base_rate"])


# --------------------------------------------------------------------------- difference in differences


def diff_in_diff(t: Tables, metric: str, *, student_group: str = "TA", county_code: str | None = LA) -> pd.DataFrame:
    """group, did_pp, community_change_pp, comparison_change_pp, community_schools_n,
    comparison_schools_n: the algorithm of compare.diff_in_diff with default filters."""
    s = t.schools
    if county_code is not None:
        s = s[s["county_code"] == county_code]
    comm = s[s["is_community"] & s["spa_n"].notna()]
    strata = comm[["spa_n", "school_type"]].drop_duplicates()
    comp = s[~s["is_community"]].merge(strata, on=["spa_n", "school_type"])
    sides = pd.concat([
        comm[["cds_code", "spa_n", "school_type", "first_grant_year"]].assign(side="community"),
        comp[["cds_code", "spa_n", "school_type"]].assign(first_grant_year=None, side="comparison"),
    ])
    o = t.outcomes
    o = o[(o["metric"] == metric) & (o["aggregate_level"] == "S") & (o["reporting_category"] == student_group)
          & ~o["suppressed"] & o["numerator_n"].notna() & o["denominator_n"].notna()]
    rows = sides.merge(o[["cds_code", "academic_year", "numerator_n", "denominator_n"]], on="cds_code")
    years = sorted(t.outcomes.loc[t.outcomes["metric"] == metric, "academic_year"].unique())
    end = years[-1]
    c_rows = rows[rows["side"] == "community"]
    p_rows = rows[rows["side"] == "comparison"]

    def balanced(df: pd.DataFrame, base: str) -> tuple[dict, dict, set]:
        both = df[df["academic_year"].isin([base, end])]
        k = both.groupby("cds_code")["academic_year"].nunique()
        keep = k[k == 2].index
        both = both[both["cds_code"].isin(keep)]
        sums = both.groupby("academic_year")[["numerator_n", "denominator_n"]].sum()
        get = {y: {"num": float(r["numerator_n"]), "den": float(r["denominator_n"])} for y, r in sums.iterrows()}
        return get.get(base), get.get(end), set(keep)

    out = []
    peer_ids: dict[str, set] = {}
    for g in sorted(x for x in c_rows["first_grant_year"].dropna().unique()):
        target = _previous_year(g)
        earlier = [y for y in years if y <= target]
        if not earlier or max(earlier) >= end:
            continue
        base = max(earlier)
        members = c_rows[c_rows["first_grant_year"] == g]
        peers = p_rows.merge(members[["spa_n", "school_type"]].drop_duplicates(), on=["spa_n", "school_type"])
        cb, ce, c_ids = balanced(members, base)
        pb, pe, p_ids = balanced(peers, base)
        cn, pn = len(c_ids), len(p_ids)
        peer_ids[g] = p_ids
        small = any(r is None or r["den"] < MIN_N for r in (cb, ce, pb, pe))
        if small:
            out.append({"group": g, "did_pp": np.nan, "community_change_pp": np.nan, "comparison_change_pp": np.nan,
                        "community_schools_n": cn, "comparison_schools_n": pn, "w": np.nan})
            continue
        cc = (ce["num"] / ce["den"] - cb["num"] / cb["den"]) * 100
        pc = (pe["num"] / pe["den"] - pb["num"] / pb["den"]) * 100
        out.append({"group": g, "did_pp": cc - pc, "community_change_pp": cc, "comparison_change_pp": pc,
                    "community_schools_n": cn, "comparison_schools_n": pn, "w": cb["den"]})
    df = pd.DataFrame(out, columns=["group", "did_pp", "community_change_pp", "comparison_change_pp",
                                    "community_schools_n", "comparison_schools_n", "w"])
    ok = df.dropna(subset=["did_pp"])
    if len(ok):
        w = ok["w"]
        all_row = {"group": "all",
                   **{c: float((ok[c] * w).sum() / w.sum())
                      for c in ("did_pp", "community_change_pp", "comparison_change_pp")},
                   "community_schools_n": int(ok["community_schools_n"].sum()),
                   # the balanced comparison schools of the groups shown, each once
                   "comparison_schools_n": len(set().union(*(peer_ids[g] for g in ok["group"])))}
        df = pd.concat([pd.DataFrame([all_row]), df], ignore_index=True)
    return df.drop(columns="w")


# --------------------------------------------------------------------------- funding


def awards(t: Tables, by: list[str], *, county_code: str | None = LA) -> pd.DataFrame:
    """amount_usd and grants_n per `by` (spa, cohort, grant_type, award_year), with the
    SPA attribution of funding.awards: a school grant to its school's SPA, an LEA
    grant to the one SPA of its community schools, else the 'LEA-wide' bucket."""
    s = t.schools
    comm = s[s["is_community"]]
    lea = comm.groupby("district_code").agg(
        spa_count=("spa_n", "nunique"), any_unassigned=("spa_n", lambda x: x.isna().any()), only_spa=("spa_n", "min")
    ).reset_index()
    g = t.grants.copy()
    if county_code is not None:
        g = g[g["county_code"] == county_code].copy()
    g["district_code"] = g["grantee_cds"].str[:7]
    g = g.merge(s[["cds_code", "spa_n"]].rename(columns={"cds_code": "grantee_cds", "spa_n": "school_spa"}),
                on="grantee_cds", how="left")
    g = g.merge(lea, on="district_code", how="left")
    is_school = g["grantee_level"] == "school"
    single = (g["spa_count"] == 1) & (g["any_unassigned"] == False)  # noqa: E712 (NaN-safe)
    g["spa"] = np.where(is_school, g["school_spa"], np.where(single, g["only_spa"], np.nan))
    g["spa_label"] = np.where(
        g["spa"].notna(), g["spa"].map({n: spa_label(n) for n in SPA_NAMES}),
        np.where(is_school, "Unassigned", "LEA-wide"))
    cols = {"spa": "spa_label", "cohort": "cohort", "grant_type": "grant_type", "award_year": "award_year",
            "district": "district_code"}
    keys = [cols[b] for b in by]
    return g.groupby(keys, dropna=False).agg(amount_usd=("amount_usd", "sum"), grants_n=("grant_id", "count")).reset_index()


# --------------------------------------------------------------------------- activities


def activity_counts(t: Tables, by: list[str]) -> pd.DataFrame:
    """activities_n, attendees_n, items_n and unique_individuals_n per `by`
    (activity_type, spa, month 'YYYY-MM', year); unique people under 11 suppressed."""
    a = t.activities.copy()
    a["month"] = pd.to_datetime(a["activity_date"]).dt.strftime("%Y-%m")
    a = a.rename(columns={"spa_n": "spa", "academic_year": "year"})
    counts = a.groupby(by, dropna=False).agg(
        activities_n=("activity_id", "count"), attendees_n=("attendees_n", "sum"), items_n=("items_n", "sum")
    ).reset_index()
    people = a[[*by, "activity_id"]].merge(t.attendance, on="activity_id")
    uniq = people.groupby(by, dropna=False)["person_key"].nunique().rename("unique_individuals_n").reset_index()
    out = counts.merge(uniq, on=by, how="left")
    out["unique_individuals_n"] = out["unique_individuals_n"].fillna(0)
    small = (out["unique_individuals_n"] > 0) & (out["unique_individuals_n"] < MIN_N)
    out.loc[small, "unique_individuals_n"] = np.nan
    return out


# --------------------------------------------------------------------------- headline and school table


def _enrolment(t: Tables) -> pd.DataFrame:
    """Each school's enrolment per year: TA suspension denominator, else chronic eligible."""
    o = t.outcomes
    o = o[(o["aggregate_level"] == "S") & (o["reporting_category"] == "TA") & o["visible"]
          & o["denominator_n"].notna()]
    wide = o.pivot_table(index=["cds_code", "academic_year"], columns="metric", values="denominator_n",
                         aggfunc="max").reset_index()
    empty = pd.Series(np.nan, index=wide.index)
    wide["enrolled_n"] = wide.get("suspension", empty).fillna(wide.get("chronic_absenteeism", empty))
    return wide[["cds_code", "academic_year", "enrolled_n"]]


def headline(t: Tables) -> pd.DataFrame:
    """metric_id, scope, value, prior_value for the latest year (default filters)."""
    year = t.outcomes["academic_year"].max()
    prior = _previous_year(year)
    la = t.schools[t.schools["county_code"] == LA]
    comm = la[la["is_community"]]
    rows = []

    def n_schools(y: str) -> float:
        return float(((comm["first_grant_year"].isna()) | (comm["first_grant_year"] <= y)).sum())

    rows.append(("community_schools_n", "selected", n_schools(year), n_schools(prior)))
    e = _enrolment(t)
    e = e[e["cds_code"].isin(comm["cds_code"])]

    def served(y: str) -> float:
        v = e.loc[e["academic_year"] == y, "enrolled_n"]
        return float(v.sum()) if len(v) and v.sum() >= MIN_N else np.nan

    rows.append(("students_served_n", "selected", served(year), served(prior)))
    g = t.grants[t.grants["county_code"] == LA]
    rows.append(("ccspp_usd", "selected", float(g.loc[g["award_year"] <= year, "amount_usd"].sum()),
                 float(g.loc[g["award_year"] <= prior, "amount_usd"].sum())))
    ids = {"chronic_absenteeism": "chronic_absenteeism", "suspension": "suspension"}
    for metric in ("chronic_absenteeism", "suspension"):
        m = _school_rows(t, metric, LA, "TA")
        for scope in ("selected", "county"):
            mm = m[m["is_community"]] if scope == "selected" else m
            vals = []
            for y in (year, prior):
                p = _suppress(_pool(mm[mm["academic_year"] == y], []))
                vals.append(float(p["rate"].iloc[0]))
            rows.append((ids[metric], scope, *vals))
    return pd.DataFrame(rows, columns=["metric_id", "scope", "value", "prior_value"])


def school_table(t: Tables) -> pd.DataFrame:
    """cds_code and, per metric, {m}_rate (TA, latest year) and {m}_change_pp from the prior year."""
    year = t.outcomes["academic_year"].max()
    prior = _previous_year(year)
    out = t.schools.loc[t.schools["county_code"] == LA, ["cds_code", "school_name", "school_type"]]
    for metric in ("chronic_absenteeism", "suspension"):
        m = _school_rows(t, metric, LA, "TA")
        m = m[m["academic_year"].isin([year, prior])]
        p = _suppress(_pool(m, ["cds_code", "academic_year"]))
        cur = p[p["academic_year"] == year].set_index("cds_code")["rate"]
        pre = p[p["academic_year"] == prior].set_index("cds_code")["rate"]
        out = out.merge(cur.rename(f"{metric}_rate"), left_on="cds_code", right_index=True, how="left")
        out[f"{metric}_change_pp"] = (out[f"{metric}_rate"] - out["cds_code"].map(pre)) * 100
    return out.sort_values(["school_name", "cds_code"]).reset_index(drop=True)
