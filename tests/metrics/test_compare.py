"""Community vs comparison schools: matched strata, gap, difference-in-differences."""

from __future__ import annotations

import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import compare
from csi_metrics.vocabulary.filters import Filters

SU = "suspension"


@pytest.fixture
def con():
    c = mf.new_db()
    # Stratum (SPA 1, ES): community a (first grant 2022-23), comparison p, q.
    # Stratum (SPA 2, HS): community b (first grant 2023-24), comparison r.
    # Stratum (SPA 3, ES): comparison only (z): never a comparison school.
    a, b = mf.cds(1, 1), mf.cds(1, 2)
    p, q, r, z = mf.cds(1, 3), mf.cds(1, 4), mf.cds(1, 5), mf.cds(1, 6)
    mf.add_school(c, a, spa=1, school_type="ES", community=True, cohort=1, first_grant_year="2022-23")
    mf.add_school(c, b, spa=2, school_type="HS", community=True, cohort=2, first_grant_year="2023-24")
    mf.add_school(c, p, spa=1, school_type="ES")
    mf.add_school(c, q, spa=1, school_type="ES")
    mf.add_school(c, r, spa=2, school_type="HS")
    mf.add_school(c, z, spa=3, school_type="ES")
    data = {
        #        2021-22     2022-23     2023-24
        a: [(10, 200), (8, 200), (4, 200)],
        b: [(30, 300), (30, 300), (15, 300)],
        p: [(5, 100), (5, 100), (5, 100)],
        q: [(10, 100), (9, 100), (None, None)],   # q CDE-suppressed in 2023-24
        r: [(12, 400), (12, 400), (16, 400)],
        z: [(50, 100), (50, 100), (50, 100)],
    }
    for code, vals in data.items():
        for year, (n, d) in zip(["2021-22", "2022-23", "2023-24"], vals):
            mf.add_outcome(c, SU, year, code, n, d)
    yield c
    c.close()


def test_gap_each_year(con):
    df = compare.community_vs_comparison(con, SU)
    assert df.columns == ["year", "side", "rate", "numerator_n", "denominator_n", "schools_n", "suppressed", "gap_pp"]
    r = {(row["year"], row["side"]): row for row in df.iter_rows(named=True)}
    # 2021-22: community a+b = 40/500; comparison p+q+r = 27/600 (z's stratum has no community school)
    assert r[("2021-22", "community")]["rate"] == pytest.approx(40 / 500)
    assert r[("2021-22", "comparison")]["rate"] == pytest.approx(27 / 600)
    assert r[("2021-22", "comparison")]["schools_n"] == 3
    assert r[("2021-22", "community")]["gap_pp"] == pytest.approx((40 / 500 - 27 / 600) * 100)
    assert r[("2023-24", "comparison")]["schools_n"] == 2   # q suppressed that year
    assert r[("2023-24", "comparison")]["denominator_n"] == 500


def test_filters_restrict_strata(con):
    df = compare.community_vs_comparison(con, SU, Filters(spa=2))
    row = df.filter((df["year"] == "2021-22") & (df["side"] == "comparison")).row(0, named=True)
    assert (row["numerator_n"], row["denominator_n"], row["schools_n"]) == (12, 400, 1)
    df = compare.community_vs_comparison(con, SU, Filters(cohort=1))
    row = df.filter((df["year"] == "2021-22") & (df["side"] == "comparison")).row(0, named=True)
    assert row["denominator_n"] == 200  # only the SPA 1 ES stratum of cohort 1


def test_side_made_only_of_a_hidden_school_is_suppressed_and_the_gap_null():
    c = mf.new_db()
    mf.add_school(c, mf.cds(1, 1), spa=1, community=True, first_grant_year="2023-24")
    mf.add_school(c, mf.cds(1, 2), spa=1)
    mf.add_outcome(c, SU, "2023-24", mf.cds(1, 1), 1, 200)
    # 9 students, published without a '*': the build hides it, so no figure ever adds it in.
    mf.add_outcome(c, SU, "2023-24", mf.cds(1, 2), 0, 9, suppressed=False)
    df = compare.community_vs_comparison(c, SU)
    assert df["side"].to_list() == ["community", "comparison"]
    assert df["suppressed"].to_list() == [False, True]
    assert df["denominator_n"].to_list() == [200, None] and df["schools_n"].to_list() == [1, 0]
    assert df["gap_pp"].to_list() == [None, None]


def test_diff_in_diff_by_group_and_all(con):
    df = compare.diff_in_diff(con, SU)
    rows = {r["group"]: r for r in df.iter_rows(named=True)}
    assert df["group"].to_list() == ["all", "2022-23", "2023-24"]
    g1 = rows["2022-23"]
    # baseline 2021-22, end 2023-24. Community a: 10/200 -> 4/200 = -3.0 pp.
    # Comparison in (SPA 1, ES): p known both years, q not in 2023-24 -> balanced panel is p only: 0.0 pp.
    assert (g1["baseline_year"], g1["end_year"]) == ("2021-22", "2023-24")
    assert g1["community_change_pp"] == pytest.approx(-3.0)
    assert g1["comparison_change_pp"] == pytest.approx(0.0)
    assert g1["did_pp"] == pytest.approx(-3.0)
    assert (g1["community_schools_n"], g1["comparison_schools_n"]) == (1, 1)
    g2 = rows["2023-24"]
    # baseline 2022-23: b 30/300 -> 15/300 = -5.0; r 12/400 -> 16/400 = +1.0; did -6.0
    assert g2["did_pp"] == pytest.approx(-6.0)
    allr = rows["all"]
    # weights = community baseline enrolment: 200 and 300
    assert allr["did_pp"] == pytest.approx((200 * -3.0 + 300 * -6.0) / 500)
    # balanced panels: p (q lacks 2023-24) and r
    assert allr["community_schools_n"] == 2 and allr["comparison_schools_n"] == 2


def test_baseline_falls_back_over_missing_year():
    c = mf.new_db()
    a, p = mf.cds(1, 1), mf.cds(1, 2)
    mf.add_school(c, a, spa=1, community=True, first_grant_year="2020-21")
    mf.add_school(c, p, spa=1)
    for code, vals in {a: [(20, 100), (10, 100)], p: [(20, 100), (20, 100)]}.items():
        mf.add_outcome(c, "chronic_absenteeism", "2018-19", code, *vals[0])
        mf.add_outcome(c, "chronic_absenteeism", "2021-22", code, *vals[1])
    row = compare.diff_in_diff(c, "chronic_absenteeism").row(1, named=True)
    assert row["baseline_year"] == "2018-19"  # 2019-20 has no chronic absenteeism data
    assert row["did_pp"] == pytest.approx(-10.0)


def test_diff_in_diff_small_and_empty():
    c = mf.new_db()
    assert compare.diff_in_diff(c, SU).height == 0
    mf.add_school(c, mf.cds(1, 1), spa=1, community=True, first_grant_year="2023-24")
    mf.add_school(c, mf.cds(1, 2), spa=1)
    for y in ("2022-23", "2023-24"):
        mf.add_outcome(c, SU, y, mf.cds(1, 1), 1, 300)
        mf.add_outcome(c, SU, y, mf.cds(1, 2), 0, 9, suppressed=False)
    df = compare.diff_in_diff(c, SU)
    assert df["suppressed"].to_list() == [True, True]
    assert df["did_pp"].to_list() == [None, None]
