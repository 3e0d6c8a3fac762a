"""County map by SPA: the map figure builders (the boundaries come ready to draw
from ingest.boundaries.display_boundaries, the frames from metrics.geo).

Everything here draws with no network: MapLibre maps (`go.Choroplethmap`,
`go.Scattermap`) on a white background style with no font or tile URLs and the
GeoJSON inline, and a tile map of plain shapes when there is no boundary file. No Streamlit here."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote


import plotly.colors as pc
import plotly.graph_objects as go
import polars as pl
import shapely

from csi_metrics.vocabulary import codes
from csi_metrics.figures.charts import (
    BASE_FONT_PX,
    DASHBOARD_COLORS,
    DASHBOARD_ORDER,
    NO_COLOR,
    NO_COLOR_LABEL,
    SUPPRESSED_NOTE,
    TEXT_COLOR,
    apply_theme,
    category_color,
    value_text,
)
from csi_metrics.vocabulary.safe_text import for_plotly

def missing_spas(geojson: dict[str, Any]) -> list[int]:
    """SPA numbers 1-8 with no feature in the collection."""
    present = {int(f["properties"]["spa_n"]) for f in geojson.get("features", [])}
    return [n for n in range(1, 9) if n not in present]


def map_view(bounds: tuple[float, float, float, float] | list[float], width_px: int, height_px: int,
             pad: float = 0.06) -> tuple[dict[str, float], float]:
    """Centre and zoom that fit lon/lat `bounds` into a width x height map (Web Mercator,
    512-px MapLibre tiles). Plotly's own fit would include the islands."""
    minx, miny, maxx, maxy = bounds

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    usable_w, usable_h = width_px * (1 - 2 * pad), height_px * (1 - 2 * pad)
    zoom_x = math.log2(usable_w / ((maxx - minx) / 360 * 512))
    zoom_y = math.log2(usable_h / ((merc_y(maxy) - merc_y(miny)) / (2 * math.pi) * 512))
    centre_lat = math.degrees(math.atan(math.sinh((merc_y(maxy) + merc_y(miny)) / 2)))
    return {"lon": (minx + maxx) / 2, "lat": centre_lat}, min(zoom_x, zoom_y)


# --------------------------------------------------------------------------- value formatting

UNITS = ("rate", "pp", "usd", "usd_per_student", "count")


def _colorbar(label: str, unit: str, zmin: float = 0.0, zmax: float = 1.0) -> dict[str, Any]:
    # Decimals enough to differ come from ticks.distinct_ticks (through apply_theme).
    fmt = {"rate": dict(tickformat=".0%"), "pp": dict(tickformat="+.1f", ticksuffix=" pp"),
           "usd": dict(tickformat="$~s"), "usd_per_student": dict(tickformat="$,.0f"),
           "count": dict(tickformat=",d")}[unit]
    return dict(title=dict(text=label, side="right", font=dict(size=BASE_FONT_PX)), thickness=18, len=0.75,
                tickfont=dict(size=BASE_FONT_PX - 2), **fmt)


# Single-hue sequential (ColorBrewer Purples, darkest step left out so black
# labels stay legible): readable under every colour-vision deficiency and away
# from the five Dashboard hues the school points use.
SEQUENTIAL_SCALE = [[0.0, "#f2f0f7"], [0.33, "#cbc9e2"], [0.66, "#9e9ac8"], [1.0, "#756bb1"]]
# Change: brown for a rise, teal for a fall (ColorBrewer BrBG), white at zero.
DIVERGING_SCALE = [[0.0, "#01665e"], [0.25, "#5ab4ac"], [0.5, "#f5f5f5"], [0.75, "#d8b365"], [1.0, "#8c510a"]]
NO_DATA_FILL = "#e0e0e0"
# Plotly's "white-bg" style, minus its `glyphs` URL: with one, MapLibre fetches
# label fonts from fonts.openmaptiles.org (and only falls back to local fonts
# after that request fails); without one it draws labels with local fonts and
# makes no request at all. Passed as a data: URL rather than a style object:
# Plotly re-applies an object style on every re-render (MapLibre then throws
# "Map error." on the style diff), but compares a string and leaves it alone.
OFFLINE_STYLE_JSON: dict[str, Any] = {
    "version": 8,
    "name": "white-bg-offline",
    "sources": {},
    "layers": [{"id": "white-bg", "type": "background", "paint": {"background-color": "#FFFFFF"}}],
}
OFFLINE_STYLE = "data:application/json," + quote(json.dumps(OFFLINE_STYLE_JSON, separators=(",", ":")))
BORDER_COLOR = "#333333"


def _scale_for(unit: str) -> list[list[Any]]:
    return DIVERGING_SCALE if unit == "pp" else SEQUENTIAL_SCALE


def _range_for(values: list[float], unit: str) -> tuple[float, float]:
    if not values:
        return (0.0, 1.0)
    lo, hi = min(values), max(values)
    if unit == "pp":
        m = max(abs(lo), abs(hi)) or 1.0
        return (-m, m)
    if unit == "rate":
        # Whole 5-point steps around the data: SPAs differ by a few points, and a
        # scale pinned at 0% would paint them all the same mid tone.
        lo, hi = math.floor(lo * 20) / 20, math.ceil(hi * 20) / 20
        return (lo, hi if hi > lo else lo + 0.05)
    lo = min(lo, 0.0)
    return (lo, hi if hi > lo else lo + 1.0)


def _shown_and_hidden(df: pl.DataFrame, value_col: str, spa_col: str) -> tuple[dict[int, dict], dict[int, dict]]:
    """Rows keyed by SPA: those with a visible value, and those suppressed or empty."""
    shown: dict[int, dict] = {}
    hidden: dict[int, dict] = {}
    for r in df.iter_rows(named=True):
        if r.get(spa_col) is None:
            continue
        n = int(r[spa_col])
        suppressed = bool(r.get("suppressed")) or r.get(value_col) is None
        (hidden if suppressed else shown)[n] = r
    return shown, hidden


def _hidden_text(row: dict | None, missing_text: str = "no data") -> str:
    if row is not None and row.get("suppressed"):
        return SUPPRESSED_NOTE
    return missing_text


def _schools_text(row: dict | None) -> str:
    """How many school figures a pooled value adds up, and how many hidden ones it left out
    (a reader comparing two SPAs should know one of them is missing schools)."""
    n = None if row is None else row.get("schools_n")
    if n is None:
        return ""
    text = f"{int(n):,} school{'s' if int(n) != 1 else ''}"
    left = row.get("suppressed_schools_n") if row else None
    if left:
        text += f" ({int(left):,} hidden school figure{'s' if int(left) != 1 else ''} left out)"
    return text


def colour_words(name: str | None, source: str | None, note: str | None = None,
                 placed_rate: float | None = None, placed_group: str | None = None) -> str:
    """A colour as a hover reads it: official or Dashboard-style (computed), the TK-8 rate
    a chronic absenteeism level was placed on, or why there is none."""
    kind = "Dashboard colour (CDE, official)" if source == "official" else "Dashboard-style colour (computed)"
    if name in DASHBOARD_COLORS:
        placed = f", placed on TK-8 {value_text(placed_rate, 'rate')}" if placed_group == "GRTK8" and \
            placed_rate is not None else ""
        return f"{kind}: {name}{placed}"
    return f"No Dashboard colour: {note or NO_COLOR_LABEL}"


def _color_text(row: dict | None, color_col: str | None) -> str:
    if row is None or not color_col or color_col not in row:
        return ""
    words = colour_words(row.get(color_col), row.get("level_source"), row.get("level_note"),
                         row.get("placed_rate"), row.get("placed_group"))
    if row.get(color_col) in DASHBOARD_COLORS and row.get("cut_set_note"):
        words += f" ({row['cut_set_note']})"
    return words


# --------------------------------------------------------------------------- the SPA choropleth

def spa_choropleth(
    geojson: dict[str, Any],
    df: pl.DataFrame,
    value_col: str,
    *,
    label: str,
    unit: str,
    spa_col: str = "spa",
    color_col: str | None = None,
    title: str | None = None,
    points: list[go.Scattermap] | None = None,
    highlight_spa: int | None = None,
    height: int = 760,
    width: int = 760,
    present: bool = False,
    missing_text: str = "no data",
) -> go.Figure:
    """The eight SPAs coloured by `value_col`, with names and values as labels.

    `df` has one row per SPA: `spa_col` (1-8), `value_col`, and optionally
    schools_n, suppressed and `color_col` (Dashboard colour names). unit is
    'rate' (0-1), 'pp', 'usd' or 'count'. A suppressed or empty SPA is drawn
    grey and reads "suppressed (<11 students)" / "no data"; its value never
    enters the figure. `points` (school_points traces) are drawn on top;
    `highlight_spa` gets a thick outline (the SPA filter in force). The view is
    centred on the mainland for a `width` x `height` map."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    feats = {int(f["properties"]["spa_n"]): f for f in geojson["features"]}
    shown, hidden = _shown_and_hidden(df, value_col, spa_col)
    shown = {n: r for n, r in shown.items() if n in feats}
    grey = [n for n in sorted(feats) if n not in shown]
    fig = go.Figure()
    hover = SPA_HOVER
    rows = {n: [n, codes.spa_label(n),
                f"{label}: {value_text(shown[n][value_col], unit) if n in shown else _hidden_text(hidden.get(n), missing_text)}",
                _schools_text(shown.get(n) or hidden.get(n)), _color_text(shown.get(n), color_col)]
            for n in feats}
    if grey:
        fig.add_trace(go.Choroplethmap(
            geojson={"type": "FeatureCollection", "features": [feats[n] for n in grey]},
            locations=grey, z=[0] * len(grey), featureidkey="properties.spa_n",
            colorscale=[[0, NO_DATA_FILL], [1, NO_DATA_FILL]], showscale=False, name="No figure",
            marker=dict(line=dict(color=BORDER_COLOR, width=1.5), opacity=0.9),
            customdata=[rows[n] for n in grey],
            hovertemplate=hover,
        ))
    values = [float(shown[n][value_col]) for n in sorted(shown)]
    zmin, zmax = _range_for(values, unit)
    if shown:
        spas = sorted(shown)
        fig.add_trace(go.Choroplethmap(
            geojson={"type": "FeatureCollection", "features": [feats[n] for n in spas]},
            locations=spas, z=values, featureidkey="properties.spa_n",
            colorscale=_scale_for(unit), zmin=zmin, zmax=zmax, name=label,
            marker=dict(line=dict(color=BORDER_COLOR, width=1.5), opacity=0.9),
            colorbar=_colorbar(label, unit, zmin, zmax),
            customdata=[rows[n] for n in spas],
            hovertemplate=hover,
        ))
    if highlight_spa in feats:
        fig.add_trace(_outline(feats[highlight_spa]))
    for trace in points or []:
        fig.add_trace(trace)
    _add_spa_labels(fig, feats, shown, hidden, value_col, unit, zmin, zmax, rows, missing_text)  # on top: names stay readable
    bounds = geojson.get("csi", {}).get("view_bounds") or _features_bounds(feats.values())
    # Title, then the legend row, above the map (the bottom is kept free for
    # notes and for the caption band an export adds).
    top = (60 if title else 10) + (40 if points else 0)
    fig.update_layout(
        title=title,
        map=dict(style=OFFLINE_STYLE),
        height=height,
        margin=dict(l=0, r=0, t=top, b=0),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left", title=None),
        showlegend=bool(points),
    )
    _fit(fig, bounds, width, height)
    apply_theme(fig, present=present)
    notes = _map_notes(geojson, hidden, shown, feats)
    if notes:
        fig.add_annotation(text="<br>".join(notes), xref="paper", yref="paper", x=0.01, y=0.01,
                           xanchor="left", yanchor="bottom", showarrow=False, align="left",
                           bgcolor="rgba(255,255,255,0.85)", font=dict(size=BASE_FONT_PX - 4, color="#333"))
    return fig


def _outline(feature: dict[str, Any]) -> go.Scattermap:
    """The SPA's rings as one line trace (None between rings)."""
    geom = shapely.geometry.shape(feature["geometry"])
    lon: list[float | None] = []
    lat: list[float | None] = []
    for poly in (geom.geoms if hasattr(geom, "geoms") else [geom]):
        for ring in [poly.exterior, *poly.interiors]:
            xs, ys = ring.xy
            lon += [*xs, None]
            lat += [*ys, None]
    return go.Scattermap(lon=lon, lat=lat, mode="lines", line=dict(color=TEXT_COLOR, width=4),
                         hoverinfo="skip", showlegend=False, name="Selected SPA")


def _features_bounds(features: Any) -> list[float]:
    """The extent of the SPAs' mainland parts (ingest.boundaries.display_boundaries' main_bounds)."""
    boxes = [f["properties"]["main_bounds"] for f in features]
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


# West, Metro and South are small neighbours: at county zoom centred labels
# collide and MapLibre silently drops one, so Metro's reads upward, South's
# downward and West's to the left (into the Santa Monica Mountains).
LABEL_POSITION = {4: "top center", 6: "bottom center", 5: "middle left"}
HALO_NAME = "SPA label halo"
HALO_PX = 3                    # how much larger the halo's type is than the label's
SPA_HOVER = "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<br>%{customdata[4]}<extra></extra>"


def _add_spa_labels(fig: go.Figure, feats: dict[int, dict], shown: dict[int, dict], hidden: dict[int, dict],
                    value_col: str, unit: str, zmin: float, zmax: float, rows: dict[int, list],
                    missing_text: str = "no data") -> None:
    """SPA name and value at a point inside each SPA: black text, white only on the dark
    ends of the change scale. School points lie under the labels and are mostly light
    (Yellow, Green, Orange), so white over them is unreadable; black keeps 4.6:1 even on
    the darkest step of the sequential scale (#756bb1).

    The labels carry the SPA's hover and customdata too: Streamlit's bundled
    plotly.js gives no hover or click on Choroplethmap polygons (it does on
    Scattermap points), so the label is where an SPA is hovered and clicked."""
    groups: dict[tuple[str, str], list] = {}
    for n, f in sorted(feats.items()):
        props = f["properties"]
        value = value_text(shown[n][value_col], unit) if n in shown else (
            "suppressed" if (hidden.get(n) or {}).get("suppressed") else missing_text)
        entry = (props["label_lon"], props["label_lat"], f"{codes.SPA_NAMES[n]}<br>{value}", rows[n])
        pos = (float(shown[n][value_col]) - zmin) / (zmax - zmin) if n in shown and zmax > zmin else 0.0
        is_dark = unit == "pp" and abs(pos - 0.5) > 0.4
        groups.setdefault(("white" if is_dark else TEXT_COLOR, LABEL_POSITION.get(n, "middle center")), []).append(entry)
    for (colour, position), group in groups.items():
        # A halo: the same words a little larger in the opposite colour, under them, so a
        # label reads over the school points and the polygon edges.
        fig.add_trace(go.Scattermap(
            lon=[g[0] for g in group], lat=[g[1] for g in group], text=[g[2] for g in group],
            mode="markers+text", textposition=position,
            textfont=dict(size=BASE_FONT_PX - 5 + HALO_PX, color=TEXT_COLOR if colour == "white" else "white",
                          weight="bold"),
            marker=dict(size=28, opacity=0), hoverinfo="skip", showlegend=False, name=HALO_NAME,
        ))
        fig.add_trace(go.Scattermap(
            lon=[g[0] for g in group], lat=[g[1] for g in group], text=[g[2] for g in group],
            mode="markers+text", textposition=position,
            textfont=dict(size=BASE_FONT_PX - 5, color=colour, weight="bold"),
            marker=dict(size=28, opacity=0), customdata=[g[3] for g in group], hovertemplate=SPA_HOVER,
            showlegend=False, name="SPA labels",
        ))


def _map_notes(geojson: dict, hidden: dict[int, dict], shown: dict[int, dict], feats: dict[int, dict]) -> list[str]:
    notes = []
    missing = missing_spas(geojson)
    if missing:
        notes.append("Not in the boundary file: " + ", ".join(codes.spa_label(n) for n in missing))
    sup = [n for n in feats if n not in shown and (hidden.get(n) or {}).get("suppressed")]
    if sup:
        notes.append(f"Grey, {SUPPRESSED_NOTE}: " + ", ".join(codes.spa_label(n) for n in sorted(sup)))
    return notes


# --------------------------------------------------------------------------- school points

# School points on, dimmed (the SPAs and their labels read through them: a projector)
# or off.
POINTS = ("on", "dim", "off")
DIM_OPACITY = 0.3
POINT_MIN_PX, POINT_MAX_PX = 8, 24


def _sizes(enrolment: list[Any]) -> list[float]:
    """Marker diameter by enrolment, area-proportional; unknown enrolment gets the
    smallest. Hundreds of schools get smaller markers, so the SPAs and their
    labels stay visible under them."""
    crowd = len(enrolment)
    lo, hi = (POINT_MIN_PX, POINT_MAX_PX) if crowd <= 60 else (6, 16) if crowd <= 200 else (4, 11)
    vals = [float(v) for v in enrolment if v is not None and v > 0]
    top = max(vals) if vals else 1.0
    return [lo + (hi - lo) * math.sqrt(float(v) / top) if v else lo
            for v in (e if e is not None and e > 0 else None for e in enrolment)]


def school_points(
    df: pl.DataFrame,
    *,
    color_by: str = "dashboard_color",
    size_by: str | None = "enrolled_n",
    value_col: str | None = "rate",
    label: str = "Rate",
    unit: str = "rate",
    show: str = "on",
) -> list[go.Scattermap]:
    """Schools as map points: an outline layer, then one trace per colour group (so
    the legend names each Dashboard colour or cohort in words).

    `df`: cds_code, school_name, latitude, longitude, optionally district_name,
    spa_n, cohort, `size_by`, `value_col`, suppressed, and `color_by`
    ('dashboard_color' holds Red..Blue names; 'cohort' holds cohort numbers).
    Schools without coordinates are left off. A suppressed school shows "suppressed
    (<11 students)" and the smallest marker: its enrolment is not revealed."""
    if color_by not in ("dashboard_color", "cohort"):
        raise ValueError("color_by must be 'dashboard_color' or 'cohort'")
    if show not in POINTS:
        raise ValueError(f"show must be one of {', '.join(POINTS)}, not {show!r}")
    if df.is_empty() or show == "off":
        return []
    opacity = DIM_OPACITY if show == "dim" else 1.0
    d = df.filter(pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null())
    rows = list(d.iter_rows(named=True))
    if not rows:
        return []
    hidden = [bool(r.get("suppressed")) for r in rows]
    sizes = _sizes([None if h or not size_by else r.get(size_by) for r, h in zip(rows, hidden)])

    def hover_row(r: dict, h: bool) -> list[Any]:
        # Names from the directory are text in a hover, never markup.
        bits = [for_plotly(r.get("district_name") or "")]
        if r.get("spa_n") is not None:
            bits.append(codes.spa_label(int(r["spa_n"])))
        if value_col and value_col in r:
            bits.append(f"{label}: {SUPPRESSED_NOTE if h else value_text(r.get(value_col), unit)}")
        if size_by and r.get(size_by) is not None and not h:
            bits.append(f"{int(r[size_by]):,} students")
        if color_by == "dashboard_color":
            bits.append(_color_text({**r, "placed_group": "GRTK8" if label.startswith("Chronic") else None},
                                    "dashboard_color"))
        if r.get("cohort") is not None:
            bits.append(f"CCSPP cohort {r['cohort']}")
        return [r["cds_code"], for_plotly(r["school_name"]), "<br>".join(b for b in bits if b)]

    custom = [hover_row(r, h) for r, h in zip(rows, hidden)]
    traces: list[go.Scattermap] = [go.Scattermap(
        lon=[r["longitude"] for r in rows], lat=[r["latitude"] for r in rows], mode="markers",
        marker=dict(size=[s + (3 if len(rows) <= 60 else 2) for s in sizes], color=TEXT_COLOR, opacity=opacity),
        hoverinfo="skip",
        showlegend=False,
        name="School outline",
    )]
    if color_by == "dashboard_color":
        groups = [(c, c, DASHBOARD_COLORS[c]) for c in DASHBOARD_ORDER] + [(None, NO_COLOR_LABEL, NO_COLOR)]
        key = [r.get("dashboard_color") if r.get("dashboard_color") in DASHBOARD_COLORS else None for r in rows]
    else:
        cohorts = sorted({r.get("cohort") for r in rows if r.get("cohort") is not None})
        groups = [(c, f"Cohort {c}", category_color("cohort", c)) for c in cohorts]
        groups.append((None, "No cohort", NO_COLOR))
        key = [r.get("cohort") for r in rows]
    for value, name, colour in groups:
        idx = [i for i, k in enumerate(key) if k == value]
        if not idx:
            continue
        traces.append(go.Scattermap(
            lon=[rows[i]["longitude"] for i in idx], lat=[rows[i]["latitude"] for i in idx], mode="markers",
            marker=dict(size=[sizes[i] for i in idx], color=colour, opacity=opacity),
            name=f"Schools: {name}", customdata=[custom[i] for i in idx],
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra></extra>",
        ))
    return traces


# --------------------------------------------------------------------------- fallback: SPA tile map

# (x0, y0, x1, y1) in grid units, laid out like the county: Antelope Valley
# across the top, San Fernando and San Gabriel valleys below, then West, Metro,
# East, and South Bay and South at the bottom (Orange County sits where the
# bottom-right tile would be).
TILE_LAYOUT: dict[int, tuple[float, float, float, float]] = {
    1: (0.0, 3.0, 3.0, 4.0),
    2: (0.0, 2.0, 1.5, 3.0),
    3: (1.5, 2.0, 3.0, 3.0),
    5: (0.0, 1.0, 1.0, 2.0),
    4: (1.0, 1.0, 2.0, 2.0),
    7: (2.0, 1.0, 3.0, 2.0),
    8: (0.0, 0.0, 1.0, 1.0),
    6: (1.0, 0.0, 2.0, 1.0),
}
TILE_GAP = 0.04


def spa_tile_map(
    df: pl.DataFrame,
    value_col: str,
    *,
    label: str,
    unit: str,
    spa_col: str = "spa",
    color_col: str | None = None,
    title: str | None = None,
    height: int = 620,
    present: bool = False,
    missing_text: str = "no data",
) -> go.Figure:
    """The eight SPAs as tiles laid out like the county, coloured by `value_col`.

    Drawn with plain shapes and text (no map subplot, no network), for when no
    boundary file is configured or it cannot be read. Same inputs, labels and
    suppression rules as spa_choropleth; each tile's centre carries a hover
    point whose customdata[0] is the SPA number (for click-to-filter)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    shown, hidden = _shown_and_hidden(df, value_col, spa_col)
    values = [float(r[value_col]) for r in shown.values()]
    zmin, zmax = _range_for(values, unit)
    scale = _scale_for(unit)
    fig = go.Figure()
    xs, ys, custom, zs = [], [], [], []
    for n, (x0, y0, x1, y1) in TILE_LAYOUT.items():
        if n in shown:
            v = float(shown[n][value_col])
            pos = (v - zmin) / (zmax - zmin) if zmax > zmin else 0.0
            fill = pc.sample_colorscale(scale, [min(max(pos, 0.0), 1.0)])[0]
            text = value_text(v, unit)
            is_dark = pos > 0.8 if unit != "pp" else abs(pos - 0.5) > 0.4
        else:
            fill, is_dark = NO_DATA_FILL, False
            text = "suppressed" if (hidden.get(n) or {}).get("suppressed") else missing_text
        fig.add_shape(type="rect", x0=x0 + TILE_GAP, y0=y0 + TILE_GAP, x1=x1 - TILE_GAP, y1=y1 - TILE_GAP,
                      fillcolor=fill, line=dict(color=BORDER_COLOR, width=1.5), layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, showarrow=False,
                           text=f"<b>SPA {n}</b><br>{codes.SPA_NAMES[n]}<br><b>{text}</b>",
                           font=dict(size=BASE_FONT_PX - 1, color="white" if is_dark else TEXT_COLOR))
        row = shown.get(n) or hidden.get(n)
        xs.append((x0 + x1) / 2)
        ys.append((y0 + y1) / 2)
        zs.append(float(shown[n][value_col]) if n in shown else None)
        custom.append([n, codes.spa_label(n),
                       f"{label}: {value_text(shown[n][value_col], unit) if n in shown else _hidden_text(row, missing_text)}",
                       _schools_text(row), _color_text(shown.get(n), color_col)])
    # Transparent markers: hover, click and the colour bar, in plain units.
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers", customdata=custom, showlegend=False, name=label,
        marker=dict(size=60, opacity=0, color=[z if z is not None else zmin for z in zs], colorscale=scale,
                    cmin=zmin, cmax=zmax, showscale=bool(shown), colorbar=_colorbar(label, unit, zmin, zmax)),
        hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<br>%{customdata[4]}"
                      "<extra></extra>",
    ))
    fig.update_xaxes(visible=False, range=[-0.05, 3.05], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.05, 4.05], fixedrange=True, scaleanchor="x", scaleratio=0.75)
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=60 if title else 10, b=10))
    apply_theme(fig, present=present)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, showgrid=False, zeroline=False)
    sup = [n for n in TILE_LAYOUT if n not in shown and (hidden.get(n) or {}).get("suppressed")]
    if sup:
        fig.add_annotation(text=f"Grey, {SUPPRESSED_NOTE}: " + ", ".join(codes.spa_label(n) for n in sorted(sup)),
                           xref="paper", yref="paper", x=1, y=0, xanchor="right", yanchor="bottom",
                           showarrow=False, font=dict(size=BASE_FONT_PX - 4, color="#333"))
    return fig


# --------------------------------------------------------------------------- click to filter

def selected_spa(selection: Any) -> int | None:
    """The SPA number a map click selected, from st.plotly_chart's selection state
    (choropleth `location` or customdata[0] of an SPA trace); None otherwise."""
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for pt in points or []:
        loc = pt.get("location")
        if loc is not None and str(loc).isdigit() and 1 <= int(loc) <= 8:
            return int(loc)
        cd = pt.get("customdata")
        if isinstance(cd, (list, tuple)) and cd and str(cd[0]).isdigit() and 1 <= int(cd[0]) <= 8:
            return int(cd[0])
    return None


def selected_school(selection: Any) -> str | None:
    """The CDS code of a clicked school point (customdata[0] is 14 digits), else None."""
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for pt in points or []:
        cd = pt.get("customdata")
        if isinstance(cd, (list, tuple)) and cd and isinstance(cd[0], str) and len(cd[0]) == 14:
            return cd[0]
    return None


# --------------------------------------------------------------------------- fitting a map to a size

def _fit(fig: go.Figure, bounds: list[float] | tuple[float, ...], width: int, height: int) -> None:
    """Centre and zoom the map on `bounds` for a width x height figure, less its
    margins and colour bar."""
    m = fig.layout.margin
    colorbar = 110 if any(t.type == "choroplethmap" and t.showscale is not False for t in fig.data) else 0
    w = width - (m.l or 0) - (m.r or 0) - colorbar
    h = height - (m.t or 0) - (m.b or 0)
    centre, zoom = map_view(bounds, max(w, 100), max(h, 100))
    fig.update_layout(map=dict(center=centre, zoom=zoom))


def refit_view(fig: go.Figure, width: int, height: int) -> go.Figure:
    """Re-zoom a map figure in place for a new pixel size (a MapLibre zoom is in
    pixels, so a 1920x1080 export needs its own); returns it. Non-map figures
    are left alone."""
    bounds = _figure_view_bounds(fig)
    if bounds:
        _fit(fig, bounds, width, height)
    return fig


def view_bounds(fig: go.Figure) -> list[float] | None:
    """[min lon, min lat, max lon, max lat] a map figure is fitted to (the mainland), or None."""
    return _figure_view_bounds(fig)


def _figure_view_bounds(fig: go.Figure) -> list[float] | None:
    feats = [f for t in fig.data if isinstance(t, go.Choroplethmap) and t.geojson
             for f in t.geojson["features"]]
    return _features_bounds(feats) if feats else None
