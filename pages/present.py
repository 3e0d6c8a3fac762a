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
st.html("<style>.st-key-present_exit { display: none !important; }</style>")

notices: list[str] = []
current = None
raw = st.query_params.get(deck.LINK_PARAM)
if raw:
    try:
        current = deck.from_link_param(raw)
    except InputError as exc:
        notices.append(f"This link's deck could not be read ({safe_text.for_markdown(exc)}). "
                       "Showing the standard deck instead.")
if current is None and isinstance(st.session_state.get("_deck"), deck.Deck):
    current = st.session_state["_deck"]
if current is None:
    current = deck.default_deck()
st.session_state["_deck"] = current

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
    phone.plotly_chart(presenter.slide_figure(slide.fig),
                       key="slide_chart", config={"displaylogo": False, "displayModeBar": False}, theme=None)
    st.caption(f"{slide.caption} *Source:* {slide.source}")

prev_col, pos_col, next_col = st.columns([2, 3, 2], vertical_alignment="center")
prev_col.button("Previous", key="deck_prev", icon=":material/arrow_back:", disabled=step <= 1,
                on_click=_go, args=(step - 1,), width="stretch")
pos_col.markdown(f"Slide **{step}** of {n} · {safe_text.for_markdown(current.title)}", text_alignment="center")
next_col.button("Next", key="deck_next", icon=":material/arrow_forward:", disabled=step >= n,
                on_click=_go, args=(step + 1,), width="stretch")
presenter.keyboard_navigation()

with st.expander("Deck: open, save, share, export"):
    uploaded = st.file_uploader("Open a deck file (.json)", type=["json"], key="deck_upload")
    if uploaded is not None and st.session_state.get("_deck_upload_id") != uploaded.file_id:
        try:
            loaded = deck.from_json(uploaded.getvalue(), source=uploaded.name)
        except InputError as exc:
            st.error(f"That deck file could not be read: {safe_text.for_markdown(exc)}")
        else:
            st.session_state["_deck_upload_id"] = uploaded.file_id
            st.session_state["_deck"] = loaded
            link = deck.to_link_param(loaded)
            if len(link) <= deck.MAX_LINK_CHARS:
                st.query_params[deck.LINK_PARAM] = link
            elif deck.LINK_PARAM in st.query_params:
                del st.query_params[deck.LINK_PARAM]
            st.query_params["step"] = "1"
            st.rerun()
    link = deck.to_link_param(current)
    st.markdown("**Share this slide**: the link opens this deck at this slide, offline too.")
    st.code(f"?{deck.LINK_PARAM}={link}&step={step}", language=None, wrap_lines=True)
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
    st.markdown("**Slides**")
    for i, v in enumerate(current.views, start=1):
        st.markdown(f"{i}. {safe_text.for_markdown(v.title or deck.chart_label(v.chart))} · *{v.page}*"
                    + (f" · {safe_text.for_markdown(', '.join(f'{k}={val}' for k, val in v.filters))}"
                       if v.filters else ""))
    st.page_link("pages/overview.py", label="Leave presenter: back to the dashboard", icon=":material/home:")
