"""Presenter mode and chart export, for every page.

`?present=1` (or the sidebar toggle) hides the sidebar and Streamlit's chrome
and enlarges type so a chart reads from the back of a hall. `presenter_figure`
gives a chart the presenter theme; `export_buttons` offers PNG and SVG at
1920x1080. The deck's slides are built here too (`build_slide`), from the same
cached loaders and chart builders the pages use, so a slide looks like its page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from csi_metrics.figures import charts, deck, export
from csi_metrics.vocabulary import codes, safe_text
from csi_metrics.metrics import placement
from csi_metrics.ingest import boundaries
from csi_metrics.metrics import geo

PARAM = "present"
_ON = {"1", "true", "yes", "on"}
_STATE = "_presenting"
MIN_TEXT_PX = 24               # smallest type a presenter shows
SLIDE_HEIGHT_PX = 720          # one chart, its caption and the step buttons on a 1080 px screen
SLIDE_WIDTH_PX = 1840          # 1920 less the presenter page's side padding
PAGE_CHART_MIN_HEIGHT_PX = 620
NOTE_OFFSET_PX = 96           # below two lines of presenter-size tick labels

# Streamlit's chrome by its test ids: header, toolbar, menu, deploy button,
# running-man status, the sidebar and the button that re-opens it.
_PRESENT_CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stMainMenu"],
[data-testid="stStatusWidget"], [data-testid="stAppDeployButton"], footer {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding: 0.75rem 2.5rem 0.5rem 2.5rem !important; max-width: 100% !important; }}
[data-testid="stAppViewContainer"] {{ font-size: {MIN_TEXT_PX + 2}px; }}
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"],
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li,
[data-testid="stMainBlockContainer"] label, [data-testid="stMainBlockContainer"] button,
[data-testid="stMainBlockContainer"] summary, [data-testid="stMainBlockContainer"] td,
[data-testid="stMainBlockContainer"] th, [data-testid="stMainBlockContainer"] code,
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"],
[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"] *,
[data-testid="stMainBlockContainer"] input,
[data-testid="stMainBlockContainer"] [data-testid="stMetricLabel"] * {{ font-size: {MIN_TEXT_PX}px !important; line-height: 1.35; }}
[data-testid="stMainBlockContainer"] h1 {{ font-size: 52px !important; }}
[data-testid="stMainBlockContainer"] h2 {{ font-size: 40px !important; }}
[data-testid="stMainBlockContainer"] h3 {{ font-size: 32px !important; }}
[data-testid="stMetricValue"] * {{ font-size: 56px !important; }}
[data-testid="stAlert"] [data-testid="stMarkdownContainer"] p {{ font-size: {MIN_TEXT_PX}px !important; }}
[data-testid="stAlertContainer"] {{ padding: 0.4rem 1rem !important; }}
</style>
"""


# --------------------------------------------------------------------------- mode


def is_presenting() -> bool:
    """Presenter mode for this run: the URL says so, or this session turned it on
    and a page switch has since cleared the URL."""
    raw = st.query_params.get(PARAM)
    if raw is not None:
        return raw.strip().lower() in _ON
    return bool(st.session_state.get(_STATE))


def _set(on: bool) -> None:
    st.session_state[_STATE] = on
    if on:
        st.query_params[PARAM] = "1"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def _toggled() -> None:
    _set(bool(st.session_state.get("present_toggle")))


def inject_css() -> None:
    st.html(_PRESENT_CSS)


def apply_presenter_mode(*, force: bool = False) -> bool:
    """Call once per run, before the page: keeps ?present in the URL, draws the
    sidebar toggle (or, when presenting, a small exit button) and hides the chrome."""
    on = force or is_presenting()
    if not force:
        _set(on)
    if on:
        inject_css()
        if not force:
            st.button("Exit presenter mode", key="present_exit", icon=":material/close_fullscreen:",
                      on_click=_set, args=(False,), type="tertiary")
    else:
        st.session_state["present_toggle"] = False
        st.sidebar.toggle("Presenter mode", key="present_toggle", on_change=_toggled,
                          help="Hide the sidebar and menus and enlarge type for a projector. "
                               "The link keeps it: add ?present=1 to any page.")
    return on


# --------------------------------------------------------------------------- figures


def _raise(font: object, px: int) -> None:
    size = getattr(font, "size", None)
    if size is not None and size < px:
        font.size = px  # type: ignore[attr-defined]


def presenter_figure(fig: go.Figure, *, height: int | None = None) -> go.Figure:
    """A copy of `fig` for a projector: the presenter theme, thick lines, and no
    explicitly small type left anywhere (annotations, bar and treemap labels)."""
    out = go.Figure(fig)
    charts.apply_theme(out, present=True)
    below_px = 0
    for ann in out.layout.annotations or ():
        if ann.font.size is None or ann.font.size < MIN_TEXT_PX:
            ann.font.size = MIN_TEXT_PX
        under = ann.yref == "paper" and ann.y is not None and (
            ann.y < 0 or (ann.y == 0 and ann.yanchor == "top" and (ann.yshift or 0) < 0))
        if under:
            # A note under the plot sits just below normal-size tick labels; presenter ticks
            # are larger and often wrap to two lines: move it below them, in pixels.
            lines = (ann.text or "").count("<br>") + 1
            ann.update(y=0, yanchor="top", yshift=-NOTE_OFFSET_PX)
            below_px = max(below_px, NOTE_OFFSET_PX + lines * (MIN_TEXT_PX + 8) + 12)
    if below_px:
        out.update_layout(margin=dict(b=below_px))
    for trace in out.data:
        for attr in ("textfont", "insidetextfont", "outsidetextfont"):
            if hasattr(trace, attr):
                _raise(getattr(trace, attr), MIN_TEXT_PX)
        if getattr(trace, "type", "") == "bar" and trace.marker.line.width:
            trace.marker.line.width = max(trace.marker.line.width, 2)
        colorbar = getattr(getattr(trace, "marker", None), "colorbar", None) or getattr(trace, "colorbar", None)
        if colorbar is not None:
            _raise(colorbar.tickfont, MIN_TEXT_PX)
            _raise(colorbar.title.font, MIN_TEXT_PX)
    for name in out.layout:
        if re.fullmatch(r"[xy]axis\d*", name):
            _raise(out.layout[name].tickfont, MIN_TEXT_PX)
            _raise(out.layout[name].title.font, MIN_TEXT_PX)
    out.update_traces(marker=dict(size=14), selector=dict(type="scatter"))
    if height:
        out.update_layout(height=height)
    elif out.layout.height is None:
        # Only charts that left their height to Streamlit: a sparkline keeps its small size.
        out.update_layout(height=PAGE_CHART_MIN_HEIGHT_PX)
    return out


def slide_figure(fig: go.Figure) -> go.Figure:
    """A deck slide: the presenter figure at slide height, a map re-zoomed to the slide."""
    out = presenter_figure(fig, height=SLIDE_HEIGHT_PX)
    if any(getattr(t, "type", "") == "choroplethmap" for t in out.data):
        from csi_metrics.figures.maps import refit_view

        refit_view(out, SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX)
    return out


def for_display(fig: go.Figure) -> go.Figure:
    """What show_chart draws: `fig` itself, or its presenter version in presenter mode."""
    return presenter_figure(fig) if is_presenting() else fig


# --------------------------------------------------------------------------- export


def plain(markdown: str) -> str:
    """Caption markdown to plain text for an image."""
    return safe_text.from_markdown(markdown)


def export_buttons(fig: go.Figure, *, key: str, caption: str | None = None, source: str | None = None,
                   title: str | None = None, always: bool = False) -> None:
    """PNG and SVG downloads of `fig` at 1920x1080. The image renders when clicked
    (a browser start, seconds) and is cached per figure spec. Left out in presenter
    mode (the audience sees the chart, not the buttons) unless `always`."""
    if is_presenting() and not always:
        return
    name = export.slug(title or (fig.layout.title.text if fig.layout.title and fig.layout.title.text else key))
    words = dict(title=title, caption=plain(caption) if caption else None, source=source)
    row = st.container(horizontal=True, gap="small")
    for fmt in ("png", "svg"):
        row.download_button(
            fmt.upper(), data=_renderer(fig, fmt, words), file_name=f"{name}.{fmt}", mime=export.MIME[fmt],
            key=f"export_{fmt}_{key}", on_click="ignore", icon=":material/download:",
            help=f"{fmt.upper()} at 1920x1080 with title, caption and source",
        )


def _renderer(fig: go.Figure, fmt: str, words: dict) -> Callable[[], bytes]:
    return lambda: export.figure_bytes(fig, fmt, **words)


# --------------------------------------------------------------------------- slides


@dataclass(frozen=True)
class Slide:
    fig: go.Figure
    table: pl.DataFrame
    title: str
    caption: str          # markdown: definition and what the chart shows
    source: str
    metric: str | None


def _metric_words(metric_id: str) -> tuple[str, str]:
    from csi_metrics.vocabulary import registry

    m = registry.METRICS.get(metric_id)
    return (f"{m.label}: {m.definition}", m.source) if m else ("", "")


def _latest_year_filters(view: deck.View):
    from pages import ui

    f = view.to_filters()
    if f.year is None:
        f = f.with_(year=ui.default_filters(ui.filter_options()).year)
    return f


def _map_figure(metric: str, f) -> tuple[go.Figure, pl.DataFrame]:
    """The Map page's figure for `metric` under `f`: SPA polygons when a boundary
    file is configured, the tile layout otherwise (both draw with no network)."""
    from csi_metrics.vocabulary import config
    from csi_metrics.figures import maps
    from pages import ui

    m = geo.MEASURES[metric]
    df = ui.load("geo.spa_measure", metric, filters=f)
    title = f"{m.label} by SPA, {f.year}"
    color_col = "color" if "color" in df.columns else None
    path = config.boundary_path()
    geojson = None
    if path is not None and path.exists():
        try:
            geojson = boundaries.display_boundaries(path)
        except Exception:  # a bad boundary file: the Map page says why; the slide falls back to tiles
            geojson = None
    if geojson is not None:
        schools = ui.load("geo.school_points_frame", metric, filters=f.with_(spa=None))
        points = maps.school_points(schools, color_by="dashboard_color", label=ui.METRIC_LABELS[metric])
        fig = maps.spa_choropleth(geojson, df, m.value_col, label=m.label, unit=m.unit, title=title,
                                  color_col=color_col, points=points, highlight_spa=f.spa)
    else:
        fig = maps.spa_tile_map(df, m.value_col, label=m.label, unit=m.unit, title=title, color_col=color_col)
    return fig, df


def build_slide(view: deck.View) -> Slide:
    """The figure and table for one deck view, through pages.ui's cached loaders."""
    from pages import ui

    chart = view.chart
    # A view's own title comes from whoever made the deck: shown as text, never as markup.
    own = safe_text.for_plotly(view.title) if view.title else None
    metric = next((m for m in codes.METRICS if chart.startswith(m)), None)
    label = ui.METRIC_LABELS.get(metric or "", "")
    f = view.to_filters()
    note = ""
    if metric and chart == f"{metric}_trend":
        every = f.with_(year=None)
        df = ui.trend(metric, ["community"], every)
        df = df.filter(pl.col("community").is_in(["community", "comparison"]))
        title = own or f"{label} rate by year: community vs comparison schools"
        fig = charts.trend_lines(df, title=title, group_col="community", county=ui.county(metric, every), metric=metric,
                                 y_title=f"{label} rate")
        note = f"{ui.describe(every)}. Dashed black line: every LA County school pooled."
    elif metric and chart == f"{metric}_did":
        df = ui.load("compare.diff_in_diff", metric, filters=f)
        title = own or f"{label}: change in community vs comparison schools"
        fig = charts.did_bars(df, title=title)
        note = ("Difference-in-differences: the community schools' change minus the comparison schools' "
                "change over the same years. It describes, it does not prove cause.")
    elif metric and chart == f"{metric}_map":
        f = _latest_year_filters(view)
        fig, df = _map_figure(metric, f)
        title = own or fig.layout.title.text
        fig.update_layout(title_text=title)
        note = (f"{ui.describe(f)}. Points: community schools, sized by enrolment, coloured by their Dashboard "
                "level: CDE's official colour where its Dashboard file has one, else Dashboard-style, computed.")
    elif metric and chart == f"{metric}_by_spa":
        f = _latest_year_filters(view)
        df = ui.with_prior(metric, ["spa"], f)
        title = own or f"{label} rate by SPA, {f.year}"
        fig = charts.bar_by_group(df, category_col="spa", value_col="rate", title=title, color_col="color")
        note = f"{ui.describe(f)}. Bar colour and label: the Dashboard level. " + placement.colour_sentence(
            df["level_source"], metric)
    elif metric and chart == f"{metric}_equity":
        f = _latest_year_filters(view)
        df = ui.with_prior(metric, ["student_group"], f.with_(student_group="TA"))
        kinds = {c for c, (_, k) in codes.REPORTING_CATEGORIES.items() if k in ("race", "program")} | {"TA"}
        df = df.filter(pl.col("student_group").is_in(sorted(kinds)))
        title = own or f"{label} rate by student group, {f.year}"
        fig = charts.equity_bars(df, title=title)
        note = f"{ui.describe(f.with_(student_group='TA'))}. Dashed line: All students."
    elif chart == "funding_by_spa":
        metric = "ccspp_usd"
        df = ui.load("funding.awards", ["spa"], filters=f)
        title = own or "CCSPP awards by SPA"
        fig = charts.bar_by_group(df, category_col="spa", value_col="amount_usd", kind="usd", title=title,
                                  x_title="Dollars awarded")
        note = f"CCSPP awards for {ui.describe(f)}."
    elif chart == "funding_treemap":
        metric = "ccspp_usd"
        df = ui.load("funding.awards", ["spa", "grant_type"], filters=f)
        title = own or "CCSPP awards by SPA and grant type"
        fig = charts.funding_treemap(df, path=["spa", "grant_type"], title=title)
        note = f"CCSPP awards for {ui.describe(f)}."
    elif chart == "activities_by_month":
        metric = "activities_n"
        df = ui.load("activities.activity_counts", ["month", "activity_type"], filters=f)
        title = own or "R-TAC activities by month and type"
        fig = charts.activities_by_month(df, title=title)
        note = f"R-TAC activities for {ui.describe(f)}."
    else:  # deck.CHARTS and this function are kept in step by tests/test_present_page.py
        raise ValueError(f"no slide builder for chart {chart!r}")
    definition, source = _metric_words(metric or "")
    caption = " ".join(x for x in (definition, note) if x)
    return Slide(fig=fig, table=df, title=title, caption=caption, source=source, metric=metric)


def export_items(views: list[deck.View]) -> list[export.ExportItem]:
    """Every view's slide for a deck export. A slide built from internal records that
    this session may not read is exported as a page saying so, never with its data."""
    from csi_metrics.storage.db import SignInRequired

    items = []
    for i, v in enumerate(views, start=1):
        try:
            s = build_slide(v)
        except SignInRequired:
            items.append(export.ExportItem(charts.message_figure(
                f"Slide {i} shows the initiative's internal records:<br>sign in to include it."),
                v.title or deck.CHARTS[v.chart][1], "", ""))
            continue
        items.append(export.ExportItem(s.fig, s.title, s.caption, s.source))
    return items


# --------------------------------------------------------------------------- keyboard

# Arrow keys and a presenter's clicker (PageUp/PageDown) press the step buttons,
# found by their key's CSS class. Bound once per browser tab.
KEYBOARD_JS = """
<script>
(function () {
  const w = window.parent && window.parent.document ? window.parent : window;
  if (w.__csiDeckKeys) { return; }
  w.__csiDeckKeys = true;
  w.document.addEventListener("keydown", function (e) {
    const t = e.target;
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (t && t.closest && t.closest("input, textarea, select, [contenteditable=true]")) { return; }
    let key = null;
    if (e.key === "ArrowRight" || e.key === "PageDown") { key = "deck_next"; }
    if (e.key === "ArrowLeft" || e.key === "PageUp") { key = "deck_prev"; }
    if (!key) { return; }
    const btn = w.document.querySelector(".st-key-" + key + " button");
    if (btn && !btn.disabled) { e.preventDefault(); btn.click(); }
  });
})();
</script>
"""


def keyboard_navigation() -> None:
    st.html(KEYBOARD_JS, unsafe_allow_javascript=True)
