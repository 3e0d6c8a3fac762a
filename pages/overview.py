"""Overview: the landing page for leadership. Headline figures with their change
from last year and Dashboard colour, a small trend for each, and what moved.
Every card follows the sidebar's filters (csi_metrics.metrics.headline says how) or
says which it ignores.

Longer than the other pages (~90 lines) because its cards are its own: each card
lays out one headline row (value, change, colour badge, the TK-8 rate a level was
placed on, hidden figures left out), which no chart in the catalogue draws."""

import streamlit as st

from csi_app import data, firstpaint, presenter, show, state
from csi_metrics.metrics import headline, placement
from csi_metrics.vocabulary import formats, registry, words

SPARK_CONFIG = {"displayModeBar": False}
COUNTS = ["community_schools_n", "students_served_n", "ccspp_usd"]
COUNT_TITLES = {"students_served_n": "Students served", "ccspp_usd": "CCSPP dollars awarded to date"}

f = state.filters()
show.title("Community Schools Initiative")
head = data.load(headline.headline, filters=f)
rows = {(r["metric_id"], r["scope"]): r for r in head.iter_rows(named=True)}
group = words.group_label("student_group", f.student_group)
st.caption(f"{data.describe(f)} · change from {head['prior_year'][0] if head.height else 'last year'}")
# Community schools' sentence also says how their comparison schools moved.
other = data.load(headline.headline, filters=f.with_(community="comparison")) if headline.side(f) == "community" else None
moved = headline.what_moved(head, group_label=group, comparison=other)
st.subheader(moved)
firstpaint.heading(st.session_state, moved, lede=True)


def card(row: dict, title: str, short: str | None = None):
    m = registry.get(row["metric_id"])
    value = formats.format_value(row["value"], m.unit, suppressed=row["suppressed"], not_published=row["not_published"])
    delta, change = None, row["change"]
    if change is not None and not row["suppressed"]:
        delta = formats.format_value(change, "pp" if row["change_unit"] == "pp" else m.unit)
        delta = ("+" + delta) if row["change_unit"] != "pp" and change > 0 else delta
    colour = {"lower_is_better": "inverse", "higher_is_better": "normal"}.get(m.direction, "off")
    box = st.container(border=True)
    with box:
        about = f"{m.definition} Source: {m.source}"
        if short:  # the full title stays the metric's (screen-reader) label
            st.markdown(f"**{short}**", help=about)
        st.metric(title, value, label_visibility="collapsed" if short else "visible", help=None if short else about,
                  delta=delta, delta_color=colour, delta_arrow="off" if not change else "auto",
                  delta_description=f"vs {row['prior_year']}")
        badge = show.level_words(row["color"], row["level_source"], row["note"]) if row["unit"] == "rate" else ""
        firstpaint.card(st.session_state, title, [value, f"{delta} vs {row['prior_year']}" if delta else "",
                                                     badge])  # the page's picture (csi_app.firstpaint)
        if row["unit"] == "rate":
            placed = ""
            if row["placed_value"] is not None and row["placed_group"] == placement.TK8:
                placed = f" · placed on TK-8 {formats.format_value(row['placed_value'], 'rate')}"
            show.level_badge(row["color"], row["level_source"], row["note"])
            if row["status_level"]:
                # The card names its measure already: the note without the cut set's label.
                unconfirmed = f" · cut scores {row['cut_set_note'].split(' cut scores ', 1)[-1]}" \
                    if row["cut_set_note"] else ""
                st.caption(f"{row['status_level']}{placed} · {placement.label(row['level_source'])}{unconfirmed}")
            if row["suppressed_schools_n"]:
                st.caption(f"Pools {row['schools_n'] or 0:,} school figures; {row['suppressed_schools_n']:,} hidden "
                           "ones left out.")
        if row["ignores"]:
            st.caption(row["ignores"])  # headline says it in the words every chart uses
    return box


boxes = {}
for col, mid in zip(st.columns(3), COUNTS):
    if (mid, "selected") in rows:
        r = rows[(mid, "selected")]
        with col:
            boxes[(mid, "selected")] = card(r, r["label"] if mid == "community_schools_n" else COUNT_TITLES[mid])
for half, metric_id in zip(st.columns(2), ("chronic_absenteeism", "suspension")):
    with half:
        st.markdown(f"#### {registry.get(metric_id).label}" + (f", {group}" if f.student_group != "TA" else ""))
        for col, scope in zip(st.columns(2), ("selected", "county")):
            if (metric_id, scope) in rows:
                r = rows[(metric_id, scope)]
                with col:
                    boxes[(metric_id, scope)] = card(r, f"{registry.get(metric_id).label}, {r['scope_label']}",
                                                     r["scope_label"])

# The small trends come last so the figures above show while they load.
for (mid, scope), box in boxes.items():
    # Built once per filters and shared: seven of them were most of a warm run (docs/benchmarks.md).
    fig = data.cached_figure(("headline_spark", mid, scope, tuple(f.as_dict().items())),
                             lambda mid=mid, scope=scope: data.draw("headline_spark", f,
                                                                    {"metric_id": mid, "scope": scope}).fig)
    with box:
        st.plotly_chart(presenter.for_display(fig), config=SPARK_CONFIG, theme=None, key=f"spark_{mid}_{scope}")

presenter.add_view_button("headline_cards", f, key="headline_cards")  # the cards as one slide
show.table_and_csv(show.headline_table(head), key="headline", label="Table and CSV: headline figures", filters=f,
                   source="CDE DataQuest and Dashboard files; the initiative's grant records")
st.caption("Dashboard colours: CDE's official colour where its Dashboard file was loaded, otherwise Dashboard-style, "
           "computed from DataQuest with CDE's five-by-five tables (chronic absenteeism placed on grades TK-8; "
           "CDE never colours pooled groups such as all community schools). Groups under 30 students get none. "
           "Counts and dollars have no colour. Small trends: every year to the one chosen.")
