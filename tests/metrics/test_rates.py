"""Pooled rates: hand-computed values, suppression, CDE aggregate rows."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metrics_fixtures as mf
from csi_metrics.metrics import rates
from csi_metrics.vocabulary.filters import Filters
import support

Y = "2023-24"
CA = "chronic_absenteeism"
SU = "suspension"


@pytest.fixture
def con():
    c = mf.new_db()
    # District 1: A (SPA 1, ES, community cohort 1), B (SPA 1, ES), C (SPA 2, MS, community cohort 2)
    a, b, c_ = mf.cds(10001, 1), mf.cds(10001, 2), mf.cds(10001, 3)
    mf.add_school(c, a, spa=1, school_type="ES", community=True, cohort=1, first_grant_year="2022-23")
    mf.add_school(c, b, spa=1, school_type="ES")
    mf.add_school(c, c_, spa=2, school_type="MS", community=True, cohort=2, first_grant_year="2023-24")
    # A school outside LA County: never in LA figures.
    mf.add_school(c, mf.cds(10001, 9, county="01"), spa=None)
    for code, num, den in [(a, 30, 120), (b, 10, 80), (c_, 50, 200)]:
        mf.add_outcome(c, CA, Y, code, num, den)
    mf.add_outcome(c, CA, Y, mf.cds(10001, 9, county="01"), 500, 1000)
    mf.add_outcome(c, SU, Y, a, 3, 130)
    mf.add_outcome(c, SU, Y, b, 2, 90)
    mf.add_outcome(c, SU, Y, c_, 9, 210)
    yield c
    c.close()


def test_pooled_is_sum_over_sum_not_mean_of_rates(con):
    df = rates.pooled_rates(con, CA, [], Filters(year=Y))
    row = df.row(0, named=True)
    assert (row["numerator_n"], row["denominator_n"], row["schools_n"]) == (90, 400, 3)
    assert row["rate"] == pytest.approx(90 / 400)
    # the mean of the three school rates would be (0.25 + 0.125 + 0.25) / 3 = 0.2083
    assert row["rate"] != pytest.approx((30 / 120 + 10 / 80 + 50 / 200) / 3)
    assert row["suppressed"] is False


def test_by_spa_and_columns(con):
    df = rates.pooled_rates(con, CA, ["spa"], Filters(year=Y))
    assert df.columns == ["spa", "numerator_n", "denominator_n", "rate", "schools_n", "suppressed_schools_n", "suppressed"]
    got = {r["spa"]: (r["numerator_n"], r["denominator_n"], r["schools_n"]) for r in df.iter_rows(named=True)}
    assert got == {1: (40, 200, 2), 2: (50, 200, 1)}


def test_filters_each_narrow(con):
    def total(f: Filters, metric: str = CA) -> tuple:
        r = rates.pooled_rates(con, metric, [], f).row(0, named=True)
        return r["numerator_n"], r["denominator_n"]

    assert total(Filters(year=Y, spa=2)) == (50, 200)
    assert total(Filters(year=Y, community="community")) == (80, 320)
    assert total(Filters(year=Y, community="comparison")) == (10, 80)
    assert total(Filters(year=Y, cohort=2)) == (50, 200)
    assert total(Filters(year=Y, school_type="ES")) == (40, 200)
    assert total(Filters(year=Y, school=mf.cds(10001, 2))) == (10, 80)
    assert total(Filters(year=Y, district=mf.district_code(10001))) == (90, 400)
    assert total(Filters(year=Y), SU) == (14, 430)


def test_county_scope_none_includes_every_county(con):
    r = rates.pooled_rates(con, CA, [], Filters(year=Y), county_code=None).row(0, named=True)
    assert (r["numerator_n"], r["denominator_n"]) == (590, 1400)


def test_by_community_school_type_cohort_labels(con):
    df = rates.pooled_rates(con, CA, ["community"], Filters(year=Y))
    assert dict(zip(df["community"], df["denominator_n"])) == {"community": 320, "comparison": 80}
    df = rates.pooled_rates(con, CA, ["school"], Filters(year=Y))
    assert df.columns[:3] == ["school", "school_name", "district_name"]
    assert df.height == 3
    df = rates.pooled_rates(con, CA, ["cohort"], Filters(year=Y))
    assert dict(zip(df["cohort"], df["denominator_n"])) == {None: 80, 1: 120, 2: 200}


def test_single_school(con):
    r = rates.pooled_rates(con, SU, [], Filters(year=Y, school=mf.cds(10001, 3))).row(0, named=True)
    assert (r["numerator_n"], r["denominator_n"], r["schools_n"]) == (9, 210, 1)
    assert r["rate"] == pytest.approx(9 / 210)


def test_no_matching_rows_is_a_suppressed_empty_total(con):
    r = rates.pooled_rates(con, CA, [], Filters(year="2010-11")).row(0, named=True)
    assert r["schools_n"] == 0 and r["suppressed"] is True and r["rate"] is None
    assert rates.pooled_rates(con, CA, ["spa"], Filters(year="2010-11")).height == 0


def test_zero_denominator_is_a_hidden_cell_and_gives_no_rate():
    c = mf.new_db()
    code = mf.cds(1, 1)
    mf.add_school(c, code)
    mf.add_outcome(c, CA, Y, code, 0, 0, suppressed=False)
    assert c.execute("SELECT visible, hidden_reason FROM outcomes").fetchall() == [(False, "fewer_than_11")]
    raw = rates.raw_pooled(c, CA, [], Filters(year=Y)).row(0, named=True)
    assert raw["denominator_n"] is None and raw["rate"] is None and raw["suppressed_schools_n"] == 1
    shown = rates.pooled_rates(c, CA, [], Filters(year=Y)).row(0, named=True)
    assert shown["suppressed"] is True and shown["denominator_n"] is None


def test_cde_suppressed_school_contributes_nothing(con):
    extra = mf.cds(10001, 4)
    mf.add_school(con, extra, spa=2, school_type="MS")
    mf.add_outcome(con, CA, Y, extra, None, None)  # CDE printed '*'
    r = rates.pooled_rates(con, CA, [], Filters(year=Y)).row(0, named=True)
    assert (r["numerator_n"], r["denominator_n"], r["schools_n"], r["suppressed_schools_n"]) == (90, 400, 3, 1)


def test_fully_suppressed_group():
    c = mf.new_db()
    for i in (1, 2):
        mf.add_school(c, mf.cds(1, i), spa=3)
        mf.add_outcome(c, CA, Y, mf.cds(1, i), None, None)
    r = rates.pooled_rates(c, CA, ["spa"], Filters(year=Y)).row(0, named=True)
    assert r["spa"] == 3 and r["suppressed"] is True
    assert r["numerator_n"] is None and r["denominator_n"] is None and r["rate"] is None
    assert r["schools_n"] == 0 and r["suppressed_schools_n"] == 2


def test_small_school_is_hidden_and_never_pooled_so_its_spa_needs_no_complement():
    c = mf.new_db()
    # SPA 1 has one school of 9 students (published here without CDE's '*', to test our
    # own threshold), SPA 2 has 50, SPA 3 has 300.
    mf.add_school(c, mf.cds(1, 1), spa=1)
    mf.add_outcome(c, CA, Y, mf.cds(1, 1), 2, 9, suppressed=False)
    mf.add_school(c, mf.cds(1, 2), spa=2)
    mf.add_outcome(c, CA, Y, mf.cds(1, 2), 10, 50)
    mf.add_school(c, mf.cds(1, 3), spa=3)
    mf.add_outcome(c, CA, Y, mf.cds(1, 3), 60, 300)
    df = rates.pooled_rates(c, CA, ["spa"], Filters(year=Y)).sort("spa")
    assert df["suppressed"].to_list() == [True, False, False]
    assert df["rate"].to_list()[0] is None and df["suppressed_schools_n"].to_list() == [1, 0, 0]
    assert df["denominator_n"].to_list() == [None, 50, 300]
    # The county total leaves the hidden school out too, so total minus the SPAs shown
    # is 0, not 9: SPA 2 can stay visible (before the build decided cells, it was hidden).
    total = rates.pooled_rates(c, CA, [], Filters(year=Y)).row(0, named=True)
    assert total["denominator_n"] - 50 - 300 == 0
    # year is not a partition: one small year does not hide another year
    mf.add_outcome(c, CA, "2022-23", mf.cds(1, 3), 61, 301)
    mf.add_outcome(c, CA, "2022-23", mf.cds(1, 1), 1, 8, suppressed=False)
    by_year = rates.pooled_rates(c, CA, ["year"], Filters(spa=3))
    assert by_year["suppressed"].to_list() == [False, False]


def test_student_group_breakdown_complementary():
    c = mf.new_db()
    code = mf.cds(1, 1)
    mf.add_school(c, code)
    mf.add_outcome(c, CA, Y, code, 30, 200, group="TA")
    mf.add_outcome(c, CA, Y, code, 20, 150, group="RH")
    mf.add_outcome(c, CA, Y, code, 7, 42, group="RB")
    mf.add_outcome(c, CA, Y, code, 3, 8, group="RW", suppressed=False)
    mf.add_outcome(c, CA, Y, code, 6, 30, group="SE")  # program group: not a partition
    df = rates.pooled_rates(c, CA, ["student_group"], Filters(year=Y))
    got = {r["student_group"]: r["suppressed"] for r in df.iter_rows(named=True)}
    # RW (8) is hidden, so the next-smallest race cell (RB, 42) is hidden too.
    assert got == {"TA": False, "RH": False, "RB": True, "RW": True, "SE": False}


def test_bad_arguments(con):
    with pytest.raises(ValueError, match="metric"):
        rates.pooled_rates(con, "graduation", [], Filters())
    with pytest.raises(ValueError, match="by must be drawn from"):
        rates.pooled_rates(con, CA, ["county; DROP TABLE schools"], Filters())
    with pytest.raises(ValueError, match="community"):
        rates.pooled_rates(con, CA, [], Filters(community="both"))


def test_county_rate_ignores_place_filters(con):
    df = rates.county_rate(con, CA, Filters(year=Y, spa=2, community="community"))
    r = df.row(0, named=True)
    assert (r["year"], r["numerator_n"], r["denominator_n"], r["schools_n"]) == (Y, 90, 400, 3)


# --- CDE aggregate rows ------------------------------------------------------


def test_pooled_school_rows_match_cde_district_and_county_rows(con):
    d = mf.district_code(10001) + "0000000"
    mf.add_outcome(con, CA, Y, d, 90, 400, level="D")
    mf.add_outcome(con, CA, Y, "19" + "0" * 12, 90, 400, level="C")
    pooled = rates.pooled_rates(con, CA, ["district"], Filters(year=Y)).row(0, named=True)
    for level in ("D", "C"):
        agg = support.aggregate_rows(con, CA, level, Y).row(0, named=True)
        assert (agg["numerator_n"], agg["denominator_n"]) == (pooled["numerator_n"], pooled["denominator_n"])
        assert agg["rate"] == pytest.approx(pooled["rate"])


school_rows = st.lists(
    st.tuples(st.integers(11, 3000), st.floats(0, 1)).map(lambda t: (int(t[0] * t[1]), t[0])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(rows=school_rows, seed=st.randoms(use_true_random=False))
def test_property_pooling_order_independent_and_equals_aggregate(rows, seed):
    """However the school rows are inserted, pooling gives the same figure, and
    it equals the district aggregate row CDE would publish (sum of counts)."""
    results = []
    for attempt in range(2):
        order = list(range(len(rows)))
        if attempt:
            seed.shuffle(order)
        c = mf.new_db()
        for i in order:
            num, den = rows[i]
            mf.add_school(c, mf.cds(20002, i + 1), spa=(i % 8) + 1)
            mf.add_outcome(c, SU, Y, mf.cds(20002, i + 1), num, den)
        mf.add_outcome(c, SU, Y, mf.district_code(20002) + "0000000",
                       sum(n for n, _ in rows), sum(d for _, d in rows), level="D")
        pooled = rates.pooled_rates(c, SU, ["district"], Filters(year=Y)).row(0, named=True)
        agg = support.aggregate_rows(c, SU, "D", Y).row(0, named=True)
        assert pooled["numerator_n"] == agg["numerator_n"]
        assert pooled["denominator_n"] == agg["denominator_n"]
        assert pooled["rate"] == pytest.approx(agg["rate"])
        results.append((pooled["numerator_n"], pooled["denominator_n"], pooled["rate"]))
        by_spa = rates.raw_pooled(c, SU, ["spa"], Filters(year=Y))
        assert by_spa["numerator_n"].sum() == agg["numerator_n"]
        c.close()
    assert results[0] == results[1]


def test_raw_pooled_types(con):
    df = rates.raw_pooled(con, CA, ["year", "spa"], Filters())
    assert df.schema["numerator_n"] == pl.Int64 and df.schema["rate"] == pl.Float64


# --- the demo database, built through the real readers ------------------------


def check_demo_pooling(path) -> None:
    """Every year and metric: LA County's pooled school rows equal CDE's county
    (C) row where no school row is suppressed, and never exceed it otherwise;
    the county rates are in the range the demo is calibrated to."""
    from csi_metrics.storage import db as dbm

    con = dbm.open_for_display(path)
    try:
        for metric in ("chronic_absenteeism", "suspension"):
            county = support.aggregate_rows(con, metric, "C")
            pooled = rates.pooled_rates(con, metric, ["year"], Filters())
            assert county.height == pooled.height > 0
            both = pooled.join(county, on="year", suffix="_cde")
            for r in both.iter_rows(named=True):
                if r["suppressed_schools_n"] == 0:
                    assert (r["numerator_n"], r["denominator_n"]) == (r["numerator_n_cde"], r["denominator_n_cde"])
                else:
                    assert r["denominator_n"] <= r["denominator_n_cde"]
            latest = pooled.sort("year").row(-1, named=True)
            low, high = (0.15, 0.32) if metric == "chronic_absenteeism" else (0.015, 0.035)
            assert low <= latest["rate"] <= high, (metric, latest["rate"])
    finally:
        con.close()


def test_demo_pooled_school_rows_match_cde_county_rows(demo_db):
    check_demo_pooling(demo_db)


def test_suppressed_schools_counted_once_across_years():
    c = mf.new_db()
    mf.add_school(c, mf.cds(1, 1))
    mf.add_school(c, mf.cds(1, 2))
    for y in ("2022-23", "2023-24"):
        mf.add_outcome(c, CA, y, mf.cds(1, 1), None, None)
        mf.add_outcome(c, CA, y, mf.cds(1, 2), 5, 50)
    r = rates.pooled_rates(c, CA, [], Filters()).row(0, named=True)
    assert (r["schools_n"], r["suppressed_schools_n"], r["denominator_n"]) == (1, 1, 100)
