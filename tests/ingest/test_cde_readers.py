"""CDE readers on hand-written fixtures in the exact real layouts
(tests/fixtures/cde) and on the official pubschls excerpt."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from csi_metrics.ingest import cde
from csi_metrics.vocabulary.errors import InputError
from fixture_paths import DIRECTORY_EXCERPT
import support


def row(frame: pl.DataFrame, **where) -> dict:
    out = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert out.height == 1, (where, out)
    return out.row(0, named=True)


# ---------------------------------------------------------------- chronic absenteeism (cp1252, CRLF)

def test_chronic_reads_cp1252_and_keeps_la_and_state(fixtures_dir):
    res = support.read_chronic_absenteeism(fixtures_dir / "cde" / "chronicabsenteeism24.txt")
    assert res.encoding == "cp1252"
    assert res.rows_n == 13
    assert res.rows_kept_n == 11  # the Alameda county row and the Alameda school row go
    assert [(r.reason, r.rows_n, r.example_line_n) for r in res.rejections] == [
        ("outside county filter (county 19)", 2, 4)
    ]
    f = res.frame
    assert f.columns == list(cde.OUTCOME_SCHEMA)
    assert f.schema["cds_code"] == pl.Utf8
    assert set(f["metric"]) == {"chronic_absenteeism"}
    assert set(f["academic_year"]) == {"2023-24"}


def test_chronic_aggregate_codes_and_scopes(fixtures_dir):
    f = support.read_chronic_absenteeism(fixtures_dir / "cde" / "chronicabsenteeism24.txt").frame
    state = row(f, aggregate_level="T")
    assert state["cds_code"] == "00000000000000"
    assert (state["numerator_n"], state["denominator_n"], state["published_rate_pct"]) == (1000000, 5000000, 20.0)
    assert row(f, aggregate_level="C")["cds_code"] == "19000000000000"
    # District rows: the four charter/DASS scopes stay separate rows, codes end 0000000.
    d = f.filter(pl.col("aggregate_level") == "D")
    assert set(d["cds_code"]) == {"19753090000000"}
    assert sorted(zip(d["charter_scope"], d["dass_scope"], d["numerator_n"])) == [
        ("All", "All", 300), ("All", "No", 280), ("No", "All", 270), ("Yes", "All", 30)
    ]
    charter_school = row(f, cds_code="19753090100004")
    assert (charter_school["charter_scope"], charter_school["dass_scope"]) == ("Yes", "No")
    # Leading zeros in the school code survive: 0100004, not 100004.
    assert "19753090100004" in set(f["cds_code"])


def test_chronic_suppressed_row_nulls_all_three(fixtures_dir):
    f = support.read_chronic_absenteeism(fixtures_dir / "cde" / "chronicabsenteeism24.txt").frame
    rp = row(f, cds_code="19753096000001", reporting_category="RP")
    assert rp["suppressed"] is True
    assert (rp["numerator_n"], rp["denominator_n"], rp["published_rate_pct"]) == (None, None, None)
    rh = row(f, cds_code="19753096000001", reporting_category="RH")
    assert (rh["numerator_n"], rh["denominator_n"], rh["published_rate_pct"], rh["suppressed"]) == (30, 300, 10.0, False)
    assert f["suppressed"].sum() == 1


def test_chronic_all_counties_keeps_alameda(fixtures_dir):
    res = support.read_chronic_absenteeism(fixtures_dir / "cde" / "chronicabsenteeism24.txt", all_counties=True)
    assert res.rows_kept_n == 13 and res.rejections == []
    assert row(res.frame, aggregate_level="C", cds_code="01000000000000")["numerator_n"] == 30000
    assert row(res.frame, cds_code="01612596000007")["denominator_n"] == 300


# ---------------------------------------------------------------- suspension (utf-8-sig 2023-24, cp1252 2022-23)

def test_suspension_utf8_sig_bom(fixtures_dir):
    p = fixtures_dir / "cde" / "suspension24.txt"
    assert p.read_bytes()[:3] == b"\xef\xbb\xbf"
    res = support.read_suspension(p)
    assert res.encoding == "utf-8-sig"
    assert (res.rows_n, res.rows_kept_n) == (8, 7)
    f = res.frame
    assert set(f["dass_scope"]) == {"All"}  # suspension files have no DASS column
    assert set(f["metric"]) == {"suspension"}
    school = row(f, cds_code="19753096000001", reporting_category="TA")
    # numerator is the unduplicated count (8), not Total Suspensions (12)
    assert (school["numerator_n"], school["denominator_n"], school["published_rate_pct"]) == (8, 410, 2.0)
    gx = row(f, cds_code="19753096000001", reporting_category="GX")
    assert gx["suppressed"] and gx["numerator_n"] is None
    assert row(f, aggregate_level="D", charter_scope="Yes")["numerator_n"] == 4


def test_suspension_cp1252(fixtures_dir):
    res = support.read_suspension(fixtures_dir / "cde" / "suspension23.txt")
    assert res.encoding == "cp1252"
    assert set(res.frame["academic_year"]) == {"2022-23"}
    assert row(res.frame, aggregate_level="C")["numerator_n"] == 41700


def test_plain_utf8_without_bom(tmp_path, fixtures_dir):
    text = (fixtures_dir / "cde" / "chronicabsenteeism24.txt").read_bytes().decode("cp1252")
    p = tmp_path / "chronicabsenteeism24.txt"
    p.write_bytes(text.encode("utf-8"))
    res = support.read_chronic_absenteeism(p)
    assert res.encoding == "utf-8" and res.rows_kept_n == 11


def test_outcome_kind_by_file_name():
    assert cde.outcome_kind("chronicabsenteeism25-v2.txt") == "chronic_absenteeism"
    assert cde.outcome_kind("suspension24.txt") == "suspension"
    assert cde.outcome_kind("pubschls.txt") is None


# ---------------------------------------------------------------- directory

def test_directory_official_excerpt():
    res = cde.read_directory(DIRECTORY_EXCERPT)
    assert res.rows_n == 56
    assert res.districts.height == 4
    assert sorted(res.districts["district_code"]) == ["1910199", "1964311", "1964329", "1964337"]
    assert res.schools.height == 52
    # 49 rows have coordinates, 4 of them the district rows.
    assert res.schools.filter(pl.col("latitude").is_not_null()).height == 45
    # SOURCES.md: 39 Active rows (the 4 district rows among them) and 17 Closed.
    assert res.schools["status"].value_counts().sort("status").rows() == [("Active", 35), ("Closed", 17)]
    lacoe = row(res.districts, district_code="1910199")
    assert (lacoe["doc_code"], lacoe["lea_type"]) == ("00", "coe")
    assert row(res.districts, district_code="1964311")["lea_type"] == "unified"
    bh = row(res.schools, cds_code="19643111930981")
    assert bh["school_type"] == "HS" and bh["charter"] is False and bh["latitude"] == pytest.approx(34.06208)
    nvmi = row(res.schools, cds_code="19101990100776")
    assert nvmi["charter"] is True and nvmi["school_type"] == "K-12" and nvmi["status"] == "Closed"
    assert res.schools.schema["zip"] == pl.Utf8 and res.schools.schema["soc_code"] == pl.Utf8


def test_directory_fixture_county_filter(fixtures_dir):
    res = cde.read_directory(fixtures_dir / "cde" / "pubschls.txt")
    assert res.rows_n == 10
    assert res.districts.height == 2 and res.schools.height == 6
    assert [(r.reason, r.rows_n, r.example_line_n) for r in res.rejections] == [
        ("outside county filter (county 19)", 2, 10)
    ]
    assert row(res.schools, cds_code="19753096000001")["school_name"] == "Escuela Niños Cedar Grove"
    closed = row(res.schools, cds_code="19753096000005")
    assert closed["latitude"] is None and closed["city"] == "Los Angeles"
    everything = cde.read_directory(fixtures_dir / "cde" / "pubschls.txt", all_counties=True)
    assert everything.schools.height == 7 and everything.districts.height == 3


# ---------------------------------------------------------------- bad input

CA = "chronicabsenteeism24.txt"
SUS = "suspension24.txt"
DIR = "pubschls.txt"


def mutate(src: Path, dst_dir: Path, line_no: int, column: str, value: str) -> Path:
    """Copy a fixture, setting one cell (1-based file line, header name) to value."""
    raw = src.read_bytes()
    text, enc = (raw[3:].decode("utf-8"), "utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else (raw.decode("cp1252"), "cp1252")
    eol = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(eol)
    header = lines[0].split("\t")
    cells = lines[line_no - 1].split("\t")
    cells[header.index(column)] = value
    lines[line_no - 1] = "\t".join(cells)
    out = dst_dir / src.name
    out.write_bytes(eol.join(lines).encode(enc if enc != "utf-8-sig" else "utf-8-sig"))
    return out


READERS = {CA: support.read_chronic_absenteeism, SUS: support.read_suspension, DIR: cde.read_directory}

BAD_CELLS = [
    # file, line, column, value, message fragment
    (CA, 5, "ChronicAbsenteeismCount", "12a", "non-numeric count '12a'"),
    (CA, 9, "ChronicAbsenteeismEligibleCumulativeEnrollment", "-400", "negative count '-400'"),
    (CA, 12, "ChronicAbsenteeismCount", "901", "numerator 901 is above denominator 900"),
    (CA, 9, "School Code", "600001", "school code '600001' is not 7 digits"),
    (CA, 5, "District Code", "7530", "district code '7530' is not 5 digits"),
    (CA, 3, "County Code", "9", "county code '9' is not 2 digits"),
    (CA, 6, "Academic Year", "2023-2024", "unknown year format '2023-2024'"),
    (CA, 6, "Academic Year", "2023-25", "unknown year format '2023-25'"),
    (CA, 6, "ChronicAbsenteeismRate", "25.0", "published rate 25.0 disagrees with counts 30/150 = 20.0"),
    (CA, 8, "Charter School", "Y", "value 'Y' is not All, Yes or No"),
    (CA, 8, "DASS", "maybe", "value 'maybe' is not All, Yes or No"),
    (CA, 4, "Aggregate Level", "D1", "unknown aggregate level 'D1'"),
    (SUS, 8, "Unduplicated Count of Students Suspended (Total)", "one", "non-numeric count 'one'"),
    (SUS, 6, "Unduplicated Count of Students Suspended (Total)", "411", "numerator 411 is above denominator 410"),
    (SUS, 2, "AcademicYear", "23-24", "unknown year format '23-24'"),
    (SUS, 4, "CumulativeEnrollment", "", "blank count"),
    (DIR, 4, "CDSCode", "1975309600000", "CDS code '1975309600000' is not 14 digits"),
    (DIR, 5, "Latitude", "north", "non-numeric coordinate 'north'"),
    (CA, 6, "Academic Year", "", "blank academic year"),
    (SUS, 3, "AcademicYear", "", "blank academic year"),
    (DIR, 5, "Latitude", "340.35", "latitude 340.35 is outside -90..90"),
    (DIR, 5, "Latitude", "-90.5", "latitude -90.5 is outside -90..90"),
    (DIR, 6, "Longitude", "-1182.6", "longitude -1182.6 is outside -180..180"),
    (DIR, 5, "School", "Cedar\x00Grove", "NUL byte"),
    (CA, 9, "School Name", "Escuela\x00", "NUL byte"),
]


@pytest.mark.parametrize("name,line,column,value,fragment", BAD_CELLS)
def test_bad_cell_names_file_line_column(tmp_path, fixtures_dir, name, line, column, value, fragment):
    bad = mutate(fixtures_dir / "cde" / name, tmp_path, line, column, value)
    with pytest.raises(InputError) as err:
        READERS[name](bad)
    e = err.value
    assert (e.path, e.line, e.column) == (str(bad), line, column)
    assert fragment in e.message
    assert str(e).startswith(f"{bad}:{line}: column '{column}':")


def test_empty_file(tmp_path):
    p = tmp_path / CA
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty file") as err:
        support.read_chronic_absenteeism(p)
    assert err.value.line == 1 and err.value.path == str(p)


def test_bom_only_file_is_empty(tmp_path):
    p = tmp_path / SUS
    p.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(InputError, match="empty file"):
        support.read_suspension(p)


def test_header_only_file_has_no_rows(tmp_path, fixtures_dir):
    header = (fixtures_dir / "cde" / CA).read_bytes().split(b"\r\n")[0]
    p = tmp_path / CA
    p.write_bytes(header + b"\r\n")
    with pytest.raises(InputError, match="no data rows") as err:
        support.read_chronic_absenteeism(p)
    assert err.value.line == 2


def test_comma_separated_file_is_wrong_delimiter(tmp_path, fixtures_dir):
    text = (fixtures_dir / "cde" / CA).read_bytes().decode("cp1252").replace("\t", ",")
    p = tmp_path / CA
    p.write_text(text, encoding="cp1252")
    with pytest.raises(InputError) as err:
        support.read_chronic_absenteeism(p)
    assert err.value.line == 1 and err.value.column == "Academic Year"
    assert "does not split on tab" in err.value.message and "comma-separated" in err.value.message


def test_missing_column(tmp_path, fixtures_dir):
    text = (fixtures_dir / "cde" / SUS).read_bytes()[3:].decode("utf-8")
    p = tmp_path / SUS
    p.write_text(text.replace("CumulativeEnrollment\t", "CumEnroll\t", 1), encoding="utf-8")
    with pytest.raises(InputError, match="missing column 'CumulativeEnrollment'") as err:
        support.read_suspension(p)
    assert (err.value.line, err.value.column) == (1, "CumulativeEnrollment")


def test_old_layout_is_missing_charter_school(tmp_path, fixtures_dir):
    # 2016-17/2017-18 files used 'Charter (Y/N)': refused by name, not misread.
    text = (fixtures_dir / "cde" / CA).read_bytes().decode("cp1252").replace("Charter School", "Charter (Y/N)", 1)
    p = tmp_path / CA
    p.write_text(text, encoding="cp1252")
    with pytest.raises(InputError, match="missing column 'Charter School'"):
        support.read_chronic_absenteeism(p)


def test_ragged_line_named(tmp_path, fixtures_dir):
    lines = (fixtures_dir / "cde" / CA).read_bytes().decode("cp1252").split("\r\n")
    lines[6] = lines[6] + "\textra"
    p = tmp_path / CA
    p.write_text("\r\n".join(lines), encoding="cp1252")
    with pytest.raises(InputError, match="expected 14 fields") as err:
        support.read_chronic_absenteeism(p)
    assert err.value.line == 7


def test_duplicate_row_named(tmp_path, fixtures_dir):
    lines = (fixtures_dir / "cde" / SUS).read_bytes()[3:].decode("utf-8").split("\n")
    lines.insert(8, lines[4])  # line 5 (the district charter-Yes row) again, as line 9
    p = tmp_path / SUS
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    with pytest.raises(InputError, match="also on line 5") as err:
        support.read_suspension(p)
    assert err.value.line == 9


def test_directory_duplicate_cds(tmp_path, fixtures_dir):
    lines = (fixtures_dir / "cde" / DIR).read_text(encoding="utf-8").split("\n")
    lines.insert(5, lines[3])
    p = tmp_path / DIR
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match="appears twice") as err:
        cde.read_directory(p)
    assert (err.value.line, err.value.column) == (6, "CDSCode")


def test_truncated_file_names_last_line(tmp_path, fixtures_dir):
    raw = (fixtures_dir / "cde" / SUS).read_bytes()
    cut = raw[: raw.rindex(b"\tNo\tTA\t310")]  # the last line stops after its school name
    p = tmp_path / SUS
    p.write_bytes(cut)
    with pytest.raises(InputError, match="expected 21 fields per line") as err:
        support.read_suspension(p)
    assert err.value.line == 9


def test_blank_cell_is_not_a_short_line(tmp_path, fixtures_dir):
    # Blank trailing cells (the line still has every tab) are blanks, not truncation.
    raw = (fixtures_dir / "cde" / SUS).read_bytes().replace(b"\t9\t5\n", b"\t9\t\n")
    p = tmp_path / SUS
    p.write_bytes(raw)
    assert support.read_suspension(p).rows_kept_n == 7


def test_mixed_encodings_named(tmp_path, fixtures_dir):
    # UTF-8 on the school rows, but one cp1252 'ñ' (0xF1) pasted into line 12's school name.
    text = (fixtures_dir / "cde" / CA).read_bytes().decode("cp1252")
    lines = text.split("\r\n")
    raw = "\r\n".join(lines[:11]).encode("utf-8") + b"\r\n" + lines[11].replace("High", "Ni\xf1a").encode("cp1252") \
        + b"\r\n" + "\r\n".join(lines[12:]).encode("utf-8")
    p = tmp_path / CA
    p.write_bytes(raw)
    with pytest.raises(InputError, match="mixed encodings") as err:
        support.read_chronic_absenteeism(p)
    assert (err.value.line, err.value.column) == (12, "School Name")
    assert "UTF-8 on line 9" in err.value.message


def test_extra_columns_are_ignored(tmp_path, fixtures_dir):
    text = (fixtures_dir / "cde" / CA).read_bytes().decode("cp1252")
    lines = [l + ("\tNote" if i == 0 else "\tx") if l else l for i, l in enumerate(text.split("\r\n"))]
    p = tmp_path / CA
    p.write_bytes("\r\n".join(lines).encode("cp1252"))
    assert support.read_chronic_absenteeism(p).rows_kept_n == 11


def test_one_enormous_line(tmp_path):
    p = tmp_path / CA
    p.write_bytes(b"x" * 5_000_000)
    with pytest.raises(InputError, match="missing column 'Academic Year'|does not split on tab") as err:
        support.read_chronic_absenteeism(p)
    assert err.value.line == 1


# ---------------------------------------------------------------- what kind of file it is, said plainly

def fixture_text(fixtures_dir: Path, name: str) -> str:
    raw = (fixtures_dir / "cde" / name).read_bytes()
    return raw[3:].decode("utf-8") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")


def refused(reader, p: Path) -> InputError:
    with pytest.raises(InputError) as err:
        reader(p)
    assert err.value.path == str(p)
    return err.value


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])  # with a BOM, and NUL-interleaved without
@pytest.mark.parametrize("name", [CA, DIR])
def test_utf16_file_is_named_as_such(tmp_path, fixtures_dir, name, encoding):
    p = tmp_path / name
    p.write_bytes(fixture_text(fixtures_dir, name).encode(encoding))
    e = refused(READERS[name], p)
    assert e.message == "is UTF-16 text; save it as UTF-8 (or download CDE's file again)"
    assert (e.line, e.column) == (None, None)


def test_gzip_file_named_txt(tmp_path, fixtures_dir):
    import gzip
    p = tmp_path / SUS
    p.write_bytes(gzip.compress((fixtures_dir / "cde" / SUS).read_bytes()))
    e = refused(support.read_suspension, p)
    assert e.message == "is a gzip-compressed file; decompress it (gunzip) and build again"


def test_zip_file_named_txt(tmp_path, fixtures_dir):
    import zipfile
    p = tmp_path / CA
    with zipfile.ZipFile(p, "w") as z:
        z.write(fixtures_dir / "cde" / CA, CA)
    e = refused(support.read_chronic_absenteeism, p)
    assert e.message == "is a zip archive; extract the .txt inside"


@pytest.mark.parametrize("name", [CA, SUS])
def test_cr_only_line_ends(tmp_path, fixtures_dir, name):
    text = fixture_text(fixtures_dir, name).replace("\r\n", "\n").replace("\n", "\r")
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    e = refused(READERS[name], p)
    assert e.message == "lines end with CR only (old Mac line endings); convert them to LF or CRLF"


def test_cr_inside_a_line_ended_file_is_not_cr_only(tmp_path, fixtures_dir):
    # CRLF files hold CRs too; only a file with no LF at all is the old Mac kind.
    assert support.read_chronic_absenteeism(fixtures_dir / "cde" / CA).rows_kept_n == 11


def test_unused_duplicate_column_is_ignored(tmp_path, fixtures_dir):
    # CDE's extra columns are ignored by name, so a repeated one that no reader uses is too.
    lines = fixture_text(fixtures_dir, CA).split("\r\n")
    out = [l + ("\tCounty Name" if i == 0 else "\tagain") if l else l for i, l in enumerate(lines)]
    p = tmp_path / CA
    p.write_bytes("\r\n".join(out).encode("cp1252"))
    res = support.read_chronic_absenteeism(p)
    assert res.rows_kept_n == 11
    assert row(res.frame, cds_code="19753096000002", reporting_category="TA")["numerator_n"] == 189


def test_duplicate_used_column_is_refused_at_line_1(tmp_path, fixtures_dir):
    lines = fixture_text(fixtures_dir, CA).split("\r\n")
    out = [l + ("\tChronicAbsenteeismCount" if i == 0 else "\t0") if l else l for i, l in enumerate(lines)]
    p = tmp_path / CA
    p.write_bytes("\r\n".join(out).encode("cp1252"))
    e = refused(support.read_chronic_absenteeism, p)
    assert (e.line, e.column) == (1, "ChronicAbsenteeismCount")
    assert "appears twice in the header" in e.message


# ---------------------------------------------------------------- older layouts (tests/fixtures/cde_old)
# Before 2020-21 CDE's files give each school twice at level S: under Charter
# School 'All' and under its own Yes/No. The 2018-19 chronic file also ran its
# names together (AcademicYear, CharterYN) and had no DASS column; 2020-21's names
# are spaced, still without DASS. Every school row in these fixtures is one of
# four LA schools: 6000001 and 6000002 (No + All), 0100004 (Yes + All), 6000003
# (All only); 2020-21 repeats only 0100004.

OLD = {  # file -> (reader, rows in the file, rows kept, rejections)
    "chronicabsenteeism19.txt": (support.read_chronic_absenteeism, 18, 11, [
        (cde.REPEATED_SCHOOL_ROW, 6, 7), ("outside county filter (county 19)", 1, 19)]),
    "chronicabsenteeism21.txt": (support.read_chronic_absenteeism, 9, 8, [(cde.REPEATED_SCHOOL_ROW, 1, 8)]),
    "suspension19.txt": (support.read_suspension, 13, 9, [(cde.REPEATED_SCHOOL_ROW, 4, 6)]),
    "suspension20.txt": (support.read_suspension, 11, 8, [(cde.REPEATED_SCHOOL_ROW, 3, 6)]),
}
# Per file: (year, school TA numerator sum, denominator sum): each school once.
OLD_TOTALS = {
    "chronicabsenteeism19.txt": ("2018-19", 63 + 176 + 21 + 40, 420 + 880 + 140 + 500),
    "chronicabsenteeism21.txt": ("2020-21", 82 + 261 + 30 + 49, 410 + 870 + 150 + 490),
    "suspension19.txt": ("2018-19", 11 + 45 + 4 + 13, 440 + 900 + 160 + 520),
    "suspension20.txt": ("2019-20", 6 + 30 + 3 + 8, 430 + 910 + 150 + 515),
}


def old_fixture(fixtures_dir: Path, name: str) -> Path:
    return fixtures_dir / "cde_old" / name


@pytest.mark.parametrize("name", sorted(OLD))
def test_old_layout_reads_each_school_once(fixtures_dir, name):
    reader, rows_n, kept_n, rejections = OLD[name]
    res = reader(old_fixture(fixtures_dir, name))
    assert res.encoding == "cp1252"
    assert (res.rows_n, res.rows_kept_n) == (rows_n, kept_n)
    assert [(r.reason, r.rows_n, r.example_line_n) for r in res.rejections] == rejections
    f = res.frame
    assert f.columns == list(cde.OUTCOME_SCHEMA)
    year, num, den = OLD_TOTALS[name]
    assert set(f["academic_year"]) == {year}
    assert set(f["dass_scope"]) == {"All"}  # no DASS column in any of these files
    ta = f.filter((pl.col("aggregate_level") == "S") & (pl.col("reporting_category") == "TA"))
    assert ta.height == ta["cds_code"].n_unique() == 4
    assert (ta["numerator_n"].sum(), ta["denominator_n"].sum()) == (num, den)
    # The school's own row is kept; the school with only an 'All' row keeps that one.
    assert dict(zip(ta["cds_code"], ta["charter_scope"])) == {
        "19753096000001": "No", "19753096000002": "No", "19753090100004": "Yes", "19753096000003": "All"}
    # District rows keep their three scopes (different aggregates), and add up to the schools.
    d = f.filter(pl.col("aggregate_level") == "D")
    assert sorted(d["charter_scope"]) == ["All", "No", "Yes"]
    assert (row(d, charter_scope="All")["numerator_n"], row(d, charter_scope="All")["denominator_n"]) == (num, den)
    assert row(f, aggregate_level="T")["cds_code"] == "00000000000000"


def test_old_chronic_run_together_names(fixtures_dir):
    f = support.read_chronic_absenteeism(old_fixture(fixtures_dir, "chronicabsenteeism19.txt")).frame
    # The eligible enrollment is the denominator, not the file's CumulativeEnrollment (430).
    esc = row(f, cds_code="19753096000001", reporting_category="TA")
    assert (esc["numerator_n"], esc["denominator_n"], esc["published_rate_pct"]) == (63, 420, 15.0)
    # A suppressed pair ('*' under All and under No) is one suppressed row too.
    rp = row(f, cds_code="19753096000001", reporting_category="RP")
    assert rp["suppressed"] and rp["charter_scope"] == "No" and rp["numerator_n"] is None
    assert row(f, aggregate_level="C")["numerator_n"] == 195000


def test_old_layouts_with_every_county(fixtures_dir):
    # Repeats are counted in the whole file, before the county filter: 5 LA rows and the Alameda one.
    res = support.read_chronic_absenteeism(old_fixture(fixtures_dir, "chronicabsenteeism19.txt"), all_counties=True)
    assert [(r.reason, r.rows_n) for r in res.rejections] == [(cde.REPEATED_SCHOOL_ROW, 6)]
    assert res.rows_kept_n == 12
    assert row(res.frame, cds_code="01612596000007")["charter_scope"] == "No"


def _edit(src: Path, dst_dir: Path, fn) -> Path:
    lines = src.read_bytes().decode("cp1252").split("\r\n")
    out = dst_dir / src.name
    out.write_bytes("\r\n".join(fn(lines)).encode("cp1252"))
    return out


@pytest.mark.parametrize("name,line,column,value,fragment", [
    # the 'All' row of 6000001 TA (line 6) says 441 students, its own 'No' row (line 7) 440
    ("suspension19.txt", 6, "CumulativeEnrollment", "441",
     "school 19753096000001 2018-19 TA under CharterYN 'All' repeats the school's own 'No' row on line 7 "
     "with a different count: 441 here, 440 there"),
    # the own row (line 14) disagrees: the error is still at the 'All' row (line 13), naming the other line
    ("chronicabsenteeism19.txt", 14, "ChronicAbsenteeismCount", "177",
     "school 19753096000002 2018-19 TA under CharterYN 'All' repeats the school's own 'No' row on line 14 "
     "with a different count: 176 here, 177 there"),
    # suppressed under 'All', published under its own 'Yes'
    ("chronicabsenteeism21.txt", 8, "ChronicAbsenteeismRate", "*",
     "school 19753090100004 2020-21 TA under Charter School 'All' repeats the school's own 'Yes' row on line 9 "
     "with a different count: * here, 150 there"),
])
def test_repeated_row_that_disagrees_is_refused(tmp_path, fixtures_dir, name, line, column, value, fragment):
    bad = mutate(old_fixture(fixtures_dir, name), tmp_path, line, column, value)
    e = refused(support.read_chronic_absenteeism if name.startswith("chronic") else support.read_suspension, bad)
    all_line = {"suspension19.txt": 6, "chronicabsenteeism19.txt": 13, "chronicabsenteeism21.txt": 8}[name]
    expect_col = "ChronicAbsenteeismEligibleCumulativeEnrollment" if value == "*" else column
    assert (e.line, e.column) == (all_line, expect_col)
    assert fragment in e.message and "download it again" in e.message


def test_all_row_beside_both_yes_and_no_is_refused(tmp_path, fixtures_dir):
    # 0100004 TA: 'All' on line 12, 'Yes' on 13; a 'No' row for it too (line 14) cannot be the same school once.
    src = old_fixture(fixtures_dir, "suspension19.txt")
    bad = _edit(src, tmp_path, lambda ls: ls[:13] + [ls[12].replace("\tYes\tTA\t", "\tNo\tTA\t")] + ls[13:])
    e = refused(support.read_suspension, bad)
    assert (e.line, e.column) == (12, "CharterYN")
    assert "both 'Yes' (line 13) and 'No' (line 14)" in e.message


def test_missing_column_names_its_other_name(tmp_path, fixtures_dir):
    old = _edit(old_fixture(fixtures_dir, "chronicabsenteeism19.txt"), tmp_path,
                lambda ls: [ls[0].replace("CharterYN", "Charter")] + ls[1:])
    e = refused(support.read_chronic_absenteeism, old)
    assert (e.line, e.column, e.message) == (1, "CharterYN", "missing column 'CharterYN' (or 'Charter School')")
    p = tmp_path / CA
    p.write_bytes(fixture_text(fixtures_dir, CA).replace("Charter School", "Charter", 1).encode("cp1252"))
    e = refused(support.read_chronic_absenteeism, p)
    assert (e.line, e.column, e.message) == (1, "Charter School", "missing column 'Charter School' (or 'CharterYN')")


def test_one_naming_style_per_file(tmp_path, fixtures_dir):
    # A lone run-together name in a spaced header is a renamed column, not an older file.
    p = tmp_path / CA
    p.write_bytes(fixture_text(fixtures_dir, CA).replace("Reporting Category", "ReportingCategory", 1)
                  .encode("cp1252"))
    e = refused(support.read_chronic_absenteeism, p)
    assert (e.line, e.column) == (1, "Reporting Category")
    assert e.message.startswith("missing column 'Reporting Category': the header has 'ReportingCategory', "
                                "a name in CDE's other naming style")


def test_one_column_under_both_names_is_refused(tmp_path, fixtures_dir):
    lines = fixture_text(fixtures_dir, CA).split("\r\n")
    out = [l + ("\tCharterYN" if i == 0 else "\tNo") if l else l for i, l in enumerate(lines)]
    p = tmp_path / CA
    p.write_bytes("\r\n".join(out).encode("cp1252"))
    e = refused(support.read_chronic_absenteeism, p)
    assert (e.line, e.column) == (1, "CharterYN")
    assert "the header has both 'Charter School' and 'CharterYN'" in e.message


def test_dass_still_required_from_2021_22(tmp_path, fixtures_dir):
    # Only files before 2021-22 may lack DASS; the 2023-24 file without it is refused at its header.
    lines = fixture_text(fixtures_dir, CA).split("\r\n")
    i = lines[0].split("\t").index("DASS")
    p = tmp_path / CA
    p.write_bytes("\r\n".join("\t".join(c for j, c in enumerate(l.split("\t")) if j != i) if l else l
                              for l in lines).encode("cp1252"))
    e = refused(support.read_chronic_absenteeism, p)
    assert (e.line, e.column) == (1, "DASS")
    assert e.message == "missing column 'DASS' (CDE's files have it from 2021-22 on; line 2 is 2023-24)"


def test_old_layouts_build_counts_each_school_once(tmp_path, fixtures_dir, capsys):
    """build.build on the old files, the current directory and the initiative files:
    pooled figures and school counts are each school's once, not twice."""
    import shutil

    import duckdb

    from csi_metrics.ingest import build
    from csi_metrics import cli
    from csi_metrics.metrics import rates
    from csi_metrics.vocabulary.filters import Filters

    cde_dir = tmp_path / "cde"
    shutil.copytree(fixtures_dir / "cde_old", cde_dir, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(fixtures_dir / "cde" / "pubschls.txt", cde_dir)
    target = tmp_path / "csi.duckdb"
    build.build(target, cde_dir, fixtures_dir / "initiative", boundaries=None)
    con = duckdb.connect(str(target), read_only=True)
    try:
        for metric, names in (("chronic_absenteeism", ["chronicabsenteeism19.txt", "chronicabsenteeism21.txt"]),
                              ("suspension", ["suspension19.txt", "suspension20.txt"])):
            got = rates.pooled_rates(con, metric, ["year"], Filters())
            assert got.select("year", "numerator_n", "denominator_n", "schools_n", "suppressed_schools_n").rows() \
                == [(*OLD_TOTALS[n], 4, 0) for n in names]
            # One row per school per year and category; all four directory schools, each once.
            assert con.execute(
                "SELECT academic_year, count(*), count(DISTINCT cds_code) FROM outcomes WHERE metric = ? "
                "AND aggregate_level = 'S' AND reporting_category = 'TA' GROUP BY 1 ORDER BY 1", [metric]
            ).fetchall() == [(OLD_TOTALS[n][0], 4, 4) for n in names]
            per_school = rates.pooled_rates(con, metric, ["year", "school"], Filters())
            assert set(per_school["schools_n"]) == {1} and per_school.height == 8
        rej = con.execute("SELECT path, rows_n, example_line_n FROM build_rejections WHERE reason = ? "
                          "ORDER BY path", [cde.REPEATED_SCHOOL_ROW]).fetchall()
        assert [(Path(p).name, n, line) for p, n, line in rej] == [
            ("chronicabsenteeism19.txt", 6, 7), ("chronicabsenteeism21.txt", 1, 8),
            ("suspension19.txt", 4, 6), ("suspension20.txt", 3, 6)]
    finally:
        con.close()
    capsys.readouterr()
    assert cli.main(["info", "--db", str(target)]) == 0
    out = capsys.readouterr().out
    assert "suspension19.txt: 4 repeated school row under Charter School 'All': counted once (e.g. line 6)" in out
