"""`python -m csi_metrics bench`: how fast the dashboard is, at LA County and
state scale, and under a crowd. Not part of the test suite.

    python -m csi_metrics bench [--scale county|state|both] [--runs N] [--db PATH]
                                [--out docs/benchmarks.md] [--json FILE] [--skip-build] [--skip-metrics]
                                [--skip-pages] [--skip-browser] [--browser-before REF|none] [--skip-load]
                                [--load-n 10 50 100]
                                [--load-pages all | PAGE ...] [--load-sidebar every|spread]
                                [--replicas K] [--ramp S] [--report-from FILE ...]
                                [--skip-attendee] [--attendee-n 100 500 1000] [--attendee-live-n 100 200]
                                [--attendee-site DIR] [--attendee-targets streamlit nginx live]

Every figure is the median of --runs runs (default 3) after one untimed
warm-up call, unless the table says otherwise. Sections:

1. build: `python -m csi_metrics build --demo [--scale state]` wall time and file size;
2. metrics: each main metric function beside a straightforward pandas
   implementation of the same metric (bench/pandas_reference.py) in the same
   process; pandas reads the tables into DataFrames once, untimed in the
   ratio; ratio = pandas / library; the two are checked to agree;
3. page scripts: AppTest run of each page, cold and warm cache (bench/page_times.py,
   its own process: csi_metrics never imports Streamlit);
4. browser: navigation start to the first drawn Plotly chart in headless
   Chromium for each page, on a freshly started server (cold), for a second new
   browser (warm), that browser again (returning) and a new browser over a
   throttled network (Wi-Fi); by default before (an older commit's files) and
   after (this checkout) in the same run (bench/browser_compare.py);
5. memory and load: `streamlit run` server RSS (process and children, from
   /proc) with 1 and with N sessions open, and bench/loadtest.py for N =
   --load-n: every session opens every page (--load-pages all) and changes
   every control on it; a fresh server per N, warmed by one session on the
   landing page first; per-page figures, the server's health after each run,
   and its thread dump in the results if it hung;
6. attendee page (first scale only): N phones fetching the static attendee page
   (`publish --standard`) and its assets from the dashboard's own server
   (static serving) and from nginx (the physical limit), beside N live sessions
   opening the landing page (bench/attendee_load.py), side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from csi_metrics.vocabulary import config
from tools import localserver

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMIUM_ARGS = localserver.CHROMIUM, localserver.CHROMIUM_ARGS
SERVER_START_S = 120

# Navigation start -> first .js-plotly-plot with data, in the page's own clock;
# a page that finishes with no chart reports its idle time instead.
FIRST_CHART_JS = """
(() => {
  window.__firstChartMs = null; window.__idleNoChartMs = null; window.__pictureMs = null;
  let idleSince = null;
  const timer = setInterval(() => {
    // The page's picture (csi_app.firstpaint): its first chart image, or the Overview's cards, on the screen.
    const pic = document.querySelector('#csi-first-paint img, #csi-first-paint .fp-card');
    if (window.__pictureMs === null && pic && (pic.tagName !== 'IMG' || (pic.complete && pic.naturalWidth))) {
      window.__pictureMs = performance.now(); }
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
      if (el.data && el.data.length) { window.__firstChartMs = performance.now(); clearInterval(timer); return; }
    }
    // A page with no chart at all: finished, a title drawn, no chart element, for 3 s.
    // (A chart element appears with its delta; Plotly itself loads later, so never give up on one.)
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
                 && document.querySelector('[data-testid="stMain"] h1')
                 && !document.querySelector('[data-testid="stPlotlyChart"]');
    if (!idle) { idleSince = null; return; }
    if (idleSince === null) { idleSince = performance.now(); }
    if (performance.now() - idleSince > 3000) { window.__idleNoChartMs = idleSince; clearInterval(timer); }
  }, 20);
})();
"""


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] bench: {msg}", file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


# --------------------------------------------------------------------------- server


def server(db: str | os.PathLike[str] | None = None, *, log: Path | None = None):
    """The dashboard on a free loopback port (tools.localserver); yields (base URL, pid)."""
    return localserver.streamlit_server(db, log=log, start_timeout_s=SERVER_START_S)


# --------------------------------------------------------------------------- build


def time_build(scale: str, runs: int, keep: Path | None = None) -> dict[str, Any]:
    """Wall time of the real build command (a fresh interpreter each run) and the file size."""
    times: list[float] = []
    size = None
    with tempfile.TemporaryDirectory(prefix="csi-bench-") as tmp:
        for i in range(runs):
            target = Path(tmp) / f"build{i}.duckdb"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "csi_metrics", "build", "--demo", "--scale", scale, "--db",
                            str(target)], cwd=REPO, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
            size = target.stat().st_size
            if keep is not None and i == runs - 1:
                keep.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, keep)
            elif target.exists():
                target.unlink()
    return {"scale": scale, "runs": runs, "build_s": median(times), "build_all_s": times, "size_mb": (size or 0) / 1e6}


def db_facts(db: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        facts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("schools", "outcomes", "grants", "activities", "attendance")}
        facts["la_schools"] = con.execute("SELECT count(*) FROM schools WHERE county_code = '19'").fetchone()[0]
        facts["scale"] = dict(con.execute("SELECT key, value FROM build_info").fetchall()).get("scale")
    finally:
        con.close()
    facts["size_mb"] = db.stat().st_size / 1e6
    return facts


# --------------------------------------------------------------------------- metric functions vs pandas


def _norm_keys(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    out = []
    for k in keys:
        c = pl.col(k)
        if df.schema[k].is_float():
            c = c.cast(pl.Int64)
        out.append(c.cast(pl.String).alias(k))
    return df.with_columns(out)


def agree(ours: pl.DataFrame, ref: Any, keys: list[str], cols: list[str], tol: float = 1e-9) -> tuple[bool, str]:
    """Do the library frame and the pandas reference agree?

    Same set of keys; on every cell both show, the same value (relative and
    absolute tolerance `tol`); and no cell the library shows is missing from
    the reference (the library may hide more: complementary suppression)."""
    ref_pl = ref if isinstance(ref, pl.DataFrame) else pl.from_pandas(ref)
    a = _norm_keys(ours.select([*keys, *cols]), keys)
    b = _norm_keys(ref_pl.select([*keys, *cols]), keys).rename({c: f"{c}__ref" for c in cols})
    if a.height != b.height:
        return False, f"rows: library {a.height}, pandas {b.height}"
    j = a.join(b, on=keys, how="full", nulls_equal=True, coalesce=True)
    if j.height != a.height:
        return False, f"keys differ ({j.height - a.height} unmatched)"
    compared = hidden = 0
    for c in cols:
        x = j[c].cast(pl.Float64)
        y = j[f"{c}__ref"].cast(pl.Float64)
        both = x.is_not_null() & y.is_not_null() & ~x.is_nan().fill_null(False) & ~y.is_nan().fill_null(False)
        if (x.is_not_null() & ~x.is_nan().fill_null(False) & ~both).any():
            return False, f"{c}: library shows a value pandas does not"
        xv, yv = x.filter(both).to_numpy(), y.filter(both).to_numpy()
        bad = [(p, q) for p, q in zip(xv, yv) if not math.isclose(p, q, rel_tol=tol, abs_tol=tol)]
        if bad:
            return False, f"{c}: {len(bad)} values differ, e.g. {bad[0][0]!r} vs {bad[0][1]!r}"
        compared += int(both.sum())
        hidden += int((y.is_not_null() & x.is_null()).sum())
    return True, f"{compared:,} values equal" + (f"; {hidden} hidden by complement" if hidden else "")


@dataclass
class Case:
    name: str
    ours: Callable[[Any], pl.DataFrame]
    ref: Callable[[Any], Any]
    keys: list[str]
    cols: list[str]
    note: str = ""


def _bench_package() -> None:
    """bench/ sits beside csi_metrics/: make it importable from any working directory."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def metric_cases() -> list[Case]:
    _bench_package()
    from tools.bench import pandas_reference as pr

    from csi_metrics.metrics import activities, compare, funding, headline, rates, schools, trends
    from csi_metrics.vocabulary.filters import Filters

    ca = "chronic_absenteeism"
    pooled_cols = ["numerator_n", "denominator_n", "rate", "schools_n"]
    return [
        Case("pooled_rates spa x year (LA)",
             lambda con: rates.pooled_rates(con, ca, ["spa", "year"], Filters()),
             lambda t: pr.pooled_rates(t, ca, ["spa", "year"]), ["spa", "year"], pooled_cols),
        Case("pooled_rates spa x year x group (LA)",
             lambda con: rates.pooled_rates(con, ca, ["spa", "year", "student_group"], Filters()),
             lambda t: pr.pooled_rates(t, ca, ["spa", "year", "student_group"]),
             ["spa", "year", "student_group"], pooled_cols),
        Case("pooled_rates spa x year (every county)",
             lambda con: rates.pooled_rates(con, ca, ["spa", "year"], Filters(), county_code=None),
             lambda t: pr.pooled_rates(t, ca, ["spa", "year"], county_code=None), ["spa", "year"], pooled_cols),
        Case("trend by community",
             lambda con: trends.trend(con, ca, ["community"], Filters()),
             lambda t: pr.trend(t, ca, ["community"]), ["year", "community"],
             ["rate", "yoy_change_pp", "since_baseline_pp"]),
        Case("compare.diff_in_diff",
             lambda con: compare.diff_in_diff(con, ca, Filters()),
             lambda t: pr.diff_in_diff(t, ca), ["group"],
             ["did_pp", "community_change_pp", "comparison_change_pp", "community_schools_n",
              "comparison_schools_n"]),
        Case("funding.awards by spa",
             lambda con: funding.awards(con, ["spa"], Filters()),
             lambda t: pr.awards(t, ["spa"]), ["spa_label"], ["amount_usd", "grants_n"]),
        Case("activities.activity_counts type x spa x month",
             lambda con: activities.activity_counts(con, ["activity_type", "spa", "month"], Filters()),
             lambda t: pr.activity_counts(t, ["activity_type", "spa", "month"]), ["activity_type", "spa", "month"],
             ["activities_n", "attendees_n", "items_n", "unique_individuals_n"]),
        Case("headline.headline",
             lambda con: headline.headline(con, Filters()),
             lambda t: pr.headline(t), ["metric_id", "scope"], ["value", "prior_value"]),
        Case("schools.school_table",
             lambda con: schools.school_table(con, Filters()),
             lambda t: pr.school_table(t), ["cds_code"],
             ["chronic_absenteeism_rate", "chronic_absenteeism_change_pp", "suspension_rate",
              "suspension_change_pp"]),
    ]


def _timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any, list[float]]:
    """Wall times, the last result, and this process's CPU times (every thread,
    DuckDB's workers included): on shared cores CPU time is the steadier figure."""
    result = fn()  # warm-up: DuckDB's buffer pool and Python's imports, for both sides alike
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, result, cpu


def time_metrics(db: Path, runs: int, cases: list[Case] | None = None) -> dict[str, Any]:
    """Each case timed on the library (read-only DuckDB connection) and on pandas."""
    _bench_package()
    from tools.bench import pandas_reference as pr

    from csi_metrics.storage import db as dbmod

    con = dbmod.open_for_display(db)
    try:
        t0 = time.perf_counter()
        tables = pr.load_tables(con)
        load_s = time.perf_counter() - t0
        rows = []
        for case in cases or metric_cases():
            ours_t, ours, ours_c = _timed(lambda: case.ours(con), runs)
            try:
                ref_t, ref, ref_c = _timed(lambda: case.ref(tables), runs)
                ok, detail = agree(ours, ref, case.keys, case.cols)
            except Exception as exc:  # a reference that cannot run or compare is reported, not fatal
                ref_t, ref_c, ok, detail = [], [], False, f"{type(exc).__name__}: {exc}"[:200]
            rows.append({"name": case.name, "ours_s": median(ours_t), "pandas_s": median(ref_t),
                         "ours_cpu_s": median(ours_c), "pandas_cpu_s": median(ref_c),
                         "ratio": median(ref_t) / median(ours_t) if ref_t and median(ours_t) > 0 else math.nan,
                         "agree": ok, "detail": detail, "rows": ours.height})
    finally:
        con.close()
    return {"pandas_load_s": load_s, "cases": rows}


# --------------------------------------------------------------------------- page scripts (AppTest)


def time_pages(db: Path, runs: int) -> list[dict[str, Any]]:
    env = {**os.environ, "CSI_DB": str(db)}
    out = subprocess.run([sys.executable, "-m", "tools.bench.page_times", "--runs", str(runs), "--json"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"bench.page_times failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- browser


def _url_paths() -> list[tuple[str, str]]:
    """(page file, URL path) for each page of dashboard.py."""
    import re

    text = (REPO / "dashboard.py").read_text(encoding="utf-8")
    return re.findall(r'st\.Page\(\s*"([^"]+\.py)"[^)]*?url_path="([^"]+)"', text)


# Off-machine requests go to a closed local port and fail, as in a hall with no network.
# Chromium never proxies loopback, so the dashboard itself is reached directly. Not
# Playwright's request routing: routing turns the browser's HTTP cache off and sends
# every request through this process, which would slow every figure here.
OFFLINE_ARGS = ["--proxy-server=http://127.0.0.1:9"]


def _offline_context(browser):
    """A 1920x1080 browser context of its own (empty cache), timing the first chart."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    ctx.add_init_script(FIRST_CHART_JS)
    return ctx


def _first_chart(ctx, url: str, timeout_ms: int = 60_000) -> tuple[float | None, bool]:
    """(milliseconds from navigation start to the first drawn chart, or to idle when the
    page has none; whether a chart was drawn), for one visit in browser context `ctx`."""
    page = ctx.new_page()
    try:
        page.goto(url, wait_until="commit")
        try:
            page.wait_for_function("window.__firstChartMs !== null || window.__idleNoChartMs !== null",
                                   timeout=timeout_ms, polling=50)
        except Exception:
            return None, False
        chart = page.evaluate("window.__firstChartMs")
        return (chart, True) if chart is not None else (page.evaluate("window.__idleNoChartMs"), False)
    finally:
        page.close()


def time_browser(db: Path, runs: int) -> list[dict[str, Any]]:
    """First chart per page, a fresh server per run:
    cold = the page's first visit since the server started (pages in navigation order,
    each from a new browser); warm = a second visitor (a new browser, empty cache, server
    caches warm); returning = that visitor opening the link again (browser cache warm,
    as for a leader re-opening a link or a presenter's prepared laptop)."""
    from playwright.sync_api import sync_playwright

    paths = [(f, p) for f, p in _url_paths() if (REPO / f).exists()]
    times: dict[str, dict[str, list[float]]] = {k: {p: [] for _, p in paths} for k in ("cold", "warm", "returning")}
    has_chart: dict[str, bool] = {}

    def visit(ctx, url: str, p: str, phase: str) -> None:
        ms, drawn = _first_chart(ctx, url)
        if ms is not None:
            times[phase][p].append(ms / 1000)
        has_chart[p] = has_chart.get(p, False) or drawn

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS, headless=True)
        try:
            for _ in range(runs):
                with server(db) as (url, _pid):
                    for _f, p in paths:
                        ctx = _offline_context(browser)
                        try:
                            visit(ctx, f"{url}/{p}", p, "cold")
                        finally:
                            ctx.close()
                    for _f, p in paths:
                        ctx = _offline_context(browser)
                        try:
                            visit(ctx, f"{url}/{p}", p, "warm")
                            visit(ctx, f"{url}/{p}", p, "returning")
                        finally:
                            ctx.close()
        finally:
            browser.close()
    return [{"page": p, "cold_s": median(times["cold"][p]), "warm_s": median(times["warm"][p]),
             "returning_s": median(times["returning"][p]), "chart": has_chart.get(p, False),
             "cold_all_s": times["cold"][p], "warm_all_s": times["warm"][p],
             "returning_all_s": times["returning"][p]} for _, p in paths]


# --------------------------------------------------------------------------- load and memory


LOAD_STEP_TIMEOUT_S = 60.0


def load_deadline_s(n: int) -> float:
    """The hard deadline of one load run: every page and control at N = 100 took about
    15 minutes here (two cores shared with other work); a hang is caught sooner, by the
    per-step timeout, and the deadline only bounds what that cannot."""
    return 300.0 + 20.0 * n


def run_load(db: Path, ns: list[int], *, hold_s: float = 3.0, replicas: int = 1, ramp_s: float = 2.0,
             pages: list[str] | None = None, sidebar: str = "every",
             artifacts: Path | None = None) -> list[dict[str, Any]]:
    """For each N: fresh server(s), one warm-up session per replica on the landing
    page (the held RSS with one session is the 1-session figure), then N concurrent
    sessions (bench/loadtest.py, its own process), round-robin over the replicas,
    on `pages` (default: every page of the navigation)."""
    results = []
    pages = pages or ["all"]
    for n in ns:
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(server(db)) for _ in range(replicas)]
            urls, pids = [u for u, _ in servers], [p for _, p in servers]
            warm = [_loadtest([u], [p], 1, hold_s, ramp_s, pages=[""], sidebar="every") for u, p in servers]
            res = _loadtest(urls, pids, n, hold_s, ramp_s, pages=pages, sidebar=sidebar,
                            artifacts=artifacts / f"n{n}" if artifacts else None)
            res["rss_one_session_mb"] = sum(w.get("rss_held_mb") or 0 for w in warm)
            res["warm_up_ok"] = all(w.get("ok") for w in warm)
            results.append(res)
            _progress(f"load N={n}: {res['ok_sessions']}/{n} sessions ok, {res['errors_n']} errors, "
                      f"healthy after: {res['healthy_after']}, {res['wall_s']:.0f} s")
    return results


def _loadtest(urls: list[str], pids: list[int], n: int, hold_s: float, ramp_s: float, *,
              pages: list[str], sidebar: str, artifacts: Path | None = None) -> dict[str, Any]:
    deadline = load_deadline_s(n)
    cmd = [sys.executable, "-m", "tools.bench.loadtest", "--url", *urls, "--pid", *map(str, pids), "--n", str(n),
           "--hold", str(hold_s), "--ramp", str(ramp_s), "--page", *pages, "--sidebar", sidebar,
           "--step-timeout", str(LOAD_STEP_TIMEOUT_S), "--deadline", str(deadline), "--json"]
    if artifacts is not None:
        cmd += ["--artifacts", str(artifacts)]
    # The client's own deadline ends the run; this only bounds a client that is itself stuck.
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=deadline + 180)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench.loadtest gave no result:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- machine and report


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    from importlib.metadata import PackageNotFoundError, version

    vers = []
    for pkg in ("streamlit", "polars", "duckdb", "pandas", "pyarrow", "plotly", "playwright"):
        try:
            vers.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            vers.append(f"{pkg} -")
    chromium = "-"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "os": platform.platform(), "packages": ", ".join(vers), "chromium": chromium,
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "-"}


def _ms(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    return f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s"


def _sec(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    return f"{s:.2f} s"


def report(results: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    blocks = report_blocks(results)
    return "\n".join(blocks[k] for k in blocks)


def report_blocks(results: dict[str, Any]) -> dict[str, str]:
    """{'machine': ..., '<scale>': ...}: the Markdown of each part of the results."""
    m = results["machine"]
    blocks = {"machine": "\n".join([
        "## Machine", "",
        f"- {m['cpus']} CPUs: {m['cpu']}; memory {m['memory']}",
        f"- Python {m['python']} on {m['os']}",
        f"- {m['packages']}; {m['chromium']}",
        "- every figure is a median of several runs (given per scale), after one untimed warm-up call", ""])}
    for scale, r in results["scales"].items():
        lines: list[str] = []
        lines += [f"## {scale.title()} scale", "",
                  f"Run at {r.get('started', '?')} UTC; load average (1 min) at the start {r.get('load_start', '?')}, "
                  f"at the end {r.get('load_end', '?')} on {m['cpus']} cores shared with other work; "
                  f"median of {r.get('runs', results['runs'])} runs.", ""]
        f = r.get("facts", {})
        if f:
            lines += [f"Database: {f['size_mb']:.1f} MB; {f['schools']:,} schools ({f['la_schools']:,} in LA County), "
                      f"{f['outcomes']:,} outcome rows, {f['grants']:,} grants, {f['activities']:,} activities, "
                      f"{f['attendance']:,} attendance rows.", ""]
        b = r.get("build")
        if b:
            lines += ["| build | median | runs | file |", "|---|---|---|---|",
                      f"| `python -m csi_metrics build --demo --scale {scale}` | {_sec(b['build_s'])} | "
                      f"{b['runs']} ({', '.join(f'{x:.1f}' for x in b['build_all_s'])} s) | {b['size_mb']:.1f} MB |", ""]
        mt = r.get("metrics")
        if mt:
            if r.get("metrics_note"):
                lines += [f"({r['metrics_note']}.)", ""]
            lines += [f"Metric functions (library = DuckDB SQL + Polars, reading the database every call; "
                      f"pandas = bench/pandas_reference.py on DataFrames read once in "
                      f"{_sec(mt['pandas_load_s'])}, not counted):", "",
                      "| metric | library | pandas | pandas / library | CPU: library / pandas | rows | agree |",
                      "|---|---|---|---|---|---|---|"]
            for c in mt["cases"]:
                lines.append(f"| {c['name']} | {_ms(c['ours_s'])} | {_ms(c['pandas_s'])} | {c['ratio']:.1f}x | "
                             f"{_ms(c.get('ours_cpu_s'))} / {_ms(c.get('pandas_cpu_s'))} | "
                             f"{c['rows']:,} | {'yes' if c['agree'] else 'NO'}: {c['detail']} |")
            lines.append("")
        pg = r.get("pages")
        if pg:
            lines += ["Page scripts (AppTest, entry script + page; cold = caches cleared; CPU = this process's "
                      "CPU time, the steadier figure on shared cores):", "",
                      "| page | cold | warm | cold CPU | warm CPU | errors |", "|---|---|---|---|---|---|"]
            for p in pg:
                if p.get("missing"):
                    lines.append(f"| {p['page']} | missing | | | | |")
                else:
                    lines.append(f"| {p['page']} | {_ms(p['cold_s'])} | {_ms(p['warm_s'])} | "
                                 f"{_ms(p.get('cold_cpu_s'))} | {_ms(p.get('warm_cpu_s'))} | "
                                 f"{'; '.join(p['errors']) or '-'} |")
            lines.append("")
        br = r.get("browser")
        if br:
            lines += ["Headless Chromium, navigation start to first drawn chart (fresh server per run; cold = "
                      "first visit of the page since the server started; warm = a second visitor, new browser "
                      "with an empty cache; returning = that visitor opening the link again, browser cache warm):",
                      "", "| page | cold | warm | returning |", "|---|---|---|---|"]
            for p in br:
                suffix = "" if p["chart"] else " (no chart: time to idle)"
                lines.append(f"| /{p['page']}{suffix} | {_sec(p['cold_s'])} | {_sec(p['warm_s'])} | "
                             f"{_sec(p.get('returning_s'))} |")
            lines.append("")
        if r.get("browser_compare"):
            from tools.bench import browser_compare

            lines += browser_compare.report_lines(r["browser_compare"])
        ld = r.get("load")
        if ld:
            lines += load_report(ld)
        # A run of the attendee section alone leaves the scale's tables in the doc as they are.
        if any(r.get(k) for k in ("build", "metrics", "pages", "browser", "load")):
            blocks[scale] = "\n".join(lines)
        if r.get("attendee"):
            blocks["attendee"] = "\n".join(attendee_report(r["attendee"], scale))
    return blocks


# --------------------------------------------------------------------------- attendee page beside live sessions


ATTENDEE_TARGETS = {"streamlit": "attendee page, Streamlit static", "nginx": "attendee page, nginx (anchor)",
                    "live": "live sessions (landing page)"}


def run_attendee(db: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The attendee page's site (--attendee-site, else `publish --standard` of this
    database, else a labelled synthetic stand-in) under tools.bench.attendee_load."""
    from tools.bench import attendee_load as al

    with tempfile.TemporaryDirectory(prefix="csi-bench-attendee-") as tmp:
        if args.attendee_site:
            site, source = Path(args.attendee_site), str(args.attendee_site)
        else:
            site = al.publish_site(Path(tmp) / "site", db)
            source = "python -m csi_metrics publish --standard"
            if site is None:
                site, source = al.synthetic_site(Path(tmp) / "synthetic"), "SYNTHETIC stand-in (publish unavailable)"
        files = [f for f in site.rglob("*") if f.is_file()]
        facts = {"source": source, "files_n": len(files), "bytes": sum(f.stat().st_size for f in files),
                 "load_start": _loadavg()}
        opts = argparse.Namespace(active=al.ACTIVE, deadline=al.DEADLINE_S, ramp_per_100=al.RAMP_PER_100_S,
                                  frontend=True)
        runs = al.run_targets(site, args.attendee_targets, args.attendee_n, args.attendee_live_n, opts, db,
                              progress=lambda m: _progress(m.splitlines()[0]))
    facts["load_end"] = _loadavg()
    return {"site": facts, "runs": runs}


def _kb(b: float | None) -> str:
    return "-" if b is None else f"{b / 1e3:,.0f} kB"


def attendee_report(at: dict[str, Any], scale: str) -> list[str]:
    """Side by side: one row per N, one column per target; then every run's figures."""
    site, runs = at["site"], at["runs"]
    targets = [t for t in ATTENDEE_TARGETS if any(r["target"] == t for r in runs)]
    x0 = runs[0]
    lines = [f"Attendee page beside live sessions ({scale} database; bench/attendee_load.py). Page: {site['source']}, "
             f"{site['files_n']} files, {site['bytes'] / 1e6:.2f} MB on disk. Each client is a phone "
             f"({x0['phone']}): the page over one keep-alive connection, then the assets it would pick over up to "
             f"{x0['conns_per_client']}; live = Streamlit's page and listed scripts, then the websocket to the "
             f"landing page's script_finished, sessions held open. Clients arrive at "
             f"{x0['n'] / x0['ramp_s']:g} per second (the live load test's 100 in 2 s); static clients "
             f"at most {x0['active']} in flight; page complete = arrival to the last byte (a wait for a slot "
             f"included); bytes on the wire per client, headers included; CPU = the server's process group. "
             f"Load average (1/5/15 min) at the start {site['load_start']}, at the end {site['load_end']}; "
             f"the client shares the 2 cores (its CPU is given).", "",
             "| N | " + " | ".join(ATTENDEE_TARGETS[t] for t in targets) + " |",
             "|---|" + "---|" * len(targets)]
    by = {(r["target"], r["n"]): r for r in runs}
    for n in sorted({r["n"] for r in runs}):
        cells = []
        for t in targets:
            r = by.get((t, n))
            if r is None:
                cells.append("not run")
                continue
            cells.append(f"{r['ok_clients']}/{n} ok, {r['errors_n']} errors{' (deadline)' if r['deadline_hit'] else ''}; "
                         f"p50 {_sec(r['p50_s'])}, p95 {_sec(r['p95_s'])}; {_kb(r['bytes_per_client'])}/client; "
                         f"CPU {r['server_cpu_ms_per_client'] or 0:,.1f} ms/client")
        lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
    lines += ["", "| target | N | ok | errors | p50 / p95 / max | first byte p95 | bytes per client | requests | "
              "server CPU | per client | peak RSS | client CPU | wall | load after |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        errs = f"{r['errors_n']}{' ' + '; '.join(r['errors'][:2]) if r['errors'] else ''}"
        lines.append(f"| {r['target']} | {r['n']:,} | {r['ok_clients']:,} | {errs} | {_sec(r['p50_s'])} / "
                     f"{_sec(r['p95_s'])} / {_sec(r['max_s'])} | {_sec(r['first_byte_p95_s'])} | "
                     f"{_kb(r['bytes_per_client'])} | {r['requests_per_client'] or 0:.0f} | "
                     f"{r['server_cpu_s'] or 0:.1f} s | {r['server_cpu_ms_per_client'] or 0:,.1f} ms | "
                     f"{r['rss_peak_mb'] or 0:,.0f} MB | {r['client_cpu_s']:.1f} s | {r['wall_s']:.1f} s | "
                     f"{r['loadavg_after'].split()[0]} |")
    lines.append("")
    return lines


def _page_name(page: str, titles: dict[str, str] | None = None) -> str:
    title = (titles or {}).get(page)
    return f"/{page}" if page else f"/ ({title or 'landing'})"


def load_report(ld: list[dict[str, Any]]) -> list[str]:
    """The load-test runs as Markdown: one table of the runs, then one per N by page."""
    x0 = ld[0]
    if "by_page" not in x0:   # a saved result from before every page was visited: its own columns
        return _old_load_report(ld)
    scope = ("every page of the navigation" if x0.get("pages_mode") == ["all"]
             else ", ".join(_page_name(p) for p in x0.get("pages", [])))
    sidebar = ("each sidebar filter on every page" if x0.get("sidebar") == "every"
               else "each sidebar filter once, on a different page per session")
    lines = [f"Load test (bench/loadtest.py: websocket sessions speaking Streamlit's protocol; each opens {scope} "
             f"and changes every control found there ({sidebar}; the page's own controls every time), waiting "
             f"for the script to finish after each; sessions arrive over {x0.get('ramp_s', 2):g} s; fresh "
             f"server(s) per N, warmed by one session on the landing page; {x0.get('replicas', 1)} replica(s); "
             f"health = /_stcore/health answered within 5 s after the run; CPU = the server's):", "",
             "| N | sessions ok | errors | script runs | landing p50 / p95 | control change p50 / p95 | "
             "healthy after | server RSS 1 session | RSS N open | peak RSS | wall | server CPU |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in ld:
        errs = f"{x['errors_n']}{' ' + '; '.join(x['errors'][:3]) if x['errors'] else ''}"
        runs = x.get("changes_n", 0) + sum(p["sessions"] for p in x["by_page"].values())
        lines.append(
            f"| {x['n']} | {x['ok_sessions']}/{x['n']} | {errs} | {runs:,} | "
            f"{_sec(x['landing_p50_s'])} / {_sec(x['landing_p95_s'])} | "
            f"{_sec(x['change_p50_s'])} / {_sec(x['change_p95_s'])} | "
            f"{'yes' if x['healthy_after'] else 'NO'}{' (deadline hit)' if x.get('deadline_hit') else ''} | "
            f"{x.get('rss_one_session_mb') or 0:,.0f} MB | {x.get('rss_held_mb') or 0:,.0f} MB | "
            f"{x.get('rss_peak_mb') or 0:,.0f} MB | {x['wall_s']:.0f} s | {x.get('server_cpu_s') or 0:.0f} s |")
    lines.append("")
    for x in ld:
        lines += [f"By page, N = {x['n']} (visits ok / visits; the slowest control by its p95):", "",
                  "| page | visits ok | errors | landing p50 / p95 | control change p50 / p95 | controls changed | "
                  "slowest control p95 |", "|---|---|---|---|---|---|---|"]
        for page, p in x["by_page"].items():
            slow = max(p["controls"].items(), key=lambda kv: kv[1]["p95_s"] or 0, default=None)
            slowest = f"{slow[0]} {_sec(slow[1]['p95_s'])}" if slow else "-"
            errs = f"{p['errors_n']}{' ' + '; '.join(p['errors'][:2]) if p['errors'] else ''}"
            lines.append(f"| {_page_name(page, x.get('page_titles'))} | {p['ok']}/{p['sessions']} | {errs} | "
                         f"{_sec(p['landing_p50_s'])} / {_sec(p['landing_p95_s'])} | "
                         f"{_sec(p['change_p50_s'])} / {_sec(p['change_p95_s'])} | {len(p['controls'])} | "
                         f"{slowest} |")
        lines.append("")
    return lines


def _old_load_report(ld: list[dict[str, Any]]) -> list[str]:
    lines = ["Load test (bench/loadtest.py: websocket sessions speaking Streamlit's protocol, each opens "
             "the landing page then changes the SPA filter to one of the 8 SPAs; sessions arrive over "
             f"{ld[0].get('ramp_s', 2):g} s; fresh server(s) per N, warmed by one session; "
             f"{ld[0].get('replicas', 1)} replica(s)):", "",
             "| N | errors | landing p50 / p95 | filter change p50 / p95 | server RSS 1 session | "
             "RSS N open | peak RSS | wall |", "|---|---|---|---|---|---|---|---|"]
    for x in ld:
        lines.append(
            f"| {x['n']} | {x['errors_n']}{' ' + '; '.join(x['errors']) if x['errors'] else ''} | "
            f"{_sec(x['landing_p50_s'])} / {_sec(x['landing_p95_s'])} | "
            f"{_sec(x['change_p50_s'])} / {_sec(x['change_p95_s'])} | "
            f"{x.get('rss_one_session_mb') or 0:,.0f} MB | {x.get('rss_held_mb') or 0:,.0f} MB | "
            f"{x.get('rss_peak_mb') or 0:,.0f} MB | {x['wall_s']:.0f} s |")
    lines.append("")
    return lines


def write_doc(path: Path, blocks: dict[str, str]) -> None:
    """Put each block between its markers in `path` (the prose around them is kept);
    blocks without markers yet are appended."""
    import re

    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    for name, body in blocks.items():
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        chunk = f"{begin}\n{body.rstrip()}\n{end}"
        if begin in text and end in text:
            text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _m: chunk, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + chunk + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", choices=("county", "state", "both"), default="both")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (median); default 3")
    p.add_argument("--build-runs", type=int, help="build runs per scale (default: --runs for county, 1 for state)")
    p.add_argument("--db", help="benchmark this database instead of building one (one scale)")
    p.add_argument("--out", type=Path, help="write the Markdown report here (e.g. docs/benchmarks.md)")
    p.add_argument("--json", type=Path, help="also write every figure as JSON here")
    p.add_argument("--report-from", type=Path, nargs="+", help="only render --out from saved --json files")
    p.add_argument("--skip-build", action="store_true", help="reuse /tmp/csi-bench-<scale>.duckdb if present")
    p.add_argument("--skip-metrics", action="store_true")
    p.add_argument("--skip-pages", action="store_true")
    p.add_argument("--skip-browser", action="store_true")
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--browser-before", default="4140a79", metavar="REF",
                   help="browser: also serve the project's files at this commit and give each figure before and "
                        "after, in one run (tools/bench/browser_compare.py; default 4140a79, the commit before "
                        "issue 18's front-end changes); 'none': this checkout only")
    p.add_argument("--load-n", type=int, nargs="+", default=[10, 50, 100], help="session counts (default 10 50 100)")
    p.add_argument("--load-pages", nargs="+", default=["all"],
                   help="load test: 'all' (every page of the navigation, default) or URL paths ('' = landing)")
    p.add_argument("--load-sidebar", choices=("every", "spread"), default="every",
                   help="load test: change each sidebar filter on every page (default), or once per session")
    p.add_argument("--load-artifacts", type=Path, help="load test: write server thread dumps here if one hangs "
                   "(default: a folder under the temporary directory)")
    p.add_argument("--replicas", type=int, default=1, help="servers for the load test, sessions round-robin")
    p.add_argument("--ramp", type=float, default=2.0, help="load test: seconds over which sessions arrive")
    p.add_argument("--skip-attendee", action="store_true", help="skip the attendee page beside live sessions")
    p.add_argument("--attendee-n", type=int, nargs="+", default=[100, 500, 1000],
                   help="attendee page: client counts (default 100 500 1000)")
    p.add_argument("--attendee-live-n", type=int, nargs="+", default=[100, 200],
                   help="attendee section: live session counts beside them (default 100 200)")
    p.add_argument("--attendee-site", type=Path, help="attendee page: a published directory (default: publish "
                   "--standard from the benchmarked database)")
    p.add_argument("--attendee-targets", nargs="+", choices=tuple(ATTENDEE_TARGETS),
                   default=list(ATTENDEE_TARGETS), help="attendee section: which servers (default all three)")


def _loadavg() -> str:
    p = Path("/proc/loadavg")
    return p.read_text().split()[0] if p.exists() else "-"


def run(args: argparse.Namespace) -> int:
    if args.report_from:
        merged: dict[str, Any] = {}
        for f in args.report_from:
            res = json.loads(Path(f).read_text(encoding="utf-8"))
            merged.setdefault("machine", res["machine"])
            merged.setdefault("runs", res["runs"])
            merged.setdefault("scales", {}).update(res["scales"])
        print(report(merged))
        if args.out:
            write_doc(args.out, report_blocks(merged))
        return 0
    scales = ["county", "state"] if args.scale == "both" else [args.scale]
    if args.db and len(scales) > 1:
        print("error: --db benchmarks one database: give --scale county or --scale state", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"machine": machine(), "runs": args.runs, "scales": {}}
    for scale in scales:
        r: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "load_start": _loadavg(),
                             "runs": args.runs}
        results["scales"][scale] = r
        if args.db:
            db = config.db_path(args.db)
        else:
            db = Path(tempfile.gettempdir()) / f"csi-bench-{scale}.duckdb"
            sidecar = db.with_suffix(".build.json")
            if args.skip_build and db.exists():
                # The build figures of the run that made this file, when it was this command.
                if sidecar.exists():
                    r["build"] = json.loads(sidecar.read_text(encoding="utf-8"))
            else:
                n = args.build_runs or (args.runs if scale == "county" else 1)
                _progress(f"{scale}: building the demo {n}x")
                r["build"] = time_build(scale, n, keep=db)
                r["build"]["load_after"] = Path("/proc/loadavg").read_text().split()[0] \
                    if Path("/proc/loadavg").exists() else "-"
                sidecar.write_text(json.dumps(r["build"]) + "\n", encoding="utf-8")
        r["facts"] = db_facts(db)
        if not args.skip_metrics:
            _progress(f"{scale}: metric functions vs pandas")
            r["metrics"] = time_metrics(db, args.runs)
        if not args.skip_pages:
            _progress(f"{scale}: page scripts (AppTest)")
            r["pages"] = time_pages(db, args.runs)
        if not args.skip_browser and args.browser_before != "none":
            from tools.bench import browser_compare  # before and after in one run (its module says how)

            _progress(f"{scale}: first chart in Chromium, {args.browser_before} and this checkout")
            r["browser_compare"] = browser_compare.compare(db, args.runs, args.browser_before)
        elif not args.skip_browser:
            _progress(f"{scale}: first chart in Chromium")
            r["browser"] = time_browser(db, args.runs)
        if not args.skip_load:
            _progress(f"{scale}: load test N={args.load_n}, pages {args.load_pages}")
            artifacts = args.load_artifacts or Path(tempfile.gettempdir()) / f"csi-bench-load-{scale}"
            r["load"] = run_load(db, args.load_n, replicas=args.replicas, ramp_s=args.ramp,
                                 pages=args.load_pages, sidebar=args.load_sidebar, artifacts=artifacts)
        if not args.skip_attendee and scale == scales[0]:
            _progress(f"{scale}: attendee page N={args.attendee_n} beside live N={args.attendee_live_n}")
            r["attendee"] = run_attendee(db, args)
        r["load_end"] = _loadavg()
    text = report(results)
    print(text)
    if args.out:
        write_doc(args.out, report_blocks(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    failed = [f"{scale} N={x['n']}" for scale, r in results["scales"].items() for x in r.get("load", [])
              if not x.get("ok", True)]
    if failed:
        # The figures are written either way; a load run with errors or a hung server fails the command.
        print(f"bench: load test failed: {', '.join(failed)} (errors, unfinished sessions or the server "
              "unhealthy after the run; thread dumps in the JSON and under --load-artifacts)", file=sys.stderr)
        return 1
    return 0
