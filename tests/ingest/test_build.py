"""The atomic build from the hand-written fixtures: what lands in each table,
the build's own record, and that a failed build leaves the old file as it was."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from csi_metrics.ingest import build
from csi_metrics.storage import db
from csi_metrics.ingest import dashboard_files as dash
from csi_metrics.vocabulary.config import PROJECT_ROOT
from csi_metrics.vocabulary.errors import BuildError, InputError
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csi.duckdb", "csi.duckdb.lock", "in"]  # no temp file left

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


def beside(target: Path) -> list[str]:
    """Files beside the database that a build leaves: the lock file stays (see build.build_lock)."""
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(target.name) and p.name != target.name
                  and p.name != f"{target.name}.lock")


def assert_untouched(target: Path, digest: str) -> None:
    assert sha(target) == digest
    assert beside(target) == []


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
    assert beside(target) == []


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


# ---------------------------------------------------------------- the build process: disk full, two builds, leftovers

def _mount_small_fs(where: Path, size: str) -> bool:
    """A tmpfs of `size` at `where`, where this machine allows it (root, mount permitted)."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


@pytest.fixture
def full_disk(tmp_path, inputs, monkeypatch):
    """(target, digest, how): a good database on a filesystem with no room for a second.
    A real 8 MB tmpfs (the fixture database is 5.3 MB) where mount works here; else
    DuckDB's own disk-full error raised at the write boundary, the CHECKPOINT."""
    cde_dir, ini_dir = inputs
    small = tmp_path / "small"
    real = _mount_small_fs(small, "8m")
    target = (small if real else tmp_path / "sim") / "csi.duckdb"
    build.build(target, cde_dir, ini_dir, None)
    if not real:
        connect = duckdb.connect

        class Full:
            def __init__(self, con):
                self._con = con

            def execute(self, sql, *args):
                if sql == "CHECKPOINT":
                    raise duckdb.FatalException(f'FATAL Error: Failed to create checkpoint because of error: '
                                                f'Could not write file "{target}.tmp-{os.getpid()}": '
                                                'No space left on device')
                return self._con.execute(sql, *args)

            def __getattr__(self, name):
                return getattr(self._con, name)

        monkeypatch.setattr(build.duckdb, "connect",
                            lambda path, *a, **k: Full(connect(path, *a, **k)) if ".tmp-" in str(path)
                            else connect(path, *a, **k))
    try:
        yield target, sha(target), "tmpfs" if real else "simulated"
    finally:
        if real:
            subprocess.run(["umount", str(small)], check=True)


def test_disk_full_is_one_clear_error_and_the_old_database_stays(full_disk, inputs):
    target, digest, _ = full_disk
    cde_dir, ini_dir = inputs
    (ini_dir / "grants.csv").write_text((ini_dir / "grants.csv").read_text().replace("1500000", "1600000"))
    with pytest.raises(BuildError) as err:
        build.build(target, cde_dir, ini_dir, None)
    msg = str(err.value)
    prefix = f"{target}.tmp-{os.getpid()}: no space left on device while writing the new database (about "
    assert msg.startswith(prefix), msg
    needed, free = msg[len(prefix):].split(" MB needed, ")
    free, tail = free.split(" MB free)")
    assert float(needed) >= target.stat().st_size / 1e6 - 0.05  # at least what the previous one took
    assert float(free) == pytest.approx(shutil.disk_usage(target.parent).free / 1e6, abs=0.1)
    assert tail == "; the previous database is unchanged"
    assert_untouched(target, digest)


def test_enospc_from_the_os_is_the_same_clear_error(existing, inputs, simplified, monkeypatch):
    target, digest = existing
    cde_dir, ini_dir = inputs

    def no_room(con):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(build.db, "apply_schema", no_room)
    with pytest.raises(BuildError, match=r"no space left on device while writing the new database .* MB free\); "
                                         "the previous database is unchanged"):
        build.build(target, cde_dir, ini_dir, simplified)
    assert_untouched(target, digest)


def test_disk_full_without_a_previous_database_says_so(tmp_path, inputs, monkeypatch):
    cde_dir, ini_dir = inputs
    monkeypatch.setattr(build.db, "apply_schema", lambda con: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    target = tmp_path / "new" / "csi.duckdb"
    with pytest.raises(BuildError, match="MB free\\); no database was written"):
        build.build(target, cde_dir, ini_dir, None)
    assert not target.exists() and beside(target) == []


def _start_build(cde_dir: Path, ini_dir: Path, target: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "csi_metrics", "build", "--cde-dir", str(cde_dir),
                             "--initiative-dir", str(ini_dir), "--boundaries", str(SPA_2022), "--db", str(target)],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_builds_into_one_database_the_second_is_refused(tmp_path, inputs, fixtures_dir):
    """Two real processes. The first is stopped (SIGSTOP) once it holds the lock, so the
    second surely runs while it does; then it goes on and its database is the one left."""
    cde_dir, ini_dir = inputs
    other = tmp_path / "other-initiative"
    shutil.copytree(ini_dir, other)
    (other / "grants.csv").write_text((other / "grants.csv").read_text().replace("1500000", "1600000"))
    target = tmp_path / "db" / "csi.duckdb"
    first = _start_build(cde_dir, ini_dir, target)
    try:
        seen = []
        for line in first.stderr:  # the first progress line comes after the lock is taken
            seen.append(line)
            if "reading pubschls.txt" in line:
                break
        assert seen and "reading pubschls.txt" in seen[-1], seen
        os.kill(first.pid, signal.SIGSTOP)
        second = _start_build(cde_dir, other, target)
        out2, err2 = second.communicate(timeout=300)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, "".join(seen) + err1
    assert second.returncode == 1, err2
    errors = [l for l in err2.splitlines() if l.startswith("error: ")]
    assert errors == [f"error: {target}: another build into this database is running (pid {first.pid}); wait for "
                      "it to finish, or build into another --db; the database is unchanged"], err2
    assert "Traceback" not in err2
    # The winner's database, whole: every table there, and its grants.
    assert q(target, "SELECT amount_usd FROM grants WHERE grant_id = 'G-001'") == [(1_500_000,)]
    assert q(target, "SELECT count(*) FROM outcomes") == [(20,)]
    assert beside(target) == []


def test_a_build_in_another_thread_is_refused_too(tmp_path, inputs):
    import threading
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    holding, release = threading.Event(), threading.Event()

    def hold():
        with build.build_lock(target):
            holding.set()
            release.wait(60)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(60)
        with pytest.raises(BuildError, match=f"{target}: another build into this database is running"):
            build.build(target, cde_dir, ini_dir, None)
    finally:
        release.set()
        t.join()
    assert not target.exists()
    build.build(target, cde_dir, ini_dir, None)  # released: the next build runs
    assert target.exists()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid():
    """The pid of a process that is running (another build, say) for the test's length."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_temp_files_of_a_killed_build_are_removed_by_the_next(tmp_path, inputs, dead_pid, live_pid):
    cde_dir, ini_dir = inputs
    target = tmp_path / "csi.duckdb"
    stale = [f"csi.duckdb.tmp-{dead_pid}", f"csi.duckdb.tmp-{dead_pid}.wal"]
    kept = [f"csi.duckdb.tmp-{live_pid}", f"csi.duckdb.tmp-{live_pid}.wal", "csi.duckdb.tmp-notapid",
            f"other.duckdb.tmp-{dead_pid}"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x" * 1000)
    (tmp_path / f"csi.duckdb.tmp-{dead_pid}.tmp").mkdir()  # DuckDB's spill folder for that file
    (tmp_path / f"csi.duckdb.tmp-{dead_pid}.tmp" / "duckdb_temp_block-0.block").write_bytes(b"x")
    build.build(target, cde_dir, ini_dir, None)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "in")
    assert left == sorted(["csi.duckdb", "csi.duckdb.lock"] + kept)


def _fake_generate(fixtures_dir: Path, seen: list):
    """demo.generate standing in: the fixtures in the demo's folders (the real one takes seconds)."""
    def generate(out: Path, scale: str, seed: int) -> None:
        seen.append(out)
        shutil.copytree(fixtures_dir / "cde", out / "cde")
        shutil.copytree(fixtures_dir / "initiative", out / "initiative")
    return generate


def test_stale_demo_folders_are_removed_and_the_new_one_names_its_owner(tmp_path, fixtures_dir, dead_pid, live_pid,
                                                                         monkeypatch):
    from csi_metrics.ingest import demo
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    for name in (f"csi-demo-{dead_pid}-abc", f"csi-demo-{live_pid}-def", "csi-demo-xyz", "other-123-abc"):
        (tmp / name / "cde").mkdir(parents=True)
        (tmp / name / "cde" / "pubschls.txt").write_bytes(b"x" * 1000)
    seen: list[Path] = []
    monkeypatch.setattr(demo, "generate", _fake_generate(fixtures_dir, seen))
    build.build_demo(tmp_path / "csi.duckdb")
    assert seen[0].parent == tmp and seen[0].name.startswith(f"csi-demo-{os.getpid()}-")
    # Gone: the dead build's folder, and this build's own. An unnamed old-style folder may be a live build's.
    assert sorted(p.name for p in tmp.iterdir()) == sorted([f"csi-demo-{live_pid}-def", "csi-demo-xyz",
                                                           "other-123-abc"])


# ---------------------------------------------------------------- CDE's own Dashboard files (optional)

def add_dashboard_files(cde_dir: Path, fixtures_dir: Path, *names: str) -> None:
    for p in sorted((fixtures_dir / "dashboard").glob("*.txt")):
        if not names or p.name in names:
            shutil.copy(p, cde_dir / p.name)


def test_dashboard_files_are_stored_and_recorded(tmp_path, inputs, simplified, fixtures_dir):
    cde_dir, ini_dir = inputs
    add_dashboard_files(cde_dir, fixtures_dir)
    # A school the directory does not have: kept, and recorded as the outcome files' are.
    line = add_cde_row(cde_dir / "suspdownload2024.txt", 5, b"19753096000001", b"19753096999999")
    target = tmp_path / "csi.duckdb"
    rep = build.build(target, cde_dir, ini_dir, simplified)
    assert rep.dashboard_years == {"chronic_absenteeism": [2022, 2024, 2025], "suspension": [2019, 2024]}
    assert rep.tables["dashboard_official"] == 32 and rep.tables["outcomes"] == 20
    assert "official Dashboard suspension: 2019, 2024" in rep.summary()
    assert q(target, "SELECT indicator, dashboard_year, academic_year, count(*) FROM dashboard_official "
                     "GROUP BY ALL ORDER BY ALL") == [
        ("chronic_absenteeism", 2022, "2021-22", 5), ("chronic_absenteeism", 2024, "2023-24", 11),
        ("chronic_absenteeism", 2025, "2024-25", 3), ("suspension", 2019, "2018-19", 4),
        ("suspension", 2024, "2023-24", 9)]
    assert q(target, "SELECT status_pct, change_pp, status_level, change_level, color, box, school_or_lea_type "
                     "FROM dashboard_official WHERE indicator = 'suspension' AND dashboard_year = 2024 "
                     "AND cds_code = '19753096000002'") == [(5.0, 1.6, "Medium", "Increased", "Orange", 120, "HS")]
    # No student counts stored: only the figures and placements.
    cols = [c for (c,) in q(target, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'dashboard_official'")]
    assert not [c for c in cols if c.endswith("_n") or "numer" in c or "denom" in c]
    info = dict(q(target, "SELECT key, value FROM build_info"))
    assert (info["dashboard_years_chronic_absenteeism"], info["dashboard_years_suspension"]) == (
        "2022,2024,2025", "2019,2024")
    sources = {Path(p).name: (kind, s, n, kept) for p, kind, s, n, kept in
               q(target, "SELECT path, kind, sha256, rows_n, rows_kept_n FROM build_sources")}
    assert sources["chronicdownload2024.txt"] == (
        "dashboard_chronic_absenteeism", sha(fixtures_dir / "dashboard" / "chronicdownload2024.txt"), 13, 11)
    assert sources["suspdownload2019.txt"][0] == "dashboard_suspension" and sources["suspdownload2019.txt"][2:] == (5, 4)
    rej = {(Path(p).name, reason): (n, ex) for p, reason, n, ex in
           q(target, "SELECT path, reason, rows_n, example_line_n FROM build_rejections")}
    assert rej[("suspdownload2024.txt", "school not in the directory (pubschls.txt)")] == (1, line)
    assert rej[("chronicdownload2024.txt", "outside county filter (county 19)")] == (2, 13)
    assert rej[("chronicdownload2022.txt", dash.CURRENT_SMALL)] == (1, 5)


def test_without_dashboard_files_the_table_is_empty(existing):
    target, _ = existing
    assert q(target, "SELECT count(*) FROM dashboard_official") == [(0,)]
    info = dict(q(target, "SELECT key, value FROM build_info"))
    assert info["dashboard_years_chronic_absenteeism"] == info["dashboard_years_suspension"] == ""


def test_two_dashboard_files_for_one_year_are_refused(existing, inputs, simplified, fixtures_dir):
    target, digest = existing
    cde_dir, ini_dir = inputs
    add_dashboard_files(cde_dir, fixtures_dir, "chronicdownload2024.txt")
    shutil.copy(cde_dir / "chronicdownload2024.txt", cde_dir / "CHRONICDOWNLOAD2024-v2.txt")
    with pytest.raises(InputError, match=r"chronic_absenteeism Dashboard 2024 was already read from "
                                         r"(CHRONICDOWNLOAD2024-v2|chronicdownload2024)\.txt; keep one file"):
        build.build(target, cde_dir, ini_dir, simplified)
    assert_untouched(target, digest)


def test_a_bad_dashboard_file_stops_the_build(existing, inputs, simplified, fixtures_dir):
    target, digest = existing
    cde_dir, ini_dir = inputs
    add_dashboard_files(cde_dir, fixtures_dir, "suspdownload2024.txt")
    p = cde_dir / "suspdownload2024.txt"
    p.write_bytes(p.read_bytes().replace(b"\tMS\tALL\t50\t700\t7.1\t", b"\tMS\tALL\t50\t700\t9.1\t"))
    with pytest.raises(InputError) as err:
        build.build(target, cde_dir, ini_dir, simplified)
    assert (Path(err.value.path).name, err.value.line, err.value.column) == ("suspdownload2024.txt", 7, "currstatus")
    assert "disagrees with counts 50/700" in err.value.message
    assert_untouched(target, digest)


def test_dashboard_rows_arrive_with_the_atomic_swap(existing, inputs, simplified, fixtures_dir):
    """A reader holding the old file keeps its snapshot (no official rows); the new file has
    them; the swap replaced the file and left nothing beside it."""
    target, digest = existing
    cde_dir, ini_dir = inputs
    old_inode = target.stat().st_ino
    reader = duckdb.connect(str(target), read_only=True)
    try:
        add_dashboard_files(cde_dir, fixtures_dir)
        build.build(target, cde_dir, ini_dir, simplified)
        assert reader.execute("SELECT count(*) FROM dashboard_official").fetchone() == (0,)
    finally:
        reader.close()
    assert target.stat().st_ino != old_inode and sha(target) != digest
    assert q(target, "SELECT count(*) FROM dashboard_official") == [(31,)]
    assert beside(target) == []
