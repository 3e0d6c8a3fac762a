"""charts.fit_text: a figure's words laid out for the column it is drawn in (the browser
measures the result: tests/e2e/test_browser_text_fits.py)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from csi_metrics.figures import charts, projector


def _trend(title: str) -> object:
    df = pl.DataFrame({"year": ["2022-23", "2023-24", "2024-25"] * 2, "community": ["community"] * 3 + ["comparison"] * 3,
                       "rate": [0.3, 0.25, 0.2, 0.28, 0.26, 0.22], "suppressed": [False] * 6})
    county = pl.DataFrame({"year": ["2022-23", "2023-24", "2024-25"], "rate": [0.27, 0.25, 0.21]})
    return charts.trend_lines(df, title=title, group_col="community", county=county)


def test_a_long_title_is_wrapped_to_a_half_page_column_and_the_legend_kept_under_it():
    title = "Chronic absenteeism rate by year: community vs comparison schools"
    fig = _trend(title)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 2 and " ".join(lines) == title
    assert all(len(line) * charts.CHAR_EM * charts.TITLE_FONT_PX <= charts.SLOT_PX for line in lines)
    # The top margin holds every title line and at least one legend row beneath them.
    assert fig.layout.margin.t >= (charts.TITLE_PAD_PX + len(lines) * charts.TITLE_FONT_PX * charts.LINE_EM
                                   + charts.BASE_FONT_PX * charts.LEGEND_ROW_EM)


def test_a_wider_column_unwraps_the_title_and_a_projector_wraps_it_again_from_the_words():
    title = "Chronic absenteeism rate by year: community vs comparison schools"
    fig = _trend(title)
    charts.fit_text(fig, width_px=charts.FULL_PX)
    assert fig.layout.title.text == title
    out = projector.presenter_figure(fig)
    assert _plain(out.layout.title.text) == title
    assert out.layout.margin.t > fig.layout.margin.t  # presenter type needs more room


def test_notes_sit_below_the_axis_title_and_are_wrapped_from_their_own_lines():
    df = pl.DataFrame({"label": ["Enrollment (log)", "Outcome rate at baseline"], "smd_before": [0.5, 0.3],
                       "smd_after": [0.05, 0.02]})
    fig = charts.balance_chart(df, title="Matching balance")
    note = [a for a in fig.layout.annotations if charts.is_note(a)][0]
    tick_and_title = 10 + charts.BASE_FONT_PX * charts.LINE_EM * 2
    assert -note.yshift >= tick_and_title, "under the tick labels and the axis title"
    assert _plain(note.text) == "Dashed lines: |SMD| 0.1, the usual mark of balance."
    assert fig.layout.margin.b >= -note.yshift + (note.text.count("<br>") + 1) * note.font.size


def test_equity_labels_start_past_the_all_students_line():
    df = pl.DataFrame({"student_group": ["TA", "RB", "RW"], "rate": [0.20, 0.32, 0.12],
                       "color": ["Orange", "Red", "Yellow"], "suppressed": [False] * 3})
    fig = charts.equity_bars(df, title="t")
    labels = [t for t in fig.data if t.name == charts.VALUE_LABELS][0]
    at = dict(zip(labels.y, labels.x))
    assert at["White"] > 0.20 and at["African American"] > 0.32
    assert all(t.text is None for t in fig.data if t.type == "bar")


def _plain(text: str) -> str:
    return " ".join(text.replace("<br>", " ").split())


def _axis_fig(labels: list[str]) -> go.Figure:
    return charts.apply_theme(go.Figure(go.Scatter(x=labels, y=list(range(len(labels))), mode="markers")))


def test_year_labels_turn_only_where_neighbours_would_touch():
    years = ["2018-19", "2019-20", "2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]
    narrow, wide = _axis_fig(years), _axis_fig(years)
    charts.turn_crowded_ticks(narrow, 360, charts.BASE_FONT_PX)
    charts.turn_crowded_ticks(wide, charts.FULL_PX, charts.BASE_FONT_PX)
    assert narrow.layout.xaxis.tickangle == -45 and wide.layout.xaxis.tickangle in (None, 0)


def test_one_long_label_among_short_ones_does_not_turn_them_all():
    # The event study's axis: -5 ... -1, "0 (first grant)", +1 ... +3. Only the long label's
    # neighbours share its room, and each of them is two characters wide.
    labels = ["-5", "-4", "-3", "-2", "-1", "0 (first grant)", "+1", "+2", "+3"]
    fig = _axis_fig(labels)
    charts.turn_crowded_ticks(fig, charts.FULL_PX, charts.BASE_FONT_PX)
    assert fig.layout.xaxis.tickangle in (None, 0)
    charts.turn_crowded_ticks(fig, 300, charts.BASE_FONT_PX)  # a phone's column: it does not fit
    assert fig.layout.xaxis.tickangle == -45


def test_a_slide_lays_its_words_out_for_the_slides_width_not_the_pages_column():
    # One chart per screen: the trend's title, wrapped for its half-page column on the page,
    # runs across a 1920 slide on one line (it took two, leaving the right half empty).
    title = "Chronic absenteeism rate by year: community vs comparison schools"
    page = charts.fit_text(_trend(title), width_px=charts.SLOT_PX)
    assert "<br>" in page.layout.title.text
    slide = projector.slide_figure(page)
    assert "<br>" not in slide.layout.title.text, slide.layout.title.text
    assert _plain(slide.layout.title.text) == title
