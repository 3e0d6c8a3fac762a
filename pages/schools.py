"""Schools: a searchable table of the schools in the filters; choosing one (a
table row or the picker, kept in the URL as ?school=CDS) shows its own charts."""

import polars as pl
import streamlit as st

from csi_app import data, schools as page, show, state
from csi_metrics.metrics import schools
from csi_metrics.vocabulary import registry, safe_text, words

f = state.filters()
show.title("Schools")
page.school_selection_sync()
table = data.load(schools.school_table, filters=f)
search = state.page_text("Search by school, district or CDS code", key="school_search", placeholder="e.g. Maple")
if search:
    needle = search.strip().lower()
    table = table.filter(pl.concat_str("school_name", "district_name", "cds_code", separator=" ")
                         .str.to_lowercase().str.contains(needle, literal=True))
shown = page.school_display(table, f)
st.caption(f"{shown.height:,} schools · {data.describe(f)}. Rates and colours for {f.year}; {show.EMPTY} = "
           "suppressed (fewer than 11 students), not published or no colour. Select a row to open the school.")
show.dataframe(page.for_grid(shown), hide_index=True, key="school_table", on_select=page.on_school_row,
               selection_mode="single-row", column_config=page.school_columns(shown),
               column_order=page.school_column_order(shown), height=380,
               placeholder=show.EMPTY)
st.session_state["_school_rows"] = shown["cds_code"].to_list()
show.csv_button(shown, key="schools", filters=f, choices={"search": search},
                source=registry.get("chronic_absenteeism").source)

cds = page.school_picker(table)
if cds:
    info = data.load(schools.school_profile, cds)["school"].row(0, named=True)
    st.header(safe_text.for_markdown(info["school_name"]))
    st.caption(f"{safe_text.for_markdown(info['district_name'])} · {words.group_label('spa', info['spa_n'])} · "
               f"{words.SCHOOL_TYPE_LABELS.get(info['school_type'], info['school_type'])} · CDS {info['cds_code']}"
               + (f" · community school, cohort {info['ccspp_cohort']} ({info['grant_type']})"
                  if info["is_community"] else " · not a community school"))
    profile = data.load(schools.school_profile, cds)
    for col, metric in zip(st.columns(2, gap="large"), registry.OUTCOMES):
        with col:
            page.dashboard_level(profile[metric], metric, f.year)
            show.chart("school_trend", f, key=f"school_{metric}", metric=metric, school=cds)
    metric = state.metric_picker("school_metric")
    show.chart("school_compare", f, key=f"school_compare_{metric}", metric=metric, school=cds)
    show.chart("school_groups", f, key=f"school_groups_{metric}", metric=metric, school=cds)
