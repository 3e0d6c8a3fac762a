"""Filters to SQL (csi_metrics.metrics.query): one translation per table, bound
parameters only, and a filter a table cannot answer refused unless skipped."""

from __future__ import annotations

import pytest

from csi_metrics.metrics import query
from csi_metrics.vocabulary.filters import Filters

Y = "2023-24"


def test_outcome_filters_bind_every_value():
    conds, params = query.where(Filters(year=Y, spa=4, district="1964733", school_type="HS", community="community"),
                                query.OUTCOMES)
    assert conds == ["s.county_code = ?", "o.academic_year = ?", "s.spa_n = ?", "s.district_code = ?",
                     "s.is_community", "s.school_type = ?", "o.reporting_category = ?"]
    assert params == ["19", Y, 4, "1964733", "HS", "TA"]
    assert all("1964733" not in c and Y not in c for c in conds)


def test_each_table_answers_in_its_own_columns():
    f = Filters(year=Y, spa=2, district="1964733", school="19647336000001", cohort=1, school_type="ES")
    grants, gp = query.where(f, query.GRANTS, skip=("community",))
    assert grants == ["g.county_code = ?", "g.award_year = ?", "g.spa_n = ?", "g.district_code = ?",
                      "g.grantee_cds = ?", "g.cohort = ?", "g.school_type = ?"]
    assert gp == ["19", Y, 2, "1964733", "19647336000001", 1, "ES"]
    acts, ap = query.where(f.with_(community="comparison"), query.ACTIVITIES, county_code=None)
    assert "substr(a.cds_code, 1, 7) = ?" in acts and "NOT s.is_community" in acts and "g.spa_n = ?" not in acts
    assert query.needs_schools(f, query.ACTIVITIES) and not query.needs_schools(Filters(year=Y), query.ACTIVITIES)


def test_a_filter_a_table_cannot_answer_is_refused_unless_skipped():
    with pytest.raises(ValueError, match="grants g cannot be filtered by community"):
        query.where(Filters(community="comparison"), query.GRANTS)
    with pytest.raises(ValueError, match="cannot be filtered by student_group"):
        query.where(Filters(student_group="SE"), query.SCHOOLS)
    conds, _ = query.where(Filters(student_group="SE", community="community"), query.GRANTS,
                           skip=("community", "student_group"))
    assert conds == ["g.county_code = ?"]
    # all students is every table's rows: nothing to refuse
    assert query.where(Filters(), query.SCHOOLS) == (["s.county_code = ?"], ["19"])
    with pytest.raises(ValueError, match="community must be one of"):
        query.where(Filters(community="both"), query.OUTCOMES)
