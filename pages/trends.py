"""Trends: chronic absenteeism and suspension over every year, by a chosen
breakdown, with the LA County line and the difference-in-differences beside it."""

import polars as pl
import streamlit as st

from csi_metrics.figures import charts
from pages import ui

BREAKDOWNS = {"none": "No breakdown", "community": "Community vs comparison", "spa": "SPA",
              "cohort": "Cohort", "school_type": "School type", "student_group": "Student group"}
GROUP_DEFAULT = ["TA", "SE", "SD", "SS"]

f = ui.filters()
st.title("Trends")
metric = ui.metric_picker()
by_key = ui.page_choice("Break down by", list(BREAKDOWNS), key="by", default="community",
                        format_func=BREAKDOWNS.get)
all_years = f.with_(year=None)
groups = dict(ui.filter_options().student_groups)
if by_key == "student_group":
    picked = st.multiselect("Student groups", list(groups), default=[g for g in GROUP_DEFAULT if g in groups],
                            format_func=groups.get, key="groups", max_selections=6)
by = [] if by_key == "none" else [by_key]
df = ui.trend(metric, by, all_years)
if by_key == "student_group":
    df = df.filter(pl.col("student_group").is_in(picked))
elif by_key == "community":
    df = df.filter(pl.col("community").is_in(["community", "comparison"]))
county = ui.county(metric, all_years)
label = ui.METRIC_LABELS[metric]
st.caption(f"{ui.describe(all_years)}. Every year is shown: the year filter does not narrow this page.")

# Many lines need the full width for their legend; two or three sit beside the difference-in-differences.
wide = by_key in ("spa", "school_type", "student_group")
left, right = (st.container(), st.container()) if wide else st.columns([3, 2], gap="large")
with left:
    fig = charts.trend_lines(df, title=f"{label} rate by year", group_col=by[0] if by else None, metric=metric,
                             county=county, y_title=f"{label} rate")
    ui.show_chart(fig, df, key=f"trend_{metric}_{by_key}", metric=metric,
                  caption="Dashed black line: every LA County school pooled (year and student group filters only).")
with right:
    did = ui.load("compare.diff_in_diff", metric, filters=f)
    fig_did = charts.did_bars(did, title="Community vs comparison: change")
    ui.show_chart(fig_did, did, key=f"did_{metric}", metric=metric,
                  caption="Difference-in-differences: the community schools' change minus the comparison "
                          "schools' change over the same years. It describes, it does not prove cause.")
