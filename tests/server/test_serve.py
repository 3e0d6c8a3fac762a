"""The dashboard's server (csi_app.serve, what scripts/dashboard runs): the app
itself, and a link longer than any link the dashboard makes answered with a page
that says so, instead of uvicorn's bare 400."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from csi_metrics.views import deck
from tools import localserver

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def served(demo_db):
    with localserver.streamlit_server(demo_db) as (url, pid):
        yield url, pid


@pytest.fixture(scope="module")
def server(served):
    return served[0]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def test_pages_and_health_are_served(server):
    assert _get(f"{server}/_stcore/health") == (200, "ok")
    status, body = _get(f"{server}/present?step=2")
    assert status == 200 and "<div id=\"root\">" in body


def test_a_266_kb_deck_link_gets_a_page_saying_it_is_too_long_and_what_to_do(server):
    status, body = _get(f"{server}/present?deck={'A' * 266_000}&step=1")
    assert status == 414
    assert "This link is too long" in body and "260 kB" in body
    assert "Save deck file" in body and "Open a deck file" in body
    assert f"{deck.MAX_LINK_CHARS:,}" in body
    assert "http://" not in body and "https://" not in body  # nothing fetched from elsewhere


def test_the_longest_link_the_dashboard_makes_still_opens(server):
    status, _ = _get(f"{server}/present?deck={'A' * deck.MAX_LINK_CHARS}&step=1")
    assert status == 200


# ---------------------------------------------------------------- Streamlit's options reach Streamlit

def test_options_and_environment_reach_streamlits_config(monkeypatch):
    """`streamlit run` turns flags and STREAMLIT_* variables into config; under st.App
    nothing does unless the launcher does (a watcher on the whole repository ran
    under load while the command line said fileWatcherType none)."""
    from streamlit import config

    from csi_app import serve

    monkeypatch.setenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "7")
    monkeypatch.setenv("STREAMLIT_SERVER_RUN_ON_SAVE", "true")
    address, port = serve.load_options(["--server.fileWatcherType", "none", "--server.runOnSave=false",
                                        "--server.port", "8765", "--server.address", "127.0.0.1"])
    try:
        assert (address, port) == ("127.0.0.1", 8765)
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.runOnSave") is False  # the flag over the environment
        assert config.get_option("server.maxUploadSize") == 7  # typed, from the environment
        assert config.get_option("runner.postScriptGC") is False  # .streamlit/config.toml still read
    finally:
        config.get_config_options(force_reparse=True)


def test_a_wrong_option_is_refused_by_name():
    from csi_app import serve

    with pytest.raises(SystemExit, match="server.fileWatcherTipe"):
        serve.load_options(["--server.fileWatcherTipe", "none"])
    with pytest.raises(SystemExit, match="server.port.*'eighty'"):
        serve.load_options(["--server.port", "eighty"])


def test_the_server_runs_no_file_watcher(served):
    import os
    import subprocess
    import sys

    from fixture_paths import REPO

    server, pid = served
    out = subprocess.run([sys.executable, "-m", "tools.bench.loadtest", "--url", server, "--n", "1", "--page", "overview",
                          "--ramp", "0", "--hold", "0.2", "--deadline", "90"], cwd=REPO, capture_output=True,
                         text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-2000:]
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert not [f for f in fds if "inotify" in f], "a file watcher is running in the server"
