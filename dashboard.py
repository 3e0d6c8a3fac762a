"""CSI Dashboard entry point: `python -m csi_app.serve` (scripts/dashboard), or `streamlit run dashboard.py`.

The shared filters live here, before the page runs, so they keep their values
across pages and every page reads the same Filters from csi_app.state."""

from __future__ import annotations

import streamlit as st

from csi_metrics.storage.db import SignInRequired
from csi_app import auth, data, firstpaint, mapscript, phone, presenter, show, state

st.set_page_config(layout="wide", page_title="CSI Dashboard", page_icon="🏫")  # an emoji favicon is drawn inline; a :material: one is fetched from the internet

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="home", default=True),
    st.Page("pages/map.py", title="Map by SPA", icon=":material/map:", url_path="map"),
    st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
    st.Page("pages/equity.py", title="Equity", icon=":material/diversity_3:", url_path="equity"),
    st.Page("pages/funding.py", title="Funding", icon=":material/payments:", url_path="funding"),
    st.Page("pages/activities.py", title="Activities", icon=":material/event:", url_path="activities"),
    st.Page("pages/schools.py", title="Schools", icon=":material/apartment:", url_path="schools"),
    st.Page("pages/about.py", title="About the data", icon=":material/info:", url_path="about"),
    st.Page("pages/present.py", title="Presenter", icon=":material/slideshow:", url_path="present"),
    # The default page is served at "/" and only reserves its own url_path, so when it was
    # "overview" anyone arriving at /overview (old links, typed URLs) got a "Page not found"
    # pop-up over the headline. The default reserves "home"; the same script, hidden from
    # the sidebar, answers at /overview.
    st.Page("pages/overview.py", title="Overview", url_path="overview", visibility="hidden"),
]

page = st.navigation(PAGES)
data.pin_database()  # every query this run reads the same database file, even mid-rebuild
projecting = presenter.is_presenting() or page.url_path == "present"
if firstpaint.wants(st.session_state):  # a session's first run becomes the picture its URL's HTML carries
    firstpaint.begin(st.session_state, url=st.context.url or "/", query=st.query_params.to_dict(),
                     phone=phone.is_phone(), signed_in=auth.signed_in(),
                     demo_line=(presenter.DEMO_MARK if projecting else show.DEMO_BANNER).replace("**", "")
                     if data.is_demo() else None, database=data.database_identity())
if projecting:
    presenter.demo_mark()  # a projector gets one short line, not the banner
else:
    show.demo_banner()
state.sidebar_filters(page.url_path)
with st.sidebar:  # out of the page's own layout (a slide's box is sized for its chart alone)
    mapscript.inject()  # every map's label halos, and a slide's map fitted to its screen
try:
    page.run()
except SignInRequired:  # the page reached the initiative's internal records while signed out
    auth.sign_in_prompt(f"The {page.title} page")
firstpaint.finish(st.session_state)
