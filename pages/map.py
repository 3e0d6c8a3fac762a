"""Map by SPA: the eight Service Planning Areas coloured by a chosen measure,
community schools on top. Draws with no network (MapLibre, white background,
boundaries inline); without a boundary file, a tile map laid out like the county."""

import streamlit as st

from csi_metrics.vocabulary import codes, config
from csi_metrics.figures import maps
from csi_metrics.vocabulary.errors import InputError
from pages import ui
from csi_metrics.ingest import boundaries
from csi_metrics.metrics import geo

HOW_TO_GET = ("Get the official boundaries with `python -m csi_metrics fetch-boundaries`, or set `CSI_BOUNDARIES` "
              "to a boundary file (LA County eGIS *Service Planning Areas*, 2022 or 2012, GeoJSON or shapefile).")
COLOR_BY = {"dashboard_color": "Dashboard colour", "cohort": "CCSPP cohort"}


@st.cache_resource(show_spinner="Reading the SPA boundaries…")
def _boundaries(path: str, _mtime_ns: int) -> dict:
    return boundaries.display_boundaries(path)


def _load_boundaries() -> tuple[dict | None, str | None]:
    path = config.boundary_path()
    if path is None:
        return None, None
    try:
        return _boundaries(str(path), path.stat().st_mtime_ns if path.exists() else 0), None
    except InputError as exc:
        return None, str(exc)


def _on_click() -> None:
    # A click on an SPA (its label) sets the shared SPA filter, and so ?spa=N, before
    # the sidebar draws; a click on a school opens it on the Schools page.
    selection = st.session_state.get("chart_map")
    n = maps.selected_spa(selection)
    if n is not None and n in ui.filter_options().spas:
        st.session_state["f_spa"] = n
    elif (cds := maps.selected_school(selection)) is not None:
        st.session_state["_map_open_school"] = cds


if (school := st.session_state.pop("_map_open_school", None)) is not None:
    st.session_state.pop("school_pick", None)  # the Schools page seeds its picker from ?school=
    st.switch_page("pages/schools.py", query_params={"school": school})
f = ui.filters()
st.title("Map by SPA")
c1, c2 = st.columns([2, 1])
with c1:
    measure_id = ui.page_choice("Measure", list(geo.MEASURES), key="measure", default="chronic_absenteeism",
                                format_func=lambda m: geo.MEASURES[m].label, widget="select")
with c2:
    color_by = ui.page_choice("Colour schools by", list(COLOR_BY), key="color_by", default="dashboard_color",
                              format_func=COLOR_BY.get)
m = geo.MEASURES[measure_id]
df = ui.load("geo.spa_measure", measure_id, filters=f)
title = f"{m.label} by SPA, {'all award years' if m.unit == 'usd' else f.year or 'every year'}"
if m.unit == "pp" and "baseline_year" in df.columns and df.height:
    title = f"{m.label} ({df['baseline_year'][0]} to {df['year'][0]}), by SPA"
outcome = m.outcome or "chronic_absenteeism"
schools = ui.load("geo.school_points_frame", outcome, filters=f.with_(spa=None))
geojson, error = _load_boundaries()
if geojson is not None:
    points = maps.school_points(schools, color_by=color_by, label=ui.METRIC_LABELS[outcome])
    fig = maps.spa_choropleth(geojson, df, m.value_col, label=m.label, unit=m.unit, title=title,
                              color_col="color" if "color" in df.columns else None, points=points,
                              highlight_spa=f.spa)
    if maps.missing_spas(geojson):
        st.warning(f"The boundary file `{geojson['csi']['source']}` has no shape for "
                   + ", ".join(codes.spa_label(n) for n in maps.missing_spas(geojson)) + ".")
else:
    if error:
        st.warning(error)
    st.info(("The SPA boundary file could not be read" if error else "The official LA County SPA boundaries "
             "are not installed") + ", so the SPAs are drawn as tiles laid out like the county. " + HOW_TO_GET)
    fig = maps.spa_tile_map(df, m.value_col, label=m.label, unit=m.unit, title=title,
                            color_col="color" if "color" in df.columns else None)
shown_cols = [c for c in ("spa", "year", "baseline_year", m.value_col, "schools_n", "color", "suppressed")
              if c in df.columns]
ui.show_chart(fig, df.select(shown_cols), key="map", metric=m.registry_id, on_select=_on_click,
              caption=f"Every SPA is drawn; the SPA filter outlines one. Points: community schools for "
                      f"{ui.describe(f.with_(spa=None))}, sized by enrolment, coloured by "
                      f"{COLOR_BY[color_by].lower()} ({ui.METRIC_LABELS[outcome].lower()}). "
                      "Click an SPA's name to filter the dashboard to it, or a school to open it.")
if geojson is not None and not schools.is_empty():
    with st.expander("Schools on the map"):
        table = schools.select("cds_code", "school_name", "district_name", "spa_n", "cohort", "rate",
                               "enrolled_n", "dashboard_color", "suppressed")
        st.download_button("Download CSV", ui.csv_bytes(table), file_name="map_schools.csv",
                           mime="text/csv", key="map_schools_csv", on_click="ignore")
        ui.dataframe(table, hide_index=True, key="map_schools_table", placeholder=ui.EMPTY,
                     column_config={"rate": st.column_config.NumberColumn("rate", format="percent")})
