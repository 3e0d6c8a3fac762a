"""The real-browser suite: one Streamlit server per test session against the
demo database, Debian's Chromium driven by Playwright, every request that is
not to this machine blocked (the dashboard must work offline).

Artefacts (screenshots, downloads, timings) go to test-artifacts/e2e/."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from csi_metrics.vocabulary import config
from tools import localserver
from e2e_helpers import PHONE, PHONE_UA, TIMINGS

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM, CHROMIUM_ARGS = localserver.CHROMIUM, localserver.CHROMIUM_ARGS
VIEWPORT = {"width": 1920, "height": 1080}
SERVER_START_S = 90
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

# Records the time from navigation start to the first drawn Plotly chart (a
# .js-plotly-plot whose data is set), in the page's own clock.
FIRST_CHART_JS = """
(() => {
  window.__firstChartMs = null;
  const check = () => {
    if (window.__firstChartMs !== null) { return; }
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
      if (el.data && el.data.length) { window.__firstChartMs = performance.now(); return; }
    }
  };
  const timer = setInterval(() => { check(); if (window.__firstChartMs !== null) { clearInterval(timer); } }, 25);
})();
"""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class Server:
    url: str
    # What the very first visitor after start-up saw when arriving by a deep link
    # (see first_visit_probe); None if the probe could not run.
    first_deep_link: dict | None = None
    # The server's own attendee folder under static/ (CSI_ATTENDEE_FOLDER): a Publish
    # clicked in a test never writes over the presenter's static/attendees/.
    attendee_folder: str = "attendees"

    def __str__(self) -> str:
        return self.url

    def __add__(self, other: str) -> str:
        return self.url + other


@pytest.fixture(scope="session")
def server(request, artifacts, browser):
    """`streamlit run dashboard.py` on a free port with CSI_DB set; yields the base URL.

    The database is the session's demo build (tests/conftest.py `demo_db`), or
    $CSI_TEST_DEMO_DB when a developer points the suite at one already built."""
    db_file = os.environ.get("CSI_TEST_DEMO_DB") or str(request.getfixturevalue("demo_db"))
    log_path = artifacts / "streamlit.log"
    folder = f"_test-attendees-{os.getpid()}"  # static/_test-* is ignored by git
    try:
        with localserver.streamlit_server(db_file, log=log_path, start_timeout_s=SERVER_START_S,
                                          env={"CSI_ATTENDEE_FOLDER": folder}) as (url, _pid):
            srv = Server(url, attendee_folder=folder)
            srv.first_deep_link = first_visit_probe(browser, url, artifacts)
            yield srv
    finally:
        shutil.rmtree(config.STATIC_DIR / folder, ignore_errors=True)


FIRST_DEEP_LINK = "/trends?spa=6&metric=suspension"


def first_visit_probe(browser, url: str, artifacts: Path) -> dict:
    """Open a shared deep link as the FIRST visitor of a freshly started server, the
    way a forwarded link is opened after a restart, and record whether the entry
    script (dashboard.py: navigation, sidebar filters) ran. Then open the root so
    the rest of the suite tests everything else on a server in its normal state."""
    from e2e_helpers import wait_ready

    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        page.goto(url + FIRST_DEEP_LINK, wait_until="domcontentloaded", timeout=90_000)
        try:
            wait_ready(page, charts=1)
        except Exception as exc:  # recorded for the test that judges it; the suite goes on
            return {"url": page.url, "sidebar_filters": False, "nav": [], "error": str(exc)[:500]}
        result = {
            "url": page.url,
            "sidebar_filters": page.locator('[data-testid="stSidebar"]').get_by_text("Service Planning Area").count() > 0,
            "nav": page.locator('[data-testid="stSidebarNav"]').all_inner_texts(),
        }
        page.screenshot(path=str(artifacts / "first-visit-deep-link.png"))
        page.goto(url + "/", wait_until="domcontentloaded", timeout=90_000)
        wait_ready(page)
        return result
    finally:
        ctx.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Watch:
    """What went wrong in one browser context: console errors, page errors, failed
    responses, and requests that tried to leave this machine."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"console: {m}" for m in self.console_errors] + [f"page error: {m}" for m in self.page_errors]
                + [f"HTTP: {m}" for m in self.failed] + [f"off-machine request: {m}" for m in self.blocked])

    def clear(self) -> None:
        for part in (self.console_errors, self.page_errors, self.failed, self.blocked):
            part.clear()


def expected_failure(url: str) -> bool:
    """A deep link (/trends) makes Streamlit's frontend try /trends/_stcore/host-config
    and /trends/_stcore/health first; those 404 by design before it falls back to
    the root (STACK-NOTES.md). Judged by URL only."""
    path = urlparse(url).path
    parts = path.strip("/").split("/")
    return len(parts) == 3 and parts[1] == "_stcore" and parts[2] in ("host-config", "health")


def _is_local(url: str) -> bool:
    p = urlparse(url)
    if p.scheme in ("data", "blob", "about"):
        return True
    return (p.hostname or "") in LOCAL_HOSTS


@pytest.fixture
def new_context(browser, server):
    """Factory: a fresh 1920x1080 browser context (no shared cookies or storage, like
    a colleague's browser) with off-machine requests blocked and errors recorded in
    `ctx.watch`."""
    made = []

    def make():
        ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True, device_scale_factor=1)
        watch = Watch()

        def route(r):
            if _is_local(r.request.url):
                r.continue_()
            else:
                watch.blocked.append(r.request.url)
                r.abort("internetdisconnected")

        ctx.route("**/*", route)
        ctx.add_init_script(FIRST_CHART_JS)

        def on_console(msg):
            if msg.type != "error":
                return
            loc = (msg.location or {}).get("url", "")
            # "Failed to load resource" names no URL in its text: judge it by the resource's URL.
            # Off-machine ones are counted as `blocked` by the route above.
            if msg.text.startswith("Failed to load resource") and (expected_failure(loc) or not _is_local(loc)):
                return
            watch.console_errors.append(f"{msg.text} ({loc})")

        def on_response(resp):
            if resp.status >= 400 and not expected_failure(resp.url):
                watch.failed.append(f"{resp.status} {resp.url}")

        def on_page(page):
            page.on("console", on_console)
            page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
            page.on("response", on_response)

        ctx.on("page", on_page)
        ctx.watch = watch  # type: ignore[attr-defined]
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def phone(browser, server):
    """A phone's browser context that reaches the test server and nothing else."""
    ctx = browser.new_context(viewport=PHONE, user_agent=PHONE_UA, is_mobile=True, has_touch=True,
                              device_scale_factor=1)
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url) else r.abort())
    yield ctx
    ctx.close()


@pytest.fixture
def context(new_context):
    return new_context()


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("time to first chart (navigation start -> first drawn Plotly chart)")
    for name, ms in sorted(TIMINGS.items()):
        terminalreporter.write_line(f"{name:<28} {ms / 1000:6.2f} s")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "first-chart-times.json").write_text(json.dumps(TIMINGS, indent=2, sort_keys=True) + "\n")
