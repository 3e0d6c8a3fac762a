"""About the data: where every figure comes from, when it was built, what each
measure means, and the privacy rules applied before anything is shown."""

import polars as pl
import streamlit as st

from csi_metrics import codes, levels, registry
from pages import ui

ui.require_entry()
st.title("About the data")
info = ui.build_info()
mode = info.get("mode", "unknown")
st.markdown(f"**Data:** {'demo — fictional schools, generated for demonstration' if mode == 'demo' else mode}  \n"
            f"**Built:** {info.get('built_at', 'unknown')}  \n"
            f"**Years:** {', '.join(ui.filter_options().years) or 'none'}")
with st.expander("All build facts"):
    ui.dataframe(pl.DataFrame({"key": list(info), "value": list(info.values())}), hide_index=True)

st.header("Definitions")
better = {"lower_is_better": " (lower is better)", "higher_is_better": " (higher is better)"}
st.markdown("\n".join(f"- **{m.label}**{better.get(m.direction, '')}: {m.definition} *Source:* {m.source}"
                      for m in registry.METRICS.values()))

st.header("Privacy and suppression")
st.markdown(f"""
- **No figure describes fewer than {codes.MIN_N} students.** A rate, count or enrollment for a group of
  fewer than {codes.MIN_N} students is blank (marked *suppressed*) in every chart, table, tooltip and download.
- **No recovery by subtraction.** When one cell of a breakdown is hidden, the next smallest cell is hidden too,
  so the hidden one cannot be worked out from the total.
- **CDE's own suppression is kept.** School rows CDE published as `*` are left out of pooled rates; tables say
  how many schools each figure pools.
- **Pooled, not averaged.** A rate over several schools is the sum of their counts over the sum of their
  enrollments, never a mean of school rates.
- **Dashboard colours** follow CDE's five-by-five tables; groups of fewer than {levels.COLOR_MIN_N} students get no
  colour, and groups under {levels.SMALL_POPULATION_N} use the 3x5 grid. Colours are always shown with their name.
- **Missing years** are gaps in lines, never zeros.
""")
cuts = pl.DataFrame([{"cut set": c.label, "status upper bounds (%)": " / ".join(c.status_max),
                      "change upper bounds (pp)": " / ".join(c.change_max), "source": c.source}
                     for c in levels.CUT_SETS.values()])
ui.dataframe(cuts, hide_index=True, key="cut_sets")
st.caption(levels.CUT_SET_NOTES)

st.header("Sources in this build")
ui.dataframe(ui.sql("SELECT path, kind, rows_n, rows_kept_n, sha256 FROM build_sources ORDER BY kind, path"),
             hide_index=True, key="sources")
rejected = ui.sql("SELECT path, reason, rows_n FROM build_rejections ORDER BY rows_n DESC")
if not rejected.is_empty():
    st.subheader("Rows left out at build time")
    ui.dataframe(rejected, hide_index=True, key="rejections")
