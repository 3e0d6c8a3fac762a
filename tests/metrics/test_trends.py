"""Trends: every year present, gaps stay null, changes in pp from unrounded rates."""

from __future__ import annotations

import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import trends
from csi_metrics.vocabulary.filters import Filters

CA = "chronic_absenteeism"


@pytest.fixture
def con():
    c = mf.new_db()
    a, b = mf.cds(1, 1), mf.cds(1, 2)
    mf.add_school(c, a, spa=1)
    mf.add_school(c, b, spa=2)
    # 2019-20 was never collected (COVID): no rows at all.
    for year, (na, da), (nb, db) in [
        ("2018-19", (20, 200), (30, 100)),
        ("2020-21", (25, 200), (33, 110)),
        ("2021-22", (40, 200), (5, 9)),    # school b too small in 2021-22
        ("2022-23", (30, 150), (28, 100)),
    ]:
        mf.add_outcome(c, CA, year, a, na, da)
        mf.add_outcome(c, CA, year, b, nb, db, suppressed=False)
    yield c
    c.close()


def test_every_year_present_missing_year_null(con):
    df = trends.trend(con, CA)
    assert df["year"].to_list() == ["2018-19", "2019-20", "2020-21", "2021-22", "2022-23"]
    gap = df.row(1, named=True)
    assert gap["rate"] is None and gap["numerator_n"] is None and gap["schools_n"] == 0
    assert gap["suppressed"] is False  # missing, not hidden
    assert gap["not_published"] is (CA == "chronic_absenteeism")  # CDE published no 2019-20 file
    assert df.columns == ["year", "rate", "numerator_n", "denominator_n", "schools_n", "suppressed",
                          "not_published", "yoy_change_pp", "since_baseline_pp"]


def test_changes_in_pp_from_unrounded(con):
    df = trends.trend(con, CA)
    r = {row["year"]: row for row in df.iter_rows(named=True)}
    assert r["2018-19"]["rate"] == pytest.approx(50 / 300)
    assert r["2020-21"]["rate"] == pytest.approx(58 / 310)
    # 2020-21's prior year is 2019-20, which is missing: no yoy change
    assert r["2020-21"]["yoy_change_pp"] is None
    assert r["2018-19"]["yoy_change_pp"] is None
    # 2021-22: school b's 9 students are a hidden cell, never pooled, so the county is a alone.
    assert r["2021-22"]["rate"] == pytest.approx(40 / 200)
    assert r["2022-23"]["yoy_change_pp"] == pytest.approx((58 / 250 - 40 / 200) * 100)
    assert r["2020-21"]["since_baseline_pp"] == pytest.approx((58 / 310 - 50 / 300) * 100)
    assert r["2018-19"]["since_baseline_pp"] == pytest.approx(0.0)


def test_baseline_year_and_by_group(con):
    df = trends.trend(con, CA, ["spa"], baseline_year="2020-21")
    assert df.height == 10
    spa2 = {row["year"]: row for row in df.filter(df["spa"] == 2).iter_rows(named=True)}
    # 2021-22 SPA 2 has only a hidden 9-student cell: suppressed. It is in no other figure
    # either (not the county's), so SPA 1 needs no complementary hiding that year.
    assert spa2["2021-22"]["suppressed"] is True and spa2["2021-22"]["rate"] is None
    spa1 = {row["year"]: row for row in df.filter(df["spa"] == 1).iter_rows(named=True)}
    assert spa1["2021-22"]["suppressed"] is False and spa1["2021-22"]["rate"] == pytest.approx(40 / 200)
    # changes touching a suppressed year are null
    assert spa2["2022-23"]["yoy_change_pp"] is None
    assert spa2["2022-23"]["since_baseline_pp"] == pytest.approx((28 / 100 - 33 / 110) * 100)
    assert spa1["2018-19"]["since_baseline_pp"] == pytest.approx((20 / 200 - 25 / 200) * 100)


def test_filter_year_is_ignored_and_filters_apply(con):
    df = trends.trend(con, CA, [], Filters(year="2018-19", spa=1))
    assert df.height == 5
    assert df.filter(df["year"] == "2022-23")["rate"][0] == pytest.approx(30 / 150)


def test_empty_database():
    c = mf.new_db()
    assert trends.trend(c, CA).height == 0
    assert trends.year_span(c, CA) == []


def test_bad_baseline(con):
    with pytest.raises(ValueError, match="baseline_year"):
        trends.trend(con, CA, baseline_year="2020")
