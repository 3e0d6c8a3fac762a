"""Equity: every student group's rate and Dashboard colour for the chosen area,
with the groups furthest above All students marked."""

import polars as pl
import streamlit as st

from csi_metrics.figures import charts
from csi_metrics.vocabulary import codes
from csi_metrics.metrics import placement
from pages import ui

f = ui.filters()
st.title("Equity")
metric = ui.metric_picker()
label = ui.METRIC_LABELS[metric]
df = ui.load("breakdown.breakdown", metric, "student_group", filters=f)
kinds = st.pills("Groups", ["race", "program", "gender", "grade"], default=["race", "program"],
                 selection_mode="multi", key="kinds", format_func=str.capitalize)
kind_of = {code: kind for code, (_, kind) in codes.REPORTING_CATEGORIES.items()}
shown = df.filter(pl.col("student_group").is_in([c for c, k in kind_of.items() if k in kinds or c == "TA"]))
st.caption(f"{ui.describe(f.with_(student_group='TA'))}. The student group filter does not apply here: "
           "every group is shown.")

fig = charts.equity_bars(shown, title=f"{label} rate by student group, {f.year}")
table = shown.select([c for c in ("student_group", "numerator_n", "denominator_n", "rate", "prior_rate",
                                  "change_pp", "suppressed_schools_n", "placed_group", "placed_rate",
                                  "status_level", "change_level", "color", "level_source", "level_note",
                                  "cut_set_note", "suppressed") if c in shown.columns])
ui.show_chart(fig, table, key=f"equity_{metric}", metric=metric,
              caption=f"Bar: each group's rate; colour and label: its Dashboard level from this year's rate and its "
                      f"change from last year. {placement.colour_sentence(shown['level_source'], metric)} Groups "
                      "under 30 students get no colour; figures of fewer than 11 students are not shown. "
                      "Dashed line: All students.")
