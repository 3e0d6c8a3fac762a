"""SPA assignment of real school coordinates against the official LA County
boundary layers kept in the repository (the shipped 2022 display layer, the
2012 layer simplified the same way; tests/fixtures/boundaries/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from csi_metrics.ingest import boundaries as bnd
from csi_metrics.ingest import build, cde
from csi_metrics.vocabulary.errors import InputError
from fixture_paths import DIRECTORY_EXCERPT, SPA_2012, SPA_2022, SPA_2022_FULL_EXCERPT
import fixture_paths

LAYERS = {"2022": SPA_2022, "2012": SPA_2012}

# SOURCES.md section 1: schools whose SPA was checked by hand.
KNOWN = {
    "19101990000000": 7,  # LACOE, Downey
    "19643111930981": 5,  # Beverly Hills High
    "19643291931088": 3,  # Bonita High
    "19101990115030": 8,  # Magnolia Science Academy 3, Carson
    "19101990106880": 4,  # Jardin de la Infancia, downtown
}


@pytest.fixture(scope="module")
def excerpt_points() -> pl.DataFrame:
    """Every geocoded row of the official directory excerpt, district rows included."""
    df, _ = cde.read_text_table(DIRECTORY_EXCERPT,
                                ["CDSCode", "School", "Latitude", "Longitude"], "\t",
                                quote_char=None, null_values=[cde.NO_DATA])
    return df.filter(pl.col("Latitude").is_not_null()).with_columns(
        pl.col("Latitude").cast(pl.Float64), pl.col("Longitude").cast(pl.Float64))


@pytest.fixture(scope="module")
def layers():
    return {name: bnd.load_spa_boundaries(path) for name, path in LAYERS.items()}


def spa_by_cds(gdf, points: pl.DataFrame) -> dict[str, int | None]:
    spa = bnd.assign_spa(gdf, points["Longitude"].to_pandas(), points["Latitude"].to_pandas())
    return {c: (None if s is None or str(s) == "<NA>" else int(s)) for c, s in zip(points["CDSCode"], spa.tolist())}


def test_excerpt_has_49_geocoded_rows(excerpt_points):
    assert excerpt_points.height == 49
    assert set(KNOWN) <= set(excerpt_points["CDSCode"])
    assert excerpt_points.filter(pl.col("CDSCode") == "19101990115030")["School"].item().startswith("Magnolia Science Academy 3")


@pytest.mark.parametrize("name", LAYERS)
def test_known_answers(layers, excerpt_points, name):
    got = spa_by_cds(layers[name], excerpt_points)
    assert {c: got[c] for c in KNOWN} == KNOWN


def test_every_school_in_exactly_one_spa_and_vintages_agree(layers, excerpt_points):
    answers = {name: spa_by_cds(layers[name], excerpt_points) for name in LAYERS}
    first = answers["2022"]
    assert None not in first.values() and len(first) == 49
    for name in LAYERS:
        assert answers[name] == first, name


def test_2012_layer_joins_on_number_not_swapped_labels(layers):
    # The 2012 file's ABBV/LABEL are swapped; the loader keys on SPA_2012, so names match 2022.
    a, b = layers["2012"], layers["2022"]
    assert a["spa_n"].tolist() == b["spa_n"].tolist() == list(range(1, 9))
    assert a["spa_name"].tolist() == b["spa_name"].tolist()


def test_build_assignment_counts_schools_without_coordinates(layers):
    directory = cde.read_directory(DIRECTORY_EXCERPT)
    schools, reasons = build.assign_school_spas(directory.schools, layers["2022"], None)
    assert schools.height == 52  # kept, not dropped
    assert schools.filter(pl.col("spa_n").is_null()).height == 7
    assert set(schools.filter(pl.col("spa_n").is_null())["latitude"].to_list()) == {None}
    assert reasons == [("no coordinates: SPA unassigned", 7, 4)]  # first: line 4, 19101990102145
    bh = schools.filter(pl.col("cds_code") == "19643111930981").row(0, named=True)
    assert (bh["spa_n"], bh["spa_source"]) == (5, "boundary")


def test_point_outside_county_is_unassigned(layers):
    # An LA code with coordinates that miss every polygon (a typo'd point in the ocean).
    pts = pl.DataFrame({"cds_code": ["19753096000009"], "county_code": ["19"], "latitude": [33.60],
                        "longitude": [-118.60],
                        "spa_n": [None], "spa_source": [None], "_row": [0]},
                       schema_overrides={"spa_n": pl.Int32, "spa_source": pl.Utf8, "_row": pl.UInt32})
    schools, reasons = build.assign_school_spas(pts, layers["2022"], None)
    assert schools["spa_n"].to_list() == [None] and schools["spa_source"].to_list() == [None]
    assert reasons == [("outside every SPA polygon: SPA unassigned", 1, 2)]
    elsewhere = pts.with_columns(cds_code=pl.lit("01612596000007"), county_code=pl.lit("01"),
                                 latitude=pl.lit(37.8044), longitude=pl.lit(-122.2711))
    _, reasons = build.assign_school_spas(elsewhere, layers["2022"], None)
    assert reasons == [("outside LA County: no SPA", 1, 2)]


# ---------------------------------------------------------------- SPAs partition the county

BANDS = fixture_paths.MALFORMED / "boundaries" / "valid_bands.geojson"


def bands_with(tmp_path: Path, edit) -> Path:
    """The eight-band test layer (SPA n spans lon -119.2+0.2n .. -119.0+0.2n) after `edit(features)`."""
    doc = json.loads(BANDS.read_text())
    edit(doc["features"])
    p = tmp_path / "layer.geojson"
    p.write_text(json.dumps(doc))
    return p


def box(x0, y0, x1, y1) -> list:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


@pytest.mark.parametrize("path", [SPA_2022, SPA_2012, SPA_2022_FULL_EXCERPT, BANDS], ids=lambda p: p.name)
def test_real_layers_have_no_overlap(path):
    assert len(bnd.load_spa_boundaries(path)) in (5, 8)


def test_spa_grown_over_its_neighbour_is_refused(tmp_path):
    def grow(features):  # SPA 3 (-118.6..-118.4) reaches 0.05 degrees into SPA 4
        features[2]["geometry"]["coordinates"] = box(-118.6, 32.8, -118.35, 34.85)
    p = bands_with(tmp_path, grow)
    with pytest.raises(InputError) as err:
        bnd.load_spa_boundaries(p)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), None, "geometry")
    import geopandas as gpd
    import shapely
    overlap = gpd.GeoSeries([shapely.box(-118.4, 32.8, -118.35, 34.85)], crs=4326).to_crs(3310).area.iloc[0]
    import re
    said = re.match(r"SPA 3 and SPA 4 overlap by ([0-9,.]+) km2", e.message)
    assert said and float(said.group(1).replace(",", "")) == pytest.approx(overlap / 1e6, rel=1e-3)
    assert "SPAs only share borders" in e.message


def test_sliver_below_the_limit_is_accepted(tmp_path):
    def grow(features):  # 1e-6 degrees (0.09 m) over 2.05 degrees of latitude: about 0.02 km2
        features[2]["geometry"]["coordinates"] = box(-118.6, 32.8, -118.399999, 34.85)
    assert len(bnd.load_spa_boundaries(bands_with(tmp_path, grow))) == 8


def test_enclave_without_its_hole_is_not_an_overlap(tmp_path):
    """As the 2022 layer's Signal Hill: a detached part of SPA 2 inside SPA 6, which has no hole for it."""
    def enclave(features):
        features[1]["geometry"] = {"type": "MultiPolygon", "coordinates": [
            features[1]["geometry"]["coordinates"], box(-117.95, 34.0, -117.9, 34.05)]}
    layer = bnd.load_spa_boundaries(bands_with(tmp_path, enclave))
    got = bnd.assign_spa(layer, pd.Series([-117.925, -117.85]), pd.Series([34.025, 34.025]))
    assert got.tolist() == [2, 6]


def test_spa_swallowed_whole_is_an_overlap(tmp_path):
    def swallow(features):  # SPA 4 drawn again, whole, inside SPA 3 grown to cover it
        features[2]["geometry"]["coordinates"] = box(-118.6, 32.8, -118.2, 34.85)
    with pytest.raises(InputError, match="SPA 3 and SPA 4 overlap"):
        bnd.load_spa_boundaries(bands_with(tmp_path, swallow))
