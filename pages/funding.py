"""Funding: CCSPP awards by SPA, cohort, grant type and district, dollars per
student, and LA County's share of the state's awards."""

import streamlit as st

from csi_app import data, show, state
from csi_metrics.metrics import funding
from csi_metrics.vocabulary import formats, registry, words

f = state.filters()
show.title("Funding")
awards = state.chart_choices("awards_by_type", labels={"awards": lambda v: f"Awarded through {f.year}"
                             if v == "to_date" else f"Awarded in {f.year} only"})["awards"]
in_year = awards == "in_year"

share = data.load(funding.la_share_of_state)
total = data.load(funding.awards if in_year else funding.awards_to_date, [], filters=f)
c1, c2, c3 = st.columns(3)
when = f"{'in' if in_year else 'through'} {f.year}"
c1.metric(f"Awarded {when}", formats.format_value(total["amount_usd"].sum() if not total.is_empty() else 0, "usd",
                                                  compact=True))
c2.metric(f"Grants {when}", formats.format_value(total["grants_n"].sum() if not total.is_empty() else 0, "count"))
if not share.is_empty() and share["la_share_rate"][0] is not None:
    c3.metric(registry.get("la_share_rate").label,  # every award year: said in the help, the label fits
              formats.format_value(share["la_share_rate"][0], "share"),
              help=f"{formats.format_value(share['la_usd'][0], 'usd', compact=True)} of "
                   f"{formats.format_value(share['state_usd'][0], 'usd', compact=True)} awarded statewide, all award years. "
                   f"{registry.get('la_share_rate').definition} {words.define('LEA-wide')}")

by = state.chart_choices("awards_by", awards=awards)["awards_by"]
# Dozens of long district names need the full width; a few SPAs or cohorts sit beside the split by grant type.
left, right = (st.container(), st.container()) if by == "district" else st.columns(2, gap="large")
with left:
    show.chart("awards_by", f, key=f"awards_by_{by}", awards=awards, awards_by=by)
with right:
    show.chart("awards_by_type", f, awards=awards)
show.chart("usd_per_student", f, awards=awards)
