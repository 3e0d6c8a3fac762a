"""The Map page in Streamlit's AppTest: the choropleth with school points on
the official boundaries, the tile map with instructions when there is no
boundary file, and a clear warning naming an unreadable one."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from streamlit.testing.v1 import AppTest

import metrics_fixtures as mf
from csi_metrics.vocabulary import codes, config
from fixture_paths import SPA_2022
from csi_metrics.ingest import boundaries
from csi_metrics.metrics import geo
import support
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO

# Two schools per SPA (one community, one not); SPA 6's are both under 11
# students, so CDE suppressed them and the SPA has no figure to show.
ENROLMENT = {n: (120 + 10 * n, 300) for n in range(1, 9)}
ENROLMENT[6] = (8, 9)


def _absent(n: int, enrolled: int, year_shift: int) -> int:
    return enrolled * (10 + 2 * n + year_shift) // 100


@pytest.fixture(scope="module")
def map_db(tmp_path_factory) -> Path:
    """A small database whose schools sit at points inside their SPA's shape."""
    path = tmp_path_factory.mktemp("mapdb") / "csi.duckdb"
    con = support.new_database(path)
    gj = boundaries.display_boundaries(SPA_2022)
    label = {f["id"]: (f["properties"]["label_lon"], f["properties"]["label_lat"]) for f in gj["features"]}
    mf.add_district(con, mf.district_code(1), "unified", name="Demo Unified")
    for n in range(1, 9):
        for k, enrolled in enumerate(ENROLMENT[n]):
            code = mf.cds(1, n * 10 + k)
            mf.add_school(con, code, spa=n, community=(k == 0), cohort=1 + n % 2 if k == 0 else None,
                          school_type="ES", name=f"Demo {codes.SPA_NAMES[n]} School {k + 1}",
                          district_name="Demo Unified")
            lon, lat = label[n]
            con.execute("UPDATE schools SET longitude = ?, latitude = ? WHERE cds_code = ?",
                        [lon + 0.01 * k, lat, code])
            for year, shift in (("2022-23", 2), ("2023-24", 0)):
                for metric in ("chronic_absenteeism", "suspension"):
                    mf.add_outcome(con, metric, year, code, _absent(n, enrolled, shift), enrolled)
    con.execute("INSERT INTO build_info VALUES ('mode', 'demo'), ('built_at', '2026-11-23T00:00:00')")
    con.close()
    return path


def _app(monkeypatch, map_db: Path, boundaries: Path | None, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("CSI_DB", str(map_db))
    if boundaries is None:
        monkeypatch.delenv("CSI_BOUNDARIES", raising=False)
        # No fetched file and no shipped layer either (a deleted data/spa/): point both somewhere empty.
        monkeypatch.setattr(config, "DEFAULT_BOUNDARIES", tmp_path / "not-fetched.geojson")
        monkeypatch.setattr(config, "SHIPPED_BOUNDARIES", tmp_path / "not-shipped.geojson")
    else:
        monkeypatch.setenv("CSI_BOUNDARIES", str(boundaries))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/map.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _figure(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no chart drawn"
    return json.loads(charts[0].proto.spec)


def test_map_page_draws_choropleth_and_school_points(monkeypatch, map_db, tmp_path):
    at = _app(monkeypatch, map_db, SPA_2022, tmp_path)
    fig = _figure(at)
    types = {t["type"] for t in fig["data"]}
    assert "choroplethmap" in types and "choropleth" not in types
    locations = sorted(n for t in fig["data"] if t["type"] == "choroplethmap" for n in t["locations"])
    assert locations == list(range(1, 9))
    points = [t for t in fig["data"] if t["type"] == "scattermap" and t.get("mode") == "markers"
              and t.get("showlegend") is not False]
    assert sum(len(t["lat"]) for t in points) == 8  # one community school per SPA
    style = json.loads(unquote(fig["layout"]["map"]["style"].split(",", 1)[1]))
    assert style["layers"][0]["type"] == "background" and "glyphs" not in style
    # SPA 6 is suppressed, not a number.
    main = next(t for t in fig["data"] if t["type"] == "choroplethmap" and 1 in t["locations"])
    row = {r[0]: r for r in main["customdata"]}[1]
    # SPA 1, 2023-24: 130 x 12% -> 15 and 300 x 12% -> 36 absent, pooled 51 / 430 = 11.9%.
    assert (_absent(1, 130, 0), _absent(1, 300, 0)) == (15, 36)
    assert row[2] == "Chronic absenteeism rate: 11.9%"  # the registry's label
    assert row[3] == "2 schools"
    grey = next(t for t in fig["data"] if t["type"] == "choroplethmap" and 6 in t["locations"])
    assert grey["customdata"][0][2] == "Chronic absenteeism rate: suppressed (<11 students)"
    assert not [i for i in at.info if "fetch-boundaries" in i.value]


@pytest.mark.parametrize("measure", list(geo.MEASURES))
def test_every_measure_draws_all_spas(monkeypatch, map_db, tmp_path, measure):
    at = _app(monkeypatch, map_db, SPA_2022, tmp_path)
    at.selectbox(key="measure").set_value(measure).run()
    assert not at.exception, [e.message for e in at.exception]
    fig = _figure(at)
    locations = sorted(n for t in fig["data"] if t["type"] == "choroplethmap" for n in t["locations"])
    assert locations == list(range(1, 9))
    assert geo.MEASURES[measure].label in fig["layout"]["title"]["text"].replace("<br>", " ")


def _everything(at: AppTest) -> str:
    return " ".join([str(e.value) for kind in ("info", "warning", "caption", "markdown") for e in at.get(kind)]
                    + [str(e.label) for kind in ("selectbox", "radio", "segmented_control", "button_group")
                       for e in at.get(kind)])


def test_no_boundary_file_shows_tile_map_without_operator_instructions(monkeypatch, map_db, tmp_path):
    """Issue 17 #5: the tile map says it draws no school points, offers no control for them,
    and leaves the operator's commands to `python -m csi_metrics info`."""
    at = _app(monkeypatch, map_db, None, tmp_path)
    info = " ".join(i.value for i in at.info)
    assert "tiles" in info and "no school points" in info
    page = _everything(at)
    for operator_words in ("fetch-boundaries", "CSI_BOUNDARIES", "python -m"):
        assert operator_words not in page, operator_words
    assert "Colour schools by" not in page and "a school to open it" not in page and "Points:" not in page
    fig = _figure(at)
    assert all(t["type"] == "scatter" for t in fig["data"])
    assert len(fig["layout"]["shapes"]) == 8
    texts = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert all(name in texts for name in codes.SPA_NAMES.values())
    assert not at.warning or all("boundary" not in w.value for w in at.warning)


def test_unreadable_boundary_file_warns_and_shows_tile_map(monkeypatch, map_db, tmp_path):
    bad = tmp_path / "spa_corrupt.geojson"
    bad.write_bytes(b'{"type": "FeatureCollection", "features": [ {"type": "Feat')
    at = _app(monkeypatch, map_db, bad, tmp_path)
    warnings = [w.value for w in at.warning]
    assert any("boundary file could not be read" in w for w in warnings), warnings
    assert "fetch-boundaries" not in _everything(at)
    fig = _figure(at)
    assert all(t["type"] == "scatter" for t in fig["data"]) and len(fig["layout"]["shapes"]) == 8


def test_boundary_file_missing_an_spa_is_noted(monkeypatch, map_db, tmp_path):
    src = json.loads(SPA_2022.read_text())
    src["features"] = [f for f in src["features"] if f["properties"]["SPA_NUM"] != 2]
    seven = tmp_path / "seven.geojson"
    seven.write_text(json.dumps(src))
    at = _app(monkeypatch, map_db, seven, tmp_path)
    assert any("SPA 2 San Fernando" in w.value for w in at.warning)
    fig = _figure(at)
    locations = sorted(n for t in fig["data"] if t["type"] == "choroplethmap" for n in t["locations"])
    assert locations == [1, 3, 4, 5, 6, 7, 8]
