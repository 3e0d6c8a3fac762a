"""The chart catalogue: every chart the dashboard draws, declared once.

Each `Chart` says what it loads (metric functions, as function objects), how it
draws (a figures function), the words around it (its title from the registry's
label, a note saying what the filters do to it, the definition and source from
the registry) and which choices it takes (`Option`). Pages, the presenter's deck,
exports and tests all draw through `render`, so a chart looks and counts the same
everywhere.

`render` takes the caller's loader: `load(fn, *args, filters=None, **kwargs)`
returns `fn(con, *args, [filters], **kwargs)`. The app passes one that caches
per database file and access level (csi_app.data.load); tests and the command
line pass `direct_loader(con)`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from csi_metrics.figures import charts, maps, projector
from csi_metrics.ingest import boundaries
from csi_metrics.metrics import (activities, breakdown, compare, funding, geo, headline, impact, placement, query,
                                 rates, schools, trends)
from csi_metrics.vocabulary import codes, config, formats, registry, words
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import SIDEBAR, Filters, not_applying
from csi_metrics.vocabulary.safe_text import for_plotly

Loader = Callable[..., Any]


@dataclass(frozen=True)
class Option:
    """One choice a chart takes: its allowed values (None: any text the chart checks
    itself), their labels, and the default (the first value unless given)."""

    label: str
    values: tuple[Any, ...] | None
    labels: Mapping[Any, str] = field(default_factory=dict)
    default: Any = None

    def default_value(self) -> Any:
        return self.default if self.default is not None or self.values is None else self.values[0]

    def label_of(self, value: Any) -> str:
        return self.labels.get(value, str(value))


@dataclass(frozen=True)
class Context:
    """What a chart is drawn for: the filters, its choices, and the caller's services."""

    filters: Filters
    choices: Mapping[str, Any]
    load: Loader
    describe: Callable[[Filters], str]
    latest_year: str | None
    boundaries: Callable[[], tuple[dict | None, str | None]]

    def __getitem__(self, name: str) -> Any:
        return self.choices[name]

    def one_year(self) -> Filters:
        """The filters with a year: a chart of one year under no year shows the latest."""
        return self.filters if self.filters.year else self.filters.with_(year=self.latest_year)


@dataclass(frozen=True)
class Drawn:
    """A drawn chart: the figure, the table behind it (suppressed upstream), its
    title, a note on what the filters do to it (markdown-safe text), the registry
    metric whose definition and source go with it, any frames a page shows beside
    it (`extra`), and the sidebar filters it does not follow (`ignores`: `render`
    ends the note with filters.not_applying's sentence naming them)."""

    fig: go.Figure
    table: pl.DataFrame
    title: str
    note: str
    metric: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # What it was drawn from (set by `render`), so a page's chart can become a deck slide.
    chart_id: str = ""
    filters: Filters | None = None
    choices: Mapping[str, Any] = field(default_factory=dict)
    ignores: tuple[str, ...] = ()

    @property
    def definition(self) -> str:
        m = registry.METRICS.get(self.metric or "")
        return f"{m.label}: {m.definition}" if m else ""

    @property
    def source(self) -> str:
        m = registry.METRICS.get(self.metric or "")
        return m.source if m else ""

    @property
    def caption(self) -> str:
        """Definition and note: what a slide or an export prints under the chart."""
        return " ".join(x.rstrip(".") + "." for x in (self.definition, self.note) if x)


@dataclass(frozen=True)
class Chart:
    id: str
    page: str
    label: str                     # what it shows, for a deck's list of slides
    options: Mapping[str, Option]
    draw: Callable[[Context], Drawn]
    metric_option: str | None = None  # the option naming its registry metric, if any
    # The narrowest column it is drawn in at 1440x900, its words fitted to it (charts.fit_text):
    # half a page unless every page shows it across the page.
    width_px: int = charts.SLOT_PX


def _label(metric: str) -> str:
    return registry.get(metric).label


METRIC = Option("Measure", registry.OUTCOMES, {m: registry.get(m).name for m in registry.OUTCOMES})
BREAKDOWNS = {"none": "No breakdown", "community": "Community vs comparison", "spa": "SPA", "cohort": "Cohort",
              "school_type": "School type", "student_group": "Student group"}
GROUP_DEFAULT = ("TA", "SE", "SD", "SS")
GROUP_KINDS = ("race", "program", "gender", "grade")
GROUPINGS = {"spa": "SPA", "cohort": "cohort", "grant_type": "grant type", "district": "district"}
AWARDED = {"to_date": "Awarded to date", "in_year": "Awarded in the year only"}  # a page may name the year
COLOR_BY = {"dashboard_color": "Dashboard colour", "cohort": "CCSPP cohort"}
POINT_WORDS = {"on": "On", "dim": "Dimmed", "off": "Off"}
COUNTY_LINE = "Dashed black line: every LA County school pooled, every year, for the student group chosen."


# --------------------------------------------------------------------------- outcomes over time

def _trend(ctx: Context) -> Drawn:
    metric, by_key = ctx["metric"], ctx["by"]
    every = ctx.filters.with_(year=None)
    by = [] if by_key == "none" else [by_key]
    df = ctx.load(trends.trend, metric, by, filters=every)
    if by_key == "student_group":
        df = df.filter(pl.col("student_group").is_in(list(ctx["groups"])))
    elif by_key == "community":
        df = df.filter(pl.col("community").is_in(["community", "comparison"]))
    county = ctx.load(rates.county_rate, metric, filters=every)
    title = f"{_label(metric)} by year" + (": community vs comparison schools" if by_key == "community" else "")
    fig = charts.trend_lines(df, title=title, group_col=by[0] if by else None, county=county, metric=metric,
                             y_title=_label(metric))
    note = f"{ctx.describe(every)}. Every year is shown. {COUNTY_LINE}"
    if by_key == "student_group":  # the groups chosen for the chart, whatever the sidebar's group
        note += " " + not_applying(["student_group"], to="the groups' lines", why="each group listed is drawn")
    # The table (and so the CSV) holds every plotted series: the chosen schools and the county line.
    table = pl.concat([df.with_columns(pl.lit("chosen schools").alias("series")),
                       county.with_columns(pl.lit("LA County, every school").alias("series"))], how="diagonal_relaxed")
    table = table.select("series", *[c for c in table.columns if c != "series"])
    return Drawn(fig, table, title, note, metric, {"county": county}, ignores=("year",))


def _did(ctx: Context) -> Drawn:
    metric = ctx["metric"]
    df = ctx.load(compare.diff_in_diff, metric, filters=ctx.filters)
    title = f"{_label(metric)}: change vs comparison schools (difference-in-differences)"
    # The figure's own title is short: it sits in the narrow column beside the trend, and its
    # bars name both sides (exports and slides print the full title, with its measure, above it).
    fig = charts.did_bars(df, title=f"{_label(metric)}: change")
    note = (f"{ctx.describe(ctx.filters.with_(year=None, community='all'))}. Difference-in-differences: the "
            "community schools' change minus the comparison schools' change over the same years, from the year "
            "before each school's first grant to the latest year. "
            "It describes, it does not prove cause; the comparison with matched schools is the fairer test.")
    return Drawn(fig, df, title, note, "did_pp", ignores=("year", "community"))


# --------------------------------------------------------------------------- against matched schools

GRANT_TYPES = {"implementation": "Implementation grants", "planning": "Planning grants",
               "coordination": "Coordination grants", "all": "Every grant type"}
IMPACT_BY = {"spa": "SPA", "cohort": "Cohort"}
IMPACT_BY_WORD = {"spa": "SPA", "cohort": "cohort"}
# The matched study is of whole schools: every year, all students, community schools against their matches.
IMPACT_IGNORES = ("year", "community", "student_group")
IMPACT_CAVEAT = ("An association with the grant, not proof of cause: matched schools resembled each community "
                 "school before its grant, but schools can differ in ways no file records.")
BASELINE_WORDS = "each school's last year before its grant, never 2019-20 or 2020-21"


def _impact_args(ctx: Context) -> tuple[str, Filters, str, str | None]:
    baseline = ctx.choices.get("baseline") or None
    return ctx["metric"], ctx.filters.with_(year=None, community="all", student_group="TA"), ctx["grant_type"], baseline


def impact_sentence(est: pl.DataFrame, metric: str) -> str:
    """The estimate in words, from impact.impact_estimate's row: what a leader can say."""
    if est.is_empty() or est["effect_pp"][0] is None:
        return "Too few matched schools (or students) to estimate."
    r = est.row(0, named=True)
    pp = lambda v: formats.format_value(v, "pp")  # noqa: E731
    interval = (f"95% interval {formats.format_interval(r['ci_low_pp'], r['ci_high_pp'], 'pp', compact=True)}, "
                if r["ci_low_pp"] is not None else "no interval from so few schools, ")
    return (f"Since the grants: community schools {pp(r['community_change_pp'])}, matched schools "
            f"{pp(r['matched_change_pp'])}; difference {pp(r['effect_pp'])} ({interval}"
            f"{formats.format_value(r['treated_schools_n'], 'count')} community and "
            f"{formats.format_value(r['control_schools_n'], 'count')} matched schools"
            + (f", {formats.format_value(r['unmatched_schools_n'], 'count')} unmatched" if r["unmatched_schools_n"]
               else "") + ").")


def _impact_words(ctx: Context, f: Filters, est: pl.DataFrame, base: str | None) -> str:
    return (f"{ctx.describe(f)}, {GRANT_TYPES[ctx['grant_type']].lower()}. {impact_sentence(est, ctx['metric'])} "
            f"Baseline: {base + ' for every cohort' if base else BASELINE_WORDS}. {IMPACT_CAVEAT}")


def _impact_event(ctx: Context) -> Drawn:
    metric, f, grant_type, baseline = _impact_args(ctx)
    refused = None
    try:
        df = ctx.load(impact.event_study, metric, f, grant_type, baseline)
    except ValueError as exc:  # a chosen baseline at or after some cohort's first grant: the default, saying why
        refused, baseline = str(exc), None
        df = ctx.load(impact.event_study, metric, f, grant_type, baseline)
    est = ctx.load(impact.impact_estimate, metric, f, grant_type, baseline)
    title = f"{registry.get(metric).name}: community vs matched schools, year by year"
    fig = charts.event_study(df, title=title)
    return Drawn(fig, df, title, _impact_words(ctx, f, est, baseline), "impact_pp",
                 {"estimate": est, "baseline": baseline or "", "baseline_refused": refused}, ignores=IMPACT_IGNORES)


def _impact_balance(ctx: Context) -> Drawn:
    metric, f, grant_type, _ = _impact_args(ctx)
    df = ctx.load(impact.balance, metric, f, grant_type)
    title = f"Matching balance, {registry.get(metric).name.lower()}"
    counts = df.row(0, named=True) if df.height else {}
    note = (f"{ctx.describe(f)}. Each matching variable's standardised mean difference between community schools "
            "and comparison schools before matching (every school with no CCSPP grant) and after (the matched ones). "
            f"{formats.format_value(counts.get('treated_schools_n') or 0, 'count')} community schools matched to "
            f"{formats.format_value(counts.get('control_schools_after_n') or 0, 'count')} comparison schools; "
            f"{formats.format_value(counts.get('unmatched_schools_n') or 0, 'count')} unmatched"
            + (f" ({counts['unmatched_reasons']})" if counts.get("unmatched_reasons") else "") + ".")
    return Drawn(charts.balance_chart(df, title=title), df, title, note, "impact_pp", ignores=IMPACT_IGNORES)


def _impact_by(ctx: Context) -> Drawn:
    metric, f, grant_type, baseline = _impact_args(ctx)
    by = ctx["impact_by"]
    options = ctx.load(query.filter_options)
    # The SPA (or cohort) filter narrows the groups estimated to the one chosen, as the SPA bars do.
    chosen = getattr(f, by)
    values = [chosen] if chosen is not None else options.spas if by == "spa" else options.cohorts
    rows = []
    for v in values:
        try:
            est = ctx.load(impact.impact_estimate, metric, f.with_(**{by: v}), grant_type, baseline)
        except ValueError:  # a chosen baseline year at or after this group's first grant: no estimate here
            est = pl.DataFrame({"effect_pp": [None], "treated_schools_n": [0]},
                               schema={"effect_pp": pl.Float64, "treated_schools_n": pl.Int64})
        rows.append(est.select(pl.lit(v).alias(by), pl.all()))
    df = pl.concat(rows, how="diagonal_relaxed") if rows else pl.DataFrame()
    title = f"{registry.get(metric).name}: community minus matched schools, by {IMPACT_BY_WORD[by]}"
    note = (f"{ctx.describe(f)}, {GRANT_TYPES[grant_type].lower()}. Each {IMPACT_BY_WORD[by]}'s community schools "
            f"against their own matches. {IMPACT_CAVEAT}")
    fig = charts.estimates_by_group(df, category_col=by, title=title)
    return Drawn(fig, df, title, note, "impact_pp", ignores=IMPACT_IGNORES)


# --------------------------------------------------------------------------- where: the map and SPAs

def default_boundaries() -> tuple[dict | None, str | None]:
    """(the display layer, None), (None, why it could not be read) or (None, None)
    when no boundary file is configured."""
    path = config.boundary_path()
    if path is None:
        return None, None
    try:
        return boundaries.display_boundaries(path), None
    except InputError as exc:
        return None, str(exc)


# What each map measure's SPA colours do not follow (geo.spa_measure): dollars and the roster
# count every award year, for no side of the comparison and no student group; activities
# serve everyone. The school points are always the roster's community schools.
MAP_FILL_IGNORES = {"ccspp_usd": ("year", "community", "student_group"),
                    "usd_per_student": ("year", "community", "student_group"),
                    "community_schools_n": ("year", "community", "student_group"),
                    "activities_n": ("student_group",)}
MAP_POINTS_IGNORE = ("community",)


def _map(ctx: Context) -> Drawn:
    measure_id, color_by = ctx["measure"], ctx["color_by"]
    m = geo.MEASURES[measure_id]
    f = ctx.one_year()
    df = ctx.load(geo.spa_measure, measure_id, filters=f)
    title = f"{m.label} by SPA, {'all award years' if m.unit.startswith('usd') else f.year or 'every year'}"
    if m.unit == "pp" and "baseline_year" in df.columns and df.height:
        title = f"{m.label} ({df['baseline_year'][0]} to {df['year'][0]}), by SPA"
    outcome = m.outcome or "chronic_absenteeism"
    points_frame = ctx.load(geo.school_points_frame, outcome, filters=f.with_(spa=None))
    geojson, error = ctx.boundaries()
    color_col = "color" if "color" in df.columns else None
    # A year CDE never published reads "not published" on every SPA, not "no data" or "suppressed".
    missing = formats.NOT_PUBLISHED_TEXT if m.outcome and not codes.is_published(m.outcome, f.year) else "no data"
    fill_ignores = MAP_FILL_IGNORES.get(measure_id, ())
    if geojson is not None:
        points = maps.school_points(points_frame, color_by=color_by, label=_label(outcome), show=ctx["points"])
        fig = maps.spa_choropleth(geojson, df, m.value_col, label=m.label, unit=m.unit, title=title,
                                  color_col=color_col, points=points, highlight_spa=f.spa, missing_text=missing)
        dimmed = " (dimmed)" if ctx["points"] == "dim" else ""
        where = ("School points switched off. " if ctx["points"] == "off" else
                 f"Points{dimmed}: community schools for {ctx.describe(f.with_(spa=None))}, sized by enrolment, "
                 f"coloured by {COLOR_BY[color_by].lower()} ({registry.get(outcome).name.lower()}). ")
        outline = "Every SPA is drawn; the SPA filter outlines one. "
        # With points, the chart as a whole ignores only what both its layers ignore; each
        # layer says what else it ignores.
        points_ignore = () if ctx["points"] == "off" else MAP_POINTS_IGNORE
        ignores = tuple(k for k in fill_ignores if k in points_ignore or ctx["points"] == "off")
        where += " ".join(x for x in (
            not_applying([k for k in fill_ignores if k not in ignores], to="the SPA colours"),
            not_applying([k for k in points_ignore if k not in ignores], to="the school points")) if x) + " "
    else:
        fig = maps.spa_tile_map(df, m.value_col, label=m.label, unit=m.unit, title=title, color_col=color_col,
                                missing_text=missing)
        where = f"{ctx.describe(f.with_(spa=None))}. The SPAs are drawn as tiles laid out like the county. "
        outline, ignores = "Every SPA is drawn. ", ("spa", *fill_ignores)  # a tile has no outline to draw
    note = (outline + where
            + (placement.colour_sentence(df["level_source"], m.outcome) if m.unit == "rate" and "level_source"
               in df.columns else ""))
    shown = [c for c in ("spa", "year", "baseline_year", m.value_col, "schools_n", "suppressed_schools_n", "color",
                         "level_source", "suppressed") if c in df.columns]
    extra = {"schools": points_frame if geojson is not None else points_frame.clear(),
             "missing_spas": maps.missing_spas(geojson) if geojson is not None else [],
             "boundary_error": error, "tiles": geojson is None,
             "boundary_source": geojson["csi"]["source"] if geojson is not None else None}
    return Drawn(fig, df.select(shown), title, note.strip(), m.registry_id, extra, ignores=ignores)


def _by_spa(ctx: Context) -> Drawn:
    metric = ctx["metric"]
    f = ctx.one_year()
    df = ctx.load(breakdown.breakdown, metric, "spa", filters=f)
    title = f"{_label(metric)} by SPA, {f.year}"
    fig = charts.bar_by_group(df, category_col="spa", value_col="rate", title=title, color_col="color")
    note = (f"{ctx.describe(f)}. Bar colour and label: the Dashboard level. "
            + placement.colour_sentence(df["level_source"], metric))
    return Drawn(fig, df, title, note, metric)


# --------------------------------------------------------------------------- for whom

EQUITY_COLUMNS = ("student_group", "numerator_n", "denominator_n", "rate", "prior_rate", "change_pp",
                  "suppressed_schools_n", "placed_group", "placed_rate", "status_level", "change_level", "color",
                  "level_source", "level_note", "cut_set_note", "suppressed")


def _equity(ctx: Context) -> Drawn:
    metric, kinds = ctx["metric"], set(ctx["kinds"])
    f = ctx.one_year().with_(student_group="TA")
    df = ctx.load(breakdown.breakdown, metric, "student_group", filters=f)
    kind_of = {code: kind for code, (_, kind) in codes.REPORTING_CATEGORIES.items()}
    shown = df.filter(pl.col("student_group").is_in([c for c, k in kind_of.items() if k in kinds or c == "TA"]))
    title = f"{_label(metric)} by student group, {f.year}"
    lead = f"{ctx.describe(f)}. Every student group is shown."
    return _group_bars(shown, metric, title, lead, ("student_group",))


def _group_bars(shown: pl.DataFrame, metric: str, title: str, lead: str, ignores: tuple[str, ...]) -> Drawn:
    """Student groups as the Equity page draws them (its bars, colours and words), for
    the county's groups or one school's."""
    fig = charts.equity_bars(shown, title=title)
    note = (f"{lead} Bar: each group's rate; colour and label: its Dashboard level from this year's rate and its "
            f"change from last year. {placement.colour_sentence(shown['level_source'], metric)} Groups under 30 "
            "students get no colour; figures of fewer than 11 students are not shown. Dashed line: All students.")
    return Drawn(fig, shown.select([c for c in (*EQUITY_COLUMNS, "hidden_reason") if c in shown.columns]),
                 title, note, metric, ignores=ignores)


# --------------------------------------------------------------------------- the money

# Grants go to community schools and their LEAs: no side of the comparison, no student group.
GRANT_IGNORES = ("community", "student_group")


def _grant_filters(ctx: Context) -> tuple[Filters, bool]:
    return ctx.filters, ctx["awards"] == "in_year"


def _grants_words(ctx: Context, f: Filters, in_year: bool) -> str:
    when = "" if in_year or f.year is None else ", every award year up to this one"
    return (f"CCSPP awards · {ctx.describe(f.with_(community='all', student_group='TA'))}{when}. Grants go to "
            "community schools and their LEAs.")


def _awards(ctx: Context, by: list[str]) -> pl.DataFrame:
    f, in_year = _grant_filters(ctx)
    return ctx.load(funding.awards if in_year else funding.awards_to_date, by, filters=f)


def _awards_by(ctx: Context) -> Drawn:
    by = ctx["awards_by"]
    f, in_year = _grant_filters(ctx)
    df = _awards(ctx, [by])
    label = {"spa": "spa_label", "district": "district_name"}.get(by, by)
    title = f"CCSPP awards by {GROUPINGS[by]}"
    fig = charts.bar_by_group(df, category_col=label if label in df.columns else by, value_col="amount_usd",
                              kind="usd", title=title, x_title="Dollars awarded", top_n=15)
    return Drawn(fig, df, title, _grants_words(ctx, f, in_year), "ccspp_usd", ignores=GRANT_IGNORES)


def _awards_by_type(ctx: Context) -> Drawn:
    f, in_year = _grant_filters(ctx)
    df = _awards(ctx, ["spa", "grant_type"])
    title = "CCSPP awards by SPA and grant type"
    fig = charts.stacked_bars(df, category_col="spa_label" if "spa_label" in df.columns else "spa",
                              stack_col="grant_type", value_col="amount_usd", kind="usd", title=title,
                              x_title="Dollars awarded")
    return Drawn(fig, df, title, _grants_words(ctx, f, in_year), "ccspp_usd", ignores=GRANT_IGNORES)


def _usd_per_student(ctx: Context) -> Drawn:
    f, in_year = _grant_filters(ctx)
    # Per student over the chosen award year, or over every award year up to it, as the other
    # funding charts count (enrolment counted in each award year).
    df = ctx.load(funding.dollars_per_student, ["spa"], filters=f, to_date=not in_year)
    when = (f.year if in_year else f"award years through {f.year}") if f.year else "all award years"
    title = f"CCSPP dollars per enrolled student, by SPA ({when})"
    fig = charts.bar_by_group(df, category_col="spa_label" if "spa_label" in df.columns else "spa",
                              value_col="usd_per_student", kind="usd", title=title, x_title="Dollars per student")
    return Drawn(fig, df, title, _grants_words(ctx, f, in_year), "usd_per_student", ignores=GRANT_IGNORES)


# --------------------------------------------------------------------------- the work

def _activities_words(ctx: Context) -> str:
    return (f"R-TAC activities for {ctx.describe(ctx.filters.with_(student_group='TA'))}. An activity serves "
            "everyone who comes.")


def _activities_by_month(ctx: Context) -> Drawn:
    df = ctx.load(activities.activity_counts, ["month", "activity_type"], filters=ctx.filters)
    title = "R-TAC activities by month and type"
    return Drawn(charts.activities_by_month(df, title=title), df, title, _activities_words(ctx), "activities_n",
                 ignores=("student_group",))


def _activities_by(col: str, title: str) -> Callable[[Context], Drawn]:
    def draw(ctx: Context) -> Drawn:
        df = ctx.load(activities.activity_counts, [col], filters=ctx.filters)
        fig = charts.bar_by_group(df, category_col=col, value_col="activities_n", kind="count", title=title,
                                  x_title="Activities")
        return Drawn(fig, df, title, _activities_words(ctx), "activities_n", ignores=("student_group",))
    return draw


# --------------------------------------------------------------------------- one school

def _profile(ctx: Context) -> dict[str, pl.DataFrame]:
    school = ctx["school"]
    if not isinstance(school, str) or len(school) != 14:
        raise ValueError("choose a school (a 14-character CDS code)")
    return ctx.load(schools.school_profile, school)


def _school_trend(ctx: Context) -> Drawn:
    metric = ctx["metric"]
    profile = _profile(ctx)
    name = profile["school"]["school_name"][0]
    df = profile[metric]
    county = ctx.load(rates.county_rate, metric, filters=Filters())
    title = f"{_label(metric)}, {for_plotly(name)}"
    fig = charts.trend_lines(df, title=title, county=county, metric=metric, y_title=_label(metric), name=name)
    return Drawn(fig, df, title, "Every year of this school, all students. Dashed black line: every LA County "
                 "school pooled, all students.", metric, ignores=SIDEBAR)


def _school_compare(ctx: Context) -> Drawn:
    metric = ctx["metric"]
    profile = _profile(ctx)
    info = profile["school"].row(0, named=True)
    df = ctx.load(schools.school_comparison, info["cds_code"], metric)
    matched_n = ctx.load(schools.matched_schools_n, info["cds_code"], metric)
    names = {"school": info["school_name"], "district": f"{info['district_name']} (district, pooled)",
             "matched": f"Matched comparison schools ({matched_n}, pooled)"}
    df = df.with_columns(pl.col("comparison").replace_strict(names, return_dtype=pl.String))
    title = f"{_label(metric)}: the school beside its district and matched schools"
    # The school first (the blue of its own chart above), then its district, then its matches.
    fig = charts.trend_lines(df, title=title, group_col="comparison", metric=metric, y_title=_label(metric),
                             years=df["year"].unique().sort().to_list(), keep_order=True)
    matched = (f"its {matched_n} matched comparison school{'s' if matched_n != 1 else ''} (the impact analysis's "
               "matches), pooled" if matched_n else "no matched comparison schools (only community schools are "
               "matched)")
    note = (f"Every year of this school, all students, beside its district pooled (every school of the district, "
            f"sum of students counted over sum enrolled) and {matched}. Figures of fewer than 11 students are not "
            "shown.")
    return Drawn(fig, df, title, note, metric, ignores=SIDEBAR)


def _school_groups(ctx: Context) -> Drawn:
    metric = ctx["metric"]
    profile = _profile(ctx)
    kinds = {c for c, (_, k) in codes.REPORTING_CATEGORIES.items() if k != "grade"}
    df = profile["student_groups"].filter(pl.col("student_group").is_in(kinds) & (pl.col("metric") == metric))
    year = df["year"][0] if df.height else ""
    title = f"{_label(metric)} by student group, {year}"
    return _group_bars(df, metric, title, f"This school's student groups in {year}, its latest year.", SIDEBAR)


# --------------------------------------------------------------------------- the headline's small trends

def _headline_spark(ctx: Context) -> Drawn:
    mid, scope = ctx["metric_id"], ctx["scope"]
    series = ctx.load(headline.headline_series, filters=ctx.filters)
    trend = series.filter((pl.col("metric_id") == mid) & (pl.col("scope") == scope))
    spark = trend.select("year", pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"),
                         "suppressed", "not_published")
    m = registry.get(mid)
    spark = spark.with_columns(pl.Series("text", [
        formats.format_value(r["value"], m.unit, suppressed=r["suppressed"], not_published=r["not_published"])
        for r in spark.iter_rows(named=True)], dtype=pl.String)).drop("suppressed", "not_published")
    return Drawn(charts.sparkline(spark, kind=m.unit), spark, m.label, "Every year to the one chosen.", mid,
                 ignores=headline.ignored_keys(scope, mid))


def _headline_cards(ctx: Context) -> Drawn:
    head = ctx.load(headline.headline, filters=ctx.filters)
    counts: list[dict] = []
    rates: list[dict] = []
    for r in head.iter_rows(named=True):
        m = registry.get(r["metric_id"])
        # Dollars compact on a slide: a nine-digit figure does not fit a quarter of a projector.
        value = formats.format_value(r["value"], m.unit, suppressed=r["suppressed"], compact=m.unit == "usd")
        delta = None
        if r["change"] is not None and not r["suppressed"]:
            delta = formats.format_value(r["change"], "pp" if r["change_unit"] == "pp" else m.unit,
                                         compact=m.unit == "usd")
            delta = f"{'+' if r['change_unit'] != 'pp' and r['change'] > 0 else ''}{delta} vs {r['prior_year']}"
        card = {"value": value, "delta": delta}
        if r["unit"] == "rate":
            kind = "Dashboard" if r["level_source"] == placement.SOURCE_OFFICIAL else "Dashboard-style"
            card["colour"] = f"{r['color']} ({kind})" if r["color"] else "No Dashboard colour"
            card["title"] = f"{for_plotly(m.label)}<br>{for_plotly(r['scope_label'])}"
            rates.append(card)
        else:
            card["title"] = for_plotly(m.label)
            counts.append(card)
    f = ctx.one_year()
    title = f"Community Schools Initiative: headline figures, {f.year}" if f.year else \
        "Community Schools Initiative: headline figures"
    return Drawn(projector.headline_cards([counts, rates], title=title), head, title,
                 f"{ctx.describe(f)}. Change from the year before; a suppressed figure is not shown. "
                 + not_applying(headline.COUNTY_IGNORES, to="the LA County figures") + " "
                 + not_applying(("student_group",), to="the counts of schools and the dollars"), None)


HEADLINE_IDS = ("community_schools_n", "students_served_n", "ccspp_usd", *registry.OUTCOMES)
SCHOOL = Option("School", None)
IMPACT_OPTIONS = {"metric": METRIC, "grant_type": Option("Grants", tuple(GRANT_TYPES), GRANT_TYPES),
                  "baseline": Option("Baseline year", None, default="")}
AWARDS = Option("Awards", tuple(AWARDED), AWARDED)

# The trend beside the difference-in-differences at the widest window where they still share a row.
TREND_PX = 640

CHARTS: dict[str, Chart] = {c.id: c for c in [
    Chart("trend", "trends", "Over time, by a breakdown, with the county line",
          {"metric": METRIC, "by": Option("Break down by", tuple(BREAKDOWNS), BREAKDOWNS, default="community"),
           "groups": Option("Student groups", None, default=GROUP_DEFAULT)}, _trend, "metric", width_px=TREND_PX),
    Chart("did", "trends", "Difference-in-differences: community vs comparison schools", {"metric": METRIC}, _did),
    Chart("impact_event", "trends", "Community vs matched schools, by year from the first grant (event study)",
          IMPACT_OPTIONS, _impact_event, "metric", width_px=charts.FULL_PX),
    Chart("impact_balance", "trends", "Matching balance: community vs comparison schools before and after",
          {k: IMPACT_OPTIONS[k] for k in ("metric", "grant_type")}, _impact_balance, "metric",
          width_px=charts.FULL_PX),
    Chart("impact_by", "trends", "Community vs matched schools, by SPA or cohort",
          {**IMPACT_OPTIONS, "impact_by": Option("Estimate by", tuple(IMPACT_BY), IMPACT_BY)}, _impact_by, "metric",
          width_px=charts.FULL_PX),
    Chart("map", "map", "The map by SPA, community schools as points",
          {"measure": Option("Measure", tuple(geo.MEASURES), {k: v.label for k, v in geo.MEASURES.items()}),
           "color_by": Option("Colour schools by", tuple(COLOR_BY), COLOR_BY),
           "points": Option("School points", maps.POINTS, POINT_WORDS)}, _map, width_px=charts.FULL_PX),
    Chart("by_spa", "map", "By SPA, with Dashboard colours", {"metric": METRIC}, _by_spa, "metric",
          width_px=charts.FULL_PX),
    Chart("equity", "equity", "By student group, with Dashboard colours",
          {"metric": METRIC, "kinds": Option("Groups", None, default=("race", "program"))}, _equity, "metric",
          width_px=charts.FULL_PX),
    Chart("awards_by", "funding", "CCSPP awards by a grouping",
          {"awards_by": Option("Awards by", tuple(GROUPINGS), {k: v[0].upper() + v[1:] for k, v in GROUPINGS.items()}),
           "awards": AWARDS}, _awards_by),
    Chart("awards_by_type", "funding", "CCSPP awards by SPA and grant type",
          {"awards": AWARDS}, _awards_by_type),
    Chart("usd_per_student", "funding", "CCSPP dollars per enrolled student, by SPA",
          {"awards": AWARDS}, _usd_per_student, width_px=charts.FULL_PX),
    Chart("activities_by_month", "activities", "R-TAC activities by month and type", {}, _activities_by_month,
          width_px=charts.FULL_PX),
    Chart("activities_by_type", "activities", "R-TAC activities by type", {},
          _activities_by("activity_type", "Activities by type")),
    Chart("activities_by_spa", "activities", "R-TAC activities by SPA", {},
          _activities_by("spa", "Activities by SPA")),
    Chart("school_trend", "schools", "One school over time", {"metric": METRIC, "school": SCHOOL},
          _school_trend, "metric"),
    Chart("school_compare", "schools", "One school beside its district and matched schools",
          {"metric": METRIC, "school": SCHOOL}, _school_compare, "metric", width_px=charts.FULL_PX),
    Chart("school_groups", "schools", "One school by student group", {"metric": METRIC, "school": SCHOOL},
          _school_groups, "metric", width_px=charts.FULL_PX),
    Chart("headline_cards", "overview", "The headline figures as cards", {}, _headline_cards),
    Chart("headline_spark", "overview", "A headline figure's small trend",
          {"metric_id": Option("Figure", HEADLINE_IDS), "scope": Option("Scope", ("selected", "county"))},
          _headline_spark),
]}


def choices(chart_id: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every choice of a chart: `given` where set, else the default; ValueError naming
    the choice for a value it does not take."""
    chart = CHARTS[chart_id]
    given = dict(given or {})
    unknown = set(given) - set(chart.options)
    if unknown:
        raise ValueError(f"chart {chart_id!r} takes no option {', '.join(sorted(unknown))}; "
                         f"it takes {', '.join(chart.options) or 'none'}")
    out = {}
    for name, opt in chart.options.items():
        value = given.get(name, opt.default_value())
        if opt.values is not None and value not in opt.values:
            raise ValueError(f"option {name} of chart {chart_id!r} must be one of "
                             f"{', '.join(map(str, opt.values))}; got {value!r}")
        out[name] = tuple(value) if isinstance(value, list) else value
    return out


def render(chart_id: str, *, filters: Filters, load: Loader, describe: Callable[[Filters], str],
           latest_year: str | None, choices_: Mapping[str, Any] | None = None, title: str | None = None,
           boundaries_: Callable[[], tuple[dict | None, str | None]] = default_boundaries) -> Drawn:
    """Chart `chart_id` drawn for `filters` and its choices; `title` (a deck's own,
    shown as text, never markup) replaces the chart's."""
    if chart_id not in CHARTS:
        raise ValueError(f"unknown chart {chart_id!r}; the catalogue has {', '.join(CHARTS)}")
    ctx = Context(filters, choices(chart_id, choices_), load, describe, latest_year, boundaries_)
    drawn = CHARTS[chart_id].draw(ctx)
    if title:
        own = for_plotly(title)
        drawn.fig.update_layout(title_text=own)
        drawn = dataclasses.replace(drawn, title=own)
    charts.fit_text(drawn.fig, width_px=CHARTS[chart_id].width_px)
    # Every chart says which filters it does not follow in the same words, at the end of its note.
    note = " ".join(x for x in (drawn.note.strip(), not_applying(drawn.ignores)) if x)
    return dataclasses.replace(drawn, note=note, chart_id=chart_id, filters=filters, choices=ctx.choices)


def direct_loader(con: duckdb.DuckDBPyConnection) -> Loader:
    """A loader that calls the metric function on `con` (tests, the command line)."""
    def load(fn: Callable[..., Any], *args: Any, filters: Filters | None = None, **kwargs: Any) -> Any:
        return fn(con, *args, *([filters] if filters is not None else []), **kwargs)
    return load


def render_on(con: duckdb.DuckDBPyConnection, chart_id: str, filters: Filters = Filters(), **kw: Any) -> Drawn:
    """`render` straight on a connection, with the database's own names and years."""
    options = query.filter_options(con)
    names = options.district_names
    return render(chart_id, filters=filters, load=direct_loader(con), describe=lambda f: f.describe(names),
                  latest_year=options.years[-1] if options.years else None, **kw)


LABEL_COLUMNS = (("spa", "spa_name"), ("student_group", "student_group_name"), ("school_type", "school_type_name"),
                 ("activity_type", "activity_type_name"), ("grant_type", "grant_type_name"))


def readable(df: pl.DataFrame) -> pl.DataFrame:
    """The table behind a chart with names beside codes (SPA, student group, ...)."""
    out = df
    for col, label_col in LABEL_COLUMNS:
        if col in out.columns and label_col not in out.columns:
            # Labels for the few distinct values, looked up here, then mapped natively: no
            # Python function runs inside Polars (its thread pool deadlocked under load).
            labels = {v: words.group_label(col, v) for v in out[col].unique().to_list() if v is not None}
            out = out.with_columns(
                pl.col(col).replace_strict(labels, default=None, return_dtype=pl.Utf8)
                .fill_null(words.group_label(col, None)).alias(label_col))
            cols = out.columns
            cols.remove(label_col)
            cols.insert(cols.index(col) + 1, label_col)
            out = out.select(cols)
    return out
