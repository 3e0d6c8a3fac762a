"""The build's matching (csi_metrics.ingest.matching) on constructed real-layout data:
the baseline is never a pandemic year, an unmatchable school is reported with why,
funded schools outside the roster are never controls, and row order does not matter."""

from __future__ import annotations

import duckdb
import pytest

import impact_data
from csi_metrics.ingest import matching
from csi_metrics.rules import impact as rules


def _table(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_default_baseline_is_never_a_pandemic_year():
    years = ["2018-19", "2019-20", "2020-21", "2021-22", "2022-23"]
    assert rules.default_baseline("2021-22", years) == "2018-19"
    assert rules.default_baseline("2020-21", years) == "2018-19"
    assert rules.default_baseline("2022-23", years) == "2021-22"
    assert rules.default_baseline("2021-22", ["2019-20", "2020-21"]) is None
    with pytest.raises(ValueError, match="academic year"):
        rules.default_baseline("2021", years)


def test_build_baselines_skip_pandemic_years(tmp_path):
    schools = impact_data.scenario(first_grant_year="2021-22", n_community=10,
                                   comparison_levels=((80, 0.42),))
    path = impact_data.build(tmp_path, schools)
    m = _table(path, "SELECT DISTINCT baseline_year FROM impact_matches")
    assert m["baseline_year"].to_list() == ["2018-19"]


def test_unmatched_schools_are_reported_with_why(tmp_path):
    schools = impact_data.scenario(n_community=10, comparison_levels=((80, 0.42),))
    schools[0].rates = {y: 0.93 for y in schools[0].rates}              # nobody near it
    schools[1].school_type = "HS"                                       # no comparison high school
    schools[2].rates = {y: r for y, r in schools[2].rates.items() if y != "2021-22"}  # no baseline row
    path = impact_data.build(tmp_path, schools)
    u = _table(path, "SELECT treated_cds, reason FROM impact_unmatched WHERE metric = 'chronic_absenteeism'")
    reasons = dict(zip(u["treated_cds"], u["reason"]))
    assert reasons[schools[0].cds] == matching.NO_WITHIN_CALIPER
    assert reasons[schools[1].cds] == matching.NO_SAME_TYPE
    assert reasons[schools[2].cds] == matching.SUPPRESSED_BASELINE
    assert set(reasons.values()) <= set(matching.REASONS)
    matched = _table(path, "SELECT DISTINCT treated_cds FROM impact_matches WHERE metric = 'chronic_absenteeism'")
    # none silently dropped: every community school is matched or reported, never both
    assert not set(reasons) & set(matched["treated_cds"])
    assert set(reasons) | set(matched["treated_cds"]) == {s.cds for s in schools if s.community}


def test_funded_schools_outside_the_roster_are_never_controls(tmp_path):
    schools = impact_data.scenario(n_community=10, comparison_levels=((80, 0.42),))
    funded = [s.cds for s in schools if not s.community][:20]
    path = impact_data.build(tmp_path, schools, grantees=funded)
    m = _table(path, "SELECT control_cds, rank, distance FROM impact_matches")
    assert m.height and not set(m["control_cds"]) & set(funded)
    assert m["rank"].max() <= matching.K and m["distance"].max() <= matching.CALIPER


def test_matches_do_not_depend_on_row_order(tmp_path):
    schools = impact_data.scenario(n_community=12, comparison_levels=((80, 0.42),))
    q = "SELECT * FROM impact_matches ORDER BY metric, treated_cds, rank"
    a = _table(impact_data.build(tmp_path / "a", schools), q)
    b = _table(impact_data.build(tmp_path / "b", schools, shuffle_seed=3), q)
    assert a.equals(b)
