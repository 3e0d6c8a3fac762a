"""The Schools page's profile of one school, in AppTest against the demo database:
its own Dashboard level (official or computed, labelled), its student groups
coloured by the Equity page's rule, and its district and matched comparison
schools beside it."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from csi_metrics.metrics import headline, placement, schools
from csi_metrics.vocabulary import registry
from csi_metrics.vocabulary.filters import Filters
import fixture_paths

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")
TIMEOUT = 180


@pytest.fixture
def app_env(demo_db, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(demo_db))
    return demo_db


@pytest.fixture(scope="module")
def lib(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


def _open(cds: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.query_params["school"] = cds
    at.switch_page("pages/schools.py").run()
    assert [e.value for e in at.exception] + [e.value for e in at.error] == []
    return at


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.main.markdown] + [c.value for c in at.main.caption]


def _school_with(lib, metric: str, source: str) -> str:
    table = schools.school_table(lib, Filters(year=headline.latest_year(lib)))
    rows = table.filter((pl.col(f"{metric}_level_source") == source) & pl.col(f"{metric}_color").is_not_null())
    assert rows.height, f"the demo has a school with a {source} {metric} colour"
    return rows["cds_code"][0]


@pytest.mark.parametrize("source", [placement.SOURCE_OFFICIAL, placement.SOURCE_COMPUTED])
def test_profile_shows_the_schools_own_dashboard_level(app_env, lib, source, tmp_path, monkeypatch):
    cds = _school_with(lib, "suspension", placement.SOURCE_OFFICIAL)
    year = headline.latest_year(lib)
    db = app_env
    if source == placement.SOURCE_COMPUTED:
        # The demo gives every school CDE's file; without it for this school, the placement is computed.
        db = tmp_path / "no_official.duckdb"
        db.write_bytes(app_env.read_bytes())
        with duckdb.connect(str(db)) as con:
            con.execute("DELETE FROM dashboard_official WHERE cds_code = ?", [cds])
        monkeypatch.setenv("CSI_DB", str(db))
    at = _open(cds)
    texts = _texts(at)
    with duckdb.connect(str(db), read_only=True) as con:
        profile = schools.school_profile(con, cds)
    assert profile["suspension"].filter(pl.col("year") == year)["level_source"][0] == source
    for metric in registry.OUTCOMES:
        row = profile[metric].filter(pl.col("year") == year).row(0, named=True)
        level = next((t for t in texts if f"{registry.get(metric).label}, Dashboard {year}" in t), None)
        assert level is not None, f"no Dashboard level for {metric} on the profile"
        if row["color"]:
            assert any(row["color"] in t and ("Dashboard colour" in t or "Dashboard-style colour" in t)
                       for t in texts)
            line = next(t for t in texts if placement.label(row["level_source"]) in t and row["status_level"] in t)
            assert row["change_level"] in line
        else:
            assert any("No Dashboard colour" in t for t in texts)
    assert any(placement.label(source) in t for t in texts)
