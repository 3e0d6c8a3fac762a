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


def load_spa_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read a boundary file into columns spa_n (int 1..8), spa_name, geometry, in EPSG:4326.

    Raises InputError naming the file for an unreadable file, a file without an
    SPA number field, numbers outside 1..8, or invalid geometry. A file missing
    some SPAs is returned as is: callers decide (see missing_spas)."""
    p = Path(path)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types; the user needs the file named
        raise InputError(p, f"cannot read boundary file: {exc}") from exc
    field = next((f for f in SPA_NUMBER_FIELDS if f in gdf.columns), None)
    if field is None:
        raise InputError(p, f"no SPA number field; expected one of {', '.join(SPA_NUMBER_FIELDS)}", column="SPA_NUM")
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    nums = pd.to_numeric(gdf[field], errors="coerce")
    bad = nums.isna() | ~nums.isin(range(1, 9))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(p, f"SPA number {gdf[field].iloc[i]!r} is not 1-8", line=i + 1, column=field)
    # The official 2022 layer (full and simplified) nests a small shell inside
    # another in SPA 8's MultiPolygon; "structure" repair unions nested shells
    # (area kept) where the default "linework" repair would punch a hole.
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].to_numpy(), method="structure")
    if (~gdf.geometry.is_valid).any() or gdf.geometry.is_empty.any() or gdf.geometry.isna().any():
        i = int((~gdf.geometry.is_valid | gdf.geometry.is_empty | gdf.geometry.isna()).to_numpy().nonzero()[0][0])
        raise InputError(p, "invalid or empty geometry", line=i + 1, column="geometry")
    out = gpd.GeoDataFrame(
        {"spa_n": nums.astype(int).to_numpy(), "spa_name": [codes.SPA_NAMES[int(n)] for n in nums]},
        geometry=gdf.geometry.to_numpy(),
        crs=4326,
    )
    return out.dissolve(by="spa_n", as_index=False).sort_values("spa_n").reset_index(drop=True)


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
