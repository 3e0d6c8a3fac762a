"""Each dashboard page's script run time, cold and warm cache, with
Streamlit's AppTest (no browser, no server): the whole entry script runs
(connection, banner, sidebar filters) and then the page.

- cold: st.cache_data and st.cache_resource cleared (so the connection is
  reopened and every loader recomputes), a fresh AppTest session;
- warm: a second fresh AppTest session in the same process, right after, so
  the caches are hot and only the session is new (a second visitor).

Both wall time and this process's CPU time are reported: on shared cores the
CPU time is the steadier figure (the script thread does the work; the
AppTest thread only polls).

Python's module imports are warm in both (an untimed first run imports them). Run in its own process by
`python -m csi_metrics bench` so csi_metrics never imports Streamlit:

    CSI_DB=PATH python -m bench.page_times --runs 3 [--pages overview,trends] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "dashboard.py"
TIMEOUT_S = 300


def dashboard_pages() -> list[str]:
    """Page files listed in dashboard.py, in navigation order."""
    return re.findall(r'st\.Page\(\s*"([^"]+\.py)"', ENTRY.read_text(encoding="utf-8"))


def _navigation_mode() -> None:
    """Run as the server does once dashboard.py has called st.navigation.

    Streamlit treats a `pages/` folder beside the entry script as old-style
    (v1) multipage pages until st.navigation runs, and AppTest starts every
    run in that mode again, so switch_page would run the page file alone,
    without the entry script's connection, banner and sidebar filters."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager.__init__, "_bench_v2", False):
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._bench_v2 = True  # type: ignore[attr-defined]
    PagesManager.__init__ = init


_COMPONENTS = None


def _run_once(page: str, default_page: str) -> tuple[float, list[str], float]:
    from streamlit.testing.v1 import AppTest

    global _COMPONENTS
    _navigation_mode()
    at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT_S)
    # Each AppTest scans every installed package for components (~1-2 s) on its
    # first run: harness cost, not the app's; share the first scan.
    if _COMPONENTS is not None and hasattr(at, "_bidi_component_manager"):
        at._bidi_component_manager = _COMPONENTS
    if page != default_page:
        at.switch_page(page)
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    _COMPONENTS = getattr(at, "_bidi_component_manager", None)
    errors = [f"{e.message}"[:200] for e in at.exception]
    if not at.sidebar.selectbox:
        errors.append("no sidebar filters: the entry script did not run")
    return elapsed, errors, cpu


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def time_pages(pages: list[str], runs: int) -> list[dict]:
    all_pages = dashboard_pages()
    default_page = all_pages[0] if all_pages else pages[0]
    out = []
    for page in pages:
        if not (REPO / page).exists():
            out.append({"page": page, "missing": True})
            continue
        cold, warm, cold_cpu, warm_cpu, errors = [], [], [], [], []
        for _ in range(runs):
            _clear_caches()
            c, e1, cc = _run_once(page, default_page)
            w, e2, wc = _run_once(page, default_page)
            cold.append(c)
            warm.append(w)
            cold_cpu.append(cc)
            warm_cpu.append(wc)
            errors += e1 + e2
        out.append({"page": page, "cold_s": statistics.median(cold), "warm_s": statistics.median(warm),
                    "cold_cpu_s": statistics.median(cold_cpu), "warm_cpu_s": statistics.median(warm_cpu),
                    "cold_all_s": cold, "warm_all_s": warm, "errors": sorted(set(errors))[:5]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.page_times")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", help="comma-separated page files (default: every page in dashboard.py)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    pages = args.pages.split(",") if args.pages else dashboard_pages()
    # A first, untimed run imports Streamlit, Plotly and the pages' modules, so the
    # first page's cold figure is not the interpreter's start-up.
    landing = dashboard_pages()[0]
    if (REPO / landing).exists():
        _run_once(landing, landing)
    res = time_pages(pages, args.runs)
    if args.json:
        print(json.dumps(res))
    else:
        for r in res:
            if r.get("missing"):
                print(f"{r['page']}: missing")
            else:
                print(f"{r['page']}: cold {r['cold_s'] * 1000:.0f} ms (CPU {r['cold_cpu_s'] * 1000:.0f}), "
                      f"warm {r['warm_s'] * 1000:.0f} ms (CPU {r['warm_cpu_s'] * 1000:.0f})"
                      + (f"  errors: {r['errors']}" if r["errors"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
