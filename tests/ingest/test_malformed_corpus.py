"""The malformed-input corpus (tests/malformed/CASES.md): every broken file makes
`python -m csi_metrics build` exit 2 with an error naming file, line and column,
and leaves an existing database byte-for-byte as it was. The accepted cases
(extra columns, a repairable self-intersection) build and replace it.

Every case runs through `cli.main` in-process (argparse, the build, the exit
code and stderr exactly as the command has them); one case per input kind also
runs as a real `python -m csi_metrics` process."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from csi_metrics import cli
from csi_metrics.vocabulary.config import PROJECT_ROOT
import fixture_paths

MALFORMED = fixture_paths.MALFORMED
VALID_BOUNDARIES = MALFORMED / "boundaries" / "valid_bands.geojson"


@dataclass(frozen=True)
class Case:
    file: str
    replaces: str
    line: int | None = None
    column: str | None = None
    fragment: str = ""
    names: str | None = None

    @property
    def id(self) -> str:
        return Path(self.file).name


def _table_rows(section: str) -> list[list[str]]:
    text = (MALFORMED / "CASES.md").read_text(encoding="utf-8")
    body = text.split(section, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        if line.startswith("| `"):
            rows.append([c.strip() for c in line.strip()[1:-1].split("|")])  # fragments hold no '|'

    return rows


BROKEN = [
    Case(file=r[0].strip("`"), replaces=r[1], line=None if r[2] == "-" else int(r[2]), column=r[3] or None,
         fragment=r[4], names=r[5] or None)
    for r in _table_rows("## Broken")
]
ACCEPTED = [Case(file=r[0].strip("`"), replaces=r[1]) for r in _table_rows("## Accepted")]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_corpus_is_complete_and_every_file_is_listed():
    listed = {c.file for c in BROKEN + ACCEPTED} | {"boundaries/valid_bands.geojson"}
    on_disk = {p.relative_to(MALFORMED).as_posix() for p in MALFORMED.rglob("*")
               if p.is_file() and p.suffix not in (".md", ".py")}
    assert listed == on_disk
    assert len(BROKEN) >= 30
    kinds = {c.replaces for c in BROKEN}
    for needed in ("cde/chronicabsenteeism24.txt", "cde/suspension24.txt", "cde/pubschls.txt",
                   "initiative/roster.csv", "initiative/grants.csv", "initiative/activities.csv",
                   "initiative/attendance.csv", "initiative/spa_crosswalk.csv", "boundaries"):
        assert needed in kinds, needed


@pytest.fixture(scope="module")
def base_db(tmp_path_factory, fixtures_dir) -> Path:
    """A good database built by the CLI from the valid fixtures, to be protected."""
    d = tmp_path_factory.mktemp("base")
    target = d / "csi.duckdb"
    rc = cli.main(["build", "--cde-dir", str(fixtures_dir / "cde"), "--initiative-dir",
                   str(fixtures_dir / "initiative"), "--boundaries", str(VALID_BOUNDARIES), "--db", str(target)])
    assert rc == 0
    return target


def _stage(case: Case, tmp_path: Path, fixtures_dir: Path, base_db: Path) -> tuple[list[str], Path, Path]:
    """Inputs with the case's file in place, and a copy of the good database. Returns
    (build argv, database, path of the file the error should name)."""
    cde_dir, ini_dir = tmp_path / "cde", tmp_path / "initiative"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    shutil.copytree(fixtures_dir / "initiative", ini_dir)
    data = (MALFORMED / case.file).read_bytes()
    if case.file.endswith(".gz"):
        data = gzip.decompress(data)
    if case.replaces == "boundaries":
        put = tmp_path / Path(case.file).name
        boundaries = put
    else:
        put = tmp_path / case.replaces
        boundaries = VALID_BOUNDARIES
    put.write_bytes(data)
    db = tmp_path / "out" / "csi.duckdb"
    db.parent.mkdir()
    shutil.copy2(base_db, db)
    argv = ["build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
            "--boundaries", str(boundaries), "--db", str(db)]
    named = tmp_path / case.names if case.names else put
    return argv, db, named


def _expected_prefix(case: Case, named: Path) -> str:
    where = f"{named}:{case.line}:" if case.line is not None else f"{named}:"
    return where + (f" column '{case.column}':" if case.column else "")


def _check_refused(case: Case, rc: int, stderr: str, db: Path, digest: str, named: Path) -> None:
    assert rc == 2, stderr
    errors = [l for l in stderr.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1, stderr
    msg = errors[0][len("error: "):]
    assert msg.startswith(_expected_prefix(case, named)), msg
    assert case.fragment in msg, msg
    assert "Traceback" not in stderr
    assert sha(db) == digest
    # No temp file or WAL left; the build lock file stays by design (build.lock_path).
    assert sorted(p.name for p in db.parent.iterdir()) == ["csi.duckdb", "csi.duckdb.lock"]


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.id)
def test_broken_file_is_refused_and_database_unchanged(case, tmp_path, fixtures_dir, base_db, capsys):
    argv, db, named = _stage(case, tmp_path, fixtures_dir, base_db)
    digest = sha(db)
    assert digest == sha(base_db)
    capsys.readouterr()
    rc = cli.main(argv)
    _check_refused(case, rc, capsys.readouterr().err, db, digest, named)


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_accepted_file_builds(case, tmp_path, fixtures_dir, base_db, capsys):
    import duckdb

    argv, db, _ = _stage(case, tmp_path, fixtures_dir, base_db)
    digest = sha(db)
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert sha(db) != digest
    con = duckdb.connect(str(db), read_only=True)
    try:
        # The same rows as the clean fixtures give: the extra column or the repair changed nothing else.
        assert con.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 20
        assert con.execute("SELECT count(*) FROM schools WHERE is_community").fetchone()[0] == 2
        if case.replaces == "boundaries":
            # Band 3 (lon -118.6..-118.4) became a bow-tie; Cedar Grove High at -118.41 is still in it.
            spa = con.execute("SELECT spa_n FROM schools WHERE cds_code = '19753096000002'").fetchone()[0]
            assert spa == 3
    finally:
        con.close()


# One real process per input kind: the installed entry point behaves as cli.main does.
PROCESS_CASES = [c for c in BROKEN if c.id in {
    "ca_enormous_line.txt.gz", "su_bom_then_cp1252.txt", "ps_truncated.txt", "roster_duplicate_cds.csv",
    "activities_bad_date.csv", "bnd_wrong_crs_3857.geojson", "ca_gzip_named_txt.txt",
}]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=lambda c: c.id)
def test_broken_file_via_real_process(case, tmp_path, fixtures_dir, base_db):
    argv, db, named = _stage(case, tmp_path, fixtures_dir, base_db)
    digest = sha(db)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "csi_metrics", *argv], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    _check_refused(case, proc.returncode, proc.stderr, db, digest, named)


def test_every_error_names_a_line_unless_file_level():
    """Only defects of a whole file go without a line number, and the table says which."""
    file_level = sorted(c.id for c in BROKEN if c.line is None)
    assert file_level == ["bnd_gzip.geojson", "bnd_missing_spa_8.geojson", "bnd_no_spa_number_field.geojson",
                          "bnd_overlapping_spas.geojson", "bnd_utf16.geojson", "ca_gzip_named_txt.txt",
                          "ca_utf16.txt", "ps_zip_named_txt.txt", "roster_utf16.csv", "su_cr_line_endings.txt",
                          "su_same_year_as_suspension24.txt"]
    # Without a column: a defect of a line's length, or a file that is not text the readers take at all.
    not_text = r"is UTF-16 text|is a gzip-compressed file|is a zip archive|lines end with CR only"
    assert all(c.column or re.search(r"empty file|fields per line|no data rows|" + not_text, c.fragment)
               for c in BROKEN)
