"""The dashboard in Streamlit's AppTest against the demo database: every page
renders, headline numbers equal the metric library's for the same filters,
filters change them, URL values are read and bad ones only warn."""

from __future__ import annotations


import json

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from csi_metrics.metrics import headline, rates, schools
from csi_metrics.vocabulary import registry, formats
from csi_metrics.vocabulary.filters import Filters
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO
APP = str(REPO / "dashboard.py")
TIMEOUT = 180  # a loaded 2-core machine; the first run of a page fills the caches
PAGES = ["pages/overview.py", "pages/map.py", "pages/trends.py", "pages/equity.py", "pages/funding.py",
         "pages/activities.py", "pages/schools.py", "pages/about.py"]


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _as_read(rate: float) -> float:
    """A 0-1 rate as the on-screen table shows it: to 0.1 point, half up (the CSV keeps it whole)."""
    return pl.select(formats.half_up_expr(pl.lit(rate), 3)).item()


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _latest(con) -> str:
    return headline.latest_year(con)


def _card_title(r: dict) -> str:
    if r["metric_id"] == "community_schools_n":
        return r["label"]
    if r["unit"] != "rate":
        return {"students_served_n": "Students served", "ccspp_usd": "CCSPP dollars awarded to date"}[r["metric_id"]]
    return f"{registry.get(r['metric_id']).label}, {r['scope_label']}"


def _expected_cards(con, f: Filters) -> dict[str, str]:
    head = headline.headline(con, f)
    return {_card_title(r): formats.format_value(r["value"], registry.get(r["metric_id"]).unit,
                                                  suppressed=r["suppressed"]) for r in head.iter_rows(named=True)}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_the_demo_banner(app_env, page):
    at = _app()
    at.switch_page(page).run()
    assert _problems(at) == []
    assert any("DEMO DATA" in w.value and "fictional schools" in w.value for w in at.warning)
    assert len(at.title) >= 1


def test_overview_headline_equals_the_library(app_env, demo_con):
    at = _app()
    assert _problems(at) == []
    shown = _metrics(at)
    expected = _expected_cards(demo_con, Filters(year=_latest(demo_con)))
    assert len(expected) == 7
    for title, value in expected.items():
        assert shown[title] == value, title
    # the sentence is the library's own
    f = Filters(year=_latest(demo_con))
    assert at.subheader[0].value == headline.what_moved(
        headline.headline(demo_con, f), group_label="All students",
        comparison=headline.headline(demo_con, f.with_(community="comparison")))
    assert "comparison schools" in at.subheader[0].value and " pp" not in at.subheader[0].value


def test_changing_filters_changes_the_headline(app_env, demo_con):
    at = _app()
    before = _metrics(at)
    # the SPA with the most community schools, so its figures are not suppressed
    spa = demo_con.sql("SELECT spa_n FROM schools WHERE is_community AND spa_n IS NOT NULL "
                  "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    at.selectbox(key="f_spa").set_value(spa).run()
    assert _problems(at) == []
    after = _metrics(at)
    expected = _expected_cards(demo_con, Filters(year=_latest(demo_con), spa=spa))
    for title, value in expected.items():
        assert after[title] == value, title
    assert after["Community schools"] != before["Community schools"]
    assert at.query_params["spa"] == [str(spa)] or at.query_params["spa"] == str(spa)
    # county figures ignore the SPA filter
    assert after["Suspension rate, LA County, all schools"] == before["Suspension rate, LA County, all schools"]


def test_year_filter_changes_the_headline(app_env, demo_con):
    years = [r[0] for r in demo_con.sql("SELECT DISTINCT academic_year FROM outcomes ORDER BY 1").fetchall()]
    at = _app(year=years[-2])
    assert _problems(at) == [] and not [w for w in at.warning if "Ignored" in w.value]
    expected = _expected_cards(demo_con, Filters(year=years[-2]))
    assert _metrics(at)["Chronic absenteeism rate, Community schools"] == expected["Chronic absenteeism rate, Community schools"]
    assert expected != _expected_cards(demo_con, Filters(year=years[-1]))


@pytest.mark.parametrize("name,raw", [("spa", "99"), ("year", "abc"), ("student_group", "<script>alert(1)</script>"),
                                      ("cohort", "x"), ("community", "nope"), ("district", "1")])
def test_bad_url_value_warns_and_falls_back(app_env, demo_con, name, raw):
    at = _app(**{name: raw})
    assert _problems(at) == []
    warnings = [w.value for w in at.warning if "Ignored URL parameter" in w.value]
    assert len(warnings) == 1 and f"`{name}=" in warnings[0]
    assert "<script>" not in warnings[0]
    # the page still shows the default view's numbers
    assert _metrics(at)["Community schools"] == _expected_cards(demo_con, Filters(year=_latest(demo_con)))["Community schools"]


def test_url_values_are_read_into_the_sidebar(app_env, demo_con):
    at = _app(spa="4", community="community", student_group="SE")
    assert _problems(at) == []
    assert at.selectbox(key="f_spa").value == 4
    assert at.radio(key="f_community").value == "community"
    assert at.selectbox(key="f_student_group").value == "SE"
    # kept across a page switch
    at.switch_page("pages/trends.py").run()
    assert at.selectbox(key="f_spa").value == 4
    assert _problems(at) == []


def test_trends_table_is_the_library_trend(app_env, demo_con):
    from csi_metrics.metrics import trends

    at = _app()
    at.switch_page("pages/trends.py").run()
    assert _problems(at) == []
    table = at.dataframe[0].value
    assert set(table["series"]) == {"chosen schools", "LA County, every school"}  # the county line is in it too
    table = table[table["series"] == "chosen schools"]
    expected = trends.trend(demo_con, "chronic_absenteeism", ["community"], Filters())
    expected = expected.filter(expected["community"].is_in(["community", "comparison"]))
    assert len(table) == expected.height
    got = {(r["year"], r["community"]): r["rate"] for r in table.to_dict("records")}
    for r in expected.iter_rows(named=True):
        g = got[(r["year"], r["community"])]
        assert (g is None or g != g) if r["rate"] is None else g == pytest.approx(_as_read(r["rate"]))


def test_schools_page_opens_a_school_from_the_url(app_env, demo_con):
    table = schools.school_table(demo_con, Filters(year=_latest(demo_con)))
    cds, name = table.filter(table["is_community"]).select("cds_code", "school_name").row(0)
    at = _app()
    at.query_params["school"] = cds
    at.switch_page("pages/schools.py").run()
    assert _problems(at) == []
    assert at.selectbox(key="school_pick").value == cds
    assert [h.value for h in at.main.header] == [name]
    assert at.query_params["school"] in (cds, [cds])


def test_schools_bad_code_warns(app_env):
    at = _app()
    at.query_params["school"] = "not-a-school"
    at.switch_page("pages/schools.py").run()
    assert _problems(at) == []
    assert any("`school=" in w.value for w in at.warning)


def test_equity_rates_are_the_library_rates(app_env, demo_con):
    at = _app()
    at.switch_page("pages/equity.py").run()
    assert _problems(at) == []
    table = at.dataframe[0].value
    expected = rates.pooled_rates(demo_con, "chronic_absenteeism", ["student_group"], Filters(year=_latest(demo_con)))
    exp = {r["student_group"]: r["rate"] for r in expected.iter_rows(named=True)}
    for r in table.to_dict("records"):
        want = exp[r["student_group"]]
        assert (r["rate"] != r["rate"] or r["rate"] is None) if want is None else \
            r["rate"] == pytest.approx(_as_read(want))


@pytest.mark.parametrize("metric", ["chronic_absenteeism", "suspension"])
def test_equity_figures_and_colours_equal_the_report_command(app_env, demo_con, metric):
    import argparse
    import io
    import json

    from csi_metrics import report

    at = _app()
    at.switch_page("pages/equity.py").run()
    if metric != "chronic_absenteeism":
        at.segmented_control(key="metric").set_value(metric).run()
    assert _problems(at) == []
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    out = io.StringIO()
    year = _latest(demo_con)
    assert report.run(parser.parse_args(["--db", str(app_env), "--metric", metric, "--by", "student_group",
                                         "--year", year, "--format", "json"]), out=out) == 0
    want = {r["student_group"]: r for r in json.loads(out.getvalue())}

    def blank(v):
        return None if v is None or v != v else v

    table = at.dataframe[0].value.to_dict("records")
    assert len(table) > 5 and any(blank(r["color"]) for r in table)
    for r in table:
        w = want[r["student_group"]]
        assert blank(r["color"]) == w["color"], r["student_group"]
        assert (blank(r["status_level"]), blank(r["change_level"])) == (w["status_level"], w["change_level"])
        assert bool(r["suppressed"]) == w["suppressed"]
        if w["rate_pct"] is None:
            assert blank(r["rate"]) is None
        else:
            assert round(r["rate"] * 100, 1) == pytest.approx(w["rate_pct"], abs=0.051)


def test_missing_database_says_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("python -m csi_metrics build --demo" in e.value for e in at.error)


def test_funding_to_date_equals_the_headline_dollars(app_env, demo_con):
    at = _app()
    at.switch_page("pages/funding.py").run()
    assert _problems(at) == []
    # The Funding page offers the award years (its own data's), latest first.
    year = demo_con.sql("SELECT max(award_year) FROM grants WHERE county_code = '19'").fetchall()[0][0]
    assert at.sidebar.selectbox(key="f_year").value == year
    head = headline.headline(demo_con, Filters(year=year))
    usd = head.filter(head["metric_id"] == "ccspp_usd")["value"][0]

    assert _metrics(at)[f"Awarded through {year}"] == formats.format_value(usd, "usd", compact=True)
    # "in this year only" is the library's awards for that award year
    at.segmented_control(key="awards").set_value("in_year").run()
    from csi_metrics.metrics import funding

    in_year = funding.awards(demo_con, [], Filters(year=year))
    assert _metrics(at)[f"Grants in {year}"] == f"{int(in_year['grants_n'].sum()):,}"


def test_activities_totals_equal_the_library(app_env, demo_con):
    from csi_metrics.metrics import activities

    at = _app()
    at.switch_page("pages/activities.py").run()
    assert _problems(at) == []
    total = activities.activity_counts(demo_con, [], Filters(year=_latest(demo_con))).row(0, named=True)
    shown = _metrics(at)
    assert shown["Activities"] == f"{total['activities_n']:,}"
    assert shown["Attendances"] == f"{total['attendees_n']:,}"


def test_csv_of_a_trend_column_keeps_gaps_blank():
    import polars as pl

    from csi_metrics.figures.downloads import csv_bytes

    df = pl.DataFrame({"school": ["a"], "ca_trend": [[0.25, float("nan"), None, 0.5]]})
    assert csv_bytes(df).decode() == "school,ca_trend\na,0.25;;;0.5\n"


def test_page_controls_are_read_from_the_url(app_env, demo_con):
    from csi_metrics.metrics import trends

    at = _app()
    at.query_params["metric"] = "suspension"
    at.query_params["by"] = "spa"
    at.switch_page("pages/trends.py").run()
    assert _problems(at) == []
    assert at.segmented_control(key="metric").value == "suspension"
    table = at.dataframe[0].value
    table = table[table["series"] == "chosen schools"]
    expected = trends.trend(demo_con, "suspension", ["spa"], Filters())
    assert len(table) == expected.height
    got = {(r["year"], r["spa"]): r["rate"] for r in table.to_dict("records")}
    r = expected.filter(expected["rate"].is_not_null()).row(0, named=True)
    assert got[(r["year"], r["spa"])] == pytest.approx(_as_read(r["rate"]))
    # choosing another breakdown writes it back to the URL
    at.segmented_control(key="by").set_value("cohort").run()
    assert at.query_params["by"] in ("cohort", ["cohort"])


def test_bad_page_control_in_the_url_warns(app_env):
    at = _app()
    at.query_params["by"] = "nonsense"
    at.switch_page("pages/trends.py").run()
    assert _problems(at) == []
    assert any("`by=nonsense`" in w.value for w in at.warning)
    assert at.segmented_control(key="by").value == "community"


def test_about_page_shows_file_names_and_checksums_never_server_paths(tmp_path, monkeypatch, fixtures_dir):
    import shutil

    from csi_metrics.ingest import build

    cde_dir, ini = tmp_path / "srv" / "cde", tmp_path / "srv" / "initiative"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    shutil.copytree(fixtures_dir / "initiative", ini)
    target = tmp_path / "csi.duckdb"
    build.build(target, cde_dir, ini, None)
    monkeypatch.setenv("CSI_DB", str(target))
    at = _app()
    at.switch_page("pages/about.py").run()
    assert _problems(at) == []
    shown = " ".join(str(v) for d in at.dataframe for v in frame_values(d.value)) + " ".join(
        m.value for m in at.markdown)
    assert str(tmp_path) not in shown and "/srv/" not in shown
    assert "chronicabsenteeism24.txt" in shown  # the names are there, with their checksums
    assert "published figures; hidden:" in shown


def frame_values(value) -> list:
    import polars as pl

    df = value if isinstance(value, pl.DataFrame) else pl.from_pandas(value)
    return [c for col in df.columns for c in df[col].to_list()] + list(df.columns)


def test_about_page_shows_the_reconciliation_with_cde_colours(app_env):
    from csi_metrics.storage import db
    from csi_metrics.metrics import placement

    con = db.open_for_display(app_env)
    try:
        summary, diffs = placement.reconcile(con)
    finally:
        con.close()
    assert summary.height and diffs.height  # the demo's suspension files use CDE's full-day count
    at = _app()
    at.switch_page("pages/about.py").run()
    assert _problems(at) == []
    assert "Computed colours checked against CDE's" in [s.value for s in at.subheader]
    table = next(t.value for t in at.dataframe if "schools compared" in t.value.columns)
    assert table["schools compared"].tolist() == summary["schools_compared_n"].to_list()
    assert table["different colour"].sum() == diffs.height


def test_overview_cards_say_what_a_pooled_rate_left_out_and_an_unconfirmed_cut_set(app_env, demo_con):
    from csi_metrics.storage import db

    con = db.open_for_display(app_env)
    try:
        head = headline.headline(con, Filters())
    finally:
        con.close()
    rates_ = head.filter(pl.col("unit") == "rate")
    left = rates_.filter(pl.col("suppressed_schools_n") > 0)
    notes = rates_["cut_set_note"].drop_nulls().to_list()
    assert left.height and notes  # the demo's county figures leave hidden school figures out
    at = _app()
    assert _problems(at) == []
    captions = " ".join(c.value for c in at.caption)
    for r in left.iter_rows(named=True):
        assert f"Pools {r['schools_n']:,} school figures; {r['suppressed_schools_n']:,} hidden ones left out." \
            in captions
    assert all("cut scores " + n.split(" cut scores ", 1)[1] in captions for n in notes)


def test_trends_shows_the_matched_estimate_the_library_computes(app_env, demo_con):
    from csi_metrics.metrics import impact

    at = _app(metric="suspension", grant_type="all", spa="6")
    at.switch_page("pages/trends.py").run()
    assert not _problems(at), _problems(at)
    est = impact.impact_estimate(demo_con, "suspension", Filters(spa=6), "all").row(0, named=True)
    shown = _metrics(at)
    assert shown["Community minus matched schools"] == formats.format_value(est["effect_pp"], "pp")
    assert shown["95% interval"] == (f"{formats.format_value(est['ci_low_pp'], 'pp').removesuffix(' pp')} to "
                                     f"{formats.format_value(est['ci_high_pp'], 'pp')}")
    assert shown["Community schools"] == f"{est['treated_schools_n']:,}"
    assert shown["Matched comparison schools"] == f"{est['control_schools_n']:,}"
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in at.get("plotly_chart")]
    assert "Suspension: community vs matched schools, year by year" in titles
    assert "Matching balance, suspension" in titles
    assert any("not proof of cause" in c.value for c in at.caption)


def test_trends_baseline_is_kept_in_the_url_and_a_late_one_falls_back(app_env, demo_con):
    from csi_metrics.metrics import impact

    at = _app(baseline="2018-19")
    at.switch_page("pages/trends.py").run()
    assert not _problems(at)
    assert at.selectbox(key="baseline").value == "2018-19" and at.query_params["baseline"] == "2018-19"
    est = impact.impact_estimate(demo_con, "chronic_absenteeism", Filters(), baseline="2018-19").row(0, named=True)
    assert _metrics(at)["Community minus matched schools"] == formats.format_value(est["effect_pp"], "pp")
    at.selectbox(key="baseline").set_value("2023-24").run()  # after the first grants: refused, with why
    assert any("is not before the first grant year" in w.value for w in at.warning)
    default = impact.impact_estimate(demo_con, "chronic_absenteeism", Filters()).row(0, named=True)
    assert _metrics(at)["Community minus matched schools"] == formats.format_value(default["effect_pp"], "pp")
