"""A chart adapted for a projector: presenter type sizes, thick lines and marks,
notes moved below larger tick labels, and a deck slide's fixed size (a map
re-zoomed to it). Pure figure functions: the app's presenter mode, the deck and
the exports use the same ones."""

from __future__ import annotations

import re

import plotly.graph_objects as go

from csi_metrics.figures import charts, maps

MIN_TEXT_PX = 24               # smallest type a presenter shows
SLIDE_HEIGHT_PX = 720          # one chart, its caption and the step buttons on a 1080 px screen
SCREEN_WIDTH_PX, SCREEN_HEIGHT_PX = 1920, 1080  # the projector slides and exports are laid out for
PAGE_PAD_X_PX = 40             # a presented page's side margins (csi_app.presenter; its picture's too)
PAGE_PAD_CSS = f"12px {PAGE_PAD_X_PX}px 8px"
SLIDE_WIDTH_PX = SCREEN_WIDTH_PX - 2 * PAGE_PAD_X_PX
# Everything on a deck slide that is not its chart: padding, the demo mark, a two-line
# caption, the step buttons and the gaps between them (the slide's chart takes the rest).
SLIDE_CHROME_PX = 250
SLIDE_BOX_PX = (SLIDE_WIDTH_PX, SCREEN_HEIGHT_PX - SLIDE_CHROME_PX)  # a live slide's chart on that projector
PAGE_CHART_MIN_HEIGHT_PX = 620
MAP_TITLE_PX = 70              # a map's top margin on a projector: its title alone
PRESENT_NTICKS = 6             # at most this many ticks on a presenter's number axis


def _raise(font: object, px: int) -> None:
    size = getattr(font, "size", None)
    if size is not None and size < px:
        font.size = px  # type: ignore[attr-defined]


def presenter_figure(fig: go.Figure, *, height: int | None = None) -> go.Figure:
    """A copy of `fig` for a projector: the presenter theme, thick lines, no explicitly
    small type left anywhere (annotations, bar and treemap labels), a figure's own height
    grown with its type, and its words fitted again at presenter sizes (charts.fit_text:
    the title wrapped, the legend clear of it, the notes under the larger tick labels)."""
    out = go.Figure(fig)
    for ann in out.layout.annotations or ():
        if ann.font.size is None or ann.font.size < MIN_TEXT_PX:
            ann.font.size = MIN_TEXT_PX
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
            axis = out.layout[name]
            _raise(axis.tickfont, MIN_TEXT_PX)
            _raise(axis.title.font, MIN_TEXT_PX)
            if axis.type != "category" and axis.tickvals is None and axis.dtick is None and axis.nticks is None:
                # Plotly spaces ticks for the figure's width, not its type: presenter labels ran together.
                axis.nticks = PRESENT_NTICKS
    if out.layout.height and out.layout.height < charts.MIN_PLOT_PX and not height:
        # A sparkline's labels keep their room at presenter type (other figures: charts.fit_text).
        out.layout.height = round(out.layout.height * charts.PRESENT_BASE_FONT_PX / charts.BASE_FONT_PX)
    charts.apply_theme(out, present=True)
    out.update_traces(marker=dict(size=14), selector=dict(type="scatter"))
    if _is_map(out):
        _projector_map(out)
    if height:
        out.update_layout(height=height)
    elif out.layout.height is None:
        # Only charts that left their height to Streamlit: a sparkline keeps its small size.
        out.update_layout(height=PAGE_CHART_MIN_HEIGHT_PX)
    return out


def _is_map(fig: go.Figure) -> bool:
    return any(getattr(t, "type", "") == "choroplethmap" for t in fig.data)


def _projector_map(fig: go.Figure) -> None:
    """A map at projector size: the school legend in a column at the left, where the
    county leaves room (a row of six presenter-size entries wraps onto the title and
    pushes the map down), and the label halos kept larger than the raised labels."""
    if fig.layout.showlegend:
        fig.update_layout(legend=dict(orientation="v", x=0, xanchor="left", y=0.5, yanchor="middle",
                                      bgcolor="rgba(255,255,255,0.85)"),
                          margin=dict(t=MAP_TITLE_PX if fig.layout.title.text else 10))
    for t in fig.data:
        if getattr(t, "name", "") == maps.HALO_NAME and t.textfont.size is not None:
            t.textfont.size = max(t.textfont.size, MIN_TEXT_PX + maps.HALO_PX)


def slide_figure(fig: go.Figure) -> go.Figure:
    """A deck slide: the presenter figure at slide height, its words laid out for the slide's
    whole width (one chart per screen, not the page column it was fitted to), a map re-zoomed
    to the slide."""
    out = presenter_figure(fig, height=SLIDE_HEIGHT_PX)
    if any(getattr(t, "type", "") == "choroplethmap" for t in out.data):
        maps.refit_view(out, SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX)  # a map's own layout: its view, not its words
    else:
        # fit_text takes a width at 1440x900 and scales it for a projector itself.
        charts.fit_text(out, present=True, width_px=round(SLIDE_WIDTH_PX * charts.SLOT_PX / charts.PRESENT_SLOT_PX))
    return out


# --------------------------------------------------------------------------- headline cards as a slide

CARD_VALUE_PX = 56


def headline_cards(rows: list[list[dict]], *, title: str) -> go.Figure:
    """The Overview's headline figures as one slide: a row of cards per group (counts,
    then rates), each with its title (up to two lines), the value at projector size,
    its change and its Dashboard colour in words. `rows` hold text already formatted
    (vocabulary.formats: one formatter); a suppressed value arrives as the formatter's
    word for it, never a number."""
    fig = go.Figure()
    rows = [r for r in rows if r] or [[]]
    gap = 0.015
    h = (1 - gap * (len(rows) - 1)) / len(rows)
    for r, cards in enumerate(rows):
        w = (1 - gap * (len(cards) - 1)) / max(len(cards), 1)
        y1 = 1 - r * (h + gap)
        for k, c in enumerate(cards):
            x0 = k * (w + gap)
            fig.add_shape(type="rect", xref="paper", yref="paper", x0=x0, x1=x0 + w, y0=y1 - h, y1=y1,
                          line=dict(color="#BDBDBD", width=2), fillcolor="white", layer="below")
            lines = [(c["title"], MIN_TEXT_PX, 0.06, "bold", "top"),
                     (c["value"], CARD_VALUE_PX, 0.52, "normal", "middle"),
                     (c.get("delta") or "", MIN_TEXT_PX, 0.74, "normal", "middle"),
                     (c.get("colour") or "", MIN_TEXT_PX, 0.89, "normal", "middle")]
            for text, size, at, weight, anchor in lines:
                if text:
                    fig.add_annotation(text=text, xref="paper", yref="paper", x=x0 + 0.01, y=y1 - at * h,
                                       xanchor="left", yanchor=anchor, showarrow=False, align="left",
                                       font=dict(size=size, color=charts.TEXT_COLOR, weight=weight))
    # Each card's words again as the hover at its centre (the figure's data: a reader's
    # hover, an exporter's or a test's view of what the cards say).
    centres = [((k + 0.5) * (1 - gap * (len(cards) - 1)) / len(cards) + k * gap, 1 - r * (h + gap) - h / 2, c)
               for r, cards in enumerate(rows) for k, c in enumerate(cards)]
    fig.add_trace(go.Scatter(
        x=[x for x, _, _ in centres], y=[y for _, y, _ in centres], mode="markers", marker=dict(opacity=0, size=40),
        hovertext=["<br>".join(t for t in (c["title"], c["value"], c.get("delta"), c.get("colour")) if t)
                   for _, _, c in centres], hoverinfo="text", showlegend=False, name="Headline figures"))
    fig.update_layout(title=title, xaxis=dict(visible=False, range=[0, 1], fixedrange=True),
                      yaxis=dict(visible=False, range=[0, 1], fixedrange=True),
                      margin=dict(l=10, r=10, t=70, b=10), plot_bgcolor="white", paper_bgcolor="white")
    return fig
