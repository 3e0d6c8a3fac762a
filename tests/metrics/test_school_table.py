"""School table and profile (csi_metrics/schools.py)."""

from __future__ import annotations

import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import schools
from csi_metrics.vocabulary.filters import Filters

SU, CA = "suspension", "chronic_absenteeism"


@pytest.fixture
def con():
    c = mf.new_db()
    a, b, t = mf.cds(1, 1), mf.cds(1, 2), mf.cds(1, 3)
    mf.add_school(c, a, spa=1, community=True, cohort=1, school_type="MS", first_grant_year="2022-23", name="Alder")
    mf.add_school(c, b, spa=1, school_type="HS", name="Birch")
    mf.add_school(c, t, spa=2, school_type="ES", name="Tiny")
    for y, (n1, d1), (n2, d2) in [("2022-23", (30, 300), (20, 400)), ("2023-24", (20, 300), (30, 400))]:
        mf.add_outcome(c, SU, y, a, n1, d1)
        mf.add_outcome(c, SU, y, b, n2, d2)
        mf.add_outcome(c, CA, y, a, n1 * 3, d1)
        mf.add_outcome(c, CA, y, a, n1 * 3, d1, group="GRTK8")
        mf.add_outcome(c, CA, y, b, n2 * 3, d2)
        mf.add_outcome(c, SU, y, t, None, None)  # CDE '*'
    yield c
    c.close()


def test_school_table_rates_changes_and_colours(con):
    df = schools.school_table(con, Filters(year="2023-24"))
    assert df["school_name"].to_list() == ["Alder", "Birch", "Tiny"]
    r = {row["school_name"]: row for row in df.iter_rows(named=True)}
    a = r["Alder"]
    assert a["suspension_rate"] == pytest.approx(20 / 300)
    assert a["suspension_change_pp"] == pytest.approx((20 / 300 - 30 / 300) * 100)
    # middle school set: 6.7% Medium; -3.3 pp Declined Significantly -> Green
    assert (a["suspension_status_level"], a["suspension_change_level"], a["suspension_color"]) == (
        "Medium", "Declined Significantly", "Green")
    # chronic from GRTK8: 20.0% High, -10 pp DS -> Yellow
    assert (a["chronic_absenteeism_status_level"], a["chronic_absenteeism_color"]) == ("High", "Yellow")
    b = r["Birch"]
    # high school set: 7.5% High; +2.5 Increased -> Orange. No GRTK8 rows: no chronic colour.
    assert (b["suspension_status_level"], b["suspension_change_level"], b["suspension_color"]) == (
        "High", "Increased", "Orange")
    assert b["chronic_absenteeism_rate"] == pytest.approx(0.225) and b["chronic_absenteeism_color"] is None
    t = r["Tiny"]
    assert t["suspension_suppressed"] is True and t["suspension_rate"] is None and t["suspension_color"] is None
    assert t["chronic_absenteeism_rate"] is None


def test_school_table_filters_and_default_year(con):
    df = schools.school_table(con, Filters(community="community"))
    assert df["cds_code"].to_list() == [mf.cds(1, 1)] and df["year"][0] == "2023-24"
    assert schools.school_table(con, Filters(spa=2)).height == 1


def test_school_profile(con):
    p = schools.school_profile(con, mf.cds(1, 1))
    assert p["school"]["school_name"][0] == "Alder"
    su = p[SU]
    assert su["year"].to_list() == ["2022-23", "2023-24"]
    assert su["color"].to_list() == [None, "Green"]
    assert su["level_note"].to_list()[0] == "no prior-year rate"
    assert p[CA]["status_level"].to_list() == ["Very High", "High"]
    groups = p["student_groups"]
    assert set(groups["student_group"]) == {"TA", "GRTK8"}
    with pytest.raises(ValueError, match="no school"):
        schools.school_profile(con, mf.cds(9, 9))
    with pytest.raises(ValueError, match="14-character"):
        schools.school_profile(con, 19000010000001)  # type: ignore[arg-type]


def test_a_hidden_school_has_no_rate_or_colour_and_hides_no_other(con):
    # A 9-student chronic absenteeism row at Tiny: the build hides it, so it shows no
    # rate, change or colour. It is in no total either, so Alder (the next smallest)
    # keeps its rate and colour: there is nothing to subtract it from.
    mf.add_outcome(con, CA, "2023-24", mf.cds(1, 3), 1, 9, suppressed=False)
    df = schools.school_table(con, Filters(year="2023-24"))
    t = df.filter(df["school_name"] == "Tiny").row(0, named=True)
    assert t["chronic_absenteeism_suppressed"] is True and t["chronic_absenteeism_rate"] is None
    assert t["chronic_absenteeism_color"] is None and t["chronic_absenteeism_status_level"] is None
    assert t["chronic_absenteeism_change_pp"] is None
    assert t["chronic_absenteeism_level_note"] == "suppressed"
    a = df.filter(df["school_name"] == "Alder").row(0, named=True)
    assert a["chronic_absenteeism_suppressed"] is False and a["chronic_absenteeism_rate"] == pytest.approx(60 / 300)
    assert a["chronic_absenteeism_color"] is not None
