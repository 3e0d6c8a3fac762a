"""The attendee page in a real browser with JavaScript switched off: the standard deck
published from the demo, opened offline from file:// (a USB stick) and from the live
server (Streamlit's static serving, and the short /attendees), at 390x844 and
1920x1080. Every slide's image loads (the phone's own image on a phone), its caption
and table are there, nothing scrolls sideways on a phone, every request stays on this
machine, and a phone fetches under 1 MB. Screenshots: test-artifacts/e2e/attendee-*.png."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from csi_metrics.views import deck, publish
from csi_metrics.vocabulary import config
from e2e_helpers import wait_ready

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "projector": {"width": 1920, "height": 1080}}

SLIDES_JS = """
() => [...document.querySelectorAll('section.slide')].map(s => {
  const img = s.querySelector('img');
  return {
    id: s.id,
    withheld: s.classList.contains('withheld-slide'),
    img: img ? {natural: img.naturalWidth, complete: img.complete, src: img.currentSrc,
                width: img.getBoundingClientRect().width} : null,
    caption: (s.querySelector('.caption') || {}).textContent || '',
    source: (s.querySelector('.source') || {}).textContent || '',
    rows: s.querySelectorAll('table tbody tr').length,
    demo: !!s.querySelector('.demo') || s.classList.contains('withheld-slide'),
  };
})
"""


@pytest.fixture(scope="module")
def site(server, request):
    """The standard deck published into the folder the server serves (a test's own name
    under static/, removed after), from the same demo database the server reads."""
    db_file = os.environ.get("CSI_TEST_DEMO_DB") or str(request.getfixturevalue("demo_db"))
    out = config.STATIC_DIR / f"_test-{os.getpid()}"
    done = publish.publish_from_db(db_file, deck.default_deck(), out)
    yield done
    shutil.rmtree(out, ignore_errors=True)


def _context(browser, size: str):
    ctx = browser.new_context(viewport=SIZES[size], java_script_enabled=False, device_scale_factor=1)
    fetched: dict[str, int] = {}
    blocked: list[str] = []

    def route(r):
        p = urlparse(r.request.url)
        if p.scheme == "file" or p.hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort("internetdisconnected")

    def on_response(resp):
        try:
            fetched[resp.url] = len(resp.body())
        except Exception:  # a redirect has no body
            fetched.setdefault(resp.url, 0)

    ctx.route("**/*", route)
    ctx.on("response", on_response)
    return ctx, fetched, blocked


def _check(page, size: str, site, artifacts: Path, name: str) -> list[dict]:
    page.wait_for_load_state("load")
    slides = page.evaluate(SLIDES_JS)
    assert len(slides) == site.slides_n == len(deck.default_deck())
    for s in slides:
        if s["withheld"]:
            continue
        img = s["img"]
        assert img and img["complete"] and img["natural"] > 0, (name, s)
        want = "-phone.svg" if size == "phone" else ".svg"
        assert img["src"].endswith(want) and (size == "phone") == img["src"].endswith("-phone.svg"), (name, s)
        assert len(s["caption"]) > 40 and s["source"].startswith("Source:"), (name, s)
        assert s["rows"] > 0 and s["demo"], (name, s)
    # The tables open without JavaScript (<details>), and a phone never scrolls sideways.
    for summary in page.locator("section.slide details > summary").all():
        summary.click()
    assert page.locator("section.slide details[open] table").count() == site.slides_n - site.withheld_n
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if size == "phone":
        assert width[0] <= width[1], f"{name}: the page is {width[0]} px wide on a {width[1]} px screen"
    page.locator("#slide-1").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"attendee-{name}-{size}.png"))
    return slides


@pytest.mark.parametrize("size", list(SIZES))
def test_the_attendee_page_opens_offline_from_a_file(browser, site, size, artifacts):
    ctx, fetched, blocked = _context(browser, size)
    try:
        page = ctx.new_page()
        page.goto((site.out / "index.html").as_uri())
        _check(page, size, site, artifacts, "file")
        assert blocked == []
    finally:
        ctx.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_attendee_page_from_the_live_server(browser, server, site, size, artifacts):
    ctx, fetched, blocked = _context(browser, size)
    try:
        page = ctx.new_page()
        resp = page.goto(server + f"/app/static/{site.out.name}/index.html")
        assert resp is not None and resp.status == 200 and "text/html" in resp.headers["content-type"]
        _check(page, size, site, artifacts, "server")
        assert blocked == []
        served = {urlparse(u).path.removeprefix(f"/app/static/{site.out.name}/") for u in fetched}
        assert served <= set(site.files), served - set(site.files)  # nothing but the published files
        total = sum(fetched.values())
        manifest = json.loads((site.out / "assets" / "manifest.json").read_text())
        key = "phone_fetches" if size == "phone" else "projector_fetches"
        assert served == set(manifest[key])  # the manifest says what a browser of this size fetches
        if size == "phone":
            assert total < 1_000_000, f"a phone fetched {total:,} bytes"
        (artifacts / f"attendee-bytes-{size}.json").write_text(json.dumps(
            {"bytes": total, "files": len(fetched), "published_bytes": site.total_bytes,
             "publish_s": round(site.seconds, 1)}, indent=2))
    finally:
        ctx.close()


def test_the_short_address_on_the_server_leads_to_the_published_page(browser, server, site):
    """/attendees (the QR code's address) redirects to the server's attendee page
    (config.ATTENDEE_URL_PATH, under its CSI_ATTENDEE_FOLDER); unless a test has published
    there, it lands on a 404 from the static route, not the app."""
    ctx, _, _ = _context(browser, "phone")
    try:
        page = ctx.new_page()
        resp = page.goto(server + config.ATTENDEE_SHORT_PATH)
        assert urlparse(page.url).path == f"/app/static/{server.attendee_folder}/index.html"
        exists = (config.STATIC_DIR / server.attendee_folder / "index.html").exists()
        assert resp is not None and resp.status == (200 if exists else 404)
    finally:
        ctx.close()


def test_a_phone_scanning_the_projected_qr_code_opens_the_published_slides(new_context, browser, server, artifacts):
    """The presenter publishes a two-slide deck from the Presenter page at 1920x1080; the QR code
    as the projector shows it (a screenshot of the slide's box, nothing read from the page's
    source) decodes to the short address written under it, and that address, opened by a
    phone without JavaScript, is the page just published: those two slides' titles."""
    import io

    import zxingcpp
    from PIL import Image

    two = deck.Deck("Scan test", (deck.make_view("funding", "funding_by_spa"),
                                  deck.make_view("trends", "suspension_trend")))
    ctx = new_context()
    try:
        page = ctx.new_page()
        page.set_viewport_size(SIZES["projector"])
        page.goto(f"{server}/present?deck={deck.to_link_param(two)}", wait_until="domcontentloaded", timeout=90_000)
        wait_ready(page, charts=1)
        page.locator(".st-key-deck_tools summary").click()
        page.locator(".st-key-deck_publish").get_by_role("button", name="Publish for attendees").click()
        box = page.locator(".st-key-attendee_share")
        box.locator("img").wait_for(state="visible", timeout=240_000)
        page.wait_for_function("() => { const i = document.querySelector('.st-key-attendee_share img');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        page.screenshot(path=str(artifacts / "attendee-qr-on-slide-1920.png"))
        shot = Image.open(io.BytesIO(box.screenshot()))
        codes = [c for c in zxingcpp.read_barcodes(shot) if c.format == zxingcpp.BarcodeFormat.QRCode]
        assert len(codes) == 1, f"{len(codes)} QR codes read from the slide's share box"
        scanned = codes[0].text
        written = box.locator("code").first.inner_text().strip()
        assert scanned == written, (scanned, written)
        assert urlparse(scanned).path == config.ATTENDEE_SHORT_PATH and scanned.startswith(server.url), scanned
    finally:
        ctx.close()
    phone, _, blocked = _context(browser, "phone")
    try:
        page = phone.new_page()
        resp = page.goto(scanned)
        assert resp is not None and resp.status == 200, resp and resp.status
        assert urlparse(page.url).path == f"/app/static/{server.attendee_folder}/index.html"
        titles = page.locator("section.slide h2").all_inner_texts()
        assert len(titles) == 2 and "CCSPP awards by SPA" in titles[0], titles
        assert blocked == []
    finally:
        phone.close()
