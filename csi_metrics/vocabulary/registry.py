"""The metric registry: label, unit, direction, one-sentence definition and
source of every metric a page shows, so charts and tables never spell these
out themselves. `format_value` renders a value in its unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

UNITS = ("rate", "pp", "pp_abs", "count", "usd", "usd_per_student", "share")
DIRECTIONS = ("lower_is_better", "higher_is_better", "neutral")

CDE_CA = "CDE Chronic Absenteeism data file (filesabd.asp), school rows"
CDE_SUSP = "CDE Suspension data file (filessd.asp), school rows"
INITIATIVE_ROSTER = "Initiative records: community school roster"
INITIATIVE_GRANTS = "Initiative records: CCSPP grant awards"
INITIATIVE_ACTIVITIES = "Initiative records: activity log"
INITIATIVE_ATTENDANCE = "Initiative records: activity attendance (pseudonymous keys)"


@dataclass(frozen=True)
class MetricDef:
    id: str
    label: str
    unit: str          # one of UNITS
    direction: str     # one of DIRECTIONS
    definition: str    # one sentence
    source: str


_DEFS = [
    MetricDef("chronic_absenteeism_rate", "Chronic absenteeism", "rate", "lower_is_better",
              "Students absent 10% or more of the days they were enrolled, divided by eligible cumulative "
              "enrollment, pooled over schools (sum of counts over sum of enrollments).", CDE_CA),
    MetricDef("suspension_rate", "Suspension rate", "rate", "lower_is_better",
              "Unduplicated students suspended at least once, divided by cumulative enrollment, pooled over "
              "schools (sum of counts over sum of enrollments).", CDE_SUSP),
    MetricDef("chronic_absenteeism_change_pp", "Change in chronic absenteeism", "pp", "lower_is_better",
              "This year's pooled chronic absenteeism rate minus last year's, in percentage points, from "
              "unrounded rates.", CDE_CA),
    MetricDef("suspension_change_pp", "Change in suspension rate", "pp", "lower_is_better",
              "This year's pooled suspension rate minus last year's, in percentage points, from unrounded "
              "rates.", CDE_SUSP),
    MetricDef("gap_pp", "Gap, community minus comparison", "pp", "lower_is_better",
              "Pooled rate of community schools minus that of comparison (non-community) schools of the same "
              "SPA and school type, in percentage points.", f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}"),
    MetricDef("did_pp", "Difference-in-differences", "pp", "lower_is_better",
              "Change in community schools' pooled rate from the year before their first CCSPP grant to the "
              "latest year, minus the same change for comparison schools, in percentage points.",
              f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}"),
    MetricDef("community_schools_n", "Community schools", "count", "neutral",
              "Schools on the initiative's community school roster (CCSPP grantees) within the filters.",
              INITIATIVE_ROSTER),
    MetricDef("students_served_n", "Students served", "count", "higher_is_better",
              "Cumulative enrollment of community schools (suspension file, all students; chronic absenteeism "
              "eligible enrollment where a school has no suspension row).", f"{CDE_SUSP}; {INITIATIVE_ROSTER}"),
    MetricDef("ccspp_usd", "CCSPP dollars awarded", "usd", "neutral",
              "Sum of California Community Schools Partnership Program award amounts to LA County grantees.",
              INITIATIVE_GRANTS),
    MetricDef("usd_per_student", "Dollars per enrolled student", "usd_per_student", "neutral",
              "CCSPP dollars awarded divided by the cumulative enrollment of the funded schools in the award "
              "year.", f"{INITIATIVE_GRANTS}; {CDE_SUSP}"),
    MetricDef("la_share_rate", "LA County share of state CCSPP dollars", "share", "neutral",
              "CCSPP dollars to LA County grantees divided by all CCSPP dollars in the grant records.",
              INITIATIVE_GRANTS),
    MetricDef("grants_n", "Grants", "count", "neutral",
              "Number of CCSPP grant awards.", INITIATIVE_GRANTS),
    MetricDef("activities_n", "Activities", "count", "higher_is_better",
              "Number of logged initiative activities (events, sessions, referrals, distributions).",
              INITIATIVE_ACTIVITIES),
    MetricDef("learning_opportunities_n", "Learning opportunities", "count", "higher_is_better",
              "Number of logged learning opportunities for families and community members.",
              INITIATIVE_ACTIVITIES),
    MetricDef("support_sessions_n", "Support sessions", "count", "higher_is_better",
              "Number of logged support sessions.", INITIATIVE_ACTIVITIES),
    MetricDef("referrals_n", "Referrals", "count", "higher_is_better",
              "Number of logged referrals to services.", INITIATIVE_ACTIVITIES),
    MetricDef("engagement_events_n", "Engagement events", "count", "higher_is_better",
              "Number of logged family and community engagement events.", INITIATIVE_ACTIVITIES),
    MetricDef("distributions_n", "Item distributions", "count", "higher_is_better",
              "Number of logged item distributions (food, supplies).", INITIATIVE_ACTIVITIES),
    MetricDef("attendees_n", "Attendees", "count", "higher_is_better",
              "Sum of attendance counts over activities; a person who came twice counts twice.",
              INITIATIVE_ACTIVITIES),
    MetricDef("unique_individuals_n", "Unique individuals", "count", "higher_is_better",
              "Distinct pseudonymous person keys in the attendance records; suppressed under 11.",
              INITIATIVE_ATTENDANCE),
    MetricDef("items_n", "Items distributed", "count", "higher_is_better",
              "Sum of items handed out (food, supplies) over activities.", INITIATIVE_ACTIVITIES),
]

METRICS: dict[str, MetricDef] = {m.id: m for m in _DEFS}

# The outcome metric name used by rates/trends -> its registry id.
OUTCOME_METRIC_IDS = {"chronic_absenteeism": "chronic_absenteeism_rate", "suspension": "suspension_rate"}

SUPPRESSED_TEXT = "suppressed"
BLANK = "—"  # a missing value (not published, not applicable), everywhere a value is written


def get(metric_id: str) -> MetricDef:
    """The MetricDef for an id, or a ValueError naming the known ids."""
    try:
        return METRICS[metric_id]
    except KeyError:
        raise ValueError(f"unknown metric {metric_id!r}; known: {', '.join(METRICS)}") from None


def _half_up(value: float, digits: int = 1) -> Decimal:
    """`value` rounded half up (away from zero) to `digits` decimals, after dropping
    float noise: the rounding the Dashboard levels use (levels.round1), so a figure
    printed beside a level reads as the value that was placed (51/2000 -> 2.6%)."""
    d = Decimal(format(float(value), ".9f"))
    return d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def half_up_expr(expr: "pl.Expr", digits: int = 1) -> "pl.Expr":
    """`expr` rounded half up (away from zero) to `digits` decimals, natively: for tables
    that keep numbers (to sort) but must read as the formatter prints them."""
    import polars as pl

    scale = 10 ** digits
    return (expr.sign() * ((expr.abs() * scale + 0.5 + 1e-9).floor() / scale)).cast(pl.Float64)


def _usd_compact(a: float) -> str:
    if abs(a) >= 1e9:
        return f"${_half_up(a / 1e9)}B"
    if abs(a) >= 1e6:
        return f"${_half_up(a / 1e6)}M"
    if abs(a) >= 1e4:  # below that, every dollar digit is short enough and worth reading
        return f"${_half_up(a / 1e3, 0):,}K"
    return f"${_half_up(a, 0):,}"


def format_value(value: float | int | None, unit: str, *, suppressed: bool = False, digits: int = 1,
                 compact: bool = False) -> str:
    """The one formatter of every figure a person reads (cards, charts, tooltips,
    tables, CSV text, exports), one rule per unit, rounding half up:
    rate / share 0.1234 -> '12.3%'; pp -1.25 -> '-1.3 pp' (sign shown; zero
    '0.0 pp'); pp_abs 1.25 -> '1.3 percentage points' (unsigned, for sentences);
    count 1234 -> '1,234'; usd 1234567 -> '$1,234,567' (compact=True: '$1.2M',
    '$350K', for a bar label); usd_per_student 411.6 -> '$412'. A suppressed
    value reads 'suppressed', a missing one '—'."""
    if suppressed:
        return SUPPRESSED_TEXT
    if value is None or (isinstance(value, float) and value != value):
        return BLANK
    if unit in ("rate", "share"):
        return f"{_half_up(value * 100, digits)}%"
    if unit == "pp":
        d = _half_up(value, digits)
        return f"{'+' if d > 0 else ''}{d} pp" if d != 0 else f"{abs(d)} pp"
    if unit == "pp_abs":
        return f"{abs(_half_up(value, digits))} percentage points"
    if unit == "count":
        return f"{_half_up(value, 0):,}"
    if unit in ("usd", "usd_per_student"):
        return _usd_compact(float(value)) if compact else f"${_half_up(value, 0):,}"
    raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")


def format_metric(metric_id: str, value: float | int | None, *, suppressed: bool = False) -> str:
    """format_value with the registry's unit for metric_id."""
    return format_value(value, get(metric_id).unit, suppressed=suppressed)
