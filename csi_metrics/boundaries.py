"""Official LA County SPA boundaries: read either eGIS vintage, normalise to
one frame keyed on the SPA number, and assign points to SPAs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from . import codes
from .errors import InputError

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

    Raises InputError naming the file for an unreadable file, a file without an
    SPA number field, numbers outside 1..8, or invalid geometry. A file missing
    some SPAs is returned as is: callers decide (see missing_spas)."""
    p = Path(path)
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
    return out.dissolve(by="spa_n", as_index=False).sort_values("spa_n").reset_index(drop=True)


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
