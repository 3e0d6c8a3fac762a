"""Phones: a page read on a screen about 390 px wide.

Two parts. CSS (`inject_css`, every run) that needs no knowledge of the device:
under 640 px Plotly's toolbar is hidden (it sat over every chart's title; a phone
zooms with its fingers) and the page's side padding is narrower
(csi_metrics.figures.narrow.PAGE_PX counts on it). And a narrow figure
layout (csi_metrics.figures.narrow) for a session whose browser says it is a
phone (the User-Agent's "Mobi", or the Sec-CH-UA-Mobile client hint): Streamlit
tells the server nothing about the window's width, and the browser's own
word for "phone" is what every phone sends. A narrow desktop window gets the
CSS only."""

from __future__ import annotations

import re
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from csi_app import data, firstpaint
from csi_metrics.figures import charts
from csi_metrics.figures.charts import SLOT_PX
from csi_metrics.figures.narrow import SMALL_PX, phone_figure
from csi_metrics.vocabulary import safe_text

NARROW_PX = 640
_MOBILE = re.compile(r"Mobi|Android|iPhone|iPod", re.I)

# A row of columns with a chart straight in a column (not a headline card's sparkline).
_CHART_ROW = ('[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] > [data-testid="stVerticalBlock"] '
              '> [data-testid="stElementContainer"] [data-testid="stPlotlyChart"])')
# A column holding a chart is never narrower than the column its words are laid out for
# (csi_metrics.figures.charts.SLOT_PX): narrower, the columns wrap under each other (at
# 1440x900 the Trends page's difference-in-differences goes under the trend).
_CSS = f"""
<style>
{_CHART_ROW} {{ flex-wrap: wrap; }}
{_CHART_ROW} > [data-testid="stColumn"] {{ min-width: min(100%, {SLOT_PX}px); }}
@media (max-width: {NARROW_PX}px) {{
  .js-plotly-plot .modebar-container {{ display: none !important; }}
  [data-testid="stMainBlockContainer"] {{ padding-left: 0.75rem; padding-right: 0.75rem; max-width: 100vw; }}
}}
</style>
"""


def is_phone() -> bool:
    """This session's browser says it is a phone."""
    try:
        headers = st.context.headers
    except Exception:  # noqa: BLE001 - no browser (a test harness, bare mode): not a phone
        return False
    return says_phone(headers.get("Sec-CH-UA-Mobile"), headers.get("User-Agent"))


def says_phone(ch_ua_mobile: str | None, user_agent: str | None) -> bool:
    """The browser's own word for "phone", from its request headers (the session's, or the
    page request's in csi_app.frontend)."""
    if (ch_ua_mobile or "").strip() == "?1":
        return True
    return bool(_MOBILE.search(user_agent or ""))


def inject_css() -> None:
    st.html(_CSS)


def _marked(fig: go.Figure, size_px: int | None = None) -> go.Figure:
    """The demo's figure carries its DEMO DATA mark on the page itself (decided here, where
    every catalogue chart and deck slide is drawn), so Plotly's own camera PNG has it too."""
    return charts.mark_demo(fig, size_px=size_px) if data.is_demo() else fig


def plotly_chart(fig: go.Figure, *, adapt: bool = True, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """st.plotly_chart, on a phone (unless not `adapt`) with the narrow layout: its title above
    and its notes below as page text, which wraps, and no toolbar. The one way the app draws a
    chart with a toolbar: the demo's carries its DEMO DATA mark."""
    if not (adapt and is_phone()):
        shown = st.plotly_chart(_marked(fig), config=config, **kwargs)
        firstpaint.offer(st.session_state, fig, stretch=kwargs.get("height") == "stretch")
        return shown
    narrow = phone_figure(fig)
    if narrow.title:
        st.markdown(f"**{safe_text.for_markdown(narrow.title)}**")
    shown = st.plotly_chart(_marked(narrow.fig, SMALL_PX), config={**(config or {}), "displayModeBar": False}, **kwargs)
    firstpaint.offer(st.session_state, narrow.fig, narrow.title)
    if narrow.notes:
        st.caption(" ".join(safe_text.for_markdown(n) for n in narrow.notes))
    return shown
