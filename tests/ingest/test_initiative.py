"""Initiative CSV readers on the fixtures in tests/fixtures/initiative, the
shipped templates, and every bad-input case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from csi_metrics.ingest import initiative
from csi_metrics.vocabulary.config import PROJECT_ROOT
from csi_metrics.vocabulary.errors import InputError

TEMPLATES = PROJECT_ROOT / "data" / "templates"
READERS = {
    "roster.csv": initiative.read_roster,
    "grants.csv": initiative.read_grants,
    "activities.csv": initiative.read_activities,
    "attendance.csv": initiative.read_attendance,
    "spa_crosswalk.csv": initiative.read_spa_crosswalk,
    "ccspp_grantees.csv": initiative.read_ccspp_grantees,
}


def test_roster(fixtures_dir):
    res = initiative.read_roster(fixtures_dir / "initiative" / "roster.csv")
    f = res.frame
    assert res.rows_n == 2
    assert f["cds_code"].to_list() == ["19753096000001", "19753090100004"]
    assert f["cohort"].to_list() == [1, 2] and f.schema["cohort"] == pl.Int32
    assert f["grant_type"].to_list() == ["implementation", "planning"]
    assert f["first_grant_year"].to_list() == ["2022-23", "2023-24"]


def test_grants_quoted_name_and_amounts(fixtures_dir):
    f = initiative.read_grants(fixtures_dir / "initiative" / "grants.csv").frame
    assert f.height == 3
    assert f.filter(pl.col("grant_id") == "G-003")["grantee_name"].item() == "Bayside Fixture Unified, District Office"
    assert f.filter(pl.col("county_code") == "19")["amount_usd"].sum() == 1_700_000
    assert f["amount_usd"].sum() == 1_950_000
    assert f["county_code"].to_list() == ["19", "19", "01"]  # leading zero kept


def test_activities_year_is_july_to_june(fixtures_dir):
    f = initiative.read_activities(fixtures_dir / "initiative" / "activities.csv").frame
    years = dict(zip(f["activity_id"], f["academic_year"]))
    assert years == {"A-1": "2024-25", "A-2": "2024-25", "A-3": "2024-25", "A-4": "2023-24", "A-5": "2024-25"}
    a3 = f.filter(pl.col("activity_id") == "A-3").row(0, named=True)
    assert a3["activity_date"] == dt.date(2025, 1, 15)
    assert (a3["spa_n"], a3["cds_code"], a3["attendees_n"], a3["items_n"]) == (8, None, None, 350)
    assert f.filter(pl.col("activity_id") == "A-2")["spa_n"].item() is None  # blank stays blank here


def test_december_and_june_edges(tmp_path):
    p = tmp_path / "activities.csv"
    p.write_text("activity_id,activity_date,activity_type,spa_n,cds_code,attendees_n,items_n\n"
                 "x,2019-12-31,referral,,,,\ny,2020-06-30,referral,,,,\nz,2020-07-01,referral,,,,\n")
    assert initiative.read_activities(p).frame["academic_year"].to_list() == ["2019-20", "2019-20", "2020-21"]


def test_attendance_and_crosswalk(fixtures_dir):
    att = initiative.read_attendance(fixtures_dir / "initiative" / "attendance.csv").frame
    assert att.height == 5 and att["person_key"].n_unique() == 3
    xw = initiative.read_spa_crosswalk(fixtures_dir / "initiative" / "spa_crosswalk.csv").frame
    assert dict(zip(xw["cds_code"], xw["spa_n"]))["19753090100004"] == 8


@pytest.mark.parametrize("name", list(READERS))
def test_templates_are_header_only_and_readable(name):
    p = TEMPLATES / name
    assert p.read_text(encoding="utf-8") == ",".join(initiative.FILES[name]) + "\n"
    assert READERS[name](p).frame.height == 0


def test_template_readme_describes_every_column():
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    for name, cols in initiative.FILES.items():
        section = readme.split(f"## {name}")[1].split("\n## ")[0]
        for c in cols:
            assert f"- `{c}`" in section, (name, c)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def edited(fixtures_dir: Path, tmp_path: Path, name: str, line: int, column: str, value: str) -> Path:
    lines = (fixtures_dir / "initiative" / name).read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    import csv
    cells = next(csv.reader([lines[line - 1]]))
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(f'"{c}"' if "," in c else c for c in cells)
    return write(tmp_path, name, "\n".join(lines))


BAD = [
    ("roster.csv", 2, "cds_code", "1975309600001", "is not 14 digits"),
    ("roster.csv", 3, "cohort", "two", "non-numeric count 'two'"),
    ("roster.csv", 3, "cohort", "0", "cohort 0 is not >= 1"),
    ("roster.csv", 2, "grant_type", "Implementation", "'Implementation' is not one of planning, implementation"),
    ("roster.csv", 3, "first_grant_year", "2023", "unknown year format '2023'"),
    ("roster.csv", 3, "cds_code", "19753096000001", "19753096000001 appears more than once"),
    ("grants.csv", 2, "grantee_cds", "19753096000001", "LEA grantee code 19753096000001 does not end 0000000"),
    ("grants.csv", 3, "amount_usd", "$200,000", "non-numeric count '$200,000'"),
    ("grants.csv", 3, "amount_usd", "-5", "negative count '-5'"),
    ("grants.csv", 4, "county_code", "19", "county code 19 does not match grantee_cds 01612590000000"),
    ("grants.csv", 2, "grantee_level", "district", "'district' is not one of LEA, school"),
    ("grants.csv", 4, "grant_id", "G-001", "G-001 appears more than once"),
    ("grants.csv", 2, "funding_source", "", "blank funding_source"),
    ("activities.csv", 3, "activity_date", "10/03/2024", "date '10/03/2024' is not a YYYY-MM-DD calendar date"),
    ("activities.csv", 3, "activity_date", "2024-02-30", "date '2024-02-30' is not a YYYY-MM-DD calendar date"),
    ("activities.csv", 4, "activity_type", "workshop", "'workshop' is not one of learning_opportunity"),
    ("activities.csv", 5, "spa_n", "9", "spa_n 9 is not 1-8"),
    ("activities.csv", 6, "attendees_n", "-3", "negative count '-3'"),
    ("activities.csv", 2, "cds_code", "1975309600000X", "is not 14 digits"),
    ("attendance.csv", 2, "person_key", "", "blank person_key"),
    ("spa_crosswalk.csv", 3, "spa_n", "0", "spa_n 0 is not 1-8"),
    ("grants.csv", 3, "grantee_name", "Cedar\x00Grove", "NUL byte"),
    ("roster.csv", 2, "grant_type", "planning\x00", "NUL byte"),
]


@pytest.mark.parametrize("name,line,column,value,fragment", BAD)
def test_bad_value_names_file_line_column(tmp_path, fixtures_dir, name, line, column, value, fragment):
    p = edited(fixtures_dir, tmp_path, name, line, column, value)
    with pytest.raises(InputError) as err:
        READERS[name](p)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), line, column)
    assert fragment in e.message
    assert str(e).startswith(f"{p}:{line}: column '{column}':")


@pytest.mark.parametrize("name", list(READERS))
def test_empty_file(tmp_path, name):
    p = write(tmp_path, name, "")
    with pytest.raises(InputError, match="empty file"):
        READERS[name](p)


def test_tab_separated_is_wrong_delimiter(tmp_path, fixtures_dir):
    text = (fixtures_dir / "initiative" / "roster.csv").read_text(encoding="utf-8").replace(",", "\t")
    with pytest.raises(InputError, match="does not split on comma.*tab-separated") as err:
        initiative.read_roster(write(tmp_path, "roster.csv", text))
    assert err.value.line == 1


def test_missing_column(tmp_path):
    p = write(tmp_path, "roster.csv", "cds_code,cohort,grant_type\n19753096000001,1,planning\n")
    with pytest.raises(InputError, match="missing column 'first_grant_year'") as err:
        initiative.read_roster(p)
    assert (err.value.line, err.value.column) == (1, "first_grant_year")


def test_excel_bom_and_extra_columns_are_fine(tmp_path):
    p = tmp_path / "roster.csv"
    p.write_bytes(b"\xef\xbb\xbfcds_code,cohort,grant_type,first_grant_year,notes\r\n"
                  b"19753096000001,1,planning,2022-23,anything\r\n")
    f = initiative.read_roster(p).frame
    assert f["cds_code"].to_list() == ["19753096000001"] and "notes" not in f.columns


# ---------------------------------------------------------------- dates and years the dashboard cannot hold

TODAY = dt.date(2026, 3, 10)  # academic year 2025-26: grant years up to 2026-27, dates up to 2027-03-10


@pytest.mark.parametrize("value,ok", [
    ("2018-06-30", False), ("2018-07-01", True), ("1899-12-30", False), ("2199-01-01", False),
    ("2027-03-10", True), ("2027-03-11", False),
])
def test_activity_dates_outside_the_covered_window(tmp_path, fixtures_dir, value, ok):
    p = edited(fixtures_dir, tmp_path, "activities.csv", 4, "activity_date", value)
    if ok:
        assert initiative.read_activities(p, today=TODAY).frame.height == 5
        return
    with pytest.raises(InputError) as err:
        initiative.read_activities(p, today=TODAY)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), 4, "activity_date")
    assert e.message == (f"date {value!r} is outside 2018-07-01..2027-03-10 (the dashboard covers school "
                         "years from 2018-19 to one year after the build date)")


def test_activity_window_follows_the_build_date(tmp_path, fixtures_dir):
    p = edited(fixtures_dir, tmp_path, "activities.csv", 4, "activity_date", "2027-09-01")
    with pytest.raises(InputError, match="2027-09-01"):
        initiative.read_activities(p, today=TODAY)
    assert initiative.read_activities(p, today=dt.date(2026, 9, 1)).frame.height == 5


@pytest.mark.parametrize("name,line,column", [("roster.csv", 3, "first_grant_year"), ("grants.csv", 2, "award_year")])
@pytest.mark.parametrize("value,ok", [("2026-27", True), ("2027-28", False), ("2035-36", False)])
def test_grant_years_after_next_academic_year(tmp_path, fixtures_dir, name, line, column, value, ok):
    p = edited(fixtures_dir, tmp_path, name, line, column, value)
    if ok:
        assert READERS[name](p, today=TODAY).frame[column].to_list()[line - 2] == value
        return
    with pytest.raises(InputError) as err:
        READERS[name](p, today=TODAY)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), line, column)
    assert e.message == (f"year {value!r} is after 2026-27, the academic year after this build's (2025-26); "
                         "a grant cannot start further ahead")


def test_grant_year_limit_turns_in_july(tmp_path, fixtures_dir):
    p = edited(fixtures_dir, tmp_path, "roster.csv", 3, "first_grant_year", "2027-28")
    with pytest.raises(InputError):
        initiative.read_roster(p, today=dt.date(2026, 6, 30))
    assert initiative.read_roster(p, today=dt.date(2026, 7, 1)).frame.height == 2


def test_default_today_is_the_build_date(tmp_path, fixtures_dir):
    far = dt.date.today().year + 3
    p = edited(fixtures_dir, tmp_path, "roster.csv", 3, "first_grant_year", f"{far}-{(far + 1) % 100:02d}")
    with pytest.raises(InputError, match="is after"):
        initiative.read_roster(p)


# ---------------------------------------------------------------- what kind of file it is

@pytest.mark.parametrize("name", ["roster.csv", "grants.csv"])
def test_utf16_csv_says_how_to_save_it(tmp_path, fixtures_dir, name):
    p = tmp_path / name
    p.write_bytes((fixtures_dir / "initiative" / name).read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputError) as err:
        READERS[name](p)
    assert err.value.message == ("is UTF-16 text; save it as UTF-8 "
                                 "(in Excel: Save As, CSV UTF-8 (Comma delimited))")


def test_unused_duplicate_column_is_ignored(tmp_path):
    p = write(tmp_path, "roster.csv", "cds_code,cohort,notes,grant_type,first_grant_year,notes\n"
                                      "19753096000001,1,a,planning,2022-23,b\n")
    assert initiative.read_roster(p).frame["grant_type"].to_list() == ["planning"]


def test_nul_inside_a_quoted_cell_names_its_column(tmp_path):
    p = write(tmp_path, "grants.csv", ",".join(initiative.GRANT_COLUMNS) + "\n"
              'G-1,19753090000000,"Cedar, Grove\x00",LEA,19,1,planning,2022-23,5,CCSPP\n')
    with pytest.raises(InputError) as err:
        initiative.read_grants(p)
    assert (err.value.line, err.value.column) == (2, "grantee_name")
