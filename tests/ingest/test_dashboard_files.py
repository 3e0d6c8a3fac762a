"""CDE's California School Dashboard indicator files (chronicdownloadYYYY.txt,
suspdownloadYYYY.txt) read from hand-written fixtures in the record layouts
(tests/fixtures/dashboard/README.md): code mapping, the status-only 2022 layout,
header names in any case, and every refusal naming file, line and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from csi_metrics import cli
from csi_metrics.ingest import dashboard_files as dash
from csi_metrics.rules import levels
from csi_metrics.vocabulary.errors import InputError
import fixture_paths

FIXTURES = fixture_paths.FIXTURES / "dashboard"


def read(name: str, **kw) -> dash.DashboardResult:
    return dash.read_dashboard_file(FIXTURES / name, **kw)


def one(frame: pl.DataFrame, **where) -> dict:
    out = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert out.height == 1, (where, out)
    return out.row(0, named=True)


def copy(tmp_path: Path, name: str, edit=None, as_name: str | None = None) -> Path:
    """The fixture under its name (or as_name) in tmp_path, its text passed through edit(lines)."""
    src = FIXTURES / name
    dst = tmp_path / (as_name or name)
    raw = src.read_bytes()
    if edit is None:
        dst.write_bytes(raw)
        return dst
    bom = raw.startswith(b"\xef\xbb\xbf")
    enc = "utf-8" if bom or name == "chronicdownload2024.txt" else "cp1252"
    nl = "\r\n" if b"\r\n" in raw else "\n"
    lines = raw[3 if bom else 0:].decode(enc).split(nl)[:-1]
    lines = edit(lines)
    dst.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (nl.join(lines) + nl).encode(enc))
    return dst


def set_cell(line_n: int, column: str, value: str):
    """An edit: the cell of `column` (by header name) on file line `line_n` becomes `value`."""
    def edit(lines: list[str]) -> list[str]:
        header = lines[0].split("\t")
        cells = lines[line_n - 1].split("\t")
        cells[header.index(column)] = value
        lines[line_n - 1] = "\t".join(cells)
        return lines
    return edit


# ---------------------------------------------------------------- reading and code mapping

def test_chronic_2024_codes_groups_and_county_filter():
    res = read("chronicdownload2024.txt")
    assert (res.indicator, res.dashboard_year, res.kind, res.encoding) == (
        "chronic_absenteeism", 2024, "dashboard_chronic_absenteeism", "utf-8")
    assert (res.rows_n, res.rows_kept_n) == (13, 11)
    f = res.frame
    assert f.columns == list(dash.TABLE_SCHEMA) and dict(f.schema) == dash.TABLE_SCHEMA
    assert set(f["academic_year"]) == {"2023-24"} and set(f["indicator"]) == {"chronic_absenteeism"}
    state = one(f, rtype="X")
    assert (state["cds_code"], state["student_group"], state["dashboard_group"]) == ("00000000000000", "TA", "ALL")
    # statuslevel 2 = High, changelevel 5 = Declined Significantly, color 3 = Yellow
    assert (state["status_pct"], state["prior_status_pct"], state["change_pp"]) == (15.0, 18.0, -3.0)
    assert (state["status_level"], state["change_level"], state["color"], state["box"]) == (
        "High", "Declined Significantly", "Yellow", 200)
    assert (state["small_population"], state["n_size_met"], state["school_or_lea_type"]) == (False, True, None)
    hi = one(f, cds_code="19753090000000", dashboard_group="HI")
    assert (hi["rtype"], hi["student_group"], hi["change_level"], hi["color"]) == ("D", "RH", "Increased", "Orange")
    coe = one(f, cds_code="19101990000000")
    assert (coe["status_level"], coe["color"], coe["small_population"]) == ("Very High", "Red", True)
    el = one(f, cds_code="19753096000001", dashboard_group="EL")
    assert (el["student_group"], el["change_level"], el["color"]) == ("SE", "Increased Significantly", "Orange")
    # LTEL has no DataQuest category: it keeps CDE's code
    assert one(f, dashboard_group="LTEL")["student_group"] == "LTEL"
    # Under 30 students: a status level but no colour, no box, n-size not met
    court = one(f, cds_code="19101990100006")
    assert (court["status_level"], court["color"], court["box"], court["n_size_met"]) == ("Very High", None, None,
                                                                                         False)
    assert [(r.reason, r.rows_n, r.example_line_n) for r in res.rejections] == [
        ("outside county filter (county 19)", 2, 13), (dash.CURRENT_SMALL, 1, 9)]
    assert not f["cds_code"].str.starts_with("01").any()


def test_every_code_maps_to_the_levels_names():
    assert set(dash.STATUS_CODES.values()) == set(levels.STATUS_LEVELS)
    assert (dash.STATUS_CODES["1"], dash.STATUS_CODES["5"]) == ("Very High", "Very Low")
    assert (dash.CHANGE_CODES["1"], dash.CHANGE_CODES["3"], dash.CHANGE_CODES["5"]) == (
        "Increased Significantly", "Maintained", "Declined Significantly")
    assert [dash.COLOR_CODES[str(i)] for i in range(1, 6)] == list(levels.COLORS)
    assert "0" not in dash.STATUS_CODES and "0" not in dash.COLOR_CODES
    assert dash.GROUP_CATEGORY["SWD"] == "SD" and dash.GROUP_CATEGORY["MR"] == "RT"


def test_the_table_takes_every_level_name_and_refuses_others(schema_con):
    rows = pl.DataFrame([
        {"indicator": "suspension", "dashboard_year": 2024, "academic_year": "2023-24", "rtype": "S",
         "cds_code": "19753096000001", "student_group": "TA", "dashboard_group": "ALL",
         "school_or_lea_type": "ES", "status_pct": 1.0, "prior_status_pct": 0.5, "change_pp": 0.5,
         "status_level": s, "change_level": c, "color": k, "box": 70, "small_population": False,
         "n_size_met": True}
        for s, c, k in zip(levels.STATUS_LEVELS, levels.CHANGE_LEVELS, levels.COLORS)], schema=dash.TABLE_SCHEMA)
    schema_con.register("_rows", rows.to_arrow())
    schema_con.execute("INSERT INTO dashboard_official BY NAME SELECT * FROM _rows")
    assert schema_con.execute("SELECT count(*) FROM dashboard_official").fetchone() == (5,)
    with pytest.raises(duckdb.ConstraintException):
        schema_con.execute("INSERT INTO dashboard_official BY NAME SELECT * REPLACE ('Purple' AS color) FROM _rows")


def test_status_only_2022():
    res = read("chronicdownload2022.txt")
    assert (res.dashboard_year, res.encoding) == (2022, "cp1252")
    f = res.frame
    assert set(f["academic_year"]) == {"2021-22"}
    for col in ("prior_status_pct", "change_pp", "change_level", "color", "box", "small_population"):
        assert f[col].null_count() == f.height, col
    school = one(f, cds_code="19753096000001", dashboard_group="ALL")
    assert (school["status_pct"], school["status_level"], school["n_size_met"]) == (25.0, "Very High", True)
    assert one(f, cds_code="19753096000003")["status_level"] == "High"
    aa = one(f, dashboard_group="AA")  # 8 students: CDE blanks its status
    assert (aa["status_pct"], aa["status_level"], aa["n_size_met"]) == (None, None, False)


def test_suspension_2024_types_and_bom():
    res = read("suspdownload2024.txt")
    assert (res.indicator, res.kind, res.encoding) == ("suspension", "dashboard_suspension", "utf-8-sig")
    f = res.frame
    types = dict(f.filter(pl.col("rtype") == "S").select("cds_code", "school_or_lea_type").iter_rows())
    assert types == {"19753096000001": "ES", "19753096000002": "HS", "19753096000003": "MS",
                     "19753090100004": "UD", "19101990100006": "HS"}
    assert one(f, rtype="X")["school_or_lea_type"] == "UD"
    sed = one(f, dashboard_group="SED")
    assert (sed["student_group"], sed["status_level"], sed["change_level"], sed["color"]) == (
        "SS", "Medium", "Increased", "Orange")
    k12 = one(f, cds_code="19753090100004")
    assert (k12["change_level"], k12["color"], k12["box"], k12["small_population"]) == (
        "Declined Significantly", "Green", 150, True)


def test_2019_cdscode_and_safetynet():
    res = read("suspdownload2019.txt")
    f = res.frame
    assert (res.dashboard_year, set(f["academic_year"])) == (2019, {"2018-19"})
    k12 = one(f, cds_code="19753090100004")
    assert (k12["small_population"], k12["color"], k12["change_pp"]) == (True, "Orange", 1.6)
    assert one(f, cds_code="19753096000002")["small_population"] is False
    # No currnsizemet before 2023: from the denominator (30 or more)
    assert f["n_size_met"].all()


def test_changeLevel_capital_l_and_cp1252():
    res = read("chronicdownload2025.txt")
    assert (res.dashboard_year, res.encoding) == (2025, "cp1252")
    assert one(res.frame, cds_code="19753096000001")["change_level"] == "Declined"
    assert res.frame["change_level"].null_count() == 0


def test_header_names_in_any_case_and_extra_columns_ignored(tmp_path):
    base = read("suspdownload2024.txt").frame

    def shout_and_add(lines):
        out = [lines[0].upper() + "\tnewcolumn2026"]
        return out + [line + "\tx" for line in lines[1:]]
    p = copy(tmp_path, "suspdownload2024.txt", shout_and_add)
    assert p.read_bytes()[3:].startswith(b"CDS\tRTYPE")
    assert read_path(p).frame.equals(base)


def read_path(p: Path, **kw) -> dash.DashboardResult:
    return dash.read_dashboard_file(p, **kw)


def test_all_counties_keeps_every_county():
    f = read("chronicdownload2024.txt", all_counties=True).frame
    assert f.height == 13 and f["cds_code"].str.starts_with("01").sum() == 2


def test_year_from_the_reportingyear_column_when_the_name_has_none(tmp_path):
    p = copy(tmp_path, "chronicdownload2024.txt", as_name="chronicdownload.txt")
    res = read_path(p)
    assert (res.dashboard_year, set(res.frame["academic_year"])) == (2024, {"2023-24"})


def test_under_11_students_no_figure_is_stored(tmp_path):
    """Where CDE printed a status for fewer than 11 students the build stores none (the
    project's floor); a prior year under 11 keeps CDE's placement but not the prior figure."""
    def edit(lines):
        lines = set_cell(7, "currnumer", "1")(lines)    # the school's EL row: 1 of 10
        lines = set_cell(7, "currdenom", "10")(lines)
        lines = set_cell(7, "currstatus", "10.0")(lines)
        lines = set_cell(7, "change", "-0.9")(lines)
        lines = set_cell(6, "priornumer", "1")(lines)   # its ALL row: prior 1 of 9
        lines = set_cell(6, "priordenom", "9")(lines)
        lines = set_cell(6, "priorstatus", "11.1")(lines)
        return set_cell(6, "change", "-1.1")(lines)
    res = read_path(copy(tmp_path, "chronicdownload2024.txt", edit))
    el = one(res.frame, dashboard_group="EL")
    assert all(el[c] is None for c in ("status_pct", "prior_status_pct", "change_pp", "status_level",
                                       "change_level", "color", "box"))
    school = one(res.frame, cds_code="19753096000001", dashboard_group="ALL")
    assert (school["status_pct"], school["prior_status_pct"], school["change_pp"]) == (10.0, None, None)
    assert (school["status_level"], school["color"]) == ("Medium", "Green")
    reasons = {r.reason: (r.rows_n, r.example_line_n) for r in res.rejections}
    assert reasons[dash.CURRENT_SMALL] == (2, 7) and reasons[dash.PRIOR_SMALL] == (1, 6)


def test_file_kinds_by_name():
    assert dash.indicator_of("chronicdownload2024.txt") == "chronic_absenteeism"
    assert dash.indicator_of("SUSPdownload2024.txt") == "suspension"
    assert dash.indicator_of("chronicabsenteeism24.txt") is None
    assert (dash.year_of_name("suspdownload2019.txt"), dash.year_of_name("chronicdownload.txt")) == (2019, None)
    assert dash.academic_year_of(2024) == "2023-24" and dash.dashboard_year_of("2018-19") == 2019


# ---------------------------------------------------------------- refusals: file, line, column

def _drop_column(column: str):
    def edit(lines):
        i = lines[0].split("\t").index(column)
        return ["\t".join(c for j, c in enumerate(line.split("\t")) if j != i) for line in lines]
    return edit


def _rename_column(old: str, new: str):
    def edit(lines):
        lines[0] = "\t".join(new if h == old else h for h in lines[0].split("\t"))
        return lines
    return edit


def _append_copy(line_n: int):
    def edit(lines):
        return lines + [lines[line_n - 1]]
    return edit


BAD = [
    # (fixture, edit, line, column, message fragment)
    ("chronicdownload2024.txt", _drop_column("statuslevel"), 1, "statuslevel", "missing column 'statuslevel'"),
    ("chronicdownload2024.txt", _drop_column("change"), 1, "change", "(Dashboard 2024 layout)"),
    ("suspdownload2024.txt", _drop_column("type"), 1, "type", "missing column 'type'"),
    ("suspdownload2024.txt", _drop_column("smalldenom"), 1, "smalldenom", "or 'safetynet'"),
    ("suspdownload2019.txt", _drop_column("cdscode"), 1, "cds", "missing column 'cds' (or 'cdscode')"),
    ("chronicdownload2024.txt", _rename_column("box", "Color"), 1, "Color", "the same name in a different case"),
    ("chronicdownload2024.txt", set_cell(3, "cds", "1975309000000"), 3, "cds", "is not 14 digits"),
    ("chronicdownload2024.txt", set_cell(3, "rtype", "L"), 3, "rtype", "unknown record type 'L'"),
    ("chronicdownload2024.txt", set_cell(3, "cds", "19753096000001"), 3, "cds", "does not end in 0000000"),
    ("chronicdownload2024.txt", set_cell(6, "cds", "19753090000000"), 6, "cds", "a district's code"),
    ("chronicdownload2024.txt", set_cell(4, "studentgroup", "XX"), 4, "studentgroup", "unknown student group 'XX'"),
    ("chronicdownload2024.txt", set_cell(4, "studentgroup", ""), 4, "studentgroup", "blank student group"),
    ("chronicdownload2024.txt", set_cell(4, "currdenom", "8OO"), 4, "currdenom", "non-numeric count '8OO'"),
    ("chronicdownload2024.txt", set_cell(4, "priornumer", "-9"), 4, "priornumer", "negative count"),
    ("chronicdownload2024.txt", set_cell(4, "currstatus", "12,5"), 4, "currstatus", "non-numeric rate '12,5'"),
    ("chronicdownload2024.txt", set_cell(4, "currstatus", "125.0"), 4, "currstatus", "outside 0-100"),
    ("chronicdownload2024.txt", set_cell(4, "currstatus", "13.5"), 4, "currstatus", "disagrees with counts 100/800"),
    ("chronicdownload2024.txt", set_cell(4, "currnumer", "900"), 4, "currnumer", "above denominator 800"),
    ("chronicdownload2024.txt", set_cell(4, "change", "2.7"), 4, "change", "disagrees with 12.5 - 11.8"),
    ("chronicdownload2024.txt", set_cell(4, "change", "up"), 4, "change", "non-numeric change 'up'"),
    ("chronicdownload2024.txt", set_cell(4, "statuslevel", "7"), 4, "statuslevel", "unknown statuslevel code '7'"),
    ("chronicdownload2025.txt", set_cell(3, "changeLevel", "Declined"), 3, "changeLevel",
     "unknown changelevel code 'Declined'"),
    ("chronicdownload2024.txt", set_cell(4, "color", "9"), 4, "color", "unknown color code '9'"),
    ("chronicdownload2024.txt", set_cell(4, "box", "1a"), 4, "box", "is not a grid position"),
    ("chronicdownload2024.txt", set_cell(4, "smalldenom", "Maybe"), 4, "smalldenom", "is not Y, N or blank"),
    ("suspdownload2019.txt", set_cell(5, "safetynet", "T"), 5, "safetynet", "is not Y, N or blank"),
    ("chronicdownload2024.txt", set_cell(4, "currnsizemet", "1"), 4, "currnsizemet", "is not Y, N or blank"),
    ("suspdownload2024.txt", set_cell(5, "type", "K12"), 5, "type", "unknown school or district type 'K12'"),
    ("suspdownload2024.txt", set_cell(5, "type", ""), 5, "type", "blank school or district type"),
    ("chronicdownload2024.txt", _append_copy(4), 15, "studentgroup", "row repeats D 19753090000000 HI (also on line 4)"),
    ("chronicdownload2024.txt", set_cell(7, "reportingyear", "2023"), 7, "reportingyear",
     "disagrees with the file name's Dashboard year (chronicdownload2024.txt), 2024"),
    ("chronicdownload2024.txt", set_cell(7, "reportingyear", "24"), 7, "reportingyear", "not a four-digit"),
    ("chronicdownload2022.txt", lambda lines: lines[:3] + [lines[3] + "\textra"] + lines[4:], 4, None,
     "expected 16 fields per line"),
]


@pytest.mark.parametrize("name,edit,line,column,fragment", BAD, ids=[f"{b[0]}:{b[4][:30]}" for b in BAD])
def test_bad_input_is_refused_naming_file_line_and_column(tmp_path, name, edit, line, column, fragment):
    p = copy(tmp_path, name, edit)
    with pytest.raises(InputError) as err:
        read_path(p)
    assert (Path(err.value.path).name, err.value.line, err.value.column) == (name, line, column), str(err.value)
    assert fragment in err.value.message, err.value.message


@pytest.mark.parametrize("as_name,fragment", [
    ("chronicdownload2020.txt", "no 2020 or 2021 Dashboard"),
    ("suspdownload2017f.txt", "before the 2018 Dashboard"),
])
def test_years_without_a_readable_dashboard_are_refused(tmp_path, as_name, fragment):
    src = "chronicdownload2024.txt" if as_name.startswith("chronic") else "suspdownload2024.txt"
    p = copy(tmp_path, src, _drop_column("reportingyear"), as_name=as_name)
    with pytest.raises(InputError, match=fragment) as err:
        read_path(p)
    assert Path(err.value.path).name == as_name


def test_no_year_anywhere_is_refused(tmp_path):
    p = copy(tmp_path, "chronicdownload2024.txt", _drop_column("reportingyear"), as_name="chronicdownload.txt")
    with pytest.raises(InputError, match="no Dashboard year"):
        read_path(p)


def test_a_comma_separated_file_is_named_as_such(tmp_path):
    p = tmp_path / "suspdownload2024.txt"
    p.write_text("cds,rtype,studentgroup,currstatus\n19753096000001,S,ALL,1.0\n")
    with pytest.raises(InputError, match="does not split on tab") as err:
        read_path(p)
    assert err.value.line == 1


def test_both_cds_columns_are_refused(tmp_path):
    def edit(lines):
        return [lines[0] + "\tcds"] + [line + "\t" + line.split("\t")[0] for line in lines[1:]]
    p = copy(tmp_path, "suspdownload2019.txt", edit)
    with pytest.raises(InputError, match="keep one CDS code column") as err:
        read_path(p)
    assert (err.value.line, err.value.column) == (1, "cdscode")


# ---------------------------------------------------------------- `info`

def test_info_prints_official_rows_per_indicator_and_year(tmp_path, fixtures_dir, capsys):
    cde_dir = tmp_path / "cde"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    for p in FIXTURES.glob("*.txt"):
        shutil.copy(p, cde_dir)
    target = tmp_path / "csi.duckdb"
    assert cli.main(["build", "--cde-dir", str(cde_dir), "--initiative-dir", str(fixtures_dir / "initiative"),
                     "--db", str(target)]) == 0
    capsys.readouterr()
    assert cli.main(["info", "--db", str(target)]) == 0
    out = capsys.readouterr().out
    block = out.split("official Dashboard rows:\n", 1)[1].split("computed vs official", 1)[0]
    assert block.splitlines() == [
        "  chronic_absenteeism 2022 (2021-22 data): 5 rows",
        "  chronic_absenteeism 2024 (2023-24 data): 11 rows",
        "  chronic_absenteeism 2025 (2024-25 data): 3 rows",
        "  suspension 2019 (2018-19 data): 4 rows",
        "  suspension 2024 (2023-24 data): 8 rows",
    ]
    assert "  dashboard_official: 31" in out
    assert "dashboard_suspension: " in out and "chronicdownload2024.txt" in out


def test_info_says_when_there_are_none(tmp_path, fixtures_dir, capsys):
    target = tmp_path / "csi.duckdb"
    assert cli.main(["build", "--cde-dir", str(fixtures_dir / "cde"), "--initiative-dir",
                     str(fixtures_dir / "initiative"), "--db", str(target)]) == 0
    capsys.readouterr()
    assert cli.main(["info", "--db", str(target)]) == 0
    assert "official Dashboard rows: none (optional" in capsys.readouterr().out
