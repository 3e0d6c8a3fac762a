"""Overview: the landing page for leadership. Headline figures with their change
from last year and Dashboard colour, a small trend for each, and what moved."""

import polars as pl
import streamlit as st

from csi_metrics import charts, headline, registry
from pages import presenter, ui

BADGE = {"Red": "red", "Orange": "orange", "Yellow": "yellow", "Green": "green", "Blue": "blue"}
SPARK_CONFIG = {"displayModeBar": False}
COUNTS = [("community_schools_n", "community", "Community schools"),
          ("students_served_n", "community", "Students served"),
          ("ccspp_usd", "county", "CCSPP dollars awarded to date")]
RATES = [("chronic_absenteeism_rate", "community", "Chronic absenteeism, community schools", "Community schools"),
         ("chronic_absenteeism_rate", "county", "Chronic absenteeism, every LA County school", "LA County, all schools"),
         ("suspension_rate", "community", "Suspension, community schools", "Community schools"),
         ("suspension_rate", "county", "Suspension, every LA County school", "LA County, all schools")]

f = ui.filters()
st.title("Community Schools Initiative")
head = ui.load("headline.headline", filters=f)
rows = {(r["metric_id"], r["scope"]): r for r in head.iter_rows(named=True)}
st.caption(f"{ui.describe(f)} · change from {head['prior_year'][0] if head.height else 'last year'}")
st.subheader(headline.what_moved(head))


def card(row: dict, title: str, short: str | None = None):
    m = registry.get(row["metric_id"])
    value = registry.format_value(row["value"], m.unit, suppressed=row["suppressed"])
    delta, change = None, row["change"]
    if change is not None and not row["suppressed"]:
        delta = registry.format_value(change, "pp" if row["change_unit"] == "pp" else m.unit)
        delta = ("+" + delta) if row["change_unit"] != "pp" and change > 0 else delta
    colour = {"lower_is_better": "inverse", "higher_is_better": "normal"}.get(m.direction, "off")
    box = st.container(border=True)
    with box:
        about = f"{m.definition} Source: {m.source}"
        if short:  # the full title stays the metric's (screen-reader) label
            st.markdown(f"**{short}**", help=about)
        st.metric(title, value, label_visibility="collapsed" if short else "visible", help=None if short else about,
                  delta=delta, delta_color=colour, delta_arrow="off" if not change else "auto",
                  delta_description=f"vs {row['prior_year']}")
        if row["color"]:
            st.badge(f"Dashboard colour: {row['color']}", color=BADGE[row["color"]])
        elif row["unit"] == "rate":
            st.badge(f"No Dashboard colour: {row['note'] or 'not placed'}", color="gray")
    return box


boxes = {}
for col, (mid, scope, title) in zip(st.columns(3), COUNTS):
    if (mid, scope) in rows:
        with col:
            boxes[(mid, scope)] = card(rows[(mid, scope)], title)
for half, metric_id in zip(st.columns(2), ("chronic_absenteeism_rate", "suspension_rate")):
    with half:
        st.markdown(f"#### {registry.get(metric_id).label}")
        for col, (mid, scope, title, short) in zip(st.columns(2), [r for r in RATES if r[0] == metric_id]):
            if (mid, scope) in rows:
                with col:
                    boxes[(mid, scope)] = card(rows[(mid, scope)], title, short)

# The small trends come last so the figures above show while they load.
def sparkline(mid: str, scope: str):
    series = ui.headline_series(f)
    trend = series.filter((pl.col("metric_id") == mid) & (pl.col("scope") == scope))
    spark = trend.select("year", pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"))
    return charts.sparkline(spark, kind=registry.get(mid).unit)


for (mid, scope), box in boxes.items():
    # Built once per filters and shared: seven of them were most of a warm run (docs/benchmarks.md).
    fig = ui.cached_figure(("overview_sparkline", mid, scope, tuple(f.as_dict().items())),
                           lambda mid=mid, scope=scope: sparkline(mid, scope))
    with box:
        st.plotly_chart(presenter.for_display(fig), config=SPARK_CONFIG, theme=None, key=f"spark_{mid}_{scope}")

with st.expander("Table and CSV: headline figures"):
    st.download_button("Download CSV", ui.csv_bytes(head), file_name="headline.csv", mime="text/csv",
                       key="csv_headline", on_click="ignore")
    ui.dataframe(head, hide_index=True, key="headline_table", placeholder=ui.EMPTY)
st.caption("Dashboard colours follow CDE's five-by-five tables (chronic absenteeism placed on grades K-8); groups "
           "under 30 students get none. Counts and dollars have no colour. Small trends: every year to the one chosen.")
