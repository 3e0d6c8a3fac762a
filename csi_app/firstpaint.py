"""A page's first charts painted before Streamlit's front end has loaded (issue 18).

A new browser waits about a second for Streamlit's front end to start and open its
websocket, and as long again for Plotly to be evaluated and draw; on this machine the
first chart came 3.6-4.9 s after the link was opened. Here the page's own HTML carries
a picture of what the page will show: its title and its first charts as images, laid
over the page until its first live chart is drawn (or the viewer touches the page), so
the chart is on the screen as soon as the HTML is. The Overview, whose first view is
its headline cards, gets them as text.

The picture is the page itself, recorded, never a second drawing of it:

- Recorded from a session's first completed run (`begin` / `offer` / `finish`, called
  by the entry script and by csi_app.phone.plotly_chart, the one way the app draws a
  chart). A first run depends only on its URL (page, filters, presenter mode, deck
  link), on whether the browser is a phone, and on the database, so that is the key;
  every later run depends on what the session did and is never recorded.
- Access: only a session that is not signed in records, so a picture holds only what
  anyone may see; a signed-in viewer's own first run, drawn from internal records,
  never becomes anyone's picture.
- Suppression and placement: the images are the figures the page drew (already
  suppressed, placed and marked DEMO DATA by the layers below), rendered by
  csi_metrics.figures.export.
- Freshness: a picture names the database file it was drawn from and is not sent
  once that file has been replaced (a rebuild); the next new session's first run on
  the new file records it again.

Rendering (Plotly's exporter in Chromium, about 0.3 s a figure once warm) happens on one
background thread, never in a page run: the first visitor of a view gets the page as
before and the picture is there for everyone after, such as a hall opening the link a
presenter has just shown. `enable()` (csi_app.serve, the one server with the middleware
that sends the picture) turns recording on; without it (`streamlit run`, AppTest)
nothing is recorded.
"""

from __future__ import annotations

import base64
import html
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import plotly.graph_objects as go

from csi_metrics.figures import projector

LOG = logging.getLogger(__name__)

MAX_CHARTS = 2          # what is above the fold on arrival; the rest waits for the page
MAX_CARDS = 9           # the Overview's headline cards
MAX_PICTURES = 128      # views kept (about 20-150 kB each)
MAX_QUEUED = 16         # views waiting to be rendered; more are dropped (the next visitor offers them again)
DEFAULT_HEIGHT_PX = 450
# A chart that stretches to the screen (a slide) has no size of its own: it is pictured as
# it fills a 1920x1080 projector, then scaled to fit the screen it is opened on.
SLIDE_PX = projector.SLIDE_BOX_PX
SHELL_ID = "csi-first-paint"
_REC = "_first_paint_run"
_SEEN = "_first_paint_seen"

Key = tuple[str, tuple[tuple[str, str], ...], bool]


def view_key(path: str, query: Mapping[str, str] | Sequence[tuple[str, str]] | str | bytes, phone: bool) -> Key:
    """What a first run depends on, as both the HTTP request and the run see it: the page's
    path, its query (one value per name, the last, as st.query_params reads it) and phone."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else \
        list(query.items()) if isinstance(query, Mapping) else list(query)
    return ("/" + path.strip("/"), tuple(sorted(dict(pairs).items())), bool(phone))


@dataclass(frozen=True)
class Picture:
    database: tuple[Any, ...]   # the file it was drawn from (csi_app.data.database_identity)
    html: bytes                 # the shell, ready to go before </body>


@dataclass
class Recording:
    key: Key
    demo_line: str | None
    database: tuple[Any, ...]
    title: str = ""           # as the page wrote it (csi_app.show.title); none on a slide
    charts: list[tuple[str, go.Figure]] = field(default_factory=list)
    lede: str | None = None   # the sentence under the title (the Overview's "what moved")
    titled: set[int] = field(default_factory=set)  # charts whose title is page text above them (a phone's)
    stretched: set[int] = field(default_factory=set)  # charts that fill the screen (a slide)
    cards: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (title, lines) as the page wrote them


# --------------------------------------------------------------------------- the pictures

_pictures: "OrderedDict[Key, Picture]" = OrderedDict()
_lock = threading.Lock()
_pending: set[Key] = set()
_chartless: "OrderedDict[Key, tuple[Any, ...]]" = OrderedDict()  # views whose first run drew nothing to picture
_jobs: "queue.Queue[Recording]" = queue.Queue(MAX_QUEUED)
_enabled = threading.Event()
_worker: threading.Thread | None = None


def enable() -> None:
    """Record first runs and render their pictures (the serving process only)."""
    _enabled.set()


def enabled() -> bool:
    return _enabled.is_set()


def clear() -> None:
    with _lock:
        _pictures.clear()
        _pending.clear()
        _chartless.clear()


def chartless(key: Key, database: tuple[Any, ...] | None) -> bool:
    """The view's first run (from `database`) drew no chart and no card."""
    with _lock:
        return database is not None and _chartless.get(key) == database


def _keep(store: OrderedDict, key: Key, value: Any) -> None:
    """`store[key] = value` as the newest entry, the oldest dropped past MAX_PICTURES (caller holds _lock)."""
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_PICTURES:
        store.popitem(last=False)


def _mark_chartless(key: Key, database: tuple[Any, ...] | None) -> None:
    with _lock:
        if database is None:
            _chartless.pop(key, None)
        else:
            _keep(_chartless, key, database)


def picture(key: Key, database: tuple[Any, ...] | None) -> Picture | None:
    """The picture for `key` drawn from `database` (None if there is none, or it was
    drawn from another file)."""
    if database is None:
        return None
    with _lock:
        found = _pictures.get(key)
        if found is None or found.database != database:
            return None
        _pictures.move_to_end(key)
        return found


def put(key: Key, pic: Picture) -> None:
    with _lock:
        _keep(_pictures, key, pic)


def submit(rec: Recording) -> bool:
    """Queue `rec` for rendering unless its view has a picture from the same database file
    (a first run is a function of its key and the file) or is queued; False when not queued."""
    if not (rec.charts or rec.cards):
        return False
    with _lock:
        have = _pictures.get(rec.key)
        if (have is not None and have.database == rec.database) or rec.key in _pending:
            return False
        _pending.add(rec.key)
    try:
        _jobs.put_nowait(rec)
    except queue.Full:
        with _lock:
            _pending.discard(rec.key)
        return False
    _start_worker()
    return True


def _start_worker() -> None:
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="first-paint", daemon=True)
            _worker.start()


def _work() -> None:
    while True:
        rec = _jobs.get()
        try:
            charts = [(alt, go.Figure(fig).update_layout(width=SLIDE_PX[0], height=SLIDE_PX[1], autosize=False))
                      if n in rec.stretched else (alt, fig) for n, (alt, fig) in enumerate(rec.charts)]
            put(rec.key, Picture(rec.database, shell_html(rec, render(charts, phone=rec.key[2]))))
        except Exception:  # noqa: BLE001 - no picture is the page as before; say why once per view
            LOG.warning("first paint: could not render %s", rec.key[0], exc_info=True)
        finally:
            with _lock:
                _pending.discard(rec.key)
            _jobs.task_done()


def wait_idle(timeout_s: float = 60) -> bool:
    """Every queued picture rendered (for tests); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _lock:
            if not _pending:
                return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- rendering

_warm = threading.Lock()
_server_started = False


def _warm_renderer() -> None:
    """Keep one export browser running in this process (about 0.3 s a figure instead of
    about 2 s for a browser started per call); exports from the Presenter page use it too."""
    global _server_started
    with _warm:
        if _server_started:
            return
        from csi_metrics.figures import export

        export.ensure_browser_path()
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)
        _server_started = True


def image_size(fig: go.Figure, *, phone: bool = False) -> tuple[int, int]:
    """The width its words were laid out for (csi_metrics.figures.charts.fit_text; a phone's
    page) and its height."""
    from csi_metrics.figures import charts, narrow

    if phone:
        return narrow.PAGE_PX, int(fig.layout.height or DEFAULT_HEIGHT_PX)
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fitted = (meta.get(charts.FIT_META) or {}).get("width")
    width = fig.layout.width or fitted or charts.FULL_PX
    return int(width), int(fig.layout.height or DEFAULT_HEIGHT_PX)


def _is_map(fig: go.Figure) -> bool:
    return any("map" in (getattr(t, "type", "") or "") for t in fig.data)


def render(charts: Sequence[tuple[str, go.Figure]], *, phone: bool = False) -> list[tuple[str, str, int, int]]:
    """Each (alt text, figure) as (alt, data URI, width, height): SVG, a map as PNG (its
    tiles are a picture either way, and a PNG of one is a fifth of the size)."""
    from csi_metrics.figures import export

    _warm_renderer()
    out = []
    for alt, fig in charts:
        width, height = image_size(fig, phone=phone)
        sized = go.Figure(fig).update_layout(width=width, height=height)
        fmt = "png" if _is_map(fig) else "svg"
        data = export.render_figures([sized], fmt)[0]
        out.append((alt, f"data:{export.MIME[fmt]};base64,{base64.b64encode(data).decode()}", width, height))
    return out


# --------------------------------------------------------------------------- the shell

# Laid over the page's main area (right of an open sidebar, under Streamlit's header, so its
# menu and sidebar button stay usable) until the page's first live chart is drawn, the viewer
# touches or types, the run has finished with no chart coming, or 20 s pass.
_SHELL_CSS = f"""<style>
#{SHELL_ID} {{ position: fixed; top: 0; right: 0; bottom: 0; left: 0; z-index: 999980; overflow: auto;
  background: #fff; color: rgb(49, 51, 63); font-family: "Source Sans", "Source Sans Pro", sans-serif;
  padding: 4.5rem 5rem 2rem; box-sizing: border-box; }}
#{SHELL_ID} h1 {{ font-size: 2.75rem; font-weight: 700; line-height: 1.2; margin: 0 0 1rem; }}
#{SHELL_ID} .fp-demo {{ background: #fff4e5; border-radius: .5rem; padding: .75rem 1rem; margin: 0 0 1rem; }}
#{SHELL_ID} img {{ display: block; width: 100%; height: auto; margin: 0 0 1.5rem; }}
/* A slide's page hides the sidebar and header once its script runs: the picture covers them
   until then, and never moves aside for a sidebar about to go. */
#{SHELL_ID}.fp-slides {{ padding: {projector.PAGE_PAD_CSS}; z-index: 1000010; }}
#{SHELL_ID}.fp-slides .fp-demo {{ padding: .1rem .75rem; font-weight: 600; color: #926c05; background: #fffbe6; }}
#{SHELL_ID} img.fp-slide {{ height: calc(100vh - {projector.SLIDE_CHROME_PX}px); min-height: 360px; object-fit: contain;
  object-position: left top; }}
#{SHELL_ID} .fp-lede {{ font-size: 1.75rem; font-weight: 600; line-height: 1.3; margin: 0 0 1rem; }}
#{SHELL_ID} .fp-chart-title {{ font-weight: 600; margin: 0 0 .5rem; }}
#{SHELL_ID} .fp-cards {{ display: flex; flex-wrap: wrap; gap: 1rem; margin: 0 0 1.5rem; }}
#{SHELL_ID} .fp-card {{ flex: 1 1 14rem; border: 1px solid rgba(49, 51, 63, .2); border-radius: .5rem; padding: 1rem; }}
#{SHELL_ID} .fp-card b {{ display: block; font-size: .875rem; }}
#{SHELL_ID} .fp-card .fp-value {{ font-size: 2.25rem; line-height: 1.3; }}
#{SHELL_ID} .fp-card small {{ display: block; font-size: .875rem; color: rgba(49, 51, 63, .7); }}
@media (max-width: 640px) {{ #{SHELL_ID} {{ padding: 4rem .75rem 1rem; }} #{SHELL_ID} h1 {{ font-size: 2rem; }}
  #{SHELL_ID} .fp-lede {{ font-size: 1.25rem; }} }}
</style>"""

_SHELL_JS = f"""<script>(() => {{
  const fp = document.getElementById("{SHELL_ID}"); if (!fp) return;
  const t0 = performance.now(); let gone = false, doneSince = null;
  const go = () => {{ if (!gone) {{ gone = true; fp.remove(); }} }};
  for (const ev of ["pointerdown", "keydown", "wheel", "touchstart"]) window.addEventListener(ev, go, {{ once: true, capture: true }});
  const tick = () => {{
    if (gone) return;
    const sb = document.querySelector('[data-testid="stSidebar"][aria-expanded="true"]');
    const r = sb ? sb.getBoundingClientRect().right : 0;
    fp.style.left = (window.innerWidth > 640 && r > 0 && !fp.classList.contains("fp-slides") ? r : 0) + "px";
    const drawn = [...document.querySelectorAll(".js-plotly-plot")].some(el => el.data && el.data.length);
    // The run finished with no chart on its way (an error, a sign-in prompt): the page's own words, not the picture.
    const app = document.querySelector('[data-testid="stApp"]');
    const done = app && app.getAttribute("data-test-script-state") === "notRunning"
                 && !document.querySelector('[class*="st-key-chart_"], [class*="st-key-spark_"]');
    doneSince = done ? (doneSince ?? performance.now()) : null;
    if (drawn || (doneSince !== null && performance.now() - doneSince > 2000) || performance.now() - t0 > 20000) {{
      go(); return; }}
    setTimeout(tick, 50);
  }};
  tick();
}})();</script>"""


def shell_html(rec: Recording, images: Sequence[tuple[str, str, int, int]]) -> bytes:
    """The picture: the demo line, the page's title if it wrote one, its headline cards (as text) and its
    first charts' images."""
    slides = ' class="fp-slides"' if rec.stretched else ""  # laid out as a presented page
    parts = [f'<div id="{SHELL_ID}"{slides} data-testid="csiFirstPaint">']
    if rec.demo_line:
        parts.append(f'<div class="fp-demo">{html.escape(rec.demo_line)}</div>')
    if rec.title:
        parts.append(f"<h1>{html.escape(rec.title)}</h1>")
    if rec.lede:
        parts.append(f'<p class="fp-lede">{html.escape(rec.lede)}</p>')
    if rec.cards:
        parts.append('<div class="fp-cards">')
        for title, lines in rec.cards:
            value, *rest = lines or ("",)
            parts.append(f'<div class="fp-card"><b>{html.escape(title)}</b><div class="fp-value">'
                         f'{html.escape(value)}</div>' + "".join(f"<small>{html.escape(x)}</small>" for x in rest)
                         + "</div>")
        parts.append("</div>")
    for n, (alt, uri, width, height) in enumerate(images):
        if n in rec.titled:
            parts.append(f'<p class="fp-chart-title">{html.escape(alt)}</p>')
        slide = ' class="fp-slide"' if n in rec.stretched else ""
        parts.append(f'<img alt="{html.escape(alt, quote=True)}"{slide} width="{width}" height="{height}" '
                     f'style="max-width:{width}px" src="{uri}">')
    parts.append("</div>")
    return (_SHELL_CSS + "".join(parts) + _SHELL_JS).encode()


# --------------------------------------------------------------------------- recording a run

def wants(session_state: Any) -> bool:
    """This run may be recorded: the server sends pictures and the session has not completed a run."""
    return enabled() and not session_state.get(_SEEN)


def begin(session_state: Any, *, url: str, query: Mapping[str, str], phone: bool,
          demo_line: str | None, database: tuple[Any, ...] | None, signed_in: bool) -> None:
    """Start recording this run if it is the session's first to complete, the session is
    not signed in and the server sends pictures. Its heading is what the page writes
    (`heading`), never the navigation's name for it: a slide writes none."""
    session_state.pop(_REC, None)
    if not enabled() or signed_in or database is None or session_state.get(_SEEN):
        return
    session_state[_REC] = Recording(view_key(urlsplit(url).path, query, phone), demo_line, database)


def recording(session_state: Any) -> bool:
    return isinstance(session_state.get(_REC), Recording)


def heading(session_state: Any, text: str, *, lede: bool = False) -> None:
    """The page's title as it wrote it (csi_app.show.title), or with `lede` the sentence under it."""
    rec = session_state.get(_REC)
    if isinstance(rec, Recording):
        if lede:
            rec.lede = text
        else:
            rec.title = text


def card(session_state: Any, title: str, lines: Sequence[str]) -> None:
    """A headline card this run shows: its title, then its value and notes as the page wrote them."""
    rec = session_state.get(_REC)
    if isinstance(rec, Recording) and len(rec.cards) < MAX_CARDS:
        rec.cards.append((title, tuple(x for x in lines if x)))


def offer(session_state: Any, fig: go.Figure, title: str | None = None, *, stretch: bool = False) -> None:
    """A chart this run draws, as drawn (one of the first MAX_CHARTS goes into the picture);
    `stretch`: it fills the screen, as a slide does."""
    rec = session_state.get(_REC)
    if isinstance(rec, Recording) and len(rec.charts) < MAX_CHARTS:
        text = title or (fig.layout.title.text if fig.layout.title and fig.layout.title.text else "") or "Chart"
        if title:
            rec.titled.add(len(rec.charts))
        if stretch:
            rec.stretched.add(len(rec.charts))
        rec.charts.append((text.replace("<br>", " "), fig))


def finish(session_state: Any) -> Recording | None:
    """The run completed: its recording goes to be rendered, and the session records no more."""
    rec = session_state.pop(_REC, None)
    if not enabled():
        return None
    session_state[_SEEN] = True
    if not isinstance(rec, Recording):
        return None
    _mark_chartless(rec.key, None if (rec.charts or rec.cards) else rec.database)
    if rec.charts or rec.cards:
        submit(rec)
        return rec
    return None
