"""California School Dashboard status level, change level and colour.

Sources (CDE, quoted in ../shared/data/SOURCES.md §4 and read with the search
tool on 2026-11-23):
- Chronic absenteeism: "Five-by-Five Colored Tables" for the 2023 Dashboard
  onward, https://www.cde.ca.gov/ta/ac/cm/fivebyfivecolortables23.asp.
- Suspension: "Suspension Rate Indicator Calculation",
  https://www.cde.ca.gov/ta/ac/cm/suspratecal.asp (six cut sets: LEA type
  elementary / high / unified, school type elementary / middle / high), the
  five-by-five tables at https://www.cde.ca.gov/ta/ac/cm/fivebyfivecolortables.asp
  (2019 Dashboard) and CDE's "Five-by-Five Placement" reports
  (https://www6.cde.ca.gov/californiamodel/grid?indicator=susp...), which print
  each set's cut scores in their row and column headings. The `source` of each
  CutSet below names the page and Dashboard year its numbers come from; see
  CUT_SET_NOTES for the sets we could not confirm for the current Dashboard.

Rules implemented (CDE Dashboard Technical Guide, as stated in the brief and
the record layouts chronic24.asp / suspindicator24.asp):
- Status is the current rate in percent rounded to ONE decimal, half up
  (Decimal ROUND_HALF_UP, i.e. halves away from zero), then placed with the
  inclusive upper bounds of the cut set.
- Change = current rate - prior rate in percentage points, computed from the
  UNROUNDED rates, then rounded to one decimal the same way and placed.
- No status level or colour when the current denominator is under 30
  ('fewer than 30 students'); nothing at all when the figure is suppressed.
- Small populations: when the current denominator is 30-149, the "3x5 grid"
  applies (record layout suspindicator24.asp, field `smalldenom`: "Student
  population less than 150: 3x5 color grid was applied"). LAUSD's description
  of CDE's rule (achieve.lausd.net, "Safety Net"): it "removes both the
  'Increased Significantly' and 'Declined Significantly' Change levels ...
  This results in a three-by-five colored table", to avoid over-identifying
  small populations as Red or Blue. So here Increased Significantly counts as
  Increased and Declined Significantly as Declined when choosing the colour;
  the change level itself is still reported on the five-level scale. (In 2018
  that rule named LEAs and schools only; the 2024 record layouts carry
  `smalldenom` on student-group rows too, so we apply it to every group.)
- Both indicators are "lower is better": the grids below read Very Low status
  and Declined Significantly change as best. Two cells are N/A on CDE's
  suspension tables (Very Low or Low status that Increased Significantly,
  which cannot occur for the elementary/middle/high sets); we use the chronic
  absenteeism colours there (Yellow, Orange) so the function is total.
- Which rows, which cut set and which year rule apply to a figure is decided
  in one place, csi_metrics.metrics.placement; this module holds the rules themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl
from csi_metrics.vocabulary.formats import half_up

STATUS_LEVELS = ("Very Low", "Low", "Medium", "High", "Very High")
CHANGE_LEVELS = ("Declined Significantly", "Declined", "Maintained", "Increased", "Increased Significantly")
COLORS = ("Red", "Orange", "Yellow", "Green", "Blue")

COLOR_MIN_N = 30          # no status level or colour under 30 students
SMALL_POPULATION_N = 150  # 3x5 grid under 150 students
NOTE_FEWER_THAN_30 = "fewer than 30 students"
NOTE_NO_PRIOR = "no prior-year rate"
NOTE_SUPPRESSED = "suppressed"
NOTE_SMALL = "3x5 grid (fewer than 150 students)"

# Rows: status Very Low..Very High. Columns: change Declined Significantly,
# Declined, Maintained, Increased, Increased Significantly.
# (CDE prints the columns the other way round: Increased Significantly first.)
_GRID: dict[str, tuple[str, str, str, str, str]] = {
    "Very Low": ("Blue", "Blue", "Blue", "Green", "Yellow"),
    "Low": ("Blue", "Green", "Green", "Yellow", "Orange"),
    "Medium": ("Green", "Green", "Yellow", "Orange", "Orange"),
    "High": ("Yellow", "Yellow", "Orange", "Orange", "Red"),
    "Very High": ("Yellow", "Orange", "Red", "Red", "Red"),
}


@dataclass(frozen=True)
class CutSet:
    """Inclusive upper bounds, in one-decimal percent / percentage points.

    status_max: the highest status of Very Low, Low, Medium and High (Very High
    is anything above the last). change_max: the highest change of Declined
    Significantly, Declined, Maintained and Increased (Increased Significantly is
    anything above the last). confirmed_dashboards: the Dashboard years for which
    these numbers were read on a CDE page (source says which); for any other year
    the set is shown as not confirmed (`confirmation_note`)."""

    id: str
    metric: str
    label: str
    status_max: tuple[str, str, str, str]
    change_max: tuple[str, str, str, str]
    source: str
    confirmed_dashboards: tuple[int, ...] = ()


# What was read on CDE's own pages (2026-12-01, from stored copies; see the
# research notes behind issue 14): the chronic absenteeism five-by-five tables for the
# 2018, 2019 and 2023 Dashboards, the suspension elementary school grid of the Fall
# 2017 Dashboard and the elementary school district tables of 2017 and 2019. The
# other suspension sets are from CDE placement reports an earlier session read and
# could not be re-read here; the 2024 and 2025 tables were not found at all.
CUT_SETS: dict[str, CutSet] = {
    c.id: c
    for c in [
        CutSet(
            "chronic_absenteeism", "chronic_absenteeism", "Chronic absenteeism (TK-8)",
            ("2.5", "5.0", "10.0", "20.0"), ("-3.0", "-0.5", "0.4", "3.0"),
            "CDE fivebyfivecolortables23.asp (2023 Dashboard); same cuts in fivebyfivecolortables18/19.asp",
            (2018, 2019, 2023),
        ),
        CutSet(
            "suspension_es", "suspension", "Suspension, elementary school",
            ("0.5", "1.0", "3.0", "6.0"), ("-1.0", "-0.3", "0.2", "2.0"),
            "CDE Five-by-Five Placement grid, Suspension (Rate Elementary School), Fall 2017 Dashboard",
            (2017,),
        ),
        CutSet(
            "suspension_ms", "suspension", "Suspension, middle school",
            ("0.5", "2.0", "8.0", "12.0"), ("-3.0", "-0.3", "0.2", "4.0"),
            "CDE Five-by-Five Placement report (Middle School), 2017 Dashboard headings, as read by an earlier "
            "session; not re-read",
        ),
        CutSet(
            "suspension_hs", "suspension", "Suspension, high school",
            ("0.5", "1.5", "6.0", "10.0"), ("-2.0", "-0.3", "0.2", "3.0"),
            "CDE Five-by-Five Placement reports (High School), as read by an earlier session; not re-read",
        ),
        CutSet(
            "suspension_elementary_district", "suspension", "Suspension, elementary school district",
            ("0.5", "1.5", "3.0", "6.0"), ("-2.0", "-0.3", "0.2", "2.0"),
            "CDE fivebyfivecolortables.asp (2017) and fivebyfivecolortables19.asp, LEA elementary school district "
            "table (its Very High row was not legible: above 6.0 by construction)",
            (2017, 2019),
        ),
        CutSet(
            "suspension_high_district", "suspension", "Suspension, high school district",
            ("0.5", "1.5", "6.0", "10.0"), ("-2.0", "-0.3", "0.2", "3.0"),
            "NOT FOUND on any CDE page: the high school (school-type) set stands in for it",
        ),
        CutSet(
            "suspension_unified", "suspension", "Suspension, unified district and K-12 schools",
            ("1.0", "2.5", "4.5", "8.0"), ("-2.0", "-0.3", "0.2", "2.0"),
            "CDE Five-by-Five Placement report (Unified), 2018 Dashboard, as read by an earlier session; every "
            "level on CDE's 2022 and 2023 state reports falls inside these bounds",
        ),
    ]
}

CUT_SET_NOTES = (
    "Where CDE's own Dashboard file was loaded, schools and districts show CDE's official level and colour, "
    "not these cut scores. The cut scores matter for the Dashboard-style colours computed from DataQuest "
    "(pooled groups, and schools or years without an official file). Confirmed on CDE's pages: chronic "
    "absenteeism (2018, 2019, 2023 Dashboards), suspension elementary school (Fall 2017) and elementary "
    "school district (2017, 2019). Not confirmed: the middle school, high school and unified sets (from "
    "placement reports an earlier reading took them from), the high school district set (not found; the "
    "high school set stands in), and every set for the 2024 and 2025 Dashboards."
)


def confirmation_note(cut_set: str, dashboard_year: int | None) -> str | None:
    """None when the set's numbers were read on CDE's pages for that Dashboard year;
    otherwise a short note saying they were not."""
    cs = CUT_SETS[cut_set]
    if dashboard_year is not None and dashboard_year in cs.confirmed_dashboards:
        return None
    when = f"the {dashboard_year} Dashboard" if dashboard_year else "this Dashboard"
    return f"{cs.label} cut scores not confirmed for {when}"


def suspension_cut_set(school_type: str | None = None, lea_type: str | None = None) -> str:
    """The suspension cut set id for a school type ('ES','MS','HS','K-12','other')
    or, when no school type is given, an LEA type ('elementary','high','unified').

    K-12 schools use the unified set, as CDE's table title says ("Unified District
    and K-12 Schools"). 'other' schools (alternative, special education) and any
    pooled group with no CDE type (SPA, county, community schools) also use the
    unified set: the one built on the widest grade range."""
    if school_type is not None:
        return SCHOOL_TYPE_CUT_SETS.get(school_type, "suspension_unified")
    return LEA_TYPE_CUT_SETS.get(lea_type or "", "suspension_unified")


SCHOOL_TYPE_CUT_SETS = {"ES": "suspension_es", "MS": "suspension_ms", "HS": "suspension_hs"}
LEA_TYPE_CUT_SETS = {"elementary": "suspension_elementary_district", "high": "suspension_high_district"}


def suspension_cut_set_expr(school_type: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """suspension_cut_set for a column (expression or Series) of school types, natively."""
    return school_type.replace_strict(SCHOOL_TYPE_CUT_SETS, default="suspension_unified", return_dtype=pl.String)


def lea_cut_set_expr(lea_type: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """suspension_cut_set(lea_type=...) for a column (expression or Series) of LEA types, natively."""
    return lea_type.replace_strict(LEA_TYPE_CUT_SETS, default="suspension_unified", return_dtype=pl.String)


def default_cut_set(metric: str) -> str:
    return "chronic_absenteeism" if metric == "chronic_absenteeism" else "suspension_unified"


def _cut_set(metric: str, cut_set: str | None) -> CutSet:
    cid = "chronic_absenteeism" if metric == "chronic_absenteeism" else (cut_set or default_cut_set(metric))
    if cid not in CUT_SETS:
        raise ValueError(f"cut_set must be one of {', '.join(CUT_SETS)}; got {cid!r}")
    cs = CUT_SETS[cid]
    if cs.metric != metric:
        raise ValueError(f"cut set {cid!r} is for {cs.metric}, not {metric}")
    return cs


def round1(value: float | Decimal) -> Decimal:
    """One decimal, half up (away from zero), after dropping float noise
    (2.5499999999999998 is read as 2.55, so it rounds to 2.6): formats.half_up, the
    rounding every figure shown beside a level is written with."""
    return half_up(value, 1)


def _place(value: Decimal, bounds: tuple[str, str, str, str], levels: tuple[str, ...]) -> str:
    for bound, level in zip(bounds, levels):
        if value <= Decimal(bound):
            return level
    return levels[-1]


def status_level(metric: str, rate_pct: float | Decimal | None, cut_set: str | None = None) -> str | None:
    """Status level of a rate in percent (0-100, unrounded), or None if unknown."""
    if rate_pct is None:
        return None
    return _place(round1(rate_pct), _cut_set(metric, cut_set).status_max, STATUS_LEVELS)


def change_level(metric: str, change_pp: float | Decimal | None, cut_set: str | None = None) -> str | None:
    """Change level of (current - prior) in percentage points computed from
    unrounded rates, or None if unknown."""
    if change_pp is None:
        return None
    return _place(round1(change_pp), _cut_set(metric, cut_set).change_max, CHANGE_LEVELS)


def color(status: str | None, change: str | None, small_population: bool = False) -> str | None:
    """Performance colour for a status and change level. With small_population
    (30-149 students) the 3x5 grid applies: significant changes count as plain
    Increased / Declined."""
    if status is None or change is None:
        return None
    if status not in _GRID or change not in CHANGE_LEVELS:
        raise ValueError(f"unknown status {status!r} or change {change!r}")
    if small_population:
        change = {"Increased Significantly": "Increased", "Declined Significantly": "Declined"}.get(change, change)
    return _GRID[status][CHANGE_LEVELS.index(change)]


def assess(
    metric: str,
    rate: float | None,
    denominator_n: int | None,
    prior_rate: float | None,
    cut_set: str | None = None,
    suppressed: bool = False,
) -> dict[str, object]:
    """Dashboard placement of one figure (rates 0-1, unrounded).

    Returns status_pct and change_pp (one decimal, as Dashboard prints them),
    status_level, change_level, color, small_population and level_note."""
    out: dict[str, object] = {
        "status_pct": None, "change_pp": None, "status_level": None, "change_level": None,
        "color": None, "small_population": None, "level_note": None,
    }
    if suppressed or rate is None or denominator_n is None:
        out["level_note"] = NOTE_SUPPRESSED
        return out
    if denominator_n < COLOR_MIN_N:
        out["level_note"] = NOTE_FEWER_THAN_30
        return out
    cs = _cut_set(metric, cut_set)
    rate_pct = Decimal(format(rate * 100, ".9f"))
    out["status_pct"] = float(round1(rate_pct))
    out["status_level"] = status_level(metric, rate_pct, cs.id)
    small = denominator_n < SMALL_POPULATION_N
    out["small_population"] = small
    if prior_rate is None:
        out["level_note"] = NOTE_NO_PRIOR
        return out
    change = Decimal(format((rate - prior_rate) * 100, ".9f"))
    out["change_pp"] = float(round1(change))
    out["change_level"] = change_level(metric, change, cs.id)
    out["color"] = color(out["status_level"], out["change_level"], small)  # type: ignore[arg-type]
    out["level_note"] = NOTE_SMALL if small else None
    return out


# --------------------------------------------------------------------------- a whole column at once

ASSESS_COLUMNS = {"status_level": pl.String, "change_level": pl.String, "color": pl.String,
                  "level_note": pl.String}


def _tenths(pct: np.ndarray) -> np.ndarray:
    """round1 of every value (percent or points), in tenths, as int64; the rounding
    of `round1` exactly. The value is first written to nine decimals (what
    format(x, '.9f') gives) by rounding x * 1e9: that float product is within
    1.5e-5 of the exact one for |x| <= 100, so only a product within that of a half
    could round the other way, and those few (flagged far wider, 1e-3) are written
    by round1 itself. The nine-decimal integer is then rounded half up to tenths
    exactly, in integers. NaN gives 0 (callers mask it)."""
    finite = np.isfinite(pct)
    x = np.where(finite, pct, 0.0)
    scaled = x * 1e9
    n9 = np.rint(scaled).astype(np.int64)
    q = np.sign(n9) * ((np.abs(n9) + 50_000_000) // 100_000_000)
    near_half = finite & (np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-3)
    for i in np.flatnonzero(near_half):
        q[i] = int(round1(Decimal(format(float(x[i]), ".9f"))) * 10)
    return q


def _level_index(tenths: np.ndarray, bounds: tuple[str, str, str, str]) -> np.ndarray:
    """`_place` for a column: the number of inclusive upper bounds a value is above."""
    b = np.array([int(Decimal(v) * 10) for v in bounds], dtype=np.int64)
    return (tenths[:, None] > b[None, :]).sum(axis=1)


def assess_frame(metric: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`assess` for every row of `frame` at once (columns rate, denominator_n,
    prior_rate, cut_set, suppressed; nulls as assess's None), natively: the
    columns status_level, change_level, color and level_note, row for row what
    assess returns (tests/rules/test_levels.py holds the two together)."""
    n = frame.height
    if n == 0:
        return pl.DataFrame(schema=ASSESS_COLUMNS)
    rate = frame["rate"].cast(pl.Float64).to_numpy(allow_copy=True).astype(np.float64)
    prior = frame["prior_rate"].cast(pl.Float64).to_numpy(allow_copy=True).astype(np.float64)
    den = frame["denominator_n"].cast(pl.Float64).to_numpy(allow_copy=True).astype(np.float64)
    hidden = frame["suppressed"].fill_null(False).to_numpy() | np.isnan(rate) | np.isnan(den)
    few = ~hidden & (den < COLOR_MIN_N)
    placed = ~hidden & ~few
    small = placed & (den < SMALL_POPULATION_N)
    has_prior = placed & ~np.isnan(prior)
    status_t = _tenths(rate * 100)
    change_t = _tenths((rate - prior) * 100)
    status_i = np.zeros(n, dtype=np.int64)
    change_i = np.zeros(n, dtype=np.int64)
    cut_ids = frame["cut_set"].to_list() if metric != "chronic_absenteeism" else ["chronic_absenteeism"] * n
    cut_arr = np.array([c if c is not None else default_cut_set(metric) for c in cut_ids], dtype=object)
    for cid in set(cut_arr.tolist()):
        cs = _cut_set(metric, cid)
        rows = cut_arr == cid
        status_i[rows] = _level_index(status_t[rows], cs.status_max)
        change_i[rows] = _level_index(change_t[rows], cs.change_max)
    # the 3x5 grid: a significant change counts as a plain one
    grid_change = np.where(small, np.clip(change_i, 1, 3), change_i)
    grid = np.array([_GRID[s] for s in STATUS_LEVELS], dtype=object)
    status = np.where(placed, np.array(STATUS_LEVELS, dtype=object)[status_i], None)
    change = np.where(has_prior, np.array(CHANGE_LEVELS, dtype=object)[change_i], None)
    colour = np.where(has_prior, grid[status_i, grid_change], None)
    note = np.select([hidden, few, placed & ~has_prior, small], [NOTE_SUPPRESSED, NOTE_FEWER_THAN_30, NOTE_NO_PRIOR,
                                                                 NOTE_SMALL], default=None)
    return pl.DataFrame({"status_level": status.tolist(), "change_level": change.tolist(),
                         "color": colour.tolist(), "level_note": note.tolist()}, schema=ASSESS_COLUMNS)
