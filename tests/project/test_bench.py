"""The benchmark's plumbing on a tiny hand-built database: the pandas reference
computes the same figures as the library (checked against values worked out
by hand), `agree` catches a disagreement, the timing harness and the report
run, and the load test's helpers are right. No timings are asserted."""

from __future__ import annotations

import math
import os

import duckdb
import pytest

from tools.bench import loadtest
from tools.bench import pandas_reference as pr
from tools.bench import benchmark as bench
from csi_metrics.storage import db
from metrics_fixtures import add_activity, add_district, add_grant, add_outcome, add_school, cds, district_code
import support

CA = "chronic_absenteeism"
YEARS = ("2021-22", "2022-23", "2023-24")

# (numerator, denominator) per year, chronic absenteeism all students (TA).
A, B, C, D, E, F = cds(1, 1), cds(1, 2), cds(2, 3), cds(2, 4), cds(1, 5), cds(9, 6, county="30")
CHRONIC = {
    A: [(20, 100), (18, 100), (12, 100)],   # SPA 1 ES, community, first grant 2022-23
    B: [(30, 200), (32, 200), (30, 200)],   # SPA 1 ES, comparison
    C: [(40, 150), (45, 150), (30, 150)],   # SPA 2 MS, comparison
    D: [(10, 80), (12, 80), (8, 80)],       # SPA 2 MS, community, first grant 2023-24
    E: [(None, 8)] * 3,                     # SPA 1 ES, CDE-suppressed every year
    F: [(50, 300)] * 3,                     # another county
}


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    add_district(con, district_code(1))
    add_district(con, district_code(2), name="Second Unified")
    add_district(con, district_code(9, county="30"), name="Elsewhere Unified")
    add_school(con, A, spa=1, community=True, cohort=1, grant_type="implementation", first_grant_year="2022-23")
    add_school(con, B, spa=1)
    add_school(con, C, spa=2, school_type="MS", district_name="Second Unified")
    add_school(con, D, spa=2, school_type="MS", community=True, cohort=2, grant_type="planning",
               first_grant_year="2023-24", district_name="Second Unified")
    add_school(con, E, spa=1)
    add_school(con, F, spa=None, district_name="Elsewhere Unified")
    for code, cells in CHRONIC.items():
        for year, (num, den) in zip(YEARS, cells):
            add_outcome(con, CA, year, code, num, den)
            # suspension: a third of the chronic numerator, same enrolment
            add_outcome(con, "suspension", year, code, None if num is None else num // 3, den)
    add_grant(con, "G1", A, 500_000, cohort=1, year="2022-23")
    add_grant(con, "G2", district_code(2) + "0000000", 250_000, level="LEA", cohort=2, grant_type="planning",
              year="2023-24")
    add_grant(con, "G3", F, 90_000, county="30", year="2023-24")
    people = [f"p{i:02d}" for i in range(14)]
    add_activity(con, "X1", "2023-10-03", "2023-24", "support_session", spa=1, school=A, attendees=12,
                 people=people[:12])
    add_activity(con, "X2", "2023-10-17", "2023-24", "support_session", spa=1, school=A, attendees=5,
                 people=people[8:13])
    add_activity(con, "X3", "2024-02-01", "2023-24", "items_distributed", spa=2, school=D, attendees=3, items=40,
                 people=people[:3])


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "tiny.duckdb"
    con = support.new_database(path)
    _fill(con)
    con.close()
    return path


@pytest.fixture(scope="module")
def con(tiny_db):
    c = db.open_for_display(tiny_db)
    yield c
    c.close()


@pytest.fixture(scope="module")
def tables(con):
    return pr.load_tables(con)


def test_pandas_pooled_rates_by_hand(tables):
    df = pr.pooled_rates(tables, CA, ["spa", "year"]).set_index(["spa", "year"])
    # SPA 1 2023-24: A and B pooled (E is CDE-suppressed: unknown, left out; F is another county).
    assert df.loc[(1, "2023-24"), "numerator_n"] == 12 + 30
    assert df.loc[(1, "2023-24"), "denominator_n"] == 100 + 200
    assert df.loc[(1, "2023-24"), "rate"] == pytest.approx(42 / 300)
    assert df.loc[(1, "2023-24"), "schools_n"] == 2
    assert df.loc[(1, "2023-24"), "suppressed_schools_n"] == 1
    assert df.loc[(2, "2021-22"), "rate"] == pytest.approx(50 / 230)
    every = pr.pooled_rates(tables, CA, ["year"], county_code=None).set_index("year")
    assert every.loc["2022-23", "denominator_n"] == 100 + 200 + 150 + 80 + 300


def test_pandas_diff_in_diff_by_hand(tables):
    df = pr.diff_in_diff(tables, CA).set_index("group")
    # 2022-23 group (A): 20/100 -> 12/100 = -8 pp; its peer B: 30/200 -> 30/200 = 0 pp.
    assert df.loc["2022-23", "did_pp"] == pytest.approx(-8.0)
    # 2023-24 group (D): 12/80 -> 8/80 = -5 pp; its peer C: 45/150 -> 30/150 = -10 pp.
    assert df.loc["2023-24", "did_pp"] == pytest.approx(5.0)
    # all: weighted by community baseline enrolment (100 and 80).
    assert df.loc["all", "did_pp"] == pytest.approx((-8 * 100 + 5 * 80) / 180)


def test_pandas_awards_and_activities_by_hand(tables):
    aw = pr.awards(tables, ["spa"]).set_index("spa_label")
    assert aw.loc["SPA 1 Antelope Valley", "amount_usd"] == 500_000
    # The LEA grant of district 2 goes to the one SPA of its community schools (D: SPA 2).
    assert aw.loc["SPA 2 San Fernando", "amount_usd"] == 250_000
    assert "G3" not in set(tables.grants.loc[tables.grants.county_code == "19", "grant_id"])
    act = pr.activity_counts(tables, ["activity_type"]).set_index("activity_type")
    assert act.loc["support_session", "activities_n"] == 2
    assert act.loc["support_session", "attendees_n"] == 17
    assert act.loc["support_session", "unique_individuals_n"] == 13   # p00..p12
    assert math.isnan(act.loc["items_distributed", "unique_individuals_n"])   # 3 people: suppressed
    assert act.loc["items_distributed", "items_n"] == 40


@pytest.mark.parametrize("case", bench.metric_cases(), ids=lambda c: c.name)
def test_reference_agrees_with_library(case, con, tables):
    ours = case.ours(con)
    ref = case.ref(tables)
    ok, detail = bench.agree(ours, ref, case.keys, case.cols)
    assert ok, detail
    assert "values equal" in detail and not detail.startswith("0 ")


def test_agree_catches_a_difference(con, tables):
    case = bench.metric_cases()[0]
    ours = case.ours(con)
    ref = case.ref(tables).copy()
    ref.loc[ref.index[0], "numerator_n"] += 1
    ok, detail = bench.agree(ours, ref, case.keys, case.cols)
    assert not ok and "numerator_n" in detail
    ok, detail = bench.agree(ours, ref.iloc[1:], case.keys, case.cols)
    assert not ok and "rows" in detail


def test_time_metrics_and_report(tiny_db):
    cases = bench.metric_cases()[:2]
    res = bench.time_metrics(tiny_db, runs=1, cases=cases)
    assert [c["name"] for c in res["cases"]] == [c.name for c in cases]
    assert all(c["agree"] and c["ours_s"] > 0 and c["pandas_s"] > 0 for c in res["cases"])
    text = bench.report({"machine": bench.machine(), "runs": 1,
                         "scales": {"county": {"facts": bench.db_facts(tiny_db), "metrics": res}}})
    assert "| pooled_rates spa x year (LA) |" in text
    assert "6 schools (5 in LA County)" in text


def test_loadtest_helpers():
    assert loadtest._pct([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert loadtest._pct([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)
    assert loadtest._pct([], 0.5) is None
    own = int(next(ln for ln in open("/proc/self/status") if ln.startswith("VmRSS:")).split()[1]) * 1024
    assert loadtest.rss_bytes(os.getpid()) >= own * 0.9
    with pytest.raises(ValueError, match="this machine only"):
        loadtest.run("http://example.org:8501", 1)
    with pytest.raises(ValueError, match="n must be"):
        loadtest.run("http://127.0.0.1:9", loadtest.MAX_SESSIONS + 1)


def test_cli_runs_the_benchmark_as_its_own_process():
    """`python -m csi_metrics bench` hands its arguments to `python -m tools.bench` (the
    product never imports the benchmark); a bad argument is the benchmark's own error."""
    import subprocess
    import sys

    from fixture_paths import REPO

    out = subprocess.run([sys.executable, "-m", "csi_metrics", "bench", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "usage: python -m tools.bench" in out.stdout and "--scale" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "csi_metrics", "bench", "--scale", "moon"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--scale" in bad.stderr and "moon" in bad.stderr


def test_hosted_database_path_needs_no_code_change(monkeypatch):
    from csi_metrics.vocabulary import config

    monkeypatch.setenv("CSI_DB", "md:csi")
    p = config.db_path()
    assert str(p) == "md:csi" and db.is_hosted(p)
    assert not db.is_hosted("/srv/csi/csi.duckdb") and not db.is_hosted("data/md.duckdb")
    with pytest.raises(FileNotFoundError):
        db.open_for_display("/nonexistent/csi.duckdb")
