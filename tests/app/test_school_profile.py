"""The Schools page's profile of one school, in AppTest against the demo database:
its own Dashboard level (official or computed, labelled), its student groups
coloured by the Equity page's rule, and its district and matched comparison
schools beside it."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from csi_metrics.metrics import headline, placement, schools
from csi_metrics.vocabulary import registry
from csi_metrics.vocabulary.filters import Filters
import fixture_paths

pytestmark = pytest.mark.app

APP = str(fixture_paths.REPO / "dashboard.py")
TIMEOUT = 180


def _open(cds: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.query_params["school"] = cds
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/schools.py").run()
    assert [e.value for e in at.exception] + [e.value for e in at.error] == []
    return at


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.main.markdown] + [c.value for c in at.main.caption]


def _school_with(demo_con, metric: str, source: str) -> str:
    table = schools.school_table(demo_con, Filters(year=headline.latest_year(demo_con)))
    rows = table.filter((pl.col(f"{metric}_level_source") == source) & pl.col(f"{metric}_color").is_not_null())
    assert rows.height, f"the demo has a school with a {source} {metric} colour"
    return rows["cds_code"][0]


@pytest.mark.parametrize("source", [placement.SOURCE_OFFICIAL, placement.SOURCE_COMPUTED])
def test_profile_shows_the_schools_own_dashboard_level(app_env, demo_con, source, tmp_path, monkeypatch):
    cds = _school_with(demo_con, "suspension", placement.SOURCE_OFFICIAL)
    year = headline.latest_year(demo_con)
    db = app_env
    if source == placement.SOURCE_COMPUTED:
        # The demo gives every school CDE's file; without it for this school, the placement is computed.
        db = tmp_path / "no_official.duckdb"
        db.write_bytes(app_env.read_bytes())
        with duckdb.connect(str(db)) as con:
            con.execute("DELETE FROM dashboard_official WHERE cds_code = ?", [cds])
        monkeypatch.setenv("CSI_DB", str(db))
    at = _open(cds)
    texts = _texts(at)
    with duckdb.connect(str(db), read_only=True) as con:
        profile = schools.school_profile(con, cds)
    assert profile["suspension"].filter(pl.col("year") == year)["level_source"][0] == source
    for metric in registry.OUTCOMES:
        row = profile[metric].filter(pl.col("year") == year).row(0, named=True)
        level = next((t for t in texts if f"{registry.get(metric).label}, Dashboard {year}" in t), None)
        assert level is not None, f"no Dashboard level for {metric} on the profile"
        if row["color"]:
            assert any(row["color"] in t and ("Dashboard colour" in t or "Dashboard-style colour" in t)
                       for t in texts)
            line = next(t for t in texts if placement.label(row["level_source"]) in t and row["status_level"] in t)
            assert row["change_level"] in line
        else:
            assert any("No Dashboard colour" in t for t in texts)
    assert any(placement.label(source) in t for t in texts)


def _bars(at: AppTest, title_part: str) -> tuple[dict, dict]:
    """{bar label: colour hex} and the figure of the chart whose title has `title_part`."""
    import json
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        title = fig["layout"].get("title", {}).get("text", "")
        if title_part in title:
            colours = {}
            for trace in fig["data"]:
                if trace.get("type") == "bar":
                    for y in trace["y"]:
                        colours[y] = trace["marker"]["color"]
            return colours, fig
    raise AssertionError(f"no chart titled {title_part!r}")


def test_profile_groups_are_coloured_like_the_equity_page(app_env, demo_con):
    from csi_metrics.figures import charts
    from csi_metrics.vocabulary import words
    cds = _school_with(demo_con, "suspension", placement.SOURCE_OFFICIAL)
    at = _open(cds, school_metric="suspension")
    groups = schools.school_profile(demo_con, cds)["student_groups"].filter(
        (pl.col("metric") == "suspension") & (pl.col("student_group") != "TA") & ~pl.col("suppressed")
        & pl.col("rate").is_not_null())
    colours, _ = _bars(at, "Suspension rate by student group")
    assert groups.height and colours
    for r in groups.iter_rows(named=True):
        label = words.group_label("student_group", r["student_group"])
        if label in colours:
            assert colours[label] == charts.dashboard_color_hex(r["color"]), label
    # The caption says where the colours come from, in the Equity page's words.
    caption = next(c.value for c in at.main.caption if "This school's student groups" in c.value)
    every = schools.school_profile(demo_con, cds)["student_groups"].filter(pl.col("metric") == "suspension")
    assert placement.colour_sentence(every["level_source"], "suspension") in caption
    assert "Groups under 30 students get no colour" in caption


def _pooled(demo_con, metric: str, where: str, params: list) -> dict[str, float | None]:
    """Sum of visible numerators over sum of visible denominators, by year; None under 11 students."""
    rows = demo_con.execute(f"""
        SELECT o.academic_year, sum(o.numerator_n), sum(o.denominator_n)
        FROM outcomes o JOIN schools s USING (cds_code)
        WHERE o.metric = ? AND o.aggregate_level = 'S' AND o.reporting_category = 'TA' AND o.visible
          AND o.numerator_n IS NOT NULL AND o.denominator_n IS NOT NULL AND {where}
        GROUP BY 1""", [metric, *params]).fetchall()
    return {y: (n / d if d >= 11 else None) for y, n, d in rows}


def _lines(fig: dict) -> dict[str, dict[str, float | None]]:
    return {t["name"]: dict(zip(t["x"], t["y"])) for t in fig["data"] if t.get("type") == "scatter"}


def test_profile_compares_the_school_with_its_district_and_matched_schools(app_env, demo_con):
    metric = "suspension"
    cds, district, district_name = demo_con.execute(
        """SELECT s.cds_code, s.district_code, s.district_name FROM schools s
           WHERE s.is_community AND s.cds_code IN (SELECT treated_cds FROM impact_matches WHERE metric = ?)
           ORDER BY s.cds_code LIMIT 1""", [metric]).fetchall()[0]
    at = _open(cds, school_metric=metric)
    _, fig = _bars(at, "Suspension rate by student group")  # the page's charts are there
    import json
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    compare = next((f for f in figs if "district and matched" in f["layout"].get("title", {}).get("text", "")), None)
    assert compare is not None, "no comparison chart on the profile"
    lines = _lines(compare)
    district_line = next(v for k, v in lines.items() if district_name in k)
    matched_line = next(v for k, v in lines.items() if k.startswith("Matched comparison schools"))
    expected_d = _pooled(demo_con, metric, "s.district_code = ?", [district])
    expected_m = _pooled(demo_con, metric, "o.cds_code IN (SELECT control_cds FROM impact_matches "
                                      "WHERE treated_cds = ? AND metric = ?)", [cds, metric])
    for got, expected in ((district_line, expected_d), (matched_line, expected_m)):
        assert any(v is not None for v in got.values())
        for year, v in got.items():
            e = expected.get(year)
            assert (v is None) if e is None else v == pytest.approx(e), year
    caption = next(c.value for c in at.main.caption if "pooled" in c.value and "matched" in c.value)
    assert "fewer than 11" in caption


def test_profile_of_a_school_without_matches_says_so(app_env, demo_con):
    cds = demo_con.execute("SELECT cds_code FROM schools WHERE NOT is_community ORDER BY cds_code LIMIT 1").fetchall()[0][0]
    at = _open(cds, school_metric="suspension")
    import json
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    compare = next(f for f in figs if "district" in f["layout"].get("title", {}).get("text", ""))
    assert not any(k.startswith("Matched comparison schools") for k in _lines(compare))
    assert any("no matched comparison schools" in c.value for c in at.main.caption)
