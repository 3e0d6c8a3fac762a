"""Colours that mean performance are kept for levels (issue 17): categories (SPAs,
cohorts, grant and activity types, groups) take one neutral palette, far from the five
Dashboard colours, and a category's colour follows its code, never the filters."""

from __future__ import annotations

import polars as pl
import pytest

from csi_metrics.figures import charts
from csi_metrics.views import catalogue
from csi_metrics.vocabulary.filters import Filters

NEAR = 40  # CIE76 units: under this a colour can pass for a Dashboard level


def _lab(hex_: str) -> tuple[float, float, float]:
    h = hex_.lstrip("#")
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance_to_levels(hex_: str) -> float:
    a = _lab(hex_)
    return min(sum((p - q) ** 2 for p, q in zip(a, _lab(c))) ** 0.5 for c in charts.DASHBOARD_COLORS.values())


def test_the_category_palette_keeps_away_from_every_dashboard_colour():
    assert len(set(charts.CATEGORY_PALETTE)) >= 8  # eight SPAs, each its own colour
    for c in charts.CATEGORY_PALETTE:
        assert distance_to_levels(c) >= NEAR, c


def _colours(fig) -> list[str]:
    out = []
    for t in fig.data:
        marker = getattr(t, "marker", None)
        for c in (getattr(marker, "color", None), getattr(marker, "colors", None),
                  getattr(getattr(t, "line", None), "color", None)):
            for v in (c if isinstance(c, (list, tuple)) else [c]):
                if isinstance(v, str) and v.startswith("#"):
                    out.append((t.name, v))
    return out


CATEGORICAL = [("trend", {"by": b}) for b in ("none", "community", "spa", "cohort", "school_type", "student_group")] + [
    ("did", {}), ("awards_by_type", {}), ("awards_by", {}), ("usd_per_student", {}), ("activities_by_month", {}),
    ("activities_by_type", {}), ("activities_by_spa", {}), ("map", {"color_by": "cohort"}), ("headline_spark",
    {"metric_id": "suspension", "scope": "selected"})]


@pytest.mark.parametrize("chart_id,given", CATEGORICAL)
def test_no_category_is_drawn_in_a_dashboard_colour(demo_con, chart_id, given):
    drawn = catalogue.render_on(demo_con, chart_id, Filters(year="2023-24"), choices_=given)
    colours = [(n, c) for n, c in _colours(drawn.fig) if c.upper() not in ("#000000", "#333333", charts.NO_COLOR,
                                                                          charts.TEXT_COLOR, "#FFFFFF")]
    assert colours, chart_id
    near = [(n, c) for n, c in colours if distance_to_levels(c) < NEAR]
    assert not near, (chart_id, near)


def _by_name(fig) -> dict[str, str]:
    return {t.name: t.marker.color for t in fig.data}


def test_an_activity_type_keeps_its_colour_when_the_filter_changes_what_else_is_shown():
    every = pl.DataFrame({"month": ["2024-09"] * 5, "activity_type": ["engagement_event", "items_distributed",
                          "learning_opportunity", "referral", "support_session"], "activities_n": [3, 4, 5, 6, 7]})
    few = every.filter(pl.col("activity_type").is_in(["referral", "support_session"]))
    a = _by_name(charts.activities_by_month(every, title="t"))
    b = _by_name(charts.activities_by_month(few, title="t"))
    assert a["Referral"] == b["Referral"] and a["Support session"] == b["Support session"]
    assert len(set(a.values())) == 5


def test_a_grant_type_keeps_its_colour_under_an_spa_filter(demo_con):
    def colours(f):
        fig = catalogue.render_on(demo_con, "awards_by_type", f).fig
        return {t.name: t.marker.color for t in fig.data if t.type == "bar"}

    whole = colours(Filters(year="2023-24"))
    assert len(whole) >= 2
    for spa in (3, 6):
        for name, colour in colours(Filters(year="2023-24", spa=spa)).items():
            assert whole[name] == colour, (spa, name)


def test_a_trend_group_keeps_its_colour_under_a_filter(demo_con):
    whole = catalogue.render_on(demo_con, "trend", Filters(), choices_={"by": "spa"}).fig
    one = catalogue.render_on(demo_con, "trend", Filters(spa=5), choices_={"by": "spa"}).fig
    a = {t.name: t.line.color for t in whole.data}
    b = {t.name: t.line.color for t in one.data}
    shared = set(a) & set(b) - {"LA County (all schools)"}
    assert shared and all(a[n] == b[n] for n in shared)
