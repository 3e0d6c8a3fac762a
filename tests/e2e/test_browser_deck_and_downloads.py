"""Stepping through the standard deck with keys and buttons on a 1920x1080
screen, and the files a person takes away: a chart's CSV (suppression kept)
and its PNG (a real 1920x1080 image)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from csi_metrics.vocabulary import codes
from csi_metrics.views import deck
from support import png_size
from e2e_helpers import assert_no_exception, chart_summary, font_sizes, open_page, screenshot, wait_ready

pytestmark = pytest.mark.browser

# Columns that give the size of a group of students: none may show 1-10 (a zero describes nobody).
# A numerator (students chronically absent / suspended) is shown only inside a group of at least
# MIN_N students, as CDE publishes it; see the About page's privacy rules.
STUDENT_COUNT_COLUMNS = ("denominator_n", "enrolled_n", "unique_individuals_n", "students_n")


def _title(page) -> str:
    charts = chart_summary(page)
    assert len(charts) == 1, f"a slide shows one chart, found {len(charts)}"
    return charts[0]["title"]


def _step(page, n: int) -> None:
    page.wait_for_url(re.compile(rf"[?&]step={n}(&|$)"), timeout=60_000)
    wait_ready(page, charts=1)


def test_step_through_the_standard_deck(context, server, artifacts):
    page = open_page(context, f"{server}/present", charts=1)
    total = len(deck.default_deck())
    assert page.get_by_text(f"Slide 1 of {total}").is_visible()
    assert page.locator(".st-key-deck_prev button").is_disabled()
    seen = [_title(page)]
    screenshot(page, artifacts, "deck-slide-01")
    for n in range(2, total + 1):
        if n % 2:
            page.locator(".st-key-deck_next button").click()
        else:
            page.keyboard.press("ArrowRight")
        _step(page, n)
        assert_no_exception(page)
        seen.append(_title(page))
        screenshot(page, artifacts, f"deck-slide-{n:02d}")
        sizes = font_sizes(page)
        small = [t for t in sizes["chart"] + sizes["words"] if t[1] < 24]
        assert not small, f"slide {n}: text under 24 px: {small[:8]}"
        # One screen: the chart and the step buttons fit in 1080 px without scrolling.
        bottom = page.locator(".st-key-deck_next").bounding_box()
        assert bottom and bottom["y"] + bottom["height"] <= 1080, f"slide {n}: step buttons below the fold"
    assert len(set(seen)) == total, f"slides repeat: {seen}"
    assert page.locator(".st-key-deck_next button").is_disabled()
    page.keyboard.press("ArrowRight")  # past the end: stays
    page.keyboard.press("ArrowLeft")
    _step(page, total - 1)
    assert _title(page) == seen[-2]
    page.keyboard.press("PageUp")
    _step(page, total - 2)
    assert _title(page) == seen[-3]
    assert not context.watch.problems(), context.watch.problems()


def _open_table(page, nth: int = 0) -> None:
    box = page.locator('[data-testid="stExpander"]').filter(has_text="Table and CSV").nth(nth)
    box.locator("summary").click()
    # Opened when its table has drawn: the CSV button's own position is then final.
    box.locator('[data-testid="stDataFrame"]').wait_for(state="visible", timeout=60_000)


def test_csv_download_matches_its_table_and_hides_small_counts(context, server, artifacts):
    page = open_page(context, f"{server}/equity?metric=chronic_absenteeism&spa=1", charts=1)
    _open_table(page)
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download CSV").first
    media: list[str] = []
    page.on("request", lambda r: media.append(r.url) if "/media/" in r.url else None)
    try:
        with page.expect_download(timeout=60_000) as info:
            button.click()
        dl = info.value
    except Exception as exc:
        # What the next person needs to tell a harness race from a broken button.
        page.screenshot(path=str(artifacts / "NOT-DOWNLOADED-equity-csv.png"))
        state = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")
        raise AssertionError(f"no download after clicking Download CSV: {exc}; script state {state!r}; "
                             f"button enabled {button.is_enabled()}; /media/ requests {media}") from exc
    target = artifacts / f"download-{dl.suggested_filename}"
    dl.save_as(str(target))
    # The file names its view and says, above its header, the filters, the source and DEMO DATA.
    name = dl.suggested_filename
    assert name.startswith("csi-equity-chronic-absenteeism-") and "-spa1" in name and name.endswith(".csv"), name
    lines = Path(target).read_text(encoding="utf-8").splitlines()
    notes = [line for line in lines if line.startswith("# ")]
    assert any(n.startswith("# Filters: ") for n in notes) and any(n.startswith("# Source: ") for n in notes), notes
    assert any(n.startswith("# DEMO DATA") for n in notes), notes
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in lines if not line.startswith("# ")))))
    assert rows, "the CSV has no rows"
    header = list(rows[0])
    assert {"student_group", "rate"} <= set(header), header
    groups = {r["student_group"] for r in rows}
    assert groups <= set(codes.REPORTING_CATEGORIES) | set(codes.EXTRA_CATEGORIES), groups
    counted = [c for c in STUDENT_COUNT_COLUMNS if c in header]
    assert counted, f"no student count column in {header}"
    for r in rows:
        for c in counted:
            if r[c] not in ("", None):
                v = float(r[c])
                assert not 0 < v < codes.MIN_N, f"{c}={r[c]} for {r['student_group']}: under {codes.MIN_N} students"
        if r.get("numerator_n") not in ("", None):
            assert r.get("denominator_n") not in ("", None) and float(r["denominator_n"]) >= codes.MIN_N, \
                f"a count shown outside a group of {codes.MIN_N}+ students: {r}"
        if r.get("suppressed") == "true":
            assert r["rate"] == "", f"suppressed row shows a rate: {r}"
    assert_no_exception(page)
    assert not context.watch.problems(), context.watch.problems()


def test_png_export_is_a_1920x1080_image(context, server, artifacts):
    page = open_page(context, f"{server}/trends?metric=chronic_absenteeism&by=community", charts=2)
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="PNG").first
    with page.expect_download(timeout=180_000) as info:
        button.click()
    dl = info.value
    target = artifacts / f"download-{dl.suggested_filename}"
    dl.save_as(str(target))
    data = target.read_bytes()
    assert dl.suggested_filename.endswith(".png")
    assert png_size(data) == (1920, 1080)
    assert len(data) > 20_000, "suspiciously small PNG: a blank image?"
    assert_no_exception(page)
    assert not context.watch.problems(), context.watch.problems()


def test_plotly_own_camera_png_carries_the_demo_mark(context, server, artifacts):
    """Issue 17, item 11: the toolbar's camera saves the live figure, past our export
    buttons; on the demo that figure carries the DEMO DATA mark, so its PNG does."""
    from csi_metrics.figures import charts

    page = open_page(context, f"{server}/funding", charts=3)
    marks = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(gd => (gd.layout.annotations || []).map(a => a.text).filter(t => t.includes('DEMO')))""")
    assert marks and all(m == [charts.LIVE_DEMO_MARK] for m in marks), marks
    chart = page.locator(".js-plotly-plot").first
    chart.hover()
    with page.expect_download(timeout=60_000) as got:
        chart.locator('.modebar-btn[data-title^="Download"]').first.click()
    path = artifacts / "camera-funding.png"
    got.value.save_as(path)
    assert png_size(path.read_bytes()) == (1920, 1080)  # the project's toImageButtonOptions
    screenshot(page, artifacts, "camera-funding-page")
