"""Every page on a phone (390 x 844, a phone's User-Agent and touch): nothing wider
than the screen, no chart toolbar over a chart, no chart text run off the screen
or a legend over a title, horizontal bars thick and long enough to read, and the
Schools table showing the school's name and its rates without scrolling sideways.
Screenshots: test-artifacts/e2e/phone-<page>.png (the whole page)."""

from __future__ import annotations

import pytest

from e2e_helpers import PHONE, wait_ready

pytestmark = pytest.mark.browser

PAGES = ["", "map", "trends", "equity", "funding", "activities", "schools", "about", "present"]
MIN_BAR_PX = 12        # a horizontal bar's thickness
MIN_LONGEST_BAR = 0.3  # the longest horizontal bar, as a share of the screen's width

LAYOUT_JS = """
() => {
  const W = window.innerWidth;
  const box = el => el.getBoundingClientRect();
  const shown = el => { const r = box(el); return r.width > 0 && r.height > 0 && getComputedStyle(el).display !== 'none'
                                                  && getComputedStyle(el).visibility !== 'hidden'; };
  const main = document.querySelector('[data-testid="stMain"]');
  const out = {W, doc: document.documentElement.scrollWidth, main: main ? main.scrollWidth : 0, charts: []};
  for (const g of document.querySelectorAll('.js-plotly-plot')) {
    const gb = box(g);
    if (!gb.width || !gb.height) { continue; }
    const texts = [...g.querySelectorAll('.gtitle, .legend, .annotation, .xtick text, .ytick text, .g-xtitle, .g-ytitle, .bartext')]
      .filter(shown).map(el => ({cls: (el.getAttribute('class') || ''), text: (el.textContent || '').slice(0, 30),
                                 l: box(el).left, r: box(el).right, t: box(el).top, b: box(el).bottom}));
    // Plotly fades its toolbar in on a hover or a tap: laid out (not display: none) means it can cover the title.
    const modebar = [...g.querySelectorAll('.modebar')].filter(el => box(el).width > 0 && !el.closest('[style*="display: none"]')
                                                             && getComputedStyle(el.closest('.modebar-container') || el).display !== 'none').length;
    const title = g.querySelector('.gtitle');
    const legend = g.querySelector('.legend');
    const rect = el => el && shown(el) ? (({left, right, top, bottom}) => ({left, right, top, bottom}))(box(el)) : null;
    const hbars = [];
    for (const t of (g._fullData || [])) {
      if (t.type === 'bar' && t.orientation === 'h') { hbars.push(t.uid); }
    }
    const bars = hbars.length ? [...g.querySelectorAll('.barlayer .point path')].filter(shown)
      .map(p => ({w: box(p).width, h: box(p).height})) : [];
    out.charts.push({title: (g._fullLayout.title && g._fullLayout.title.text) || '', texts, modebar,
                     titleBox: rect(title), legendBox: rect(legend), bars});
  }
  const grid = document.querySelector('[data-testid="stDataFrame"] .dvn-scroller');
  out.grid = grid ? {scroll: grid.scrollWidth, client: grid.clientWidth} : null;
  return out;
}
"""


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("name", PAGES, ids=lambda p: p or "overview")
def test_every_page_reads_on_a_phone(phone, server, artifacts, name):
    page = phone.new_page()
    page.goto(f"{server.url}/{name}", wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page)
    facts = page.evaluate(LAYOUT_JS)
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": PHONE["width"], "height": min(int(height) + 40, 12_000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / f"phone-{name or 'overview'}.png"))
    page.set_viewport_size(PHONE)

    W = facts["W"]
    assert facts["doc"] <= W and facts["main"] <= W, f"{name}: the page is wider than the screen: {facts['doc']}, {facts['main']}"
    problems = []
    for c in facts["charts"]:
        label = c["title"][:40] or "chart"
        if c["modebar"]:
            problems.append(f"{label}: the toolbar is shown")
        for t in c["texts"]:
            if t["l"] < -1 or t["r"] > W + 1:
                problems.append(f"{label}: {t['cls']} {t['text']!r} runs off the screen ({t['l']:.0f}..{t['r']:.0f})")
        if c["titleBox"] and c["legendBox"] and _overlap(c["titleBox"], c["legendBox"]):
            problems.append(f"{label}: the legend is over the title")
        if c["bars"]:
            thin = [b for b in c["bars"] if b["h"] < MIN_BAR_PX]
            if thin:
                problems.append(f"{label}: {len(thin)} bars thinner than {MIN_BAR_PX} px")
            if max(b["w"] for b in c["bars"]) < MIN_LONGEST_BAR * W:
                problems.append(f"{label}: the longest bar is {max(b['w'] for b in c['bars']):.0f} px, a sliver")
    assert not problems, f"{name}: " + "; ".join(problems[:12])
    if name == "schools":
        assert facts["grid"] and facts["grid"]["scroll"] <= facts["grid"]["client"] + 2, \
            f"the Schools table scrolls sideways: {facts['grid']}"
        headers = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"] [role=\"columnheader\"]')]"
                                ".map(e => e.textContent.trim())")
        assert "School" in headers and any("Chronic absenteeism" in h for h in headers) \
            and any("Suspension" in h for h in headers), headers
