"""The Map page in headless Chromium with every non-loopback request blocked:
all eight SPA shapes, their labels and the school points must be drawn by
MapLibre in the page itself (checked from the rendered map and from pixels of
a screenshot), and clicking an SPA must set ?spa=N. Also records the time to
draw the map cold (server start) and warm (reload)."""

from __future__ import annotations

import io
import json
import os
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from tools import localserver
from fixture_paths import SPA_2022
from csi_metrics.ingest import boundaries
import fixture_paths

pytestmark = pytest.mark.browser

REPO = fixture_paths.REPO
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM, CHROMIUM_ARGS = localserver.CHROMIUM, localserver.CHROMIUM_ARGS
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
VIEWPORT = {"width": 1920, "height": 1080}
DRAW_TIMEOUT_MS = 180_000

# The map is drawn when MapLibre has loaded, rendered features from the data and
# placed every SPA label (labels are placed over a few frames after the load).
MAP_READY_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(e => e._fullLayout && e._fullLayout.map);
  if (!gd) return false;
  const m = gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;
  if (!(m && m.loaded() && m.areTilesLoaded())) return false;
  const rendered = m.queryRenderedFeatures();
  const want = gd._fullData.filter(t => t.name === 'SPA labels').reduce((a, t) => a + t.text.length, 0);
  const placed = new Set(rendered.filter(f => f.layer.type === 'symbol').map(f => f.properties.text));
  return rendered.length > 0 && want > 0 && placed.size >= want;
}"""

# Plotly has the figure (the script ran and the data reached the page).
CHART_DATA_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].some(
  e => e._fullLayout && e._fullLayout.map && e.data && e.data.length)"""

# What MapLibre actually drew, read back from the map, plus what Plotly was given.
RENDERED_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(e => e._fullLayout && e._fullLayout.map);
  const m = gd._fullLayout.map._subplot.map;
  const byType = {fill: new Map(), circle: new Set(), symbol: new Set()};
  for (const f of m.queryRenderedFeatures()) {
    const t = f.layer.type;
    if (t === 'fill') byType.fill.set(JSON.stringify(f.properties.ct), f.properties.fc);
    else if (t === 'circle') byType.circle.add(JSON.stringify(f.geometry.coordinates));
    else if (t === 'symbol') byType.symbol.add(f.properties.text || JSON.stringify(f.properties));
  }
  const data = gd._fullData.map(t => ({type: t.type, mode: t.mode || null, name: t.name || null,
      showlegend: t.showlegend, n: (t.locations || t.lat || []).length, locations: t.locations || null,
      lon: t.lon || null, lat: t.lat || null, labels: t.name === 'SPA labels' ? t.text : null}));
  const canvas = m.getCanvas().getBoundingClientRect();
  return {fills: [...byType.fill.entries()], circles: [...byType.circle], symbols: [...byType.symbol],
          data, canvas: {x: canvas.x, y: canvas.y, w: canvas.width, h: canvas.height},
          glyphs: m.getStyle().glyphs || null};
}"""

PROJECT_JS = """([lon, lat]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(e => e._fullLayout && e._fullLayout.map);
  const m = gd._fullLayout.map._subplot.map;
  const p = m.project([lon, lat]);
  const r = m.getCanvas().getBoundingClientRect();
  return [r.x + p.x, r.y + p.y];
}"""


@pytest.fixture(scope="module")
def map_server(demo_db):
    """`streamlit run dashboard.py` on a free loopback port against the demo
    database and the default boundaries (the shipped 2022 display layer); yields (url, start time,
    seconds until it answered its health check)."""
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    try:
        with localserver.streamlit_server(demo_db,
                                          log=ARTIFACTS / "map-streamlit.log") as (url, _pid):
            ready_s = time.monotonic() - started
            yield url, started, ready_s
    except RuntimeError as exc:
        pytest.fail(str(exc))


# `browser`: the e2e suite's one Chromium (tests/e2e/conftest.py); a second Playwright in
# the same process would find the first one's event loop running.


def _offline_context(browser, blocked: list[str]):
    ctx = browser.new_context(viewport=VIEWPORT)

    def route(r) -> None:
        u = r.request.url
        if u.startswith(("data:", "blob:")) or urlparse(u).hostname in LOOPBACK:
            r.continue_()
        else:
            blocked.append(u)
            r.abort()

    ctx.route("**/*", route)
    return ctx


def _is_tab_icon(url: str) -> bool:
    u = urlparse(url)
    return u.hostname == "fonts.gstatic.com" and "/materialsymbols" in u.path


def _blend(rgb: str, opacity: float = 0.9) -> np.ndarray:
    """A fill colour as it shows over the white background at the choropleth's opacity."""
    r, g, b = (float(v) for v in rgb[rgb.index("(") + 1: rgb.index(")")].split(","))
    return np.array([r, g, b]) * opacity + 255 * (1 - opacity)


def test_map_page_draws_offline(browser, map_server):
    from PIL import Image

    url, started, ready_s = map_server
    blocked: list[str] = []
    errors: list[str] = []
    ctx = _offline_context(browser, blocked)
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        t = time.monotonic()
        page.goto(f"{url}/map")
        page.wait_for_function(CHART_DATA_JS, timeout=DRAW_TIMEOUT_MS)
        cold_data_s = time.monotonic() - t
        page.wait_for_function(MAP_READY_JS, timeout=DRAW_TIMEOUT_MS)
        cold_s = time.monotonic() - started
        page.wait_for_timeout(500)  # let the last frame paint before reading pixels
        got = page.evaluate(RENDERED_JS)
        shot = page.screenshot(path=str(ARTIFACTS / "map.png"))

        t = time.monotonic()
        page.reload()
        page.wait_for_function(CHART_DATA_JS, timeout=DRAW_TIMEOUT_MS)
        warm_data_s = time.monotonic() - t
        page.wait_for_function(MAP_READY_JS, timeout=DRAW_TIMEOUT_MS)
        warm_s = time.monotonic() - t
    finally:
        ctx.close()
    timings = {"cold_server_start_to_map_s": round(cold_s, 2), "server_start_to_healthy_s": round(ready_s, 2),
               "cold_open_to_figure_s": round(cold_data_s, 2), "warm_reload_to_figure_s": round(warm_data_s, 2),
               "warm_reload_to_map_s": round(warm_s, 2), "load_average_1min": round(os.getloadavg()[0], 1)}
    (ARTIFACTS / "map-timings.json").write_text(json.dumps(timings, indent=1))
    print(f"\nmap page timings: {timings}")

    # Offline: nothing the map needs left this machine (no tiles, no label fonts,
    # no CDN). The one outside request is the browser-tab icon: dashboard.py's
    # page_icon=":material/..." is fetched from fonts.gstatic.com.
    assert [u for u in blocked if not _is_tab_icon(u)] == [], blocked
    assert got["glyphs"] is None
    # Deep links 404 on /map/_stcore/* before falling back to the root (STACK-NOTES): not failures.
    assert not [e for e in errors if "404" not in e and "Failed to load resource" not in e], errors

    chor = [d for d in got["data"] if d["type"] == "choroplethmap"]
    assert sorted(n for d in chor for n in d["locations"]) == list(range(1, 9))
    # All eight SPA shapes rendered by MapLibre (one fill per feature, keyed by its centroid).
    assert len(got["fills"]) == 8, got["fills"]
    labels = [x for d in got["data"] if d["labels"] for x in d["labels"]]
    assert len(labels) == 8 and len(got["symbols"]) == 8
    # Every school point Plotly was given is a circle MapLibre drew.
    schools = [d for d in got["data"] if d["type"] == "scattermap" and d["mode"] == "markers"
               and d["showlegend"] is not False]
    given = np.array([[lon, lat] for d in schools for lon, lat in zip(d["lon"], d["lat"])])
    drawn = np.array([json.loads(c) for c in got["circles"]])
    assert len(given) > 0 and len(drawn) > 0
    # Rendered coordinates come back through vector tiles: equal to ~1e-4 degrees.
    nearest = np.abs(given[:, None, :] - drawn[None, :, :]).max(axis=2).min(axis=1)
    missing = int((nearest > 1e-3).sum())
    assert missing == 0, f"{missing} of {len(given)} school points not drawn"

    # Pixels: the map canvas is not blank, and every SPA's fill colour is on screen.
    img = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(float)
    c = got["canvas"]
    box = img[int(c["y"]): int(c["y"] + c["h"]), int(c["x"]): int(c["x"] + c["w"])]
    assert box.size > 0
    non_white = (np.abs(box - 255).sum(axis=2) > 30).mean()
    assert non_white > 0.2, f"map canvas is {non_white:.0%} non-white"
    for ct, fc in got["fills"]:
        want = _blend(fc)
        close = (np.abs(box - want).max(axis=2) <= 6).sum()
        assert close > 200, f"fill {fc} (feature at {ct}) not visible: {close} px"


def test_clicking_an_spa_sets_the_spa_filter(map_server, browser):

    url, _, _ = map_server
    blocked: list[str] = []
    page_errors: list[str] = []
    ctx = _offline_context(browser, blocked)
    page = ctx.new_page()
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        page.goto(f"{url}/map")
        page.wait_for_function(MAP_READY_JS, timeout=DRAW_TIMEOUT_MS)
        gj = boundaries.display_boundaries(SPA_2022)
        # Antelope Valley's label: Streamlit's plotly.js reports clicks on Scattermap
        # points (the labels carry their SPA) but not on Choroplethmap polygons.
        f1 = gj["features"][0]["properties"]
        x, y = page.evaluate(PROJECT_JS, [f1["label_lon"], f1["label_lat"]])
        page.mouse.move(x - 3, y - 3)
        page.mouse.click(x, y)
        page.wait_for_function("() => new URLSearchParams(location.search).get('spa') === '1'",
                               timeout=60_000)
        assert parse_qs(urlparse(page.url).query)["spa"] == ["1"]
        # The filter took: the sidebar shows it and the map outlines SPA 1.
        page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(
            g => g._fullData && g._fullData.some(t => t.name === 'Selected SPA'))""", timeout=60_000)
        page.wait_for_function(MAP_READY_JS, timeout=DRAW_TIMEOUT_MS)
        page.screenshot(path=str(ARTIFACTS / "map-spa1.png"))
    finally:
        ctx.close()
    # The re-render kept the map's style: no "Map error." from a MapLibre style diff.
    assert page_errors == [], page_errors
    assert [u for u in blocked if not _is_tab_icon(u)] == [], blocked


# A school point with room around it: far from every SPA label and from other schools.
LONE_SCHOOL_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(e => e._fullLayout && e._fullLayout.map);
  const m = gd._fullLayout.map._subplot.map;
  const r = m.getCanvas().getBoundingClientRect();
  const px = (lon, lat) => { const p = m.project([lon, lat]); return [r.x + p.x, r.y + p.y]; };
  const labels = [], schools = [];
  for (const t of gd._fullData) {
    if (t.type !== 'scattermap') continue;
    if (t.name === 'SPA labels') t.lon.forEach((lon, i) => labels.push(px(lon, t.lat[i])));
    else if (t.mode === 'markers' && t.showlegend !== false)
      t.lon.forEach((lon, i) => schools.push({xy: px(lon, t.lat[i]), cds: t.customdata[i][0]}));
  }
  const d = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  let best = null, room = -1;
  for (const s of schools) {
    const near = Math.min(...labels.map(l => d(l, s.xy) / 3), ...schools.filter(o => o !== s).map(o => d(o.xy, s.xy)));
    if (near > room) { room = near; best = s; }
  }
  return best && {x: best.xy[0], y: best.xy[1], cds: best.cds, room};
}"""


def test_clicking_a_school_opens_it(map_server, browser):
    url, _, _ = map_server
    blocked: list[str] = []
    ctx = _offline_context(browser, blocked)
    page = ctx.new_page()
    try:
        page.goto(f"{url}/map")
        page.wait_for_function(MAP_READY_JS, timeout=DRAW_TIMEOUT_MS)
        target = page.evaluate(LONE_SCHOOL_JS)
        assert target and target["room"] > 6, target
        page.mouse.move(target["x"] - 2, target["y"] - 2)
        page.mouse.click(target["x"], target["y"])
        page.wait_for_function("() => location.pathname.endsWith('/schools')", timeout=60_000)
        page.wait_for_function(f"() => new URLSearchParams(location.search).get('school') === '{target['cds']}'",
                               timeout=60_000)
        # The school's own profile opened: its caption gives the CDS code.
        page.get_by_text(f"CDS {target['cds']}", exact=False).first.wait_for(timeout=60_000)
    finally:
        ctx.close()
    assert [u for u in blocked if not _is_tab_icon(u)] == [], blocked


HALOS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(g => g._fullLayout && g._fullLayout.map)
  .flatMap(g => { const m = g._fullLayout.map._subplot.map; return m.getStyle().layers
    .filter(l => l.type === 'symbol').map(l => m.getPaintProperty(l.id, 'text-halo-width') || 0); })"""


@pytest.mark.parametrize("path", ["/map", "/map?points=dim"])
def test_the_map_pages_labels_have_halos_over_the_points(new_context, server, artifacts, path):
    """Not only on a projector: on the Map page at 1440x900 every SPA label (a MapLibre symbol
    layer) gets a true halo, so Metro's, South's and East's read over their dense school points."""
    from e2e_helpers import screenshot, wait_ready

    page = new_context().new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(server + path, wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page, charts=1)
    try:  # set on the browser's next tick (seconds later on a loaded machine)
        page.wait_for_function(f"() => {{ const h = ({HALOS_JS})(); return h.length && h.every(w => w >= 2); }}",
                               timeout=20_000)
    except Exception:  # noqa: BLE001  (the assertion below says what was measured)
        pass
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    screenshot(page, artifacts, f"map-page-halos{'-dim' if 'dim' in path else ''}")
    halos = page.evaluate(HALOS_JS)
    assert halos and all(w >= 2 for w in halos), halos


def test_the_map_pages_labels_have_halos_on_a_phone(phone, server, artifacts):
    """On a phone the sidebar (where the map script is sent) starts closed: the halos still come,
    and every SPA's label is drawn (MapLibre dropped Antelope Valley, Metro and East, which
    collided with their own halos at a phone's zoom)."""
    from e2e_helpers import wait_ready

    page = phone.new_page()
    page.goto(server + "/map", wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page, charts=1)
    try:
        page.wait_for_function(f"() => {{ const h = ({HALOS_JS})(); return h.length && h.every(w => w >= 2); }}",
                               timeout=20_000)
    except Exception:  # noqa: BLE001  (the assertion below says what was measured)
        pass
    halos = page.evaluate(HALOS_JS)
    assert halos and all(w >= 2 for w in halos), halos
    page.wait_for_timeout(800)  # a frame after the layout change
    drawn = page.evaluate("""() => { const g = [...document.querySelectorAll('.js-plotly-plot')]
      .find(g => g._fullLayout && g._fullLayout.map); const m = g._fullLayout.map._subplot.map;
      const ids = m.getStyle().layers.filter(l => l.type === 'symbol').map(l => l.id);
      return [...new Set(m.queryRenderedFeatures({layers: ids}).map(f => String(f.properties.text || '')
        .split('<br>')[0].split('\\n')[0]))]; }""")
    missing = [n for n in ("Antelope Valley", "San Fernando", "San Gabriel", "Metro", "West", "South", "East",
                           "South Bay") if n not in drawn]
    assert not missing, f"labels not drawn on a phone: {missing} (drawn: {drawn})"
