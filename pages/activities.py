"""Activities: R-TAC work by type, SPA and month."""

import streamlit as st

from csi_metrics.figures import charts
from pages import ui

f = ui.filters()
st.title("Activities")
st.caption(f"R-TAC activities for {ui.describe(f)}.")

total = ui.load("activities.activity_counts", [], filters=f)
row = total.row(0, named=True) if not total.is_empty() else {}
c1, c2, c3 = st.columns(3)
c1.metric("Activities", f"{row.get('activities_n') or 0:,}")
c2.metric("Attendances", f"{row.get('attendees_n') or 0:,}", help="Sign-ins summed over activities: one person "
          "at three sessions counts three times.")
c3.metric("Unique individuals", f"{row.get('unique_individuals_n') or 0:,}" if row.get("unique_individuals_n")
          is not None else "suppressed", help="People counted once however many activities they attended.")

monthly = ui.load("activities.activity_counts", ["month", "activity_type"], filters=f)
fig_m = charts.activities_by_month(monthly, title="Activities by month and type")
ui.show_chart(fig_m, monthly, key="activities_by_month", metric="activities_n")

left, right = st.columns(2, gap="large")
with left:
    by_type = ui.load("activities.activity_counts", ["activity_type"], filters=f)
    ui.show_chart(charts.bar_by_group(by_type, category_col="activity_type", value_col="activities_n", kind="count",
                                      title="Activities by type", x_title="Activities"),
                  by_type, key="activities_by_type", metric="activities_n")
with right:
    by_spa = ui.load("activities.activity_counts", ["spa"], filters=f)
    ui.show_chart(charts.bar_by_group(by_spa, category_col="spa", value_col="activities_n", kind="count",
                                      title="Activities by SPA", x_title="Activities"),
                  by_spa, key="activities_by_spa", metric="activities_n")
