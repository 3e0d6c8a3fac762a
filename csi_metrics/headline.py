"""The headline figures of the landing page, one row each, with the prior
year and the change, plus a pure sentence builder saying what moved.

Rows (metric_id, scope):
- community_schools_n, community: community schools within the filters whose
  first CCSPP grant year is on or before the year (no year on the roster:
  counted every year).
- students_served_n, community: enrolment of those schools in the year
  (csi_metrics.funding.enrolled_students: suspension cumulative enrollment,
  else chronic absenteeism eligible enrollment).
- ccspp_usd, county: CCSPP dollars awarded to LA County grantees up to and
  including the year (cumulative), within the filters.
- chronic_absenteeism_rate and suspension_rate, for scope 'community'
  (community schools within the filters) and 'county' (every LA County school):
  pooled rate, prior-year rate, change in pp from unrounded rates, and the
  Dashboard colour. The chronic absenteeism indicator covers grades K-8, so its
  status/change/colour come from the pooled GRTK8 rows (the value shown is the
  all-grades TA rate); suspension uses the unified cut set for these pooled
  groups (the school's own set when the filters pick one school).

Suppression: rates and counts follow rates.pooled_rates / privacy.suppress; a
suppressed value is null with suppressed=True, and its colour is null.
Filters: year None means the latest year with outcome data.
"""

from __future__ import annotations

import duckdb
import polars as pl

from . import codes, funding, levels, rates, registry
from .filters import Filters

COLUMNS = {
    "metric_id": pl.String, "label": pl.String, "scope": pl.String, "unit": pl.String, "year": pl.String,
    "value": pl.Float64, "prior_year": pl.String, "prior_value": pl.Float64, "change": pl.Float64,
    "change_unit": pl.String, "status_level": pl.String, "change_level": pl.String, "color": pl.String,
    "suppressed": pl.Boolean, "note": pl.String,
}


def latest_year(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest academic year with any outcome row."""
    return rates.fetch(con, "SELECT max(academic_year) AS y FROM outcomes").item()


def _one(df: pl.DataFrame) -> dict[str, object]:
    if df.height == 0:
        return {"rate": None, "denominator_n": None, "suppressed": True}
    return df.row(0, named=True)


def _rate_frames(
    con: duckdb.DuckDBPyConnection, metric: str, scope: str, filters: Filters
) -> tuple[pl.DataFrame, pl.DataFrame, str | None]:
    """(shown rates by year, Dashboard-placement rates by year, cut set) of one
    metric and scope, over every year."""
    f = Filters(student_group="TA") if scope == "county" else filters.with_(
        community="community", year=None, student_group="TA"
    )
    # One query over every year per student group; years never share a cell, so
    # suppression is the same as asking year by year.
    by_year = rates.pooled_rates(con, metric, ["year"], f)
    # Dashboard placement: chronic absenteeism is a K-8 indicator (GRTK8 rows).
    group = "GRTK8" if metric == "chronic_absenteeism" else "TA"
    placed_by_year = by_year if group == "TA" else rates.pooled_rates(
        con, metric, ["year"], f.with_(student_group=group)
    )
    cut = None
    if metric == "suspension":
        cut = "suspension_unified"
        if filters.school is not None and scope != "county":
            st = rates.fetch(con, "SELECT school_type FROM schools WHERE cds_code = ?", [filters.school])
            cut = levels.suspension_cut_set(st.item() if st.height else None)
    return by_year, placed_by_year, cut


def _rate_row_from(
    frames: tuple[pl.DataFrame, pl.DataFrame, str | None], metric: str, scope: str, year: str, prior: str
) -> dict[str, object]:
    by_year, placed_by_year, cut = frames
    cur = _one(by_year.filter(pl.col("year") == year))
    pre = _one(by_year.filter(pl.col("year") == prior))
    lcur = _one(placed_by_year.filter(pl.col("year") == year))
    lpre = _one(placed_by_year.filter(pl.col("year") == prior))
    # A level of a hidden figure would narrow it down: place only what is shown.
    hidden = bool(lcur["suppressed"]) or bool(cur["suppressed"])
    placed = levels.assess(metric, lcur["rate"], lcur["denominator_n"], lpre["rate"], cut, hidden)
    change = None
    if cur["rate"] is not None and pre["rate"] is not None:
        change = (cur["rate"] - pre["rate"]) * 100
    mid = registry.OUTCOME_METRIC_IDS[metric]
    return {
        "metric_id": mid, "label": registry.METRICS[mid].label, "scope": scope, "unit": "rate", "year": year,
        "value": cur["rate"], "prior_year": prior, "prior_value": pre["rate"], "change": change,
        "change_unit": "pp", "status_level": placed["status_level"], "change_level": placed["change_level"],
        "color": placed["color"], "suppressed": bool(cur["suppressed"]),
        "note": placed["level_note"] if placed["color"] is None else None,
    }


def _rate_row(
    con: duckdb.DuckDBPyConnection, metric: str, scope: str, filters: Filters, year: str, prior: str
) -> dict[str, object]:
    return _rate_row_from(_rate_frames(con, metric, scope, filters), metric, scope, year, prior)


def _count_row(mid: str, scope: str, year: str, prior: str, value, prior_value, suppressed: bool, unit: str,
               note: str | None = None) -> dict[str, object]:
    change = None if value is None or prior_value is None else float(value) - float(prior_value)
    return {
        "metric_id": mid, "label": registry.METRICS[mid].label, "scope": scope, "unit": unit, "year": year,
        "value": None if value is None else float(value), "prior_year": prior,
        "prior_value": None if prior_value is None else float(prior_value), "change": change,
        "change_unit": unit, "status_level": None, "change_level": None, "color": None,
        "suppressed": suppressed, "note": note,
    }


def _community_schools_n(con: duckdb.DuckDBPyConnection, filters: Filters, year: str) -> int:
    conds, params = rates.filter_where(filters.with_(community="community"), outcome_alias=None)
    conds.append("(s.first_grant_year IS NULL OR s.first_grant_year <= ?)")
    params.append(year)
    return int(rates.fetch(con, f"SELECT count(*) AS n FROM schools s WHERE {' AND '.join(conds)}", params).item())


def _ccspp_usd_to(con: duckdb.DuckDBPyConnection, filters: Filters, year: str) -> int:
    df = funding.awards(con, ["award_year"], filters.with_(year=None))
    return int(df.filter(pl.col("award_year") <= year)["amount_usd"].sum())


def headline(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per headline figure: metric_id, label, scope, unit, year, value,
    prior_year, prior_value, change (pp for rates, same unit otherwise),
    change_unit, status_level, change_level, color, suppressed, note."""
    year = filters.year or latest_year(con)
    if year is None:
        return pl.DataFrame(schema=COLUMNS)
    prior = codes.previous_year(year)
    rows: list[dict[str, object]] = []
    rows.append(_count_row("community_schools_n", "community", year, prior,
                           _community_schools_n(con, filters, year), _community_schools_n(con, filters, prior),
                           False, "count"))
    served = {}
    for y in (year, prior):
        df = funding.enrolled_students(con, filters.with_(community="community", year=y))
        served[y] = (df["enrolled_n"][0], bool(df["suppressed"][0])) if df.height else (None, False)
    rows.append(_count_row("students_served_n", "community", year, prior, served[year][0], served[prior][0],
                           served[year][1], "count", "suppressed" if served[year][1] else None))
    rows.append(_count_row("ccspp_usd", "county", year, prior, _ccspp_usd_to(con, filters, year),
                           _ccspp_usd_to(con, filters, prior), False, "usd", "awarded to date"))
    for metric in ("chronic_absenteeism", "suspension"):
        for scope in ("community", "county"):
            rows.append(_rate_row(con, metric, scope, filters, year, prior))
    return pl.DataFrame(rows, schema=COLUMNS)


def series_years(con: duckdb.DuckDBPyConnection, up_to: str | None = None) -> list[str]:
    """The academic years with school-level outcome rows, oldest first, up to
    and including `up_to` (every year when None)."""
    df = rates.fetch(con, "SELECT DISTINCT academic_year AS y FROM outcomes WHERE aggregate_level = 'S' ORDER BY 1")
    return [y for y in df["y"].to_list() if up_to is None or y <= up_to]


def headline_series(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """headline(con, filters.with_(year=y)) for every year y of series_years(con,
    filters.year), stacked oldest first: the small trends on the Overview.

    Same columns, definitions and suppression as headline() (see the module
    docstring), with identical values, but computed in a few queries over every
    year at once (grouped by year in DuckDB) instead of one headline per year:
    community schools from one roster read, students served from one
    enrolment query grouped by year, CCSPP dollars to date as running sums of
    one awards-by-year query, and each rate row from the same all-years pooled
    rates headline() reads. With no outcome years it is headline(con, filters)."""
    years = series_years(con, filters.year)
    if not years:
        return headline(con, filters)
    conds, params = rates.filter_where(filters.with_(community="community"), outcome_alias=None)
    first_grant = rates.fetch(
        con, f"SELECT s.first_grant_year FROM schools s WHERE {' AND '.join(conds)}", params
    )["first_grant_year"]

    def schools_n(y: str) -> int:
        # no year on the roster: counted every year, as in headline()
        return int((first_grant.is_null() | (first_grant <= y)).sum())

    enrolled = funding.enrolled_students(con, filters.with_(community="community", year=None))
    served = {r["year"]: (r["enrolled_n"], bool(r["suppressed"])) for r in enrolled.iter_rows(named=True)}
    by_award_year = funding.awards(con, ["award_year"], filters.with_(year=None))

    def usd_to(y: str) -> int:
        return int(by_award_year.filter(pl.col("award_year") <= y)["amount_usd"].sum())

    frames = {(m, sc): _rate_frames(con, m, sc, filters)
              for m in ("chronic_absenteeism", "suspension") for sc in ("community", "county")}
    rows: list[dict[str, object]] = []
    for year in years:
        prior = codes.previous_year(year)
        cur_served, pre_served = served.get(year, (None, False)), served.get(prior, (None, False))
        rows.append(_count_row("community_schools_n", "community", year, prior, schools_n(year), schools_n(prior),
                               False, "count"))
        rows.append(_count_row("students_served_n", "community", year, prior, cur_served[0], pre_served[0],
                               cur_served[1], "count", "suppressed" if cur_served[1] else None))
        rows.append(_count_row("ccspp_usd", "county", year, prior, usd_to(year), usd_to(prior), False, "usd",
                               "awarded to date"))
        for (metric, scope), fr in frames.items():
            rows.append(_rate_row_from(fr, metric, scope, year, prior))
    return pl.DataFrame(rows, schema=COLUMNS)


def _direction_word(change: float, unit: str) -> str:
    if unit == "pp":
        return "rose" if change > 0 else "fell"
    return "grew" if change > 0 else "fell"


def what_moved(frame: pl.DataFrame, threshold_pp: float = 0.5) -> str:
    """One sentence naming the largest movement among the community rate rows
    (|change| >= threshold_pp), or saying nothing moved that much. Pure: reads
    only the headline frame. Suppressed or missing changes are never named."""
    rates_rows = [
        r for r in frame.iter_rows(named=True)
        if r["unit"] == "rate" and r["scope"] == "community" and r["change"] is not None and not r["suppressed"]
    ]
    if not rates_rows:
        return "No year-over-year change can be shown for community schools."
    top = max(rates_rows, key=lambda r: abs(r["change"]))
    year = top["year"]
    if abs(top["change"]) < threshold_pp:
        return f"Community school rates held steady in {year} (every change under {threshold_pp:.1f} points)."
    county = next(
        (r for r in frame.iter_rows(named=True) if r["metric_id"] == top["metric_id"] and r["scope"] == "county"),
        None,
    )
    label = top["label"].lower() if top["label"] else top["metric_id"]
    sentence = (
        f"In {year}, {label} in community schools {_direction_word(top['change'], 'pp')} "
        f"{abs(top['change']):.1f} points to {registry.format_value(top['value'], 'rate')}"
    )
    if county and county["value"] is not None and not county["suppressed"]:
        sentence += f" (county: {registry.format_value(county['value'], 'rate')}"
        if county["change"] is not None:
            sentence += f", {registry.format_value(county['change'], 'pp')}"
        sentence += ")"
    return sentence + "."
