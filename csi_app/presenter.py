"""Presenter chrome for every page, and the deck's slides.

`?present=1` (or the sidebar toggle) hides the sidebar and Streamlit's chrome
and enlarges type so a chart reads from the back of a hall (the figures
themselves: csi_metrics.figures.projector). `export_buttons` offers PNG and SVG
at 1920x1080. A deck slide is its catalogue chart drawn through `data.draw`,
exactly as its page draws it; nothing here reads the page state."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from csi_app import data
from csi_metrics.figures import charts, export
from csi_metrics.figures.projector import MIN_TEXT_PX, presenter_figure, slide_figure  # noqa: F401  (re-exported)
from csi_metrics.storage.db import SignInRequired
from csi_metrics.views import deck
from csi_metrics.views.catalogue import Drawn
from csi_metrics.vocabulary import safe_text

PARAM = "present"
_ON = {"1", "true", "yes", "on"}
_STATE = "_presenting"

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


def for_display(fig: go.Figure) -> go.Figure:
    """What a page draws: `fig` itself, or its presenter version in presenter mode."""
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
    words = dict(title=title, caption=plain(caption) if caption else None, source=source, demo=data.is_demo())
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


def build_slide(view: deck.View) -> Drawn:
    """One deck view drawn: its catalogue chart under the view's filters and choices,
    with the view's own title (text, never markup) when it has one."""
    chart_id, choices = view.catalogue_chart()
    drawn = data.draw(chart_id, view.to_filters(), choices, title=view.title)
    if drawn.fig.layout.title.text not in (None, drawn.title):
        # A figure that shortens its title for a narrow page column gets the full one on a slide.
        drawn.fig.update_layout(title_text=drawn.title)
    return drawn


def export_items(views: list[deck.View]) -> list[export.ExportItem]:
    """Every view's slide for a deck export. A slide built from internal records that
    this session may not read is exported as a page saying so, never with its data."""
    items = []
    for i, v in enumerate(views, start=1):
        try:
            s = build_slide(v)
        except SignInRequired:
            items.append(export.ExportItem(charts.message_figure(
                f"Slide {i} shows the initiative's internal records:<br>sign in to include it."),
                v.title or deck.chart_label(v.chart), "", "", data.is_demo()))
            continue
        items.append(export.ExportItem(s.fig, s.title, s.caption, s.source, data.is_demo()))
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
