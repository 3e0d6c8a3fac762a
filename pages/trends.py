"""Trends: chronic absenteeism and suspension over every year, by a chosen
breakdown, with the LA County line and the difference-in-differences beside it;
then community schools against matched comparison schools (the estimate with its
interval, the event study, the matching balance, and the estimate by SPA or cohort)."""

import streamlit as st

from csi_app import data, show, state
from csi_metrics.ingest import demo
from csi_metrics.rules import impact as rules
from csi_metrics.views import catalogue
from csi_metrics.vocabulary import formats, registry, safe_text, words

f = state.filters()
show.title("Trends")
choice = state.chart_choices("trend", skip=["groups"])
if choice["by"] == "student_group":
    groups = dict(data.filter_options().student_groups)
    choice["groups"] = state.page_choices("Student groups", list(groups), format_func=groups.get, key="groups",
                                          default=[g for g in catalogue.GROUP_DEFAULT if g in groups],
                                          widget="multiselect", max_selections=6)

# Many lines need the full width for their legend; two or three sit beside the difference-in-differences.
wide = choice["by"] in ("spa", "school_type", "student_group")
left, right = (st.container(), st.container()) if wide else st.columns([3, 2], gap="large")
with left:
    show.chart("trend", f, key=f"trend_{choice['metric']}_{choice['by']}", **choice)
with right:
    show.chart("did", f, key=f"did_{choice['metric']}", metric=choice["metric"])

st.subheader("Compared with matched schools")
st.caption("Each community school against schools with no CCSPP grant that looked like it before its grant. "
           "The comparison above uses every other school; this one is the fairer test.")
impact = state.chart_choices("impact_event", skip=["baseline"], metric=choice["metric"])
impact["baseline"] = state.page_choice(
    "Baseline year", ["", *data.filter_options().years[:-1]], key="baseline", default="", widget="select",
    help=words.define("Baseline"),
    format_func=lambda y: "Each school's last pre-grant year, not 2019-20 or 2020-21" if y == "" else
    y + (" (pandemic year)" if rules.is_pandemic(y) else ""))
drawn = data.draw("impact_event", f, impact)
if drawn.extra["baseline_refused"]:  # a baseline year at or after some cohort's first grant
    st.warning(f"{safe_text.for_markdown(drawn.extra['baseline_refused'])}. Showing each school's default baseline "
               "instead.", icon=":material/event_busy:")
est = drawn.extra["estimate"].row(0, named=True)
c1, c2, c3, c4 = st.columns(4)
# "suppressed" only when there were schools to hide; no matched schools at all is a blank.
c1.metric("Community minus matched schools", formats.format_value(
    est["effect_pp"], "pp", suppressed=est["effect_pp"] is None and est["treated_schools_n"] > 0),
          help=registry.get("impact_pp").definition)
# The unit once ("-2.2 to -1.2 pp"), so the interval fits a quarter of the page.
c2.metric("95% interval", formats.format_interval(est["ci_low_pp"], est["ci_high_pp"], "pp", compact=True))
c3.metric("Community schools", formats.format_value(est["treated_schools_n"], "count"),
          help=f"{formats.format_value(est['unmatched_schools_n'], 'count')} more had no match")
c4.metric("Matched comparison schools", formats.format_value(est["control_schools_n"], "count"))
if data.is_demo():
    st.caption(demo.IMPACT_NOTE)
show.show(drawn, key=f"impact_event_{choice['metric']}", filters=f, choices=impact)
# Full width each: the balance chart's variable names and the SPA names need the room.
show.chart("impact_balance", f, key=f"impact_balance_{choice['metric']}", metric=impact["metric"],
           grant_type=impact["grant_type"])
by = state.chart_choices("impact_by", skip=["metric", "grant_type", "baseline"])["impact_by"]
show.chart("impact_by", f, key=f"impact_by_{by}", **{**impact, "baseline": drawn.extra["baseline"]}, impact_by=by)
