"""`python -m csi_metrics`: build, info, fetch-boundaries, exit codes, and that
bad input leaves an existing database byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from csi_metrics.ingest import boundaries as bnd
from csi_metrics import cli
from csi_metrics.vocabulary.config import PROJECT_ROOT
from fixture_paths import DIRECTORY_EXCERPT, SPA_2012, SPA_2022


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "csi_metrics", *args], cwd=PROJECT_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def inputs(tmp_path, fixtures_dir):
    cde_dir, ini_dir = tmp_path / "cde", tmp_path / "initiative"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    shutil.copytree(fixtures_dir / "initiative", ini_dir)
    return cde_dir, ini_dir


@pytest.fixture
def built(tmp_path, inputs):
    """A database built by the CLI from the fixtures; returns (path, completed process)."""
    cde_dir, ini_dir = inputs
    target = tmp_path / "out" / "csi.duckdb"
    proc = run("build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
               "--boundaries", str(SPA_2022), "--db", str(target))
    return target, proc


def test_build_then_info(built):
    target, proc = built
    assert proc.returncode == 0, proc.stderr
    assert target.exists()
    assert "reading pubschls.txt" in proc.stderr and "writing outcomes (20 rows)" in proc.stderr
    assert "schools: 6, SPA unassigned: 1" in proc.stdout
    info = run("info", "--db", str(target))
    assert info.returncode == 0, info.stderr
    out = info.stdout
    assert "mode: real" in out and "county_filter: 19" in out
    assert "  schools: 6\n" in out and "  outcomes: 20\n" in out and "  grants: 3\n" in out
    assert "  chronic_absenteeism: 2023-24 (11 rows)" in out
    assert "  suspension: 2022-23, 2023-24 (9 rows)" in out
    assert "chronicabsenteeism24.txt sha256 " in out and "rows 13 kept 11" in out
    assert "pubschls.txt: 1 no coordinates: SPA unassigned (e.g. line 9)" in out


def test_info_shows_outcome_rows_of_schools_missing_from_the_directory(tmp_path, inputs):
    cde_dir, ini_dir = inputs
    ca = cde_dir / "chronicabsenteeism24.txt"
    raw = ca.read_bytes()
    school_row = raw.split(b"\r\n")[11]
    assert b"\t6000002\t" in school_row
    ca.write_bytes(raw + school_row.replace(b"\t6000002\t", b"\t6099998\t") + b"\r\n")
    target = tmp_path / "out" / "csi.duckdb"
    proc = run("build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
               "--boundaries", str(SPA_2022), "--db", str(target))
    assert proc.returncode == 0, proc.stderr
    info = run("info", "--db", str(target))
    assert ("chronicabsenteeism24.txt: 1 school not in the directory (pubschls.txt): left out of every figure "
            "(e.g. line 15)") in info.stdout


def test_csi_db_environment_variable_and_the_shipped_layer_by_default(tmp_path, inputs):
    cde_dir, ini_dir = inputs
    target = tmp_path / "env.duckdb"
    proc = run("build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
               env={"CSI_DB": str(target), "CSI_BOUNDARIES": ""})
    assert proc.returncode == 0, proc.stderr
    assert target.exists()
    info = run("info", env={"CSI_DB": str(target)})
    assert f"database: {target}" in info.stdout
    # No full layer fetched: schools are placed with the shipped display layer, and info says so.
    assert "boundary_source: shipped display layer" in info.stdout and "la_county_spa_2022_simplified" in info.stdout


@pytest.mark.parametrize("edit,where", [
    (lambda d: (d / "chronicabsenteeism24.txt").write_bytes(
        (d / "chronicabsenteeism24.txt").read_bytes().replace(b"\t900\t189\t", b"\t900\t901\t")),
     "chronicabsenteeism24.txt:12: column 'ChronicAbsenteeismCount': numerator 901 is above denominator 900"),
    (lambda d: (d / "suspension24.txt").write_bytes(b""), "suspension24.txt:1: empty file"),
    (lambda d: (d / "pubschls.txt").write_text(
        (d / "pubschls.txt").read_text(encoding="utf-8").replace("19753096000002", "1975309600002"), encoding="utf-8"),
     "pubschls.txt:6: column 'CDSCode': CDS code '1975309600002' is not 14 digits"),
])
def test_bad_input_exit_2_database_untouched(built, inputs, edit, where):
    target, first = built
    assert first.returncode == 0, first.stderr
    digest = sha(target)
    cde_dir, ini_dir = inputs
    edit(cde_dir)
    proc = run("build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
               "--boundaries", str(SPA_2022), "--db", str(target))
    assert proc.returncode == 2
    assert f"error: {cde_dir}/{where}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sha(target) == digest
    assert sorted(p.name for p in target.parent.iterdir()) == ["csi.duckdb", "csi.duckdb.lock"]


def test_disk_full_exit_1_with_one_line(built, inputs, monkeypatch, capsys):
    """A full disk is not bad input: exit 1, one line naming the temp file, no traceback."""
    import errno

    from csi_metrics.storage import db
    target, first = built
    assert first.returncode == 0, first.stderr
    digest = sha(target)
    cde_dir, ini_dir = inputs

    def no_room(con):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(db, "apply_schema", no_room)
    capsys.readouterr()
    rc = cli.main(["build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir), "--db", str(target)])
    err = capsys.readouterr().err
    assert rc == 1
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {target}.tmp-{os.getpid()}: no space left on device "
                                                      "while writing the new database (about "), err
    assert errors[0].endswith(" MB free); the previous database is unchanged")
    assert "Traceback" not in err and sha(target) == digest


def test_missing_boundary_file_exit_2(tmp_path, inputs):
    cde_dir, ini_dir = inputs
    proc = run("build", "--cde-dir", str(cde_dir), "--initiative-dir", str(ini_dir),
               "--boundaries", str(tmp_path / "nope.geojson"), "--db", str(tmp_path / "x.duckdb"))
    assert proc.returncode == 2 and "nope.geojson: boundary file not found" in proc.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_info_without_database(tmp_path):
    proc = run("info", "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 1 and "build --demo" in proc.stderr


def test_other_commands_do_not_import_report_or_bench(tmp_path, capsys):
    for m in ("csi_metrics.report", "tools.bench.benchmark"):
        sys.modules.pop(m, None)
    assert cli.main(["info", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "csi_metrics.report" not in sys.modules and "tools.bench.benchmark" not in sys.modules


# ---------------------------------------------------------------- fetch-boundaries

@pytest.fixture
def server(serve_dir, tmp_path_factory):
    """The repository's real boundary layers over HTTP on 127.0.0.1 (standing in for LA
    County eGIS) as la_county_spa_2022.geojson and la_county_spa_2012.geojson; its base URL."""
    root = tmp_path_factory.mktemp("egis")
    shutil.copy(SPA_2022, root / "la_county_spa_2022.geojson")
    shutil.copy(SPA_2012, root / "la_county_spa_2012.geojson")
    shutil.copy(DIRECTORY_EXCERPT, root / DIRECTORY_EXCERPT.name)
    return serve_dir(root)


def test_fetch_boundaries(server, tmp_path, capsys):
    out = tmp_path / "b" / "spa.geojson"
    assert cli.main(["fetch-boundaries", "--url", f"{server}/la_county_spa_2022.geojson",
                     "--out", str(out)]) == 0
    assert sha(out) == sha(SPA_2022)
    assert bnd.load_spa_boundaries(out)["spa_n"].tolist() == list(range(1, 9))
    assert capsys.readouterr().out.strip() == str(out)
    # Beside the layer: where and when it was fetched, for the display layer's provenance.
    assert sorted(p.name for p in out.parent.iterdir()) == ["spa.geojson", "spa.geojson.source.json"]
    record = json.loads((out.parent / "spa.geojson.source.json").read_text())
    assert record["source_url"] == f"{server}/la_county_spa_2022.geojson" and record["sha256"] == sha(out)


def test_fetch_then_simplify_writes_the_display_layer_with_its_provenance(server, tmp_path, monkeypatch):
    full, shipped = tmp_path / "full.geojson", tmp_path / "spa" / "display.geojson"
    monkeypatch.setattr(cli.config, "SHIPPED_BOUNDARIES", shipped)
    assert cli.main(["fetch-boundaries", "--url", f"{server}/la_county_spa_2022.geojson", "--out", str(full),
                     "--simplify"]) == 0
    layer = bnd.load_spa_boundaries(shipped)
    assert layer["spa_n"].tolist() == list(range(1, 9))
    rec = json.loads(bnd.provenance_path(shipped).read_text())
    assert rec["source_url"] == f"{server}/la_county_spa_2022.geojson"
    assert rec["fetched"] == json.loads((tmp_path / "full.geojson.source.json").read_text())["fetched_at"][:10]
    assert rec["source_sha256"] == sha(full) and rec["sha256"] == sha(shipped)
    assert rec["vintage"] == "2022" and "Department of Public Health" in rec["terms"]
    assert rec["simplification"]["tolerance_deg"] == bnd.SIMPLIFY_TOLERANCE_DEG
    assert rec["simplification"]["max_hausdorff_deg"] < 0.003
    # simplify-boundaries on its own, from a file that fetch-boundaries did not download
    again = tmp_path / "again.geojson"
    assert cli.main(["simplify-boundaries", "--source", str(full), "--out", str(again), "--fetched", "2026-01-02",
                     "--source-url", "https://example.invalid/layer"]) == 0
    rec2 = json.loads(bnd.provenance_path(again).read_text())
    assert (rec2["fetched"], rec2["source_url"]) == ("2026-01-02", "https://example.invalid/layer")


def test_shipped_display_layer_matches_its_provenance():
    rec = json.loads(bnd.provenance_path(SPA_2022).read_text())
    assert rec["sha256"] == sha(SPA_2022), "the shipped layer was edited by hand: regenerate it"
    assert rec["vintage"] == "2022" and rec["fetched"] and rec["source_url"] and rec["terms"]
    assert rec["simplification"]["tolerance_deg"] == bnd.SIMPLIFY_TOLERANCE_DEG
    import shapely
    assert int(shapely.get_num_coordinates(bnd.load_spa_boundaries(SPA_2022).geometry.to_numpy()).sum()) \
        == rec["simplification"]["vertices_n"]
    assert rec["source_vertices_n"] > 100_000  # made from the full official layer


def test_fetch_boundaries_url_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CSI_BOUNDARIES_URL", f"{server}/la_county_spa_2012.geojson")
    out = tmp_path / "spa.geojson"
    assert cli.main(["fetch-boundaries", "--out", str(out)]) == 0
    assert len(bnd.load_spa_boundaries(out)) == 8


@pytest.mark.parametrize("path,code,message", [
    ("/missing.geojson", 1, "HTTP 404 File not found"),
    ("/pubschls_excerpt_los_angeles.txt", 2, "downloaded file is not an SPA boundary layer"),
])
def test_fetch_boundaries_failure_keeps_existing_file(server, tmp_path, capsys, path, code, message):
    out = tmp_path / "spa.geojson"
    out.write_text("previous")
    assert cli.main(["fetch-boundaries", "--url", server + path, "--out", str(out)]) == code
    err = capsys.readouterr().err
    assert message in err
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spa.geojson"]


def test_fetch_boundaries_unreachable(tmp_path):
    with socket_closed_port() as port:
        proc = run("fetch-boundaries", "--url", f"http://127.0.0.1:{port}/x.geojson", "--out", str(tmp_path / "s.geojson"))
    assert proc.returncode == 1
    assert f"cannot download SPA boundaries from http://127.0.0.1:{port}/x.geojson" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "s.geojson").exists()


class socket_closed_port:
    """A port nothing listens on: bind, note it, close."""

    def __enter__(self) -> int:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def __exit__(self, *exc) -> None:
        pass


def test_info_carries_the_operator_notes_the_pages_no_longer_show(demo_db, tmp_path):
    """Issue 17 #5: how to install the SPA boundaries and which cut scores are unconfirmed
    (with each set's source) are the operator's: `info` prints them, About the data does not."""
    from csi_metrics.rules import levels

    out = run("info", "--db", str(demo_db), env={"CSI_BOUNDARIES": str(tmp_path / "missing.geojson")}).stdout
    assert "fetch-boundaries" in out and "CSI_BOUNDARIES" in out
    assert levels.CUT_SET_NOTES in out
    assert all(c.source in out for c in levels.CUT_SETS.values())


def test_publish_writes_the_attendee_page_and_a_bad_deck_leaves_it(demo_db, tmp_path):
    """`publish --deck FILE --out DIR`: the page and its assets, exit 0; then a deck file that
    cannot be read exits 2 naming it and leaves the published page as it was."""
    from csi_metrics.views import deck

    two = deck.Deck("Two slides", (deck.make_view("funding", "funding_by_spa"),
                                   deck.make_view("activities", "activities_by_month")))
    deck_file = tmp_path / "talk.json"
    deck_file.write_text(deck.to_json(two))
    out = tmp_path / "site"
    proc = run("publish", "--deck", str(deck_file), "--out", str(out), "--db", str(demo_db))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out / "index.html")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "CCSPP awards by SPA" in page and "internal records" in page  # the activities slide is withheld
    assert sorted(p.name for p in (out / "assets").iterdir()) == [
        "manifest.json", "slide-01-phone.svg", "slide-01.csv", "slide-01.svg"]
    assert "a phone fetches" in proc.stderr
    before = sha(out / "index.html")
    deck_file.write_text('{"title": "x", "views": [{"page": "nowhere", "chart": "x"}]}')
    bad = run("publish", "--deck", str(deck_file), "--out", str(out), "--db", str(demo_db))
    assert bad.returncode == 2 and "views[0].page" in bad.stderr
    assert sha(out / "index.html") == before
    missing = run("publish", "--deck", str(tmp_path / "none.json"), "--out", str(out), "--db", str(demo_db))
    assert missing.returncode == 2 and "not found" in missing.stderr
