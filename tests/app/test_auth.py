"""Optional sign-in (pages/auth.py): with an [auth] section in Streamlit's
secrets the internal Activities page needs sign-in and shows none of its data
before it; public pages stay public; without configuration everything is public."""

from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest
from csi_metrics.metrics import geo
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO
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
    from csi_app import auth

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


# ---------------------------------------------------------------- every view signed out

INTERNAL_COLUMNS = {"activities_n", "attendees_n", "unique_individuals_n", "items_n", "learning_opportunities_n",
                    "support_sessions_n", "referrals_n", "engagement_events_n", "distributions_n"}
INTERNAL_WORDS = ("Activities by", "activities by month", "Learning opportunity", "Support session", "Referral")


def _internal_found(at: AppTest) -> list[str]:
    """Anything built from the activity records that reached the page."""
    import json

    found = []
    for d in at.dataframe:
        cols = set(getattr(d.value, "columns", []))
        if cols & INTERNAL_COLUMNS:
            found.append(f"table with {sorted(cols & INTERNAL_COLUMNS)}")
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        text = json.dumps(spec["layout"].get("title", "")) + " ".join(str(t.get("name", "")) for t in spec["data"])
        hits = [w for w in INTERNAL_WORDS if w in text]
        if hits:
            found.append(f"chart mentioning {hits}")
    for m in at.metric:
        if m.label in ("Activities", "Attendances", "Unique individuals"):
            found.append(f"metric {m.label}")
    return found


def _prompted(at: AppTest) -> bool:
    return any("internal records" in i.value for i in at.info) and any(b.label == "Sign in" for b in at.main.button)


def _run(page: str, params: dict[str, str], auth: dict | None, signed_in: bool, monkeypatch) -> AppTest:
    from csi_app import auth as auth_mod

    monkeypatch.setattr(auth_mod, "signed_in", lambda: signed_in)
    at = AppTest.from_file(APP, default_timeout=180)
    if auth is not None:
        at.secrets["auth"] = auth
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, (page, params, [e.message for e in at.exception])
    return at


def _views():
    from csi_metrics.views import deck

    pages = ["overview", "map", "trends", "equity", "funding", "activities", "schools", "about"]
    views = [(f"pages/{p}.py", {}) for p in pages]
    views += [("pages/map.py", {"measure": m}) for m in geo.MEASURES]
    std = deck.default_deck()
    views += [("pages/present.py", {"step": str(i)}) for i in range(1, len(std) + 1)]
    crafted = deck.Deck("x", (deck.make_view("activities", "activities_by_month", {"school": "19738218337738"}),))
    views.append(("pages/present.py", {"deck": deck.to_link_param(crafted), "step": "1"}))
    return views


INTERNAL_VIEWS = {("pages/activities.py", ()), ("pages/map.py", (("measure", "activities_n"),))}


def test_no_page_measure_or_slide_shows_internal_records_signed_out(app_env, monkeypatch):
    from csi_metrics.views import deck

    std = deck.default_deck()
    internal_steps = {str(i) for i, v in enumerate(std.views, start=1) if v.page == "activities"}
    views = _views()
    # Signed in first, so the caches hold internal results a wrongly keyed cache would hand on.
    warmed = 0
    for page, params in views:
        at = _run(page, params, AUTH_ONE, True, monkeypatch)
        warmed += bool(_internal_found(at))
    assert warmed >= 3, "the signed-in walk saw no internal records: this test would prove nothing"
    walked = 0
    for page, params in views:
        at = _run(page, params, AUTH_ONE, False, monkeypatch)
        assert _internal_found(at) == [], (page, params, _internal_found(at))
        key = (page, tuple(sorted(params.items())))
        needs = key in INTERNAL_VIEWS or (page == "pages/present.py" and (
            params.get("step") in internal_steps and "deck" not in params or "deck" in params))
        assert _prompted(at) == needs, (page, params)
        walked += 1
    assert walked == len(views)


def test_deck_export_signed_out_carries_no_internal_slide(app_env, monkeypatch):
    from csi_app import auth as auth_mod

    monkeypatch.setattr(auth_mod, "signed_in", lambda: False)

    def script():
        import streamlit as st
        from csi_metrics.views import deck
        from csi_app import presenter

        items = presenter.export_items(list(deck.default_deck().views))
        st.session_state["exported"] = [
            (i.title, i.caption, [getattr(t, "name", None) for t in i.fig.data],
             [a.text for a in i.fig.layout.annotations or ()]) for i in items]

    at = AppTest.from_function(script, default_timeout=180)
    at.secrets["auth"] = AUTH_ONE
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    exported = at.session_state["exported"]
    assert len(exported) == 9
    title, caption, traces, notes = exported[8]  # R-TAC activities by month and type
    assert traces == [] and caption == "" and any("sign in to include it" in n for n in notes)
    for title, caption, traces, notes in exported[:8]:
        assert not any(w in " ".join(map(str, traces)) for w in INTERNAL_WORDS)


# ---------------------------------------------------------------- once per run

def test_a_run_asks_who_may_read_once_not_per_query(app_env, monkeypatch):
    """Who may read is decided when the run pins its database, not again for every
    query: with no secrets file each ask takes Streamlit's secrets lock and looks
    for the file, and one Trends run asked 100 times (13 % of the server's CPU in
    the ten-session load test)."""
    from csi_app import auth as auth_mod

    calls = []
    real = auth_mod.sign_in_configured
    monkeypatch.setattr(auth_mod, "sign_in_configured", lambda: calls.append(1) or real())
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/trends.py")
    calls.clear()
    at.run()  # the entry script, pinning, then the Trends page
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 3  # a page of several charts, each with its queries
    assert 1 <= len(calls) <= 3, len(calls)


def test_a_pin_from_a_signed_in_run_never_serves_a_signed_out_one(app_env, monkeypatch):
    """The run's pin keeps whether sign-in is configured, not who is signed in: a
    second run of a switched page under AppTest runs the page alone, without the
    entry script's new pin, which is the case a pin left by an earlier run meets."""
    from csi_app import auth as auth_mod

    state = {"in": False}
    monkeypatch.setattr(auth_mod, "signed_in", lambda: state["in"])
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets["auth"] = AUTH_ONE
    at.run()
    at.switch_page("pages/activities.py").run()
    assert _prompted(at) and not _internal_found(at)
    state["in"] = True
    at.run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Activities", "Attendances", "Unique individuals"]
    state["in"] = False
    at.run()
    assert not _internal_found(at)
    assert [e.message for e in at.exception] == ["the activities records are internal: sign in to see them"]
