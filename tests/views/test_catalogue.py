"""The chart catalogue: every chart declared once and drawn through `render` for
pages, the deck, exports and tests alike; its words come from the registry and its
table is the metric function's own result."""

from __future__ import annotations

import polars as pl
import pytest

from csi_metrics.metrics import rates, breakdown, funding, trends
from csi_metrics.figures import maps
from csi_metrics.views import catalogue, deck
from csi_metrics.vocabulary import registry
from csi_metrics.vocabulary.filters import Filters


@pytest.fixture(scope="module")
def school(demo_con) -> str:
    return demo_con.execute("SELECT min(cds_code) FROM schools WHERE is_community").fetchall()[0][0]


def _every_choice(chart: catalogue.Chart, school: str):
    """Each listed value of each option once (the others at their defaults)."""
    base = {"school": school} if "school" in chart.options else {}
    yield base
    for name, opt in chart.options.items():
        for value in opt.values or ():
            if value != opt.default_value():
                yield {**base, name: value}


@pytest.mark.parametrize("chart_id", list(catalogue.CHARTS))
def test_every_chart_renders_for_every_choice(demo_con, school, chart_id):
    chart = catalogue.CHARTS[chart_id]
    for given in _every_choice(chart, school):
        drawn = catalogue.render_on(demo_con, chart_id, Filters(year="2023-24"), choices_=given)
        assert isinstance(drawn.table, pl.DataFrame)
        # Nothing to draw (a count has no county figure, no coordination grants in the demo): the figure says so.
        assert drawn.fig.data or drawn.fig.layout.annotations, (chart_id, given)
        if given == ({"school": school} if "school" in chart.options else {}):
            assert not drawn.table.is_empty() and drawn.fig.data, chart_id  # every chart draws at its defaults
        shown = drawn.fig.layout.title.text
        if chart_id == "headline_spark":
            assert drawn.title and shown is None  # a sparkline sits under its card's title
        else:  # the figure's title is the chart's, or (in a narrow column) the start of it, wrapped to the column
            words = " ".join((shown or "").replace("<br>", " ").split())
            assert drawn.title and words and drawn.title.startswith(words.rstrip(".")), (shown, drawn.title)
        if drawn.metric:
            assert drawn.metric in registry.METRICS
            assert drawn.caption.startswith(registry.get(drawn.metric).label)


def test_titles_use_the_registry_label(demo_con):
    for metric in registry.OUTCOMES:
        drawn = catalogue.render_on(demo_con, "by_spa", Filters(year="2023-24"), choices_={"metric": metric})
        assert drawn.title == f"{registry.get(metric).label} by SPA, 2023-24"


def test_the_table_is_the_metric_functions_result(demo_con):
    f = Filters(year="2023-24", spa=4)
    drawn = catalogue.render_on(demo_con, "equity", f, choices_={"metric": "suspension", "kinds": ("race",)})
    lib = breakdown.breakdown(demo_con, "suspension", "student_group", f)
    got = drawn.table.sort("student_group")
    want = lib.filter(pl.col("student_group").is_in(got["student_group"].to_list())).sort("student_group")
    assert got["rate"].to_list() == want["rate"].to_list()
    assert got["color"].to_list() == want["color"].to_list()

    trend = catalogue.render_on(demo_con, "trend", f, choices_={"metric": "chronic_absenteeism", "by": "none"})
    # every plotted series: the chosen schools' trend, then the county line
    chosen = trend.table.filter(pl.col("series") == "chosen schools").drop("series")
    want_trend = trends.trend(demo_con, "chronic_absenteeism", [], f.with_(year=None))
    assert chosen.select(want_trend.columns).equals(want_trend)
    county = trend.table.filter(pl.col("series") == "LA County, every school")
    want_county = rates.county_rate(demo_con, "chronic_absenteeism", f.with_(year=None))
    assert county.select(want_county.columns).equals(want_county)

    awards = catalogue.render_on(demo_con, "awards_by", f, choices_={"awards_by": "cohort", "awards": "in_year"})
    assert awards.table.equals(funding.awards(demo_con, ["cohort"], f))


def test_a_one_year_chart_under_no_year_shows_the_latest(demo_con):
    drawn = catalogue.render_on(demo_con, "by_spa", Filters())
    latest = demo_con.execute("SELECT max(academic_year) FROM outcomes WHERE aggregate_level = 'S'").fetchall()[0][0]
    assert drawn.title.endswith(latest)


def test_a_deck_view_is_its_catalogue_chart(demo_con):
    view = deck.make_view("trends", "suspension_trend", {"spa": "6"}, "Board title")
    chart_id, choices = view.catalogue_chart()
    slide = catalogue.render_on(demo_con, chart_id, view.to_filters(), choices_=choices, title=view.title)
    page = catalogue.render_on(demo_con, "trend", Filters(spa=6), choices_={"metric": "suspension", "by": "community"})
    assert slide.title == "Board title"
    assert slide.table.equals(page.table)
    assert [t.y for t in slide.fig.data] == [t.y for t in page.fig.data]


@pytest.mark.parametrize("given,words", [
    ({"colour": "red"}, "takes no option colour"),
    ({"metric": "attendance"}, "option metric of chart 'by_spa' must be one of"),
])
def test_a_wrong_choice_is_refused_by_name(given, words):
    with pytest.raises(ValueError, match=words):
        catalogue.choices("by_spa", given)


def test_an_unknown_chart_is_refused_naming_the_catalogue(demo_con):
    with pytest.raises(ValueError, match="unknown chart 'pie'.*trend"):
        catalogue.render_on(demo_con, "pie")


def test_impact_by_cohort_with_a_baseline_only_one_cohort_allows(demo_con):
    """Cohort 3 (first grant 2023-24) may use 2022-23 as its baseline; by cohort, the earlier
    cohorts cannot, and show no estimate instead of taking the page down (the load test
    reached this: a cohort filter, a late baseline, then the by-cohort chart). With the cohort
    filter set, the chart estimates that cohort alone (issue 17, item 1: it obeys the filter)."""
    from csi_metrics.metrics import impact

    choice = {"impact_by": "cohort", "baseline": "2022-23"}
    drawn = catalogue.render_on(demo_con, "impact_by", Filters(), choices_=choice)
    got = {r["cohort"]: r["effect_pp"] for r in drawn.table.iter_rows(named=True)}
    own = impact.impact_estimate(demo_con, "chronic_absenteeism", Filters(cohort=3), baseline="2022-23")["effect_pp"][0]
    assert got[3] == pytest.approx(own) and got[1] is None and got[2] is None
    assert "No estimate" in drawn.fig.layout.annotations[-1].text
    one = catalogue.render_on(demo_con, "impact_by", Filters(cohort=3), choices_=choice)
    assert one.table["cohort"].to_list() == [3] and one.table["effect_pp"][0] == pytest.approx(own)


@pytest.mark.parametrize("points", ["on", "dim", "off"])
def test_the_map_points_choice_reaches_the_figure(demo_con, points):
    drawn = catalogue.render_on(demo_con, "map", Filters(year="2023-24"), choices_={"points": points})
    school = [t for t in drawn.fig.data if (t.name or "").startswith("Schools: ")]
    if points == "off":
        assert not school and "switched off" in drawn.note
    else:
        assert school and {t.marker.opacity for t in school} == {1.0 if points == "on" else maps.DIM_OPACITY}


def test_a_grey_bar_legend_names_no_reason_the_bars_do_not_share(demo_con):
    # Chronic absenteeism by student group is never coloured (the Dashboard places it on TK-8
    # rows, which DataQuest does not break down by group), so the grey legend must not say
    # "fewer than 30 students" of groups that have hundreds.
    drawn = catalogue.render_on(demo_con, "equity", Filters(year="2024-25"), choices_={"metric": "chronic_absenteeism"})
    shown = drawn.table
    assert not shown.is_empty()
    names = {t.name for t in drawn.fig.data if t.name}
    assert not any("fewer than 30" in n for n in names), names
