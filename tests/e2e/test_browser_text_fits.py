"""Chart text that fits: every page of the navigation at 1440x900 (the smallest laptop
a leader presents from) and at 1920x1080 in presenter mode, measured in the DOM by
the bounding boxes of Plotly's SVG text (title, legend, notes, ticks, axis titles,
bar and point labels): nothing cut at the chart's own edge or by the legend's box,
no title under its legend, no note over tick labels, the legend, the title or
another note, no two value labels over each other or a reference line through one,
no tick labels running together, no text truncated with an ellipsis ("..." or "…"),
no headline label cut by the page's CSS. The Schools table at 1440 shows a school's
name, its rates and its Dashboard colours without scrolling sideways. On a phone
(390x844) the school profile's comparison chart keeps its legend names whole and
the Presenter page's words are phone-size, like its chart.

Screenshots: test-artifacts/e2e/fit-<page>-<size>.png."""

from __future__ import annotations

import os

import pytest

from e2e_helpers import PHONE, assert_no_exception, wait_ready

pytestmark = pytest.mark.browser

PAGES = ["", "map", "trends", "equity", "funding", "activities", "schools", "about", "present"]
LAPTOP = {"width": 1440, "height": 900}
PROJECTOR = {"width": 1920, "height": 1080}
# The Schools table's columns a reader needs without scrolling, by their headers.
TABLE_FIRST = ("School", "Chronic absenteeism %", "Absenteeism colour", "Suspension %", "Suspension colour")
PHONE_TEXT_MAX_PX = 18   # page words on a phone: body size, not a projector's 24 px

FIT_JS = """
() => {
  const box = el => el.getBoundingClientRect();
  const R = el => { const r = box(el); return {l: r.left, r: r.right, t: r.top, b: r.bottom, w: r.width, h: r.height}; };
  const visible = el => {
    const r = box(el);
    if (!(r.width > 0 && r.height > 0)) { return false; }
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') { return false; }
    }
    return true;
  };
  const kinds = {title: '.gtitle', legend: '.legendtext', note: '.annotation-text', tick: '.xtick text, .ytick text',
                 axis: '.g-xtitle text, .g-ytitle text', bartext: '.bartext, .textpoint text', slice: '.slicetext',
                 colorbar: '.colorbar text'};
  const charts = [];
  for (const g of document.querySelectorAll('.js-plotly-plot')) {
    const svg = g.querySelector('svg.main-svg');
    if (!svg || !visible(svg)) { continue; }
    const texts = [];
    for (const [kind, sel] of Object.entries(kinds)) {
      for (const el of g.querySelectorAll(sel)) {
        if (!visible(el) || !(el.textContent || '').trim()) { continue; }
        // A treemap shrinks a label to its box by a transform, not by its font size: the type as drawn.
        const m = el.getScreenCTM && el.getScreenCTM();
        const t = {kind, text: el.textContent.trim(), ...R(el), fs: parseFloat(getComputedStyle(el).fontSize),
                   drawn: parseFloat(getComputedStyle(el).fontSize) * (m ? Math.hypot(m.a, m.b) : 1),
                   turned: (el.getAttribute('transform') || '').includes('rotate')};
        const legend = el.closest('.legend');
        const bg = legend && legend.querySelector('.bg');
        if (kind === 'legend' && bg) { t.clip = R(bg); }
        texts.push(t);
      }
    }
    const bg = g.querySelector('.legend .bg');
    // Reference lines (a dashed "All students" line): thin and tall shapes.
    const lines = [...g.querySelectorAll('.shapelayer path')].map(R).filter(r => r.w < 4 && r.h > 20);
    charts.push({title: (g._fullLayout.title && g._fullLayout.title.text) || '', svg: R(svg), texts, lines,
                 legend: bg && visible(bg) ? R(bg) : null});
  }
  // A headline label Streamlit's CSS cuts with an ellipsis: wider inside than its box.
  const metrics = [...document.querySelectorAll('[data-testid="stMetricLabel"] p')]
    .filter(el => visible(el) && el.scrollWidth > el.clientWidth + 1).map(el => el.textContent.trim());
  return {charts, metrics};
}
"""


def _overlap(a: dict, b: dict, pad: float = 0.5) -> bool:
    return a["l"] + pad < b["r"] and b["l"] + pad < a["r"] and a["t"] + pad < b["b"] and b["t"] + pad < a["b"]


def text_problems(facts: dict, *, min_label_px: float = 12) -> list[str]:
    """What is cut, truncated, too small to read (a treemap's labels, which Plotly shrinks to
    fit their box, under `min_label_px`) or on top of something else, in words."""
    out: list[str] = []
    for c in facts["charts"]:
        name = (c["title"] or "chart").replace("<br>", " ")[:48]
        s, texts = c["svg"], c["texts"]
        small = [t for t in texts if t["kind"] == "slice" and t["drawn"] < min_label_px - 0.5]
        if small:
            out.append(f"{name}: {len(small)} box labels under {min_label_px:.0f} px, e.g. "
                       f"{small[0]['text'][:30]!r} at {small[0]['drawn']:.1f} px")
        of = {k: [t for t in texts if t["kind"] == k] for k in
              ("title", "legend", "note", "tick", "axis", "bartext")}
        for t in texts:
            if t["l"] < s["l"] - 1 or t["r"] > s["r"] + 1 or t["t"] < s["t"] - 1 or t["b"] > s["b"] + 1:
                out.append(f"{name}: {t['kind']} {t['text'][:40]!r} is cut at the chart's edge")
            clip = t.get("clip")
            if clip and (t["r"] > clip["r"] + 1 or t["t"] < clip["t"] - 1 or t["b"] > clip["b"] + 1):
                out.append(f"{name}: legend {t['text'][:40]!r} is cut by the legend's box")
            if t["text"].endswith(("...", "…")):
                out.append(f"{name}: {t['kind']} {t['text'][:40]!r} is truncated")
        legend_box = [dict(c["legend"], kind="legend", text="(the legend)")] if c["legend"] else []
        for title in of["title"]:
            for other in of["legend"] + legend_box:
                if _overlap(title, other):
                    out.append(f"{name}: the title is under the legend ({other['text'][:30]!r})")
                    break
        for i, note in enumerate(of["note"]):
            for other in of["tick"] + of["axis"] + of["legend"] + of["title"] + of["note"][i + 1:] + of["bartext"]:
                if _overlap(note, other):
                    out.append(f"{name}: note {note['text'][:30]!r} is over {other['kind']} {other['text'][:30]!r}")
        for i, label in enumerate(of["bartext"]):
            for other in of["bartext"][i + 1:]:
                if _overlap(label, other):
                    out.append(f"{name}: value labels {label['text'][:25]!r} and {other['text'][:25]!r} overlap")
            if any(_overlap(label, line) for line in c["lines"]):
                out.append(f"{name}: a reference line runs through the value label {label['text'][:25]!r}")
        for i, tick in enumerate(of["tick"]):
            for other in of["tick"][i + 1:]:
                if tick["turned"] and other["turned"]:
                    # Turned labels' boxes overlap by their slant: their anchors (right ends,
                    # along the axis) must be a line of type apart.
                    if abs(tick["r"] - other["r"]) < 0.9 * tick["fs"] and abs(tick["b"] - other["b"]) < tick["fs"]:
                        out.append(f"{name}: turned tick labels {tick['text'][:20]!r} and {other['text'][:20]!r} "
                                   "run together")
                elif _overlap(tick, other, pad=0):
                    out.append(f"{name}: tick labels {tick['text'][:20]!r} and {other['text'][:20]!r} run together")
    out += [f"the headline label {m[:50]!r} is cut off" for m in facts["metrics"]]
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def school(request) -> str:
    """A community school with matched comparison schools: its profile draws every school chart."""
    import duckdb

    db = os.environ.get("CSI_TEST_DEMO_DB") or str(request.getfixturevalue("demo_db"))
    con = duckdb.connect(db, read_only=True)
    try:
        return con.sql("SELECT treated_cds FROM impact_matches GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
    finally:
        con.close()


def _url(server, name: str, school: str, present: bool) -> str:
    query = [f"school={school}"] if name == "schools" else []
    query += ["present=1"] if present else []
    return f"{server}/{name}" + ("?" + "&".join(query) if query else "")


def _open(ctx, url: str, size: dict):
    page = ctx.new_page()
    page.set_viewport_size(size)  # before the page loads: Plotly lays out for the window it opens in
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page)
    page.wait_for_timeout(300)
    assert_no_exception(page)
    return page


def _whole_page_shot(page, path, size) -> None:
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 9000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


@pytest.mark.parametrize("present", [False, True], ids=["1440", "1920-presenter"])
@pytest.mark.parametrize("name", PAGES, ids=lambda p: p or "overview")
def test_chart_text_fits(new_context, server, artifacts, school, name, present):
    size = PROJECTOR if present else LAPTOP
    page = _open(new_context(), _url(server, name, school, present), size)
    facts = page.evaluate(FIT_JS)
    _whole_page_shot(page, artifacts / f"fit-{name or 'overview'}-{'1920-presenter' if present else '1440'}.png", size)
    problems = text_problems(facts, min_label_px=24 if present else 12)
    assert not problems, f"{name or 'overview'} at {size['width']}: " + "; ".join(problems[:15])


def test_schools_table_shows_rates_and_colours_at_1440(new_context, server, artifacts):
    page = _open(new_context(), f"{server}/schools", LAPTOP)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.screenshot(path=str(artifacts / "fit-schools-table-1440.png"))
    # The grid draws on a canvas and lists in the DOM only the columns it is drawing (those in
    # its window, in order). A column followed by another drawn column ends inside the window.
    facts = page.evaluate("""() => {
      const g = document.querySelector('[data-testid="stDataFrame"]');
      const s = g.querySelector('.dvn-scroller');
      return {heads: [...g.querySelectorAll('[role="columnheader"]')].map(e => e.textContent.trim()),
              scroll: s.scrollWidth, client: s.clientWidth, right: g.getBoundingClientRect().right,
              W: window.innerWidth};
    }""")
    heads = facts["heads"]
    assert facts["right"] <= facts["W"], f"the table runs off the page: {facts}"
    if facts["scroll"] > facts["client"] + 2:
        missing = [h for h in TABLE_FIRST if h not in heads[:-1]]
        assert not missing, (f"at 1440 the table scrolls sideways ({facts['scroll']} px in {facts['client']}) "
                             f"and hides {missing}; it shows {heads}")


def test_school_comparison_legend_whole_on_a_phone(phone, server, artifacts, school):
    page = phone.new_page()
    page.goto(f"{server}/schools?school={school}", wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page, charts=3)
    facts = page.evaluate(FIT_JS)
    _whole_page_shot(page, artifacts / "fit-phone-school.png", PHONE)
    legends = [t for c in facts["charts"] for t in c["texts"] if t["kind"] == "legend"]
    assert any("matched" in t["text"].lower() for t in legends), legends
    problems = text_problems(facts)
    assert not problems, "the school's profile on a phone: " + "; ".join(problems[:15])


def test_presenter_page_words_are_phone_size_on_a_phone(phone, server, artifacts):
    page = phone.new_page()
    page.goto(f"{server}/present", wait_until="domcontentloaded", timeout=90_000)
    wait_ready(page, charts=1)
    _whole_page_shot(page, artifacts / "fit-phone-present.png", PHONE)
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p, '
        + '[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"], '
        + '[data-testid="stMainBlockContainer"] button p')]
      .filter(el => el.getBoundingClientRect().width > 0 && el.textContent.trim())
      .map(el => [el.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(el).fontSize)])""")
    large = [s for s in sizes if s[1] > PHONE_TEXT_MAX_PX]
    assert sizes and not large, f"projector-size words on a phone's Presenter page: {large[:8]}"
    facts = page.evaluate(FIT_JS)
    problems = text_problems(facts)
    assert not problems, "the Presenter page on a phone: " + "; ".join(problems[:15])
