"""The report command: run() on a small database file, every format, bad arguments."""

from __future__ import annotations

import argparse
import io
import json

import pytest

import metrics_fixtures as mf
from csi_metrics.storage import db
from csi_metrics import report
from csi_metrics.metrics.breakdown import breakdown
import support

SU, CA = "suspension", "chronic_absenteeism"


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "csi.duckdb"
    c = support.new_database(path)
    a, b, t = mf.cds(10001, 1), mf.cds(10001, 2), mf.cds(10001, 3)
    mf.add_district(c, mf.district_code(10001), "elementary")
    mf.add_school(c, a, spa=1, community=True, school_type="ES", name="Alder")
    mf.add_school(c, b, spa=2, school_type="ES", name="Birch")
    mf.add_school(c, t, spa=3, school_type="ES", name="Tiny")
    for y, (n1, d1), (n2, d2) in [("2022-23", (6, 300), (8, 400)), ("2023-24", (3, 300), (12, 400))]:
        mf.add_outcome(c, SU, y, a, n1, d1)
        mf.add_outcome(c, SU, y, b, n2, d2)
        mf.add_outcome(c, SU, y, t, 0, 9, suppressed=False)   # 9 students: hidden by us
        mf.add_outcome(c, CA, y, a, n1 * 10, d1)
        mf.add_outcome(c, CA, y, a, n1 * 10, d1, group="GRTK8")
    c.close()
    return path


def args(db_path, **kw) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    report.add_arguments(p)
    argv = ["--db", str(db_path)]
    for k, v in kw.items():
        argv += [f"--{k}", str(v)]
    return p.parse_args(argv)


def run(ns) -> tuple[int, str]:
    buf = io.StringIO()
    code = report.run(ns, out=buf)
    return code, buf.getvalue()


def test_json_by_spa(db_path):
    code, text = run(args(db_path, metric=SU, by="spa", year="2023-24", format="json"))
    assert code == 0
    rows = {r["spa"]: r for r in json.loads(text)}
    assert rows[2]["numerator_n"] == 12 and rows[2]["denominator_n"] == 400 and rows[2]["rate_pct"] == 3.0
    assert rows[2]["spa_label"] == "SPA 2 San Fernando"
    # unified set (pooled SPA): 3.0% Medium; change +1.0 Increased -> Orange
    assert (rows[2]["status_level"], rows[2]["change_level"], rows[2]["color"]) == ("Medium", "Increased", "Orange")
    # SPA 3 is one school of 9 students: a hidden cell, null. It is in no other figure
    # either, so SPA 1 (300, the next smallest) stays shown: nothing can be subtracted.
    assert rows[3]["suppressed"] is True and rows[3]["rate_pct"] is None and rows[3]["denominator_n"] is None
    assert rows[1]["suppressed"] is False and (rows[1]["numerator_n"], rows[1]["denominator_n"]) == (3, 300)


def test_csv_marks_suppressed_with_star(db_path):
    code, text = run(args(db_path, metric=SU, by="school", year="2023-24", format="csv"))
    assert code == 0
    lines = text.strip().splitlines()
    assert lines[0] == ("school,school_name,district_name,numerator_n,denominator_n,rate_pct,schools_n,"
                        "suppressed_schools_n,placed_group,placed_rate_pct,status_level,change_level,color,"
                        "level_source,level_note,cut_set,cut_set_note,suppressed")
    tiny = next(line for line in lines if "Tiny" in line)
    assert ",*,*,*," in tiny
    # Alder (300) stays shown: Tiny is in no total a reader could subtract from.
    # Elementary school set: 1.0% Low; -1.0 pp Declined Significantly -> Blue.
    assert next(line for line in lines if "Alder" in line).endswith(
        ",3,300,1.0,1,0,TA,1.0,Low,Declined Significantly,Blue,computed,,suspension_es,"
        '"Suspension, elementary school cut scores not confirmed for the 2024 Dashboard",no')
    birch = next(line for line in lines if "Birch" in line)
    # elementary school set: 3.0% Medium; +1.0 pp Increased -> Orange
    assert birch.endswith(",12,400,3.0,1,0,TA,3.0,Medium,Increased,Orange,computed,,suspension_es,"
                          '"Suspension, elementary school cut scores not confirmed for the 2024 Dashboard",no')


def test_table_and_default_year(db_path):
    code, text = run(args(db_path, metric=SU, by="community"))
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["community", "numerator_n", "denominator_n", "rate_pct"]
    assert lines[2].split()[:4] == ["community", "3", "300", "1.0"]
    # comparison: Birch 12/400; Tiny's 9 students are a hidden cell and never pooled
    assert lines[3].split()[:4] == ["comparison", "12", "400", "3.0"]


def test_by_year_and_district_cut_sets(db_path):
    code, text = run(args(db_path, metric=CA, by="year", format="json"))
    rows = json.loads(text)
    assert [r["year"] for r in rows] == ["2022-23", "2023-24"]
    # GRTK8 placement: 10.0% Medium; prior 20.0% -> -10 DS -> Green
    assert (rows[1]["status_level"], rows[1]["color"]) == ("Medium", "Green")
    code, text = run(args(db_path, metric=SU, by="district", year="2023-24", format="json"))
    r = json.loads(text)[0]
    # elementary district set: 15/700 = 2.1% Medium; prior 14/700 = 2.0%: +0.1 Maintained -> Yellow
    # (Tiny's 9 students are hidden and never pooled)
    assert (r["status_level"], r["change_level"], r["color"]) == ("Medium", "Maintained", "Yellow")


def test_spa_filter(db_path):
    code, text = run(args(db_path, metric=SU, by="school", year="2023-24", spa=1, format="json"))
    assert [r["school_name"] for r in json.loads(text)] == ["Alder"]


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"metric": "graduation"}, "--metric"),
        ({"metric": SU, "year": "2023"}, "--year"),
        ({"metric": SU, "year": "2030-31"}, "--year 2030-31: no suspension data"),
        ({"metric": SU, "by": "county"}, "--by"),
        ({"metric": SU, "format": "xml"}, "--format"),
        ({"metric": SU, "spa": 9}, "--spa"),
    ],
)
def test_bad_arguments_exit_2(db_path, kw, needle, capsys):
    code, text = run(args(db_path, **kw))
    assert code == 2 and text == ""
    assert needle in capsys.readouterr().err


def test_missing_database_exit_1(tmp_path, capsys):
    code, _ = run(args(tmp_path / "none.duckdb", metric=SU))
    assert code == 1 and "no database" in capsys.readouterr().err


def test_wired_into_the_cli(db_path, capsys):
    from csi_metrics import cli

    code = cli.main(["report", "--metric", SU, "--by", "community", "--year", "2023-24", "--format", "csv",
                     "--db", str(db_path)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[1].startswith("community,3,300,1.0,1,")
    assert cli.main(["report", "--metric", SU, "--year", "24", "--db", str(db_path)]) == 2


def test_breakdown_rates_all_grades_levels_from_k8():
    from csi_metrics.vocabulary.filters import Filters

    c = mf.new_db()
    a, b = mf.cds(10001, 1), mf.cds(10001, 2)
    mf.add_school(c, a, spa=1)
    mf.add_school(c, b, spa=2)
    for y, ta_a, k8_a, ta_b, k8_b in [("2022-23", (90, 300), (80, 250), (40, 400), (30, 300)),
                                      ("2023-24", (60, 300), (50, 250), (48, 400), (45, 300))]:
        mf.add_outcome(c, CA, y, a, *ta_a)
        mf.add_outcome(c, CA, y, a, *k8_a, group="GRTK8")
        mf.add_outcome(c, CA, y, b, *ta_b)
        mf.add_outcome(c, CA, y, b, *k8_b, group="GRTK8")
    rows = {r["spa"]: r for r in breakdown(c, CA, "spa", Filters(year="2023-24")).iter_rows(named=True)}
    two = rows[2]
    # shown: all grades 48/400 = 12.0%, a year earlier 40/400 = 10.0%: +2.0 pp
    assert two["rate"] == pytest.approx(0.12) and two["prior_rate"] == pytest.approx(0.10)
    assert two["change_pp"] == pytest.approx(2.0)
    # placed on K-8: 45/300 = 15.0% High, +5.0 Increased Significantly -> Red (all grades would say Orange)
    assert (two["status_level"], two["change_level"], two["color"]) == ("High", "Increased Significantly", "Red")
    one = rows[1]
    assert one["change_pp"] == pytest.approx(-10.0)
    # K-8: 50/250 = 20.0% High, -12.0 Declined Significantly -> Yellow
    assert (one["status_level"], one["change_level"], one["color"]) == ("High", "Declined Significantly", "Yellow")
    # by student group: All students and the TK-8 group are placed on the TK-8 rows (95/550 = 17.3% High,
    # -2.7 Declined); other groups get no computed colour (DataQuest has no TK-8 rows by group)
    groups = {r["student_group"]: r for r in breakdown(c, CA, "student_group", Filters(year="2023-24"))
              .iter_rows(named=True)}
    assert groups["GRTK8"]["prior_rate"] == pytest.approx(110 / 550)
    for g in ("GRTK8", "TA"):
        assert (groups[g]["status_level"], groups[g]["change_level"]) == ("High", "Declined")
        assert groups[g]["placed_rate"] == pytest.approx(95 / 550) and groups[g]["placed_group"] == "GRTK8"
    assert groups["TA"]["rate"] == pytest.approx(108 / 700)  # the all-grades rate shown beside it
    # The all-grades change (-3.1 pp) is shown as change_pp; it is not what the level was placed on
    # (placing it there was the defect: Declined Significantly on the Equity page, Declined elsewhere).
    assert groups["TA"]["change_pp"] == pytest.approx((108 - 130) / 700 * 100)
    assert groups["TA"]["placed_change_pp"] == pytest.approx((95 / 550 - 110 / 550) * 100)


def test_breakdown_hides_prior_and_change_of_suppressed_rows(db_path):
    from csi_metrics.vocabulary.filters import Filters

    con = db.open_for_display(db_path)
    try:
        rows = {r["spa"]: r for r in breakdown(con, SU, "spa", Filters(year="2023-24")).iter_rows(named=True)}
    finally:
        con.close()
    # SPA 3 (one hidden 9-student cell) is suppressed: no prior, change or colour to subtract from
    r = rows[3]
    assert r["suppressed"] is True
    assert (r["prior_rate"], r["change_pp"], r["color"], r["level_note"]) == (None, None, None, "suppressed")
    assert rows[1]["suppressed"] is False and rows[1]["change_pp"] == pytest.approx((3 / 300 - 6 / 300) * 100)
    assert rows[2]["change_pp"] == pytest.approx((12 / 400 - 8 / 400) * 100)
