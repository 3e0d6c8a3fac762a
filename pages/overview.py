"""Overview: the landing page for leadership. Headline figures with their change
from last year and Dashboard colour, a small trend for each, and what moved."""

import polars as pl
import streamlit as st

from csi_metrics import charts, headline, registry
from pages import ui

BADGE = {"Red": "red", "Orange": "orange", "Yellow": "yellow", "Green": "green", "Blue": "blue"}
SPARK_CONFIG = {"displayModeBar": False, "staticPlot": False}

f = ui.filters()
st.title("Community Schools Initiative")
head = ui.load("headline.headline", filters=f)
series = ui.headline_series(f)
st.caption(f"{ui.describe(f)} · change from {head['prior_year'][0] if head.height else 'last year'}")
st.subheader(headline.what_moved(head))


def card(row: dict, title: str) -> None:
    m = registry.get(row["metric_id"])
    value = registry.format_value(row["value"], m.unit, suppressed=row["suppressed"])
    delta = None
    if row["change"] is not None and not row["suppressed"]:
        delta = registry.format_value(row["change"], "pp" if row["change_unit"] == "pp" else m.unit)
        if row["change_unit"] != "pp" and row["change"] > 0:
            delta = "+" + delta
    colour = "inverse" if m.direction == "lower_is_better" else ("normal" if m.direction == "higher_is_better"
                                                                  else "off")
    with st.container(border=True):
        st.metric(title, value, delta=delta, delta_color=colour, help=f"{m.definition} Source: {m.source}",
                  delta_description=f"vs {row['prior_year']}")
        if row["color"]:
            st.badge(f"Dashboard colour: {row['color']}", color=BADGE[row["color"]])
        elif row["unit"] == "rate":
            st.badge(f"No Dashboard colour: {row['note'] or 'not placed'}", color="gray")
        trend = series.filter((pl.col("metric_id") == row["metric_id"]) & (pl.col("scope") == row["scope"]))
        spark = trend.select("year", pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"))
        st.plotly_chart(charts.sparkline(spark, kind=m.unit), config=SPARK_CONFIG, theme=None,
                        key=f"spark_{row['metric_id']}_{row['scope']}")


rows = {(r["metric_id"], r["scope"]): r for r in head.iter_rows(named=True)}
cols = st.columns(3)
for col, (mid, scope, title) in zip(cols, [("community_schools_n", "community", "Community schools"),
                                           ("students_served_n", "community", "Students served"),
                                           ("ccspp_usd", "county", "CCSPP dollars awarded to date")]):
    with col:
        if (mid, scope) in rows:
            card(rows[(mid, scope)], title)

for metric_id, label in [("chronic_absenteeism_rate", "Chronic absenteeism"), ("suspension_rate", "Suspension")]:
    st.markdown(f"#### {label}")
    left, right = st.columns(2)
    for col, scope, who in [(left, "community", "community schools"), (right, "county", "every LA County school")]:
        with col:
            if (metric_id, scope) in rows:
                card(rows[(metric_id, scope)], f"{label}, {who}")

with st.expander("Table and CSV: headline figures"):
    st.dataframe(head, hide_index=True, key="headline_table")
    st.download_button("Download CSV", head.write_csv().encode("utf-8"), file_name="headline.csv", mime="text/csv",
                       key="csv_headline", on_click="ignore")
st.caption("Dashboard colours follow CDE's five-by-five tables (chronic absenteeism placed on grades K-8); groups "
           "under 30 students get none. Counts and dollars have no colour.")
