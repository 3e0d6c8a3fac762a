"""`python -m csi_metrics fetch-cde`: the CDE files fetched from a local HTTP
server laid out like CDE's own (demo-downloads/attendance, demo-downloads/discipline,
schooldirectory/report?rid=dl1&tp=txt, researchfiles/cadashboard), then built;
failures keep what was there."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from csi_metrics.ingest import dashboard_files as dash
from csi_metrics import cli
from csi_metrics.ingest import fetch
import fixture_paths

REPO = fixture_paths.REPO
FIXTURES = REPO / "tests" / "fixtures"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cde_site(tmp_path, serve_dir, monkeypatch):
    """A folder served on 127.0.0.1 in CDE's layout, holding the hand-written fixtures
    under their CDE names: (root folder, base URL of the outcome files, directory URL).
    The Dashboard files (2019, 2022 and 2024 only) are under researchfiles/cadashboard/,
    which $CSI_CDE_DASHBOARD_URL names, so no test reaches CDE itself."""
    root = tmp_path / "site"
    (root / "demo-downloads" / "attendance").mkdir(parents=True)
    (root / "demo-downloads" / "discipline").mkdir(parents=True)
    (root / "schooldirectory").mkdir()
    (root / "researchfiles" / "cadashboard").mkdir(parents=True)
    for name in DASHBOARD_SERVED:
        shutil.copy(FIXTURES / "dashboard" / name, root / "researchfiles" / "cadashboard")
    shutil.copy(FIXTURES / "cde" / "chronicabsenteeism24.txt", root / "demo-downloads" / "attendance")
    for name in ("suspension23.txt", "suspension24.txt"):
        shutil.copy(FIXTURES / "cde" / name, root / "demo-downloads" / "discipline")
    # The real directory address ends in report?rid=dl1&tp=txt: a file named `report`.
    shutil.copy(FIXTURES / "cde" / "pubschls.txt", root / "schooldirectory" / "report")

    url = serve_dir(root)
    monkeypatch.setenv("CSI_CDE_DASHBOARD_URL", f"{url}/researchfiles/cadashboard/")
    return root, f"{url}/demo-downloads/", f"{url}/schooldirectory/report?rid=dl1&tp=txt"


DASHBOARD_SERVED = ("chronicdownload2024.txt", "suspdownload2024.txt", "chronicdownload2022.txt",
                    "suspdownload2019.txt")


def _args(base: str, directory: str, out: Path, *years: str) -> list[str]:
    return ["fetch-cde", "--out", str(out), "--base-url", base, "--directory-url", directory, "--years", *years]


def test_fetch_then_build(cde_site, tmp_path, capsys):
    _root, base, directory = cde_site
    out = tmp_path / "cde"
    assert cli.main(_args(base, directory, out, "2023-24")) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["MANIFEST.tsv", "chronicabsenteeism24.txt",
                                                    "chronicdownload2024.txt", "pubschls.txt", "suspdownload2024.txt",
                                                    "suspension24.txt"]
    for name in ("chronicabsenteeism24.txt", "suspension24.txt", "pubschls.txt"):
        assert sha(out / name) == sha(FIXTURES / "cde" / name), name
    for name in ("chronicdownload2024.txt", "suspdownload2024.txt"):
        assert sha(out / name) == sha(FIXTURES / "dashboard" / name), name
    manifest = [line.split("\t") for line in (out / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()]
    assert manifest[0] == ["file", "url", "fetched_utc", "bytes", "sha256"]
    by_name = {row[0]: row for row in manifest[1:]}
    assert by_name["pubschls.txt"][1] == directory
    assert by_name["suspension24.txt"][1] == base + "discipline/suspension24.txt"
    assert by_name["chronicabsenteeism24.txt"][4] == sha(FIXTURES / "cde" / "chronicabsenteeism24.txt")
    assert int(by_name["suspension24.txt"][3]) == (FIXTURES / "cde" / "suspension24.txt").stat().st_size

    # The folder is what `build --cde-dir` reads (MANIFEST.tsv is not a CDE file name).
    db = tmp_path / "csi.duckdb"
    proc = subprocess.run([sys.executable, "-m", "csi_metrics", "build", "--cde-dir", str(out), "--initiative-dir",
                           str(FIXTURES / "initiative"), "--db", str(db)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        years = con.sql("SELECT DISTINCT metric, academic_year FROM outcomes ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert years == [("chronic_absenteeism", "2023-24"), ("suspension", "2023-24")]


def test_a_missing_year_fails_loudly_and_keeps_the_rest(cde_site, tmp_path, capsys):
    _root, base, directory = cde_site
    out = tmp_path / "cde"
    # 2022-23: the site has suspension23.txt but no chronicabsenteeism23.txt.
    assert cli.main(_args(base, directory, out, "2022-23")) == 1
    err = capsys.readouterr().err
    assert f"cannot download {base}attendance/chronicabsenteeism23.txt: HTTP 404" in err
    assert "--url" in err and "Traceback" not in err
    assert sha(out / "suspension23.txt") == sha(FIXTURES / "cde" / "suspension23.txt")
    assert not (out / "chronicabsenteeism23.txt").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_a_web_page_never_replaces_a_good_file(cde_site, tmp_path, capsys):
    root, base, directory = cde_site
    (root / "demo-downloads" / "attendance" / "chronicabsenteeism24.txt").write_text(
        "<!DOCTYPE html>\n<html><body>The page you requested is temporarily unavailable.</body></html>\n")
    out = tmp_path / "cde"
    out.mkdir()
    good = out / "chronicabsenteeism24.txt"
    shutil.copy(FIXTURES / "cde" / "chronicabsenteeism24.txt", good)
    before = sha(good)
    assert cli.main(_args(base, directory, out, "2023-24")) == 1
    err = capsys.readouterr().err
    assert f"{base}attendance/chronicabsenteeism24.txt:1: column 'Academic Year': not a CDE chronic absenteeism " \
           "file (it looks like a web page)" in err
    assert sha(good) == before
    assert (out / "suspension24.txt").exists() and (out / "pubschls.txt").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_urls_from_the_environment(cde_site, tmp_path, monkeypatch):
    _root, base, directory = cde_site
    monkeypatch.setenv("CSI_CDE_BASE_URL", base)
    monkeypatch.setenv("CSI_CDE_DIRECTORY_URL", directory)
    monkeypatch.setenv("CSI_CDE_DIR", str(tmp_path / "from-env"))
    assert cli.main(["fetch-cde", "--years", "2023-24"]) == 0
    assert (tmp_path / "from-env" / "pubschls.txt").exists()


def test_a_revised_file_replaces_the_one_for_its_year(cde_site, tmp_path):
    root, base, directory = cde_site
    shutil.move(root / "demo-downloads" / "attendance" / "chronicabsenteeism24.txt",
                root / "demo-downloads" / "attendance" / "chronicabsenteeism24-v2.txt")
    out = tmp_path / "cde"
    revised = base + "attendance/chronicabsenteeism24-v2.txt"
    assert cli.main(_args(base, directory, out, "2023-24") + ["--url", revised]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["MANIFEST.tsv", "chronicabsenteeism24-v2.txt",
                                                    "chronicdownload2024.txt", "pubschls.txt", "suspdownload2024.txt",
                                                    "suspension24.txt"]


def test_wanted_files_follow_cde_publication():
    names = [w.name for w in fetch.wanted_files(["2019-20", "2024-25"], "https://x/dl", "https://x/dir")]
    # No chronic absenteeism was published for 2019-20; 2024-25 files are CDE's revised "-v2".
    assert names == ["pubschls.txt", "suspension20.txt", "chronicabsenteeism25-v2.txt", "suspension25-v2.txt"]
    every = fetch.wanted_files(fetch.KNOWN_YEARS, "https://x/", "d")
    assert len(every) == 1 + 6 + 7
    assert all(w.url.startswith("https://x/attendance/") == (w.kind == "chronic_absenteeism")
               for w in every if w.kind != "directory")


@pytest.mark.parametrize("argv,message", [
    (["--years", "2023"], "--years: no CDE files known for '2023'"),
    (["--years", "2023-24", "--url", "http://127.0.0.1:9/enrollment24.txt"], "the file name must be pubschls.txt"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, argv, message):
    assert cli.main(["fetch-cde", "--out", str(tmp_path / "cde"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cde").exists()


def test_unreachable_server(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.run([sys.executable, "-m", "csi_metrics", "fetch-cde", "--out", str(tmp_path / "cde"),
                           "--years", "2023-24", "--base-url", f"http://127.0.0.1:{port}/",
                           "--directory-url", f"http://127.0.0.1:{port}/report",
                           "--dashboard-url", f"http://127.0.0.1:{port}/cadashboard/"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"cannot download http://127.0.0.1:{port}/report:" in proc.stderr
    assert f"cannot download http://127.0.0.1:{port}/cadashboard/suspdownload2024.txt:" in proc.stderr
    assert "5 of 5 files not fetched" in proc.stderr and "Traceback" not in proc.stderr


# Every (metric, year) fetch-cde offers, and the fixture in that year's header layout:
# the older layouts in tests/fixtures/cde_old, the current ones in tests/fixtures/cde
# (their rows' year is rewritten to the year they stand for).
OLD, NEW = FIXTURES / "cde_old", FIXTURES / "cde"
LAYOUT_OF_YEAR = {
    ("chronic_absenteeism", "2018-19"): OLD / "chronicabsenteeism19.txt",  # run-together names, CharterYN, no DASS
    ("chronic_absenteeism", "2020-21"): OLD / "chronicabsenteeism21.txt",  # spaced names, no DASS
    **{("chronic_absenteeism", y): NEW / "chronicabsenteeism24.txt" for y in ("2021-22", "2022-23", "2023-24",
                                                                             "2024-25")},
    ("suspension", "2018-19"): OLD / "suspension19.txt",                   # school rows repeated under 'All'
    ("suspension", "2019-20"): OLD / "suspension20.txt",
    **{("suspension", y): NEW / "suspension23.txt" for y in ("2020-21", "2021-22", "2022-23")},
    **{("suspension", y): NEW / "suspension24.txt" for y in ("2023-24", "2024-25")},
}


def _as_year(src: Path, year: str) -> bytes:
    """The fixture with every row's academic year (the first field) set to `year`."""
    raw = src.read_bytes()
    head, sep, body = raw.partition(b"\n")
    return head + sep + re.sub(rb"(?m)^\d{4}-\d{2}\t", year.encode() + b"\t", body)


def test_every_offered_year_has_a_fixture_that_fetches_and_builds(cde_site, tmp_path):
    """fetch-cde for every year it offers, each file in its year's layout: every header
    passes the download check, and the build reads every file, each school once."""
    root, base, directory = cde_site
    tables = {"chronic_absenteeism": fetch.CHRONIC_FILES, "suspension": fetch.SUSPENSION_FILES}
    offered = {(kind, year) for kind, table in tables.items() for year in table}
    assert set(LAYOUT_OF_YEAR) == offered and {y for _k, y in offered} == set(fetch.KNOWN_YEARS)
    for (kind, year), src in LAYOUT_OF_YEAR.items():
        dst = root / "demo-downloads" / tables[kind][year]
        dst.write_bytes(_as_year(src, year))
        fetch.header_check(kind, str(dst))(dst)  # the check a download must pass
    # and a Dashboard file for every Dashboard year those years select (their layout family's
    # fixture, its reportingyear rewritten to the year it stands for)
    cadash = root / "researchfiles" / "cadashboard"
    for year, dyear in fetch.DASHBOARD_YEARS.items():
        for indicator, src in (("chronic_absenteeism", "chronicdownload2022.txt" if dyear == 2022 else
                                "chronicdownload2024.txt"),
                               ("suspension", "suspdownload2019.txt" if dyear == 2019 else "suspdownload2024.txt")):
            name = dash.file_name(indicator, dyear)
            if not (cadash / name).exists():
                text = (FIXTURES / "dashboard" / src).read_bytes().decode("utf-8-sig")
                lines = text.split("\n")
                head = lines[0].rstrip("\r").split("\t")
                if "reportingyear" in head:
                    i = head.index("reportingyear")
                    lines = [lines[0]] + ["\t".join(c if j != i else str(dyear) for j, c in
                                                     enumerate(line.rstrip("\r").split("\t"))) + "\r"
                                          if line.strip() else line for line in lines[1:]]
                (cadash / name).write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "cde"
    assert cli.main(_args(base, directory, out, *fetch.KNOWN_YEARS)) == 0
    db = tmp_path / "csi.duckdb"
    assert cli.main(["build", "--cde-dir", str(out), "--initiative-dir", str(FIXTURES / "initiative"),
                     "--db", str(db)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.sql("SELECT DISTINCT metric, academic_year FROM outcomes ORDER BY ALL").fetchall()
        assert set(got) == offered
        # No school is counted twice in any year.
        assert con.execute("SELECT count(*) FROM (SELECT metric, academic_year, cds_code, reporting_category "
                           "FROM outcomes WHERE aggregate_level = 'S' GROUP BY ALL HAVING count(*) > 1)"
                           ).fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.parametrize("name", ["chronicabsenteeism19.txt", "chronicabsenteeism21.txt"])
def test_header_check_takes_the_older_chronic_layouts(name):
    # (The older suspension files have the current suspension header: the test above fetches them.)
    fetch.header_check("chronic_absenteeism", "https://x/" + name)(OLD / name)


def test_header_check_names_the_other_spelling(tmp_path):
    # One column under both names is refused before it replaces a good file, as the reader would.
    p = tmp_path / "chronicabsenteeism19.txt"
    raw = (OLD / "chronicabsenteeism19.txt").read_bytes()
    p.write_bytes(raw.replace(b"\tCharterYN\t", b"\tCharterYN\tCharter School\t", 1))
    from csi_metrics.vocabulary.errors import InputError

    with pytest.raises(InputError) as err:
        fetch.header_check("chronic_absenteeism", "https://x/c19.txt")(p)
    assert (err.value.line, err.value.column) == (1, "Charter School")
    assert "the header has both 'Charter School' and 'CharterYN'" in err.value.message


# ---------------------------------------------------------------- the Dashboard files

def test_dashboard_files_follow_the_dashboard_years():
    """An academic year selects the Dashboard that reports it (2023-24 -> 2024); 2019-20 and
    2020-21 have none (no 2020 or 2021 Dashboard)."""
    names = [w.name for w in fetch.wanted_files(["2018-19", "2019-20", "2020-21", "2021-22", "2024-25"],
                                                "https://x/dl/", "https://x/dir", dashboard_url="https://d/cad")]
    dashboard = [n for n in names if "download" in n]
    assert dashboard == ["chronicdownload2019.txt", "suspdownload2019.txt", "chronicdownload2022.txt",
                         "suspdownload2022.txt", "chronicdownload2025.txt", "suspdownload2025.txt"]
    every = fetch.wanted_files(fetch.KNOWN_YEARS, "https://x/", "d", dashboard_url="https://d/cad/")
    urls = [w.url for w in every if w.kind.startswith("dashboard_")]
    assert len(every) == 1 + 6 + 7 + 10 and len(urls) == 10
    assert all(u.startswith("https://d/cad/") for u in urls)
    assert {w.kind for w in every if "download" in w.name} == {"dashboard_chronic_absenteeism",
                                                               "dashboard_suspension"}
    assert fetch.DASHBOARD_YEARS == {"2018-19": 2019, "2021-22": 2022, "2022-23": 2023, "2023-24": 2024,
                                     "2024-25": 2025}


def test_dashboard_url_option_and_environment(cde_site, tmp_path, monkeypatch):
    root, base, directory = cde_site
    # The option wins over the environment (which names the fixture site here).
    moved = root / "moved"
    shutil.copytree(root / "researchfiles" / "cadashboard", moved)
    shutil.rmtree(root / "researchfiles")
    out = tmp_path / "cde"
    url = base.replace("demo-downloads/", "moved")  # no trailing slash: one is added
    assert cli.main(_args(base, directory, out, "2023-24") + ["--dashboard-url", url]) == 0
    by_name = {row.split("\t")[0]: row.split("\t")[1]
               for row in (out / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    assert by_name["suspdownload2024.txt"] == url + "/suspdownload2024.txt"
    assert by_name["chronicdownload2024.txt"] == url + "/chronicdownload2024.txt"
    # Without the option, $CSI_CDE_DASHBOARD_URL: the old address is gone now, so both fail.
    assert cli.main(_args(base, directory, tmp_path / "again", "2023-24")) == 1


def test_a_missing_dashboard_year_fails_loudly_and_keeps_the_rest(cde_site, tmp_path, capsys):
    """Dashboard 2023 (2022-23 data) is not on the site: two 404s naming the address; every
    other file, and the Dashboard files of the other year asked for, are saved."""
    _root, base, directory = cde_site
    out = tmp_path / "cde"
    assert cli.main(_args(base, directory, out, "2021-22", "2022-23")) == 1
    err = capsys.readouterr().err
    dash_base = base.replace("demo-downloads/", "researchfiles/cadashboard/")
    assert f"cannot download {dash_base}chronicdownload2023.txt: HTTP 404" in err
    assert f"cannot download {dash_base}suspdownload2023.txt: HTTP 404" in err
    assert "chronicdatafiles.asp" in err and "Traceback" not in err
    assert sha(out / "chronicdownload2022.txt") == sha(FIXTURES / "dashboard" / "chronicdownload2022.txt")
    assert not (out / "chronicdownload2023.txt").exists() and not (out / "suspdownload2023.txt").exists()
    manifest = (out / "MANIFEST.tsv").read_text(encoding="utf-8")
    assert "chronicdownload2022.txt\t" in manifest and "2023.txt" not in manifest.replace("suspension23.txt", "")
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_a_web_page_is_not_saved_as_a_dashboard_file(cde_site, tmp_path, capsys):
    root, base, directory = cde_site
    page = root / "researchfiles" / "cadashboard" / "suspdownload2024.txt"
    page.write_text("<!DOCTYPE html>\n<html><body>Not found</body></html>\n")
    out = tmp_path / "cde"
    assert cli.main(_args(base, directory, out, "2023-24")) == 1
    err = capsys.readouterr().err
    dash_base = base.replace("demo-downloads/", "researchfiles/cadashboard/")
    assert (f"{dash_base}suspdownload2024.txt:1: column 'cds': not a CDE Dashboard suspension file "
            "(it looks like a web page)") in err
    assert not (out / "suspdownload2024.txt").exists() and (out / "chronicdownload2024.txt").exists()


def test_the_header_check_reads_dashboard_names_in_any_case(cde_site, tmp_path):
    """The upper-case header (and a file without the year's status-only gap) passes; a
    Dashboard file lacking the 2024 layout's `change` is refused before it is saved."""
    root, base, directory = cde_site
    served = root / "researchfiles" / "cadashboard"
    for name in ("chronicdownload2024.txt", "suspdownload2024.txt"):
        raw = (served / name).read_bytes()
        head, rest = raw.split(b"\n", 1)
        (served / name).write_bytes(head.upper() + b"\n" + rest)
    out = tmp_path / "cde"
    assert cli.main(_args(base, directory, out, "2023-24")) == 0
    raw = (served / "chronicdownload2024.txt").read_bytes()
    (served / "chronicdownload2024.txt").write_bytes(raw.replace(b"\tCHANGE\t", b"\tDELTA\t", 1))
    check = fetch.header_check("dashboard_chronic_absenteeism", base + "chronicdownload2024.txt")
    from csi_metrics.vocabulary.errors import InputError
    with pytest.raises(InputError) as err:
        check(served / "chronicdownload2024.txt")
    assert (err.value.line, err.value.column) == (1, "change")


@pytest.mark.parametrize("url,name", [
    ("http://127.0.0.1:9/cad/chronicdownload2024.txt", "chronicdownload2024.txt"),
    # Some scripts spell it SUSPdownload; the revised name takes the same year's place.
    ("http://127.0.0.1:9/cad/SUSPdownload2024.txt", "SUSPdownload2024.txt"),
])
def test_a_dashboard_url_replaces_the_file_for_its_year(url, name):
    wanted = fetch.wanted_files(["2023-24"], "https://x/", "d", [url], dashboard_url="https://d/")
    names = [w.name for w in wanted]
    assert names.count(name) == 1 and len([n for n in names if n.lower() == name.lower()]) == 1
    assert len(names) == 5