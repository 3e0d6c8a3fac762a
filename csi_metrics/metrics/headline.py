"""The headline figures of the landing page, one row each, with the prior
year and the change, plus a pure sentence builder saying what moved.

Every row follows every filter, or its `ignores` column says which it does not
and `scope_label` says whose figure it is:
- scope 'selected': the schools the filters select. The Schools filter picks
  the side: 'community' and 'all' give the community schools among them (the
  initiative's own, the page's subject; 'all' says so in `ignores`),
  'comparison' gives the other schools. Rows: schools_n (community schools
  count from their first CCSPP grant year on), students_served_n (enrolment of
  filters.student_group: suspension cumulative enrollment, else chronic
  absenteeism eligible enrollment; hidden schools left out), ccspp_usd
  (dollars awarded up to and including the year; community schools only),
  and both outcome rates of filters.student_group.
- scope 'county': every LA County school, for the rates: follows the year and
  the student group, ignores the place and school filters (it is the
  reference).

Rates are pooled (rates.pooled_rates); each carries its Dashboard placement
from csi_metrics.metrics.placement (the TK-8 rate a chronic absenteeism level was
placed on in placed_value, official or computed in level_source). Suppression:
a suppressed value is null with suppressed=True, and it has no level.
Filters: year None means the latest year with outcome data.
"""

from __future__ import annotations

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes, registry, formats
from csi_metrics.metrics import funding, placement, rates
from csi_metrics.vocabulary.filters import Filters, not_applying
from csi_metrics.metrics import query

COLUMNS = {
    "metric_id": pl.String, "label": pl.String, "scope": pl.String, "scope_label": pl.String, "unit": pl.String,
    "year": pl.String, "value": pl.Float64, "prior_year": pl.String, "prior_value": pl.Float64,
    "change": pl.Float64, "change_unit": pl.String, "placed_group": pl.String, "placed_value": pl.Float64,
    "status_level": pl.String, "change_level": pl.String, "color": pl.String, "level_source": pl.String,
    "cut_set_note": pl.String, "schools_n": pl.Int64, "suppressed_schools_n": pl.Int64, "suppressed": pl.Boolean,
    "not_published": pl.Boolean, "note": pl.String, "ignores": pl.String,
}
RATE_METRICS = ("chronic_absenteeism", "suspension")


def latest_year(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest academic year with any outcome row."""
    return query.fetch(con, "SELECT max(academic_year) AS y FROM outcomes").item()


def side(filters: Filters) -> str:
    """Whose figures the 'selected' rows are: 'community' or 'comparison'."""
    return "comparison" if filters.community == "comparison" else "community"


def scope_label(filters: Filters) -> str:
    return "Comparison schools" if side(filters) == "comparison" else "Community schools"


def _selected(filters: Filters) -> Filters:
    return filters.with_(community=side(filters))


# The filters a row never follows: the county's figures are every LA County school; a count
# of schools and a dollar have no student group.
COUNTY_IGNORES = ("spa", "district", "community", "cohort", "school_type")
NO_GROUP = ("community_schools_n", "ccspp_usd")


def ignored_keys(scope: str, metric_id: str) -> tuple[str, ...]:
    """The sidebar filters a headline figure of `scope` never follows (its small trend
    neither)."""
    if scope == "county":
        return COUNTY_IGNORES
    return ("student_group",) if metric_id in NO_GROUP else ()


def _ignores(filters: Filters, scope: str, metric_id: str) -> str | None:
    """The filters a row does not follow, of those set, in the one sentence that says so
    (filters.not_applying); None: it follows all."""
    chosen = [k for k in ignored_keys(scope, metric_id)
              if getattr(filters, k) not in (None, "all", Filters().student_group)]
    why = {"county": "this is every LA County school", "selected": None}[scope]
    if "student_group" in chosen:
        why = "counts of schools and dollars have no student group"
    out = [not_applying(chosen, why=why)] if chosen else []
    if scope == "selected" and filters.community == "all":
        out.append("All schools: community schools shown (choose comparison schools for the others).")
    return " ".join(out) or None


def _count_row(mid: str, filters: Filters, year: str, prior: str, value, prior_value, suppressed: bool, unit: str,
               note: str | None = None) -> dict[str, object]:
    change = None if value is None or prior_value is None else float(value) - float(prior_value)
    label = registry.METRICS[mid].label
    if mid == "community_schools_n" and side(filters) == "comparison":
        label = "Comparison schools"
    return {
        "metric_id": mid, "label": label, "scope": "selected", "scope_label": scope_label(filters), "unit": unit,
        "year": year, "value": None if value is None else float(value), "prior_year": prior,
        "prior_value": None if prior_value is None else float(prior_value), "change": change,
        "change_unit": unit, "placed_group": None, "placed_value": None, "status_level": None, "change_level": None,
        "color": None, "level_source": None, "cut_set_note": None, "schools_n": None,
        "suppressed_schools_n": None, "suppressed": suppressed, "not_published": False, "note": note,
        "ignores": _ignores(filters, "selected", mid),
    }


def _rate_frames(con: duckdb.DuckDBPyConnection, metric: str, scope: str,
                 filters: Filters) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(shown rates by year, their placement by year) of one metric and scope, every year."""
    f = Filters(student_group=filters.student_group) if scope == "county" else _selected(filters).with_(year=None)
    # One query over every year; years never share a cell, so suppression is as year by year.
    by_year = rates.pooled_rates(con, metric, ["year"], f)
    placed = placement.place(con, metric, ["year"], f)
    return by_year, placed


def _by_year(df: pl.DataFrame) -> dict[str, dict]:
    """Each year's row of a frame grouped by year (one row per year), read once."""
    return {r["year"]: r for r in df.iter_rows(named=True)}


def _rate_row_from(frames: tuple[dict[str, dict], dict[str, dict]], metric: str, scope: str, filters: Filters,
                   year: str, prior: str) -> dict[str, object]:
    by_year, placed = frames
    cur, pre, p = by_year.get(year, {}), by_year.get(prior, {}), placed.get(year, {})
    value, prior_value = cur.get("rate"), pre.get("rate")
    change = None if value is None or prior_value is None else (value - prior_value) * 100
    mid = metric
    hidden = bool(cur.get("suppressed", True)) if cur else True
    return {
        "metric_id": mid, "label": registry.METRICS[mid].label, "scope": scope,
        "scope_label": "LA County, all schools" if scope == "county" else scope_label(filters), "unit": "rate",
        "year": year, "value": value, "prior_year": prior, "prior_value": prior_value, "change": change,
        "change_unit": "pp", "placed_group": p.get("placed_group"), "placed_value": p.get("placed_rate"),
        "status_level": p.get("status_level"), "change_level": p.get("change_level"), "color": p.get("color"),
        "level_source": p.get("level_source"), "cut_set_note": p.get("cut_set_note"),
        "schools_n": cur.get("schools_n"), "suppressed_schools_n": cur.get("suppressed_schools_n"),
        "suppressed": hidden if cur else False,
        "not_published": not codes.is_published(metric, year),
        "note": p.get("level_note") if not p.get("color") else None,
        "ignores": _ignores(filters, scope, mid),
    }


def _schools_n(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.Series:
    """first_grant_year of every selected school (null for comparison schools)."""
    conds, params = query.where(_selected(filters), query.SCHOOLS, skip=("year", "student_group"))
    return query.fetch(con, f"SELECT s.first_grant_year FROM schools s WHERE {' AND '.join(conds)}",
                       params)["first_grant_year"]


def series_years(con: duckdb.DuckDBPyConnection, up_to: str | None = None) -> list[str]:
    """The academic years with school-level outcome rows, oldest first, up to
    and including `up_to` (every year when None)."""
    df = query.fetch(con, "SELECT DISTINCT academic_year AS y FROM outcomes WHERE aggregate_level = 'S' ORDER BY 1")
    return [y for y in df["y"].to_list() if up_to is None or y <= up_to]


def headline(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per headline figure (COLUMNS) for filters.year (the latest year
    when None); see the module docstring."""
    year = filters.year or latest_year(con)
    if year is None:
        return pl.DataFrame(schema=COLUMNS)
    return headline_series(con, filters.with_(year=year)).filter(pl.col("year") == year)


def headline_series(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pl.DataFrame:
    """headline(con, filters.with_(year=y)) for every year y of series_years(con,
    filters.year), stacked oldest first: the small trends on the Overview. A few
    queries over every year at once (grouped by year in DuckDB), not one
    headline per year."""
    # A rate's card and its placement pool the same figures: each asked of the database once.
    with rates.reuse():
        return _headline_series(con, filters)


def _headline_series(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    years = series_years(con, filters.year)
    if not years:
        return pl.DataFrame(schema=COLUMNS)
    first_grant = _schools_n(con, filters)
    community = side(filters) == "community"

    def schools_n(y: str) -> int:
        # community schools count from their first grant year (none on the roster: every year)
        return int((first_grant.is_null() | (first_grant <= y)).sum()) if community else first_grant.len()

    enrolled = funding.enrolled_students(con, _selected(filters).with_(year=None))
    served = {r["year"]: (r["enrolled_n"], bool(r["suppressed"])) for r in enrolled.iter_rows(named=True)}
    by_award_year = funding.awards(con, ["award_year"], filters.with_(year=None)).select(
        "award_year", "amount_usd").rows()

    def usd_to(y: str) -> int | None:
        if not community:
            return None
        return int(sum(usd for award_year, usd in by_award_year if award_year is not None and award_year <= y))

    frames = {(m, sc): tuple(_by_year(df) for df in _rate_frames(con, m, sc, filters))
              for m in RATE_METRICS for sc in ("selected", "county")}
    rows: list[dict[str, object]] = []
    for year in years:
        prior = codes.previous_year(year)
        cur_served, pre_served = served.get(year, (None, False)), served.get(prior, (None, False))
        rows.append(_count_row("community_schools_n", filters, year, prior, schools_n(year), schools_n(prior),
                               False, "count"))
        rows.append(_count_row("students_served_n", filters, year, prior, cur_served[0], pre_served[0],
                               cur_served[1], "count", "suppressed" if cur_served[1] else None))
        rows.append(_count_row("ccspp_usd", filters, year, prior, usd_to(year), usd_to(prior), False, "usd",
                               "awarded to date" if community else "community schools only: no CCSPP grants"))
        for (metric, scope), fr in frames.items():
            rows.append(_rate_row_from(fr, metric, scope, filters, year, prior))
    return pl.DataFrame(rows, schema=COLUMNS)


def _direction_word(change: float) -> str:
    return "rose" if change > 0 else "fell"


def _shown(r: dict | None) -> bool:
    return bool(r) and r["value"] is not None and not r["suppressed"] and not r.get("not_published")


def _pct_tenths(rate: float) -> int:
    """A rate as the formatter prints it, in tenths of a point: the sentence compares what it shows."""
    return int(formats.half_up(rate * 100) * 10)


def _against_county(row: dict, county: dict) -> str:
    """', still above LA County's 18.1% (down 2.9 points)': where the schools stand against the
    county this year and last, and how the county moved."""
    now = _pct_tenths(row["value"]) - _pct_tenths(county["value"])
    county_rate = formats.format_value(county["value"], "rate")
    if now == 0:
        where = f"level with LA County at {county_rate}"
    else:
        side = "above" if now > 0 else "below"
        before = None
        if row["prior_value"] is not None and county["prior_value"] is not None:
            before = _pct_tenths(row["prior_value"]) - _pct_tenths(county["prior_value"])
        still = "" if before is None else ("still " if (before > 0) == (now > 0) and before != 0 else "now ")
        where = f"{still}{side} LA County's {county_rate}"
    moved = ""
    if county["change"] is not None:
        c = county["change"]
        moved = " (unchanged)" if formats.half_up(abs(c)) == 0 else \
            f" ({'up' if c > 0 else 'down'} {formats.format_value(abs(c), 'points')})"
    return f", {where}{moved}"


def _other_metric(row: dict, county: dict | None) -> str:
    """'Suspension fell 0.3 points to 2.6% (LA County 2.5%).'"""
    name = registry.get(row["metric_id"]).name
    name = name[0].upper() + name[1:]
    rate = formats.format_value(row["value"], "rate")
    if row["change"] is None or formats.half_up(abs(row["change"])) == 0:
        text = f"{name} held at {rate}" if row["change"] is not None else f"{name} was {rate}"
    else:
        text = f"{name} {_direction_word(row['change'])} {formats.format_value(abs(row['change']), 'points')} to {rate}"
    if _shown(county):
        text += f" (LA County {formats.format_value(county['value'], 'rate')})"
    return text + "."


def what_moved(frame: pl.DataFrame, threshold_pp: float = 0.5, group_label: str | None = None,
               comparison: pl.DataFrame | None = None) -> str:
    """The Overview's sentence, as a leader would say it: the largest movement among the
    selected schools' rates (|change| >= threshold_pp), where they stand against the county
    ("still above LA County's 18.1%") and how the county moved, how the comparison schools
    moved (`comparison`: the headline frame of the other side, optional), then the other
    rate. One unit for every change (percentage points, then "points"), written by the one
    formatter. Pure: reads only the frames. Suppressed, unpublished or missing figures are
    never named."""
    rows = list(frame.iter_rows(named=True))
    sel = [r for r in rows if r["unit"] == "rate" and r["scope"] == "selected" and r["change"] is not None
           and _shown(r)]
    whose = (frame["scope_label"][0] if frame.height else "Community schools").lower()
    among = f" for {group_label.lower()}" if group_label and group_label != "All students" else ""
    if not sel:
        return f"No year-over-year change can be shown for {whose}{among}."
    top = max(sel, key=lambda r: abs(r["change"]))
    year = top["year"]
    if abs(top["change"]) < threshold_pp:
        return (f"Rates in {whose}{among} held steady in {year} "
                f"(every change under {formats.format_value(threshold_pp, 'pp_abs')}).")

    def county_of(mid: str) -> dict | None:
        return next((r for r in rows if r["metric_id"] == mid and r["scope"] == "county"), None)

    label = registry.get(top["metric_id"]).name.lower()
    sentence = (f"In {year}, {label} in {whose}{among} {_direction_word(top['change'])} "
                f"{formats.format_value(abs(top['change']), 'pp_abs')} to {formats.format_value(top['value'], 'rate')}")
    county = county_of(top["metric_id"])
    if _shown(county):
        sentence += _against_county(top, county)
    other_side = None if comparison is None else next(
        (r for r in comparison.iter_rows(named=True)
         if r["metric_id"] == top["metric_id"] and r["scope"] == "selected" and r["change"] is not None
         and _shown(r)), None)
    if other_side is not None:
        c = other_side["change"]
        who = other_side["scope_label"].lower()
        if formats.half_up(abs(c)) == 0:
            sentence += f"; {who} held steady"
        else:
            too = " too, by" if (c > 0) == (top["change"] > 0) else ""
            sentence += f"; {who} {_direction_word(c)}{too} {formats.format_value(abs(c), 'points')}"
    sentence += "."
    for r in sel + [r for r in rows if r["unit"] == "rate" and r["scope"] == "selected" and r["change"] is None
                    and _shown(r)]:
        if r["metric_id"] != top["metric_id"]:
            sentence += " " + _other_metric(r, county_of(r["metric_id"]))
    return sentence
