"""Load test: N concurrent sessions against a local CSI Dashboard server.

Each session is a lightweight websocket client speaking Streamlit's own
protocol (BackMsg / ForwardMsg protobufs over /_stcore/stream), which is what
the browser's frontend does minus the drawing: it opens the landing page (a
rerun_script with an empty query string), waits for script_finished, then
changes a sidebar filter (the SPA selectbox, found by its widget key in the
deltas the server sent) and waits for script_finished again. A browser context
per session would cost ~150 MB and a renderer process each, too heavy for 100
sessions on two cores; the server does the same work either way (it runs the
script and serialises every element, figures included), only the drawing is
missing, and the browser figures of csi_metrics.bench time that separately.

Bounded: at most MAX_SESSIONS clients, each with its own timeout, and a hard
deadline for the whole test; then every socket is closed and it returns.
Loopback only: the URL must be http://127.0.0.1 or localhost.

    python -m bench.loadtest --n 10 [--db PATH | --url http://127.0.0.1:8501 [URL2 ...] --pid PID [PID2 ...]]
                             [--ramp 2] [--hold 3] [--page trends] [--json]

Without --url it starts its own server on a free port (and stops it).
Reports errors, p50/p95 of the time to a rendered result (script finished),
for the landing page and for the filter change, and the server's peak RSS
(process and children, from /proc) sampled every 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

MAX_SESSIONS = 200
SESSION_TIMEOUT_S = 120.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FILTER_KEY = "f_spa"          # the sidebar SPA selectbox (pages/ui.py key)


@dataclass
class SessionResult:
    landing_s: float | None = None     # connect -> first script_finished
    change_s: float | None = None      # filter change sent -> script_finished
    bytes_in: int = 0
    errors: list[str] = field(default_factory=list)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _rerun(query_string: str = "", page_script_hash: str = "", widgets: list | None = None,
           page_name: str = "") -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = query_string
    cs.page_script_hash = page_script_hash
    cs.page_name = page_name
    cs.widget_states.SetInParent()
    for w in widgets or []:
        cs.widget_states.widgets.append(w)
    return msg.SerializeToString()


async def _until_finished(ws, res: SessionResult, seen: dict, deadline: float) -> bool:
    """Read ForwardMsgs until script_finished; record widgets and exceptions."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            res.errors.append("timeout waiting for script_finished")
            return False
        raw = await asyncio.wait_for(ws.recv(), timeout=left)
        res.bytes_in += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            seen["page_script_hash"] = msg.new_session.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            etype = el.WhichOneof("type")
            if etype == "exception":
                res.errors.append(f"exception: {el.exception.type}: {el.exception.message[:200]}")
            elif etype == "selectbox":
                seen.setdefault("selectboxes", {})[el.selectbox.id] = list(el.selectbox.options)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                res.errors.append("script compile error")
                return False
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            return True
        elif kind == "page_not_found":
            res.errors.append("page not found")


async def one_session(ws_url: str, hold_until: asyncio.Event, timeout_s: float = SESSION_TIMEOUT_S,
                      spa_label_index: int = 1, on_ready=lambda: None, page: str = "") -> SessionResult:
    """Open the landing page, change the SPA filter, keep the socket open until
    `hold_until`. on_ready() is called once: when the session is held, or when it failed."""
    import websockets
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    res = SessionResult()
    deadline = time.monotonic() + timeout_s
    seen: dict = {}
    ready = False
    try:
        t0 = time.perf_counter()
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                      open_timeout=timeout_s, ping_interval=None) as ws:
            await ws.send(_rerun(page_name=page))
            if not await _until_finished(ws, res, seen, deadline):
                return res
            res.landing_s = time.perf_counter() - t0
            spa = next(((wid, opts) for wid, opts in seen.get("selectboxes", {}).items()
                        if wid.endswith(FILTER_KEY)), None)
            if spa is None:
                res.errors.append(f"no selectbox with key {FILTER_KEY} on the landing page")
                return res
            wid, opts = spa
            w = WidgetState(id=wid, string_value=opts[min(spa_label_index, len(opts) - 1)])
            t1 = time.perf_counter()
            await ws.send(_rerun(page_script_hash=seen.get("page_script_hash", ""), widgets=[w]))
            if not await _until_finished(ws, res, seen, deadline):
                return res
            res.change_s = time.perf_counter() - t1
            ready = True
            on_ready()
            # Keep the session open, as a phone left on the page does, so memory is measured with it.
            left = max(0.0, deadline - time.monotonic())
            try:
                await asyncio.wait_for(hold_until.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass
    except (asyncio.TimeoutError, TimeoutError):
        res.errors.append("timeout")
    except Exception as exc:  # every failure is a reported error, never a crash of the test
        res.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        if not ready:
            on_ready()
    return res


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                stack.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def rss_total(pids: list[int]) -> int:
    """Resident memory of several servers (replicas), each with its descendants."""
    return sum(rss_bytes(p) for p in pids)


class RssSampler:
    """Peak RSS of one or several process trees, sampled in a thread."""

    def __init__(self, pids: list[int], every_s: float = 0.1) -> None:
        self.pids, self.every_s = pids, every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.pids:
                self.peak = max(self.peak, rss_total(self.pids))
            self._stop.wait(self.every_s)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.pids:
            self.peak = max(self.peak, rss_total(self.pids))


async def _run(urls: list[str], n: int, pids: list[int], hold_s: float, deadline_s: float, ramp_s: float,
               page: str) -> dict:
    for url in urls:
        host = urlparse(url).hostname
        if host not in LOOPBACK:
            raise ValueError(f"load test runs against this machine only (127.0.0.1/localhost), not {host!r}")
    if not 1 <= n <= MAX_SESSIONS:
        raise ValueError(f"n must be 1..{MAX_SESSIONS}")
    # Several URLs = several replicas: sessions go round-robin, as a load balancer
    # with sticky websockets would place them.
    ws_urls = [u.replace("http://", "ws://").rstrip("/") + "/_stcore/stream" for u in urls]
    hold = asyncio.Event()
    rss_before = rss_total(pids) if pids else None
    t0 = time.perf_counter()
    ready = [0]
    rss_held = [None]

    def on_ready() -> None:
        ready[0] += 1

    with RssSampler(pids) as sampler:
        async def staggered(i: int) -> SessionResult:
            # Phones at a convening arrive within a few seconds, not in the same millisecond.
            await asyncio.sleep(ramp_s * i / max(n, 1))
            return await one_session(ws_urls[i % len(ws_urls)], hold, timeout_s=min(SESSION_TIMEOUT_S, deadline_s),
                                     spa_label_index=1 + i % 8, on_ready=on_ready, page=page)

        async def release_when_ready() -> None:
            # Every session rendered and still open: read memory, hold hold_s, then close them.
            while ready[0] < n and time.perf_counter() - t0 < deadline_s:
                await asyncio.sleep(0.1)
            await asyncio.sleep(min(1.0, hold_s))
            if pids:
                rss_held[0] = rss_total(pids)
            await asyncio.sleep(max(0.0, hold_s - 1.0))
            hold.set()

        tasks = [asyncio.create_task(staggered(i)) for i in range(n)]
        releaser = asyncio.create_task(release_when_ready())
        try:
            results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=deadline_s + hold_s + 5)
        except asyncio.TimeoutError:
            results = [t.result() if t.done() and not t.cancelled() else SessionResult(errors=["hard deadline"])
                       for t in tasks]
        hold.set()
        releaser.cancel()
    wall = time.perf_counter() - t0
    landing = [r.landing_s for r in results if r.landing_s is not None]
    change = [r.change_s for r in results if r.change_s is not None]
    errors = [e for r in results for e in r.errors]
    return {
        "n": n, "replicas": len(urls), "ramp_s": ramp_s, "wall_s": wall, "ok_sessions": sum(1 for r in results if not r.errors),
        "errors_n": len(errors), "errors": sorted(set(errors))[:10],
        "landing_p50_s": _pct(landing, 0.5), "landing_p95_s": _pct(landing, 0.95),
        "change_p50_s": _pct(change, 0.5), "change_p95_s": _pct(change, 0.95),
        "change_max_s": max(change) if change else None,
        "mb_in_per_session": statistics.mean(r.bytes_in for r in results) / 1e6 if results else None,
        "rss_before_mb": rss_before / 1e6 if rss_before else None,
        "rss_peak_mb": sampler.peak / 1e6 if pids else None,
        "rss_held_mb": rss_held[0] / 1e6 if rss_held[0] else None,
    }


def run(url: str | list[str], n: int, pid: int | list[int] | None = None, *, hold_s: float = 3.0,
        deadline_s: float = 180.0, ramp_s: float = 2.0, page: str = "") -> dict:
    """Run the load test (see module docstring); returns the figures as a dict.
    url/pid: one server, or lists for several replicas (sessions round-robin,
    memory summed). page: the URL path of the page to open ('' = the landing page)."""
    urls = [url] if isinstance(url, str) else list(url)
    pids = [] if pid is None else ([pid] if isinstance(pid, int) else list(pid))
    return asyncio.run(_run(urls, n, pids, hold_s, deadline_s, ramp_s, page))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10], help="session counts to run, e.g. 10 50 100")
    ap.add_argument("--url", nargs="+", help="running server(s) on this machine, several = replicas "
                    "(default: start one)")
    ap.add_argument("--pid", type=int, nargs="+", help="the servers' process ids, for their memory")
    ap.add_argument("--db", help="database for the server this starts (default $CSI_DB)")
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to keep all sessions open at the end")
    ap.add_argument("--deadline", type=float, default=180.0, help="hard limit per run, seconds")
    ap.add_argument("--page", default="", help="URL path of the page to open (default: the landing page)")
    ap.add_argument("--ramp", type=float, default=2.0, help="seconds over which the sessions arrive")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = ap.parse_args(argv)
    if args.url:
        runs = [run(args.url, n, args.pid, hold_s=args.hold, deadline_s=args.deadline, ramp_s=args.ramp,
                    page=args.page) for n in args.n]
    else:
        from csi_metrics import bench
        runs = []
        with bench.server(args.db) as (url, pid):
            for n in args.n:
                runs.append(run(url, n, pid, hold_s=args.hold, deadline_s=args.deadline, ramp_s=args.ramp,
                                page=args.page))
    for r in runs:
        if args.json:
            print(json.dumps(r))
        else:
            def s(x: float | None) -> str:
                return "-" if x is None else f"{x:.2f} s"
            print(f"N={r['n']}: {r['ok_sessions']}/{r['n']} ok, {r['errors_n']} errors {r['errors']}; "
                  f"landing p50 {s(r['landing_p50_s'])} p95 {s(r['landing_p95_s'])}; "
                  f"filter change p50 {s(r['change_p50_s'])} p95 {s(r['change_p95_s'])}; "
                  f"RSS held {r['rss_held_mb'] or 0:.0f} MB, peak {r['rss_peak_mb'] or 0:.0f} MB")
    return 0 if all(r["errors_n"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
