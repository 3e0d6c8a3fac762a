"""The impact estimator on constructed data in CDE's real layouts (tests/impact_data.py):
mean reversion is not mistaken for an effect, a planted effect is recovered, row
order does not matter, and the command line prints every format."""

from __future__ import annotations

import json

import pytest

import impact_data
from csi_metrics import cli
from csi_metrics.metrics import compare, impact
from csi_metrics.storage import db
from csi_metrics.vocabulary.filters import Filters

CA = "chronic_absenteeism"


@pytest.fixture(scope="module")
def reversion_db(tmp_path_factory):
    # Every school falls 25%; community schools start at 42%, comparison schools at 22% on average.
    schools = impact_data.scenario(post_factor=0.75)
    return impact_data.build(tmp_path_factory.mktemp("reversion"), schools)


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory):
    schools = impact_data.scenario(effect_pp=-3.0, seed=11)
    return impact_data.build(tmp_path_factory.mktemp("planted"), schools)


def _est(path, metric=CA, **kw):
    con = db.open_for_display(path)
    try:
        return impact.impact_estimate(con, metric, **kw).row(0, named=True)
    finally:
        con.close()


def test_mean_reversion_is_not_an_effect(reversion_db):
    con = db.open_for_display(reversion_db)
    try:
        naive = compare.diff_in_diff(con, CA).filter(compare.pl.col("group") == "all")["did_pp"][0]
        est = impact.impact_estimate(con, CA).row(0, named=True)
    finally:
        con.close()
    assert -6.0 < naive < -4.0, naive            # today's comparison reports about -5 pp
    assert est["ci_low_pp"] < 0 < est["ci_high_pp"], est
    assert abs(est["effect_pp"]) < 1.0
    # every community school is either in the estimate or reported unmatched
    assert est["treated_schools_n"] + est["unmatched_schools_n"] == 30 and est["treated_schools_n"] >= 20
    assert est["control_schools_n"] >= 10


def test_planted_effect_is_recovered_within_its_interval(planted_db):
    est = _est(planted_db)
    assert est["ci_low_pp"] <= -3.0 <= est["ci_high_pp"], est
    assert est["ci_high_pp"] < 0
    assert est["relative_change_rate"] is None or est["relative_change_rate"] < 0
    s = _est(planted_db, "suspension")
    assert s["ci_low_pp"] <= -0.3 <= s["ci_high_pp"], s     # the suspension files carry a tenth of it


def test_event_study_flags_pandemic_years_and_shows_pre_periods(planted_db):
    con = db.open_for_display(planted_db)
    try:
        es = impact.event_study(con, CA)
    finally:
        con.close()
    rows = {r["relative_year"]: r for r in es.iter_rows(named=True)}
    assert rows[-2]["pandemic_year"] and rows[-2]["years"] == "2020-21"
    assert rows[-1]["is_reference"] and rows[-1]["effect_pp"] == 0.0   # the baseline 2021-22
    assert rows[-4]["ci_low_pp"] <= 0 <= rows[-4]["ci_high_pp"]          # flat before the grant
    assert rows[0]["ci_low_pp"] <= -3.0 <= rows[0]["ci_high_pp"]


def test_balance_improves_with_matching(reversion_db):
    con = db.open_for_display(reversion_db)
    try:
        bal = {r["variable"]: r for r in impact.balance(con, CA).iter_rows(named=True)}
    finally:
        con.close()
    assert bal["level_rate"]["smd_before"] > 1.0
    assert abs(bal["level_rate"]["smd_after"]) < 0.25
    assert set(bal) == {"level_rate", "trend_pp", "ss_share_rate", "log_enrollment"}


def test_results_do_not_depend_on_row_order(tmp_path):
    schools = impact_data.scenario(effect_pp=-3.0, seed=11)
    a = _est(impact_data.build(tmp_path / "a", schools))
    b = _est(impact_data.build(tmp_path / "b", schools, shuffle_seed=5))
    assert a["effect_pp"] == pytest.approx(b["effect_pp"], abs=1e-9)
    assert a["ci_low_pp"] == pytest.approx(b["ci_low_pp"], abs=1e-9)
    assert a["control_schools_n"] == b["control_schools_n"]


def test_bad_parameters_are_named(planted_db):
    con = db.open_for_display(planted_db)
    try:
        with pytest.raises(ValueError, match="grant_type"):
            impact.impact_estimate(con, CA, grant_type="both")
        with pytest.raises(ValueError, match="metric"):
            impact.impact_estimate(con, "attendance")
        with pytest.raises(ValueError, match="baseline"):
            impact.impact_estimate(con, CA, baseline="2023-24")
        with pytest.raises(ValueError, match="student_group"):
            impact.impact_estimate(con, CA, Filters(student_group="RH"))
    finally:
        con.close()


def test_planning_grantees_are_kept_apart(planted_db):
    est = _est(planted_db, grant_type="planning")
    assert est["treated_schools_n"] == 0 and est["effect_pp"] is None


def test_cli_formats_and_a_bad_grant_type(planted_db, capsys):
    assert cli.main(["impact", "--metric", CA, "--db", str(planted_db), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    e = data["estimate"]
    assert e["treated_schools_n"] + e["unmatched_schools_n"] == 30 and len(data["balance"]) == 4
    assert cli.main(["impact", "--metric", CA, "--db", str(planted_db), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "section,name,value,smd_before,smd_after" and "effect_pp" in out
    assert cli.main(["impact", "--metric", "suspension", "--db", str(planted_db)]) == 0
    out = capsys.readouterr().out
    assert "95% CI" in out and "balance" in out and "community left unmatched" in out
    assert cli.main(["impact", "--metric", CA, "--grant-type", "both", "--db", str(planted_db)]) == 2
    assert "--grant-type" in capsys.readouterr().err
    assert cli.main(["impact", "--metric", CA, "--spa", "9", "--db", str(planted_db)]) == 2
    assert "--spa" in capsys.readouterr().err


def test_one_matched_pair_gives_an_estimate_without_an_interval_not_an_error():
    """Filters down to one community school and its one match (as the load test reached
    with a district filter): as many rows as coefficients, so no clustered interval."""
    import polars as pl

    from csi_metrics.metrics import impact

    rows = pl.DataFrame({"cohort": ["2022-23", "2022-23"], "baseline_year": ["2021-22", "2021-22"],
                         "cds_code": ["19000000000001", "19000000000002"], "treated": [True, False],
                         "year": ["2023-24", "2023-24"], "relative_year": [1, 1], "change_pp": [-4.0, -1.0],
                         "weight": [400.0, 400.0], "base_n": [400, 400]})
    res = impact._fit(rows)
    assert res["effect_pp"] == pytest.approx(-3.0) and res["se_pp"] is None and res["ci_low_pp"] is None
