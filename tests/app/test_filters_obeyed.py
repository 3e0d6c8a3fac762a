"""Every sidebar filter a page shows either changes what the page shows or is named
in an "Ignores ..." / "does not apply" caption (issue 17, item 1), in AppTest
against the demo database."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

import fixture_paths

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")
TIMEOUT = 180
PAGES = ["pages/overview.py", "pages/map.py", "pages/trends.py", "pages/equity.py", "pages/funding.py",
         "pages/activities.py", "pages/schools.py"]
# filter -> (widget key, words a caption uses for it)
FILTERS = {"year": ("f_year", r"year"), "spa": ("f_spa", r"SPA"), "district": ("f_district", r"district"),
           "cohort": ("f_cohort", r"cohort"), "student_group": ("f_student_group", r"student group")}


@pytest.fixture(scope="module")
def other_values(demo_db) -> dict:
    """For each filter, a value other than its default (AppTest's select_index breaks on a format_func)."""
    import duckdb
    from csi_metrics.metrics import query
    with duckdb.connect(str(demo_db), read_only=True) as con:
        o = query.filter_options(con)
    return {"year": o.years[-2], "spa": o.spas[0], "district": sorted(o.district_names)[0],
            "cohort": o.cohorts[0], "student_group": "SD"}


def _output(at: AppTest) -> str:
    """What the page's main area shows, less the words that only repeat the filters."""
    parts = [m.label + m.value for m in at.main.metric]
    parts += [str(df.value.to_csv()) for df in at.main.dataframe]
    for c in at.main.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        parts.append(json.dumps(spec.get("data"), sort_keys=True))
    parts += [m.value for m in at.main.markdown] + [s.value for s in at.main.subheader]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _ignores(at: AppTest, words: str) -> bool:
    said = re.compile(rf"(Ignores[^.]*{words}|{words}[^.]*(filter )?(does|do) not apply)", re.I)
    return any(said.search(c.value) for c in at.main.caption) or any(said.search(m.value) for m in at.main.markdown)


def _page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, (page, params)
    assert not [w.value for w in at.warning if "Ignored URL parameter" in w.value], (page, params)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_filter_changes_the_page_or_is_said_to_be_ignored(app_env, other_values, page):
    # Each filter is set through the page's URL (?year=...), as a shared link sets it: AppTest does
    # not keep a changed year box across a rerun.
    at = _page(page)
    before = _output(at)
    missing = []
    for name, (key, words) in FILTERS.items():
        try:
            box = at.selectbox(key=key)
        except KeyError:
            continue  # the page does not show this filter
        if len(box.options) < 2:
            continue
        other = next(o for o in box.options if o != box.value) if name == "year" else other_values[name]
        after = _page(page, **{name: str(other)})
        if _output(after) == before and not _ignores(after, words):
            missing.append(name)
    assert not missing, f"{page}: {', '.join(missing)} neither changes the page nor is said to be ignored"
