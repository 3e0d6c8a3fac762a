"""Official LA County SPA boundaries: read either eGIS vintage, normalise to
one frame keyed on the SPA number, and assign points to SPAs."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.ops import polylabel

from csi_metrics.ingest import cde
from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.errors import InputError

# The number field names each vintage uses. 2012's ABBV/LABEL are swapped
# relative to 2022, so the number is the only safe join key.
SPA_NUMBER_FIELDS = ("SPA_NUM", "SPA_2012")

# LA County (islands included) spans lon -118.95..-117.65, lat 32.79..34.83. A layer
# whose lon/lat falls outside this box, with a margin, was declared in the wrong CRS
# (e.g. lon/lat labelled EPSG:3857, or feet labelled as degrees): every school
# would land outside every SPA and the build would say nothing.
LA_EXTENT = (-119.5, 32.5, -117.2, 35.2)


def load_spa_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read a boundary file into columns spa_n (int 1..8), spa_name, geometry, in EPSG:4326.

    Raises InputError naming the file for an unreadable file (a GeoJSON that is
    gzip, zip or UTF-16 said so), a file without an SPA number field, numbers
    outside 1..8, invalid geometry, or SPAs that overlap. A file missing
    some SPAs is returned as is: callers decide (see missing_spas)."""
    p = Path(path)
    if p.suffix.lower() in (".geojson", ".json") and p.is_file():
        # GDAL's own errors for these name neither the kind of file nor the fix.
        # (A .zip or .gpkg is a format GDAL reads, so only JSON is sniffed.)
        with open(p, "rb") as f:
            head = f.read(4096)
        cde.sniff_file_kind(head, p, "or fetch it again: python -m csi_metrics fetch-boundaries", line_ends=False)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types; the user needs the file named
        line, column = _where_unreadable(p)
        raise InputError(p, f"cannot read boundary file: {exc}", line=line, column=column) from exc
    field = next((f for f in SPA_NUMBER_FIELDS if f in gdf.columns), None)
    if field is None:
        raise InputError(p, f"no SPA number field; expected one of {', '.join(SPA_NUMBER_FIELDS)}", column="SPA_NUM")
    declared = gdf.crs.to_string() if gdf.crs else "none declared, so EPSG:4326"
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    b = gdf.geometry.bounds
    lo_x, lo_y, hi_x, hi_y = LA_EXTENT
    away = (b["minx"] < lo_x) | (b["miny"] < lo_y) | (b["maxx"] > hi_x) | (b["maxy"] > hi_y)
    if away.fillna(False).any():
        i = int(away.fillna(False).to_numpy().nonzero()[0][0])
        row = b.iloc[i]
        raise InputError(p, f"coordinates ({row['minx']:.4g}, {row['miny']:.4g})..({row['maxx']:.4g}, "
                            f"{row['maxy']:.4g}) are not over LA County in EPSG:4326; the file's CRS "
                            f"({declared}) is wrong or unknown",
                         line=i + 1, column="geometry")
    nums = pd.to_numeric(gdf[field], errors="coerce")
    bad = nums.isna() | ~nums.isin(range(1, 9))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(p, f"SPA number {str(gdf[field].iloc[i])!r} is not 1-8", line=i + 1, column=field)
    # The official 2022 layer (full and simplified) nests a small shell inside
    # another in SPA 8's MultiPolygon; "structure" repair unions nested shells
    # (area kept) where the default "linework" repair would punch a hole.
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].to_numpy(), method="structure")
    # A ring that collapses to a line "repairs" into a LineString: not an area, so refused.
    not_area = ~gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    bad_geom = ~gdf.geometry.is_valid | gdf.geometry.is_empty | gdf.geometry.isna() | not_area
    if bad_geom.any():
        i = int(bad_geom.to_numpy().nonzero()[0][0])
        raise InputError(p, "invalid or empty geometry", line=i + 1, column="geometry")
    out = gpd.GeoDataFrame(
        {"spa_n": nums.astype(int).to_numpy(), "spa_name": [codes.SPA_NAMES[int(n)] for n in nums]},
        geometry=gdf.geometry.to_numpy(),
        crs=4326,
    )
    out = out.dissolve(by="spa_n", as_index=False).sort_values("spa_n").reset_index(drop=True)
    check_no_overlap(p, out)
    return out


# SPAs partition the county, so official layers only share edges. Largest pairwise
# overlap measured (EPSG:3310, enclaves set aside as below): 0 m2 on the shipped 2022
# display layer, the 2012 layer and the full-resolution 2022 excerpt alike.
# 0.1 km2 is far above that (room for a full layer's digitising slivers) and far
# below any SPA drawn over a neighbour (SPA 6, the smallest, is 180 km2).
OVERLAP_LIMIT_M2 = 100_000
# California Albers, equal-area: an area limit means the same all over the county.
EQUAL_AREA_CRS = 3310


def check_no_overlap(path: Path, spas: gpd.GeoDataFrame) -> None:
    """Refuse a layer where two SPAs overlap by more than OVERLAP_LIMIT_M2: a school
    there would belong to both, and the map would draw one over the other.

    An enclave is not counted: a detached part of one SPA lying wholly inside
    another that has no hole for it. The 2022 layer has one, Signal Hill (SPA 7,
    5.67 km2) inside SPA 8, whose hole is a nested shell that make_valid fills;
    assign_spa gives such points to the first SPA by number, here SPA 7."""
    eq = spas.to_crs(EQUAL_AREA_CRS)
    geoms, nums = eq.geometry.to_numpy(), eq["spa_n"].to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for i, j in zip(left, right):
        if i >= j:
            continue
        area = float(shapely.intersection(geoms[i], geoms[j]).area)
        if area > OVERLAP_LIMIT_M2:
            area -= _enclave_area(geoms[i], geoms[j]) + _enclave_area(geoms[j], geoms[i])
        if area > OVERLAP_LIMIT_M2:
            raise InputError(path, f"SPA {nums[i]} and SPA {nums[j]} overlap by {area / 1e6:,.2f} km2; SPAs only "
                                   "share borders, so one is drawn over the other", column="geometry")


def _enclave_area(inner, outer) -> float:
    """Area of `inner`'s parts that lie wholly inside `outer`, when `inner` has
    other parts outside it (an SPA swallowed whole is an overlap, not an enclave)."""
    parts = list(getattr(inner, "geoms", [inner]))
    inside = [g for g in parts if float(shapely.intersection(g, outer).area) >= 0.999 * g.area]
    return 0.0 if len(inside) == len(parts) else sum(g.area for g in inside)


def _where_unreadable(p: Path) -> tuple[int | None, str | None]:
    """Only on the error path: for GeoJSON, the text line and character of a syntax
    error, or the 1-based feature whose ring is not closed (what GDAL refuses)."""
    import json

    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return exc.lineno, f"character {exc.colno}"
    except (OSError, UnicodeDecodeError):
        return None, None
    feats = doc.get("features") if isinstance(doc, dict) else None
    for i, feat in enumerate(feats if isinstance(feats, list) else [], start=1):
        geom = (feat or {}).get("geometry") or {}
        coords = geom.get("coordinates")
        polys = [coords] if geom.get("type") == "Polygon" else coords if geom.get("type") == "MultiPolygon" else []
        for poly in polys or []:
            for ring in poly or []:
                if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
                    return i, "geometry"
    return None, None


def missing_spas(boundaries: gpd.GeoDataFrame) -> list[int]:
    return sorted(set(range(1, 9)) - set(boundaries["spa_n"].tolist()))


def assign_spa(boundaries: gpd.GeoDataFrame, longitude: pd.Series, latitude: pd.Series) -> pd.Series:
    """SPA number for each point (nullable Int64); NA where the point is missing or outside every SPA."""
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(longitude.astype("float64"), latitude.astype("float64")), crs=4326
    )
    pts = pts.reset_index(drop=True)
    joined = gpd.sjoin(pts, boundaries[["spa_n", "geometry"]], how="left", predicate="within")
    # A point on a shared edge can match two SPAs; keep the first so the count stays one per school.
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["spa_n"].astype("Int64").reset_index(drop=True)


# --------------------------------------------------------------------------- the shipped display layer

# Coverage simplification (Visvalingam-Whyatt on shared edges, so neighbouring
# SPAs keep one common border and no slivers open between them). 0.0005 degrees
# takes the official 2022 layer from 107k to about 6k vertices (2012: 69k to
# 6.5k); the largest displacement (Hausdorff) is under 0.002 degrees, about
# 200 m or under 2 px on a 1080-px-high county view, and every SPA's area stays
# within 0.1%. 0.0007 (4.7k) already loses a 500 m coastal spike in 2012's West.
SIMPLIFY_TOLERANCE_DEG = 0.0005
# About 1 m: more digits only make the page heavier.
COORD_DECIMALS = 5


def simplify(gdf: gpd.GeoDataFrame, tolerance_deg: float = SIMPLIFY_TOLERANCE_DEG) -> gpd.GeoDataFrame:
    """The SPAs of `gdf` (load_spa_boundaries' frame) coverage-simplified and
    rounded to COORD_DECIMALS, same columns."""
    import numpy as np

    geoms = shapely.coverage_simplify(gdf.geometry.to_numpy(), tolerance_deg)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
    return gpd.GeoDataFrame({"spa_n": gdf["spa_n"].to_numpy(), "spa_name": gdf["spa_name"].to_numpy()},
                            geometry=geoms, crs=4326)


def fidelity(source: gpd.GeoDataFrame, simple: gpd.GeoDataFrame) -> dict[str, float]:
    """How far a simplified layer strays from its source, per the worst SPA:
    max Hausdorff distance (degrees) and max relative area change (percent)."""
    hd = [float(shapely.hausdorff_distance(a, b)) for a, b in zip(source.geometry, simple.geometry)]
    area = [abs(float(b.area) - float(a.area)) / float(a.area) * 100 for a, b in zip(source.geometry, simple.geometry)]
    return {"max_hausdorff_deg": max(hd), "max_area_change_pct": max(area)}


def write_display_layer(source_path: str | Path, out_path: str | Path, provenance: dict,
                        tolerance_deg: float = SIMPLIFY_TOLERANCE_DEG) -> dict:
    """Simplify the full official layer at `source_path` into `out_path` (GeoJSON,
    the official 2022 field names, WGS84) and write `<out>.provenance.json`
    beside it: `provenance` (address, vintage, date fetched, terms) plus the
    source's checksum and size and the simplification's method, tolerance and
    measured fidelity. Both files are written atomically. Returns the provenance."""
    import datetime as _dt
    import hashlib
    import json
    import os

    src, out = Path(source_path), Path(out_path)
    full = load_spa_boundaries(src)
    missing = missing_spas(full)
    if missing:
        raise InputError(src, f"boundary file lacks SPA {', '.join(map(str, missing))}", column="SPA_NUM")
    simple = simplify(full, tolerance_deg)
    fid = fidelity(full, simple)
    abbv = {n: a for n, _, a in codes.SPAS}
    features = [{
        "type": "Feature", "id": int(n),
        "properties": {"SPA_NUM": int(n), "SPA": str(int(n)), "SPA_NAME": str(name), "ABBV": abbv[int(n)],
                       "LABEL": f"SPA {int(n)}"},
        "geometry": shapely.geometry.mapping(g),
    } for n, name, g in zip(simple["spa_n"], simple["spa_name"], simple.geometry)]
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")) + "\n"
    record = {
        **provenance,
        "source_file": src.name,
        "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "source_vertices_n": int(shapely.get_num_coordinates(full.geometry.to_numpy()).sum()),
        "simplification": {
            "method": "shapely.coverage_simplify (Visvalingam-Whyatt on shared edges: neighbours keep one border)",
            "tolerance_deg": tolerance_deg,
            "coordinate_decimals": COORD_DECIMALS,
            "vertices_n": int(shapely.get_num_coordinates(simple.geometry.to_numpy()).sum()),
            "max_hausdorff_deg": round(fid["max_hausdorff_deg"], 6),
            "max_area_change_pct": round(fid["max_area_change_pct"], 4),
        },
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generated_by": "python -m csi_metrics simplify-boundaries",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, body in ((out, text), (provenance_path(out), json.dumps(record, indent=2) + "\n")):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, path)
    return record


def provenance_path(layer: str | Path) -> Path:
    """Where a layer's provenance record sits: beside it, `<name>.provenance.json`."""
    p = Path(layer)
    return p.with_name(p.name + ".provenance.json")


# --------------------------------------------------------------------------- boundaries for display

def display_boundaries(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The SPA boundaries as a GeoJSON FeatureCollection ready to draw.

    Features carry `id` = spa_n and properties spa_n, spa_name, label_lon,
    label_lat (a point well inside the SPA's largest part, for its label) and
    main_bounds (that part's lon/lat extent).
    The collection's foreign member "csi" holds source, missing_spas,
    vertices_n, source_vertices_n and view_bounds (mainland extent, islands
    left out). Read and simplified once per (path, modification time): treat
    the returned dict as read-only, it is shared. Raises InputError naming the
    file when it is missing or unreadable."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError as exc:
        raise InputError(p, f"cannot read boundary file: {exc.strerror or exc}") from exc
    return _display_boundaries(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _display_boundaries(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    gdf = load_spa_boundaries(path)
    source = gdf.geometry.to_numpy()
    simple = simplify(gdf).geometry.to_numpy()
    features = []
    mains = []
    for spa_n, spa_name, geom in zip(gdf["spa_n"], gdf["spa_name"], simple):
        main = _largest_part(geom)
        mains.append(main)
        label = polylabel(main, tolerance=0.001)
        features.append({
            "type": "Feature",
            "id": int(spa_n),
            "properties": {"spa_n": int(spa_n), "spa_name": str(spa_name),
                           "label_lon": round(label.x, 4), "label_lat": round(label.y, 4),
                           # the mainland part's extent: a map fits these, not the islands
                           "main_bounds": [round(float(v), 5) for v in main.bounds]},
            "geometry": mapping(geom),
        })
    present = [int(n) for n in gdf["spa_n"]]
    return {
        "type": "FeatureCollection",
        "features": features,
        "csi": {
            "source": path,
            "missing_spas": [n for n in range(1, 9) if n not in present],
            "vertices_n": int(shapely.get_num_coordinates(simple).sum()),
            "source_vertices_n": int(shapely.get_num_coordinates(source).sum()),
            "view_bounds": [float(v) for v in shapely.union_all(mains).bounds],
        },
    }


def _largest_part(geom: shapely.Geometry) -> shapely.Polygon:
    """The biggest polygon of a (multi)polygon: the mainland, not Catalina."""
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return max((g for g in parts if g.geom_type == "Polygon"), key=lambda g: g.area)
