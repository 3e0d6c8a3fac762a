"""Headline figures and the what-moved sentence."""

from __future__ import annotations

import polars as pl
import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import headline
from csi_metrics.vocabulary.filters import Filters

SU, CA = "suspension", "chronic_absenteeism"
Y, P = "2023-24", "2022-23"


@pytest.fixture
def con():
    c = mf.new_db()
    a, b, n = mf.cds(10001, 1), mf.cds(10001, 2), mf.cds(10001, 3)
    mf.add_school(c, a, spa=1, community=True, cohort=1, first_grant_year=P)
    mf.add_school(c, b, spa=2, community=True, cohort=2, first_grant_year=Y)
    mf.add_school(c, n, spa=1)  # not a community school
    for code, su, ca, grtk8 in [
        (a, {P: (6, 300), Y: (3, 300)}, {P: (90, 300), Y: (60, 300)}, {P: (80, 250), Y: (50, 250)}),
        (b, {P: (2, 100), Y: (2, 100)}, {P: (20, 100), Y: (20, 100)}, {P: (20, 100), Y: (20, 100)}),
        (n, {P: (10, 600), Y: (12, 600)}, {P: (120, 600), Y: (150, 600)}, {P: (100, 500), Y: (120, 500)}),
    ]:
        for year in (P, Y):
            mf.add_outcome(c, SU, year, code, *su[year])
            mf.add_outcome(c, CA, year, code, *ca[year])
            mf.add_outcome(c, CA, year, code, *grtk8[year], group="GRTK8")
    mf.add_grant(c, "G1", a, 400_000, year=P)
    mf.add_grant(c, "G2", b, 200_000, year=Y, cohort=2)
    yield c
    c.close()


def rows(df: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["metric_id"], r["scope"]): r for r in df.iter_rows(named=True)}


def test_headline_values(con):
    df = headline.headline(con, Filters(year=Y))
    assert list(df.columns) == list(headline.COLUMNS)
    r = rows(df)
    assert r[("community_schools_n", "selected")]["value"] == 2
    assert r[("community_schools_n", "selected")]["prior_value"] == 1
    assert r[("students_served_n", "selected")]["value"] == 400      # 300 + 100 (suspension enrolment)
    assert r[("ccspp_usd", "selected")]["value"] == 600_000
    assert r[("ccspp_usd", "selected")]["prior_value"] == 400_000

    ca = r[("chronic_absenteeism", "selected")]
    assert ca["value"] == pytest.approx(80 / 400) and ca["prior_value"] == pytest.approx(110 / 400)
    assert ca["change"] == pytest.approx(-7.5)
    # colour from GRTK8: 70/350 = 20.0% (High), prior 100/350 = 28.57%: -8.6 -> Declined Significantly
    assert (ca["status_level"], ca["change_level"], ca["color"]) == ("High", "Declined Significantly", "Yellow")
    # and the rate it was placed on is shown with it: the TK-8 rate, not the all-grades 20.0% beside it
    assert ca["placed_group"] == "GRTK8" and ca["placed_value"] == pytest.approx(70 / 350)
    assert ca["level_source"] == "computed" and ca["scope_label"] == "Community schools"

    county = r[("chronic_absenteeism", "county")]
    assert county["value"] == pytest.approx(230 / 1000)
    # GRTK8 county: 190/850 = 22.35% VH; prior 200/850 = 23.53%: -1.2 Declined -> Orange
    assert (county["status_level"], county["change_level"], county["color"]) == ("Very High", "Declined", "Orange")

    su = r[("suspension", "selected")]
    assert su["value"] == pytest.approx(5 / 400) and su["change"] == pytest.approx((5 / 400 - 8 / 400) * 100)
    # unified set: 1.25% -> 1.3 Low; change -0.75 -> -0.8 Declined -> Green
    assert (su["status_level"], su["change_level"], su["color"]) == ("Low", "Declined", "Green")


def test_headline_defaults_to_latest_year_and_empty_db(con):
    assert headline.headline(con)["year"][0] == Y
    empty = headline.headline(mf.new_db())
    assert empty.height == 0 and list(empty.columns) == list(headline.COLUMNS)


def test_headline_small_community_is_suppressed(con):
    # Only school b in SPA 2: 100 students -> shown; restrict to a tiny school instead.
    tiny = mf.cds(10001, 4)
    mf.add_school(con, tiny, spa=3, community=True, first_grant_year=P)
    for year in (P, Y):
        mf.add_outcome(con, CA, year, tiny, 2, 9, suppressed=False)
        mf.add_outcome(con, SU, year, tiny, 0, 9, suppressed=False)
    r = rows(headline.headline(con, Filters(year=Y, spa=3)))
    ca = r[("chronic_absenteeism", "selected")]
    assert ca["suppressed"] is True and ca["value"] is None and ca["color"] is None
    assert r[("students_served_n", "selected")]["value"] is None
    assert r[("students_served_n", "selected")]["suppressed"] is True


def test_what_moved_names_largest_community_change(con):
    df = headline.headline(con, Filters(year=Y))
    sentence = headline.what_moved(df)
    assert sentence == ("In 2023-24, chronic absenteeism in community schools fell 7.5 percentage points to 20.0%, "
                        "now below LA County's 23.0% (unchanged). Suspension fell 0.8 points to 1.3% (LA County 1.7%).")


def test_what_moved_steady_and_nothing():
    base = {k: None for k in headline.COLUMNS}
    steady = pl.DataFrame(
        [{**base, "metric_id": "suspension", "label": "Suspension rate", "scope": "selected",
          "scope_label": "Comparison schools", "unit": "rate", "year": Y, "value": 0.03, "change": 0.2,
          "suppressed": False}],
        schema=headline.COLUMNS,
    )
    assert headline.what_moved(steady) == ("Rates in comparison schools held steady in 2023-24 "
                                           "(every change under 0.5 percentage points).")
    hidden = steady.with_columns(pl.lit(True).alias("suppressed"))
    assert headline.what_moved(hidden, group_label="English learners") == (
        "No year-over-year change can be shown for comparison schools for english learners.")


def test_headline_series_hand_values(con):
    s = headline.headline_series(con, Filters(year=Y))
    def value(mid, scope, year):
        return s.filter((pl.col("metric_id") == mid) & (pl.col("scope") == scope) & (pl.col("year") == year))["value"].item()
    assert value("community_schools_n", "selected", P) == 1   # b's first grant year is Y
    assert value("community_schools_n", "selected", Y) == 2
    assert value("ccspp_usd", "selected", P) == 400_000
    assert value("ccspp_usd", "selected", Y) == 600_000
    assert value("chronic_absenteeism", "selected", P) == pytest.approx(110 / 400)
    assert value("students_served_n", "selected", P) == 400
    # comparison schools: their own count and enrolment, no CCSPP dollars
    c = headline.headline_series(con, Filters(year=Y, community="comparison"))
    cv = {(r["metric_id"], r["year"]): r for r in c.iter_rows(named=True) if r["scope"] == "selected"}
    assert cv[("community_schools_n", Y)]["value"] == 1 and cv[("community_schools_n", Y)]["label"] == "Comparison schools"
    assert cv[("students_served_n", Y)]["value"] == 600
    assert cv[("ccspp_usd", Y)]["value"] is None and "community schools only" in cv[("ccspp_usd", Y)]["note"]
    assert cv[("chronic_absenteeism", Y)]["value"] == pytest.approx(150 / 600)
    assert s.height == 2 * 7 and list(s.columns) == list(headline.COLUMNS)


def test_headline_series_empty_db():
    empty = headline.headline_series(mf.new_db())
    assert empty.height == 0 and list(empty.columns) == list(headline.COLUMNS)


@pytest.mark.parametrize("kw", [{}, {"spa": 4, "community": "community"}, {"school_type": "HS", "cohort": 2},
                                {"community": "comparison", "student_group": "SE"}])
def test_headline_series_every_year_equals_the_pooled_rates(demo_db, kw):
    from csi_metrics.storage import db
    from csi_metrics.metrics import rates

    con = db.open_for_display(demo_db)
    try:
        years = headline.series_years(con)
        f = Filters(year=years[-1], **kw)
        series = headline.headline_series(con, f)
        assert series.height == 7 * len(years)
        side = "comparison" if kw.get("community") == "comparison" else "community"
        for metric, mid in (("chronic_absenteeism", "chronic_absenteeism"), ("suspension", "suspension")):
            want = rates.pooled_rates(con, metric, ["year"], f.with_(year=None, community=side))
            got = series.filter((pl.col("metric_id") == mid) & (pl.col("scope") == "selected"))
            j = got.join(want, on="year", how="inner")
            assert j.height >= len(years) - 1
            assert (j["value"].fill_null(-1) - j["rate"].fill_null(-1)).abs().max() < 1e-12
    finally:
        con.close()


@pytest.mark.parametrize("kw", [{"spa": 6}, {"district": "1964733"}, {"community": "comparison"}, {"cohort": 2},
                                {"school_type": "ES"}, {"student_group": "SS"},
                                {"spa": 6, "community": "comparison", "student_group": "SS"}])
def test_every_card_follows_each_filter_as_the_report_command_does(demo_db, kw):
    """Each filter in turn: the Overview's rate cards equal the report command's rows for
    the same filters, or the card says which filter it ignores."""
    import argparse
    import io
    import json

    from csi_metrics.storage import db
    from csi_metrics import report

    con = db.open_for_display(demo_db)
    try:
        year = headline.latest_year(con)
        if "district" in kw:
            kw = {"district": con.sql("SELECT district_code FROM schools WHERE is_community GROUP BY 1 "
                                      "ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]}
        f = Filters(year=year, **kw)
        r = rows(headline.headline(con, f))
    finally:
        con.close()
    side = "comparison" if kw.get("community") == "comparison" else "community"
    for metric, mid in (("chronic_absenteeism", "chronic_absenteeism"), ("suspension", "suspension")):
        p = argparse.ArgumentParser()
        report.add_arguments(p)
        argv = ["--db", str(demo_db), "--metric", metric, "--by", "community", "--year", year, "--format", "json"]
        for k, v in kw.items():
            if k != "community":
                argv += [f"--{k.replace('_', '-')}", str(v)]
        buf = io.StringIO()
        assert report.run(p.parse_args(argv), out=buf) == 0
        got = {row["community"]: row for row in json.loads(buf.getvalue())}[side]
        card = r[(mid, "selected")]
        assert card["scope_label"] == ("Comparison schools" if side == "comparison" else "Community schools")
        if got["rate_pct"] is None:
            assert card["value"] is None
        else:
            assert round(card["value"] * 100, 1) == pytest.approx(got["rate_pct"], abs=0.051)
        assert card["color"] == got["color"] and card["status_level"] == got["status_level"]
        county = r[(mid, "county")]
        placed = [k for k in kw if k not in ("student_group",)]
        assert (county["ignores"] is not None) == bool(placed), (kw, county["ignores"])


def _rate_row(metric: str, scope: str, value: float, change: float | None, *, prior: float | None = None,
              scope_label: str = "Community schools", suppressed: bool = False) -> dict:
    base = {k: None for k in headline.COLUMNS}
    label = "LA County, all schools" if scope == "county" else scope_label
    prior_value = prior if prior is not None else (None if change is None else value - change / 100)
    return {**base, "metric_id": metric, "label": metric, "scope": scope, "scope_label": label, "unit": "rate",
            "year": Y, "prior_year": P, "value": value, "prior_value": prior_value, "change": change,
            "change_unit": "pp", "suppressed": suppressed, "not_published": False}


def test_what_moved_reads_as_a_leader_says_it():
    """Issue 17 #18: one unit for changes (no 'pp' beside 'points'), whether community schools
    are still above the county, that comparison schools fell too, and suspension."""
    frame = pl.DataFrame([
        _rate_row("chronic_absenteeism", "selected", 0.192, -4.9),
        _rate_row("chronic_absenteeism", "county", 0.181, -2.9),
        _rate_row("suspension", "selected", 0.026, -0.3),
        _rate_row("suspension", "county", 0.025, -0.1),
    ], schema=headline.COLUMNS)
    comparison = pl.DataFrame([
        _rate_row("chronic_absenteeism", "selected", 0.2, -1.2, scope_label="Comparison schools"),
        _rate_row("suspension", "selected", 0.03, 0.1, scope_label="Comparison schools"),
    ], schema=headline.COLUMNS)
    s = headline.what_moved(frame, comparison=comparison)
    assert " pp" not in s
    assert s == ("In 2023-24, chronic absenteeism in community schools fell 4.9 percentage points to 19.2%, "
                 "still above LA County's 18.1% (down 2.9 points); comparison schools fell too, by 1.2 points. "
                 "Suspension fell 0.3 points to 2.6% (LA County 2.5%).")


def test_what_moved_says_now_below_and_rose_and_without_comparison():
    frame = pl.DataFrame([
        _rate_row("chronic_absenteeism", "selected", 0.17, -2.0, prior=0.19),
        _rate_row("chronic_absenteeism", "county", 0.18, 0.4, prior=0.176),
        _rate_row("suspension", "selected", 0.03, 0.0),
    ], schema=headline.COLUMNS)
    s = headline.what_moved(frame)
    assert s == ("In 2023-24, chronic absenteeism in community schools fell 2.0 percentage points to 17.0%, "
                 "now below LA County's 18.0% (up 0.4 points). Suspension held at 3.0%.")
