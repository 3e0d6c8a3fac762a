"""Chart builders: data in, Plotly figure out, one theme. No Streamlit here.

The theme is for a projector at the back of a hall as much as a laptop: large
type, a colour-blind-safe palette (Okabe-Ito), and Dashboard colours that are
always drawn together with their text label, never by hue alone."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common
# colour-vision deficiencies. Black last: it is kept for the county reference.
OKABE_ITO: list[str] = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]

# CDE California School Dashboard hues. Hue alone must never carry the meaning:
# every use pairs the colour with its name (legend, hover, or text on the mark).
DASHBOARD_COLORS: dict[str, str] = {
    "Red": "#C8102E",
    "Orange": "#F28C28",
    "Yellow": "#F2CD00",
    "Green": "#2E9E44",
    "Blue": "#1F5FAD",
}
DASHBOARD_ORDER = ["Red", "Orange", "Yellow", "Green", "Blue"]
NO_COLOR = "#9E9E9E"          # fewer than 30 students: the Dashboard gives no colour
NO_COLOR_LABEL = "No colour (fewer than 30 students)"
COUNTY_COLOR = "#000000"
TEXT_COLOR = "#1A1A1A"
GRID_COLOR = "#D9D9D9"
COMMUNITY_COLORS = {"community": OKABE_ITO[0], "comparison": OKABE_ITO[1]}

FONT_FAMILY = "Inter, 'Source Sans Pro', 'Helvetica Neue', Arial, sans-serif"
BASE_FONT_PX = 18     # readable on a projector from the middle of a room
TITLE_FONT_PX = 24
PRESENT_BASE_FONT_PX = 26
PRESENT_TITLE_FONT_PX = 34
LINE_WIDTH_PX = 3
PRESENT_LINE_WIDTH_PX = 5
MARKER_PX = 9

SUPPRESSED_NOTE = "suppressed (<11 students)"

TEMPLATE_NAME = "csi"


def _template(base_px: int, title_px: int) -> go.layout.Template:
    return go.layout.Template(
        layout=go.Layout(
            font=dict(family=FONT_FAMILY, size=base_px, color=TEXT_COLOR),
            title=dict(font=dict(size=title_px), x=0, xanchor="left", y=0.98, yanchor="top"),
            colorway=OKABE_ITO,
            paper_bgcolor="white",
            plot_bgcolor="white",
            hoverlabel=dict(font=dict(size=base_px)),
            legend=dict(font=dict(size=base_px), bgcolor="rgba(255,255,255,0)"),
            xaxis=dict(showgrid=False, linecolor=TEXT_COLOR, ticks="outside", tickfont=dict(size=base_px),
                       title=dict(font=dict(size=base_px)), automargin=True),
            yaxis=dict(showgrid=True, gridcolor=GRID_COLOR, zeroline=True, zerolinecolor=GRID_COLOR,
                       tickfont=dict(size=base_px), title=dict(font=dict(size=base_px)), automargin=True),
            margin=dict(l=20, r=20, t=70, b=40),
        )
    )


pio.templates[TEMPLATE_NAME] = _template(BASE_FONT_PX, TITLE_FONT_PX)
pio.templates[TEMPLATE_NAME + "_present"] = _template(PRESENT_BASE_FONT_PX, PRESENT_TITLE_FONT_PX)


def apply_theme(fig: go.Figure, *, present: bool = False) -> go.Figure:
    """Put `fig` in the dashboard theme (presenter sizes when `present`); returns it."""
    name = TEMPLATE_NAME + ("_present" if present else "")
    fig.update_layout(template=pio.templates[name])
    if present:
        fig.update_traces(line=dict(width=PRESENT_LINE_WIDTH_PX), selector=dict(type="scatter"))
    return fig


def dashboard_color_hex(label: str | None) -> str:
    """Hex for a Dashboard colour name; grey for no colour."""
    return DASHBOARD_COLORS.get(label or "", NO_COLOR)
