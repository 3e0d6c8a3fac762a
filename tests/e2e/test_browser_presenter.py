"""Presenter mode on a projector, measured in Debian's Chromium: every deck slide
fits one screen (chart and Next inside the viewport) at 1440x900 and 1920x1080,
headline cards read from the back of a hall (values about 56 px, badges and
labels at least 24 px, captions at 4.5:1 contrast), the pages lose their clutter
but keep a demo mark, the map fills the slide with its labels above the points,
and the share box gives a whole link that opens the same deck."""

from __future__ import annotations

import re

import pytest

from csi_metrics.views import deck
from e2e_helpers import assert_no_exception, chart_summary, screenshot, wait_ready

pytestmark = pytest.mark.browser

SIZES = [(1440, 900), (1920, 1080)]

# The bounding box of a selector's first match, or None.
BOX_JS = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const b = e.getBoundingClientRect(); return {top: b.top, bottom: b.bottom, left: b.left, right: b.right,
  width: b.width, height: b.height}; }"""

# WCAG contrast of an element's text colour against the first opaque background up its ancestors.
CONTRAST_JS = """(els) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = el => { for (let x = el; x; x = x.parentElement) { const c = rgb(getComputedStyle(x).backgroundColor);
                     if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c; } return [255, 255, 255]; };
  return els.filter(e => e.getBoundingClientRect().height > 0 && e.textContent.trim()).map(e => {
    const fg = rgb(getComputedStyle(e).color); let a = fg.length > 3 ? fg[3] : 1; const b = bg(e);
    const mix = [0, 1, 2].map(i => fg[i] * a + b[i] * (1 - a));
    const [l1, l2] = [lum(mix), lum(b)].sort((x, y) => y - x);
    return [e.textContent.trim().slice(0, 30), (l1 + 0.05) / (l2 + 0.05)]; });
}"""


def _page(new_context, url: str, w: int, h: int, charts: int = 1):
    ctx = new_context()
    page = ctx.new_page()
    page.set_viewport_size({"width": w, "height": h})
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page, charts=charts)
    return ctx, page


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_deck_slide_fits_one_screen(new_context, server, artifacts, w, h):
    total = len(deck.default_deck())
    ctx, page = _page(new_context, f"{server}/present", w, h)
    for n in range(1, total + 1):
        if n > 1:
            page.locator(".st-key-deck_next button").click()
            page.wait_for_url(re.compile(rf"[?&]step={n}(&|$)"), timeout=60_000)
            wait_ready(page, charts=1)
        assert_no_exception(page)
        screenshot(page, artifacts, f"fit-{w}x{h}-slide-{n:02d}")
        chart = page.evaluate(BOX_JS, ".st-key-slide_box .js-plotly-plot")
        nxt = page.evaluate(BOX_JS, ".st-key-deck_next")
        assert chart and nxt, f"slide {n}: no chart or no Next"
        assert chart["top"] >= 0 and chart["bottom"] <= h, f"slide {n} at {w}x{h}: chart {chart} not inside"
        assert nxt["bottom"] <= h, f"slide {n} at {w}x{h}: Next at {nxt['bottom']:.0f} px, below the fold"
        # One chart per screen, and it uses the screen: at least half its height.
        assert chart["height"] >= 0.5 * h, f"slide {n} at {w}x{h}: chart only {chart['height']:.0f} px tall"
        # The demo mark stays, compact.
        mark = page.evaluate(BOX_JS, ".st-key-demo_mark")
        assert mark and mark["height"] <= 48 and mark["bottom"] <= h, f"slide {n}: demo mark {mark}"
        assert "DEMO" in page.locator(".st-key-demo_mark").inner_text()
    assert not ctx.watch.problems(), ctx.watch.problems()


@pytest.mark.parametrize("name", ["trends", "map", "equity"])
def test_presenter_pages_lose_their_clutter(new_context, server, artifacts, name):
    ctx, page = _page(new_context, f"{server}/{name}?present=1", 1920, 1080)
    screenshot(page, artifacts, f"clutter-{name}")
    visible = lambda sel: page.evaluate(  # noqa: E731
        """(sel) => [...document.querySelectorAll(sel)].filter(e => e.getBoundingClientRect().height > 0).length""", sel)
    assert visible('[data-testid="stMainBlockContainer"] h1') == 0, "page title still shown"
    assert page.locator('[data-testid="stExpander"]').filter(has_text="Table and CSV").count() == 0 or \
        visible('[data-testid="stExpander"]') == 0, "Table and CSV expanders still shown"
    assert visible('[data-testid="stMainBlockContainer"] [data-testid="stButtonGroup"]') == 0, "measure controls"
    assert visible('[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"]') == 0, "measure controls"
    # The way out stays, out of the page's flow (it takes no line above the chart).
    assert page.evaluate("() => getComputedStyle(document.querySelector('.st-key-present_exit')).position") == "fixed"
    mark = page.evaluate(BOX_JS, ".st-key-demo_mark")
    assert mark and mark["height"] <= 48, f"demo mark missing or tall: {mark}"
    assert page.get_by_text("generated for demonstration").count() == 0, "the full demo banner is still there"
    # The first chart starts near the top: the clutter above it is gone.
    first = page.evaluate(BOX_JS, ".js-plotly-plot")
    assert first and first["top"] <= 140, f"{name}: first chart starts at {first}"


def test_headline_cards_read_on_a_projector(new_context, server, artifacts):
    ctx, page = _page(new_context, f"{server}/?present=1", 1920, 1080)
    screenshot(page, artifacts, "overview-projector")
    sizes = page.evaluate("""() => {
      const px = el => parseFloat(getComputedStyle(el).fontSize);
      const all = sel => [...document.querySelectorAll(sel)].filter(e => e.getBoundingClientRect().height > 0);
      return {
        values: all('[data-testid="stMetricValue"] p').map(px),
        labels: all('[data-testid="stMetricLabel"] p').map(px).concat(all('[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] strong').map(px)),
        badges: all('.stMarkdownBadge').map(px),
        deltas: all('[data-testid="stMetricDelta"] p').map(px),
      };
    }""")
    assert sizes["values"] and min(sizes["values"]) >= 52, f"metric values: {sizes['values']}"
    assert sizes["badges"] and min(sizes["badges"]) >= 24, f"badges: {sizes['badges']}"
    assert min(sizes["labels"]) >= 24 and min(sizes["deltas"]) >= 24, sizes
    contrast = page.evaluate(f"() => ({CONTRAST_JS})([...document.querySelectorAll("
                             "'[data-testid=\"stMainBlockContainer\"] [data-testid=\"stCaptionContainer\"]')])")
    low = [c for c in contrast if c[1] < 4.5]
    assert contrast and not low, f"captions under 4.5:1: {low[:5]}"
    badge_contrast = page.evaluate(f"() => ({CONTRAST_JS})([...document.querySelectorAll('.stMarkdownBadge')])")
    assert not [c for c in badge_contrast if c[1] < 4.5], badge_contrast


def test_share_box_gives_a_whole_link_that_opens_the_same_deck(new_context, server, artifacts):
    d = deck.Deck("Board", (
        deck.make_view("trends", "suspension_trend", {"spa": "6"}, "Suspensions in SPA 6"),
        deck.make_view("funding", "funding_by_spa", {}, "Dollars by SPA"),
    ))
    ctx, page = _page(new_context, f"{server}/present?deck={deck.to_link_param(d)}&step=2", 1920, 1080)
    page.locator(".st-key-deck_tools summary").click()
    code = page.locator(".st-key-deck_tools [data-testid='stCode'] code").first
    code.wait_for(state="visible", timeout=30_000)
    link = code.inner_text().strip()
    assert re.match(r"^http://127\.0\.0\.1:\d+/present\?", link), link
    assert "step=2" in link and "deck=" in link
    other, page2 = _page(new_context, link, 1920, 1080)
    titles = [c["title"] for c in chart_summary(page2)]
    assert titles == ["Dollars by SPA"], titles
    assert page2.get_by_text("Slide 2 of 2").count() >= 1


COUNTY_BOX_JS = """() => {
  const g = document.querySelector('.st-key-slide_box .js-plotly-plot');
  const map = g._fullLayout.map._subplot.map; const b = g.layout.meta.fit_bounds;
  const c = map.getCanvas().getBoundingClientRect();
  const p0 = map.project([b[0], b[1]]), p1 = map.project([b[2], b[3]]);
  return {left: c.left + Math.min(p0.x, p1.x), right: c.left + Math.max(p0.x, p1.x),
          top: c.top + Math.min(p0.y, p1.y), bottom: c.top + Math.max(p0.y, p1.y), canvas_h: c.height};
}"""


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_map_slide_fits_the_county_to_the_screen(new_context, server, artifacts, w, h):
    d = deck.Deck("Map", (deck.make_view("map", "chronic_absenteeism_map"),))
    ctx, page = _page(new_context, f"{server}/present?deck={deck.to_link_param(d)}", w, h)
    # The browser's fit runs on its next tick (later on a loaded machine).
    try:
        page.wait_for_function(f"() => {{ const b = ({COUNTY_BOX_JS})(); "
                               "return b.bottom - b.top >= 0.85 * b.canvas_h; }", timeout=20_000)
    except Exception:  # noqa: BLE001  (the assertions below say what was measured)
        pass
    screenshot(page, artifacts, f"map-slide-fit-{w}x{h}")
    box = page.evaluate(COUNTY_BOX_JS)
    # The whole county on screen, using the map's height (not a zoom chosen for a smaller screen).
    assert box["top"] >= 0 and box["bottom"] <= h and box["left"] >= 0 and box["right"] <= w, box
    assert box["bottom"] - box["top"] >= 0.85 * box["canvas_h"], box
    share = (box["right"] - box["left"]) * (box["bottom"] - box["top"]) / (w * h)
    assert share >= 0.18, f"the county fills {share:.0%} of the screen"  # a tall county on a wide screen


def test_map_slide_fills_the_slide_with_labels_above_the_points(new_context, server, artifacts):
    d = deck.Deck("Map", (deck.make_view("map", "chronic_absenteeism_map"),))
    ctx, page = _page(new_context, f"{server}/present?deck={deck.to_link_param(d)}", 1920, 1080)
    screenshot(page, artifacts, "map-slide-1920")
    info = page.evaluate("""() => {
      const g = document.querySelector('.st-key-slide_box .js-plotly-plot');
      const canvas = g.querySelector('canvas.maplibregl-canvas').getBoundingClientRect();
      const order = g.data.map(t => [t.type, t.mode || '', (t.name || '')]);
      const labels = g.data.findIndex(t => t.type === 'scattermap' && (t.mode || '').includes('text'));
      const points = g.data.findIndex(t => t.type === 'scattermap' && (t.mode || '').includes('markers') && !(t.mode || '').includes('text'));
      return {area: canvas.width * canvas.height, order, labels, points};
    }""")
    # Polygons' own bounding box against the slide: the map itself fills most of the canvas.
    share = info["area"] / (1920 * 1080)
    assert share >= 0.45, f"map canvas is {share:.0%} of the slide"
    assert info["labels"] > info["points"] >= 0, f"labels are not drawn above the points: {info['order']}"
    halos_js = """() => { const m = document.querySelector('.st-key-slide_box .js-plotly-plot')
      ._fullLayout.map._subplot.map; return m.getStyle().layers.filter(l => l.type === 'symbol')
      .map(l => [m.getPaintProperty(l.id, 'text-halo-width'), m.getPaintProperty(l.id, 'text-halo-color')]); }"""
    try:  # the halos are set on the browser's next tick (seconds later on a loaded machine)
        page.wait_for_function(f"() => {{ const h = ({halos_js})(); return h.length && h.every(x => x[0] >= 2); }}",
                               timeout=20_000)
    except Exception:  # noqa: BLE001  (the assertion below says what was measured)
        pass
    halos = page.evaluate(halos_js)
    script = page.evaluate("() => ({ticks: window.__csiMapTicks, error: window.__csiMapError || null, "
                           "bound: !!window.__csiFitMaps})")  # csi_app.mapscript, if it never got there
    assert halos and all(w_ and w_ >= 2 for w_, _ in halos), (halos, script)  # MapLibre's own halo under every label
    names = [o[2] for o in info["order"]]
    assert names.index("SPA label halo") < names.index("SPA labels"), names  # each label on a halo


@pytest.mark.parametrize("points", ["dim", "off"])
def test_map_slide_points_can_be_dimmed_or_switched_off(new_context, server, artifacts, points):
    d = deck.Deck("Map", (deck.make_view("map", "chronic_absenteeism_map", options={"points": points}),))
    ctx, page = _page(new_context, f"{server}/present?deck={deck.to_link_param(d)}", 1920, 1080)
    screenshot(page, artifacts, f"map-slide-points-{points}")
    opacities = page.evaluate("""() => document.querySelector('.st-key-slide_box .js-plotly-plot').data
      .filter(t => (t.name || '').startsWith('Schools: ')).map(t => t.marker.opacity)""")
    if points == "off":
        assert opacities == []
    else:
        assert opacities and max(opacities) <= 0.5, opacities
