"""The Schools page's own parts: its table's columns (each school's trend beside
its rates and colours), and the school picker kept in the URL as ?school=CDS
(seeded from the URL, set by a table row or a click on the map)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from csi_app import data, phone, show, state
from csi_metrics.figures import charts
from csi_metrics.metrics import placement, trends
from csi_metrics.vocabulary import formats, registry
from csi_metrics.vocabulary.filters import Filters

SCHOOL_DISPLAY = {
    "school_name": "School", "district_name": "District", "spa_name": "SPA", "school_type": "Type",
    "ccspp_cohort": "Cohort", "grant_type": "Grant",
    "chronic_absenteeism_pct": "Chronic absenteeism %", "ca_trend": "Absenteeism trend",
    "chronic_absenteeism_change_pp": "Chronic absenteeism change (pp)", "chronic_absenteeism_placed_pct": "Chronic absenteeism TK-8 % (placed)",
    "chronic_absenteeism_color": "Absenteeism colour", "chronic_absenteeism_level_source": "Chronic absenteeism colour source",
    "chronic_absenteeism_level_note": "Chronic absenteeism no-colour reason",
    "suspension_pct": "Suspension %", "suspension_change_pp": "Suspension change (pp)",
    "suspension_color": "Suspension colour", "suspension_level_source": "Suspension colour source",
    "suspension_level_note": "Suspension no-colour reason", "cds_code": "CDS code",
}

TREND_HELP = ("Chronic absenteeism, one bar per school year from the first to the latest; an empty slot is a "
              "year with no published rate (2019-20) or fewer than 11 students (or a rate of 0%).")


def school_display(table: pl.DataFrame, f: Filters) -> pl.DataFrame:
    """The Schools page table: the columns a person reads, SPA named, and each
    school's chronic absenteeism over the years (suppressed years blank)."""
    t = show.readable(table.rename({"spa_n": "spa"}) if "spa_n" in table.columns else table)
    # Numbers rounded half up here, so the table reads as the one formatter prints them.
    t = t.with_columns(formats.half_up_expr(pl.col(f"{m}_rate") * 100).alias(f"{m}_pct")
                       for m in registry.OUTCOMES if f"{m}_rate" in t.columns)
    t = t.with_columns(formats.half_up_expr(pl.col(f"{m}_change_pp")).alias(f"{m}_change_pp")
                       for m in registry.OUTCOMES if f"{m}_change_pp" in t.columns)
    if "chronic_absenteeism_placed_rate" in t.columns:
        t = t.with_columns(formats.half_up_expr(pl.col("chronic_absenteeism_placed_rate") * 100)
                           .alias("chronic_absenteeism_placed_pct"))
    for m in registry.OUTCOMES:
        if f"{m}_level_source" in t.columns:
            t = t.with_columns(pl.col(f"{m}_level_source").replace_strict(
                {"official": "CDE official", "computed": "computed (Dashboard-style)"}, default=None,
                return_dtype=pl.String))
    tr = data.load(trends.trend, "chronic_absenteeism", ["school"], filters=f.with_(year=None))
    if not tr.is_empty():
        # One bar per year, in year order, unsmoothed; a year with no published (or a
        # suppressed) rate is an empty slot, so the 2019-20 gap shows as a gap. (A line
        # column smooths, joins across the gap and colours by direction, red for a rise.)
        years = sorted(tr["year"].unique().to_list())
        shown = tr.filter(~pl.col("suppressed") & pl.col("rate").is_not_null())
        grid = pl.DataFrame({"school": tr["school"].unique().to_list()}).join(
            pl.DataFrame({"year": years}), how="cross")
        lists = grid.join(shown.select("school", "year", "rate"), on=["school", "year"], how="left") \
            .sort("school", "year").group_by("school", maintain_order=True) \
            .agg(pl.col("rate").alias("ca_trend"))
        t = t.join(lists.rename({"school": "cds_code"}), on="cds_code", how="left")
    return t.select([c for c in SCHOOL_DISPLAY if c in t.columns])


def for_grid(shown: pl.DataFrame) -> pl.DataFrame:
    """The table as the grid draws it: a trend's gap as a bar of 0 (nothing drawn from a y
    axis at 0). A null or NaN inside the list makes the grid print the raw numbers instead
    of bars; the CSV keeps the gap blank."""
    if "ca_trend" not in shown.columns:
        return shown
    return shown.with_columns(pl.col("ca_trend").list.eval(pl.element().fill_null(0.0).fill_nan(0.0)))


def school_columns(df: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {c: st.column_config.Column(label) for c, label in SCHOOL_DISPLAY.items() if c in df.columns}
    for c in ("chronic_absenteeism_pct", "suspension_pct", "chronic_absenteeism_placed_pct"):
        if c in df.columns:
            cfg[c] = st.column_config.NumberColumn(SCHOOL_DISPLAY[c], format="%.1f")
    for c in ("chronic_absenteeism_change_pp", "suspension_change_pp"):
        if c in df.columns:
            cfg[c] = st.column_config.NumberColumn(SCHOOL_DISPLAY[c], format="%+.1f")
    if "ca_trend" in df.columns:
        # From zero, in a neutral colour: bars to scale, and no hue that says good or bad.
        cfg["ca_trend"] = st.column_config.BarChartColumn(SCHOOL_DISPLAY["ca_trend"], y_min=0,
                                                          color=charts.SERIES_COLOR, help=TREND_HELP)
    if phone.is_phone():  # the compact set fits 390 px: the name wide, each rate narrow
        for c in PHONE_COLUMNS:
            if c in cfg:
                cfg[c].update(width=170 if c == "school_name" else "small")
    else:  # the first columns fit 1440 px; the name stays in view when the table scrolls sideways
        for c, px in FIRST_WIDTHS.items():
            if c in cfg:
                cfg[c].update(width=px)
        if "school_name" in cfg:
            cfg["school_name"].update(pinned=True)
    return cfg


# On a phone the table shows what fits 390 px: the school and its two rates (a row opens the rest).
PHONE_COLUMNS = ("school_name", "chronic_absenteeism_pct", "suspension_pct")
# On a laptop (1440 px) what a reader compares comes first, inside the window: the school, each rate
# beside its Dashboard colour, the trend; the rest (district, SPA, grant, reasons) to the right.
FIRST_COLUMNS = ("school_name", "chronic_absenteeism_pct", "chronic_absenteeism_color", "suspension_pct",
                 "suspension_color", "ca_trend")
FIRST_WIDTHS = {"school_name": 220, "chronic_absenteeism_pct": 150, "chronic_absenteeism_color": 140,
                "suspension_pct": 110, "suspension_color": 140, "ca_trend": 170}  # 930 px of the table's 978


def school_column_order(df: pl.DataFrame) -> list[str]:
    """The columns the table shows, in order: on a phone the compact set; else every one,
    the rates and colours first."""
    if phone.is_phone():
        return [c for c in PHONE_COLUMNS if c in df.columns]
    return [c for c in FIRST_COLUMNS if c in df.columns] + [c for c in df.columns if c not in FIRST_COLUMNS]


_PICK = "school_pick"


def _all_schools() -> dict[str, str]:
    return dict(data.sql("SELECT cds_code, school_name FROM schools ORDER BY school_name").iter_rows())


def school_selection_sync() -> None:
    """Seed the school picker from ?school=CDS when the page opens; a bad code warns and is ignored."""
    ss = st.session_state
    if _PICK in ss:
        return
    raw = st.query_params.get("school")
    if raw is None:
        return
    if raw in _all_schools():
        ss[_PICK] = raw
    else:
        st.warning(f"Ignored URL parameter `school={state.shown(raw)}`: not a CDS code in the data. "
                   "Pick a school from the table instead.", icon=":material/link_off:")
        del st.query_params["school"]


def on_school_row() -> None:
    """Table row selected: open that school (st.dataframe selection callback)."""
    ss = st.session_state
    rows = ss.get("school_table", {}).get("selection", {}).get("rows", [])
    listed = ss.get("_school_rows", [])
    if rows and rows[0] < len(listed):
        ss[_PICK] = listed[rows[0]]


def school_picker(table: pl.DataFrame) -> str | None:
    """The school shown below the table, kept in the URL as ?school=CDS."""
    names = _all_schools()
    listed = table["cds_code"].to_list()
    current = st.session_state.get(_PICK)
    options = [None, *listed] + ([current] if current and current not in listed else [])
    state.register_control(_PICK, options, "school")
    cds = st.selectbox("School", options, key=_PICK, placeholder="Choose a school",
                       format_func=lambda c: "Choose a school" if c is None else f"{names.get(c, c)} ({c})")
    if cds:
        if st.query_params.get("school") != cds:
            st.query_params["school"] = cds
    elif "school" in st.query_params:
        del st.query_params["school"]
    return cds


def dashboard_level(frame: pl.DataFrame, metric: str, year: str | None) -> None:
    """The school's own Dashboard level for `year` (its profile's placement, the one the
    Overview and the map use): colour, status and change, and whether CDE's official
    Dashboard file gave it or it is computed here, Dashboard-style."""
    m = registry.get(metric)
    rows = frame.filter(pl.col("year") == year) if year else frame.tail(1)
    row = rows.row(0, named=True) if rows.height else {}
    st.markdown(f"**{m.label}, Dashboard {row.get('year') or year or ''}**", help=m.definition)
    show.level_badge(row.get("color"), row.get("level_source"), row.get("level_note"))
    if row.get("status_level"):
        placed = ""
        if row.get("placed_rate") is not None and not row.get("suppressed"):
            on = "TK-8 " if row.get("placed_group") == placement.TK8 else ""
            placed = f" ({on}{formats.format_value(row['placed_rate'], 'rate')})"
        parts = [f"Status {row['status_level']}{placed}"]
        if row.get("change_level"):
            parts.append(f"change {row['change_level']}")
        parts.append(placement.label(row.get("level_source")))
        st.caption(" · ".join(parts))
