"""The atomic build from the hand-written fixtures: what lands in each table,
the build's own record, and that a failed build leaves the old file as it was."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from csi_metrics import build, db
from csi_metrics.errors import InputError
from fixture_paths import SPA_2022


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def inputs(tmp_path, fixtures_dir):
    """A writable copy of the fixture folders, so a test can break one file."""
    cde_dir, ini_dir = tmp_path / "in" / "cde", tmp_path / "in" / "initiative"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    shutil.copytree(fixtures_dir / "initiative", ini_dir)
    return cde_dir, ini_dir


@pytest.fixture
def simplified() -> Path:
    return SPA_2022


def q(path: Path, sql: str, *params):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_build_fills_every_table(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    messages: list[str] = []
    rep = build.build(target, cde_dir, ini_dir, simplified, progress=messages.append)
    assert any("pubschls.txt" in m for m in messages) and any("writing outcomes" in m for m in messages)
    assert rep.tables["schools"] == 6 and rep.tables["districts"] == 2
    # 11 chronic (13 less 2 Alameda) + 7 suspension 2023-24 (8 less 1) + 2 suspension 2022-23
    assert rep.tables["outcomes"] == 20
    assert (rep.tables["grants"], rep.tables["activities"], rep.tables["attendance"]) == (3, 5, 5)
    assert rep.years == {"chronic_absenteeism": ["2023-24"], "suspension": ["2022-23", "2023-24"]}
    assert (rep.schools_n, rep.unassigned_schools_n) == (6, 1)
    assert rep.size_bytes == target.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csi.duckdb", "in"]  # no temp file left

    spas = dict(q(target, "SELECT cds_code, spa_n FROM schools"))
    assert spas == {"19101990100006": 7, "19753096000001": 4, "19753096000002": 5, "19753096000003": 3,
                    "19753090100004": 8, "19753096000005": None}
    assert q(target, "SELECT DISTINCT spa_source FROM schools WHERE spa_n IS NOT NULL") == [("boundary",)]
    assert q(target, "SELECT cds_code, ccspp_cohort, grant_type, first_grant_year FROM schools "
                     "WHERE is_community ORDER BY cds_code") == [
        ("19753090100004", 2, "planning", "2023-24"), ("19753096000001", 1, "implementation", "2022-23")]
    assert q(target, "SELECT count(*) FROM schools WHERE NOT is_community") == [(4,)]
    # A-2 had no SPA; it was logged at Cedar Grove High (SPA 5).
    assert q(target, "SELECT spa_n FROM activities WHERE activity_id = 'A-2'") == [(5,)]
    assert q(target, "SELECT count(DISTINCT person_key) FROM attendance") == [(3,)]
    assert q(target, "SELECT sum(amount_usd) FROM grants WHERE county_code = $1", "19") == [(1_700_000,)]
    assert q(target, "SELECT numerator_n, denominator_n FROM outcomes WHERE metric = 'suspension' "
                     "AND academic_year = '2022-23' AND aggregate_level = 'S'") == [(6, 405)]
    assert q(target, "SELECT school_name FROM schools WHERE cds_code = '19753096000001'") == [("Escuela Niños Cedar Grove",)]
    # Stored in the metrics' filter order so row-group min/max can skip (rowid = storage order).
    stored = q(target, "SELECT metric, aggregate_level, reporting_category, cds_code, academic_year FROM outcomes ORDER BY rowid")
    assert stored == sorted(stored) and stored[0] == ("chronic_absenteeism", "C", "TA", "19000000000000", "2023-24")


def test_sort_by_packed_key_matches_a_plain_sort():
    import polars as pl
    f = pl.DataFrame({"a": ["y", "x", "y", "x", "z"], "b": ["2", "10", "1", "2", "0"]})
    assert build.sort_by_packed_key(f, ("a", "b")).rows() == f.sort(["a", "b"]).rows()
    assert build.sort_by_packed_key(f.clear(), ("a", "b")).height == 0


def test_build_record(tmp_path, inputs, simplified, fixtures_dir):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    build.build(target, cde_dir, ini_dir, simplified)
    info = dict(q(target, "SELECT key, value FROM build_info"))
    assert info["mode"] == "real" and info["scale"] == "county" and info["county_filter"] == "19"
    assert info["schools_n"] == "6" and info["unassigned_schools_n"] == "1"
    assert info["schema_version"] == hashlib.sha256(db.SCHEMA_PATH.read_bytes()).hexdigest()[:12]
    assert info["boundary_source"].startswith("shipped display layer") and info["boundary_source"].endswith(simplified.name)
    assert info["built_at"].endswith("+00:00") and info["built_at"][:2] == "20"
    assert info["years_suspension"] == "2022-23,2023-24"

    sources = {Path(p).name: (kind, s, n, kept) for p, kind, s, n, kept in
               q(target, "SELECT path, kind, sha256, rows_n, rows_kept_n FROM build_sources")}
    assert sources["chronicabsenteeism24.txt"] == (
        "chronic_absenteeism", sha(fixtures_dir / "cde" / "chronicabsenteeism24.txt"), 13, 11)
    assert sources["pubschls.txt"][0] == "directory" and sources["pubschls.txt"][2:] == (10, 8)
    assert sources["suspension24.txt"][2:] == (8, 7)
    assert sources[simplified.name] == ("boundaries", sha(simplified), 8, 8)
    assert {k for k, *_ in sources.values()} == {"directory", "chronic_absenteeism", "suspension", "roster", "grants",
                                                 "activities", "attendance", "crosswalk", "boundaries"}

    rej = {(Path(p).name, reason): (n, line) for p, reason, n, line in
           q(target, "SELECT path, reason, rows_n, example_line_n FROM build_rejections")}
    assert rej == {
        ("pubschls.txt", "outside county filter (county 19)"): (2, 10),
        ("pubschls.txt", "no coordinates: SPA unassigned"): (1, 9),
        ("chronicabsenteeism24.txt", "outside county filter (county 19)"): (2, 4),
        ("suspension24.txt", "outside county filter (county 19)"): (1, 9),
    }


def test_crosswalk_used_without_boundary_file(tmp_path, inputs):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    rep = build.build(target, cde_dir, ini_dir, boundaries=None)
    assert rep.unassigned_schools_n == 1
    assert q(target, "SELECT count(*) FROM schools WHERE spa_source = 'crosswalk'") == [(5,)]
    assert q(target, "SELECT spa_n FROM schools WHERE cds_code = '19753096000003'") == [(3,)]
    # The one school left out of the crosswalk has no coordinates either.
    assert q(target, "SELECT reason, rows_n FROM build_rejections WHERE reason LIKE '%SPA%'") == [
        ("no coordinates: SPA unassigned", 1)]


def test_crosswalk_gap_with_coordinates(tmp_path, inputs):
    cde_dir, ini_dir = inputs
    xw = ini_dir / "spa_crosswalk.csv"
    xw.write_text("\n".join(l for l in xw.read_text().split("\n") if not l.startswith("19753096000003")))
    target = tmp_path / "csi.duckdb"
    rep = build.build(target, cde_dir, ini_dir, boundaries=None)
    assert rep.unassigned_schools_n == 2
    assert sorted(q(target, "SELECT reason, rows_n, example_line_n FROM build_rejections WHERE reason LIKE '%SPA%'")) == [
        ("no coordinates: SPA unassigned", 1, 9), ("not in SPA crosswalk: SPA unassigned", 1, 7)]
    assert dict(q(target, "SELECT key, value FROM build_info"))["boundary_source"].startswith("crosswalk ")


def test_all_counties_keeps_the_state(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    rep = build.build(target, cde_dir, ini_dir, simplified, all_counties=True)
    assert rep.tables["schools"] == 7 and rep.tables["districts"] == 3 and rep.tables["outcomes"] == 23
    assert rep.unassigned_schools_n == 2  # the Oakland school, and the LA school without coordinates
    assert sorted(q(target, "SELECT reason, rows_n FROM build_rejections WHERE reason LIKE '%SPA%'")) == [
        ("no coordinates: SPA unassigned", 1), ("outside LA County: no SPA", 1)]
    info = dict(q(target, "SELECT key, value FROM build_info"))
    assert (info["county_filter"], info["scale"], info["outside_la_schools_n"]) == ("none", "state", "1")


def test_optional_files_may_be_absent(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    (ini_dir / "attendance.csv").unlink()
    (ini_dir / "spa_crosswalk.csv").unlink()
    rep = build.build(tmp_path / "csi.duckdb", cde_dir, ini_dir, simplified)
    assert rep.tables["attendance"] == 0 and rep.tables["activities"] == 5


# ---------------------------------------------------------------- failures leave the old database alone

@pytest.fixture
def existing(tmp_path, inputs, simplified):
    """A good database already at the target path, and its sha256."""
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    build.build(target, cde_dir, ini_dir, simplified)
    return target, sha(target)


def assert_untouched(target: Path, digest: str) -> None:
    assert sha(target) == digest
    assert [p.name for p in target.parent.iterdir() if p.name.startswith("csi.duckdb")] == ["csi.duckdb"]


def append_line(p: Path, line: str) -> None:
    p.write_text(p.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_roster_school_not_in_directory(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    append_line(ini_dir / "roster.csv", "19999999999999,3,planning,2024-25")
    with pytest.raises(InputError) as err:
        build.build(target, cde_dir, ini_dir, simplified)
    e = err.value
    assert (Path(e.path).name, e.line, e.column) == ("roster.csv", 4, "cds_code")
    assert "19999999999999 is not a school in the directory pubschls.txt" in e.message
    assert_untouched(target, digest)


def test_roster_school_outside_county_filter(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    append_line(ini_dir / "roster.csv", "01612596000007,1,planning,2022-23")
    with pytest.raises(InputError, match="not a school in the directory") as err:
        build.build(target, cde_dir, ini_dir, simplified)
    assert err.value.line == 4
    assert_untouched(target, digest)


def test_attendance_for_unknown_activity(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    append_line(ini_dir / "attendance.csv", "A-99,p009")
    with pytest.raises(InputError, match="A-99 is not an activity_id in activities.csv") as err:
        build.build(target, cde_dir, ini_dir, simplified)
    assert (err.value.line, err.value.column) == (7, "activity_id")
    assert_untouched(target, digest)


def test_activity_at_unknown_school(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    append_line(ini_dir / "activities.csv", "A-6,2024-11-01,referral,,19753096999999,1,")
    with pytest.raises(InputError, match="not a school or district") as err:
        build.build(target, cde_dir, ini_dir, simplified)
    assert (err.value.line, err.value.column) == (7, "cds_code")
    assert_untouched(target, digest)


def test_bad_cde_count_stops_build(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    p = cde_dir / "chronicabsenteeism24.txt"
    p.write_bytes(p.read_bytes().replace(b"\t400\t48\t12.0", b"\t400\t4x8\t12.0"))
    with pytest.raises(InputError) as err:
        build.build(target, cde_dir, ini_dir, simplified)
    assert (Path(err.value.path).name, err.value.line, err.value.column) == (
        "chronicabsenteeism24.txt", 9, "ChronicAbsenteeismCount")
    assert_untouched(target, digest)


def test_same_year_twice(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    shutil.copy(cde_dir / "suspension24.txt", cde_dir / "suspension24-v2.txt")
    with pytest.raises(InputError, match=r"suspension 2023-24 was already read from suspension24(-v2)?\.txt; keep one file per year"):
        build.build(target, cde_dir, ini_dir, simplified)
    assert_untouched(target, digest)


@pytest.mark.parametrize("missing", ["cde/pubschls.txt", "initiative/roster.csv", "initiative/grants.csv",
                                     "initiative/activities.csv"])
def test_missing_required_file(existing, inputs, simplified, missing):
    target, digest = existing
    cde_dir, ini_dir = inputs
    (cde_dir.parent / missing).unlink()
    with pytest.raises(InputError, match="pubschls.txt|file not found"):
        build.build(target, cde_dir, ini_dir, simplified)
    assert_untouched(target, digest)


def test_failure_while_writing_removes_temp_file(existing, inputs, simplified, monkeypatch):
    """A failure after the temp file exists (here: a frame DuckDB refuses) still
    leaves the old database as it was and no temp file behind."""
    target, digest = existing
    cde_dir, ini_dir = inputs
    real_write = build.write_atomic

    def corrupt(target_, frames, say):
        frames["grants"] = frames["grants"].with_columns(amount_usd=-frames["grants"]["amount_usd"])  # CHECK fails
        return real_write(target_, frames, say)

    monkeypatch.setattr(build, "write_atomic", corrupt)
    with pytest.raises(duckdb.ConstraintException):
        build.build(target, cde_dir, ini_dir, simplified)
    assert_untouched(target, digest)


def test_success_swaps_in_a_new_file(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    old_inode = target.stat().st_ino
    (ini_dir / "grants.csv").write_text((ini_dir / "grants.csv").read_text().replace("1500000", "1600000"))
    build.build(target, cde_dir, ini_dir, simplified)
    assert sha(target) != digest and target.stat().st_ino != old_inode  # replaced, not rewritten in place
    assert q(target, "SELECT amount_usd FROM grants WHERE grant_id = 'G-001'") == [(1_600_000,)]
    assert [p.name for p in target.parent.iterdir() if p.name.startswith("csi.duckdb")] == ["csi.duckdb"]


def test_reader_open_during_swap_keeps_old_snapshot(existing, inputs, simplified):
    """A dashboard holding the old file open read-only is not broken by a rebuild."""
    target, _ = existing
    cde_dir, ini_dir = inputs
    reader = duckdb.connect(str(target), read_only=True)
    try:
        (ini_dir / "grants.csv").write_text((ini_dir / "grants.csv").read_text().replace("1500000", "1600000"))
        build.build(target, cde_dir, ini_dir, simplified)
        assert reader.execute("SELECT amount_usd FROM grants WHERE grant_id = 'G-001'").fetchone() == (1_500_000,)
    finally:
        reader.close()
    assert q(target, "SELECT amount_usd FROM grants WHERE grant_id = 'G-001'") == [(1_600_000,)]


# ---------------------------------------------------------------- the demo

def test_demo_db_is_built_through_the_readers(demo_db):
    info = dict(q(demo_db, "SELECT key, value FROM build_info"))
    assert info["mode"] == "demo" and info["scale"] == "county" and info["county_filter"] == "19"
    kinds = {k for (k,) in q(demo_db, "SELECT DISTINCT kind FROM build_sources")}
    assert {"directory", "chronic_absenteeism", "suspension", "roster", "grants", "activities"} <= kinds
    assert all(p.startswith("demo/") for (p,) in q(demo_db, "SELECT path FROM build_sources"))
    assert q(demo_db, "SELECT count(*) FROM schools WHERE cds_code NOT LIKE '19%'") == [(0,)]
    (n_schools,) = q(demo_db, "SELECT count(*) FROM schools")[0]
    assert int(info["schools_n"]) == n_schools > 1000


# ---------------------------------------------------------------- rows the figures cannot use are recorded

def add_cde_row(p: Path, like_line: int, old: bytes, new: bytes) -> int:
    """Append a copy of a CDE file's line `like_line` with `old` replaced by `new`; returns its line number."""
    raw = p.read_bytes()
    nl = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.rstrip(nl).split(nl)
    assert old in lines[like_line - 1]
    lines.append(lines[like_line - 1].replace(old, new))
    p.write_bytes(nl.join(lines) + nl)
    return len(lines)


def test_outcome_rows_for_schools_not_in_the_directory_are_recorded(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    build.build(target, cde_dir, ini_dir, simplified)
    reason = "school not in the directory (pubschls.txt): left out of every figure"
    assert q(target, "SELECT count(*) FROM build_rejections WHERE reason = $1", reason) == [(0,)]

    # Rows of LA schools pubschls.txt lacks (opened after the directory was downloaded, say).
    ca = cde_dir / "chronicabsenteeism24.txt"
    first = add_cde_row(ca, 12, b"\t6000002\t", b"\t6099998\t")
    add_cde_row(ca, 12, b"\t6000002\t", b"\t6099999\t")
    add_cde_row(cde_dir / "suspension24.txt", 8, b"\t6000002\t", b"\t6099998\t")
    build.build(target, cde_dir, ini_dir, simplified)
    got = sorted((Path(p).name, n, line) for p, n, line in
                 q(target, "SELECT path, rows_n, example_line_n FROM build_rejections WHERE reason = $1", reason))
    assert got == [("chronicabsenteeism24.txt", 2, first), ("suspension24.txt", 1, 10)]


def test_grants_to_la_grantees_missing_from_the_directory_are_recorded(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    reason = ("LA County grantee not in the directory (pubschls.txt): its dollars are in no SPA, "
              "district or per-student figure")
    # G-003 (Alameda, 01) is outside the LA directory by design and never counted.
    build.build(target, cde_dir, ini_dir, simplified)
    assert q(target, "SELECT count(*) FROM build_rejections WHERE reason = $1", reason) == [(0,)]
    append_line(ini_dir / "grants.csv", "G-004,19753096099999,Ghost Elementary,school,19,1,planning,2023-24,1000,CCSPP")
    append_line(ini_dir / "grants.csv", "G-005,19999990000000,Ghost Unified,LEA,19,1,planning,2023-24,2000,CCSPP")
    append_line(ini_dir / "grants.csv", "G-006,01999990000000,Elsewhere Unified,LEA,01,1,planning,2023-24,3000,CCSPP")
    build.build(target, cde_dir, ini_dir, simplified)
    assert [(Path(p).name, n, line) for p, n, line in
            q(target, "SELECT path, rows_n, example_line_n FROM build_rejections WHERE reason = $1", reason)] == [
        ("grants.csv", 2, 5)]
    assert q(target, "SELECT count(*) FROM grants") == [(6,)]  # recorded, not dropped


def test_grantees_of_every_county_are_checked_when_the_directory_has_every_county(tmp_path, inputs, simplified):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    append_line(ini_dir / "grants.csv", "G-006,01999990000000,Elsewhere Unified,LEA,01,1,planning,2023-24,3000,CCSPP")
    build.build(target, cde_dir, ini_dir, simplified, all_counties=True)
    assert q(target, "SELECT reason, rows_n, example_line_n FROM build_rejections WHERE path LIKE '%grants.csv'") == [
        ("grantee not in the directory (pubschls.txt): its dollars are in no SPA, district or per-student figure",
         1, 5)]


def test_two_directory_files_differing_in_case_are_refused(existing, inputs, simplified):
    target, digest = existing
    cde_dir, ini_dir = inputs
    text = (cde_dir / "pubschls.txt").read_text(encoding="utf-8")
    (cde_dir / "PubSchls.txt").write_text(text.replace("Cedar Grove High", "Cedar Grove High (edited)"),
                                          encoding="utf-8")
    with pytest.raises(InputError) as err:
        build.build(target, cde_dir, ini_dir, simplified)
    e = err.value
    assert (e.path, e.line, e.column) == (str(cde_dir), None, None)
    assert e.message == ("two Public Schools directory files, PubSchls.txt and pubschls.txt; "
                         "keep one (names differ only in case)")
    assert_untouched(target, digest)
