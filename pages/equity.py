"""Equity: every student group's rate and Dashboard colour for the chosen area,
with the groups furthest above All students marked."""

from csi_app import show, state
from csi_metrics.views import catalogue

f = state.filters()
show.title("Equity")
choice = state.chart_choices("equity", skip=["kinds"])
choice["kinds"] = state.page_choices("Groups", list(catalogue.GROUP_KINDS), key="kinds",
                                     default=catalogue.CHARTS["equity"].options["kinds"].default,
                                     format_func=str.capitalize)
show.chart("equity", f, key=f"equity_{choice['metric']}", **choice)
