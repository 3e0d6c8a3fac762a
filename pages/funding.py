"""Funding: CCSPP awards by SPA, cohort, grant type and district, dollars per
student, and LA County's share of the state's awards."""

import streamlit as st

from csi_metrics.figures import charts
from pages import ui
from csi_metrics.vocabulary import formats

GROUPINGS = {"spa": "SPA", "cohort": "cohort", "grant_type": "grant type", "district": "district"}
f = ui.filters()
st.title("Funding")
in_year = ui.page_choice("Awards", ["to_date", "in_year"], key="awards", default="to_date",
                         format_func=lambda v: f"Awarded through {f.year}" if v == "to_date"
                         else f"Awarded in {f.year} only") == "in_year"
st.caption(f"CCSPP awards for {ui.describe(f)}{'' if in_year else ', every award year up to this one'}.")


def awards(by: list[str]):
    return ui.load("funding.awards" if in_year else "funding.awards_to_date", by, filters=f)


share = ui.load("funding.la_share_of_state")
total = awards([])
c1, c2, c3 = st.columns(3)
when = f"{'in' if in_year else 'through'} {f.year}"
c1.metric(f"Awarded {when}", formats.format_value(total["amount_usd"].sum() if not total.is_empty() else 0, "usd", compact=True))
c2.metric(f"Grants {when}", f"{int(total['grants_n'].sum()) if not total.is_empty() else 0:,}")
if not share.is_empty() and share["la_share_rate"][0] is not None:
    c3.metric("LA County share of California's CCSPP dollars (all years)", f"{share['la_share_rate'][0]:.1%}",
              help=f"{formats.format_value(share['la_usd'][0], 'usd', compact=True)} of "
                   f"{formats.format_value(share['state_usd'][0], 'usd', compact=True)}")

by = ui.page_choice("Awards by", list(GROUPINGS), key="awards_by", default="spa",
                    format_func=lambda g: GROUPINGS[g][0].upper() + GROUPINGS[g][1:])
# Dozens of long district names need the full width; a few SPAs or cohorts sit beside the treemap.
left, right = (st.container(), st.container()) if by == "district" else st.columns(2, gap="large")
with left:
    by_df = awards([by])
    label = {"spa": "spa_label", "district": "district_name"}.get(by, by)
    fig = charts.bar_by_group(by_df, category_col=label if label in by_df.columns else by, value_col="amount_usd",
                              kind="usd", title=f"CCSPP awards by {GROUPINGS[by]}", x_title="Dollars awarded",
                              top_n=15)
    ui.show_chart(fig, by_df, key=f"awards_by_{by}", metric="ccspp_usd")
with right:
    nested = awards(["spa", "grant_type"])
    fig_t = charts.funding_treemap(nested, path=["spa_label" if "spa_label" in nested.columns else "spa", "grant_type"],
                                   title="Awards by SPA and grant type")
    ui.show_chart(fig_t, nested, key="awards_treemap", metric="ccspp_usd")

# Per student over the chosen award year, or over every award year (enrolment counted in each award year).
per = ui.load("funding.dollars_per_student", ["spa"], filters=f if in_year else f.with_(year=None))
fig_p = charts.bar_by_group(per, category_col="spa_label" if "spa_label" in per.columns else "spa",
                            value_col="usd_per_student", kind="usd",
                            title=f"CCSPP dollars per enrolled student, by SPA ({f.year if in_year else 'all award years'})",
                            x_title="Dollars per student")
ui.show_chart(fig_p, per, key="usd_per_student", metric="usd_per_student")
