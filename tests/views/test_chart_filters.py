"""Every catalogue chart obeys every sidebar filter, or its own caption names that
filter as not applying (issue 17, item 1), chart by chart: a chart that ignores a
filter cannot hide behind another chart on its page that changes. And the other way
round: a chart that says a filter does not apply really draws the same without it.

Each chart is drawn straight from the demo (catalogue.render_on, no Streamlit) with
each of its choices in turn, then once per filter with that filter changed."""

from __future__ import annotations

import json
import re

import pytest

from csi_metrics.metrics import query
from csi_metrics.views import catalogue
from csi_metrics.vocabulary.filters import Filters, not_applying

# How a caption names each sidebar filter (the test's own words, not the writer's table).
WORDS = {"year": "year", "spa": "SPA", "district": "district", "community": "schools", "cohort": "cohort",
         "school_type": "school type", "student_group": "student group"}
# "The year and student group filters do not apply." / "The filters do not apply." A
# sentence ending "... do not apply to the school points" is about a part of the chart.
SAID = re.compile(r"\bThe (?:([\w ,-]+?) )?filters? (?:does|do) not apply(?! to)")
# The years a chart's page offers (csi_app.state.PAGE_YEARS): funding and activities have their own.
YEARS_FROM = {"funding": "grants", "activities": "activities"}


def said_ignored(caption: str) -> set[str]:
    """The filters a caption says the chart does not follow."""
    out: set[str] = set()
    by_word = {w: k for k, w in WORDS.items()}
    for m in SAID.finditer(caption):
        if m.group(1) is None:
            return set(WORDS)
        for word in re.split(r", | and ", m.group(1)):
            assert word in by_word, (word, caption)
            out.add(by_word[word])
    return out


def signature(drawn: catalogue.Drawn) -> str:
    """What the chart shows: its traces and the table behind it (not its title or words)."""
    return json.dumps([t.to_plotly_json() for t in drawn.fig.data], sort_keys=True, default=str) \
        + drawn.table.write_csv()


def has_data(drawn: catalogue.Drawn) -> bool:
    """A chart with something drawn: a filter cannot change an empty chart."""
    nums = [c for c, t in drawn.table.schema.items() if t.is_numeric() and c not in WORDS]  # not the categories
    return any(drawn.table[c].fill_null(0).abs().sum() > 0 for c in nums)  # not only blanks and zero counts


@pytest.fixture(scope="module")
def setting(demo_con):
    o = query.filter_options(demo_con)
    # The district with the most community schools: it has grants, activities and outcomes.
    district = demo_con.sql("SELECT district_code FROM schools WHERE is_community GROUP BY 1 "
                            "ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
    school = demo_con.sql("SELECT cds_code FROM schools WHERE is_community ORDER BY cds_code LIMIT 1").fetchall()[0][0]
    others = {"spa": o.spas[0], "district": district, "community": "comparison", "cohort": o.cohorts[0],
              "school_type": "ES", "student_group": "SD"}
    return others, school


def variants(chart_id: str, school: str) -> list[dict]:
    """The chart's default choices, then each choice's every value in turn; the map's
    measures also with the points off (the SPA colours alone) and as tiles (no boundaries)."""
    chart = catalogue.CHARTS[chart_id]
    base = {"school": school} if "school" in chart.options else {}
    out = [base]
    for name, opt in chart.options.items():
        out += [{**base, name: v} for v in (opt.values or ())[1:]]
    if chart_id == "map":
        out += [{"measure": m, "points": "off"} for m in chart.options["measure"].values]
        out += [{"measure": m, "_tiles": True} for m in ("chronic_absenteeism", "ccspp_usd", "activities_n")]
    if chart_id == "headline_spark":
        out.append({"metric_id": "chronic_absenteeism", "scope": "county"})
    return out


def draw(con, chart_id: str, f: Filters, choice: dict) -> catalogue.Drawn:
    choice = dict(choice)
    kw = {"boundaries_": lambda: (None, None)} if choice.pop("_tiles", False) else {}
    return catalogue.render_on(con, chart_id, f, choices_=choice, **kw)


@pytest.mark.parametrize("chart_id", list(catalogue.CHARTS))
def test_each_chart_obeys_each_filter_or_its_caption_says_it_does_not(demo_con, setting, chart_id):
    others, school = setting
    years = query.filter_options(demo_con, YEARS_FROM.get(catalogue.CHARTS[chart_id].page, "outcomes")).years
    base = Filters(year=years[-1])
    changed = {"year": years[-2], **others}
    silent, false_claims, drawn_n = [], [], 0
    for choice in variants(chart_id, school):
        before = draw(demo_con, chart_id, base, choice)
        if not has_data(before):
            continue  # e.g. coordination grants: no matched schools to estimate
        drawn_n += 1
        said = said_ignored(before.caption)
        # The words are the chart's own `ignores`, written by the one writer.
        assert said == set(before.ignores), (chart_id, choice, said, before.ignores, before.note)
        for key, value in changed.items():
            same = signature(draw(demo_con, chart_id, base.with_(**{key: value}), choice)) == signature(before)
            if same and key not in said:
                silent.append((choice, key))
            if not same and key in said:
                false_claims.append((choice, key))
    assert drawn_n, f"{chart_id}: no choice of it drew anything to test"
    assert not silent, f"{chart_id} ignores a filter its caption does not name: {silent}"
    assert not false_claims, f"{chart_id}'s caption says a filter does not apply, but it changes: {false_claims}"


def test_the_one_sentence_names_the_filters_a_chart_does_not_follow():
    assert not_applying(["year"]) == "The year filter does not apply."
    assert not_applying(["student_group", "year"]) == "The year and student group filters do not apply."
    assert not_applying(["spa", "district", "cohort"], why="every LA County school") == \
        "The SPA, district and cohort filters do not apply: every LA County school."
    assert not_applying(list(WORDS)) == "The filters do not apply."
    assert not_applying(["year"], to="the SPA colours") == "The year filter does not apply to the SPA colours."
    assert not_applying([]) == ""
    with pytest.raises(ValueError):
        not_applying(["colour"])
    assert said_ignored(not_applying(["community", "school_type"])) == {"community", "school_type"}
    assert said_ignored(not_applying(["year"], to="the school points")) == set()

    # The words the catalogue used before do not count as naming a filter.
    assert said_ignored("Every year is shown: the year filter does not narrow this chart.") == set()
    assert said_ignored("Not narrowed by year, schools or student group.") == set()
