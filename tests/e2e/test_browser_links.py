"""Shareable views: a URL copied in any state (page, filters, page controls,
presenter mode, deck and step) opens the same view in a colleague's browser."""

from __future__ import annotations

import re

import pytest

from csi_metrics.views import deck
from e2e_helpers import assert_no_exception, chart_summary, font_sizes, open_page, screenshot, wait_ready

pytestmark = pytest.mark.browser

SIDEBAR_STATE_JS = """
() => [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stSelectbox"], '
                                   + '[data-testid="stSidebar"] [data-testid="stRadio"]')]
        .map(el => {
          const label = (el.querySelector('label') || {}).innerText || '';
          const checked = el.querySelector('input[type=radio]:checked');
          const combo = el.querySelector('input[role="combobox"]');
          const value = checked ? checked.closest('label').innerText : combo ? combo.value : el.innerText;
          return [label.trim(), value.trim()];
        })
"""


def _choose(page, label: str, option: str) -> None:
    """Pick `option` in the sidebar selectbox labelled `label`, the way a person does."""
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _titles(page) -> list[str]:
    return [c["title"] for c in chart_summary(page)]


def _data(page) -> list:
    return [(c["title"], [(t["name"], t["data"]) for t in c["traces"]]) for c in chart_summary(page)]


def test_filters_changed_in_the_sidebar_survive_a_copied_link(new_context, server, artifacts):
    ctx = new_context()
    page = open_page(ctx, f"{server}/trends?metric=suspension&by=school_type", charts=2)
    before = _data(page)
    _choose(page, "Service Planning Area", "SPA 6 South")
    page.wait_for_url(re.compile(r"[?&]spa=6(&|$)"), timeout=60_000)
    wait_ready(page, charts=2)
    page.locator('[data-testid="stSidebar"] [data-testid="stRadio"] label').filter(has_text="Community schools").click()
    page.wait_for_url(re.compile(r"[?&]community=community(&|$)"), timeout=60_000)
    wait_ready(page, charts=2)
    assert_no_exception(page)
    shared = page.url
    assert "metric=suspension" in shared and "by=school_type" in shared
    state, data = page.evaluate(SIDEBAR_STATE_JS), _data(page)
    assert data != before, "changing SPA and schools did not change the charts"
    screenshot(page, artifacts, "link-trends-original")

    other = new_context()
    page2 = open_page(other, shared, charts=2)
    screenshot(page2, artifacts, "link-trends-reopened")
    assert_no_exception(page2)
    assert page2.evaluate(SIDEBAR_STATE_JS) == state
    assert _data(page2) == data
    assert dict(page2.evaluate(SIDEBAR_STATE_JS))["Service Planning Area"] == "SPA 6 South"
    assert not ctx.watch.problems() and not other.watch.problems(), ctx.watch.problems() + other.watch.problems()


def test_presenter_mode_travels_in_the_link(new_context, server, artifacts):
    ctx = new_context()
    page = open_page(ctx, f"{server}/equity?spa=4&metric=chronic_absenteeism", charts=1)
    page.locator('[data-testid="stSidebar"]').get_by_text("Presenter mode").click()
    page.wait_for_url(re.compile(r"[?&]present=1(&|$)"), timeout=60_000)
    wait_ready(page, charts=1)
    shared = page.url
    assert "spa=4" in shared

    other = new_context()
    page2 = open_page(other, shared, charts=1)
    screenshot(page2, artifacts, "link-equity-presenter-reopened")
    assert_no_exception(page2)
    assert page2.locator('[data-testid="stSidebar"]').is_hidden()
    assert _data(page2) == _data(page)
    sizes = font_sizes(page2)
    assert sizes["chart"] and min(px for _, px in sizes["chart"]) >= 24, sizes["chart"]

    page2.get_by_role("button", name=re.compile("Exit presenter mode")).click()
    page2.wait_for_url(lambda u: "present=1" not in u, timeout=60_000)
    wait_ready(page2, charts=1)
    assert page2.locator('[data-testid="stSidebar"]').is_visible()
    assert not ctx.watch.problems() and not other.watch.problems(), ctx.watch.problems() + other.watch.problems()


def test_a_deck_link_opens_that_deck_at_that_slide(new_context, server, artifacts):
    d = deck.Deck("Board, March", (
        deck.make_view("trends", "suspension_trend", {"spa": "6"}, "Suspension in the South SPA"),
        deck.make_view("funding", "funding_by_spa", {}, "Where the CCSPP dollars went"),
        deck.make_view("activities", "activities_by_month", {"spa": "4"}, "R-TAC work in Metro"),
    ))
    ctx = new_context()
    page = open_page(ctx, f"{server}/present?deck={deck.to_link_param(d)}&step=2", charts=1)
    assert _titles(page) == ["Where the CCSPP dollars went"]
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"[?&]step=3(&|$)"), timeout=60_000)
    wait_ready(page, charts=1)
    assert _titles(page) == ["R-TAC work in Metro"]
    shared = page.url

    other = new_context()
    page2 = open_page(other, shared, charts=1)
    screenshot(page2, artifacts, "link-deck-step3-reopened")
    assert_no_exception(page2)
    assert _titles(page2) == ["R-TAC work in Metro"]
    assert page2.get_by_text("Slide 3 of 3").is_visible()
    assert _data(page2) == _data(page)
    assert not ctx.watch.problems() and not other.watch.problems(), ctx.watch.problems() + other.watch.problems()


def test_a_broken_deck_link_falls_back_with_a_notice(context, server):
    page = open_page(context, f"{server}/present?deck=not-a-deck&step=99", charts=1)
    assert_no_exception(page)
    alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
    assert "could not be read" in alerts and "There is no slide 99" in alerts
    n = len(deck.default_deck())
    assert page.get_by_text(f"Slide {n} of {n}").is_visible()
    assert not context.watch.problems(), context.watch.problems()


def test_a_selected_school_survives_a_copied_link(new_context, server, artifacts):
    ctx = new_context()
    page = open_page(ctx, f"{server}/schools?spa=3", charts=0)
    page.locator('[data-testid="stMain"]').get_by_role("combobox", name="School", exact=True).click()
    option = page.get_by_role("option").filter(has_not_text="Choose a school").first
    picked = option.inner_text().strip()
    option.click()
    page.wait_for_url(re.compile(r"[?&]school=\d{14}(&|$)"), timeout=60_000)
    wait_ready(page, charts=2)
    assert_no_exception(page)
    cds = re.search(r"[?&]school=(\d{14})", page.url).group(1)
    assert cds in picked
    header = page.locator('[data-testid="stMain"] h2').first.inner_text()
    data = _data(page)
    shared = page.url

    other = new_context()
    page2 = open_page(other, shared, charts=2)
    screenshot(page2, artifacts, "link-school-reopened")
    assert_no_exception(page2)
    assert page2.locator('[data-testid="stMain"] h2').first.inner_text() == header
    assert _data(page2) == data
    assert not ctx.watch.problems() and not other.watch.problems(), ctx.watch.problems() + other.watch.problems()


def test_a_deep_link_opens_the_dashboard_even_as_the_first_visit_after_a_restart(server):
    """A leader opens a forwarded /trends?... link after the server restarted. With a
    `pages/` folder beside dashboard.py, Streamlit runs that folder's file directly
    (its old multipage mode) until the entry script has run once: no sidebar
    filters, a file-list navigation, the URL's filters ignored."""
    seen = server.first_deep_link
    assert seen is not None
    assert seen["sidebar_filters"], (
        "the first visit after start-up by a deep link did not run dashboard.py "
        f"(navigation seen: {seen['nav']}); see test-artifacts/e2e/first-visit-deep-link.png")


@pytest.mark.parametrize("path", ["/overview", "/overview?present=1", "/"])
def test_the_overview_address_opens_without_a_page_not_found_dialog(new_context, server, artifacts, path):
    """Issue 17 #2: the Overview's own address (as the sidebar link and a shared link give it)
    opened a "Page not found" pop-up over the headline."""
    page = open_page(new_context(), server + path, charts=1)
    page.wait_for_timeout(1500)  # the dialog appears after the first run settles
    assert_no_exception(page)
    body = page.locator("body").inner_text()
    assert "Page not found" not in body, f"{path}: a 'Page not found' dialog is shown"
    assert page.get_by_role("dialog").count() == 0, f"{path}: a dialog is open over the page"
    screenshot(page, artifacts, "link-overview" + path.replace("/", "-").replace("?", "-").replace("=", ""))
