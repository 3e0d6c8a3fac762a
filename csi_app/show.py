"""Showing things on a page: the demo banner, a catalogue chart with its words,
its PNG/SVG export and the table behind it with a CSV of exactly that table, and
tables in general (names beside codes, rates as percentages rounded as the one
formatter rounds). Suppression is already applied upstream; nothing here decides it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import streamlit as st

from csi_app import data, firstpaint, phone, presenter
from csi_metrics.figures import downloads
from csi_metrics.metrics import placement
from csi_metrics.views import catalogue
from csi_metrics.views.catalogue import Drawn
from csi_metrics.vocabulary import codes, formats, registry
from csi_metrics.vocabulary.filters import Filters

DEMO_BANNER = ("**DEMO DATA — fictional schools.** Every school, grant, activity and rate here was "
               "generated for demonstration (with a modest effect of the grants planted); none of it describes a "
               "real school or student.")
EMPTY = formats.BLANK  # how a table shows a blank (suppressed, unpublished or not applicable) cell
PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "width": 1920, "height": 1080, "scale": 1},
}


# A Dashboard colour as st.badge names it.
BADGE = {"Red": "red", "Orange": "orange", "Yellow": "yellow", "Green": "green", "Blue": "blue"}


def level_badge(color: str | None, level_source: str | None, note: str | None) -> None:
    """A Dashboard colour as a badge, saying whether CDE's official file gave it or it was
    computed Dashboard-style; grey with the reason when there is none. The Overview's cards
    and a school's profile both show it this way."""
    st.badge(level_words(color, level_source, note), color=BADGE.get(color, "gray"))


def level_words(color: str | None, level_source: str | None, note: str | None) -> str:
    if color:
        kind = "Dashboard colour" if level_source == placement.SOURCE_OFFICIAL else "Dashboard-style colour"
        return f"{kind}: {color}"
    return f"No Dashboard colour: {note or 'not placed'}"


def title(text: str) -> None:
    """A page's title (and its picture's: csi_app.firstpaint)."""
    st.title(text)
    firstpaint.heading(st.session_state, text)


def demo_banner() -> None:
    if data.is_demo():
        st.warning(DEMO_BANNER, icon=":material/science:")


def metric_caption(metric_id: str) -> str:
    """'Label: definition Source: ...' from the metric registry."""
    m = registry.METRICS.get(metric_id)
    return f"**{m.label}**: {m.definition} *Source:* {m.source}" if m else ""


def readable(df: pl.DataFrame) -> pl.DataFrame:
    """The table behind a chart with names beside codes (catalogue.readable: the attendee page's too)."""
    return catalogue.readable(df)


def headline_table(head: pl.DataFrame) -> pl.DataFrame:
    """The headline figures as a person reads them: label, scope, year, the value and its
    change written by the one formatter, then the raw values with their units named."""
    text = [(formats.format_value(r["value"], r["unit"], suppressed=bool(r["suppressed"])),
             formats.format_value(r["change"], r["change_unit"]) if r["change"] is not None else EMPTY)
            for r in head.iter_rows(named=True)]
    shown = pl.DataFrame({"value_text": [t[0] for t in text], "change_text": [t[1] for t in text]},
                         schema={"value_text": pl.String, "change_text": pl.String})
    out = pl.concat([head, shown], how="horizontal")
    first = ["label", "scope_label", "year", "value_text", "prior_year", "change_text"]
    return out.select([c for c in first if c in out.columns] + [c for c in out.columns if c not in first])


def rounded_for_reading(df: pl.DataFrame) -> pl.DataFrame:
    """The table a person reads: rates (0-1) to 0.1 point and pp to 0.1, rounded half up
    as the one formatter rounds; the CSV keeps the unrounded values."""
    rate_cols = [c for c, t in df.schema.items() if t.is_float() and (c == "rate" or c.endswith("_rate"))]
    pp_cols = [c for c, t in df.schema.items() if t.is_float() and c.endswith("_pp")]
    return df.with_columns([formats.half_up_expr(pl.col(c), 3).alias(c) for c in rate_cols]
                           + [formats.half_up_expr(pl.col(c), 1).alias(c) for c in pp_cols])


def column_config(df: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for c in df.columns:
        if c == "rate" or c.endswith("_rate"):
            cfg[c] = st.column_config.NumberColumn(c, format="percent", help="shown as %; 0-1 in the CSV")
        elif c.endswith("_usd"):
            cfg[c] = st.column_config.NumberColumn(c, format="dollar")
    return cfg


def dataframe(df: pl.DataFrame, **kwargs: Any) -> Any:
    """st.dataframe of a Polars frame, handed over as Arrow: Streamlit's own conversion
    of a Polars frame goes through pandas and can wait on Polars' thread pool while it
    holds the GIL (with a Python function in that pool, the server deadlocked)."""
    return st.dataframe(df.to_arrow() if isinstance(df, pl.DataFrame) else df, **kwargs)


def csv_notes(filters: Filters | None, *, choices: Mapping[str, Any] | None = None,
              source: str | None = None) -> list[str]:
    """The lines above a CSV's header: filters (and the page's choices), source, DEMO."""
    said = filters.describe(data.filter_options().district_names) if filters is not None else None
    picked = " · ".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                       for k, v in (choices or {}).items() if v not in (None, ""))
    text = " · ".join(x for x in (said, picked) if x) or None
    return downloads.header_lines(filters=text, source=source, demo=data.is_demo())


def csv_name(key: str, filters: Filters | None) -> str:
    """A file name naming the view: page control key, year, SPA, district, group (if not all)."""
    f = filters
    if f is None:
        return downloads.file_name(key)
    return downloads.file_name(key, f.year, f"spa{f.spa}" if f.spa else None, f.district,
                               f.community if f.community != "all" else None,
                               f"cohort{f.cohort}" if f.cohort else None, f.school_type,
                               f.student_group if f.student_group != "TA" else None)


def csv_button(table: pl.DataFrame, *, key: str, file_name: str | None = None, filters: Filters | None = None,
               choices: Mapping[str, Any] | None = None, source: str | None = None) -> None:
    """A download of exactly `table` as CSV (csi_metrics.figures.downloads, the one CSV writer),
    headed by the filters, the source and DEMO DATA, named for the view."""
    st.download_button("Download CSV", downloads.csv_bytes(table, notes=csv_notes(filters, choices=choices,
                                                                                   source=source)),
                       file_name=file_name or csv_name(key, filters), mime="text/csv", key=f"csv_{key}",
                       on_click="ignore")


def table_and_csv(table: pl.DataFrame, *, key: str, label: str = "Table and CSV",
                  config: Mapping[str, Any] | None = None, filters: Filters | None = None,
                  choices: Mapping[str, Any] | None = None, source: str | None = None) -> None:
    """A table in an expander, with a CSV download of exactly that table above it."""
    with st.expander(label):
        # The button above the table: the grid sizes itself after the expander opens, and a
        # button below it would move under the pointer of someone reaching for it.
        csv_button(table, key=key, filters=filters, choices=choices, source=source)
        dataframe(rounded_for_reading(table), hide_index=True, key=f"table_{key}", placeholder=EMPTY,
                  column_config=dict(config) if config is not None else column_config(table))
        if "suppressed" in table.columns:
            st.caption(f"{EMPTY} (blank in the CSV): suppressed (fewer than {codes.MIN_N} students, or recoverable "
                       "by subtraction), not published, or not applicable; suppressed = true marks suppression"
                       + ("; not_published = true marks a year CDE published no data for (not suppression)."
                          if "not_published" in table.columns else "."))


def show(drawn: Drawn, *, key: str, caption: str | None = None,
         on_select: Callable[[], None] | None = None, filters: Filters | None = None,
         choices: Mapping[str, Any] | None = None) -> None:
    """Draw a catalogue chart: the figure, its definition, source and note, PNG/SVG
    export, and the table behind it with its CSV. With `on_select`, a click on a point
    calls it (selection in st.session_state[f"chart_{key}"])."""
    config_ = {**PLOTLY_CONFIG, "toImageButtonOptions": {**PLOTLY_CONFIG["toImageButtonOptions"], "filename": key}}
    select: dict[str, Any] = dict(on_select=on_select, selection_mode="points") if on_select else {}
    # theme=None: Streamlit's own chart theme would override the dashboard's projector type sizes.
    if presenter.is_presenting():
        phone.plotly_chart(presenter.for_display(drawn.fig), adapt=False, key=f"chart_{key}", config=config_,
                           theme=None, **select)
    else:  # on a phone, the narrow layout
        phone.plotly_chart(drawn.fig, key=f"chart_{key}", config=config_, theme=None, **select)
    exported = export_caption(drawn)  # the page's own words (caption) stay on the page
    text = " ".join(x for x in (exported, caption.rstrip(".") + "." if caption else "") if x)
    if text:
        st.caption(text)
    presenter.export_buttons(drawn.fig, key=key, caption=exported, title=drawn.title)
    presenter.add_to_deck_button(drawn, key=key)
    source = registry.METRICS[drawn.metric].source if drawn.metric in registry.METRICS else None
    table_and_csv(readable(drawn.table), key=key, filters=filters, choices=choices, source=source)


def export_caption(drawn: Drawn) -> str:
    """What an exported image prints under a chart: its definition, source and note. The
    image travels alone, so never the page's instructions ("Click an SPA's name...")."""
    return " ".join(x.rstrip(".") + "." for x in (metric_caption(drawn.metric) if drawn.metric else "",
                                                   drawn.note) if x)


def chart(chart_id: str, filters: Filters, *, key: str | None = None, caption: str | None = None,
          on_select: Callable[[], None] | None = None, **choices: Any) -> Drawn:
    """Catalogue chart `chart_id` drawn through data.draw and shown; returns what was drawn."""
    drawn = data.draw(chart_id, filters, choices)
    show(drawn, key=key or chart_id, caption=caption, on_select=on_select, filters=filters, choices=choices)
    return drawn
