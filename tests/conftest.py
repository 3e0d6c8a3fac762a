"""Shared fixtures. Databases are always built from csi_metrics/schema.sql."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_paths import FIXTURES
import support


@pytest.fixture
def schema_con():
    """An empty in-memory database with the schema and code tables."""
    con = support.new_database()
    yield con
    con.close()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Hand-written input files in the exact real layouts (tests/fixtures/cde, tests/fixtures/initiative)."""
    return FIXTURES


@pytest.fixture
def serve_dir():
    """Factory: serve a folder over HTTP on 127.0.0.1 (the only network tests may use,
    standing in for CDE and LA County eGIS); returns its base URL. Stopped after the test."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    running = []

    def serve(directory: Path) -> str:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        running.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield serve
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The county demo, built once per test session through the real readers
    (build.build_demo, no boundary file: the demo's SPA crosswalk is used)."""
    from csi_metrics.ingest import build

    path = tmp_path_factory.mktemp("demo") / "csi.duckdb"
    build.build_demo(path, scale="county", boundaries=None)
    return path


@pytest.fixture(scope="module")
def demo_con(demo_db):
    """A read-only connection to the demo, for tests that call the library directly."""
    import duckdb

    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


@pytest.fixture
def app_env(demo_db, monkeypatch):
    """The app under AppTest reads the demo (CSI_DB)."""
    monkeypatch.setenv("CSI_DB", str(demo_db))
    return demo_db


# The slower tiers are the folders they live in: the mark follows the folder.
FOLDER_MARKS = {"app": "app", "server": "server", "e2e": "browser"}


def pytest_collection_modifyitems(config, items):
    """Mark each test by its folder's tier, and run the browser end-to-end suite last.
    It keeps one Playwright, and so a running asyncio loop, open for the rest of the
    session; tests after it that start their own loop (kaleido, the load-test client,
    other Playwright tests) would find it running."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(tests_dir).parts
        mark = FOLDER_MARKS.get(parts[0]) if len(parts) > 1 else None
        if mark:
            item.add_marker(getattr(pytest.mark, mark))
    items.sort(key=lambda item: "e2e" in Path(str(item.fspath)).parts)


# A skipped test is a test that did not run: the run fails and names it, so a
# missing dependency can never pass silently (deselect with -m instead).
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.section("skipped tests fail this run")
        for line in _skipped:
            terminalreporter.write_line(line)
