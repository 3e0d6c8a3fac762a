"""A thousand phones on one link: N clients fetching the static attendee page
(`python -m csi_metrics publish --standard --out DIR`: DIR/index.html and the
assets it references) from a server on this machine, beside N live Streamlit
sessions opening the landing page.

Each attendee client is what a phone's browser does with the page, minus the
drawing: it arrives at its time on a ramp, fetches the page over one keep-alive
connection, picks its assets from the HTML as a phone 390 CSS px wide at device
pixel ratio 3 would (img src / srcset / sizes, picture > source, link
stylesheet / icon / preload, script src, object data, url() in CSS and style),
and fetches each same-origin asset once over up to six keep-alive connections
(a browser's per-host limit on HTTP/1.1). Lazy images are fetched too: the
figures are an upper bound on bytes. "Page complete" is arrival to the last
asset's last byte, a wait for a free client slot included.

Each live client fetches Streamlit's own page (index.html and the scripts and
stylesheets it lists; the chunks its JavaScript loads later, Plotly's among
them, are not counted) and then opens the websocket and asks for the landing
page: "page complete" is arrival to that run's script_finished. Sessions stay
open (as phones left on the page) until every one has finished or the deadline.

Targets: a URL given (--url), or one started here: `streamlit` (the dashboard's
own server with server.enableStaticServing, the site copied under static/ for
the run), `nginx` (Debian's nginx on loopback with a generated configuration:
the physical limit of this machine for static files), `live` (the dashboard,
sessions as above). Bounded: at most MAX_CLIENTS clients, at most --active in
flight at once (the rest wait for a slot: loopback sockets are finite), a
timeout per request and a hard deadline per run; every socket is closed before
it returns. Loopback only.

    python -m tools.bench.attendee_load --site DIR | --synthetic
        [--target streamlit nginx live] [--n 100 500 1000] [--db PATH]
        [--url http://127.0.0.1:PORT/PATH --pid PID --kind static|live]
        [--ramp-per-100 2] [--active 256] [--deadline 180] [--json]

Reports per run: clients ok, errors (distinct, first few), p50/p95/max of page
complete, bytes per client on the wire (headers included; gzip when the server
sends it), requests per client, the server's CPU (user + system of its whole
process group, from /proc) and peak RSS, and this client's own CPU (it shares
the two cores with the server: read both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from tools.bench.loadtest import _pct  # the live load test's percentile: both sides report alike

REPO = Path(__file__).resolve().parents[2]
MAX_CLIENTS = 2000
ACTIVE = 256                 # clients in flight at once: 256 x 6 sockets stays far below the port range
CONNS_PER_CLIENT = 6         # a browser's limit per host on HTTP/1.1
PHONE_WIDTH_PX = 390         # an iPhone 12-15's CSS width
PHONE_DPR = 3                # and its device pixel ratio
REQUEST_TIMEOUT_S = 30.0
DEADLINE_S = 180.0
# The live load test's arrival rate (100 sessions over 2 s), so both sides see the same crowd.
RAMP_PER_100_S = 2.0
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 csi-bench")
BENCH_STATIC = "_bench"      # static/<this>-<pid>/: where the Streamlit target serves a copy of the site


# --------------------------------------------------------------------------- what a phone fetches


_MEDIA = re.compile(r"\(\s*(min|max)-width\s*:\s*([0-9.]+)px\s*\)")


def media_matches(media: str, width_px: int = PHONE_WIDTH_PX) -> bool:
    """A media query of (min-width: Npx) / (max-width: Npx) terms joined by `and`;
    anything else (screen, orientation) is taken to match."""
    for kind, n in _MEDIA.findall(media or ""):
        if (kind == "min" and width_px < float(n)) or (kind == "max" and width_px > float(n)):
            return False
    return True


def _length_px(text: str, width_px: int) -> float:
    text = text.strip()
    m = re.fullmatch(r"([0-9.]+)(px|vw)", text)
    if not m:
        return float(width_px)      # calc() and the like: the viewport, as a browser's fallback is
    return float(m.group(1)) * (width_px / 100 if m.group(2) == "vw" else 1)


def slot_px(sizes: str, width_px: int = PHONE_WIDTH_PX) -> float:
    """The image's slot width from a `sizes` attribute: the first entry whose media matches."""
    for entry in (sizes or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        if entry.startswith("("):
            cond, _, length = entry.rpartition(")")
            if media_matches(cond + ")", width_px):
                return _length_px(length, width_px)
        else:
            return _length_px(entry, width_px)
    return float(width_px)


def pick_srcset(srcset: str, sizes: str = "", width_px: int = PHONE_WIDTH_PX, dpr: float = PHONE_DPR) -> str | None:
    """The candidate a browser would fetch: with w descriptors, the smallest at least
    slot x dpr wide (else the widest); with x descriptors, the smallest at least dpr
    (else the largest)."""
    cands: list[tuple[str, float, str]] = []
    for part in re.split(r",\s+|,(?=\S+\s+\d)", srcset.strip()):
        bits = part.strip().split()
        if not bits:
            continue
        desc = bits[1] if len(bits) > 1 else "1x"
        kind = desc[-1]
        try:
            cands.append((bits[0], float(desc[:-1]), kind))
        except ValueError:
            continue
    if not cands:
        return None
    need = slot_px(sizes, width_px) * dpr if cands[0][2] == "w" else dpr
    fit = sorted((c for c in cands if c[1] >= need), key=lambda c: c[1])
    return fit[0][0] if fit else max(cands, key=lambda c: c[1])[0]


_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(['"])([^'"]+)\1""")


_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")


def css_urls(css: str) -> list[str]:
    """url(...) and @import targets in a stylesheet (data: URIs left out). Not the fonts of
    @font-face rules: a browser fetches a font only when some text on the page uses it
    (Streamlit's stylesheet declares 26, KaTeX's among them, and a page uses two or three)."""
    css = _FONT_FACE.sub("", css)
    found = [m.group(2) for m in _CSS_URL.finditer(css)] + [m.group(2) for m in _CSS_IMPORT.finditer(css)]
    return [u.strip() for u in found if not u.strip().startswith(("data:", "#"))]


class _Assets(HTMLParser):
    LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest"}

    def __init__(self, width_px: int, dpr: float) -> None:
        super().__init__(convert_charrefs=True)
        self.width_px, self.dpr = width_px, dpr
        self.urls: list[str] = []
        self.picture_pick: str | None = None
        self.in_picture = False
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "style" in a:
            self.urls += css_urls(a["style"])
        if tag == "picture":
            self.in_picture, self.picture_pick = True, None
        elif tag == "source" and self.in_picture and a.get("srcset"):
            if self.picture_pick is None and media_matches(a.get("media", ""), self.width_px):
                self.picture_pick = pick_srcset(a["srcset"], a.get("sizes", ""), self.width_px, self.dpr)
        elif tag == "img":
            pick = self.picture_pick if self.in_picture else None
            if pick is None and a.get("srcset"):
                pick = pick_srcset(a["srcset"], a.get("sizes", ""), self.width_px, self.dpr)
            pick = pick or a.get("src")
            if pick:
                self.urls.append(pick)
        elif tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if rels & self.LINK_RELS and media_matches(a.get("media", ""), self.width_px):
                self.urls.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "object" and a.get("data"):
            self.urls.append(a["data"])
        elif tag in ("embed", "iframe") and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "style":
            self.in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "picture":
            self.in_picture = False
        elif tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.urls += css_urls(data)


def asset_urls(html: str, width_px: int = PHONE_WIDTH_PX, dpr: float = PHONE_DPR) -> list[str]:
    """The URLs (as written) a phone's browser fetches for this page, in document order, once each.
    Cached: every client gets the same page, and parsing it a thousand times would make this
    client, not the server, what the run measures (the two share the cores)."""
    return list(_asset_urls(html, width_px, dpr))


@functools.lru_cache(maxsize=64)
def _asset_urls(html: str, width_px: int, dpr: float) -> tuple[str, ...]:
    p = _Assets(width_px, dpr)
    p.feed(html)
    p.close()
    seen: dict[str, None] = {}
    for u in p.urls:
        u = u.strip()
        if u and not u.startswith(("data:", "javascript:", "#", "mailto:")):
            seen.setdefault(u, None)
    return tuple(seen)


# --------------------------------------------------------------------------- HTTP/1.1 over raw asyncio streams


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes              # as sent (compressed if the server compressed it)
    wire_bytes: int          # status line, headers, body and chunk framing

    def text(self) -> str:
        return _decoded(self.body, self.headers.get("content-encoding", ""))


@functools.lru_cache(maxsize=64)
def _decoded(body: bytes, encoding: str) -> str:
    if encoding == "gzip":
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    return body.decode("utf-8", "replace")


class HttpConnection:
    """One keep-alive connection, requests one after the other (no pipelining, as browsers)."""

    def __init__(self, host: str, port: int, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = False
        self.opened = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                          self.timeout_s)
        self.used, self.opened = False, self.opened + 1

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, path: str) -> Response:
        """GET path; a reused connection the server closed while idle is reopened once, as a browser does."""
        for attempt in (0, 1):
            if self.writer is None:
                await self._open()
            reused = self.used
            try:
                return await asyncio.wait_for(self._exchange(path), self.timeout_s)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                await self.close()
                if not reused or attempt:
                    raise HttpError(f"{type(exc).__name__} reading {path}") from None
            except (asyncio.TimeoutError, TimeoutError):
                await self.close()
                raise HttpError(f"timeout ({self.timeout_s:g} s) on {path}") from None
        raise AssertionError("unreachable")

    async def _exchange(self, path: str) -> Response:
        assert self.reader is not None and self.writer is not None
        self.writer.write((f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: {USER_AGENT}\r\n"
                           "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n")
                          .encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.used = True
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        wire = len(head)
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
            wire += len(body)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size_line = await self.reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                wire += len(size_line) + len(chunk)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            wire += len(body)
            headers["connection"] = "close"
        conn_header = headers.get("connection", "").lower()
        if conn_header == "close" or (lines[0].startswith("HTTP/1.0") and conn_header != "keep-alive"):
            await self.close()
        return Response(status, headers, body, wire)


# --------------------------------------------------------------------------- one client


@dataclass
class ClientResult:
    index: int
    seconds: float | None = None       # arrival -> page complete
    queued_s: float = 0.0              # of which waiting for a free client slot
    first_byte_s: float | None = None  # arrival -> the page's (or the live page's) response
    frontend_s: float | None = None    # live: arrival -> Streamlit's page and scripts fetched
    ws_bytes: int = 0                  # live: of wire_bytes, the websocket's (the landing page's script run)
    wire_bytes: int = 0
    requests: int = 0
    connections: int = 0
    assets: int = 0
    external: int = 0                  # asset URLs on another host: not fetched (an attendee page should have none)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.seconds is not None and not self.errors


def _same_origin_paths(page_url: str, urls: Sequence[str], result: ClientResult) -> list[str]:
    origin = urlparse(page_url)
    out: dict[str, None] = {}
    for u in urls:
        full = urlparse(urljoin(page_url, u))
        if (full.hostname, full.port) != (origin.hostname, origin.port):
            result.external += 1
            continue
        out.setdefault(full.path + (f"?{full.query}" if full.query else ""), None)
    return list(out)


async def fetch_page(page_url: str, result: ClientResult, t_arrive: float, *,
                     conns_per_client: int = CONNS_PER_CLIENT, width_px: int = PHONE_WIDTH_PX,
                     dpr: float = PHONE_DPR, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
    """The page and everything a phone fetches for it, into `result` (errors recorded, never raised)."""
    u = urlparse(page_url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    conns = [HttpConnection(host, port, timeout_s) for _ in range(max(1, conns_per_client))]
    try:
        resp = await conns[0].get(u.path + (f"?{u.query}" if u.query else "") or "/")
        result.requests += 1
        result.wire_bytes += resp.wire_bytes
        for _ in range(3):   # the short address (/attendees) answers with a redirect to the page
            if resp.status not in (301, 302, 303, 307, 308) or "location" not in resp.headers:
                break
            page_url = urljoin(page_url, resp.headers["location"])
            u = urlparse(page_url)
            resp = await conns[0].get(u.path + (f"?{u.query}" if u.query else ""))
            result.requests += 1
            result.wire_bytes += resp.wire_bytes
        result.first_byte_s = time.perf_counter() - t_arrive
        if resp.status != 200:
            result.errors.append(f"{resp.status} on the page")
            return
        wave = _same_origin_paths(page_url, asset_urls(resp.text(), width_px, dpr), result)
        done: set[str] = {u.path}
        while wave:
            todo = [p for p in wave if p not in done]
            done.update(todo)
            found: list[str] = []
            it = iter(todo)

            async def worker(conn: HttpConnection) -> None:
                for path in it:     # one shared iterator: each path is taken by one connection
                    try:
                        r = await conn.get(path)
                    except (HttpError, OSError) as exc:
                        result.errors.append(str(exc)[:200])
                        continue
                    result.requests += 1
                    result.assets += 1
                    result.wire_bytes += r.wire_bytes
                    if r.status != 200:
                        result.errors.append(f"{r.status} on {path}")
                    elif "css" in r.headers.get("content-type", ""):
                        base = urljoin(page_url, path)
                        found.extend(urljoin(base, x) for x in css_urls(r.text()))

            await asyncio.gather(*(worker(c) for c in conns[:min(len(conns), len(todo))]))
            wave = _same_origin_paths(page_url, found, result)
        result.seconds = time.perf_counter() - t_arrive
    except (HttpError, OSError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        result.connections += sum(c.opened for c in conns)
        for c in conns:
            await c.close()


async def live_session(base_url: str, result: ClientResult, t_arrive: float, hold: asyncio.Event, *,
                       frontend: bool = True, timeout_s: float = REQUEST_TIMEOUT_S,
                       on_done: Any = lambda: None) -> None:
    """A phone opening the live dashboard: Streamlit's page and its listed assets, then the
    websocket and the landing page's first complete script run; held open until `hold`."""
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from tools.bench import loadtest

    finished = False
    try:
        if frontend:
            await fetch_page(base_url.rstrip("/") + "/", result, t_arrive, timeout_s=timeout_s)
            if result.errors:
                return
            result.frontend_s, result.seconds = result.seconds, None
        ws_url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout_s,
                                      ping_interval=None, close_timeout=2) as ws:
            result.connections += 1
            await ws.send(loadtest._rerun(page_name=""))
            deadline = time.monotonic() + timeout_s * 4
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HttpError(f"no script_finished within {timeout_s * 4:g} s")
                data = await asyncio.wait_for(ws.recv(), timeout=left)
                result.wire_bytes += len(data)
                result.ws_bytes += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "delta":
                    result.errors += loadtest._element_errors(msg)
                elif kind == "script_finished":
                    if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        continue
                    if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        result.errors.append("script compile error")
                    break
            result.seconds = time.perf_counter() - t_arrive
            finished = True
            on_done()
            await hold.wait()
    except (asyncio.TimeoutError, TimeoutError):
        result.errors.append("timeout on the websocket")
    except Exception as exc:  # noqa: BLE001 - every failure is a reported error, never a crash of the test
        result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if not finished:
            on_done()


# --------------------------------------------------------------------------- the server's cost, from /proc


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every process in the process group (nginx's master and workers;
    Streamlit and any child), every thread included."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "-"


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------- a run


async def _run(urls: list[str], n: int, pids: list[int], kind: str, *, ramp_s: float, active: int, deadline_s: float,
               conns_per_client: int, timeout_s: float, frontend: bool) -> dict[str, Any]:
    from tools.bench import loadtest

    loadtest.require_loopback(urls)
    if not 1 <= n <= MAX_CLIENTS:
        raise ValueError(f"n must be 1..{MAX_CLIENTS}")
    if kind not in ("static", "live"):
        raise ValueError("kind must be static or live")
    _raise_fd_limit()
    results = [ClientResult(i) for i in range(n)]
    slots = asyncio.Semaphore(active)
    hold = asyncio.Event()
    done_n = [0]
    rss_held: list[int | None] = [None]

    def on_done() -> None:
        # Every live session finished (or failed): read memory with them all still open, then let them go.
        done_n[0] += 1
        if done_n[0] >= n:
            rss_held[0] = loadtest.rss_total(pids) if pids else None
            hold.set()

    t0 = time.perf_counter()
    cpu0, client0 = sum(map(group_cpu_seconds, pids)), time.process_time()
    rss_before = loadtest.rss_total(pids) if pids else None

    async def client(i: int) -> None:
        arrive = t0 + ramp_s * i / max(n, 1)
        await asyncio.sleep(max(0.0, arrive - time.perf_counter()))
        r = results[i]
        # A live session holds its slot while it is held open, as a phone holds its socket:
        # a bound below N would then deadlock, so live runs are not bounded by it.
        async with slots if kind == "static" else contextlib.nullcontext():
            r.queued_s = time.perf_counter() - arrive
            # Several URLs = replicas: clients round-robin, as a load balancer pinning each phone to one.
            url = urls[i % len(urls)]
            if kind == "static":
                await fetch_page(url, r, arrive, conns_per_client=conns_per_client, timeout_s=timeout_s)
            else:
                await live_session(url, r, arrive, hold, frontend=frontend, timeout_s=timeout_s, on_done=on_done)

    with loadtest.RssSampler(pids) as sampler:
        tasks = [asyncio.create_task(client(i)) for i in range(n)]
        _done, pending = await asyncio.wait(tasks, timeout=deadline_s)
        if kind == "live" and pending:
            if rss_held[0] is None and pids:
                rss_held[0] = loadtest.rss_total(pids)
            hold.set()
            _done, pending = await asyncio.wait(pending, timeout=10)
        deadline_hit = bool(pending)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)   # closes their sockets
    wall = time.perf_counter() - t0
    for r in results:
        if r.seconds is None and not r.errors:
            r.errors.append(f"hard deadline ({deadline_s:g} s) hit")
    server_cpu = sum(map(group_cpu_seconds, pids)) - cpu0 if pids else None
    client_cpu = time.process_time() - client0
    healthy = None
    if kind == "live":
        from tools import localserver

        loop = asyncio.get_running_loop()
        health = await asyncio.gather(*(loop.run_in_executor(None, localserver.healthy, u, 5.0) for u in urls))
        healthy = all(health)
    ok = [r for r in results if r.ok]
    times = [r.seconds for r in ok if r.seconds is not None]
    errors = [e for r in results for e in r.errors]
    distinct: dict[str, int] = {}
    for e in errors:
        key = re.sub(r"\d+\.\d+", "N", e)   # timings inside messages; status codes and paths kept
        distinct[key] = distinct.get(key, 0) + 1
    return {
        "kind": kind, "url": urls[0], "replicas": len(urls), "n": n, "ramp_s": ramp_s,
        "active": active if kind == "static" else n,
        "conns_per_client": conns_per_client, "frontend": frontend if kind == "live" else None,
        "phone": f"{PHONE_WIDTH_PX} px @{PHONE_DPR}x", "deadline_s": deadline_s, "deadline_hit": deadline_hit,
        "ok_clients": len(ok), "errors_n": len(errors), "clients_with_errors": sum(not r.ok for r in results),
        "errors": [f"{k} (x{v})" for k, v in sorted(distinct.items(), key=lambda kv: -kv[1])[:8]],
        "p50_s": _pct(times, 0.5), "p95_s": _pct(times, 0.95), "max_s": max(times) if times else None,
        "first_byte_p95_s": _pct([r.first_byte_s for r in ok if r.first_byte_s is not None], 0.95),
        "frontend_p95_s": _pct([r.frontend_s for r in ok if r.frontend_s is not None], 0.95),
        "queued_p95_s": _pct([r.queued_s for r in results], 0.95),
        "bytes_per_client": statistics.mean(r.wire_bytes for r in ok) if ok else None,
        "ws_bytes_per_client": statistics.mean(r.ws_bytes for r in ok) if ok and kind == "live" else None,
        "bytes_max": max((r.wire_bytes for r in ok), default=None),
        "requests_per_client": statistics.mean(r.requests for r in ok) if ok else None,
        "connections_per_client": statistics.mean(r.connections for r in ok) if ok else None,
        "external_assets": max((r.external for r in results), default=0),
        "server_cpu_s": server_cpu, "server_cpu_ms_per_client": server_cpu / n * 1000 if server_cpu else None,
        "client_cpu_s": client_cpu, "wall_s": wall,
        "rss_before_mb": rss_before / 1e6 if rss_before else None,
        "rss_peak_mb": sampler.peak / 1e6 if pids else None,
        "rss_held_mb": rss_held[0] / 1e6 if rss_held[0] else None,
        "healthy_after": healthy, "loadavg_after": _loadavg(),
        "ok": len(ok) == n and not deadline_hit and healthy is not False,
    }


def run(url: str | list[str], n: int, pid: int | list[int] | None = None, *, kind: str = "static",
        ramp_s: float | None = None, active: int = ACTIVE, deadline_s: float = DEADLINE_S,
        conns_per_client: int = CONNS_PER_CLIENT, timeout_s: float = REQUEST_TIMEOUT_S,
        frontend: bool = True) -> dict[str, Any]:
    """N clients against `url` (the attendee page's URL, or the live server's base URL with
    kind='live'; several = replicas, clients round-robin); pid: the servers' process-group
    leaders, for CPU and memory. ramp_s defaults to the live load test's arrival rate
    (RAMP_PER_100_S per 100 clients)."""
    ramp = RAMP_PER_100_S * n / 100 if ramp_s is None else ramp_s
    urls = [url] if isinstance(url, str) else list(url)
    pids = [] if pid is None else ([pid] if isinstance(pid, int) else list(pid))
    return asyncio.run(_run(urls, n, pids, kind, ramp_s=ramp, active=active, deadline_s=deadline_s,
                            conns_per_client=conns_per_client, timeout_s=timeout_s, frontend=frontend))


# --------------------------------------------------------------------------- sites and servers


def synthetic_site(out: Path, *, images: int = 10, image_kb: int = 40) -> Path:
    """A stand-in attendee page: index.html, a stylesheet with a background image, and
    `images` figures each as SVG (in <picture>) and PNG at three widths (srcset).
    For the tests and for a bench run before `publish` exists; labelled as such."""
    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    figs = []
    for i in range(images):
        # Hex noise: compresses about as well as a chart's path data (roughly half), unlike a run of one letter.
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 450"><title>figure {i}</title>'
               + "".join(f"<!-- {os.urandom(512).hex()} -->" for _ in range(image_kb)) + "</svg>")
        (assets / f"fig{i}.svg").write_text(svg, encoding="utf-8")
        for w in (400, 800, 1200):
            (assets / f"fig{i}-{w}.png").write_bytes(os.urandom(image_kb * 1024 * w // 800))
        figs.append(f'<figure><picture><source type="image/svg+xml" srcset="assets/fig{i}.svg">'
                    f'<img src="assets/fig{i}-800.png" srcset="assets/fig{i}-400.png 400w, assets/fig{i}-800.png 800w, '
                    f'assets/fig{i}-1200.png 1200w" sizes="(max-width: 600px) 100vw, 600px" alt="figure {i}" '
                    f'loading="lazy"></picture><figcaption>Figure {i}</figcaption></figure>')
    (assets / "bg.png").write_bytes(os.urandom(2048))
    (assets / "site.css").write_text("body{font-family:system-ui;max-width:40rem;margin:auto}"
                                     "header{background:url('bg.png')}", encoding="utf-8")
    (out / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Synthetic attendee page</title>'
        '<link rel="stylesheet" href="assets/site.css"></head><body><header><h1>Synthetic deck</h1></header>'
        + "".join(figs) + "</body></html>", encoding="utf-8")
    return out


def site_bytes(site: Path) -> int:
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """# Generated by tools/bench/attendee_load.py: the static anchor, loopback only.
daemon off;
master_process on;
{user}
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 10000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # As docs/scaling.md configures the proxy in front of the replicas.
    gzip on;
    gzip_types text/css application/javascript application/json image/svg+xml text/csv;
    gzip_min_length 1024;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def _wait_port(port: int, proc: subprocess.Popen, timeout_s: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}: {tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not listening after {timeout_s:g} s")
        time.sleep(0.1)


@contextlib.contextmanager
def nginx_server(root: Path, start_timeout_s: float = 20) -> Iterator[tuple[str, int]]:
    """Debian's nginx serving `root` on 127.0.0.1 and a free port, with a configuration
    in a temporary directory (not the system service); yields (base URL, master pid)."""
    from tools import localserver

    if not Path(NGINX).exists():
        raise RuntimeError("nginx is not installed (apt-get install -y nginx-light)")
    with tempfile.TemporaryDirectory(prefix="csi-nginx-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        # Workers run as the configured user; as root that would be nobody, who cannot read a private temp dir.
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, root=Path(root).resolve()), encoding="utf-8")
        proc = subprocess.Popen([NGINX, "-p", tmp, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=open(Path(tmp) / "stderr.log", "w"), start_new_session=True)  # noqa: SIM115
        try:
            _wait_port(port, proc, start_timeout_s, "nginx", Path(tmp) / "stderr.log")
            yield f"http://127.0.0.1:{port}", proc.pid
        finally:
            localserver.stop_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@contextlib.contextmanager
def streamlit_static(site: Path, db: str | os.PathLike[str] | None = None,
                     log: Path | None = None) -> Iterator[tuple[str, int]]:
    """The dashboard's own server with server.enableStaticServing, the site served at
    /app/static/...: in place when it is under the repository's static/, else a copy
    there for the run (removed after). Yields (the page's URL, server pid)."""
    from tools import localserver

    static = REPO / "static"
    site = Path(site).resolve()
    made_static = not static.exists()
    copy = None
    if site.is_relative_to(static):
        rel = site.relative_to(static).as_posix()
    else:
        copy = static / f"{BENCH_STATIC}-{os.getpid()}"
        shutil.copytree(site, copy, dirs_exist_ok=True)
        rel = copy.name
    try:
        with localserver.streamlit_server(db, log=log, extra_args=["--server.enableStaticServing", "true"]) \
                as (url, pid):
            yield f"{url}/app/static/{rel}/index.html", pid
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
        if made_static:
            with contextlib.suppress(OSError):
                static.rmdir()


def publish_site(out: Path, db: str | os.PathLike[str] | None = None, timeout_s: float = 600) -> Path | None:
    """The standard deck's attendee page (`python -m csi_metrics publish --standard --out out`),
    or None when this checkout has no publish command or it fails."""
    env = {**os.environ, **({"CSI_DB": str(db)} if db else {})}
    try:
        p = subprocess.run([sys.executable, "-m", "csi_metrics", "publish", "--standard", "--out", str(out),
                            *(["--db", str(db)] if db else [])],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    return out if p.returncode == 0 and (out / "index.html").exists() else None


# --------------------------------------------------------------------------- in words


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} s"


def format_run(r: dict[str, Any], label: str = "") -> str:
    b = r["bytes_per_client"]
    if r.get("replicas", 1) > 1 and "x" not in label:
        label = f"{label or r['kind']} x{r['replicas']} replicas"
    return (f"{label or r['kind']} N={r['n']}: {r['ok_clients']}/{r['n']} ok, {r['errors_n']} errors"
            f"{', DEADLINE HIT' if r['deadline_hit'] else ''}; page complete p50 {_s(r['p50_s'])} "
            f"p95 {_s(r['p95_s'])} max {_s(r['max_s'])}; {(b or 0) / 1e3:,.0f} kB and "
            f"{r['requests_per_client'] or 0:.1f} requests per client; server CPU {r['server_cpu_s'] or 0:.1f} s "
            f"({r['server_cpu_ms_per_client'] or 0:.1f} ms per client), peak RSS {r['rss_peak_mb'] or 0:.0f} MB; "
            f"client CPU {r['client_cpu_s']:.1f} s; wall {r['wall_s']:.1f} s; load {r['loadavg_after']}"
            + "".join(f"\n  error: {e}" for e in r["errors"]))


# --------------------------------------------------------------------------- command


def _subprocess_run(url: str | list[str], n: int, pid: int | list[int], kind: str,
                    args: argparse.Namespace) -> dict[str, Any]:
    """One run in a fresh client process (its CPU is its own; a stuck client is bounded)."""
    urls = [url] if isinstance(url, str) else url
    pids = [pid] if isinstance(pid, int) else pid
    cmd = [sys.executable, "-m", "tools.bench.attendee_load", "--url", *urls, "--pid", *map(str, pids),
           "--kind", kind, "--n", str(n), "--active", str(args.active), "--deadline", str(args.deadline),
           "--ramp-per-100", str(args.ramp_per_100), "--json"]
    if not args.frontend:
        cmd.append("--no-frontend")
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=args.deadline + 120)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"attendee_load gave no result:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def run_targets(site: Path, targets: Sequence[str], ns: Sequence[int], live_ns: Sequence[int],
                args: argparse.Namespace, db: str | os.PathLike[str] | None = None,
                progress: Any = lambda msg: None) -> list[dict[str, Any]]:
    """Every target at every N (live at live_ns), each run in its own client process. The
    static servers are started once per target and warmed by one client; the live server
    is started fresh per N (held sessions stay in its memory) and warmed by one session."""
    out: list[dict[str, Any]] = []
    from tools import localserver

    for target in targets:
        if target == "live":
            for k in getattr(args, "replicas", None) or [1]:
                for n in live_ns:
                    with contextlib.ExitStack() as stack:
                        servers = [stack.enter_context(localserver.streamlit_server(db, start_timeout_s=120))
                                   for _ in range(k)]
                        for u, p in servers:
                            _subprocess_run(u, 1, p, "live", args)
                        r = _subprocess_run([u for u, _ in servers], n, [p for _, p in servers], "live", args)
                    r["target"] = "live"
                    progress(format_run(r, f"live x{k}" if k > 1 else "live"))
                    out.append(r)
            continue
        cm = streamlit_static(site, db) if target == "streamlit" else nginx_server(site)
        with cm as (url, pid):
            page = url if target == "streamlit" else url + "/index.html"
            _subprocess_run(page, 1, pid, "static", args)
            for n in ns:
                r = _subprocess_run(page, n, pid, "static", args)
                r["target"] = target
                progress(format_run(r, target))
                out.append(r)
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, nargs="+", default=[100, 500, 1000], help="client counts (default 100 500 1000)")
    ap.add_argument("--live-n", type=int, nargs="+", default=[100, 200],
                    help="live session counts for --target live (default 100 200)")
    ap.add_argument("--target", nargs="+", choices=("streamlit", "nginx", "live"),
                    default=["streamlit", "nginx", "live"])
    ap.add_argument("--site", type=Path, help="the attendee page's directory (index.html + assets)")
    ap.add_argument("--synthetic", action="store_true", help="use a generated stand-in page instead of --site")
    ap.add_argument("--db", help="database for the dashboard servers this starts (default $CSI_DB)")
    ap.add_argument("--url", nargs="+", help="a running server: the page's URL (static) or the base URL (live); "
                    "several = replicas")
    ap.add_argument("--pid", type=int, nargs="+", help="with --url: the servers' process-group leaders (CPU, memory)")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1],
                    help="--target live: run at each of these replica counts (default 1), sessions round-robin")
    ap.add_argument("--kind", choices=("static", "live"), default="static", help="with --url")
    ap.add_argument("--active", type=int, default=ACTIVE, help="static clients in flight at once")
    ap.add_argument("--deadline", type=float, default=DEADLINE_S, help="hard limit per run, seconds")
    ap.add_argument("--ramp-per-100", type=float, default=RAMP_PER_100_S,
                    help="seconds over which each 100 clients arrive (default 2, the live load test's rate)")
    ap.add_argument("--no-frontend", dest="frontend", action="store_false",
                    help="live: open the websocket only, without fetching Streamlit's page and scripts")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.attendee_load", description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    if args.url:
        runs = [run(args.url, n, args.pid, kind=args.kind, ramp_s=args.ramp_per_100 * n / 100, active=args.active,
                    deadline_s=args.deadline, frontend=args.frontend) for n in args.n]
    else:
        with tempfile.TemporaryDirectory(prefix="csi-attendee-") as tmp:
            if args.synthetic or not args.site:
                site = synthetic_site(Path(tmp) / "site")
            else:
                site = args.site
            runs = run_targets(site, args.target, args.n, args.live_n, args, args.db,
                               progress=lambda m: print(m, file=sys.stderr, flush=True))
    for r in runs:
        print(json.dumps(r) if args.json else format_run(r, r.get("target", "")), flush=True)
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
