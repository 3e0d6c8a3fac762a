"""A page's picture before its front end loads (csi_app.firstpaint, issue 18), in Chromium:
once one visitor has opened a view, the next new browser on that link gets the page's
title and first chart in the HTML itself, drawn before any live chart, showing the same
chart and the same headline numbers, and it gives way to the live page once that draws.
Screenshots: test-artifacts/e2e/first-paint-*."""

from __future__ import annotations

import time
import urllib.request

import pytest

from csi_app import firstpaint
from csi_metrics.figures import narrow
from e2e_helpers import PHONE_UA, assert_no_exception, open_page, screenshot, wait_ready

pytestmark = pytest.mark.browser

SHELL = f"#{firstpaint.SHELL_ID}"
# When the picture's first image was on the screen and when the first live chart was drawn.
TIMES_JS = f"""
(() => {{
  window.__pictureMs = null; window.__liveMs = null;
  const t = setInterval(() => {{
    const img = document.querySelector('{SHELL} img, {SHELL} .fp-card');
    if (window.__pictureMs === null && img && (img.tagName !== 'IMG' || (img.complete && img.naturalWidth)))
      window.__pictureMs = performance.now();
    if ([...document.querySelectorAll('.js-plotly-plot')].some(el => el.data && el.data.length)) {{
      window.__liveMs = performance.now(); clearInterval(t); }}
  }}, 10);
}})();
"""

# What, if anything, was ever drawn over the picture's first image while both were on the screen.
COVERED_JS = f"""
(() => {{
  window.__coveredBy = null;
  const t = setInterval(() => {{
    const img = document.querySelector('{SHELL} img');
    if (!img) {{ if (document.querySelector('.js-plotly-plot')) clearInterval(t); return; }}
    const r = img.getBoundingClientRect(), e = document.elementFromPoint(r.left + 20, r.top + 20);
    if (e && !e.closest('{SHELL}') && window.__coveredBy === null)
      window.__coveredBy = e.closest('[data-testid]') ? e.closest('[data-testid]').dataset.testid : e.tagName;
  }}, 10);
}})();
"""


def _wait_for_picture(url: str, user_agent: str | None = None, timeout_s: float = 90) -> str:
    """The page's HTML once it carries its picture (rendered in the background after the first visit)."""
    deadline = time.monotonic() + timeout_s
    while True:
        req = urllib.request.Request(url, headers={"User-Agent": user_agent} if user_agent else {})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read().decode("utf-8")
        if firstpaint.SHELL_ID in body:
            return body
        assert time.monotonic() < deadline, f"no picture for {url} after {timeout_s:g} s"
        time.sleep(0.5)


def _next_visitor(new_context, url: str, shown: str, init_script: str | None = None):
    """One visitor opens `url` (a first run, recorded); once its picture is in the HTML, a new
    browser opens it too and waits for `shown` inside the picture."""
    first = open_page(new_context(), url, charts=1)
    assert_no_exception(first)
    _wait_for_picture(url)
    ctx = new_context()
    if init_script:
        ctx.add_init_script(init_script)
    page = ctx.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f"{SHELL} {shown}", timeout=30_000)
    return ctx, page


def _normal(text: str) -> str:
    return "".join(text.split())


def test_a_new_browser_sees_the_chart_before_the_front_end_draws_it(new_context, server, artifacts):
    ctx, page = _next_visitor(new_context, f"{server}/equity?year=2023-24", "img", TIMES_JS)
    screenshot(page, artifacts, "first-paint-equity-1920")
    shown = page.evaluate(f"""() => [...document.querySelectorAll('{SHELL} img')].map(i => (
        {{alt: i.alt, ok: i.complete && i.naturalWidth > 0, w: i.getBoundingClientRect().width}}))""")
    assert shown and all(s["ok"] and s["w"] > 300 for s in shown), shown
    assert page.locator(f"{SHELL} h1").inner_text() == "Equity"

    wait_ready(page, charts=1)
    page.wait_for_selector(SHELL, state="detached", timeout=30_000)  # gives way to the live page
    t = page.evaluate("() => ({picture: window.__pictureMs, live: window.__liveMs})")
    assert t["picture"] is not None and t["live"] is not None and t["picture"] < t["live"], t
    # The same chart: the picture's first image is the live page's first chart.
    live_title = page.locator(".js-plotly-plot .gtitle").first.text_content()
    assert _normal(shown[0]["alt"]) == _normal(live_title)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Equity"
    assert_no_exception(page)
    problems = ctx.watch.problems()
    assert not problems, "\n".join(problems)


def test_a_phone_gets_the_phones_picture(phone, server, artifacts):
    url = f"{server}/funding?year=2023-24"
    open_page(phone, url, charts=1)
    html = _wait_for_picture(url, PHONE_UA)
    assert f'width="{narrow.PAGE_PX}"' in html  # laid out for a phone's page, not a desktop's

    page = phone.new_page()  # another session on the same phone
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f"{SHELL} img", timeout=30_000)
    screenshot(page, artifacts, "first-paint-funding-phone")
    box = page.locator(f"{SHELL} img").first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, box  # inside the phone's screen
    title = page.locator(f"{SHELL} .fp-chart-title").first.inner_text()  # a phone's chart title is page text
    wait_ready(page, charts=1)
    page.wait_for_selector(SHELL, state="detached", timeout=30_000)
    assert _normal(title) in _normal(page.locator('[data-testid="stMain"]').inner_text())


def test_the_overviews_picture_holds_the_headline_numbers_the_page_shows(new_context, server, artifacts):
    ctx, page = _next_visitor(new_context, f"{server}/?year=2023-24", ".fp-card")
    screenshot(page, artifacts, "first-paint-overview-1920")
    pictured = page.locator(f"{SHELL} .fp-value").all_inner_texts()
    lede = page.locator(f"{SHELL} .fp-lede").inner_text()
    wait_ready(page, charts=1)
    page.wait_for_selector(SHELL, state="detached", timeout=30_000)
    live = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert pictured and pictured == live[:len(pictured)], (pictured, live)
    assert lede == page.locator('[data-testid="stMain"] h3').first.inner_text()


def test_a_slides_picture_is_the_slide_without_a_page_heading(new_context, server, artifacts):
    # A projector shows the slide's chart under its own title; the picture was headed
    # "Presenter", a word the slide never shows, and pushed the chart down the screen.
    ctx, page = _next_visitor(new_context, f"{server}/present?step=2", "img", COVERED_JS)
    img = page.locator(f"{SHELL} img").first
    box, alt, width = img.bounding_box(), img.get_attribute("alt"), int(img.get_attribute("width"))
    screenshot(page, artifacts, "first-paint-present-1920")
    assert page.locator(f"{SHELL} h1").count() == 0
    # Laid out for the slide, not a page chart: it fills the screen's height and stays on it.
    assert box and box["height"] >= 0.6 * 1080 and box["y"] + box["height"] <= 1080, box
    assert width >= 1600, width
    wait_ready(page, charts=1)
    page.wait_for_selector(SHELL, state="detached", timeout=30_000)
    # Nothing of the page drawn over it while it showed (the sidebar the front end draws before presenting hides it).
    assert page.evaluate("() => window.__coveredBy") is None
    live_title = page.locator(".st-key-slide_box .js-plotly-plot .gtitle").first.text_content()
    assert _normal(alt) == _normal(live_title)
    live = page.locator(".st-key-slide_box").bounding_box()  # where the slide is, so no jump when it takes over
    assert abs(live["x"] - box["x"]) <= 8 and abs(live["width"] - box["width"]) <= 0.05 * live["width"], (box, live)
    assert_no_exception(page)
