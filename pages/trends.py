"""Trends: chronic absenteeism and suspension over every year, by a chosen
breakdown, with the LA County line and the difference-in-differences beside it."""

import streamlit as st

from csi_app import data, show, state
from csi_metrics.views import catalogue

f = state.filters()
st.title("Trends")
choice = state.chart_choices("trend", skip=["groups"])
if choice["by"] == "student_group":
    groups = dict(data.filter_options().student_groups)
    choice["groups"] = st.multiselect("Student groups", list(groups), format_func=groups.get, key="groups",
                                      default=[g for g in catalogue.GROUP_DEFAULT if g in groups],
                                      max_selections=6)

# Many lines need the full width for their legend; two or three sit beside the difference-in-differences.
wide = choice["by"] in ("spa", "school_type", "student_group")
left, right = (st.container(), st.container()) if wide else st.columns([3, 2], gap="large")
with left:
    show.chart("trend", f, key=f"trend_{choice['metric']}_{choice['by']}", **choice)
with right:
    show.chart("did", f, key=f"did_{choice['metric']}", metric=choice["metric"])
