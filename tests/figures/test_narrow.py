"""The phone layout of a chart (csi_metrics.figures.narrow): the title and the notes
under the plot come back as text for the page, no type is larger than a phone's,
long category labels are wrapped (and what points at them follows), horizontal
bars keep room for their labels, and the figure given is left as it was."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import polars as pl

from csi_metrics.figures import charts, narrow

GROUPS = ["TA", "SD", "AI", "FY", "HI"]  # All students, disabilities, American Indian, foster youth, Hispanic


def _equity() -> "charts.go.Figure":
    df = pl.DataFrame({"student_group": GROUPS, "rate": [0.18, 0.27, 0.25, 0.42, 0.20],
                       "suppressed": [False] * 5, "color": [None] * 5})
    return charts.equity_bars(df, title="Chronic absenteeism rate by student group, 2024-25, a title far wider "
                                         "than a phone")


def _trend() -> "charts.go.Figure":
    df = pl.DataFrame({"year": ["2018-19", "2019-20", "2020-21"], "community": ["community"] * 3,
                       "rate": [0.15, None, 0.18], "suppressed": [False] * 3})
    # A missing year is a gap with a note under the plot.
    return charts.trend_lines(df, group_col="community", title="Chronic absenteeism rate by year",
                              metric="chronic_absenteeism")


def test_title_and_under_plot_notes_become_page_text():
    fig = _trend()
    assert any(a.yref == "paper" and (a.y or 0) <= 0 for a in fig.layout.annotations)
    out = narrow.phone_figure(fig)
    assert out.title == "Chronic absenteeism rate by year"
    assert out.notes and "2019-20" in " ".join(out.notes) and "<br>" not in " ".join(out.notes)
    assert not out.fig.layout.title.text
    assert not [a for a in out.fig.layout.annotations if a.yref == "paper" and (a.y or 0) <= 0]
    assert fig.layout.title.text == "Chronic absenteeism rate by year"  # the export's figure is untouched


def test_no_type_larger_than_a_phones():
    out = narrow.phone_figure(_equity()).fig
    sizes = [out.layout.font.size, out.layout.legend.font.size, out.layout.xaxis.tickfont.size,
             out.layout.yaxis.tickfont.size] + [a.font.size for a in out.layout.annotations] \
        + [t.textfont.size for t in out.data if t.type == "bar"]
    assert all(s is not None and s <= narrow.TEXT_PX for s in sizes), sizes


def test_long_bar_labels_wrap_and_the_gap_labels_follow_them():
    fig = _equity()
    out = narrow.phone_figure(fig).fig
    labels = [y for t in out.data if t.type == "bar" for y in t.y]
    assert all(max(len(part) for part in re.split(r"<br>", y)) <= 20 for y in labels), labels
    assert any("<br>" in y for y in labels)
    assert list(out.layout.yaxis.categoryarray) == labels or set(out.layout.yaxis.categoryarray) == set(labels)
    gap_rows = [a.y for a in out.layout.annotations if a.yref == "y"]
    assert gap_rows and all(y in labels for y in gap_rows)
    biggest = max(x for t in out.data if t.type == "bar" for x in t.x)
    assert out.layout.xaxis.range[1] >= biggest * narrow.BAR_RANGE - 1e-9


def test_a_treemap_with_a_long_name_goes_to_a_phone():
    # A treemap has no legend entry (no showlegend at all): the phone layout must not ask for one.
    fig = go.Figure(go.Treemap(labels=["SPA 4 Metro", "SPA 6 South"], parents=["", ""], values=[3, 4],
                               name="Awards by Service Planning Area and cohort, to date"))
    out = narrow.phone_figure(fig).fig
    assert out.data[0].name == fig.data[0].name
