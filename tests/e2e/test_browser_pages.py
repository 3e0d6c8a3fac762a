"""Every page, in normal and presenter mode, in Debian's Chromium at 1920x1080
with the network cut off: no Streamlit exception, no console error, charts drawn
with data (the map's MapLibre canvas too), presenter type at least 24 px."""

from __future__ import annotations

import pytest

from e2e_helpers import TIMINGS, assert_no_exception, chart_summary, first_chart_ms, font_sizes, open_page, screenshot

pytestmark = pytest.mark.browser

# page url_path -> how many charts must be drawn at least (0: the page may have none).
PAGES = {
    "overview": 1,
    "map": 1,
    "trends": 2,
    "equity": 1,
    "funding": 2,
    "activities": 1,
    "schools": 0,
    "about": 0,
    "present": 1,
}
MIN_PRESENT_PX = 24


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presenter"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_offline(context, server, artifacts, name, present):
    # The default page lives at the root: /overview is not its address (Streamlit says so in the console).
    url = f"{server}/{'' if name == 'overview' else name}" + ("?present=1" if present else "")
    page = open_page(context, url, charts=PAGES[name])
    label = f"{name}-{'presenter' if present else 'normal'}"
    screenshot(page, artifacts, label)
    assert_no_exception(page)

    charts = chart_summary(page)
    assert len(charts) >= PAGES[name], f"{name}: expected at least {PAGES[name]} charts, found {len(charts)}"
    assert sum(1 for c in charts if c["traces"]) >= PAGES[name], f"{name}: too few charts with data"
    for c in charts:
        if not c["traces"]:
            # An empty chart must say why ("Not enough years to compare"), never be a blank box.
            assert any(n.strip() for n in c["notes"]), f"{name}: chart {c['title']!r} is empty and says nothing"
            continue
        if c["maps"]:
            assert c["mapSize"] > 0, f"{name}: the MapLibre canvas of {c['title']!r} has no size"
        else:
            assert any(t["n"] > 0 for t in c["traces"]), f"{name}: chart {c['title']!r} has no points"
    if name == "map":
        assert any(c["maps"] for c in charts), "map page: no MapLibre canvas"

    ms = first_chart_ms(page)
    if charts:
        assert ms is not None
        TIMINGS[label] = ms
        print(f"time to first chart, {label}: {ms / 1000:.2f} s")

    if present or name == "present":
        hidden = page.evaluate("""() => ['stSidebar', 'stHeader', 'stToolbar', 'stMainMenu'].map(id => {
            const el = document.querySelector(`[data-testid="${id}"]`);
            return [id, !el || el.getBoundingClientRect().width === 0 || getComputedStyle(el).display === 'none'];
        })""")
        assert all(ok for _, ok in hidden), f"{name}: chrome still visible in presenter mode: {hidden}"
        sizes = font_sizes(page)
        small = [t for t in sizes["chart"] + sizes["words"] if t[1] < MIN_PRESENT_PX]
        assert sizes["chart"] or not charts, f"{name}: found no chart text to measure"
        assert not small, f"{name}: text under {MIN_PRESENT_PX} px in presenter mode: {small[:10]}"

    problems = context.watch.problems()
    assert not problems, f"{name}: " + "\n".join(problems)
