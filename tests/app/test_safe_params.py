"""Safe parameters: URL values and filter inputs are checked against the values
the database holds; injection-shaped strings are harmless (every value is bound,
never formatted into SQL); the dashboard's connection cannot write.

test_url_state.py covers the fallback-with-warning for single bad values; this
file covers hostile shapes, arbitrary strings, the whole entry script, the
metric library called directly, and the connection."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from csi_metrics.vocabulary.filters import COMMUNITY_CHOICES, FilterOptions, Filters
from csi_app import data, state
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO

HOSTILE = {
    "spa": "1;DROP TABLE schools",
    "district": "' OR 1=1 --",
    "year": "<script>alert(1)</script>",
    "student_group": "TA' UNION SELECT * FROM attendance --",
    "school_type": "ES'); DELETE FROM outcomes; --",
    "cohort": "1 OR 1=1",
    "community": "all\"; ATTACH '/tmp/x.duckdb' AS x; --",
}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def live_db(tmp_path, demo_db, monkeypatch) -> Path:
    """A private copy of the demo database as CSI_DB."""
    p = tmp_path / "csi.duckdb"
    shutil.copyfile(demo_db, p)
    monkeypatch.setenv("CSI_DB", str(p))
    monkeypatch.chdir(REPO)
    return p


def _counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("schools", "outcomes", "grants", "activities", "attendance")}
    finally:
        con.close()


def _latest_year(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT max(academic_year) FROM outcomes WHERE aggregate_level = 'S'").fetchone()[0]
    finally:
        con.close()


# ---------------------------------------------------------------- the whole app, hostile URL

@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_url_value_shows_notice_and_default(live_db, name):
    before = sha(live_db)
    counts = _counts(live_db)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.query_params[name] = HOSTILE[name]
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    notices = [w.value for w in at.warning if "Ignored URL parameter" in w.value]
    assert len(notices) == 1 and f"`{name}=" in notices[0], notices
    # The value is echoed back defanged: no markup, no quotes, at most 40 characters.
    echoed = notices[0].split(f"`{name}=", 1)[1].split("`", 1)[0]
    assert "<" not in echoed and ">" not in echoed and "'" not in echoed and '"' not in echoed
    assert len(echoed) <= 40
    # The filter fell back to its default; every other filter is untouched.
    assert at.session_state["_filters"] == Filters(year=_latest_year(live_db))
    assert sha(live_db) == before and _counts(live_db) == counts


def test_all_hostile_values_at_once(live_db):
    before = sha(live_db)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    for k, v in HOSTILE.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert len([w for w in at.warning if "Ignored URL parameter" in w.value]) == len(HOSTILE)
    assert sha(live_db) == before


# ---------------------------------------------------------------- parsing: any string at all

@pytest.fixture(scope="module")
def options(demo_db) -> FilterOptions:
    os.environ["CSI_DB"] = str(demo_db)
    try:
        return data.filter_options()
    finally:
        os.environ.pop("CSI_DB", None)


ANY = st.one_of(st.text(max_size=60), st.sampled_from(list(HOSTILE.values())),
                st.from_regex(r"[0-9]{1,6}", fullmatch=True), st.sampled_from(["TA", "2023-24", "19", "all"]))


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(st.sampled_from(list(state.URL_PARAMS) + ["present", "metric", "x"]), ANY))
def test_any_url_values_parse_to_known_values_only(options, params):
    f, warnings = state.parse_query_params(params, options)
    assert f.year in options.years
    assert f.spa is None or f.spa in options.spas
    assert f.district is None or f.district in options.district_names
    assert f.community in COMMUNITY_CHOICES
    assert f.cohort is None or f.cohort in options.cohorts
    assert f.school_type is None or f.school_type in options.school_types
    assert f.student_group in dict(options.student_groups)
    for w in warnings:
        assert "<" not in w.split("`")[1] and "'" not in w.split("`")[1]


# ---------------------------------------------------------------- the metric library, hostile filters

HOSTILE_FILTERS = [
    Filters(district="' OR 1=1 --"),
    Filters(school="19' OR '1'='1"),
    Filters(school_type="ES' OR 'x'='x"),
    Filters(student_group="TA'; DROP TABLE outcomes; --"),
    Filters(year="2023-24' OR 1=1 --"),
]


@pytest.mark.parametrize("f", HOSTILE_FILTERS, ids=["district", "school", "school_type", "student_group", "year"])
def test_hostile_filter_values_match_nothing(live_db, f):
    """Bound as values, an injection string is just a code no row has: empty results, nothing changed."""
    from csi_metrics.metrics import activities, rates, trends

    before = sha(live_db)
    key, con = data._current()
    cur = data._cursor(con)
    try:
        got = rates.pooled_rates(cur, "chronic_absenteeism", [], f)
        assert got.is_empty() or got["denominator_n"].fill_null(0).sum() == 0
        if f.year is None:  # a trend spans every year by design; the other filters still narrow it
            tr = trends.trend(cur, "suspension", [], f)
            assert tr["denominator_n"].fill_null(0).sum() == 0
        if f.school or f.district:
            acts = activities.activity_counts(cur, [], f)
            assert acts["activities_n"].fill_null(0).sum() == 0
    finally:
        cur.close()
    assert sha(live_db) == before


# ---------------------------------------------------------------- the connection cannot write

WRITES = [
    "INSERT INTO schools (cds_code) VALUES ('19999999999999')",
    "DELETE FROM outcomes",
    "UPDATE build_info SET value = 'x'",
    "DROP TABLE schools",
    "CREATE TABLE csi.main.evil (a INTEGER)",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "COPY (SELECT 1) TO '{tmp}/leak.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SET enable_external_access = true",
]


@pytest.mark.parametrize("statement", WRITES)
def test_dashboard_connection_refuses_writes_and_files(live_db, tmp_path, statement):
    before = sha(live_db)
    key, con = data._current()
    cur = data._cursor(con)
    try:
        with pytest.raises(duckdb.Error):
            cur.execute(statement.format(tmp=tmp_path))
    finally:
        cur.close()
    assert sha(live_db) == before
    assert not (tmp_path / "other.duckdb").exists() and not (tmp_path / "leak.csv").exists()
    # And the connection still reads.
    cur = data._cursor(con)
    try:
        assert cur.execute("SELECT count(*) FROM schools").fetchone()[0] > 0
    finally:
        cur.close()


def test_page_loader_sql_is_read_only_too(live_db):
    before = sha(live_db)
    with pytest.raises(duckdb.Error):
        data.sql("DELETE FROM schools")
    assert sha(live_db) == before
    assert isinstance(data.sql("SELECT count(*) AS n FROM schools"), pl.DataFrame)


@pytest.mark.parametrize("name,value,default_label", [
    ("measure", "Attendance", "Chronic absenteeism rate"),  # neither a code nor a label (labels are read as codes)
    ("measure", "<script>", "Chronic absenteeism rate"),
    ("color_by", "grant size", "Dashboard colour"),
])
def test_map_controls_warn_on_a_bad_url_value_like_every_other_parameter(live_db, name, value, default_label):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.query_params[name] = value
    at.run()
    at.switch_page("pages/map.py").run()
    assert not at.exception, [e.message for e in at.exception]
    notices = [w.value for w in at.warning if f"Ignored URL parameter `{name}=" in w.value]
    assert len(notices) == 1 and f"Showing {default_label} instead" in notices[0], [w.value for w in at.warning]
    assert "<script" not in notices[0]


def test_map_controls_read_their_codes_from_the_url(live_db):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.query_params["measure"] = "suspension"
    at.query_params["color_by"] = "cohort"
    at.run()
    at.switch_page("pages/map.py").run()
    assert at.selectbox(key="measure").value == "suspension"
    assert at.session_state["color_by"] == "cohort"
    assert not [w for w in at.warning if "Ignored URL parameter" in w.value]
