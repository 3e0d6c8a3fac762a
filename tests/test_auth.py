"""Optional sign-in (pages/auth.py): with an [auth] section in Streamlit's
secrets the internal Activities page needs sign-in and shows none of its data
before it; public pages stay public; without configuration everything is public."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "dashboard.py")

AUTH_ONE = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
            "client_id": "csi-dashboard", "client_secret": "not-a-real-secret",
            "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}
AUTH_TWO = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
            "lacoe": {"client_id": "a", "client_secret": "b",
                      "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"},
            "google": {"client_id": "c", "client_secret": "d",
                       "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}}


@pytest.fixture
def app_env(demo_db, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(demo_db))
    monkeypatch.chdir(REPO)
    return demo_db


def _page(page: str, auth: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if auth is not None:
        at.secrets["auth"] = auth
    at.run()
    return at.switch_page(page).run()


def _internal_shown(at: AppTest) -> bool:
    return bool(at.metric) or bool(at.get("plotly_chart")) or bool(at.dataframe)


def test_without_configuration_activities_is_public(app_env):
    at = _page("pages/activities.py")
    assert not at.exception
    assert [m.label for m in at.metric] == ["Activities", "Attendances", "Unique individuals"]
    assert not [i for i in at.info if "Sign in" in i.value]
    assert "Sign in" not in [b.label for b in at.main.button]


def test_configured_and_signed_out_shows_only_a_prompt(app_env):
    at = _page("pages/activities.py", AUTH_ONE)
    assert not at.exception
    assert [i.value for i in at.info if "Sign in" in i.value]
    assert [b.label for b in at.main.button] == ["Sign in"]
    assert not _internal_shown(at)  # no activity count, chart or table reached the page
    assert at.title[0].value == "Activities"


def test_configured_with_two_providers_offers_each(app_env):
    at = _page("pages/activities.py", AUTH_TWO)
    assert sorted(b.label for b in at.main.button) == ["Sign in with google", "Sign in with lacoe"]
    assert not _internal_shown(at)


def test_configured_and_signed_in_shows_the_page(app_env, monkeypatch):
    from pages import auth

    monkeypatch.setattr(auth, "signed_in", lambda: True)
    at = _page("pages/activities.py", AUTH_ONE)
    assert not at.exception
    assert [m.label for m in at.metric] == ["Activities", "Attendances", "Unique individuals"]
    assert not at.main.button or "Sign in" not in [b.label for b in at.main.button]


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/trends.py", "pages/about.py"])
def test_public_pages_stay_public_when_configured(app_env, page):
    at = _page(page, AUTH_ONE)
    assert not at.exception
    assert not [i for i in at.info if "Sign in" in i.value]
    assert "Sign in" not in [b.label for b in at.main.button]


def test_readme_says_public_without_configuration():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Sign-in", 1)[1].split("\n## ", 1)[0]
    assert "Without configuration everything is public" in section
    assert "[auth]" in section and "require sign-in" in section and "the rest stay public" in section
