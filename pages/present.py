"""Presenter: a deck of charts, one per screen, for a projector.

The deck comes from `?deck=<base64url JSON>`, an uploaded deck file, or the
standard views; `?step=N` (1-based) is the slide, so a copied link opens
exactly that slide. Arrow keys, PageUp/PageDown (a clicker) and the buttons
step through it. Nothing here needs the network.

Longer than ~80 lines because the deck's controls are this page's own: reading a
deck from a link, a file or the session, the step in the URL, the buttons, and
opening, saving, sharing and exporting the deck. Each slide itself is a catalogue
chart (csi_app.presenter.build_slide)."""

import re
from urllib.parse import parse_qsl, urlencode

import streamlit as st

from csi_metrics.figures import export
from csi_metrics.views import deck
from csi_metrics.vocabulary import safe_text
from csi_metrics.storage.db import SignInRequired
from csi_metrics.vocabulary.errors import InputError
from csi_app import auth, phone, presenter, state

state.require_entry()  # a first visit by deep link must still run through dashboard.py
presenter.apply_presenter_mode(force=True)
# The exit button from the shared sidebar call means nothing on a page that always presents.
# One slide per screen: the chart takes what the demo mark, a two-line caption and the step
# buttons leave of the viewport, at any projector size.
# A phone scrolls: its slide is the chart's own height, with its words below it.
st.html(f"<style>.st-key-present_exit {{ display: none !important; }} "
        f"@media (min-width: {presenter.PHONE_PX + 1}px) {{ "
        f".st-key-slide_box {{ flex: 0 0 auto !important; height: calc(100vh - {presenter.SLIDE_CHROME_PX}px) !important; min-height: 360px; }} "
        ".st-key-slide_box > div, .st-key-slide_box [data-testid='stFullScreenFrame'], "
        ".st-key-slide_box [data-testid='stPlotlyChart'] { flex: 1 1 auto !important; height: 100% !important; } }</style>")

notices: list[str] = []
unread: list[str] = []
current = presenter.current_deck(unread)  # the one reading of ?deck=, shared with every page
for why in unread:
    notices.append(f"This link's deck could not be read ({safe_text.for_markdown(why)}). Showing "
                   + ("the deck built so far" if current else "the standard deck") + " instead.")
if current is not None or unread:
    current = current or deck.default_deck()
    presenter.keep_deck(current)  # a deck built on the pages goes into the link, so the address restores it
else:
    current = deck.default_deck()
    st.session_state[presenter.DECK_KEY] = current

n = len(current)
raw_step = st.query_params.get("step", "1")
step = int(raw_step) if raw_step.isdigit() else 0
if not 1 <= step <= n:
    notices.append(f"There is no slide {re.sub(r'[^0-9-]', '?', raw_step)[:8]} in this {n}-slide deck; showing slide "
                   f"{min(max(step, 1), n)}.")
    step = min(max(step, 1), n)
st.query_params["step"] = str(step)


def _go(to: int) -> None:
    st.query_params["step"] = str(min(max(to, 1), n))


def _edit(change, *args, follow: int = 0) -> None:
    """One edit of the deck: a new deck into the session and the link, the step kept inside it
    (`follow`: a moved slide stays the one shown, so its editor follows it)."""
    try:
        new = change(st.session_state[presenter.DECK_KEY], *args)
    except InputError as exc:
        st.session_state["_deck_edit_error"] = f"Not changed: {safe_text.for_markdown(exc)}"
        return
    presenter.keep_deck(new)
    st.session_state["_deck_rev"] = st.session_state.get("_deck_rev", 0) + 1
    st.query_params["step"] = str(min(max(step + follow, 1), len(new)))


def _edit_text(change, index, key: str) -> None:
    text = st.session_state.get(key, "")
    if change is deck.refiltered:
        _edit(change, index, dict(parse_qsl(text.strip().lstrip("?"))))
    elif index is None:
        _edit(change, text)
    else:
        _edit(change, index, text)


for msg in notices:
    st.warning(msg, icon=":material/link_off:")

view = current.views[step - 1]
try:
    slide = presenter.build_slide(view)
except SignInRequired:
    auth.sign_in_prompt(f"Slide {step}", key="deck_login")
    slide = None
except Exception as exc:  # a slide that cannot be drawn must not take the deck down with it
    st.error(f"Slide {step} ({view.chart}) could not be drawn: {safe_text.for_markdown(exc)}")
    slide = None

if slide is not None:
    with st.container(key="slide_box"):
        phone.plotly_chart(presenter.fitted_slide(slide.fig), key="slide_chart", height="stretch",
                           config={"displaylogo": False, "displayModeBar": False, "responsive": True}, theme=None)
    st.caption(f"{slide.caption} *Source:* {slide.source}" if slide.source else slide.caption)
presenter.attendee_box()

prev_col, pos_col, next_col = st.columns([2, 3, 2], vertical_alignment="center")
prev_col.button("Previous", key="deck_prev", icon=":material/arrow_back:", disabled=step <= 1,
                on_click=_go, args=(step - 1,), width="stretch")
pos_col.markdown(f"Slide **{step}** of {n} · {safe_text.for_markdown(current.title)}", text_alignment="center")
next_col.button("Next", key="deck_next", icon=":material/arrow_forward:", disabled=step >= n,
                on_click=_go, args=(step + 1,), width="stretch")
presenter.keyboard_navigation()

with st.expander("Deck: open, save, share, export", key="deck_tools"):
    uploaded = st.file_uploader("Open a deck file (.json)", type=["json"], key="deck_upload")
    if uploaded is not None and st.session_state.get("_deck_upload_id") != uploaded.file_id:
        try:
            loaded = deck.from_json(uploaded.getvalue(), source=uploaded.name)
        except InputError as exc:
            st.error(f"That deck file could not be read: {safe_text.for_markdown(exc)}")
        else:
            st.session_state["_deck_upload_id"] = uploaded.file_id
            presenter.keep_deck(loaded)
            st.session_state["_deck_rev"] = st.session_state.get("_deck_rev", 0) + 1
            st.query_params["step"] = "1"
            st.rerun()
    st.button("Publish for attendees", key="deck_publish", icon=":material/qr_code_2:",
              on_click=presenter.publish_for_attendees, args=(current,),
              help="The whole deck as a plain web page on this server (images, captions, tables; no JavaScript), "
                   "public data only; a QR code and short address then show on the slide. Takes about a minute.")
    st.markdown("**Share this slide**: the link opens this deck at this slide, offline too.")
    st.code(presenter.share_link(current, step), language=None, wrap_lines=True)
    st.download_button("Save deck file", deck.to_json(current).encode("utf-8"), file_name=f"{export.slug(current.title)}.json",
                       mime="application/json", key="deck_save", icon=":material/save:", on_click="ignore")
    a, b, c = st.columns(3)
    a.download_button("Deck as PDF", data=lambda: export.deck_pdf(presenter.export_items(list(current.views))),
                      file_name=f"{export.slug(current.title)}.pdf", mime=export.MIME["pdf"], key="deck_pdf",
                      on_click="ignore", icon=":material/picture_as_pdf:", help="One 1920x1080 page per slide")
    b.download_button("Deck as PNGs (zip)",
                      data=lambda: export.deck_png_zip(presenter.export_items(list(current.views)),
                                                       [v.title or v.chart for v in current.views]),
                      file_name=f"{export.slug(current.title)}.zip", mime=export.MIME["zip"], key="deck_zip",
                      on_click="ignore", icon=":material/folder_zip:")
    if slide is not None:
        with c:
            presenter.export_buttons(slide.fig, key="slide", caption=slide.caption, source=slide.source,
                                     title=slide.title, always=True)
    # The slide on screen is the one edited: one row of controls, not one per slide (a 9-slide deck
    # made 54 controls, every one a rerun; the load test stopped at 40).
    st.markdown("**This slide**: retitle, re-filter (as in a link: `spa=6&year=2024-25`), move or remove. "
                "Add more with *Add this view to the deck* under any chart.")
    error = st.session_state.pop("_deck_edit_error", None)
    if error:
        st.error(error, icon=":material/error:")
    # Stable keys (a load test or a screen reader meets the same controls on every slide), refilled
    # from the deck whenever the slide under them or the deck itself changes.
    rev, i, v = st.session_state.get("_deck_rev", 0), step - 1, current.views[step - 1]
    if st.session_state.get("_deck_editing") != (rev, i, current):
        st.session_state.update({"_deck_editing": (rev, i, current), "deck_name": current.title,
                                 "deck_title": v.title or "", "deck_filters": urlencode(v.filters)})
    title_col, filt_col, up, down, out = st.columns([5, 4, 0.8, 0.8, 0.8], vertical_alignment="bottom")
    title_col.text_input(f"Slide {i + 1} title", key="deck_title", placeholder=deck.chart_label(v.chart),
                         on_change=_edit_text, args=(deck.retitled, i, "deck_title"),
                         help=f"{deck.chart_label(v.chart)} (page: {v.page}). Blank: the chart's own title.")
    filt_col.text_input(f"Slide {i + 1} filters", key="deck_filters", placeholder="every school, every year",
                        on_change=_edit_text, args=(deck.refiltered, i, "deck_filters"))
    up.button("", key="deck_up", icon=":material/arrow_upward:", help="Move earlier", disabled=i == 0,
              on_click=_edit, args=(deck.moved, i, -1), kwargs={"follow": -1})
    down.button("", key="deck_down", icon=":material/arrow_downward:", help="Move later",
                disabled=i == n - 1, on_click=_edit, args=(deck.moved, i, 1), kwargs={"follow": 1})
    out.button("", key="deck_remove", icon=":material/delete:", help="Remove this slide",
               disabled=n == 1, on_click=_edit, args=(deck.removed, i))
    st.text_input("Deck title", key="deck_name", on_change=_edit_text, args=(deck.renamed, None, "deck_name"))
    st.markdown("**The deck**: " + " · ".join(
        f"{'**' if k == i else ''}{k + 1}. {safe_text.for_markdown(w.title or deck.chart_label(w.chart))}"
        f"{'**' if k == i else ''}" for k, w in enumerate(current.views)))
    st.button("Start again from the standard deck", key="deck_reset", icon=":material/restart_alt:",
              on_click=_edit, args=(lambda _d: deck.default_deck(),))
    st.page_link("pages/overview.py", label="Leave presenter: back to the dashboard", icon=":material/home:")
