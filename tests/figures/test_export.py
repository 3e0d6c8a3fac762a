"""Export: slide layout, the byte cache, and real renders through kaleido and
Debian's Chromium (PNG size read from IHDR, SVG text, PDF pages)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import plotly.graph_objects as go
import pytest

from csi_metrics.figures import charts, export
import support

needs_chromium = pytest.mark.skipif(not Path(export.DEBIAN_CHROMIUM).exists() and not __import__("os").environ.get(
    "BROWSER_PATH"), reason="no Chromium for kaleido")

CAPTION = "Chronically absent students / eligible cumulative enrollment, pooled over the schools shown."
SOURCE = "CDE Chronic Absenteeism Data, demo build"


def _fig(values=(0.31, 0.27, 0.22), name="Community schools") -> go.Figure:
    fig = go.Figure(go.Scatter(x=["2021-22", "2022-23", "2023-24"], y=list(values), name=name))
    return charts.apply_theme(fig)


def test_prepare_bakes_title_caption_source_at_slide_size_without_touching_the_original():
    fig = _fig()
    before = fig.to_plotly_json()
    out = export.prepare(fig, title="Chronic absenteeism", caption=CAPTION, source=SOURCE)
    assert fig.to_plotly_json() == before
    assert (out.layout.width, out.layout.height) == (1920, 1080)
    assert out.layout.title.text == "Chronic absenteeism"
    note = out.layout.annotations[-1].text
    assert CAPTION in note.replace("<br>", " ")
    assert note.endswith(f"Source: {SOURCE}")
    # Two lines (caption, source): a band of 24 + 2*28 px under the room kept for the tick labels.
    band = 24 + 2 * 28
    assert out.layout.margin.b > band
    assert out.layout.annotations[-1].yshift == -out.layout.margin.b + 12
    # Presenter type on a slide.
    assert out.layout.template.layout.font.size == charts.PRESENT_BASE_FONT_PX


def test_prepare_wraps_a_long_caption():
    out = export.prepare(_fig(), caption="word " * 100, terms=False)
    lines = out.layout.annotations[-1].text.split("<br>")
    assert len(lines) == 4  # 500 characters at 140 a line
    assert all(len(line) <= 140 for line in lines)


def test_prepare_keeps_the_figure_title_when_none_given():
    fig = _fig()
    fig.update_layout(title_text="Own title")
    assert export.prepare(fig).layout.title.text == "Own title"
    assert not export.prepare(fig, terms=False).layout.annotations


def test_spec_key_follows_content_and_format():
    a, b = export.prepare(_fig()), export.prepare(_fig())
    assert export.spec_key(a, "png") == export.spec_key(b, "png")
    assert export.spec_key(a, "png") != export.spec_key(a, "svg")
    assert export.spec_key(a, "png") != export.spec_key(export.prepare(_fig((0.3, 0.2, 0.1))), "png")


def test_bad_format_is_refused():
    with pytest.raises(ValueError, match="png, svg, pdf"):
        export.figure_bytes(_fig(), "gif")


def test_png_size_reads_ihdr_and_refuses_other_bytes():
    header = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")
    assert support.png_size(header + b"\x08\x06\x00\x00\x00") == (640, 480)
    with pytest.raises(ValueError):
        support.png_size(b"GIF89a" + b"\x00" * 30)


def test_slug():
    assert export.slug("Chronic absenteeism: SPA 6 (South)") == "chronic-absenteeism-spa-6-south"
    assert export.slug("!!!") == "chart"


@needs_chromium
def test_real_png_svg_pdf_and_cache(monkeypatch):
    monkeypatch.setattr(export, "_cache", type(export._cache)())  # nothing rendered yet
    items = [export.ExportItem(_fig(), "Chronic absenteeism", CAPTION, SOURCE),
             export.ExportItem(_fig((0.12, 0.1, 0.09), "Comparison schools"), "Suspension", "Suspended / enrolled.",
                               SOURCE)]
    pngs = export.render_many(items, "png")
    assert [support.png_size(p) for p in pngs] == [(1920, 1080), (1920, 1080)]
    assert pngs[0] != pngs[1]

    svg = export.figure_bytes(items[0].fig, "svg", title=items[0].title, caption=CAPTION, source=SOURCE).decode()
    assert 'width="1920"' in svg and 'height="1080"' in svg
    assert "Chronic absenteeism" in svg and "Source: CDE Chronic Absenteeism Data, demo build" in svg
    assert "Chronically absent students" in svg

    # Cached: a second request must not start a browser.
    import kaleido

    def no_browser(*_a, **_k):
        raise AssertionError("rendered again instead of using the cache")

    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", no_browser)
    assert export.figure_bytes(items[0].fig, "png", title=items[0].title, caption=CAPTION, source=SOURCE) == pngs[0]
    zipped = zipfile.ZipFile(io.BytesIO(export.deck_png_zip(items, ["Chronic absenteeism", "Suspension"])))
    assert zipped.namelist() == ["01-chronic-absenteeism.png", "02-suspension.png"]
    assert zipped.read("02-suspension.png") == pngs[1]
    monkeypatch.undo()

    from pypdf import PdfReader

    pdf = export.deck_pdf(items)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3  # two slides, then the terms they use
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w / h - 1920 / 1080) < 0.01
    assert "Suspension" in reader.pages[1].extract_text()
    assert "Chronic absenteeism" in reader.pages[0].extract_text()
    # The slides keep their room for the chart; the last page defines their terms.
    assert "Terms:" not in reader.pages[0].extract_text()
    last = " ".join(reader.pages[2].extract_text().split())
    assert "Terms used in this deck" in last and "Chronic absenteeism — Students absent 10%" in last
    assert "R-TAC" not in last


def _demo_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations or () if "DEMO" in (a.text or "")]


def test_the_live_demo_mark_is_put_once_and_gives_way_to_the_exports_own():
    """Issue 17, item 11: the live chart carries a small mark (for Plotly's camera PNG); an
    export replaces it with its own, and a real database's export has none."""
    fig = charts.mark_demo(charts.mark_demo(_fig()))
    assert _demo_texts(fig) == [charts.LIVE_DEMO_MARK]
    assert _demo_texts(_fig()) == []
    demo = export.prepare(fig, title="t", caption=CAPTION, demo=True)
    assert charts.LIVE_DEMO_MARK not in _demo_texts(demo)
    assert f"<b>{export.DEMO_MARK}</b>" in _demo_texts(demo)
    assert _demo_texts(export.prepare(_fig(), title="t", caption=CAPTION)) == []
    assert _demo_texts(charts.without_demo_mark(fig)) == []


def _band(fig: go.Figure) -> str:
    return " ".join((a.text or "").replace("<br>", " ") for a in fig.layout.annotations or ())


def test_an_export_defines_the_glossary_terms_it_uses_and_no_others():
    """Issue 17, item 17: the glossary travels with an exported image."""
    from csi_metrics.vocabulary.words import GLOSSARY

    fig = _fig(name="Community schools")
    out = export.prepare(fig, title="Chronic absenteeism by SPA", caption="Change in pp since 2021-22.",
                         source=SOURCE)
    band = " ".join(_band(out).split())
    assert "Terms: " in band
    for term in ("SPA", "pp", "Community school", "Chronic absenteeism"):
        assert " ".join(f"{term} — {GLOSSARY[term]}".split()) in band, term
    for term in ("R-TAC", "LEA", "TK-8", "CCSPP"):
        assert GLOSSARY[term] not in band, term
    assert band.index("Terms: ") < band.index("Source: ")  # the source stays the last line
    plain = export.prepare(_fig(name="Schools"), title="Rate by year", caption="Pooled over the schools shown.")
    assert "Terms:" not in _band(plain)
    assert "Terms:" not in _band(export.prepare(fig, title="Chronic absenteeism by SPA", terms=False))


def test_a_deck_ends_with_a_page_of_the_terms_its_slides_use():
    from csi_metrics.vocabulary.words import GLOSSARY

    slides = [export.ExportItem(_fig(name="Community schools"), "Chronic absenteeism by SPA", "In pp."),
              export.ExportItem(_fig(name="x"), "R-TAC activities", None, demo=True)]
    page = export.glossary_item(slides)
    text = " ".join(_band(page.fig).split())
    for term in ("SPA", "pp", "Community school", "Chronic absenteeism", "R-TAC"):
        assert " ".join(f"{term} — {GLOSSARY[term]}".split()) in text, term
    assert "LEA" not in text and GLOSSARY["CCSPP"] not in text
    assert page.demo and page.title == "Terms used in this deck" and not page.terms
    assert export.glossary_item([export.ExportItem(_fig(name="a"), "Rate by year")]) is None


def test_the_live_demo_mark_is_projector_size_on_a_slide():
    from csi_metrics.figures import projector

    page = charts.mark_demo(_fig())
    slide = charts.mark_demo(projector.presenter_figure(_fig()))
    page_px, slide_px = ([a.font.size for a in f.layout.annotations if a.name == charts.LIVE_DEMO_NAME][0]
                         for f in (page, slide))
    assert page_px == charts.LIVE_DEMO_PX and slide_px >= projector.MIN_TEXT_PX
    # A phone's narrow slide has no room for projector type: it says its own size.
    phone = charts.mark_demo(projector.presenter_figure(_fig()), size_px=11)
    assert [a.font.size for a in phone.layout.annotations if a.name == charts.LIVE_DEMO_NAME] == [11]


def test_the_live_demo_mark_has_its_own_strip_and_taking_it_off_gives_the_layout_back():
    fig = _fig()
    fig.update_layout(height=500, margin=dict(b=60))
    charts.mark_demo(fig)
    mark = [a for a in fig.layout.annotations if a.name == charts.LIVE_DEMO_NAME][0]
    # Under everything the chart had laid out: the bottom of the figure, in a margin grown for it.
    assert (mark.y, mark.yanchor) == (0, "top") and mark.yshift <= -60  # below the margin the chart had
    assert fig.layout.margin.b > 60 and fig.layout.height == 500  # its box keeps its size: the plot gives way
    charts.without_demo_mark(fig)
    assert (fig.layout.margin.b, fig.layout.height) == (60, 500)
