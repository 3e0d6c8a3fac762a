"""Activity counts, unique individuals (with suppression) and year over year."""

from __future__ import annotations

import pytest

import metrics_fixtures as mf
from csi_metrics.metrics import activities
from csi_metrics.vocabulary.filters import Filters


@pytest.fixture
def con():
    c = mf.new_db()
    a = mf.cds(1, 1)
    mf.add_school(c, a, spa=4, community=True, school_type="MS")
    people = [f"p{i:03d}" for i in range(30)]
    mf.add_activity(c, "A1", "2023-09-12", "2023-24", "learning_opportunity", spa=4, school=a, attendees=25,
                    people=people[:20])
    mf.add_activity(c, "A2", "2023-10-03", "2023-24", "support_session", spa=4, school=a, attendees=3,
                    people=people[:3])
    mf.add_activity(c, "A3", "2024-01-15", "2023-24", "items_distributed", spa=8, items=350, attendees=None)
    mf.add_activity(c, "A4", "2024-09-20", "2024-25", "learning_opportunity", spa=4, school=a, attendees=40,
                    people=people[5:30])
    mf.add_activity(c, "A5", "2024-10-02", "2024-25", "referral", spa=8, attendees=1, people=["p900"])
    mf.add_activity(c, "A6", "2024-10-09", "2024-25", "engagement_event", spa=4, attendees=60)
    yield c
    c.close()


def test_totals(con):
    r = activities.activity_counts(con, []).row(0, named=True)
    assert r["activities_n"] == 6
    assert (r["learning_opportunities_n"], r["support_sessions_n"], r["referrals_n"],
            r["engagement_events_n"], r["distributions_n"]) == (2, 1, 1, 1, 1)
    assert r["attendees_n"] == 25 + 3 + 40 + 1 + 60
    assert r["items_n"] == 350
    assert r["unique_individuals_n"] == 31  # p000..p029 and p900
    assert r["unique_suppressed"] is False


def test_by_year_and_spa(con):
    df = activities.activity_counts(con, ["year", "spa"])
    r = {(row["year"], row["spa"]): row for row in df.iter_rows(named=True)}
    assert r[("2023-24", 4)]["activities_n"] == 2
    assert r[("2023-24", 4)]["unique_individuals_n"] == 20   # p000..p019 (A2's people are among them)
    assert r[("2023-24", 8)]["unique_individuals_n"] == 0 and r[("2023-24", 8)]["unique_suppressed"] is False
    assert r[("2024-25", 8)]["unique_individuals_n"] is None  # one person: suppressed
    assert r[("2024-25", 8)]["unique_suppressed"] is True
    assert r[("2024-25", 4)]["attendees_n"] == 100


def test_by_month_and_type(con):
    df = activities.activity_counts(con, ["month"])
    assert df["month"].to_list() == ["2023-09", "2023-10", "2024-01", "2024-09", "2024-10"]
    assert df["activities_n"].to_list() == [1, 1, 1, 1, 2]
    df = activities.activity_counts(con, ["activity_type"])
    assert dict(zip(df["activity_type"], df["activities_n"])) == {
        "engagement_event": 1, "items_distributed": 1, "learning_opportunity": 2, "referral": 1, "support_session": 1,
    }


def test_filters(con):
    assert activities.activity_counts(con, [], Filters(year="2024-25"))["activities_n"][0] == 3
    assert activities.activity_counts(con, [], Filters(spa=8))["items_n"][0] == 350
    assert activities.activity_counts(con, [], Filters(school_type="MS"))["activities_n"][0] == 3
    assert activities.activity_counts(con, [], Filters(district=mf.district_code(1)))["activities_n"][0] == 3
    empty = activities.activity_counts(con, [], Filters(year="2030-31")).row(0, named=True)
    assert empty["activities_n"] == 0 and empty["unique_individuals_n"] == 0
    with pytest.raises(ValueError, match="by must be drawn from"):
        activities.activity_counts(con, ["school"])


def test_year_over_year(con):
    df = activities.year_over_year(con, ["year", "spa"])
    r = {(row["year"], row["spa"]): row for row in df.iter_rows(named=True)}
    cur = r[("2024-25", 4)]
    assert (cur["activities_n"], cur["prior_activities_n"], cur["activities_n_change"]) == (2, 2, 0)
    assert cur["attendees_n_change"] == 100 - 28
    assert cur["unique_individuals_n_change"] == 25 - 20
    # SPA 8: suppressed this year -> change null
    assert r[("2024-25", 8)]["unique_individuals_n_change"] is None
    first = r[("2023-24", 4)]
    assert first["prior_activities_n"] == 0 and first["prior_unique_individuals_n"] is None
    only = activities.year_over_year(con, ["year"], Filters(year="2024-25"))
    assert only["year"].to_list() == ["2024-25"] and only["activities_n_change"][0] == 0


def test_year_over_year_by_month(con):
    df = activities.year_over_year(con, ["month"])
    r = {row["month"]: row for row in df.iter_rows(named=True)}
    assert r["2024-09"]["prior_activities_n"] == 1 and r["2024-10"]["activities_n_change"] == 1
    sel = activities.year_over_year(con, ["month"], Filters(year="2023-24"))
    assert sel["month"].to_list() == ["2023-09", "2023-10", "2024-01"]
    with pytest.raises(ValueError, match="year"):
        activities.year_over_year(con, ["spa"])
