"""Schools: a searchable table of the schools in the filters; choosing one (a
table row or the picker, kept in the URL as ?school=CDS) shows its own charts."""

import polars as pl
import streamlit as st

from csi_metrics.figures import charts
from csi_metrics.vocabulary import codes, safe_text, words
from pages import ui

f = ui.filters()
st.title("Schools")
ui.school_selection_sync()
table = ui.load("schools.school_table", filters=f)
search = st.text_input("Search by school, district or CDS code", key="school_search", placeholder="e.g. Maple")
if search:
    needle = search.strip().lower()
    table = table.filter(pl.concat_str("school_name", "district_name", "cds_code", separator=" ")
                         .str.to_lowercase().str.contains(needle, literal=True))
shown = ui.school_display(table, f)
st.caption(f"{shown.height:,} schools · {ui.describe(f)}. Rates and colours for {f.year}; {ui.EMPTY} = suppressed "
           "(fewer than 11 students), not published or no colour. Select a row to open the school.")
ui.dataframe(shown, hide_index=True, key="school_table", on_select=ui.on_school_row,
             selection_mode="single-row", column_config=ui.school_columns(shown), height=380, placeholder=ui.EMPTY)
st.session_state["_school_rows"] = shown["cds_code"].to_list()
st.download_button("Download CSV", ui.csv_bytes(shown), file_name="schools.csv", mime="text/csv",
                   key="csv_schools", on_click="ignore")

cds = ui.school_picker(table)
if cds:
    profile = ui.load("schools.school_profile", cds)
    info = profile["school"].row(0, named=True)
    st.header(safe_text.for_markdown(info["school_name"]))
    st.caption(f"{safe_text.for_markdown(info['district_name'])} · {words.group_label('spa', info['spa_n'])} · "
               f"{words.SCHOOL_TYPE_LABELS.get(info['school_type'], info['school_type'])} · CDS {info['cds_code']}"
               + (f" · community school, cohort {info['ccspp_cohort']} ({info['grant_type']})"
                  if info["is_community"] else " · not a community school"))
    cols = st.columns(2, gap="large")
    for col, metric in zip(cols, ("chronic_absenteeism", "suspension")):
        with col:
            trend = profile[metric]
            county = ui.county(metric, ui.Filters())
            fig = charts.trend_lines(trend, title=f"{ui.METRIC_LABELS[metric]} rate", county=county, metric=metric,
                                     y_title="Rate", name=info["school_name"])
            ui.show_chart(fig, trend, key=f"school_{metric}", metric=metric)
    groups = profile["student_groups"]
    metric = ui.metric_picker("school_metric")
    kinds = {c for c, (_, k) in codes.REPORTING_CATEGORIES.items() if k != "grade"}
    groups = groups.filter(pl.col("student_group").is_in(kinds))
    groups = groups.filter(pl.col("metric") == metric)
    year = groups["year"][0] if groups.height else ""
    fig = charts.equity_bars(groups, title=f"{ui.METRIC_LABELS[metric]} by student group, {year}")
    ui.show_chart(fig, groups, key=f"school_groups_{metric}", metric=metric)
