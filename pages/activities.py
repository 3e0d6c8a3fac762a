"""Activities: R-TAC work by type, SPA and month. Built from the initiative's
internal records: signed out (when sign-in is configured), the entry script
shows the sign-in prompt instead (csi_app.auth)."""

import streamlit as st

from csi_app import data, show, state
from csi_metrics.metrics import activities
from csi_metrics.vocabulary import formats, words

f = state.filters()
show.title("Activities")

total = data.load(activities.activity_counts, [], filters=f)
row = total.row(0, named=True) if not total.is_empty() else {}
c1, c2, c3 = st.columns(3)
c1.metric("Activities", formats.format_value(row.get("activities_n") or 0, "count"), help=words.define("R-TAC"))
c2.metric("Attendances", formats.format_value(row.get("attendees_n") or 0, "count"),
          help="Sign-ins summed over activities: one person at three sessions counts three times.")
c3.metric("Unique individuals", formats.format_value(row.get("unique_individuals_n"), "count",
                                                     suppressed=row.get("unique_individuals_n") is None),
          help="People counted once however many activities they attended.")

show.chart("activities_by_month", f)
left, right = st.columns(2, gap="large")
with left:
    show.chart("activities_by_type", f)
with right:
    show.chart("activities_by_spa", f)
