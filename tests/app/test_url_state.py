"""URL state: every filter read back from the query string, each value checked
against what the database holds; bad values fall back with a named warning."""

from __future__ import annotations

import pytest

from csi_metrics.vocabulary.filters import Filters
from csi_app.state import default_filters, parse_query_params, query_params_for
from csi_metrics.vocabulary.filters import FilterOptions

OPTS = FilterOptions(
    years=("2021-22", "2022-23", "2023-24"),
    spas=(1, 4, 6),
    districts=(("1964733", "Fictional Unified", 4), ("1964733", "Fictional Unified", 6),
               ("1965094", "Imaginary Elementary", 1)),
    cohorts=(1, 2),
    school_types=("ES", "MS", "HS"),
    student_groups=(("TA", "All students"), ("SE", "English learners"), ("RB", "African American")),
)


def test_defaults_when_no_params():
    f, warnings = parse_query_params({}, OPTS)
    assert f == Filters(year="2023-24") == default_filters(OPTS)
    assert warnings == []


def test_every_valid_param_is_read():
    params = {"year": "2022-23", "spa": "4", "district": "1964733", "community": "community",
              "cohort": "2", "school_type": "MS", "student_group": "SE"}
    f, warnings = parse_query_params(params, OPTS)
    assert warnings == []
    assert f == Filters(year="2022-23", spa=4, district="1964733", community="community", cohort=2,
                        school_type="MS", student_group="SE")


def test_round_trip_through_the_url():
    f = Filters(year="2021-22", spa=6, district="1964733", community="comparison", cohort=1,
                school_type="HS", student_group="RB")
    params = query_params_for(f, OPTS)
    assert params == {"year": "2021-22", "spa": "6", "district": "1964733", "community": "comparison",
                      "cohort": "1", "school_type": "HS", "student_group": "RB"}
    assert parse_query_params(params, OPTS) == (f, [])


def test_defaults_other_than_year_are_left_out_of_the_url():
    assert query_params_for(default_filters(OPTS), OPTS) == {"year": "2023-24"}


@pytest.mark.parametrize("name,raw", [
    ("spa", "99"), ("spa", "2"), ("spa", "-1"), ("spa", "4.0"),
    ("year", "abc"), ("year", "2030-31"), ("year", ""),
    ("district", "0000000"), ("district", "1964733'; DROP TABLE schools;--"),
    ("community", "maybe"), ("cohort", "7"), ("cohort", "one"),
    ("school_type", "XX"), ("student_group", "<script>alert(1)</script>"), ("student_group", "ta"),
])
def test_bad_value_falls_back_with_a_warning_naming_the_parameter(name, raw):
    f, warnings = parse_query_params({name: raw, "spa": "1"} if name != "spa" else {name: raw}, OPTS)
    assert getattr(f, name) == getattr(Filters(year="2023-24"), name)
    assert len(warnings) == 1
    assert f"`{name}=" in warnings[0]
    assert "<script>" not in warnings[0]


def test_one_bad_param_does_not_drop_the_good_ones():
    f, warnings = parse_query_params({"spa": "4", "cohort": "x", "student_group": "SE"}, OPTS)
    assert (f.spa, f.cohort, f.student_group) == (4, None, "SE")
    assert len(warnings) == 1 and "cohort" in warnings[0]


def test_district_outside_the_chosen_spa_is_dropped_with_a_warning():
    f, warnings = parse_query_params({"spa": "1", "district": "1964733"}, OPTS)
    assert f.spa == 1 and f.district is None
    assert len(warnings) == 1 and "district" in warnings[0]


def test_unknown_params_are_ignored_silently():
    f, warnings = parse_query_params({"present": "1", "school": "19647330000000"}, OPTS)
    assert f == default_filters(OPTS) and warnings == []
