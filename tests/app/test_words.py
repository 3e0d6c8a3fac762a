"""What pages say (issue 17): a year CDE never published reads "not published", never
"suppressed"; glossary terms are defined; the headline sentence reads as a leader says it."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import fixture_paths

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")


def _run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at.switch_page(page).run()


def _hovers(at: AppTest) -> list[str]:
    out = []
    for el in at.get("plotly_chart"):
        for t in json.loads(el.proto.spec).get("data", []):
            out.append(json.dumps(t.get("customdata")))
    return out


def test_2019_20_chronic_absenteeism_reads_not_published_on_the_overview(app_env):
    at = _run("pages/overview.py", year="2019-20")
    cards = {m.label: m.value for m in at.metric}
    chronic = {k: v for k, v in cards.items() if k.startswith("Chronic absenteeism")}
    assert chronic and set(chronic.values()) == {"not published"}, chronic
    assert any("not published" in h for h in _hovers(at)), "the small trends do not say 'not published'"
    assert not any("suppressed" in h and "2019-20" in h for h in _hovers(at))


def test_2019_20_chronic_absenteeism_reads_not_published_on_trends_and_the_map(app_env):
    at = _run("pages/trends.py", metric="chronic_absenteeism")
    trend = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    for t in trend:
        year_text = dict(zip(t["x"], t["customdata"]))
        assert year_text["2019-20"] == "not published", (t["name"], year_text["2019-20"])
    at = _run("pages/map.py", year="2019-20")
    text = " ".join(_hovers(at))
    assert "not published" in text and "no data" not in text


def test_funding_page_says_la_county_has_nearly_a_quarter_of_awarded_ccspp_grants(app_env):
    """LACOE: LA County grantees hold "nearly 24% of all CCSPP grant funding" ($660M of about
    $2.8B awarded), not a share of the $4.1B appropriation."""
    at = _run("pages/funding.py")
    share = [m for m in at.metric if "share" in m.label.lower()]
    assert share and share[0].label.startswith("LA County share of awarded CCSPP grants"), [m.label for m in at.metric]
    assert 23.0 <= float(share[0].value.rstrip("%")) < 24.0, share[0].value


PAGES = ["pages/overview.py", "pages/map.py", "pages/trends.py", "pages/equity.py", "pages/funding.py",
         "pages/activities.py", "pages/schools.py", "pages/about.py"]


def _page_text(at: AppTest) -> str:
    """Everything a page writes: text elements, labels, help, table columns and chart JSON."""
    parts = []
    for kind in ("markdown", "caption", "metric", "warning", "info", "subheader", "header", "title", "text",
                 "selectbox", "radio", "expander", "button", "multiselect", "toggle", "success", "error"):
        for e in at.get(kind):
            for attr in ("value", "label", "help", "options"):
                try:
                    parts.append(str(getattr(e, attr)))
                except Exception:  # an element without that attribute
                    pass
    for e in at.dataframe:
        parts.append(" ".join(map(str, e.value.columns)) + " " + e.proto.columns)  # names and their labels
    for e in at.get("plotly_chart"):
        parts.append(e.proto.spec)
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_writes_ca_for_chronic_absenteeism_and_every_term_is_defined(app_env, page):
    import re

    from csi_metrics.vocabulary import words

    text = _page_text(_run(page))
    assert not re.search(r"\bCA\b", text), re.findall(r".{0,40}\bCA\b.{0,40}", text)[:5]
    for term in words.ABBREVIATIONS:
        if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text):
            assert term in words.GLOSSARY, f"{page} uses {term!r}, the glossary does not define it"


def test_about_the_data_has_the_glossary(app_env):
    from csi_metrics.vocabulary import words

    at = _run("pages/about.py")
    assert any(h.value == "Glossary" for h in at.header)
    text = _page_text(at)
    for term, definition in words.GLOSSARY.items():
        assert f"**{term}**" in text and definition in text, term


def test_about_the_data_leaves_the_operator_notes_to_info(app_env):
    from csi_metrics.rules import levels

    text = _page_text(_run("pages/about.py"))
    assert levels.CUT_SET_NOTES not in text
    assert not any(c.source in text for c in levels.CUT_SETS.values())


def test_a_school_profile_says_a_group_was_hidden_by_subtraction_not_small(demo_db):
    """Issue 17 #16: 'suppressed (<11 students): Male' where Male was hidden by complementary
    suppression; the chart says which rule hid each group."""
    import duckdb

    from csi_metrics.metrics import headline
    from csi_metrics.views import catalogue

    con = duckdb.connect(str(demo_db), read_only=True)
    year = headline.latest_year(con)
    cds, group = con.execute(
        "SELECT cds_code, reporting_category FROM outcomes WHERE hidden_reason = 'complementary' "
        "AND aggregate_level = 'S' AND academic_year = ? AND metric = 'chronic_absenteeism' "
        "AND reporting_category IN ('GM', 'GF', 'RB', 'RH', 'RW', 'RA') ORDER BY cds_code LIMIT 1",
        [year]).fetchall()[0]
    from csi_metrics.vocabulary.filters import Filters
    drawn = catalogue.render_on(con, "school_groups", Filters(), choices_={"metric": "chronic_absenteeism",
                                                                           "school": cds})
    notes = " ".join(a.text for a in drawn.fig.layout.annotations).replace("<br>", " ")
    from csi_metrics.vocabulary.words import group_label
    name = group_label("student_group", group)
    assert "subtraction" in notes and name in notes.split("subtraction", 1)[1], notes
    con.close()
