"""Presenter chrome for every page, and the deck's slides.

`?present=1` (or the sidebar toggle) hides the sidebar and Streamlit's chrome
and enlarges type so a chart reads from the back of a hall (the figures
themselves: csi_metrics.figures.projector). `export_buttons` offers PNG and SVG
at 1920x1080. A deck slide is its catalogue chart drawn through `data.draw`,
exactly as its page draws it; nothing here reads the page state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import plotly.graph_objects as go
import streamlit as st

from csi_app import data
from csi_metrics.figures import charts, export, maps
from csi_metrics.figures.projector import (MIN_TEXT_PX, PAGE_PAD_CSS, SLIDE_CHROME_PX,  # noqa: F401  (re-exported)
                                           presenter_figure, slide_figure)
from csi_metrics.storage.db import SignInRequired
from csi_metrics.views import catalogue, deck, publish
from csi_metrics.views.catalogue import Drawn
from csi_metrics.vocabulary import config, safe_text
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters

PARAM = "present"
_STATE = "_presenting"
VALUE_PX = 56                 # a headline value on a projector
PHONE_PX = 640                # csi_app.phone.NARROW_PX: under it, no projector type
DEMO_MARK = "**DEMO DATA — fictional schools.**"

# Streamlit's chrome by its test ids: header, toolbar, menu, deploy button,
# running-man status, the sidebar and the button that re-opens it.
_PRESENT_CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stMainMenu"],
[data-testid="stStatusWidget"], [data-testid="stAppDeployButton"], footer {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding: {PAGE_PAD_CSS} !important; max-width: 100% !important; }}
/* Projector type: not on a phone, whose chart is drawn at phone size (csi_app.phone). */
@media (min-width: {PHONE_PX + 1}px) {{
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
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMetricValue"] * {{ font-size: {VALUE_PX}px !important; line-height: 1.15; }}
[data-testid="stMainBlockContainer"] [data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] .stMarkdownBadge {{ font-size: {MIN_TEXT_PX}px !important; }}
[data-testid="stMainBlockContainer"] .stMarkdownBadge {{ color: #1f1f1f !important; padding: 0.1em 0.45em; }}
[data-testid="stAlert"] [data-testid="stMarkdownContainer"] p {{ font-size: {MIN_TEXT_PX}px !important; }}
}}
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"],
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] * {{ color: #2f2d2b !important; }}
[data-testid="stAlertContainer"] {{ padding: 0.4rem 1rem !important; }}
/* A projector shows the chart: the page title, the page's own controls, the tables
   and their CSVs stay in the normal view (the link keeps the choices). */
[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]:has(h1),
[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]:has(> [data-testid="stButtonGroup"]),
[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]:has(> [data-testid="stSelectbox"]):not(.st-key-deck_tools *),
[data-testid="stMainBlockContainer"] [data-testid="stLayoutWrapper"]:has(> [data-testid="stExpander"]):not(.st-key-deck_tools):not(:has(.st-key-deck_tools)) {{ display: none !important; }}
/* Long captions: two lines on a projector (the full text is in the normal view and the exports);
   a phone shows them whole. */
@media (min-width: {PHONE_PX + 1}px) {{
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] {{
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }}
}}
/* The way out of presenter mode stays, out of the slide's way. */
.st-key-present_exit {{ position: fixed; top: 0.25rem; right: 0.5rem; z-index: 999990; width: auto !important; opacity: 0.55; }}
.st-key-present_exit:hover {{ opacity: 1; }}
/* The demo mark: one short line, on every page and slide. */
.st-key-demo_mark [data-testid="stAlertContainer"] {{ padding: 0.1rem 0.75rem !important; }}
.st-key-demo_mark [data-testid="stAlert"] [data-testid="stMarkdownContainer"] p {{ margin: 0; }}
</style>
"""


# --------------------------------------------------------------------------- mode


def is_presenting() -> bool:
    """Presenter mode for this run: the URL says so, or this session turned it on
    and a page switch has since cleared the URL."""
    raw = st.query_params.get(PARAM)
    if raw is not None:
        return raw.strip().lower() in config.ON_WORDS
    return bool(st.session_state.get(_STATE))


def _set(on: bool) -> None:
    st.session_state[_STATE] = on
    if on:
        st.query_params[PARAM] = "1"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def _toggled() -> None:
    _set(bool(st.session_state.get("present_toggle")))


def demo_mark() -> None:
    """The demo label in presenter mode: one short line instead of the banner (every
    page and slide still says the data are fictional)."""
    if data.is_demo():
        with st.container(key="demo_mark"):
            st.warning(DEMO_MARK, icon=":material/science:")


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


# The size a slide's map is zoomed for: the smallest projector it must fit (1440x900).
FIT_FOR_PX = (1360, 900 - SLIDE_CHROME_PX)


def fitted_slide(fig: go.Figure) -> go.Figure:
    """A deck slide that takes its height from the page (one chart per screen at any
    size): the slide figure with no fixed height; a map zoomed for the smallest screen."""
    out = slide_figure(fig)
    if any(getattr(t, "type", "") == "choroplethmap" for t in out.data):
        maps.refit_view(out, *FIT_FOR_PX)  # the view until the browser fits it (mapscript)
        out.update_layout(meta={"fit_bounds": maps.view_bounds(out)})
    out.update_layout(height=None, autosize=True)
    return out


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


# --------------------------------------------------------------------------- the deck being built

DECK_KEY = "_deck"            # the session's deck (csi_metrics.views.deck.Deck)


def current_deck(problems: list[str] | None = None) -> deck.Deck | None:
    """The deck this session is building: a `?deck=` link read into the session (so a
    link restores it on any page), else the one built so far, else none yet. A link
    that cannot be read leaves the session's deck as it was; with `problems`, why is
    appended to it (the Presenter page says so; an ordinary page keeps quiet)."""
    raw = st.query_params.get(deck.LINK_PARAM)
    held = st.session_state.get(DECK_KEY)
    if raw and not (isinstance(held, deck.Deck) and deck.to_link_param(held) == raw):
        try:
            st.session_state[DECK_KEY] = deck.from_link_param(raw)
        except InputError as exc:
            if problems is not None:
                problems.append(str(exc))
    held = st.session_state.get(DECK_KEY)
    return held if isinstance(held, deck.Deck) else None


def keep_deck(d: deck.Deck) -> None:
    """`d` becomes the session's deck and goes into the link (while it fits in one)."""
    st.session_state[DECK_KEY] = d
    link = deck.to_link_param(d)
    if len(link) <= deck.MAX_LINK_CHARS:
        st.query_params[deck.LINK_PARAM] = link
    elif deck.LINK_PARAM in st.query_params:
        del st.query_params[deck.LINK_PARAM]


def _add(chart_id: str, filters: Filters, choices: dict) -> None:
    try:
        d = deck.added(current_deck(), deck.view_of(chart_id, filters, choices))
    except InputError as exc:
        st.toast(f"Not added: {safe_text.for_markdown(exc)}", icon=":material/error:")
        return
    keep_deck(d)
    st.toast(f"Added to the deck: slide {len(d)}. Arrange it on the Presenter page.", icon=":material/slideshow:")


def add_view_button(chart_id: str, filters: Filters, choices: dict | None = None, *, key: str) -> None:
    """"Add this view to the deck": catalogue chart `chart_id` under these filters and
    choices becomes the deck's last slide. Not shown while presenting."""
    if is_presenting() or chart_id not in catalogue.CHARTS or catalogue.CHARTS[chart_id].page not in deck.PAGES:
        return
    st.button("Add this view to the deck", key=f"deck_add_{key}", icon=":material/add_to_queue:",
              on_click=_add, args=(chart_id, filters, dict(choices or {})), type="tertiary",
              help="The chart as shown here (filters and choices) becomes the next slide of your deck.")


def add_to_deck_button(drawn: Drawn, *, key: str) -> None:
    """The add button under a drawn catalogue chart, with what it was drawn from."""
    if drawn.chart_id:
        add_view_button(drawn.chart_id, drawn.filters or Filters(), dict(drawn.choices), key=key)


def share_link(d: deck.Deck, step: int) -> str:
    """The whole link that opens `d` at slide `step`: this server's address when the
    browser has told it (a copied link must work pasted anywhere), else the query alone."""
    query = urlencode({deck.LINK_PARAM: deck.to_link_param(d), "step": step})
    base = st.context.url
    if not base:
        return f"?{query}"
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if path.endswith("/present"):
        path = path[: -len("/present")]
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/present", query, ""))


# --------------------------------------------------------------------------- the attendee page

ATTENDEE_KEY = "_attendee_share"   # {"url", "summary"} once this session has published
_publishing = threading.Lock()


def attendee_url() -> str:
    """The attendee page's short address on this server (what the QR code holds): the
    browser's own host when it has told the server, else the path alone."""
    base = st.context.url
    if not base:
        return config.ATTENDEE_SHORT_PATH
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, config.ATTENDEE_SHORT_PATH, "", ""))


def publish_for_attendees(d: deck.Deck) -> None:
    """Publish `d` where this server serves it (public data only, written atomically), then
    show its QR code and address on the slide. A button callback: errors become a message."""
    # One publish at a time in this server: each draws every slide in a browser (about a minute
    # of both cores); a second presenter is told to wait instead of starting another.
    if not _publishing.acquire(blocking=False):
        st.session_state[ATTENDEE_KEY] = {"error": "Not published: another session is publishing the attendee "
                                                   "page right now. Try again in a minute."}
        return
    try:
        with st.spinner("Publishing for attendees: every slide's images are drawn (about a minute)"):
            done = publish.publish_from_db(config.db_path(), d, config.ATTENDEE_DIR)
    except Exception as exc:  # the deck and the slide stay; the presenter is told why
        st.session_state[ATTENDEE_KEY] = {"error": f"Not published: {safe_text.for_markdown(exc)}"}
        return
    finally:
        _publishing.release()
    withheld = f", {done.withheld_n} left out (internal records)" if done.withheld_n else ""
    st.session_state[ATTENDEE_KEY] = {
        "url": attendee_url(),
        "summary": f"{done.slides_n} slides{withheld}; a phone fetches {done.phone_bytes / 1e3:,.0f} kB.",
    }


# Fixed in the slide's lower right, clear of the step buttons under it; its captions in full (a
# slide's caption is clamped to two lines in presenter mode).
_SHARE_CSS = """<style>.st-key-attendee_share { position: fixed; right: 1.5rem; bottom: 9rem; z-index: 999980;
width: 380px !important; background: #fff; border: 2px solid #1f1f1f; border-radius: 8px; padding: 0.6rem; }
.st-key-attendee_share img { image-rendering: pixelated; }
.st-key-attendee_share [data-testid="stCaptionContainer"] { display: block !important; -webkit-line-clamp: unset !important;
overflow: visible !important; }</style>"""


def attendee_box() -> None:
    """The QR code and short address of the published attendee page, in a box on the slide
    (audiences scan it from the screen), with a way to hide it; or why publishing failed."""
    shared = st.session_state.get(ATTENDEE_KEY)
    if not shared:
        return
    if "error" in shared:
        st.error(shared["error"], icon=":material/error:")
        return
    st.html(_SHARE_CSS)
    with st.container(key="attendee_share"):
        st.image(publish.qr_png(shared["url"], scale=8), width=240)
        st.markdown(f"**The slides on your phone:** `{shared['url']}`")
        st.caption(shared["summary"])
        if urlsplit(shared["url"]).hostname in ("localhost", "127.0.0.1", "::1", None):
            st.caption("This is this computer's own address: open the dashboard by its network address "
                       "(as the audience's phones reach it) and publish again for a code they can use.")
        st.button("Hide", key="attendee_hide", icon=":material/visibility_off:", type="tertiary",
                  on_click=lambda: st.session_state.pop(ATTENDEE_KEY, None))


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
