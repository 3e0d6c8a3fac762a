"""What the browser tests do again and again: open a page and wait for Streamlit
to finish, read the charts' data and type sizes, fail on a Streamlit exception."""

from __future__ import annotations

import re
from pathlib import Path

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
LOAD_TIMEOUT_MS = 90_000
# The phone an attendee holds (the `phone` fixture's context): its screen and a phone's User-Agent.
PHONE = {"width": 390, "height": 844}
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
# page label -> ms from navigation start to the first drawn chart; printed at the end of the run.
TIMINGS: dict[str, float] = {}

# True once Streamlit is idle, every Plotly chart is drawn, and at least `want` of them have data.
_CHARTS_READY_JS = """
(want) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.getAttribute('data-test-script-state') : null;
  const now = performance.now();
  if (state !== window.__csiState) { window.__csiState = state; window.__csiStateSince = now; }
  // Idle for a second: a run can end and the next (a URL write-back, a rerun) start at once.
  if (state !== 'notRunning' || now - window.__csiStateSince < 1000) { return false; }
  if (document.querySelector('[data-testid="stSkeleton"]')) { return false; }
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (!plots.every(g => g._fullLayout && g.querySelector('.main-svg'))) { return false; }
  // A MapLibre map paints after Plotly has its figure: wait until it has drawn features.
  const maps = plots.map(g => g._fullLayout.map && g._fullLayout.map._subplot && g._fullLayout.map._subplot.map)
                    .filter(m => m);
  if (!maps.every(m => m.loaded() && m.queryRenderedFeatures().length > 0)) { return false; }
  return plots.filter(g => g.data && g.data.length).length >= want;
}
"""

CHART_SUMMARY_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
  title: (g._fullLayout && g._fullLayout.title && g._fullLayout.title.text) || '',
  traces: (g.data || []).map(t => ({
    type: t.type || 'scatter', name: t.name || '',
    n: ['x', 'y', 'values', 'z', 'locations', 'lat', 'labels']
         .map(k => (t[k] && t[k].length) || 0).reduce((a, b) => Math.max(a, b), 0),
    data: JSON.stringify(['x', 'y', 'values', 'z', 'locations', 'text', 'labels'].map(k => t[k] ? Array.from(t[k]) : null)),
  })),
  notes: ((g._fullLayout && g._fullLayout.annotations) || []).map(a => a.text || ''),
  maps: g.querySelectorAll('canvas.maplibregl-canvas').length,
  mapSize: [...g.querySelectorAll('canvas.maplibregl-canvas')].map(c => c.width * c.height).reduce((a, b) => a + b, 0),
}))
"""

# Computed font sizes (px) of the chart text a reader must read: title, ticks,
# axis titles, legend, annotations; and of the page's own words.
FONT_SIZES_JS = """
() => {
  const px = el => parseFloat(getComputedStyle(el).fontSize);
  const text = el => (el.textContent || el.value || '').trim();  // a combobox's text is its input's value
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && text(el).length > 0; };
  const chartSel = ['.gtitle', '.xtick text', '.ytick text', '.g-xtitle text', '.g-ytitle text', '.legendtext',
                    '.annotation-text', '.colorbar text'].map(s => '.js-plotly-plot ' + s).join(',');
  const chart = [...document.querySelectorAll(chartSel)].filter(visible).map(el => [el.textContent.trim().slice(0, 40), px(el)]);
  const pageSel = ['[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p',
                   '[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]',
                   '[data-testid="stMainBlockContainer"] button p',
                   '[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"] [role="combobox"]'].join(',');
  const words = [...document.querySelectorAll(pageSel)].filter(visible).filter(el => !el.closest('details:not([open])'))
                  .map(el => [text(el).slice(0, 40), px(el)]);
  return {chart, words};
}
"""


def wait_ready(page, *, charts: int = 0, timeout_ms: int = LOAD_TIMEOUT_MS) -> None:
    """Streamlit has finished its run, every chart (and map) is drawn, and at least `charts` of them have data."""
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms, state="attached")
    page.wait_for_function(_CHARTS_READY_JS, arg=charts, timeout=timeout_ms, polling=100)


FAILED_SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def open_page(context, url: str, *, charts: int = 0):
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
    try:
        wait_ready(page, charts=charts)
    except Exception:
        # What the page showed when it never got ready, and any exception it printed.
        FAILED_SHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9]+", "-", url.split("//", 1)[-1].split("/", 1)[-1])[:80]
        page.screenshot(path=str(FAILED_SHOTS / f"NOT-READY-{name}.png"))
        assert_no_exception(page)
        raise
    return page


def assert_no_exception(page) -> None:
    boxes = page.locator(EXCEPTION)
    if boxes.count():
        raise AssertionError(f"Streamlit exception on {page.url}:\n" + "\n---\n".join(boxes.all_inner_texts()))


def chart_summary(page) -> list[dict]:
    return page.evaluate(CHART_SUMMARY_JS)


def font_sizes(page) -> dict:
    return page.evaluate(FONT_SIZES_JS)


def first_chart_ms(page) -> float | None:
    return page.evaluate("() => window.__firstChartMs")


def screenshot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
