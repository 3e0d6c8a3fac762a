"""Figures to files a presenter can take away: PNG, SVG and PDF at projector
resolution (1920x1080), with the chart's title, caption and source drawn into
the image, and a deck of figures as one PDF or a zip of PNGs.

Rendering is Plotly's own exporter (kaleido 1.x) driving the machine's
Chromium. Every call starts a browser (seconds, not milliseconds), so bytes are
cached per figure spec and a deck renders all its slides in one browser."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
import textwrap
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from csi_metrics.figures import charts, projector
from csi_metrics.vocabulary import safe_text, words

WIDTH_PX = projector.SCREEN_WIDTH_PX
HEIGHT_PX = projector.SCREEN_HEIGHT_PX
FORMATS = ("png", "svg", "pdf")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "zip": "application/zip"}
DEBIAN_CHROMIUM = "/usr/bin/chromium"

# Caption and source sit in a band under the plot; sized for the presenter theme's type.
_CAPTION_FONT_PX = 20
_CAPTION_LINE_PX = 28
_CAPTION_WRAP_CHARS = 140
_CACHE_MAX = 128

_cache: "OrderedDict[str, bytes]" = OrderedDict()
_cache_lock = threading.Lock()
# One export browser at a time: the machine has two cores and a page may ask for several.
_render_lock = threading.Lock()


@dataclass(frozen=True)
class ExportItem:
    """One figure with the words that must travel with it."""

    fig: go.Figure
    title: str | None = None
    caption: str | None = None
    source: str | None = None
    demo: bool = False   # the database is the demo: the image carries a DEMO DATA mark
    terms: bool = True   # define the glossary terms it uses under it (a deck PDF has a glossary page instead)


def ensure_browser_path() -> None:
    """kaleido finds its browser through BROWSER_PATH; point it at Debian's Chromium
    unless the environment already chose one."""
    if not os.environ.get("BROWSER_PATH") and Path(DEBIAN_CHROMIUM).exists():
        os.environ["BROWSER_PATH"] = DEBIAN_CHROMIUM


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, _CAPTION_WRAP_CHARS) or [""])
    return lines


DEMO_MARK = "DEMO DATA · fictional schools, not real results"
_NOTE_LINE_PX = 34  # presenter notes are 24 px type
_DEMO_BAND_PX = 50


def _under_plot(ann: object) -> bool:
    return getattr(ann, "yref", None) == "paper" and getattr(ann, "y", None) == 0 \
        and getattr(ann, "yanchor", None) == "top" and (getattr(ann, "yshift", None) or 0) < 0


def _x_labels(fig: go.Figure) -> list[str]:
    ax = fig.layout.xaxis
    if ax.ticktext is not None:
        return [str(t) for t in ax.ticktext]
    if ax.categoryarray is not None:
        return [str(t) for t in ax.categoryarray]
    return [str(v) for t in fig.data if getattr(t, "orientation", None) != "h" and hasattr(t, "x")
            for v in (t.x or ()) if isinstance(v, str)]


def _tick_band_px(fig: go.Figure, width: int) -> int:
    """Room under a cartesian plot for its x tick labels and axis title at slide size, as
    Plotly lays them out: labels too wide for their slots are turned 45 degrees here (a
    fixed angle, so the room they take is known and nothing runs into the caption)."""
    if not any(getattr(t, "type", "") in ("bar", "scatter", "box", "histogram") for t in fig.data) \
            or fig.layout.xaxis.visible is False:
        return 0
    import math

    font = fig.layout.xaxis.tickfont.size or charts.PRESENT_BASE_FONT_PX
    labels = _x_labels(fig)
    lines = max([lab.count("<br>") + 1 for lab in labels] or [1])
    widest = max([max(len(part) for part in lab.split("<br>")) for lab in labels] or [6]) * font * 0.58
    plot_w = width - _margin(fig, "l") - _margin(fig, "r") - 160  # y tick labels and title
    band = lines * font * 1.3 + 16
    # Decided again for the slide's real width (charts.fit_text turned them for a narrow column).
    fig.update_xaxes(tickangle=0)
    if labels and widest + 12 > plot_w / len(labels):
        fig.update_xaxes(tickangle=-45)
        band = (widest + font) * math.sin(math.radians(45)) + 20
    title = fig.layout.xaxis.title
    if title is not None and title.text:
        band += (title.font.size or font) * 1.6 + 8
    return int(band)


def figure_words(fig: go.Figure) -> list[str]:
    """The words a figure shows: its title, axis titles and tick labels, legend names,
    labels on the marks and its notes (not hover text, which no file shows)."""
    out: list[str] = [fig.layout.title.text or ""]
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        out += [ax.title.text or "", *map(str, ax.ticktext or ()), *map(str, ax.categoryarray or ())]
    out += [a.text or "" for a in fig.layout.annotations or ()]
    for t in fig.data:
        if getattr(t, "showlegend", None) is not False:
            out.append(getattr(t, "name", None) or "")
        for attr in ("x", "y", "text", "labels", "parents"):
            values = getattr(t, attr, None) if attr in t else None
            if isinstance(values, str):
                out.append(values)
            elif values is not None:
                out += [v for v in values if isinstance(v, str)]
    return [w for w in out if w]


def terms_used(fig: go.Figure, *texts: str | None) -> list[str]:
    """The glossary terms a file made of `fig` and `texts` (title, caption, source) uses."""
    return words.terms_in(*texts, *figure_words(fig))


def prepare(
    fig: go.Figure,
    *,
    title: str | None = None,
    caption: str | None = None,
    source: str | None = None,
    width: int = WIDTH_PX,
    height: int = HEIGHT_PX,
    demo: bool = False,
    terms: bool = True,
) -> go.Figure:
    """A copy of `fig` laid out for a 1920x1080 slide: the presenter figure (no type
    under 24 px), the title on top, then under the plot its tick labels, its notes and
    a band with caption, source and (with `terms`) the glossary's definition of each term
    the image uses, each in room of its own (so the words survive when the file is
    forwarded on its own, and none runs into another). With `demo`, a DEMO DATA mark
    sits inside the image."""
    # The live chart's small mark gives way to the export's own (with `demo`).
    out = charts.without_demo_mark(projector.presenter_figure(fig))
    # Slide margins: the theme's 20 px edges are for a browser pane, not a projector.
    out.update_layout(width=width, height=height, autosize=False, title=dict(xref="paper", x=0),
                      margin=dict(l=max(_margin(out, "l"), 60), r=max(_margin(out, "r"), 60)))
    if title:
        out.update_layout(title_text=title)
    lines: list[str] = []
    if caption:
        lines.extend(_wrap(caption))
    used = terms_used(out, title, caption, source) if terms else []
    if used:
        lines.extend(_wrap(words.terms_line(used)))
    if source:
        lines.extend(_wrap(f"Source: {source}"))
    lines = [safe_text.for_plotly(line) for line in lines]  # words, never Plotly markup
    tick_px = _tick_band_px(out, width)
    notes_px = 0
    if tick_px:
        out.update_xaxes(automargin=False)  # the room below is reserved here: the caption stays put
        for ann in out.layout.annotations or ():
            if _under_plot(ann):
                ann.update(yshift=-tick_px - 4)
                notes_px = max(notes_px, ((ann.text or "").count("<br>") + 1) * _NOTE_LINE_PX + 12)
        below = tick_px + notes_px + 8
    else:
        below = _margin(out, "b")
    band_px = (24 + _CAPTION_LINE_PX * len(lines)) if lines else 0
    bottom_px = below + band_px
    out.update_layout(margin=dict(b=bottom_px))
    if lines:
        # Anchored to the plot's bottom edge and pushed down in pixels: annotations
        # cannot be placed relative to the whole image.
        out.add_annotation(
            text="<br>".join(lines), xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="bottom",
            yshift=-bottom_px + 12, showarrow=False, align="left",
            font=dict(size=_CAPTION_FONT_PX, color="#333"),
        )
    if demo:
        # A line of its own at the very top (the title moves down under it), and faintly
        # across the plot: a forwarded image cannot pass for real results.
        top = _margin(out, "t") + _DEMO_BAND_PX
        out.update_layout(margin=dict(t=top), title=dict(yref="container", y=1 - _DEMO_BAND_PX / height,
                                                         yanchor="top"))
        out.add_annotation(text=f"<b>{DEMO_MARK}</b>", xref="paper", yref="paper", x=0, y=1, xanchor="left",
                           yanchor="top", yshift=top - 8, showarrow=False,
                           font=dict(size=_CAPTION_FONT_PX + 2, color="#8B0000"), bgcolor="#FFF3CD",
                           bordercolor="#8B0000", borderwidth=1, borderpad=4)
        out.add_annotation(text="DEMO DATA", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           textangle=-20, font=dict(size=140, color="rgba(139,0,0,0.10)"))
    if any(t.type == "choroplethmap" for t in out.data):
        from csi_metrics.figures.maps import refit_view  # a map's zoom is in pixels: refit it to the slide

        refit_view(out, width, height)
    return out


def _margin(fig: go.Figure, side: str) -> int:
    """The margin in force: the figure's own, else its template's, else Plotly's default."""
    own = getattr(fig.layout.margin, side)
    if own is not None:
        return int(own)
    tmpl = fig.layout.template.layout.margin if fig.layout.template else None
    theirs = getattr(tmpl, side) if tmpl is not None else None
    return int(theirs) if theirs is not None else 80


def spec_key(fig: go.Figure, fmt: str) -> str:
    """Cache key: the figure's full JSON and the format, hashed."""
    payload = json.dumps(fig.to_plotly_json(), sort_keys=True, default=str)
    return hashlib.sha256(f"{fmt}\n{payload}".encode()).hexdigest()


def _cache_get(key: str) -> bytes | None:
    with _cache_lock:
        data = _cache.get(key)
        if data is not None:
            _cache.move_to_end(key)
        return data


def _cache_put(key: str, data: bytes) -> None:
    with _cache_lock:
        _cache[key] = data
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)


def _check_format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def figure_bytes(
    fig: go.Figure,
    fmt: str = "png",
    *,
    title: str | None = None,
    caption: str | None = None,
    source: str | None = None,
    demo: bool = False,
) -> bytes:
    """`fig` as PNG, SVG or PDF bytes at 1920x1080 with title, caption and source baked
    in (and the DEMO DATA mark with `demo`)."""
    return render_many([ExportItem(fig, title, caption, source, demo)], fmt)[0]


def render_many(items: list[ExportItem], fmt: str) -> list[bytes]:
    """Every item rendered in `fmt`, in order; cached slides are reused and the rest
    are rendered together in one browser."""
    return render_figures([prepare(i.fig, title=i.title, caption=i.caption, source=i.source, demo=i.demo,
                                   terms=i.terms) for i in items], fmt)


def render_figures(prepared: list[go.Figure], fmt: str) -> list[bytes]:
    """Figures already laid out for their image (`prepare`, `prepare_phone`) rendered in
    `fmt` at their own layout width and height, in order; cached ones reused, the rest
    rendered together in one browser."""
    fmt = _check_format(fmt)
    keys = [spec_key(f, fmt) for f in prepared]
    out: list[bytes | None] = [_cache_get(k) for k in keys]
    todo = [n for n, data in enumerate(out) if data is None]
    if todo:
        ensure_browser_path()
        import kaleido  # heavy; only when something is actually rendered

        with _render_lock, tempfile.TemporaryDirectory(prefix="csi-export-") as tmp:
            jobs = [
                dict(fig=prepared[n].to_plotly_json(), path=os.path.join(tmp, f"{n:03d}.{fmt}"),
                     opts=dict(format=fmt, width=prepared[n].layout.width or WIDTH_PX,
                               height=prepared[n].layout.height or HEIGHT_PX, scale=1))
                for n in todo
            ]
            kaleido.write_fig_from_object_sync(jobs)
            for n, job in zip(todo, jobs):
                data = Path(job["path"]).read_bytes()
                _cache_put(keys[n], data)
                out[n] = data
    return [d for d in out if d is not None]


def glossary_item(items: list[ExportItem]) -> ExportItem | None:
    """A last page defining every glossary term the slides use (None if they use none):
    a deck's slides keep their room for the chart, and the file still defines its words."""
    used = sorted({t for i in items for t in terms_used(i.fig, i.title, i.caption, i.source)},
                  key=list(words.GLOSSARY).index)
    if not used:
        return None
    # Two columns at the projector's type: every term of the glossary fits one page.
    blocks = [[safe_text.for_plotly(line) for line in textwrap.wrap(f"{t} — {words.GLOSSARY[t]}", 72)]
              for t in used]
    half = sum(map(len, blocks)) / 2
    left: list[list[str]] = []
    while blocks and (not left or sum(map(len, left)) + len(blocks[0]) <= half + 1):
        left.append(blocks.pop(0))
    fig = charts.message_figure("")
    fig.update_layout(annotations=[], xaxis_visible=False, yaxis_visible=False)
    for x, column in ((0, left), (0.52, blocks)):
        if column:
            fig.add_annotation(text="<br>".join("<br>".join(b) for b in column), xref="paper", yref="paper",
                               x=x, y=1, xanchor="left", yanchor="top", showarrow=False, align="left",
                               font=dict(size=projector.MIN_TEXT_PX, color="#333"))
    return ExportItem(fig, "Terms used in this deck", demo=any(i.demo for i in items), terms=False)


def _with_glossary(items: list[ExportItem]) -> list[ExportItem]:
    """A deck's slides without their own terms lines, then the page defining them all."""
    page = glossary_item(items)
    slides = [dataclasses.replace(i, terms=False) for i in items]
    return slides + ([page] if page is not None else [])


PHONE_HEIGHT_PX = 440  # a phone's chart under its page title: most of a 390x844 screen's first view


def prepare_phone(fig: go.Figure, *, demo: bool = False) -> tuple[go.Figure, list[str]]:
    """A copy of `fig` laid out as a phone shows it (figures.narrow: smaller type, no title,
    notes handed back as text for the page), at the phone's chart width; with `demo`, DEMO
    DATA faintly across the plot (the page around it says so in words too)."""
    from csi_metrics.figures import narrow

    n = narrow.phone_figure(fig)
    out = n.fig
    out.update_layout(width=narrow.PAGE_PX, height=out.layout.height or PHONE_HEIGHT_PX, autosize=False)
    if demo:
        out.add_annotation(text="DEMO DATA", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           textangle=-20, font=dict(size=44, color="rgba(139,0,0,0.14)"))
    return out, n.notes


def deck_pdf(items: list[ExportItem]) -> bytes:
    """One PDF, one 1920x1080 page per slide, in order, then a page of the terms they use."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page_pdf in render_many(_with_glossary(items), "pdf"):
        for page in PdfReader(io.BytesIO(page_pdf)).pages:
            writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def deck_png_zip(items: list[ExportItem], names: list[str] | None = None) -> bytes:
    """A zip holding one PNG per slide, named 01-<name>.png so they sort in order. Each
    PNG is a file of its own once unzipped, so each defines the terms it uses."""
    pngs = render_many(items, "png")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for n, data in enumerate(pngs, start=1):
            stem = slug(names[n - 1]) if names and n - 1 < len(names) else "slide"
            z.writestr(f"{n:02d}-{stem}.png", data)
    return buf.getvalue()


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a title."""
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in keep:
        keep = keep.replace("--", "-")
    return keep.strip("-")[:limit] or "chart"
