"""Every control on every page is kept in the URL by its code: set each to a value
other than its default, the query string carries that value's code, and a fresh
session opened with that query string shows the same view (a shared link loses nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import fixture_paths
from csi_app import state

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")
TIMEOUT = 240
# Controls whose state lives elsewhere: the presenter toggle (?present=1, tested with the presenter),
# the deck's file upload, buttons and slide editor (all held in ?deck= and ?step=, tested on the
# Presenter page: tests/app/test_present_page.py).
NOT_URL = {"present_toggle", "deck_upload"}
NOT_URL_PREFIX = "deck_"
# A value that makes more of the page appear (the Trends student-group picker).
PREFER = {"by": "student_group"}
PAGES = ["pages/overview.py", "pages/map.py", "pages/trends.py", "pages/equity.py", "pages/funding.py",
         "pages/activities.py", "pages/schools.py", "pages/about.py", "pages/present.py"]
KINDS = ("selectbox", "radio", "multiselect", "text_input", "button_group", "toggle", "checkbox", "slider",
         "number_input", "date_input")


def _widgets(at: AppTest, *, sidebar: bool) -> dict[str, Any]:
    tree = at.sidebar if sidebar else at.main
    return {w.key: w for kind in KINDS for w in getattr(tree, kind) if w.key and w.key not in NOT_URL
            and not w.key.startswith(NOT_URL_PREFIX)}


def _param(at: AppTest, name: str) -> str | None:
    v = at.query_params.get(name)
    return v[-1] if isinstance(v, list) else v


def _new_value(key: str, widget: Any, options: list[Any] | None) -> Any:
    current = widget.value
    if options is None:
        return "Ma"
    if isinstance(current, (list, tuple)):
        return [next(o for o in options if o not in current)]
    if key in PREFER:
        return PREFER[key]
    return next(o for o in reversed(options) if o != current and o != state.ALL)


def _as_url(value: Any) -> str:
    return state.MULTI_SEP.join(map(str, value)) if isinstance(value, list) else str(value)


def _open(page: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page != "pages/overview.py":
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _walk(at: AppTest, *, sidebar: bool) -> dict[str, Any]:
    """Set every control (and those that appear after) to another value; returns key -> value set."""
    changed: dict[str, Any] = {}
    for _ in range(4):
        todo = {k: w for k, w in _widgets(at, sidebar=sidebar).items() if k not in changed}
        if not todo:
            break
        for key in todo:
            widget = _widgets(at, sidebar=sidebar).get(key)
            if widget is None:
                continue
            controls = at.session_state[state.CONTROLS] if state.CONTROLS in at.session_state else {}
            assert key in controls, f"control {key!r} is not made through csi_app.state's URL helpers"
            value = _new_value(key, widget, controls[key][1])
            widget.set_value(value).run()
            assert not at.exception, (key, [e.message for e in at.exception])
            changed[key] = value
    return changed


# Pages with no controls of their own: the Overview's cards, About, the deck (its own ?deck=, ?step=),
# Activities signed out (the sign-in prompt).
NO_CONTROLS = {"pages/overview.py", "pages/about.py", "pages/present.py", "pages/activities.py"}


def _check_url_and_fresh_link(at: AppTest, page: str, changed: dict[str, Any], *, sidebar: bool) -> None:
    controls = at.session_state[state.CONTROLS]
    params = {k: _param(at, k) for k in at.query_params}
    for key in changed:
        name = controls[key][0]
        shown = _widgets(at, sidebar=sidebar)[key].value
        want = None if shown == state.ALL else _as_url(shown)
        assert _param(at, name) == want, (key, name, shown, params)
    fresh = _open(page, params)
    assert not [w.value for w in fresh.warning if "Ignored URL parameter" in w.value]
    again = _widgets(fresh, sidebar=sidebar)
    for key in changed:
        want = _widgets(at, sidebar=sidebar)[key].value
        assert key in again and again[key].value == want, (key, want, again.get(key) and again[key].value)


@pytest.mark.parametrize("page", PAGES)
def test_every_control_is_in_the_url_by_code_and_a_fresh_link_restores_it(app_env, page):
    at = _open(page)
    changed = _walk(at, sidebar=False)
    assert bool(changed) == (page not in NO_CONTROLS), f"{page}: controls found: {sorted(changed)}"
    _check_url_and_fresh_link(at, page, changed, sidebar=False)


def test_every_sidebar_control_is_one_of_the_shared_filters(app_env):
    at = _open("pages/overview.py")
    controls = at.session_state[state.CONTROLS]
    keys = set(_widgets(at, sidebar=True))
    assert keys == {"f_" + n for n in state.URL_PARAMS}
    assert {controls[k][0] for k in keys} == set(state.URL_PARAMS)


# One filter per session: AppTest re-enters legacy multipage mode on every run, which renames the
# entry script's widgets, so a second change in one session would reset the first (a real server
# calls st.navigation once and keeps its names; the browser tests change several filters in turn).
@pytest.mark.parametrize("name", state.URL_PARAMS)
def test_each_sidebar_filter_is_in_the_url_by_code_and_a_fresh_link_restores_it(app_env, name):
    at = _open("pages/overview.py")
    key = "f_" + name
    widget = _widgets(at, sidebar=True)[key]
    value = _new_value(key, widget, at.session_state[state.CONTROLS][key][1])
    widget.set_value(value).run()
    assert not at.exception, [e.message for e in at.exception]
    assert _widgets(at, sidebar=True)[key].value == value
    _check_url_and_fresh_link(at, "pages/overview.py", {key: value}, sidebar=True)


@pytest.mark.parametrize("name,raw,want", [
    ("color_by", "CCSPP cohort", "cohort"),   # an older link: the label, read as its code
    ("color_by", "ccspp cohort", "cohort"),
    ("kinds", "Gender,grade", ["gender", "grade"]),
])
def test_older_label_links_are_read_as_codes(app_env, name, raw, want):
    page = "pages/map.py" if name == "color_by" else "pages/equity.py"
    at = _open(page, {name: raw})
    assert at.session_state[name] == want
    assert not [w.value for w in at.warning if "Ignored URL parameter" in w.value]
    assert _param(at, name) == _as_url(want)
