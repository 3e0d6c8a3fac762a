"""The county map: boundary display prep (both eGIS vintages, a missing SPA, a
projected CRS, an unreadable file, simplification faithfulness), the figures
(choropleth, school points, tile map), the map data and PNG export."""

from __future__ import annotations

import csv
import json
import os
from urllib.parse import unquote

import geopandas as gpd
import polars as pl
import pytest
import support
import shapely
from shapely.geometry import Point, shape

from csi_metrics.vocabulary import codes
from csi_metrics.figures import maps
from csi_metrics.ingest.boundaries import load_spa_boundaries
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters
import metrics_fixtures as mf
from fixture_paths import DIRECTORY_EXCERPT, SPA_2012, SPA_2022, SPA_2022_FULL_EXCERPT
from csi_metrics.ingest import boundaries
from csi_metrics.metrics import geo

VINTAGES = {"2022": SPA_2022, "2012": SPA_2012}

# SOURCES.md §1: the SPA each of these falls in, checked against all three files.
KNOWN_SCHOOLS = {
    "19101990000000": 7,  # LACOE, Downey
    "19643111930981": 5,  # Beverly Hills High
    "19643291931088": 3,  # Bonita High, La Verne
    "19101990115030": 8,  # Magnolia Science Academy 3, Carson
    "19101990106880": 4,  # Jardin de la Infancia, downtown
}


def _geocoded_rows() -> dict[str, tuple[float, float]]:
    with open(DIRECTORY_EXCERPT, encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {r["CDSCode"]: (float(r["Longitude"]), float(r["Latitude"]))
                for r in rows if r["Latitude"] != "No Data" and r["Longitude"] != "No Data"}


def _spa_of(geojson: dict, lon: float, lat: float) -> list[int]:
    p = Point(lon, lat)
    return [f["id"] for f in geojson["features"] if shape(f["geometry"]).covers(p)]


def _locations(fig) -> list[int]:
    return sorted(int(n) for t in fig.data if t.type == "choroplethmap" for n in t.locations)


# --------------------------------------------------------------------------- boundaries for display

def test_display_simplification_is_faithful_to_the_full_layer():
    # The official 2022 layer at full resolution, clipped to where five SPAs and the coast meet.
    original = load_spa_boundaries(SPA_2022_FULL_EXCERPT)
    gj = boundaries.display_boundaries(SPA_2022_FULL_EXCERPT)
    src_n = int(shapely.get_num_coordinates(original.geometry.to_numpy()).sum())
    assert gj["csi"]["source_vertices_n"] == src_n
    assert gj["csi"]["vertices_n"] < src_n / 3, (gj["csi"]["vertices_n"], src_n)
    simple = gpd.GeoSeries([shape(f["geometry"]) for f in gj["features"]], crs=4326)
    assert simple.is_valid.all()
    # Area in an equal-area projection (California Albers), each SPA within 1%.
    a_orig = original.geometry.to_crs(3310).area.to_numpy()
    a_simple = simple.to_crs(3310).area.to_numpy()
    assert (abs(a_simple / a_orig - 1) < 0.01).all(), a_simple / a_orig
    # Nothing moved by more than ~330 m (0.003 deg): under 2 px on a 1080-px county view.
    hd = [o.hausdorff_distance(s) for o, s in zip(original.geometry, simple)]
    assert max(hd) < 0.003, hd


@pytest.mark.parametrize("name", VINTAGES)
def test_display_boundaries_reads_each_vintage(name):
    path = VINTAGES[name]
    gj = boundaries.display_boundaries(path)
    assert [f["id"] for f in gj["features"]] == list(range(1, 9))
    assert [f["properties"]["spa_name"] for f in gj["features"]] == [codes.SPA_NAMES[n] for n in range(1, 9)]
    assert gj["csi"]["missing_spas"] == []
    # 107k (2022) / 69k (2012) official vertices, a few thousand for display.
    assert 1_000 < gj["csi"]["vertices_n"] < 8_000
    assert gpd.GeoSeries([shape(f["geometry"]) for f in gj["features"]], crs=4326).is_valid.all()
    # Each label point sits inside its own SPA.
    for f in gj["features"]:
        assert shape(f["geometry"]).contains(Point(f["properties"]["label_lon"], f["properties"]["label_lat"]))


@pytest.mark.parametrize("name", VINTAGES)
def test_simplified_shapes_keep_every_school_in_its_spa(name):
    gj = boundaries.display_boundaries(VINTAGES[name])
    original = load_spa_boundaries(VINTAGES[name])
    pts = _geocoded_rows()
    assert len(pts) == 49
    for cds, spa in KNOWN_SCHOOLS.items():
        assert _spa_of(gj, *pts[cds]) == [spa], cds
    # All 49 geocoded rows: the display shapes agree with the official ones.
    for cds, (lon, lat) in pts.items():
        official = [int(n) for n, g in zip(original.spa_n, original.geometry) if g.covers(Point(lon, lat))]
        assert _spa_of(gj, lon, lat) == official, cds


def test_view_is_the_mainland_not_the_islands():
    gj = boundaries.display_boundaries(SPA_2022)
    minx, miny, maxx, maxy = gj["csi"]["view_bounds"]
    # Catalina reaches down to 33.3 and San Clemente to 32.8; the mainland coast stops near 33.7.
    assert 33.65 < miny < 33.75
    assert maxy == pytest.approx(34.8233, abs=1e-3)
    centre, zoom = maps.map_view(gj["csi"]["view_bounds"], 760, 680)
    assert miny < centre["lat"] < maxy and minx < centre["lon"] < maxx
    # A bigger canvas zooms in; doubling both sides is one zoom level.
    assert maps.map_view(gj["csi"]["view_bounds"], 1520, 1360)[1] == pytest.approx(zoom + 1)


def test_display_boundaries_reads_once_per_file_version(tmp_path, monkeypatch):
    path = tmp_path / "spa.geojson"
    path.write_bytes(SPA_2022.read_bytes())
    calls = []
    real = boundaries.load_spa_boundaries
    monkeypatch.setattr(boundaries, "load_spa_boundaries", lambda p: calls.append(p) or real(p))
    boundaries._display_boundaries.cache_clear()
    first = boundaries.display_boundaries(path)
    assert boundaries.display_boundaries(str(path)) is first
    assert len(calls) == 1
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was replaced
    assert boundaries.display_boundaries(path) is not first
    assert len(calls) == 2


def test_missing_spa_is_noted_and_the_rest_draw(tmp_path):
    src = json.loads(SPA_2022.read_text())
    src["features"] = [f for f in src["features"] if f["properties"]["SPA_NUM"] != 6]
    assert len(src["features"]) == 7
    path = tmp_path / "seven.geojson"
    path.write_text(json.dumps(src))

    gj = boundaries.display_boundaries(path)
    assert gj["csi"]["missing_spas"] == [6]
    assert maps.missing_spas(gj) == [6]
    df = pl.DataFrame({"spa": list(range(1, 9)), "rate": [0.1 + n / 100 for n in range(1, 9)],
                       "schools_n": [5] * 8, "suppressed": [False] * 8})
    fig = maps.spa_choropleth(gj, df, "rate", label="Chronic absenteeism", unit="rate")
    assert _locations(fig) == [1, 2, 3, 4, 5, 7, 8]
    notes = " ".join(a.text for a in fig.layout.annotations)
    assert "Not in the boundary file: SPA 6 South" in notes


def test_projected_crs_is_reprojected_back(tmp_path):
    src = SPA_2022
    projected = gpd.read_file(src).to_crs(2229)  # NAD83 / California zone 5 (US feet)
    path = tmp_path / "spa_2229.gpkg"
    projected.to_file(path)
    assert gpd.read_file(path).crs.to_epsg() == 2229

    gj = boundaries.display_boundaries(path)
    ref = boundaries.display_boundaries(src)
    assert [f["id"] for f in gj["features"]] == list(range(1, 9))
    for a, b in zip(gj["features"], ref["features"]):
        ca, cb = shape(a["geometry"]).centroid, shape(b["geometry"]).centroid
        assert -119 < ca.x < -117.6 and 33.3 < ca.y < 34.9  # degrees, not feet
        assert ca.distance(cb) < 1e-3, a["id"]
    pts = _geocoded_rows()
    for cds, spa in KNOWN_SCHOOLS.items():
        assert _spa_of(gj, *pts[cds]) == [spa]


@pytest.mark.parametrize("content", [b"\x00\x01 not a geojson at all", b'{"type": "FeatureCollection", "feat'])
def test_unreadable_file_names_the_file(tmp_path, content):
    path = tmp_path / "broken.geojson"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        boundaries.display_boundaries(path)
    assert "broken.geojson" in str(err.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(InputError) as err:
        boundaries.display_boundaries(tmp_path / "nowhere.geojson")
    assert "nowhere.geojson" in str(err.value)


# --------------------------------------------------------------------------- the choropleth

SECRET = 0.4321987  # a value that must never reach the figure


def _spa_frame(suppress: tuple[int, ...] = (), missing: tuple[int, ...] = ()) -> pl.DataFrame:
    rows = []
    for n in range(1, 9):
        if n in missing:
            continue
        hidden = n in suppress
        rows.append({"spa": n, "rate": SECRET if hidden else 0.10 + n / 100, "schools_n": 10 * n,
                     "suppressed": hidden, "color": None if hidden else ["Red", "Orange", "Yellow", "Green"][n % 4]})
    return pl.DataFrame(rows)


def test_choropleth_draws_eight_spas_offline_style():
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Chronic absenteeism", unit="rate",
                              color_col="color")
    assert _locations(fig) == list(range(1, 9))
    style = fig.layout.map.style
    assert style.startswith("data:application/json,")  # inline, nothing to fetch
    style = json.loads(unquote(style.split(",", 1)[1]))
    assert style["layers"][0]["paint"]["background-color"] == "#FFFFFF"
    assert "glyphs" not in style and style["sources"] == {}  # no font or tile server to reach
    assert {t.type for t in fig.data} <= {"choroplethmap", "scattermap"}  # never the CDN-backed geo subplot
    spec = fig.to_json()
    assert "mapbox" not in spec and "tiles" not in spec and "http" not in spec
    # Inline GeoJSON, not a URL to fetch.
    assert all(isinstance(t.geojson, dict) for t in fig.data if t.type == "choroplethmap")
    main = next(t for t in fig.data if t.type == "choroplethmap" and t.showscale is not False)
    hover = {row[0]: row for row in main.customdata}
    # SPA 3: 0.13 -> 13.0%, 30 schools, Dashboard colour with its name.
    assert hover[3][2] == "Chronic absenteeism: 13.0%"
    assert hover[3][3] == "30 schools"
    assert hover[3][4] == "Dashboard-style colour (computed): Green"  # a pooled SPA: CDE colours none
    assert main.colorbar.tickformat == ".0%"
    labels = [t for t in fig.data if t.type == "scattermap" and t.name == "SPA labels"]
    texts = [x for t in labels for x in t.text]
    assert len(texts) == 8 and "Metro<br>14.0%" in texts
    # Labels hover and click like their SPA (Streamlit's plotly.js has no polygon hover).
    label_rows = {row[0]: list(row) for t in labels for row in t.customdata}
    assert label_rows[3] == list(hover[3])
    assert fig.layout.map.center.lat > 33.7  # mainland, not Catalina


def test_hover_names_hidden_school_figures_left_out_and_unconfirmed_cut_sets():
    gj = boundaries.display_boundaries(SPA_2022)
    df = _spa_frame().with_columns(
        pl.when(pl.col("spa") == 3).then(2).when(pl.col("spa") == 4).then(1).otherwise(0).alias("suppressed_schools_n"),
        pl.when(pl.col("spa") == 3).then(pl.lit("Suspension, unified cut scores not confirmed for the 2025 Dashboard"))
        .alias("cut_set_note"))
    fig = maps.spa_choropleth(gj, df, "rate", label="Suspension rate", unit="rate", color_col="color")
    main = next(t for t in fig.data if t.type == "choroplethmap" and t.showscale is not False)
    hover = {row[0]: row for row in main.customdata}
    assert hover[3][3] == "30 schools (2 hidden school figures left out)"
    assert hover[4][3] == "40 schools (1 hidden school figure left out)"
    assert hover[5][3] == "50 schools"
    assert hover[3][4] == ("Dashboard-style colour (computed): Green (Suspension, unified cut scores not confirmed "
                           "for the 2025 Dashboard)")
    assert "not confirmed" not in hover[4][4]


def test_labels_stay_black_over_the_school_points():
    # The school points under the labels are mostly light Dashboard colours: white text
    # over them is unreadable, so only the dark ends of the change scale get white.
    gj = boundaries.display_boundaries(SPA_2022)
    rate = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Rate", unit="rate")
    colours = {t.textfont.color for t in rate.data if t.name == "SPA labels"}
    assert colours == {maps.TEXT_COLOR}
    change = pl.DataFrame({"spa": list(range(1, 9)), "v": [-8.0, -4.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0],
                           "schools_n": [40] * 8, "suppressed": [False] * 8})
    fig = maps.spa_choropleth(gj, change, "v", label="Change", unit="pp")
    by_colour = {t.textfont.color: [x.split("<br>")[0] for x in t.text] for t in fig.data if t.name == "SPA labels"}
    assert set(by_colour.get("white", [])) == {"Antelope Valley", "South Bay"}  # the two extremes


def test_suppressed_values_never_reach_the_figure():
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(suppress=(6,)), "rate", label="Suspension rate", unit="rate",
                              color_col="color")
    spec = fig.to_json()
    assert "0.4321987" not in spec and "43.2" not in spec
    assert _locations(fig) == list(range(1, 9))  # still drawn, in grey
    grey = next(t for t in fig.data if t.type == "choroplethmap" and list(t.locations) == [6])
    assert grey.customdata[0][2] == "Suspension rate: suppressed (<11 students)"
    assert 6 not in [int(n) for t in fig.data if t.type == "choroplethmap" and t is not grey for n in t.locations]
    texts = [x for t in fig.data if t.type == "scattermap" and t.name == "SPA labels" for x in t.text]
    assert "South<br>suppressed" in texts
    assert any("SPA 6 South" in a.text and "suppressed" in a.text for a in fig.layout.annotations)


def test_no_data_spa_is_grey_and_says_so():
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(missing=(2,)), "rate", label="Rate", unit="rate")
    grey = next(t for t in fig.data if t.type == "choroplethmap" and 2 in list(t.locations))
    assert grey.customdata[0][2] == "Rate: no data"
    assert _locations(fig) == list(range(1, 9))


@pytest.mark.parametrize("unit,value,text,tick", [
    ("rate", 0.2345, "23.5%", ".0%"),  # half up, as the levels round (it read 23.4% before)
    ("pp", -1.25, "-1.3 pp", "+.1f"),
    ("usd", 2_450_000, "$2.5M", "$~s"),
    ("count", 1234, "1,234", ",d"),
])
def test_values_in_plain_units(unit, value, text, tick):
    gj = boundaries.display_boundaries(SPA_2022)
    df = pl.DataFrame({"spa": [1, 2], "v": [float(value), value / 2], "suppressed": [False, False]})
    fig = maps.spa_choropleth(gj, df, "v", label="Measure", unit=unit)
    main = next(t for t in fig.data if t.type == "choroplethmap" and t.showscale is not False)
    assert main.customdata[0][2] == f"Measure: {text}"
    assert main.colorbar.tickformat == tick
    if unit == "pp":
        assert main.zmin == -main.zmax  # diverging, zero in the middle


def test_highlighted_spa_is_outlined():
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Rate", unit="rate", highlight_spa=4)
    outline = [t for t in fig.data if t.type == "scattermap" and t.name == "Selected SPA"]
    assert len(outline) == 1
    lons = [x for x in outline[0].lon if x is not None]
    metro = shape(gj["features"][3]["geometry"])
    assert min(lons) == pytest.approx(metro.bounds[0]) and max(lons) == pytest.approx(metro.bounds[2])


# --------------------------------------------------------------------------- school points

def _schools() -> pl.DataFrame:
    return pl.DataFrame({
        "cds_code": ["19000000000001", "19000000000002", "19000000000003", "19000000000004"],
        "school_name": ["Demo Alder Elementary", "Demo Birch High", "Demo Cedar Middle", "Demo Dogwood K-8"],
        "district_name": ["Demo Unified"] * 4,
        "latitude": [34.0, 34.1, 33.9, None],
        "longitude": [-118.2, -118.3, -118.1, None],
        "spa_n": [4, 2, 7, 4],
        "cohort": [1, 2, 1, 2],
        "rate": [0.25, 0.1, None, 0.3],
        "enrolled_n": [400, 1600, None, 300],
        "suppressed": [False, False, True, False],
        "dashboard_color": ["Red", "Blue", None, "Green"],
    })


def test_school_points_by_dashboard_colour_name_each_colour():
    traces = maps.school_points(_schools(), color_by="dashboard_color", label="Chronic absenteeism")
    named = {t.name: t for t in traces if t.showlegend is not False}
    # The school without coordinates is left off; colours are named, not hue alone.
    assert set(named) == {"Schools: Red", "Schools: Blue", f"Schools: {maps.NO_COLOR_LABEL}"}
    assert named["Schools: Red"].marker.color == maps.DASHBOARD_COLORS["Red"]
    red = named["Schools: Red"].customdata[0]
    assert red[1] == "Demo Alder Elementary"
    assert "Chronic absenteeism: 25.0%" in red[2] and "400 students" in red[2] and "Dashboard-style colour (computed): Red" in red[2]
    hidden = named[f"Schools: {maps.NO_COLOR_LABEL}"].customdata[0]
    assert "suppressed (<11 students)" in hidden[2] and "students<" not in hidden[2]
    # Bigger school, bigger point; 4x the enrolment is 2x the diameter above the minimum.
    small, big = named["Schools: Red"].marker.size[0], named["Schools: Blue"].marker.size[0]
    assert big == maps.POINT_MAX_PX and small == pytest.approx(maps.POINT_MIN_PX + (big - maps.POINT_MIN_PX) / 2)
    assert named[f"Schools: {maps.NO_COLOR_LABEL}"].marker.size[0] == maps.POINT_MIN_PX
    assert traces[0].hoverinfo == "skip" and len(traces[0].lat) == 3  # outline layer under every point


def test_school_points_by_cohort():
    traces = maps.school_points(_schools(), color_by="cohort")
    named = {t.name: t for t in traces if t.showlegend is not False}
    assert set(named) == {"Schools: Cohort 1", "Schools: Cohort 2"}
    assert len(named["Schools: Cohort 1"].lat) == 2
    assert named["Schools: Cohort 1"].marker.color != named["Schools: Cohort 2"].marker.color


def test_school_points_on_the_map():
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Rate", unit="rate",
                              points=maps.school_points(_schools()))
    pts = [t for t in fig.data if t.type == "scattermap" and t.mode == "markers" and t.showlegend is not False]
    assert sum(len(t.lat) for t in pts) == 3
    assert fig.layout.showlegend is True


# --------------------------------------------------------------------------- tile map fallback

def test_tile_map_has_eight_labelled_tiles_and_no_map():
    fig = maps.spa_tile_map(_spa_frame(suppress=(6,)), "rate", label="Chronic absenteeism", unit="rate",
                            color_col="color")
    assert len(fig.layout.shapes) == 8
    texts = [a.text for a in fig.layout.annotations]
    for n, name in codes.SPA_NAMES.items():
        assert any(f"SPA {n}</b><br>{name}" in t for t in texts), name
    assert any("South<br><b>suppressed</b>" in t for t in texts)
    assert any("Metro<br><b>14.0%</b>" in t for t in texts)
    assert all(t.type == "scatter" for t in fig.data)  # plain shapes, no map subplot
    spec = fig.to_json()
    assert "0.4321987" not in spec and '"map"' not in spec
    # Laid out like the county: Antelope Valley on top, South Bay and South at the bottom.
    rects = {maps.TILE_LAYOUT[n]: n for n in maps.TILE_LAYOUT}
    top = max(rects, key=lambda r: r[3])
    assert rects[top] == 1
    assert {rects[r] for r in rects if r[1] == 0.0} == {6, 8}
    hover = {row[0]: row for row in fig.data[0].customdata}
    assert hover[6][2] == "Chronic absenteeism: suppressed (<11 students)"
    assert hover[3][4] == "Dashboard-style colour (computed): Green"  # a pooled SPA: CDE colours none


# --------------------------------------------------------------------------- click to filter

def test_selected_spa_and_school_from_plotly_selection():
    assert maps.selected_spa({"selection": {"points": [{"location": 5, "curve_number": 1}]}}) == 5
    assert maps.selected_spa({"selection": {"points": [{"customdata": [3, "SPA 3 San Gabriel"]}]}}) == 3
    assert maps.selected_spa({"selection": {"points": []}}) is None
    assert maps.selected_spa(None) is None
    school = {"selection": {"points": [{"customdata": ["19000000000001", "Demo Alder", "..."]}]}}
    assert maps.selected_school(school) == "19000000000001"
    assert maps.selected_spa(school) is None


# --------------------------------------------------------------------------- map data from a hand-built database

@pytest.fixture
def small_db():
    con = mf.new_db()
    mf.add_district(con, mf.district_code(1), "unified")
    a, b, c, d = (mf.cds(1, i) for i in (1, 2, 3, 4))
    mf.add_school(con, a, spa=1, community=True, cohort=1, school_type="ES", name="Demo Ash Elementary")
    mf.add_school(con, b, spa=1, community=False, school_type="HS")
    mf.add_school(con, c, spa=2, community=True, cohort=2, school_type="HS", name="Demo Cherry High")
    mf.add_school(con, d, spa=3, community=True, cohort=1, school_type="MS")
    con.execute("UPDATE schools SET latitude = 34.0, longitude = -118.2 WHERE cds_code <> ?", [d])
    for year, rows in {"2023-24": [(a, 30, 100), (b, 10, 50), (c, 45, 300), (d, 3, 8)],
                       "2022-23": [(a, 20, 100), (b, 10, 50), (c, 60, 300), (d, 2, 9)]}.items():
        for code, num, den in rows:
            mf.add_outcome(con, "chronic_absenteeism", year, code, num, den)
            if code in (a, d):  # the elementary and middle schools' TK-8 rows: the indicator's own
                mf.add_outcome(con, "chronic_absenteeism", year, code, num, den, group="GRTK8")
    yield con
    con.close()


def test_spa_measure_pools_and_suppresses(small_db):
    df = geo.spa_measure(small_db, "chronic_absenteeism", Filters(year="2023-24", spa=2))  # spa filter ignored
    got = {r["spa"]: r for r in df.iter_rows(named=True)}
    assert got[1]["rate"] == pytest.approx(40 / 150)  # pooled: (30+10)/(100+50), not the mean of rates
    assert got[1]["schools_n"] == 2
    assert got[2]["rate"] == pytest.approx(45 / 300)
    assert got[3]["rate"] is None and got[3]["suppressed"]  # 8 students
    # Placed on TK-8 rows: SPA 1's high school has none, so Ash alone: 30.0% Very High,
    # +10.0 pp Increased Significantly -> Red (its all-grades 26.7% is what the map shows).
    assert got[1]["placed_rate"] == pytest.approx(0.30) and got[1]["placed_group"] == "GRTK8"
    assert got[1]["color"] == "Red" and got[1]["level_source"] == "computed"
    # SPA 2 is one high school: no TK-8 students, no chronic absenteeism colour (it had one before)
    assert got[2]["color"] is None and got[2]["level_note"] == "not applicable: the indicator covers grades TK-8"


def test_spa_measure_counts_community_schools(small_db):
    df = geo.spa_measure(small_db, "community_schools_n", Filters(year="2023-24"))
    assert dict(df.select("spa", "community_schools_n").iter_rows()) == {1: 1, 2: 1, 3: 1}
    df = geo.spa_measure(small_db, "community_schools_n", Filters(cohort=1))
    assert dict(df.select("spa", "community_schools_n").iter_rows()) == {1: 1, 3: 1}


def test_spa_measure_funding_counts_every_award_year(small_db):
    mf.add_grant(small_db, "G1", mf.cds(1, 1), 100_000, year="2022-23")
    mf.add_grant(small_db, "G2", mf.cds(1, 1), 50_000, year="2023-24")
    mf.add_grant(small_db, "G3", mf.cds(1, 3), 200_000, year="2023-24")
    # The selected school year has no awards yet; the map shows every award year.
    df = geo.spa_measure(small_db, "ccspp_usd", Filters(year="2024-25"))
    assert dict(df.select("spa", "amount_usd").iter_rows()) == {1: 150_000, 2: 200_000}


def test_spa_measure_change_since_baseline(small_db):
    df = geo.spa_measure(small_db, "chronic_absenteeism_since_baseline", Filters(year="2023-24"))
    got = {r["spa"]: r for r in df.iter_rows(named=True)}
    assert got[1]["since_baseline_pp"] == pytest.approx((40 / 150 - 30 / 150) * 100)
    assert got[2]["since_baseline_pp"] == pytest.approx((45 / 300 - 60 / 300) * 100)
    assert got[3]["since_baseline_pp"] is None
    assert got[1]["baseline_year"] == "2022-23"


def test_school_points_frame(small_db):
    df = geo.school_points_frame(small_db, "chronic_absenteeism", Filters(year="2023-24"))
    got = {r["school_name"]: r for r in df.iter_rows(named=True)}
    assert set(df["cds_code"]) == {mf.cds(1, 1), mf.cds(1, 3), mf.cds(1, 4)}  # community schools only
    ash = got["Demo Ash Elementary"]
    assert ash["rate"] == pytest.approx(0.30) and ash["enrolled_n"] == 100 and ash["cohort"] == 1
    assert ash["dashboard_color"] == "Red"  # 30.0% Very High, +10 pp
    cherry = got["Demo Cherry High"]
    # a high school: no TK-8 students, so no chronic absenteeism colour (it got Yellow from all grades)
    assert cherry["rate"] == pytest.approx(0.15) and cherry["dashboard_color"] is None
    assert cherry["level_note"] == "not applicable: the indicator covers grades TK-8"
    hidden = df.filter(pl.col("cds_code") == mf.cds(1, 4)).row(0, named=True)
    assert hidden["suppressed"] and hidden["rate"] is None and hidden["enrolled_n"] is None


# --------------------------------------------------------------------------- export

def test_a_map_exports_at_presentation_size_through_the_one_exporter():
    from csi_metrics.figures import export

    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Rate", unit="rate")
    data = export.figure_bytes(fig, "png", title="Rate by SPA")
    assert support.png_size(data) == (1920, 1080)
    assert export.figure_bytes(fig, "png", title="Rate by SPA") == data  # cached per figure spec


def _projector_map(show: str = "on"):
    from csi_metrics.figures import projector  # noqa: PLC0415
    gj = boundaries.display_boundaries(SPA_2022)
    fig = maps.spa_choropleth(gj, _spa_frame(), "rate", label="Rate", unit="rate", title="Rate by SPA",
                              points=maps.school_points(_schools(), show=show))
    return projector.slide_figure(fig)


def test_projector_map_draws_labels_above_the_points_on_a_halo():
    fig = _projector_map()
    names = [t.name for t in fig.data]
    last_point = max(i for i, n in enumerate(names) if (n or "").startswith("School"))
    halos = [i for i, n in enumerate(names) if n == maps.HALO_NAME]
    labels = [i for i, n in enumerate(names) if n == "SPA labels"]
    assert halos and labels and last_point < min(halos) and max(halos) < max(labels)
    for h, lab in zip(halos, labels):  # each label group sits on its own halo, just under it
        assert lab == h + 1
        halo, label = fig.data[h], fig.data[lab]
        assert list(halo.text) == list(label.text) and halo.textposition == label.textposition
        assert halo.textfont.color == "white" and label.textfont.color == maps.TEXT_COLOR
        assert halo.textfont.size > label.textfont.size >= 24
        assert halo.hoverinfo == "skip"  # the hover and click stay on the label


def test_projector_map_keeps_the_legend_off_the_title_and_the_map_large():
    from csi_metrics.figures import projector  # noqa: PLC0415
    fig = _projector_map()
    assert fig.layout.legend.orientation == "v" and fig.layout.legend.x == 0
    assert fig.layout.margin.t <= projector.MAP_TITLE_PX
    # The county's mainland extent in pixels at the slide's zoom, against the slide.
    bounds = maps._figure_view_bounds(fig)
    scale = 512 * 2 ** fig.layout.map.zoom / 360      # MapLibre: 512 px tiles
    width_px = (bounds[2] - bounds[0]) * scale
    import math  # noqa: PLC0415
    merc = lambda lat: math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))  # noqa: E731
    height_px = (merc(bounds[3]) - merc(bounds[1])) * scale
    # The county is about as tall as wide: on a wide slide its height is what can grow. It
    # takes the slide's height under the title (a legend row above it took 40 px more).
    assert height_px >= 0.85 * (projector.SLIDE_HEIGHT_PX - projector.MAP_TITLE_PX), height_px
    assert width_px * height_px / (projector.SLIDE_WIDTH_PX * projector.SLIDE_HEIGHT_PX) >= 0.22


@pytest.mark.parametrize("show,opacity", [("on", 1.0), ("dim", maps.DIM_OPACITY)])
def test_school_points_can_be_dimmed_or_switched_off(show, opacity):
    traces = maps.school_points(_schools(), show=show)
    assert traces and {t.marker.opacity for t in traces} == {opacity}
    assert maps.school_points(_schools(), show="off") == []
    with pytest.raises(ValueError, match="show must be one of"):
        maps.school_points(_schools(), show="faint")
