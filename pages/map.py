"""Map by SPA: the eight Service Planning Areas coloured by a chosen measure,
community schools on top. Draws with no network (MapLibre, white background,
boundaries inline); without a boundary file, a tile map laid out like the county.
A click on an SPA's name filters the dashboard to it; a click on a school opens it."""

import streamlit as st

from csi_app import data, show, state
from csi_metrics.figures import maps
from csi_metrics.vocabulary import codes

def _on_click() -> None:
    selection = st.session_state.get("chart_map")
    n = maps.selected_spa(selection)
    if n is not None and n in data.filter_options().spas:
        state.set_filter("spa", n)
    elif (cds := maps.selected_school(selection)) is not None:
        st.session_state["_map_open_school"] = cds


if (school := st.session_state.pop("_map_open_school", None)) is not None:
    st.session_state.pop("school_pick", None)  # the Schools page seeds its picker from ?school=
    st.switch_page("pages/schools.py", query_params={"school": school})
f = state.filters()
show.title("Map by SPA")
c1, c2 = st.columns([2, 1])
with c1:
    choice = state.chart_choices("map", skip=["color_by", "points"])
if data.boundaries_drawn():  # the tile map draws no school points: nothing to colour, dim or switch off
    with c2:
        choice |= state.chart_choices("map", skip=["measure"])
drawn = data.draw("map", f, choice)
if drawn.extra["missing_spas"]:
    st.warning(f"The boundary file `{drawn.extra['boundary_source']}` has no shape for "
               + ", ".join(codes.spa_label(n) for n in drawn.extra["missing_spas"]) + ".")
if drawn.extra["tiles"]:
    # What a leader needs to read the map; how to install the boundaries is the operator's
    # (`python -m csi_metrics info` and the README say it).
    if drawn.extra["boundary_error"]:
        st.warning("The SPA boundary file could not be read.")
    st.info("The SPAs are drawn as tiles laid out like the county, with no school points: the SPA boundaries "
            "are not installed on this server.")
show.show(drawn, key="map", on_select=_on_click, filters=f, choices=choice,
          caption="Click an SPA's name to filter the dashboard to it"
                  + ("." if drawn.extra["tiles"] else ", or a school to open it."))
schools = drawn.extra["schools"]
if not schools.is_empty():
    show.table_and_csv(schools.select("cds_code", "school_name", "district_name", "spa_n", "cohort", "rate",
                                      "enrolled_n", "dashboard_color", "suppressed"),
                       key="map_schools", label="Schools on the map", filters=f, choices=choice)
