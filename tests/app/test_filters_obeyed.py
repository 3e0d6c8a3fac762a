"""Every sidebar filter changes each chart a page draws, or that chart's own caption
says the filter does not apply (issue 17, item 1), chart by chart in AppTest against
the demo database: a chart that ignores a filter cannot pass because another chart on
its page changed. tests/views/test_chart_filters.py checks every chart and choice in the
catalogue itself; this checks the pages pass the filters through to what they draw."""

from __future__ import annotations

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
# filter -> the word a caption names it by
WORDS = {"year": "year", "spa": "SPA", "district": "district", "community": "schools", "cohort": "cohort",
         "school_type": "school type", "student_group": "student group"}
SAID = re.compile(r"\bThe (?:([\w ,-]+?) )?filters? (?:does|do) not apply(?! to)")


def said_ignored(text: str) -> set[str]:
    by_word = {w: k for k, w in WORDS.items()}
    out: set[str] = set()
    for m in SAID.finditer(text):
        if m.group(1) is None:
            return set(WORDS)
        out |= {by_word[w] for w in re.split(r", | and ", m.group(1)) if w in by_word}
    return out


@pytest.fixture(scope="module")
def setting(demo_db) -> tuple[dict, str]:
    """A value other than the default for each filter but the year (the page's own year box
    gives that), and a school to open on the Schools page."""
    import duckdb
    from csi_metrics.metrics import query
    with duckdb.connect(str(demo_db), read_only=True) as con:
        o = query.filter_options(con)
        district = con.sql("SELECT district_code FROM schools WHERE is_community GROUP BY 1 "
                           "ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
        school = con.sql("SELECT cds_code FROM schools WHERE is_community AND district_code = ? "
                         "ORDER BY cds_code LIMIT 1", params=[district]).fetchall()[0][0]
    return ({"spa": o.spas[0], "district": district, "community": "comparison", "cohort": o.cohorts[0],
             "school_type": "ES", "student_group": "SD"}, school)


def charts(at: AppTest) -> dict[str, tuple[str, str]]:
    """Each chart on the page by its key: (its data, the words that go with it). Its words
    are the captions after it in its own block up to the next chart, or, for a chart that
    closes its block (an Overview card's small trend), every caption of that block."""
    out: dict[str, tuple[str, str]] = {}

    def walk(block) -> None:
        kids = list(getattr(block, "children", {}).values())
        for i, node in enumerate(kids):
            if getattr(node, "type", None) == "plotly_chart":
                after = []
                for later in kids[i + 1:]:
                    if getattr(later, "type", None) == "plotly_chart":
                        break
                    if getattr(later, "type", None) == "caption":
                        after.append(later.value)
                words = after or [k.value for k in kids if getattr(k, "type", None) == "caption"]
                key = node.proto.id.split("-", 2)[-1]
                out[key] = (json.dumps(json.loads(node.proto.spec).get("data"), sort_keys=True), " ".join(words))
            else:
                walk(node)
    walk(at.main)
    return out


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
def test_every_chart_follows_every_filter_or_says_it_does_not(app_env, setting, page):
    # Each filter is set through the page's URL (?year=...), as a shared link sets it: AppTest does
    # not keep a changed year box across a rerun.
    others, school = setting
    own = {"school": school} if page.endswith("schools.py") else {}
    at = _page(page, **own)
    before = charts(at)
    assert before, f"{page} drew no chart"
    year_box = at.selectbox(key="f_year")
    changed = {"year": next(o for o in year_box.options if o != year_box.value), **others}
    silent = []
    for name, value in changed.items():
        after = charts(_page(page, **own, **{name: str(value)}))
        for key, (data, _) in before.items():
            if key in after and after[key][0] == data and name not in said_ignored(after[key][1]):
                silent.append((key, name))
    assert not silent, f"{page}: these charts neither change with the filter nor say it does not apply: {silent}"


def test_a_chart_saying_nothing_is_caught():
    """The pairing and the words: a caption that only describes does not name a filter."""
    assert said_ignored("**Activities**: Number of logged activities. The student group filter does not apply.") \
        == {"student_group"}
    assert said_ignored("The SPA, district, schools, cohort and school type filters do not apply: this is every "
                        "LA County school.") == {"spa", "district", "community", "cohort", "school_type"}
    assert said_ignored("Every year is shown: the year filter does not narrow this chart.") == set()
    assert said_ignored("The year filter does not apply to the school points.") == set()
