"""The browser figures before and after, in one run: each page's first chart for a
new browser (cold server and warm), a returning browser, and a new browser over a
throttled network like a hall's Wi-Fi, served once by an older commit's files (the
"before") and once by this checkout (the "after"), side by side.

    python -m tools.bench.browser_compare --before 4140a79 [--db data/csi.duckdb] [--runs 3] [--json FILE]

`python -m csi_metrics bench` runs this as its browser section (`--browser-before REF`,
default BEFORE). The "before" is `git archive REF` unpacked into a temporary folder and
served by the same interpreter and packages from that folder, against the same
database; only the project's files differ. Both servers are started fresh for each
run and stay up side by side; each page is visited by the two in turn (which goes
first alternates), so both see the same contention from whatever else shares the
cores. The figure is benchmark.FIRST_CHART_JS's: navigation start to the first Plotly
chart drawn with data (or to idle on a page with no chart), offline as there.

Besides the times, each new-browser visit records where its time went, from the
page's own Resource Timing: when the front end was parsed (DOMContentLoaded), when
it asked the server for the session (the health check that precedes the
websocket), when the chart bundle's request started and ended, and the bytes that
crossed the network (transferSize: compressed when the response was)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.bench.benchmark import (CHROMIUM, CHROMIUM_ARGS, FIRST_CHART_JS, OFFLINE_ARGS, REPO, SERVER_START_S,
                                   _progress, _url_paths, median)
from tools import localserver

# The commit before the front-end changes of issue 18 (item 3): the default "before".
BEFORE = "4140a79"

# A hall's shared Wi-Fi as one phone sees it: 20 Mbit/s down, 10 up, 20 ms round trip
# (DevTools' network emulation, on the bytes as sent: a compressed response is throttled
# at its compressed size).
WIFI = {"offline": False, "latency": 20, "downloadThroughput": 20e6 / 8, "uploadThroughput": 10e6 / 8}

# Where a visit's time went, read from the page when its first chart is drawn.
TIMELINE_JS = """
(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const bundle = res.find(r => /\\/PlotlyChart\\.[^/]+\\.js$/.test(r.name));
  const health = res.find(r => /_stcore\\/health$/.test(r.name));
  return {dcl_ms: nav ? nav.domContentLoadedEventEnd : null,
          session_ms: health ? health.startTime : null,
          bundle_start_ms: bundle ? bundle.startTime : null,
          bundle_end_ms: bundle ? bundle.responseEnd : null,
          transfer_kb: ((nav ? nav.transferSize : 0) + res.reduce((a, r) => a + (r.transferSize || 0), 0)) / 1024,
          requests_n: res.length + 1, picture_ms: window.__pictureMs};
})()
"""

PHASES = ("cold", "warm", "returning", "wifi")
# The pages with no chart on arrival (as tests/e2e/test_browser_pages.py has them): timed to idle.
# Every other page waits for its chart, never for FIRST_CHART_JS's idle fallback: Streamlit's chart
# element is itself in the lazily loaded bundle, so on a slow network a page can sit idle with no
# chart element for seconds before its bundle arrives, and the fallback would stop the clock early.
NO_CHART = ("schools", "about")


@contextlib.contextmanager
def tree_at(ref: str) -> Iterator[tuple[Path, str]]:
    """The project's files at commit `ref` (git archive) in a temporary folder; yields
    (folder, the commit's short hash). The database and the virtualenv are not in git:
    the folder is served with this interpreter against the same database."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", f"{ref}^{{commit}}"], check=True,
                         capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix=f"csi-before-{sha}-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", sha], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp), sha


def head_label() -> str:
    """This checkout's commit, with '+ changes' when its files differ from it."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{sha} + changes" if dirty else sha


def _context(browser):
    """A 1920x1080 browser context of its own (empty cache) timing the first chart."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    ctx.add_init_script(FIRST_CHART_JS)
    return ctx


def visit(ctx, url: str, *, chart: bool = True, network: dict[str, Any] | None = None,
          timeout_ms: int = 90_000) -> dict[str, Any] | None:
    """One visit in `ctx`: {'s': seconds to the first chart (or, with chart=False, to the
    first chart or idle), 'chart': drawn, and TIMELINE_JS's figures}, or None if that did
    not come within the timeout."""
    page = ctx.new_page()
    try:
        if network is not None:
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", network)
        page.goto(url, wait_until="commit")
        try:
            page.wait_for_function("window.__firstChartMs !== null" if chart else
                                   "window.__firstChartMs !== null || window.__idleNoChartMs !== null",
                                   timeout=timeout_ms, polling=50)
        except Exception:
            return None
        chart = page.evaluate("window.__firstChartMs")
        ms = chart if chart is not None else page.evaluate("window.__idleNoChartMs")
        return {"s": ms / 1000, "chart": chart is not None, **page.evaluate(TIMELINE_JS)}
    finally:
        page.close()


def compare(db: Path, runs: int, before: str = BEFORE, pages: list[str] | None = None) -> dict[str, Any]:
    """Every page's figures (or `pages`' URL paths') for the `before` commit and this checkout
    (see the module's docstring); {'before': label, 'after': label, 'pages': [...], 'load': [...]}."""
    from playwright.sync_api import sync_playwright

    paths = [p for f, p in _url_paths() if (REPO / f).exists() and (not pages or p in pages)]
    raw: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {
        v: {ph: {p: [] for p in paths} for ph in PHASES} for v in ("before", "after")}
    loads: list[str] = [_loadavg()]
    with tree_at(before) as (tree, sha), sync_playwright() as pw:
        trees = {"before": tree, "after": REPO}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS, headless=True)
        try:
            for r in range(runs):
                with contextlib.ExitStack() as servers:
                    urls = {v: servers.enter_context(localserver.streamlit_server(
                        db, start_timeout_s=SERVER_START_S, tree=t))[0] for v, t in trees.items()}

                    def each(phase: str, i: int, p: str, network: dict[str, Any] | None = None,
                             returning: bool = False) -> None:
                        # Alternate which server is visited first, by run and page.
                        order = ("before", "after") if (r + i) % 2 == 0 else ("after", "before")
                        for v in order:
                            ctx = _context(browser)
                            try:
                                t0 = time.monotonic()
                                got = visit(ctx, f"{urls[v]}/{p}", chart=p not in NO_CHART, network=network)
                                _progress(f"  {phase} {v} /{p}: {got['s'] if got else None} s "
                                          f"(visit {time.monotonic() - t0:.0f} s, load {_loadavg()})")
                                if got is not None:
                                    raw[v][phase][p].append(got)
                                if returning:
                                    again = visit(ctx, f"{urls[v]}/{p}", chart=p not in NO_CHART)
                                    if again is not None:
                                        raw[v]["returning"][p].append(again)
                            finally:
                                ctx.close()

                    _progress(f"browser before/after, run {r + 1} of {runs}: cold (load {_loadavg()})")
                    for i, p in enumerate(paths):
                        each("cold", i, p)
                    _progress(f"browser before/after, run {r + 1}: warm and returning (load {_loadavg()})")
                    for i, p in enumerate(paths):
                        each("warm", i, p, returning=True)
                    _progress(f"browser before/after, run {r + 1}: Wi-Fi (load {_loadavg()})")
                    for i, p in enumerate(paths):
                        each("wifi", i, p, network=WIFI)
                    loads.append(_loadavg())
        finally:
            browser.close()
    return {"before": sha, "after": head_label(), "runs": runs, "load": loads, "wifi": WIFI,
            "pages": [summary(p, raw) for p in paths], "raw": raw}


def summary(page: str, raw: dict[str, Any]) -> dict[str, Any]:
    """One page's medians per version and phase, and the warm visit's timeline."""
    out: dict[str, Any] = {"page": page}
    for v in ("before", "after"):
        got = raw[v]
        out[v] = {f"{ph}_s": median([x["s"] for x in got[ph][page]]) for ph in PHASES}
        # The first chart on the screen: the page's picture (csi_app.firstpaint) when it came first.
        out[v].update({f"{ph}_seen_s": median([min(x["s"], x["picture_ms"] / 1000) if x.get("picture_ms") else x["s"]
                                               for x in got[ph][page]]) for ph in PHASES})
        out[v].update({f"{ph}_all_s": [round(x["s"], 3) for x in got[ph][page]] for ph in PHASES})
        warm = got["warm"][page]
        for k in ("dcl_ms", "session_ms", "bundle_start_ms", "bundle_end_ms", "transfer_kb", "requests_n"):
            vals = [x[k] for x in warm if x.get(k) is not None]
            out[v][k] = median(vals) if vals else None
        out[v]["wifi_transfer_kb"] = median([x["transfer_kb"] for x in got["wifi"][page]]) \
            if got["wifi"][page] else None
        out[v]["chart"] = any(x["chart"] for ph in PHASES for x in got[ph][page])
    out["chart"] = out["after"]["chart"] or out["before"]["chart"]
    return out


def _loadavg() -> str:
    p = Path("/proc/loadavg")
    return p.read_text().split()[0] if p.exists() else "-"


def _s(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:.2f} s"


def _ms(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x / 1000:.2f}"


def _phase_table(c: dict[str, Any], figure: str) -> list[str]:
    """Each page's `figure` ('s': the live chart; 'seen_s': the first chart on the screen), per phase."""
    out = ["| page | cold before | cold after | warm before | warm after | returning before | returning after "
           "| Wi-Fi before | Wi-Fi after |", "|---|---|---|---|---|---|---|---|---|"]
    for p in c["pages"]:
        b, a = p["before"], p["after"]
        suffix = "" if p["chart"] else " (no chart: time to idle)"
        out.append(f"| /{p['page']}{suffix} | " + " | ".join(
            f"{_s(b.get(f'{ph}_{figure}'))} | {_s(a.get(f'{ph}_{figure}'))}" for ph in PHASES) + " |")
    return out


def report_lines(c: dict[str, Any]) -> list[str]:
    """The comparison as Markdown: the figures, then where a new browser's time went."""
    w = c["wifi"]
    lines = [f"Headless Chromium, navigation start to first drawn chart, before ({c['before']}) and after "
             f"({c['after']}) in one run, each page visited by the two servers in turn (median of {c['runs']} "
             f"runs; load average (1 min) {', '.join(c['load'])} at the start and after each run). "
             f"Cold = the page's first visit since the server started; warm = a new browser, empty cache, server "
             f"warm; returning = that browser opening the link again; Wi-Fi = a new browser over "
             f"{w['downloadThroughput'] * 8 / 1e6:g} Mbit/s with {w['latency']} ms round trip:", ""]
    lines += _phase_table(c, "s")
    lines += ["", "First chart on the screen: the page's picture (csi_app.firstpaint: its title and first chart "
              "as images in the HTML, sent once a visitor has opened that view) or the live chart, whichever "
              "came first. A cold server has no picture yet:", ""]
    lines += _phase_table(c, "seen_s")
    lines += ["", "Where a new browser's time went (warm visit, medians, seconds from navigation start; "
              "transferred = bytes over the network, as sent):", "",
              "| page | front end parsed (DOMContentLoaded) before / after | session asked for before / after "
              "| chart bundle requested before / after | chart bundle arrived before / after "
              "| transferred before / after | requests |", "|---|---|---|---|---|---|---|"]
    for p in c["pages"]:
        b, a = p["before"], p["after"]
        kb = "-" if b["transfer_kb"] is None else f"{b['transfer_kb'] / 1024:.1f} / {a['transfer_kb'] / 1024:.1f} MB"
        lines.append(f"| /{p['page']} | {_ms(b['dcl_ms'])} / {_ms(a['dcl_ms'])} | {_ms(b['session_ms'])} / "
                     f"{_ms(a['session_ms'])} | {_ms(b['bundle_start_ms'])} / {_ms(a['bundle_start_ms'])} | "
                     f"{_ms(b['bundle_end_ms'])} / {_ms(a['bundle_end_ms'])} | {kb} | "
                     f"{b['requests_n'] or '-'} / {a['requests_n'] or '-'} |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.browser_compare", description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE})")
    ap.add_argument("--db", type=Path, default=REPO / "data" / "csi.duckdb")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", nargs="+", help="these URL paths only (default: every page of the navigation)")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args(argv)
    t0 = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    c = compare(args.db.resolve(), args.runs, args.before, args.pages)
    c["started"] = t0
    print("\n".join(report_lines(c)))
    if args.json:
        args.json.write_text(json.dumps(c, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
