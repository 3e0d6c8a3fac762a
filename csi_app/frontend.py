"""Getting Streamlit's front end to a new browser sooner (issue 18; docs/benchmarks.md).

Two ASGI middlewares for csi_app.serve, neither changing what a page shows once it has loaded:

- ChartBundleHint: Streamlit's front end fetches its Plotly bundle (4.7 MB, the
  largest file it has) only when the first chart's element arrives over the
  websocket, about a second after navigation, and then evaluates it (about half a
  second of the main thread) before any chart can be drawn. The page's HTML gets a
  `modulepreload` of that bundle, so its download and compilation start with the
  front end's own files, and an import of it once the front end has opened its websocket
  (usually while the server runs the page's script), so it is evaluated by the time
  the chart's element arrives. The bundle's hashed name is read from Streamlit's
  own entry script; when it cannot be found (another Streamlit build) nothing is
  added and the page behaves as before. The same middleware sends the page's
  picture (csi_app.firstpaint): its title and first charts as images, on the
  screen with the HTML, until the live chart is drawn. A view whose first run drew
  no chart (the About page, Schools before a school is chosen) keeps the preload
  but not the early import: evaluating the bundle there only delayed the page.

- CompressedAssets: Streamlit serves its JavaScript and CSS uncompressed (its gzip
  middleware skips static files, since compressing them on every request cost it
  more than it saved). Here each file is compressed once per server process, on its
  first request (in a thread; concurrent first requests share the one compression),
  and kept in memory: about 2.5 MB for every file a page loads, 9.4 MB sent as
  about 2.6 MB. That is what matters over a hall's Wi-Fi; a reverse proxy's own
  `gzip on` (docs/scaling.md) leaves an already compressed response alone.
"""

from __future__ import annotations

import asyncio
import gzip
import re
from functools import lru_cache
from pathlib import Path

# Evaluate the preloaded bundle once the front end has opened its websocket and asked for the
# page (its half second of main thread then overlaps the server's run of the script, instead of
# holding the socket back), or after 3 s at the latest.
IDLE_IMPORT = ('<script type="module">{{let done = false; const go = () => {{ if (!done) {{ done = true; '
               'setTimeout(() => import("./{src}"), 0); }} }}; const W = window.WebSocket; '
               'window.WebSocket = class extends W {{ constructor(...a) {{ super(...a); '
               'this.addEventListener("open", () => setTimeout(go, 30)); }} }}; setTimeout(go, 3000);}}</script>')
COMPRESSED_TYPES = (b"application/javascript", b"text/javascript", b"text/css")
GZIP_LEVEL = 9  # once per file per process: the smallest file, at a one-off cost (~0.3 s for Plotly's)


def static_dir() -> Path:
    import streamlit

    return Path(streamlit.__file__).parent / "static"


@lru_cache(maxsize=1)
def chart_bundle() -> str | None:
    """Streamlit's Plotly bundle as the page's HTML names its scripts ('static/js/PlotlyChart.<hash>.js'),
    or None when this Streamlit build has no one such bundle."""
    root = static_dir()
    html = (root / "index.html").read_text(encoding="utf-8")
    entry = re.search(r'<script type="module"[^>]*\ssrc="\./(static/js/index\.[\w-]+\.js)"', html)
    if not entry or not (root / entry.group(1)).is_file():
        return None
    found = set(re.findall(r"import\(`\./(PlotlyChart\.[\w-]+\.js)`\)", (root / entry.group(1)).read_text(
        encoding="utf-8")))
    if len(found) != 1:
        return None
    src = f"static/js/{found.pop()}"
    return src if (root / src).is_file() else None


def chart_bundle_hint(*, evaluate: bool = True) -> bytes:
    """What goes before the page's </head>: the preload and (unless not `evaluate`) the early
    import (empty without a bundle)."""
    src = chart_bundle()
    if src is None:
        return b""
    return (f'<link rel="modulepreload" crossorigin href="./{src}" />'
            + (IDLE_IMPORT.format(src=src) if evaluate else "")).encode()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    return next((v for k, v in headers if k.lower() == name), b"")


async def _rewritten(app, scope, receive, send, held, rewrite) -> None:
    """Runs `app`, holding back a 200 response whose headers `held(headers)` accepts until its
    body is complete, then sending `await rewrite(headers, body)` -> (headers, body) in its
    place (with its content-length); any other response passes through untouched."""
    start: dict = {}
    body: list[bytes] = []

    async def hold(message):
        if message["type"] == "http.response.start":
            if message["status"] == 200 and held(list(message.get("headers", []))):
                start.update(message)
                return
        elif start and message["type"] == "http.response.body":
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers, data = await rewrite(list(start.get("headers", [])), b"".join(body))
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(data)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": data})
            return
        await send(message)

    await app(scope, receive, hold)


class ChartBundleHint:
    """ASGI middleware: the app's HTML page (Streamlit answers every page's URL with the
    same index.html) gets chart_bundle_hint() before </head>, and the picture of the page
    its URL asks for (csi_app.firstpaint), when there is one, before </body>."""

    def __init__(self, app):
        self.app = app
        self.hint = chart_bundle_hint()
        self.preload_only = chart_bundle_hint(evaluate=False)

    async def __call__(self, scope, receive, send):
        # Files the app serves as they are (the attendee page under /app/static/) are not its page:
        # they get no script.
        if scope.get("type") != "http" or scope.get("method") != "GET" or "/app/static/" in scope.get("path", ""):
            await self.app(scope, receive, send)
            return

        async def hinted(headers: list[tuple[bytes, bytes]], html: bytes) -> tuple[list, bytes]:
            picture, chartless = first_paint_for(scope)
            hint = self.preload_only if chartless else self.hint
            # Streamlit's own gzip middleware compresses the page for a browser that accepts it.
            packed = _header(headers, b"content-encoding").lower() == b"gzip"
            if packed:
                html = gzip.decompress(html)
            if hint and b"</head>" in html and hint not in html:
                html = html.replace(b"</head>", hint + b"</head>", 1)
            if picture and b"</body>" in html:
                html = html.replace(b"</body>", picture + b"</body>", 1)
            if packed:
                html = gzip.compress(html, mtime=0)
            # The file's validators describe the file, not this page: drop them (the page is no-cache
            # anyway); the picture depends on whether the browser says it is a phone.
            headers = [(k, v) for k, v in headers if k.lower() not in (b"etag", b"last-modified")]
            return headers + [(b"vary", b"User-Agent, Sec-CH-UA-Mobile")] if picture else headers, html

        await _rewritten(self.app, scope, receive, send,
                         lambda headers: _header(headers, b"content-type").startswith(b"text/html"), hinted)


def first_paint_for(scope) -> tuple[bytes, bool]:
    """(The page's picture (csi_app.firstpaint) for this request's path, query and device,
    drawn from the database file there now, or b""; whether that view's first run drew no
    chart at all, so its HTML has no use for evaluating the chart bundle early)."""
    from csi_app import data, firstpaint, phone

    if not firstpaint.enabled():
        return b"", False
    headers = scope.get("headers", [])
    key = firstpaint.view_key(scope.get("path", "/"), scope.get("query_string", b""),
                              phone.says_phone(_header(headers, b"sec-ch-ua-mobile").decode("latin-1"),
                                               _header(headers, b"user-agent").decode("latin-1")))
    database = data.database_identity()
    found = firstpaint.picture(key, database)
    return (found.html if found else b""), firstpaint.chartless(key, database)


class CompressedAssets:
    """ASGI middleware: Streamlit's static JavaScript and CSS gzip-compressed for a
    browser that accepts it, each file compressed once and kept (see the module's
    docstring). Anything else, a range request, or a browser without gzip passes through."""

    def __init__(self, app):
        self.app = app
        self.cache: dict[tuple[str, bytes], bytes] = {}
        self.pending: dict[tuple[str, bytes], asyncio.Future] = {}

    async def compressed(self, key: tuple[str, bytes], data: bytes) -> bytes:
        if key in self.cache:
            return self.cache[key]
        if key not in self.pending:
            self.pending[key] = asyncio.ensure_future(asyncio.to_thread(gzip.compress, data, GZIP_LEVEL, mtime=0))
        try:
            out = await asyncio.shield(self.pending[key])
        finally:
            self.pending.pop(key, None)
        self.cache[key] = out
        return out

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if (scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD") or "/static/" not in path
                or b"gzip" not in _header(scope.get("headers", []), b"accept-encoding").lower()
                or _header(scope.get("headers", []), b"range")):
            await self.app(scope, receive, send)
            return

        def held(headers):
            kind = _header(headers, b"content-type").split(b";")[0].strip().lower()
            return kind in COMPRESSED_TYPES and not _header(headers, b"content-encoding") and scope["method"] == "GET"

        async def packed(headers, data):
            etag = _header(headers, b"etag")
            data = await self.compressed((path, etag), data)
            headers = [(k, v) for k, v in headers if k.lower() != b"etag"]
            if etag:  # a different body, so a different tag
                headers.append((b"etag", etag[:-1] + b'-gzip"' if etag.endswith(b'"') else etag + b"-gzip"))
            return headers + [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")], data

        await _rewritten(self.app, scope, receive, send, held, packed)
