"""A chart adapted for a phone (about 390 px wide): smaller type, the title and the
notes under the plot handed back as text for the page to set above and below the
chart (page text wraps; a Plotly title runs off a narrow figure and meets the
legend), long bar labels wrapped, room kept for the labels beside horizontal
bars. A pure figure function, the narrow counterpart of projector.presenter_figure:
exports keep the full-size figure."""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass, field

import plotly.graph_objects as go

from csi_metrics.figures import charts, maps

TEXT_PX = 12          # tick labels, legend, bar labels: the smallest type iOS and Android body text use
SMALL_PX = 11         # annotations inside the plot
TITLE_CHARS = 36      # an axis title wrapped to lines of this many characters
LEGEND_CHARS = 34     # a legend name wrapped to lines of this many characters
LABEL_CHARS = 16      # a horizontal bar's category label wrapped to lines of this many characters
TOP_MARGIN_PX = 12    # the legend above the plot pushes the margin itself (Plotly's automargin)
PAGE_PX = 366         # a chart's width on a 390 px phone (the page's padding either side)
MAP_PX = 360          # a map's own height on a phone
MAP_LEGEND_PX = 130   # a map's legend above it on a phone (its schools' six colours)
BAR_RANGE = 1.8       # a horizontal bar chart's value axis to 1.8 x its largest bar: its label fits beside it


@dataclass
class Narrow:
    fig: go.Figure
    title: str = ""                                   # plain text, for the page to set above the chart
    notes: list[str] = field(default_factory=list)    # plain text, for the page to set below it


def _plain(text: str | None) -> str:
    """Plotly label text (<br>, <b>, entities) as plain text; the page escapes it for Markdown."""
    no_tags = re.sub(r"<[^>]*>", "", re.sub(r"<br\s*/?>", " ", text or "", flags=re.I))
    return " ".join(html.unescape(no_tags).split())


def _lower(font: object, px: int) -> None:
    if font is None:
        return
    size = getattr(font, "size", None)
    if size is None or size > px:
        font.size = px  # type: ignore[attr-defined]


def _under_plot(ann: go.layout.Annotation) -> bool:
    return ann.yref == "paper" and ann.y is not None and (
        ann.y < 0 or (ann.y == 0 and ann.yanchor == "top" and (ann.yshift or 0) < 0))


def _wrap(label: object) -> object:
    if not isinstance(label, str) or len(label) <= LABEL_CHARS or "<br>" in label:
        return label
    return "<br>".join(textwrap.wrap(label, LABEL_CHARS, break_long_words=False))


def phone_figure(fig: go.Figure) -> Narrow:
    """A copy of `fig` for a phone, with its title and under-plot notes as text."""
    out = go.Figure(fig)
    title = _plain(out.layout.title.text if out.layout.title else None)
    notes = [_plain(a.text) for a in out.layout.annotations or () if _under_plot(a)]
    out.layout.annotations = [a for a in out.layout.annotations or () if not _under_plot(a)]
    out.update_layout(title_text="", margin=dict(t=TOP_MARGIN_PX, b=8, l=4, r=4),
                      font=dict(size=TEXT_PX), legend=dict(font=dict(size=TEXT_PX)),
                      hoverlabel=dict(font=dict(size=TEXT_PX)))
    for ann in out.layout.annotations or ():
        _lower(ann.font, SMALL_PX)
    # Year labels laid out for a wider column (a slide's) are turned if they would run together here.
    charts.turn_crowded_ticks(out, PAGE_PX, TEXT_PX)
    for trace in out.data:
        # A legend name longer than a phone's line (a school's, its district's) in lines of its own.
        # A treemap, a map's outlines: traces with no legend entry have no showlegend to read.
        if getattr(trace, "showlegend", False) is not False and isinstance(trace.name, str) \
                and len(trace.name) > LEGEND_CHARS and "<br>" not in trace.name:
            trace.name = "<br>".join(textwrap.wrap(trace.name, LEGEND_CHARS, break_long_words=False))
    for name in out.layout:
        if re.fullmatch(r"[xy]axis\d*", name):
            axis = out.layout[name]
            _lower(axis.tickfont, TEXT_PX)
            _lower(axis.title.font, TEXT_PX)
            if isinstance(axis.title.text, str):
                axis.title.text = "<br>".join(textwrap.wrap(_plain(axis.title.text), TITLE_CHARS))
    # Category labels down the left (bars, a balance chart's variables) wrapped, so the plot keeps its width.
    labelled = [t for t in out.data if getattr(t, "type", "") in ("bar", "scatter") and t.y is not None
                and any(isinstance(y, str) for y in t.y)]
    horizontal = [t for t in labelled if t.type == "bar" and t.orientation == "h"]
    if labelled:
        labels = {y: _wrap(y) for t in labelled for y in t.y}
        for t in labelled:
            t.y = [labels.get(y, y) for y in t.y]
        if out.layout.yaxis.categoryarray:
            out.layout.yaxis.categoryarray = [labels.get(y, y) for y in out.layout.yaxis.categoryarray]
        for ann in out.layout.annotations or ():
            if ann.yref == "y" and isinstance(ann.y, str) and ann.y in labels:
                ann.y = labels[ann.y]
    if horizontal:
        xs = [x for t in horizontal for x in (t.x or ()) if isinstance(x, (int, float))]
        labels_beside = any(t.text is not None and t.textposition == "outside" for t in horizontal) or any(
            getattr(t, "mode", None) == "text" for t in out.data)  # charts.equity_bars's labels past its line
        if xs and max(xs) > 0 and labels_beside:
            out.update_xaxes(range=[0, max(xs) * BAR_RANGE])
    for trace in out.data:
        for attr in ("textfont", "insidetextfont", "outsidetextfont"):
            if hasattr(trace, attr):
                _lower(getattr(trace, attr), TEXT_PX)
        for colorbar in (getattr(getattr(trace, "marker", None), "colorbar", None), getattr(trace, "colorbar", None)):
            # Only a colour bar the chart draws: setting one's fonts would make Plotly draw it.
            if colorbar is not None and colorbar.to_plotly_json():
                _lower(colorbar.tickfont, TEXT_PX)
                _lower(colorbar.title.font, TEXT_PX)
                colorbar.thickness = 12
    if any(isinstance(t, go.Choroplethmap) for t in out.data):
        # A MapLibre zoom is in pixels: the desktop zoom crops a phone's map. The county is about
        # as tall as it is wide: a phone's map is that tall, under its legend.
        out.update_layout(height=MAP_LEGEND_PX + MAP_PX)
        maps.refit_view(out, PAGE_PX, MAP_PX)
    return Narrow(out, title, [n for n in notes if n])
