"""Plotly's own camera button saves the live chart as a PNG, past our export buttons: on
the demo, every chart with that toolbar carries a small DEMO DATA mark in the figure
itself (issue 17, item 11); on a real database none does."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import fixture_paths
from csi_metrics.figures import charts

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")
PAGES = ["pages/activities.py", "pages/funding.py", "pages/map.py"]


@pytest.fixture(scope="module")
def real_db(demo_db, tmp_path_factory):
    """The demo's data, built as if from real files (build_info mode 'real')."""
    path = tmp_path_factory.mktemp("real") / "csi.duckdb"
    shutil.copy(demo_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE build_info SET value = 'real' WHERE key = 'mode'")
    return path


def _toolbar_charts(db, monkeypatch, page: str) -> list[dict]:
    monkeypatch.setenv("CSI_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    out = []
    for c in at.main.get("plotly_chart"):
        config = json.loads(c.proto.config or "{}")
        if config.get("displayModeBar") is not False:  # the toolbar, and so the camera, is there
            out.append(json.loads(c.proto.spec))
    assert out, f"{page} drew no chart with a toolbar"
    return out


def _marks(spec: dict) -> list[str]:
    return [a.get("text", "") for a in spec.get("layout", {}).get("annotations", []) if "DEMO" in a.get("text", "")]


@pytest.mark.parametrize("page", PAGES)
def test_demo_charts_carry_the_mark_and_real_ones_do_not(demo_db, real_db, monkeypatch, page):
    for spec in _toolbar_charts(demo_db, monkeypatch, page):
        assert _marks(spec) == [charts.LIVE_DEMO_MARK], (page, spec["layout"].get("title"))
    for spec in _toolbar_charts(real_db, monkeypatch, page):
        assert _marks(spec) == [], page
