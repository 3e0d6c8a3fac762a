"""Funding: CCSPP awards by SPA, cohort, grant type and district, dollars per
student, and LA County's share of the state's awards."""

import streamlit as st

from csi_metrics import charts
from pages import ui

GROUPINGS = {"spa": "SPA", "cohort": "cohort", "grant_type": "grant type", "district": "district"}
f = ui.filters()
st.title("Funding")
st.caption(f"CCSPP awards for {ui.describe(f)}.")

share = ui.load("funding.la_share_of_state")
total = ui.load("funding.awards", [], filters=f)
c1, c2, c3 = st.columns(3)
c1.metric(f"Awarded in {f.year}" if f.year else "Awarded", charts.usd_short(total["amount_usd"].sum() if not total.is_empty() else 0))
c2.metric(f"Grants in {f.year}" if f.year else "Grants", f"{int(total['grants_n'].sum()) if not total.is_empty() else 0:,}")
if not share.is_empty() and share["la_share_rate"][0] is not None:
    c3.metric("LA County share of California's CCSPP awards", f"{share['la_share_rate'][0]:.1%}",
              help=f"{charts.usd_short(share['la_usd'][0])} of {charts.usd_short(share['state_usd'][0])}")

by = st.segmented_control("Awards by", list(GROUPINGS), format_func=lambda g: GROUPINGS[g][0].upper() + GROUPINGS[g][1:], key="by",
                          default="spa", bind="query-params", required=True) or "spa"
left, right = st.columns(2, gap="large")
with left:
    awards = ui.load("funding.awards", [by], filters=f)
    label = {"spa": "spa_label", "district": "district_name"}.get(by, by)
    fig = charts.bar_by_group(awards, category_col=label if label in awards.columns else by, value_col="amount_usd",
                              kind="usd", title=f"CCSPP awards by {GROUPINGS[by]}", x_title="Dollars awarded")
    ui.show_chart(fig, awards, key=f"awards_by_{by}", metric="ccspp_usd")
with right:
    nested = ui.load("funding.awards", ["spa", "grant_type"], filters=f)
    fig_t = charts.funding_treemap(nested, path=["spa_label" if "spa_label" in nested.columns else "spa", "grant_type"],
                                   title="Awards by SPA and grant type")
    ui.show_chart(fig_t, nested, key="awards_treemap", metric="ccspp_usd")

per = ui.load("funding.dollars_per_student", ["spa"], filters=f)
fig_p = charts.bar_by_group(per, category_col="spa_label" if "spa_label" in per.columns else "spa",
                            value_col="usd_per_student", kind="usd",
                            title="CCSPP dollars per enrolled student, by SPA", x_title="Dollars per student")
ui.show_chart(fig_p, per, key="usd_per_student", metric="usd_per_student")
