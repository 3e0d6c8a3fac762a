"""The attendee page: a deck published as static files that cost nothing to serve.

Every slide is its catalogue chart drawn exactly as the Presenter page draws it (the
same suppressed frames, so the privacy rules hold as on the live pages), written as
plain HTML that needs no JavaScript: the chart as an SVG at projector size (1920x1080,
its title, caption, source and the DEMO DATA mark drawn in, as the deck exports are)
and at phone size (a phone's browser fetches only that one, through <picture>), the
title, caption, filters in words and source as text, and the table behind the chart
as an HTML table (every cell through the one formatter, a suppressed cell as the live
tables show it, "—") with a CSV of that table beside it.

A published page reads only public data: slides drawn from the initiative's internal
records (R-TAC activities) are never published (the page says so where they would be),
whoever publishes. It opens from a USB stick (file://), from the live server (Streamlit
serves `static/` at /app/static/: config.ATTENDEE_DIR, and csi_app.serve answers the
short /attendees with it) or from any static host.

Layout of a published directory (the load test, tools/bench, fetches it this way):

    DIR/index.html                   the page; every other file is referenced relatively
    DIR/assets/slide-NN.svg          slide NN (01, 02, ...) at 1920x1080, the words drawn in
    DIR/assets/slide-NN-phone.svg    slide NN at a phone's width (what a phone fetches)
    DIR/assets/slide-NN.csv          the table behind slide NN
    DIR/assets/manifest.json         the deck's title, each slide's files, and the bytes
                                     a phone and a projector-sized browser fetch

A publish is written into a temporary directory beside DIR and renamed into place only
when complete, so a half-written publish never replaces a good one."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

from csi_metrics.figures import downloads, export
from csi_metrics.storage import db
from csi_metrics.views import catalogue, deck
from csi_metrics.views.catalogue import Drawn
from csi_metrics.vocabulary import codes, formats
from csi_metrics.vocabulary.filters import Filters

ASSETS = "assets"
PHONE_MAX_PX = 700  # below this width the page shows (and the browser fetches) the phone images
DEMO_WORDS = ("DEMO DATA — fictional schools. Every school, grant and rate here was generated for "
              "demonstration; none of it describes a real school or student.")
INTERNAL_WITHHELD = ("Not published: this slide shows the initiative's internal records, which an attendee "
                     "page never includes. Sign in to the dashboard to see it.")
SUPPRESSION_WORDS = (f"{formats.BLANK} (blank in the CSV): suppressed (fewer than {codes.MIN_N} students, or "
                     "recoverable by subtraction), not published, or not applicable; suppressed = true marks "
                     "suppression.")


class Withheld(Exception):
    """A slide that is not published; the message says why, for the page."""


@dataclass(frozen=True)
class Slide:
    number: int
    title: str
    drawn: Drawn | None = None
    withheld: str | None = None      # why there is no chart, when there is none


@dataclass
class Published:
    out: Path
    slides_n: int
    withheld_n: int
    seconds: float
    files: dict[str, int] = field(default_factory=dict)   # relative path -> bytes

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    @property
    def phone_bytes(self) -> int:
        """What a phone fetches: the page and the phone images."""
        return sum(n for p, n in self.files.items() if p == "index.html" or p.endswith("-phone.svg"))

    @property
    def projector_bytes(self) -> int:
        return sum(n for p, n in self.files.items() if p == "index.html" or re.search(r"slide-\d+\.svg$", p))


# --------------------------------------------------------------------------- drawing the slides


def public_drawer(con: duckdb.DuckDBPyConnection) -> Callable[[deck.View], Drawn]:
    """Each view drawn through the catalogue on `con` (a public connection:
    db.open_for_display(path, internal=False)); a view built from internal records raises Withheld."""
    def draw(view: deck.View) -> Drawn:
        chart_id, choices = view.catalogue_chart()
        try:
            drawn = catalogue.render_on(con, chart_id, view.to_filters(), choices_=choices, title=view.title)
        except (duckdb.CatalogException, db.SignInRequired) as exc:
            if isinstance(exc, db.SignInRequired) or db.internal_table_in(exc):
                raise Withheld(INTERNAL_WITHHELD) from None
            raise
        if drawn.fig.layout.title.text not in (None, drawn.title):
            drawn.fig.update_layout(title_text=drawn.title)  # the full title, as on a slide
        return drawn
    return draw


def draw_slides(d: deck.Deck, draw: Callable[[deck.View], Drawn]) -> list[Slide]:
    slides = []
    for n, v in enumerate(d.views, start=1):
        title = v.title or deck.chart_label(v.chart)
        try:
            slides.append(Slide(n, title, draw(v)))
        except Withheld as exc:
            slides.append(Slide(n, title, withheld=str(exc)))
        except Exception as exc:  # a slide that cannot be drawn must not take the page down with it
            slides.append(Slide(n, title, withheld=f"This slide could not be drawn ({type(exc).__name__})."))
    return slides


# --------------------------------------------------------------------------- the page


def _text(s: object) -> str:
    """Words from a figure or the data as HTML text: Plotly's line breaks as spaces, its
    entities decoded, then everything escaped (a school's name is never markup)."""
    plain = html.unescape(re.sub(r"<br\s*/?>", " ", str(s or ""), flags=re.I))
    return html.escape(" ".join(plain.split()))


def _table_html(df: pl.DataFrame) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_text(formats.cell_text(c, v))}</td>" for c, v in zip(df.columns, row))
                   + "</tr>" for row in df.rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _filters_text(f: Filters | None, choices: dict) -> str:
    """The slide's own filters and choices, as a deck link gives them (the caption says what the
    chart then covers: a one-year chart under no year shows the latest)."""
    picked = " · ".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                       for k, v in choices.items() if v not in (None, ""))
    said = f.describe() if f is not None and f != Filters() else "none"
    return f"{said}; choices: {picked}" if picked else said


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:0;color:#1a1a1a;line-height:1.45;
background:#fff;overflow-wrap:anywhere}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 12px}
h1{font-size:1.35rem;margin:.6rem 0}
h2{font-size:1.2rem;margin:1.4rem 0 .4rem}
.demo{background:#FFF3CD;border:1px solid #8B0000;color:#8B0000;font-weight:600;padding:.4rem .6rem;margin:.6rem 0}
section{border-top:1px solid #ddd;padding-bottom:.6rem}
figure{margin:0}
img{display:block;width:100%;height:auto;border:1px solid #eee}
.caption,.source,.filters,.notes{margin:.35rem 0;font-size:.95rem}
.notes{display:none}
@media (max-width:700px){.notes{display:block}}
details{margin:.4rem 0}
summary{cursor:pointer;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}
th{background:#f4f4f4}
.withheld{background:#f4f4f4;padding:.6rem}
nav ol{padding-left:1.4rem;margin:.3rem 0}
"""


def _slide_html(s: Slide, demo: bool, notes: list[str]) -> str:
    n = f"{s.number:02d}"
    if s.drawn is None:
        return (f'<section id="slide-{s.number}" class="slide withheld-slide"><h2>{s.number}. {_text(s.title)}</h2>'
                f'<p class="withheld">{_text(s.withheld)}</p></section>')
    d = s.drawn
    demo_line = f'<p class="demo">{html.escape(export.DEMO_MARK)}</p>' if demo else ""
    notes_html = "".join(f'<p class="notes">{_text(x)}</p>' for x in notes)
    source = f'<p class="source">Source: {_text(d.source)}</p>' if d.source else ""
    table = catalogue.readable(d.table)
    return (
        f'<section id="slide-{s.number}" class="slide"><h2>{s.number}. {_text(d.title)}</h2>{demo_line}'
        f'<figure><picture><source media="(max-width: {PHONE_MAX_PX}px)" srcset="{ASSETS}/slide-{n}-phone.svg">'
        f'<img src="{ASSETS}/slide-{n}.svg" alt="{_text(d.title)}" width="1920" height="1080"></picture>'
        f'<figcaption>{notes_html}<p class="caption">{_text(d.caption)}</p>'
        f'<p class="filters">Slide filters: {_text(_filters_text(d.filters, dict(d.choices)))}</p>{source}'
        f'</figcaption></figure>'
        f'<details><summary>Data table ({table.height} rows)</summary><div class="scroll">{_table_html(table)}</div>'
        f'<p class="legend">{html.escape(SUPPRESSION_WORDS)}</p></details>'
        f'<p><a href="{ASSETS}/slide-{n}.csv" download>Download the table (CSV)</a></p></section>'
    )


def page_html(d: deck.Deck, slides: list[Slide], notes: dict[int, list[str]], *, demo: bool,
              published_at: str, about: str | None = None) -> str:
    toc = "".join(f'<li><a href="#slide-{s.number}">{_text(s.drawn.title if s.drawn else s.title)}</a></li>'
                  for s in slides)
    demo_banner = f'<p class="demo">{html.escape(DEMO_WORDS)}</p>' if demo else ""
    body = "".join(_slide_html(s, demo, notes.get(s.number, [])) for s in slides)
    about_line = f" {_text(about)}" if about else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(d.title)} · CSI Dashboard</title><style>{CSS}</style></head><body>"
        f"<header>{demo_banner}<h1>{_text(d.title)}</h1>"
        f"<p>The slides of this talk, from the Community Schools Initiative dashboard (LA County Office of "
        f"Education), published {html.escape(published_at)}.{about_line} Figures describing fewer than "
        f"{codes.MIN_N} students are not shown.</p>"
        f"<nav><ol>{toc}</ol></nav></header><main>{body}</main>"
        "<footer><p>A static copy: it needs no network and no JavaScript.</p></footer></body></html>"
    )


# --------------------------------------------------------------------------- writing


def _swap_in(tmp: Path, out: Path) -> None:
    """`tmp` (complete) becomes `out`: the old directory is renamed aside first and removed
    after, so `out` is only ever the old publish or the new one (a directory cannot be
    renamed over a non-empty one; between the two renames it is briefly absent)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}-{time.monotonic_ns()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish(d: deck.Deck, out: str | os.PathLike[str], *, draw: Callable[[deck.View], Drawn], demo: bool,
            about: str | None = None, render: Callable[[list], list[bytes]] | None = None) -> Published:
    """Publish deck `d` into directory `out` (see the module docstring for the layout);
    `draw` is public_drawer(con) for a public connection. `render` (tests) replaces
    the image renderer: figures -> SVG bytes."""
    started = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    slides = draw_slides(d, draw)
    drawn = [s for s in slides if s.drawn is not None]
    figures, notes = [], {}
    for s in drawn:
        assert s.drawn is not None
        figures.append(export.prepare(s.drawn.fig, title=s.drawn.title, caption=s.drawn.caption,
                                      source=s.drawn.source, demo=demo))
        phone, phone_notes = export.prepare_phone(s.drawn.fig, demo=demo)
        figures.append(phone)
        notes[s.number] = phone_notes
    images = (render or (lambda figs: export.render_figures(figs, "svg")))(figures) if figures else []
    published_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # One publish into `out` at a time (two presenters, or the page and the command line):
    # each writes its own temporary directory, and the swap is done under the lock.
    # The lock lives outside `out`'s folder: everything beside it may be served.
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    lock = FileLock(str(Path(tempfile.gettempdir()) / f"csi-publish-{key}.lock"))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a static host serves it as any other folder
    try:
        (tmp / ASSETS).mkdir()
        files: dict[str, bytes] = {}
        for k, s in enumerate(drawn):
            assert s.drawn is not None
            n = f"{s.number:02d}"
            files[f"{ASSETS}/slide-{n}.svg"] = images[2 * k]
            files[f"{ASSETS}/slide-{n}-phone.svg"] = images[2 * k + 1]
            csv_notes = downloads.header_lines(filters=_filters_text(s.drawn.filters, dict(s.drawn.choices)),
                                               source=s.drawn.source or None, demo=demo)
            files[f"{ASSETS}/slide-{n}.csv"] = downloads.csv_bytes(catalogue.readable(s.drawn.table),
                                                                   notes=csv_notes)
        files["index.html"] = page_html(d, slides, notes, demo=demo, published_at=published_at,
                                        about=about).encode("utf-8")
        sizes = {p: len(b) for p, b in files.items()}
        result = Published(out, len(slides), len(slides) - len(drawn), 0.0, sizes)
        manifest = {
            "title": d.title, "published_at": published_at, "demo": demo,
            "slides": [{"number": s.number, "title": s.drawn.title if s.drawn else s.title,
                        "withheld": s.withheld,
                        **({"image": f"{ASSETS}/slide-{s.number:02d}.svg",
                            "phone_image": f"{ASSETS}/slide-{s.number:02d}-phone.svg",
                            "csv": f"{ASSETS}/slide-{s.number:02d}.csv"} if s.drawn else {})} for s in slides],
            "phone_fetches": ["index.html", *[p for p in sizes if p.endswith("-phone.svg")]],
            "projector_fetches": ["index.html", *[p for p in sizes if re.search(r"slide-\d+\.svg$", p)]],
            "phone_bytes": result.phone_bytes, "projector_bytes": result.projector_bytes,
        }
        files[f"{ASSETS}/manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        for rel, data in files.items():
            (tmp / rel).write_bytes(data)
        with lock:
            _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.files = {p: len(b) for p, b in files.items()}
    result.seconds = time.perf_counter() - started
    return result


def publish_from_db(path: str | os.PathLike[str], d: deck.Deck, out: str | os.PathLike[str], **kw) -> Published:
    """Publish `d` from the database file at `path`, read as a signed-out viewer reads it."""
    con = db.open_for_display(path, internal=False)
    try:
        info = dict(con.execute("SELECT key, value FROM build_info").fetchall())
        demo = info.get("mode") == "demo"
        about = f"Data built {info['built_at'][:10]}." if info.get("built_at") else None
        return publish(d, out, draw=public_drawer(con), demo=demo, about=about, **kw)
    finally:
        con.close()


# --------------------------------------------------------------------------- sharing it


def qr_svg(url: str, *, scale: int = 6) -> str:
    """A QR code for `url` as SVG text (segno: pure Python, offline)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=scale, border=2, xmldecl=False)
    return buf.getvalue().decode()


def qr_png(url: str, *, scale: int = 6) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
