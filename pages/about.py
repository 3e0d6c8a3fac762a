"""About the data: where every figure comes from, when it was built, what each
measure means, and the privacy rules applied before anything is shown.

Longer than ~80 lines because most of it is the privacy rules written out for a
reader (one markdown block, with this build's counts in it); the code is five
tables read from the build."""

import re

import polars as pl
import streamlit as st

from csi_metrics.vocabulary import codes, registry, words
from csi_app import data, show, state
from csi_metrics.metrics import placement
from csi_metrics.rules import levels, privacy

state.require_entry()
show.title("About the data")
info = data.build_info()
mode = info.get("mode", "unknown")
st.markdown(f"**Data:** {'demo — fictional schools, generated for demonstration' if mode == 'demo' else mode}  \n"
            f"**Built:** {info.get('built_at', 'unknown')}  \n"
            f"**Years:** {', '.join(data.filter_options().years) or 'none'}")


def _public(value: str) -> str:
    """A build fact as a public page may show it: file names, never the server's folders."""
    return re.sub(r"(?:[A-Za-z]:)?[/\\][^\s]*[/\\]([^/\\\s]+)", lambda m: m.group(1), value)


with st.expander("All build facts"):
    show.dataframe(pl.DataFrame({"key": list(info), "value": [_public(v) for v in info.values()]}),
                 hide_index=True)

st.header("Definitions")
better = {"lower_is_better": " (lower is better)", "higher_is_better": " (higher is better)"}
st.markdown("\n".join(f"- **{m.label}**{better.get(m.direction, '')}: {m.definition} *Source:* {m.source}"
                      for m in registry.METRICS.values()))

st.header("Glossary")
st.markdown("\n".join(f"- **{term}**: {text}" for term, text in sorted(words.GLOSSARY.items(),
                                                                     key=lambda kv: kv[0].lower())))

st.header("Privacy and suppression")
hidden = {r: int(info.get(f"hidden_{r}_n", 0)) for r in (privacy.HIDDEN_CDE, privacy.HIDDEN_SMALL,
                                                          privacy.HIDDEN_COMPLEMENT)}
st.markdown(f"""
These rules are decided once, when the database is built, for every figure CDE publishes (one school's or
district's figure for one year, measure and student group), and stored with the data. Every chart, table,
tooltip, map, slide, export and download reads them; none decides on its own.

- **Groups of fewer than {codes.MIN_N} students are hidden.** A figure whose group (its enrollment, the
  denominator) has fewer than {codes.MIN_N} students is not shown anywhere: its rate, its counts and its
  Dashboard colour are blank, marked *suppressed*. CDE's own `*` rows (10 students or fewer) are hidden the same
  way. Within a group of {codes.MIN_N} or more, the number of chronically absent or suspended students is shown
  even when it is small (1 to 10), as CDE's own files do.
- **Complementary figures are hidden so a hidden one cannot be worked out.** Within each way a school's
  students add up (race, gender, grade spans, grades TK-8 and 9-12), never exactly one figure is hidden, and the
  hidden ones never add up to 1-10 students: the next smallest is hidden too. A program group (students with
  disabilities, English learners, foster youth, homeless youth, migrant, socioeconomically disadvantaged) with 1-10
  of the school's students outside it is hidden, since all students minus the group would count them.
- **Hidden figures are in no total.** A rate for an SPA, a district, community schools, a cohort or the county
  adds up only the schools' figures that are shown, so the difference of any two figures the dashboard shows
  (with and without a filter, a total and its parts, one page and another) is made of shown figures: a hidden
  figure cannot be recovered by subtraction. Each pooled figure says how many school figures it left out.
- **Not covered:** the two CDE files count different students (chronic absenteeism: eligible enrollment;
  suspension: cumulative enrollment). Their difference for one school is not a figure of either file and is not
  suppressed.
- **In this build:** {int(info.get('cells_n', 0)):,} published figures; hidden: {hidden[privacy.HIDDEN_CDE]:,} by CDE
  (`*`), {hidden[privacy.HIDDEN_SMALL]:,} under {codes.MIN_N} students, {hidden[privacy.HIDDEN_COMPLEMENT]:,} as
  complementary figures.
- **Pooled, not averaged.** A rate over several schools is the sum of their counts over the sum of their
  enrollments, never a mean of school rates. Because a student enrolled at two schools counts at each, a pooled
  district figure can differ from CDE's own district row.
- **Dashboard colours** follow CDE's five-by-five tables; groups of fewer than {levels.COLOR_MIN_N} students get no
  colour, and groups under {levels.SMALL_POPULATION_N} use the 3x5 grid. Colours are always shown with their name.
- **Missing years** are gaps in lines, never zeros.
- **The initiative's activity records** (who came to what) need sign-in when sign-in is configured; people are
  counted only in groups of {codes.MIN_N} or more.
""")
cuts = pl.DataFrame([{"cut set": c.label, "status upper bounds (%)": " / ".join(c.status_max),
                      "change upper bounds (pp)": " / ".join(c.change_max)}
                     for c in levels.CUT_SETS.values()])
show.dataframe(cuts, hide_index=True, key="cut_sets")
# Which sets are confirmed, and from where, is the operator's (`python -m csi_metrics info`, the README):
# a colour computed from an unconfirmed set says so on its own card, chart and tooltip.

st.subheader("Computed colours checked against CDE's")
summary, diffs = data.load(placement.reconcile)
if summary.is_empty():
    st.markdown("No CDE Dashboard file is loaded, so every colour is *Dashboard-style, computed* here and none "
                "could be checked. Put CDE's `chronicdownloadYYYY.txt` / `suspdownloadYYYY.txt` in the CDE folder "
                "and rebuild to show the official colour for schools and districts and check the rest.")
else:
    st.markdown("For every school with an official colour, the colour computed here from DataQuest's counts "
                "(the way pooled groups are placed) compared with CDE's. Schools and districts show CDE's colour; "
                "a difference means a pooled figure's computed colour may be off in the same way.")
    show.dataframe(summary.rename({"indicator": "measure", "dashboard_year": "Dashboard",
                                 "schools_compared_n": "schools compared", "same_colour_n": "same colour",
                                 "different_colour_n": "different colour"}), hide_index=True, key="reconcile")
    if not diffs.is_empty():
        with st.expander(f"The {diffs.height:,} schools whose colours differ"):
            show.dataframe(diffs, hide_index=True, key="reconcile_diffs")

st.header("Sources in this build")
sources = data.sql("SELECT path, kind, rows_n, rows_kept_n, sha256 FROM build_sources ORDER BY kind, path")
# File names and checksums only: the server's folders are nobody's business on a public page.
show.dataframe(sources.with_columns(pl.col("path").str.replace(r"^.*[/\\]", "").alias("file")).select(
    "file", "kind", "rows_n", "rows_kept_n", "sha256"), hide_index=True, key="sources")
rejected = data.sql("SELECT path, reason, rows_n FROM build_rejections ORDER BY rows_n DESC")
if not rejected.is_empty():
    st.subheader("Rows left out or flagged at build time")
    show.dataframe(rejected.with_columns(pl.col("path").str.replace(r"^.*[/\\]", "").alias("file")).select(
        "file", "reason", "rows_n"), hide_index=True, key="rejections")
