"""Exports that travel alone (issue 17): a DEMO DATA mark inside a demo image, no page
instructions, notes at presenter size that run into nothing, month labels clear of
the caption, and a title that names its measure. Real renders (kaleido, Debian's
Chromium); the SVG's text is then measured in Chromium (Playwright bounding boxes)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from csi_metrics.figures import export
from csi_metrics.views import catalogue
from csi_metrics.vocabulary.filters import Filters
from tools import localserver

pytestmark = pytest.mark.skipif(not Path(localserver.CHROMIUM).exists(), reason="no Chromium")

MIN_TEXT_PX = 20


def _item(demo_con, chart_id, **given) -> export.ExportItem:
    d = catalogue.render_on(demo_con, chart_id, Filters(year="2023-24"), choices_=given)
    return export.ExportItem(d.fig, d.title, d.caption, d.source, demo=True)


MEASURE_JS = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const texts = sel => [...document.querySelectorAll(sel)].filter(e => (e.textContent || '').trim())
      .map(e => ({text: e.textContent.trim(), box: box(e),
                  px: parseFloat(getComputedStyle(e).fontSize)}));
  return {xticks: texts('.xtick text'), notes: texts('.annotation-text'), title: texts('.gtitle'),
          legend: texts('.legend text')};
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


def _measure(svgs: list[bytes]) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=localserver.CHROMIUM, args=localserver.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": export.WIDTH_PX, "height": export.HEIGHT_PX})
        for svg in svgs:
            page.set_content(f"<html><body style='margin:0'>{svg.decode()}</body></html>")
            out.append(page.evaluate(MEASURE_JS))
        browser.close()
    return out


@pytest.mark.browser
def test_exported_words_are_large_inside_the_image_and_run_into_nothing(demo_con):
    items = [_item(demo_con, "activities_by_month"), _item(demo_con, "trend", metric="suspension"),
             _item(demo_con, "did", metric="suspension"), _item(demo_con, "by_spa", metric="suspension"),
             _item(demo_con, "equity", metric="suspension")]
    svgs = export.render_many(items, "svg")
    for item, m in zip(items, _measure(svgs)):
        words = m["notes"] + m["title"]
        assert any("DEMO DATA" in w["text"] for w in m["notes"]), item.title
        for w in words + m["xticks"]:
            if w["text"] == "DEMO DATA":
                continue  # the faint mark across the plot
            assert w["px"] >= MIN_TEXT_PX, (item.title, w)
            x0, y0, x1, y1 = w["box"]
            assert x0 >= 0 and y0 >= 0 and x1 <= export.WIDTH_PX + 1 and y1 <= export.HEIGHT_PX + 1, (item.title, w)
        placed = [w for w in words if w["text"] != "DEMO DATA"]
        for i, a in enumerate(placed):
            for b in placed[i + 1:] + m["xticks"]:
                assert not _overlap(a["box"], b["box"]), (item.title, a["text"][:60], b["text"][:60])


@pytest.mark.browser
def test_a_demo_pdf_carries_the_mark_and_the_did_title_names_its_measure(demo_con):
    from pypdf import PdfReader

    items = [_item(demo_con, "did", metric="suspension"), _item(demo_con, "activities_by_month")]
    text = [p.extract_text() for p in PdfReader(io.BytesIO(export.deck_pdf(items))).pages]
    assert all("DEMO DATA" in t for t in text)
    assert "Suspension rate" in text[0].split("\n")[0] or "Suspension rate: change" in text[0]
    real = export.figure_bytes(items[0].fig, "svg", title=items[0].title).decode()
    assert "DEMO DATA" not in real  # the mark is for the demo only


def test_the_map_export_words_leave_out_the_page_instructions(demo_con):
    from csi_app import show

    d = catalogue.render_on(demo_con, "map", Filters(year="2023-24"))
    words = show.export_caption(d)
    assert words and "Click" not in words and d.note.split(".")[0] in words
