"""Headline figures and the what-moved sentence."""

from __future__ import annotations

import polars as pl
import pytest

import metrics_fixtures as mf
from csi_metrics import headline
from csi_metrics.filters import Filters

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
    assert r[("community_schools_n", "community")]["value"] == 2
    assert r[("community_schools_n", "community")]["prior_value"] == 1
    assert r[("students_served_n", "community")]["value"] == 400      # 300 + 100 (suspension enrolment)
    assert r[("ccspp_usd", "county")]["value"] == 600_000
    assert r[("ccspp_usd", "county")]["prior_value"] == 400_000

    ca = r[("chronic_absenteeism_rate", "community")]
    assert ca["value"] == pytest.approx(80 / 400) and ca["prior_value"] == pytest.approx(110 / 400)
    assert ca["change"] == pytest.approx(-7.5)
    # colour from GRTK8: 70/350 = 20.0% (High), prior 100/350 = 28.57%: -8.6 -> Declined Significantly
    assert (ca["status_level"], ca["change_level"], ca["color"]) == ("High", "Declined Significantly", "Yellow")

    county = r[("chronic_absenteeism_rate", "county")]
    assert county["value"] == pytest.approx(230 / 1000)
    # GRTK8 county: 190/850 = 22.35% VH; prior 200/850 = 23.53%: -1.2 Declined -> Orange
    assert (county["status_level"], county["change_level"], county["color"]) == ("Very High", "Declined", "Orange")

    su = r[("suspension_rate", "community")]
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
    ca = r[("chronic_absenteeism_rate", "community")]
    assert ca["suppressed"] is True and ca["value"] is None and ca["color"] is None
    assert r[("students_served_n", "community")]["value"] is None
    assert r[("students_served_n", "community")]["suppressed"] is True


def test_what_moved_names_largest_community_change(con):
    df = headline.headline(con, Filters(year=Y))
    sentence = headline.what_moved(df)
    assert sentence == "In 2023-24, chronic absenteeism in community schools fell 7.5 points to 20.0% (county: 23.0%, +0.0 pp)."


def test_what_moved_steady_and_nothing():
    base = {k: None for k in headline.COLUMNS}
    steady = pl.DataFrame(
        [{**base, "metric_id": "suspension_rate", "label": "Suspension rate", "scope": "community", "unit": "rate",
          "year": Y, "value": 0.03, "change": 0.2, "suppressed": False}],
        schema=headline.COLUMNS,
    )
    assert headline.what_moved(steady) == "Community school rates held steady in 2023-24 (every change under 0.5 points)."
    hidden = steady.with_columns(pl.lit(True).alias("suppressed"))
    assert headline.what_moved(hidden) == "No year-over-year change can be shown for community schools."


def per_year(con, f: Filters) -> pl.DataFrame:
    years = headline.series_years(con, f.year)
    return pl.concat([headline.headline(con, f.with_(year=y)) for y in years], how="vertical")


@pytest.mark.parametrize("f", [Filters(year=Y), Filters(), Filters(year=P), Filters(year=Y, spa=1),
                               Filters(year=Y, spa=3), Filters(school=mf.cds(10001, 1)),
                               Filters(year=Y, cohort=2)])
def test_headline_series_equals_per_year_headlines(con, f):
    # an earlier year with one school only (no prior year before it) and a tiny suppressed school
    e = "2021-22"
    mf.add_outcome(con, SU, e, mf.cds(10001, 1), 7, 280)
    mf.add_outcome(con, CA, e, mf.cds(10001, 1), 95, 280)
    tiny = mf.cds(10001, 4)
    mf.add_school(con, tiny, spa=3, community=True, first_grant_year=Y)
    for year in (P, Y):
        mf.add_outcome(con, CA, year, tiny, 2, 9)
        mf.add_outcome(con, SU, year, tiny, 0, 9)
    series = headline.headline_series(con, f)
    expected = per_year(con, f)
    assert series.equals(expected)
    assert series["year"].unique(maintain_order=True).to_list() == [y for y in (e, P, Y) if f.year is None or y <= f.year]


def test_headline_series_hand_values(con):
    s = headline.headline_series(con, Filters(year=Y))
    def value(mid, scope, year):
        return s.filter((pl.col("metric_id") == mid) & (pl.col("scope") == scope) & (pl.col("year") == year))["value"].item()
    assert value("community_schools_n", "community", P) == 1   # b's first grant year is Y
    assert value("community_schools_n", "community", Y) == 2
    assert value("ccspp_usd", "county", P) == 400_000
    assert value("ccspp_usd", "county", Y) == 600_000
    assert value("chronic_absenteeism_rate", "community", P) == pytest.approx(110 / 400)
    assert value("students_served_n", "community", P) == 400
    assert s.height == 2 * 7 and list(s.columns) == list(headline.COLUMNS)


def test_headline_series_empty_db():
    empty = headline.headline_series(mf.new_db())
    assert empty.height == 0 and list(empty.columns) == list(headline.COLUMNS)


@pytest.mark.parametrize("kw", [{}, {"spa": 4, "community": "community"}, {"school_type": "HS", "cohort": 2}])
def test_headline_series_equals_per_year_on_demo(demo_db, kw):
    from csi_metrics import db

    con = db.open_for_display(demo_db)
    try:
        latest = headline.series_years(con)[-1]
        f = Filters(year=latest, **kw)
        series = headline.headline_series(con, f)
        assert series.height == 7 * len(headline.series_years(con, latest)) > 7
        assert series.equals(per_year(con, f))
    finally:
        con.close()
