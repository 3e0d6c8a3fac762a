"""The dashboard's server (csi_app.serve, what scripts/dashboard runs): the app
itself, and a link longer than any link the dashboard makes answered with a page
that says so, instead of uvicorn's bare 400."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from csi_metrics import deck, localserver

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(demo_db):
    with localserver.streamlit_server(demo_db) as (url, _pid):
        yield url


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
