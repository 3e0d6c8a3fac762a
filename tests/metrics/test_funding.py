"""Funding: awards by dimension, SPA attribution, dollars per student, LA share."""

from __future__ import annotations

import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import funding
from csi_metrics.vocabulary.filters import Filters

SU, CA = "suspension", "chronic_absenteeism"


@pytest.fixture
def con():
    c = mf.new_db()
    a, b = mf.cds(10001, 1), mf.cds(10001, 2)          # district 10001, both SPA 1, community
    s3 = mf.cds(20002, 1)                               # district 20002, SPA 4, community
    s4, s5 = mf.cds(30003, 1), mf.cds(30003, 2)         # district 30003, SPAs 2 and 3, community
    mf.add_school(c, a, spa=1, community=True, cohort=1)
    mf.add_school(c, b, spa=1, community=True, cohort=1)
    mf.add_school(c, s3, spa=4, community=True, cohort=2, school_type="HS")
    mf.add_school(c, s4, spa=2, community=True, cohort=1)
    mf.add_school(c, s5, spa=3, community=True, cohort=1)
    mf.add_outcome(c, SU, "2022-23", a, 3, 300)
    mf.add_outcome(c, SU, "2022-23", b, 3, 200)
    mf.add_outcome(c, CA, "2023-24", s3, 3, 100)        # no suspension row: chronic eligible used
    mf.add_outcome(c, SU, "2022-23", s4, 1, 50)
    mf.add_outcome(c, SU, "2022-23", s5, 1, 8)          # CDE-suppressed: enrolment unknown
    mf.add_grant(c, "G1", mf.district_code(10001) + "0000000", 1_000_000, level="LEA")
    mf.add_grant(c, "G2", a, 200_000, grant_type="planning")
    mf.add_grant(c, "G3", s3, 500_000, cohort=2, year="2023-24")
    mf.add_grant(c, "G4", mf.district_code(30003) + "0000000", 300_000, level="LEA", grant_type="coordination")
    mf.add_grant(c, "G5", "01000010000000", 2_000_000, level="LEA", county="01")
    yield c
    c.close()


def test_awards_total_and_la_only(con):
    r = funding.awards(con, []).row(0, named=True)
    assert (r["amount_usd"], r["grants_n"]) == (2_000_000, 4)
    r = funding.awards(con, [], county_code=None).row(0, named=True)
    assert r["amount_usd"] == 4_000_000


def test_awards_by_spa_with_lea_wide_bucket(con):
    df = funding.awards(con, ["spa"])
    got = {r["spa_label"]: (r["spa"], r["amount_usd"], r["grants_n"]) for r in df.iter_rows(named=True)}
    # G1's community schools are all in SPA 1; G4's span SPAs 2 and 3 -> LEA-wide.
    assert got == {
        "SPA 1 Antelope Valley": (1, 1_200_000, 2),
        "SPA 4 Metro": (4, 500_000, 1),
        "LEA-wide": (None, 300_000, 1),
    }


def test_awards_by_other_dimensions(con):
    df = funding.awards(con, ["cohort", "grant_type"])
    assert {(r["cohort"], r["grant_type"]): r["amount_usd"] for r in df.iter_rows(named=True)} == {
        (1, "coordination"): 300_000, (1, "implementation"): 1_000_000,
        (1, "planning"): 200_000, (2, "implementation"): 500_000,
    }
    df = funding.awards(con, ["award_year"])
    assert dict(zip(df["award_year"], df["amount_usd"])) == {"2022-23": 1_500_000, "2023-24": 500_000}
    df = funding.awards(con, ["district"])
    assert dict(zip(df["district"], df["amount_usd"])) == {"1910001": 1_200_000, "1920002": 500_000, "1930003": 300_000}
    assert df["district_name"].to_list() == ["Example Unified"] * 3
    # a district with neither a directory row nor schools: its LEA grantee's name stands in
    state = funding.awards(con, ["district"], county_code=None)
    assert state.filter(state["district"] == "0100001")["district_name"][0] == "Grantee G5"
    per = funding.dollars_per_student(con, ["district"])
    assert per.columns[:2] == ["district", "district_name"] and per["district_name"][0] == "Example Unified"


def test_awards_filters(con):
    assert funding.awards(con, [], Filters(year="2023-24"))["amount_usd"][0] == 500_000
    assert funding.awards(con, [], Filters(spa=1))["amount_usd"][0] == 1_200_000
    assert funding.awards(con, [], Filters(school_type="HS"))["amount_usd"][0] == 500_000
    assert funding.awards(con, [], Filters(cohort=2))["grants_n"][0] == 1
    empty = funding.awards(con, [], Filters(year="2030-31")).row(0, named=True)
    assert (empty["amount_usd"], empty["grants_n"]) == (0, 0)
    with pytest.raises(ValueError, match="by must be drawn from"):
        funding.awards(con, ["school"])


def test_awards_to_date(con):
    def total(year):
        r = funding.awards_to_date(con, [], Filters(year=year)).row(0, named=True)
        return r["amount_usd"], r["grants_n"]

    # G1 1,000,000 + G2 200,000 + G4 300,000 in 2022-23; G3 500,000 in 2023-24; G5 is outside LA
    assert total("2021-22") == (0, 0)
    assert total("2022-23") == (1_500_000, 3)
    assert total("2023-24") == (2_000_000, 4)
    assert total(None) == (2_000_000, 4)
    assert funding.awards_to_date(con, [], Filters(year="2023-24", spa=4))["amount_usd"][0] == 500_000
    by_type = funding.awards_to_date(con, ["grant_type"], Filters(year="2022-23"))
    assert dict(zip(by_type["grant_type"], by_type["amount_usd"])) == {
        "coordination": 300_000, "implementation": 1_000_000, "planning": 200_000}


def test_awards_to_date_keeps_lea_wide_and_unassigned_apart(con):
    # a school grant to a school with no SPA is 'Unassigned'; G4 is 'LEA-wide': both have spa null
    lost = mf.cds(40004, 1)
    mf.add_school(con, lost, spa=None, community=True, cohort=1)
    mf.add_grant(con, "G6", lost, 70_000, year="2023-24")
    df = funding.awards_to_date(con, ["spa"], Filters(year="2023-24"))
    got = {r["spa_label"]: (r["spa"], r["amount_usd"], r["grants_n"]) for r in df.iter_rows(named=True)}
    assert got == {
        "SPA 1 Antelope Valley": (1, 1_200_000, 2),
        "SPA 4 Metro": (4, 500_000, 1),
        "LEA-wide": (None, 300_000, 1),
        "Unassigned": (None, 70_000, 1),
    }
    earlier = funding.awards_to_date(con, ["spa"], Filters(year="2022-23"))
    assert dict(zip(earlier["spa_label"], earlier["amount_usd"])) == {
        "SPA 1 Antelope Valley": 1_200_000, "LEA-wide": 300_000}


def test_dollars_per_student(con):
    df = funding.dollars_per_student(con, ["award_year"])
    r = {row["award_year"]: row for row in df.iter_rows(named=True)}
    # 2022-23: G1 funds a (300) + b (200); G2 funds a again: counted once -> 500 students.
    # G4 funds s4 (50) and s5 (unknown): matched, 50 more students -> 550 students, $1.5M.
    assert r["2022-23"]["enrolled_n"] == 550
    assert r["2022-23"]["usd_per_student"] == pytest.approx(1_500_000 / 550)
    assert r["2022-23"]["schools_n"] == 3
    # 2023-24: s3 has only a chronic absenteeism row: 100 eligible students.
    assert r["2023-24"]["enrolled_n"] == 100 and r["2023-24"]["usd_per_student"] == pytest.approx(5000)


def test_dollars_unmatched_and_small(con):
    s6 = mf.cds(40004, 1)
    mf.add_school(con, s6, spa=5, community=True)
    mf.add_outcome(con, SU, "2022-23", s6, 0, 10, suppressed=False)   # 10 students: too few to show
    mf.add_grant(con, "G6", s6, 150_000, year="2022-23")
    s7 = mf.cds(50005, 1)
    mf.add_school(con, s7, spa=6, community=True)                      # no outcome rows at all
    mf.add_grant(con, "G7", s7, 90_000, year="2022-23")
    df = funding.dollars_per_student(con, ["spa"])
    r = {row["spa"]: row for row in df.iter_rows(named=True)}
    assert r[5]["suppressed"] is True and r[5]["usd_per_student"] is None and r[5]["enrolled_n"] is None
    assert r[5]["amount_usd"] == 150_000
    assert r[6]["unmatched_usd"] == 90_000 and r[6]["enrolled_n"] is None


def test_enrolment_uses_latest_earlier_year(con):
    mf.add_grant(con, "G8", mf.cds(10001, 2), 100_000, year="2024-25")
    df = funding.dollars_per_student(con, [], Filters(year="2024-25"))
    assert df["enrolled_n"][0] == 200  # b's 2022-23 enrolment, the latest before 2024-25


def test_la_share_of_state(con):
    r = funding.la_share_of_state(con).row(0, named=True)
    assert (r["la_usd"], r["state_usd"]) == (2_000_000, 4_000_000)
    assert r["la_share_rate"] == pytest.approx(0.5)
    assert funding.la_share_of_state(con, "2023-24")["la_share_rate"][0] == pytest.approx(1.0)
    empty = funding.la_share_of_state(mf.new_db()).row(0, named=True)
    assert empty["la_share_rate"] is None and empty["state_usd"] == 0


def test_enrolled_students(con):
    df = funding.enrolled_students(con, Filters(year="2022-23"))
    assert (df["enrolled_n"][0], df["schools_n"][0]) == (550, 3)
    df = funding.enrolled_students(con, Filters(year="2023-24", school=mf.cds(20002, 1)))
    assert df["enrolled_n"][0] == 100
