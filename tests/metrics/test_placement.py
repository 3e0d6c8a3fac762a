"""One placement rule for every view (csi_metrics.metrics.placement), tested on
hand-built files in CDE's real layouts, built through the readers:
- chronic absenteeism is placed on TK-8 (GRTK8) rows, wherever it appears;
- the rate beside a level is the rate it was placed on;
- a school with no TK-8 students is "not applicable", not "suppressed";
- no colour for data years CDE did not colour (2019-20, 2020-21; 2021-22 status only);
- labels say computed (or official where CDE's own file gives it);
and on the demo: every SPA, school and group has the same colour in every view."""

from __future__ import annotations

import argparse
import io
import json

import polars as pl
import pytest

import cde_files as cf
from csi_metrics.storage import db
from csi_metrics.metrics import headline, placement, schools
from csi_metrics import report
from csi_metrics.metrics.breakdown import breakdown
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import geo

CA, SU = "chronic_absenteeism", "suspension"
Y, P = "2023-24", "2022-23"


def _report(db_path, metric: str, by: str, year: str, **kw) -> dict:
    p = argparse.ArgumentParser()
    report.add_arguments(p)
    argv = ["--db", str(db_path), "--metric", metric, "--by", by, "--year", year, "--format", "json"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    buf = io.StringIO()
    assert report.run(p.parse_args(argv), out=buf) == 0
    return {str(r[by]): r for r in json.loads(buf.getvalue())}


@pytest.fixture(scope="module")
def files_db(tmp_path_factory):
    """An elementary school whose all-grades rate (17.9%) and TK-8 rate (21.0%) sit on either
    side of the High/Very High cut, a high school with no TK-8 rows, both years; and older
    years for the year rules."""
    tmp = tmp_path_factory.mktemp("placement")
    chronic = {
        P: [(cf.ES, "TA", 150, 800), (cf.ES, "GRTK8", 140, 600), (cf.HS, "TA", 120, 600),
            (cf.ES, "RH", 100, 500), (cf.ES, "SE", 60, 300)],
        Y: [(cf.ES, "TA", 143, 800), (cf.ES, "GRTK8", 126, 600), (cf.HS, "TA", 90, 600),
            (cf.ES, "RH", 95, 500), (cf.ES, "SE", 50, 300)],
        "2020-21": [(cf.ES, "TA", 100, 800), (cf.ES, "GRTK8", 90, 600)],
        "2021-22": [(cf.ES, "TA", 240, 800), (cf.ES, "GRTK8", 200, 600)],
    }
    suspension = {P: [(cf.ES, "TA", 8, 800), (cf.HS, "TA", 30, 600)],
                  Y: [(cf.ES, "TA", 4, 800), (cf.HS, "TA", 36, 600)]}
    return cf.build(tmp, chronic=chronic, suspension=suspension)


@pytest.fixture
def con(files_db):
    c = db.open_for_display(files_db)
    yield c
    c.close()


def test_chronic_absenteeism_is_placed_on_tk8_rows_in_every_view(con, files_db):
    f = Filters(year=Y)
    # TK-8: 126/600 = 21.0% Very High (all grades 143/800 = 17.9% would be High); prior 140/600 = 23.3%:
    # -2.3 Declined -> Orange.
    want = ("Very High", "Declined", "Orange")
    by_school = placement.place(con, CA, ["school"], f).filter(pl.col("school") == cf.ES).row(0, named=True)
    table = schools.school_table(con, f).filter(pl.col("cds_code") == cf.ES).row(0, named=True)
    points = geo.school_points_frame(con, CA, f.with_(community="all")).filter(pl.col("cds_code") == cf.ES)
    rep = _report(files_db, CA, "school", Y)[cf.ES]
    assert (by_school["status_level"], by_school["change_level"], by_school["color"]) == want
    assert (table["chronic_absenteeism_status_level"], table["chronic_absenteeism_color"]) == (want[0], want[2])
    assert points["dashboard_color"].to_list() == [want[2]]
    assert (rep["status_level"], rep["change_level"], rep["color"]) == want
    # the rate beside the level is the one it was placed on, labelled; the all-grades rate stays too
    assert rep["placed_group"] == "GRTK8" and rep["placed_rate_pct"] == 21.0 and rep["rate_pct"] == 17.9
    assert table["chronic_absenteeism_placed_rate"] == pytest.approx(126 / 600)
    assert rep["level_source"] == "computed"


def test_a_school_with_no_tk8_students_is_not_applicable_not_suppressed(con, files_db):
    f = Filters(year=Y)
    hs = placement.place(con, CA, ["school"], f).filter(pl.col("school") == cf.HS).row(0, named=True)
    assert hs["color"] is None and hs["level_note"] == placement.NOTE_NOT_APPLICABLE
    rep = _report(files_db, CA, "school", Y)[cf.HS]
    assert rep["color"] is None and rep["level_note"] == placement.NOTE_NOT_APPLICABLE and rep["rate_pct"] == 15.0
    # suspension has no grade rule: the high school is placed (high school set)
    su = placement.place(con, SU, ["school"], f).filter(pl.col("school") == cf.HS).row(0, named=True)
    assert su["color"] is not None and su["cut_set"] == "suspension_hs"


def test_student_groups_get_no_computed_chronic_colour_but_suspension_groups_do(con):
    groups = placement.place(con, CA, ["student_group"], Filters(year=Y, school=cf.ES))
    g = {r["student_group"]: r for r in groups.iter_rows(named=True)}
    assert g["TA"]["color"] == "Orange" and g["TA"]["placed_group"] == "GRTK8"
    assert g["RH"]["color"] is None and g["RH"]["level_note"] == placement.NOTE_NO_TK8_GROUP
    assert g["SE"]["color"] is None


@pytest.mark.parametrize("year,note,has_status", [
    ("2020-21", placement.NOTE_NO_DASHBOARD, False),
    ("2021-22", placement.NOTE_STATUS_ONLY, True),
])
def test_no_colour_for_years_cde_never_coloured(con, year, note, has_status):
    r = placement.place(con, CA, ["school"], Filters(year=year)).filter(pl.col("school") == cf.ES).row(0, named=True)
    assert r["color"] is None and r["change_level"] is None and r["level_note"] == note
    assert (r["status_level"] is not None) == has_status
    by_year = {x["year"]: x for x in placement.place(con, CA, ["year"], Filters(school=cf.ES)).iter_rows(named=True)}
    assert by_year[year]["color"] is None and by_year[year]["level_note"] == note
    assert by_year[Y]["color"] == "Orange"


def test_suspension_cut_set_and_whether_it_was_confirmed_travel_with_the_level(con, files_db):
    rep = _report(files_db, SU, "school", Y)
    assert rep[cf.ES]["cut_set"] == "suspension_es" and rep[cf.HS]["cut_set"] == "suspension_hs"
    assert "not confirmed for the 2024 Dashboard" in rep[cf.HS]["cut_set_note"]
    pooled = _report(files_db, SU, "spa", Y)
    assert all(r["cut_set"] == "suspension_unified" for r in pooled.values() if r["status_level"])


def test_pooled_figures_are_labelled_computed_and_never_official(con):
    spa = placement.place(con, SU, ["spa"], Filters(year=Y))
    assert set(spa["level_source"].drop_nulls()) == {"computed"}
    assert "Dashboard-style, computed from DataQuest" in placement.label("computed")


# ---------------------------------------------------------------- the demo: one colour per figure in every view

@pytest.fixture(scope="module")
def demo(demo_db):
    c = db.open_for_display(demo_db)
    yield c
    c.close()


@pytest.mark.parametrize("metric", [CA, SU])
def test_every_spa_school_and_group_has_one_colour_in_every_view(demo, demo_db, metric):
    year = headline.latest_year(demo)
    f = Filters(year=year)
    # SPAs: the Map's fill, the by-SPA chart (deck, report)
    spa_map = {r["spa"]: r["color"] for r in geo.spa_measure(demo, metric, f).iter_rows(named=True)}
    spa_rep = {int(k): r["color"] for k, r in _report(demo_db, metric, "spa", year).items() if k != "None"}
    assert spa_map == {k: v for k, v in spa_rep.items() if k in spa_map}
    # schools: Map points, the Schools table, the report
    pts = {r["cds_code"]: r["dashboard_color"] for r in geo.school_points_frame(demo, metric, f).iter_rows(named=True)}
    table = {r["cds_code"]: r[f"{metric}_color"] for r in schools.school_table(demo, f).iter_rows(named=True)}
    rep = {k: r["color"] for k, r in _report(demo_db, metric, "school", year).items()}
    assert len(pts) > 400
    differ = [c for c in pts if not (pts[c] == table.get(c) == rep.get(c))]
    assert differ == [], differ[:5]
    assert sum(1 for c in table if table[c] is not None and c in rep and rep[c] == table[c]) > 300
    # groups: Equity (report.breakdown by group) and the report, for the county and one SPA
    for spa in (None, 6):
        kw = {"spa": spa} if spa else {}
        eq = breakdown(demo, metric, "student_group", f.with_(**kw))
        rep_g = _report(demo_db, metric, "student_group", year, **kw)
        assert {r["student_group"]: r["color"] for r in eq.iter_rows(named=True)} == \
            {k: r["color"] for k, r in rep_g.items()}
    # the Overview's cards against the report by community and by year
    head = {(r["metric_id"], r["scope"]): r for r in headline.headline(demo, f).iter_rows(named=True)}
    mid = metric
    assert head[(mid, "selected")]["color"] == _report(demo_db, metric, "community", year)["community"]["color"]
    county_years = _report(demo_db, metric, "year", year)
    assert head[(mid, "county")]["color"] == county_years[year]["color"]
    # no chronic absenteeism colour anywhere for a school without TK-8 students
    if metric == CA:
        tk8 = set(demo.sql("SELECT DISTINCT cds_code FROM outcomes WHERE reporting_category = 'GRTK8' "
                           "AND academic_year = ?", params=[year]).pl()["cds_code"])
        assert all(c in tk8 for c, v in pts.items() if v is not None)


# ---------------------------------------------------------------- official colours and the reconciliation

@pytest.fixture(scope="module")
def official_db(tmp_path_factory):
    """DataQuest suspension rows for four Cedar Grove schools, and CDE's own 2024 Dashboard
    file for them (tests/fixtures/dashboard/suspdownload2024.txt, the real layout)."""
    from fixture_paths import FIXTURES

    tmp = tmp_path_factory.mktemp("official")
    susp = {P: [(cf.ES, "TA", 2, 420), (cf.MS, "TA", 60, 700), (cf.HS, "TA", 45, 900), (cf.K12, "TA", 8, 110)],
            Y: [(cf.ES, "TA", 4, 420), (cf.MS, "TA", 50, 700), (cf.HS, "TA", 45, 900), (cf.K12, "TA", 3, 110)]}
    official = (FIXTURES / "dashboard" / "suspdownload2024.txt").read_text(encoding="utf-8-sig")
    return cf.build(tmp, suspension=susp, extra={"suspdownload2024.txt": official})


def test_official_colours_are_shown_for_schools_and_labelled(official_db):
    con = db.open_for_display(official_db)
    try:
        by_school = {r["school"]: r for r in placement.place(con, SU, ["school"], Filters(year=Y)).iter_rows(named=True)}
        # CDE's file: the high school 5.0% Medium, Increased -> Orange (DataQuest's counts give Maintained, Yellow)
        hs = by_school[cf.HS]
        assert (hs["status_level"], hs["change_level"], hs["color"], hs["level_source"]) == \
            ("Medium", "Increased", "Orange", "official")
        assert hs["placed_rate"] == pytest.approx(0.05) and hs["cut_set_note"] is None
        computed = placement.place(con, SU, ["school"], Filters(year=Y), official=False)
        assert computed.filter(pl.col("school") == cf.HS)["color"].to_list() == ["Yellow"]
        # a pooled SPA is never official
        assert set(placement.place(con, SU, ["spa"], Filters(year=Y))["level_source"].drop_nulls()) <= {"computed"}
    finally:
        con.close()


def test_reconciliation_counts_where_computed_equals_official_and_lists_the_rest(official_db):
    con = db.open_for_display(official_db)
    try:
        summary, diffs = placement.reconcile(con)
    finally:
        con.close()
    row = summary.filter((pl.col("indicator") == SU) & (pl.col("dashboard_year") == 2024)).row(0, named=True)
    # ES Low/Increased Yellow, MS Medium/Declined Green, K-12 (3x5 grid) Medium/Declined Green: the same;
    # the high school: Orange officially, Yellow computed.
    assert (row["schools_compared_n"], row["same_colour_n"], row["different_colour_n"]) == (4, 3, 1)
    assert diffs.select("cds_code", "official_color", "computed_color").rows() == [(cf.HS, "Orange", "Yellow")]


def test_info_reports_the_reconciliation(official_db):
    import subprocess
    import sys

    from fixture_paths import REPO

    out = subprocess.run([sys.executable, "-m", "csi_metrics", "info", "--db", str(official_db)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "computed vs official Dashboard colours:" in out.stdout
    assert "suspension 2024: 4 schools compared, 3 the same, 1 different" in out.stdout
    assert f"{cf.HS} " in out.stdout and "official Orange, computed Yellow" in out.stdout
