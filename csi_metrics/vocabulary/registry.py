"""The metric registry: one id, label, unit, direction, one-sentence definition
and source for every metric a page shows, so charts, tables, captions, exports
and the report never spell these out themselves. Values are written by
csi_metrics.vocabulary.formats (one formatter per unit)."""

from __future__ import annotations

from dataclasses import dataclass


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
    short: str = ""    # the name in a sentence or a picker ("chronic absenteeism fell ..."); else the label

    @property
    def name(self) -> str:
        return self.short or self.label


_DEFS = [
    MetricDef("chronic_absenteeism", "Chronic absenteeism rate", "rate", "lower_is_better",
              "Students absent 10% or more of the days they were enrolled, divided by eligible cumulative "
              "enrollment, pooled over schools (sum of counts over sum of enrollments).", CDE_CA,
              short="Chronic absenteeism"),
    MetricDef("suspension", "Suspension rate", "rate", "lower_is_better",
              "Unduplicated students suspended at least once, divided by cumulative enrollment, pooled over "
              "schools (sum of counts over sum of enrollments).", CDE_SUSP,
              short="Suspension"),
    MetricDef("chronic_absenteeism_change_pp", "Change in chronic absenteeism", "pp", "lower_is_better",
              "This year's pooled chronic absenteeism rate minus last year's, in percentage points, from "
              "unrounded rates.", CDE_CA),
    MetricDef("suspension_change_pp", "Change in suspension rate", "pp", "lower_is_better",
              "This year's pooled suspension rate minus last year's, in percentage points, from unrounded "
              "rates.", CDE_SUSP),
    MetricDef("chronic_absenteeism_since_baseline_pp", "Change in chronic absenteeism since the first year",
              "pp", "lower_is_better",
              "The pooled chronic absenteeism rate in the year shown minus the rate in the first year with data, "
              "in percentage points, from unrounded rates.", CDE_CA),
    MetricDef("suspension_since_baseline_pp", "Change in suspension rate since the first year", "pp",
              "lower_is_better",
              "The pooled suspension rate in the year shown minus the rate in the first year with data, in "
              "percentage points, from unrounded rates.", CDE_SUSP),
    MetricDef("gap_pp", "Gap, community minus comparison", "pp", "lower_is_better",
              "Pooled rate of community schools minus that of comparison (non-community) schools of the same "
              "SPA and school type, in percentage points.", f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}"),
    MetricDef("did_pp", "Difference-in-differences", "pp", "lower_is_better",
              "Change in community schools' pooled rate from the year before their first CCSPP grant to the "
              "latest year, minus the same change for comparison schools, in percentage points.",
              f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}"),
    MetricDef("impact_pp", "Matched difference-in-differences", "pp", "lower_is_better",
              "Community schools' change since their pre-grant baseline minus their matched comparison schools' "
              "(no CCSPP grant), cohort by cohort, weighted by enrollment; 95% interval clustered by school.", f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}",
              short="Impact"),
    MetricDef("relative_change_rate", "Change relative to matched schools", "share", "lower_is_better",
              "The matched difference-in-differences divided by the size of the matched schools' change: -0.30 "
              "reads 'fell 30% more than matched schools'.", f"{CDE_CA}; {CDE_SUSP}; {INITIATIVE_ROSTER}"),
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
    MetricDef("la_share_rate", "LA County share of awarded CCSPP grants", "share", "neutral",
              "CCSPP dollars awarded to LA County grantees divided by all CCSPP dollars awarded statewide "
              "in the grant records (awards made, not the program's $4.1B appropriation).",
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

# The two outcomes: their ids are the `metric` of the outcomes table, of every metric
# function, of the URL (?metric=) and of the deck, one id each.
OUTCOMES = ("chronic_absenteeism", "suspension")


def get(metric_id: str) -> MetricDef:
    """The MetricDef for an id, or a ValueError naming the known ids."""
    try:
        return METRICS[metric_id]
    except KeyError:
        raise ValueError(f"unknown metric {metric_id!r}; known: {', '.join(METRICS)}") from None
