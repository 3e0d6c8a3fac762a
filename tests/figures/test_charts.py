"""Chart builders: what each figure draws, that gaps stay gaps, that suppressed
values never reach the figure, and that Dashboard colours carry their names."""

from __future__ import annotations

import plotly.io as pio
import polars as pl
import pytest

from csi_metrics.figures import charts
from csi_metrics.vocabulary import formats

YEARS = ["2019-20", "2020-21", "2021-22", "2022-23"]
LEAK = 0.123456  # a value that must never appear in a figure when its row is suppressed


def _trend(rows):
    return pl.DataFrame(rows, schema={"year": pl.Utf8, "community": pl.Utf8, "rate": pl.Float64,
                                      "suppressed": pl.Boolean}, orient="row")


def test_theme_is_projector_readable_and_colour_blind_safe():
    t = pio.templates[charts.TEMPLATE_NAME].layout
    assert t.font.size >= 18
    assert t.title.font.size > t.font.size
    assert list(t.colorway) == charts.CATEGORY_PALETTE
    assert pio.templates[charts.TEMPLATE_NAME + "_present"].layout.font.size >= 24


def test_trend_lines_missing_year_is_a_gap_with_a_note_and_county_line():
    df = _trend([
        ("2019-20", "community", 0.20, False), ("2020-21", "community", None, False),
        ("2021-22", "community", 0.25, False), ("2022-23", "community", 0.22, False),
        ("2019-20", "comparison", 0.18, False), ("2020-21", "comparison", None, False),
        ("2021-22", "comparison", 0.21, False), ("2022-23", "comparison", 0.19, False),
    ])
    county = pl.DataFrame({"year": YEARS, "rate": [0.19, None, 0.24, 0.2], "suppressed": [False] * 4})
    fig = charts.trend_lines(df, title="t", group_col="community", county=county)
    assert len(fig.data) == 3
    community, comparison, la = fig.data
    assert community.name == "Community schools" and comparison.name == "Comparison schools"
    assert la.name == "LA County (all schools)" and la.line.dash == "dash"
    assert list(community.x) == YEARS
    assert list(community.y) == [0.20, None, 0.25, 0.22]
    assert community.connectgaps is False
    notes = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    assert "2020-21" in notes and "gap" in notes


def test_trend_lines_never_draws_a_suppressed_value():
    df = _trend([
        ("2021-22", "community", 0.30, False), ("2022-23", "community", LEAK, True),
        ("2021-22", "comparison", 0.28, False), ("2022-23", "comparison", 0.27, False),
    ])
    fig = charts.trend_lines(df, title="t", group_col="community")
    assert str(LEAK) not in fig.to_json()
    assert list(fig.data[0].y) == [0.30, None]
    notes = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    assert "suppressed (<11 students)" in notes and "Community schools 2022-23" in notes
    # A suppressed year is not also reported as unpublished.
    assert "No data published" not in notes


def test_bar_by_group_pairs_dashboard_colour_with_its_name_and_drops_suppressed():
    df = pl.DataFrame({
        "student_group": ["RB", "RH", "SE", "SF", "SM"],
        "rate": [0.31, 0.22, 0.18, LEAK, 0.40],
        "color": ["Red", "Orange", "Orange", None, None],
        "suppressed": [False, False, False, True, False],
    })
    fig = charts.bar_by_group(df, category_col="student_group", value_col="rate", title="t", color_col="color")
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"Red", "Orange", charts.NO_COLOR_LABEL}
    assert by_name["Red"].marker.color == charts.DASHBOARD_COLORS["Red"]
    assert list(by_name["Red"].y) == ["African American"]
    assert by_name["Red"].text[0] == "31.0% · Red"
    assert sorted(by_name["Orange"].text) == ["18.0% · Orange", "22.0% · Orange"]
    assert list(by_name[charts.NO_COLOR_LABEL].y) == ["Migrant"]
    assert str(LEAK) not in fig.to_json()
    assert "Foster youth" in " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")


def test_equity_bars_mark_the_largest_gaps_against_all_students():
    df = pl.DataFrame({
        "student_group": ["TA", "RB", "RH", "RW", "SD"],
        "rate": [0.20, 0.32, 0.24, 0.15, 0.29],
        "color": ["Orange", "Red", "Orange", "Yellow", "Red"],
        "suppressed": [False] * 5,
    })
    fig = charts.equity_bars(df, title="t", highlight_n=2)
    drawn = [y for t in fig.data if t.type == "bar" for y in t.y]
    assert "All students" not in drawn and len(drawn) == 4
    assert "All students 20.0%" in [t.name for t in fig.data]
    texts = [a.text for a in fig.layout.annotations]
    assert "<b>+12.0 pp gap</b>" in texts and "<b>+9.0 pp gap</b>" in texts
    assert not any("+4.0 pp" in t for t in texts)      # only the two largest


def test_did_bars_label_values_and_missing():
    did = pl.DataFrame({"community_change_pp": [-2.5], "comparison_change_pp": [None], "did_pp": [None]},
                       schema={"community_change_pp": pl.Float64, "comparison_change_pp": pl.Float64,
                               "did_pp": pl.Float64})
    fig = charts.did_bars(did)
    assert list(fig.data[0].text) == ["-2.5 pp", "not enough data", "not enough data"]
    assert list(fig.data[0].x) == ["Community<br>schools", "Comparison<br>schools", "Difference"]
    assert list(fig.data[0].y) == [-2.5, None, None]


def test_stacked_bars_split_each_spa_and_total_it():
    df = pl.DataFrame({"spa": [4, 4, 6, 1], "grant_type": ["planning", "implementation", "implementation", "planning"],
                       "amount_usd": [200_000, 1_500_000, 3_000_000, 50_000]})
    fig = charts.stacked_bars(df, category_col="spa", stack_col="grant_type", value_col="amount_usd", title="t")
    bars = {t.name: dict(zip(t.y, t.x)) for t in fig.data if t.type == "bar"}
    assert set(bars) == {"Implementation", "Planning"} and fig.layout.barmode == "stack"
    assert bars["Planning"]["SPA 4 Metro"] == 200_000 and bars["Implementation"]["SPA 6 South"] == 3_000_000
    assert bars["Implementation"]["SPA 1 Antelope Valley"] is None  # no part drawn, not a zero
    # Largest at the top (Plotly draws the category array bottom up); every SPA named on the axis,
    # however small, and its total written at its end by the one formatter.
    assert list(fig.layout.yaxis.categoryarray) == ["SPA 1 Antelope Valley", "SPA 4 Metro", "SPA 6 South"]
    totals = next(t for t in fig.data if t.type == "scatter")
    assert list(totals.text) == ["$50K", "$1.7M", "$3.0M"]
    assert dict(zip(totals.y, totals.x))["SPA 4 Metro"] == 1_700_000
    # A grant type keeps its colour whatever else is shown.
    alone = charts.stacked_bars(df.filter(pl.col("grant_type") == "planning"), category_col="spa",
                                stack_col="grant_type", value_col="amount_usd", title="t")
    assert alone.data[0].marker.color == next(t for t in fig.data if t.name == "Planning").marker.color


def test_activities_by_month_stacks_one_trace_per_type():
    df = pl.DataFrame({"month": ["2024-09", "2024-10", "2024-09"],
                       "activity_type": ["referral", "referral", "support_session"],
                       "activities_n": [3, 5, 2]})
    fig = charts.activities_by_month(df, title="t")
    assert [t.name for t in fig.data] == ["Referral", "Support session"]
    assert list(fig.data[0].x) == ["2024-09", "2024-10"] and list(fig.data[0].y) == [3, 5]
    assert list(fig.data[1].y) == [2, 0]
    assert fig.layout.barmode == "stack"
    assert list(fig.layout.xaxis.ticktext) == ["Sep 2024", "Oct 2024"]


@pytest.mark.parametrize("builder", [
    lambda e: charts.trend_lines(e, title="t"),
    lambda e: charts.bar_by_group(e, category_col="spa", value_col="rate", title="t"),
    lambda e: charts.activities_by_month(e, title="t"),
])
def test_empty_input_gives_a_labelled_empty_figure(builder):
    empty = pl.DataFrame(schema={"year": pl.Utf8, "spa": pl.Int64, "month": pl.Utf8, "rate": pl.Float64,
                                 "activities_n": pl.Int64, "suppressed": pl.Boolean})
    fig = builder(empty)
    assert len(fig.data) == 0
    assert any("No " in a.text for a in fig.layout.annotations)


def test_usd_short():
    assert formats.format_value(1_234_567, "usd", compact=True) == "$1.2M"
    assert formats.format_value(350_000, "usd", compact=True) == "$350K"
    assert formats.format_value(2_480.4, "usd", compact=True) == "$2,480"
    assert formats.format_value(None, "usd", compact=True) == "—"


def test_trend_lines_many_groups_get_distinct_styles_and_a_side_legend():
    rows = [(y, spa, 0.1 + (spa or 0) / 100) for y in YEARS[:2] for spa in [1, 2, 3, 4, 5, 6, 7, 8, None]]
    df = pl.DataFrame(rows, schema={"year": pl.Utf8, "spa": pl.Int64, "rate": pl.Float64}, orient="row")
    fig = charts.trend_lines(df, title="t", group_col="spa")
    styles = [(t.line.color, t.line.dash) for t in fig.data]
    assert len(styles) == 9 and len(set(styles)) == 9
    assert fig.data[-1].name == "SPA unassigned" and fig.data[-1].line.dash == "dot"
    assert fig.layout.legend.orientation == "v"


def test_bar_by_group_top_n_keeps_the_largest_and_says_so():
    df = pl.DataFrame({"district": [f"D{i}" for i in range(20)], "amount_usd": [i * 1000 for i in range(20)]})
    fig = charts.bar_by_group(df, category_col="district", value_col="amount_usd", kind="usd", title="t", top_n=5)
    assert list(fig.data[0].y) == ["D15", "D16", "D17", "D18", "D19"]
    assert "15 more in the table" in " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")


def _event_frame():
    return pl.DataFrame({"relative_year": [-3, -2, -1, 0, 1], "effect_pp": [0.3, -0.2, 0.0, -2.5, None],
                         "ci_low_pp": [-1.0, -1.1, None, -3.5, None], "ci_high_pp": [1.5, 0.7, None, -1.4, None],
                         "years": ["2017-18", "2019-20", "2021-22", "2022-23", "2023-24"],
                         "pandemic_year": [False, True, False, False, False],
                         "is_reference": [False, False, True, False, False],
                         "suppressed": [False, False, False, False, True]})


def test_event_study_draws_intervals_marks_pandemic_years_and_names_gaps():
    fig = charts.event_study(_event_frame(), title="Chronic absenteeism: community vs matched schools")
    by_name = {t.name: t for t in fig.data if t.name}
    effect = by_name["Community minus matched schools"]
    assert list(effect.x) == ["-3", "0 (first grant)"] and list(effect.y) == [0.3, -2.5]
    assert list(effect.error_y.array) == pytest.approx([1.2, 1.1]) and list(effect.error_y.arrayminus) == \
        pytest.approx([1.3, 1.0])
    assert list(by_name["Pandemic year"].x) == ["-2"] and by_name["Pandemic year"].marker.symbol == "circle-open"
    ref = by_name["Baseline year (0 by construction)"]
    assert list(ref.x) == ["-1"] and not ref.error_y.array
    assert list(fig.layout.xaxis.categoryarray) == ["-3", "-2", "-1", "0 (first grant)", "+1"]
    assert "Not shown (fewer than 11 students or no data): +1." in fig.layout.annotations[0].text.replace("<br>", " ")
    assert "(95% interval -3.5 pp to -1.4 pp)" in effect.text[1]


def test_event_study_with_nothing_to_show_says_so():
    empty = _event_frame().with_columns(pl.lit(None, pl.Float64).alias("effect_pp"))
    fig = charts.event_study(empty, title="t")
    assert not [t for t in fig.data if t.name] and "Not enough matched schools" in fig.layout.annotations[0].text


def test_balance_chart_shows_before_and_after_for_each_variable():
    df = pl.DataFrame({"label": ["Baseline rate", "Enrolment (log)"], "smd_before": [0.8, -0.3],
                       "smd_after": [0.05, None]})
    fig = charts.balance_chart(df, title="Balance")
    before, after = fig.data
    assert (before.name, after.name) == ("Before matching", "After matching")
    assert list(before.x) == [0.8, -0.3] and list(after.text) == ["+0.05", "—"]
    assert sorted(s.x0 for s in fig.layout.shapes) == [-0.1, 0.1]
