"""A rebuild under load: while sessions run pages through csi_app.data (its cached
read-only connection and cached loaders, several AppTest sessions in threads),
the database file is swapped again and again (os.replace, as the build does) and
rebuilt for real. No run errors, and every run sees one database whole: the
build record, the table rows and the pooled rate all come from A, or all from B.

Two databases A and B are built from the fixtures; B's chronic file has a
different count for one school, so its source hash and its totals differ."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from csi_metrics.ingest import build
import fixture_paths

pytestmark = pytest.mark.server

REPO = fixture_paths.REPO
BANDS = fixture_paths.MALFORMED / "boundaries" / "valid_bands.geojson"
CA = "chronicabsenteeism24.txt"


# One page run: every read goes through csi_app.data as the pages' do, pinned first
# as dashboard.py does. Three separate cached reads, so a mix would show.
PAGE = '''
import streamlit as st
from csi_metrics.vocabulary.filters import Filters
from csi_app import data
from csi_metrics.metrics import rates

data.pin_database()
sha = data.sql("SELECT sha256 FROM build_sources WHERE kind = 'chronic_absenteeism'")["sha256"][0]
rows = data.sql("SELECT sum(numerator_n) AS n FROM outcomes WHERE metric = 'chronic_absenteeism' "
                "AND aggregate_level = 'S'")["n"][0]
pooled = data.load(rates.pooled_rates, "chronic_absenteeism", [], filters=Filters(year="2023-24"))
st.text(f"{sha}|{rows}|{pooled['numerator_n'][0]}|{pooled['denominator_n'][0]}")
'''


def _inputs(tmp: Path, fixtures_dir: Path, variant: str) -> tuple[Path, Path]:
    cde_dir, ini = tmp / variant / "cde", tmp / variant / "initiative"
    shutil.copytree(fixtures_dir / "cde", cde_dir)
    shutil.copytree(fixtures_dir / "initiative", ini)
    if variant == "B":
        p = cde_dir / CA
        raw = p.read_bytes()
        assert raw.count(b"\t900\t189\t21.0") == 1
        p.write_bytes(raw.replace(b"\t900\t189\t21.0", b"\t900\t300\t33.3"))
    return cde_dir, ini


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory, fixtures_dir):
    tmp = tmp_path_factory.mktemp("rebuild")
    out = {}
    for v in ("A", "B"):
        cde_dir, ini = _inputs(tmp, fixtures_dir, v)
        build.build(tmp / f"{v}.duckdb", cde_dir, ini, BANDS)
        out[v] = (tmp / f"{v}.duckdb", cde_dir, ini)
    return out


def _expected(path: Path) -> str:
    """The line PAGE prints, computed straight from the file."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        sha = con.execute("SELECT sha256 FROM build_sources WHERE kind = 'chronic_absenteeism'").fetchone()[0]
        rows = con.execute("SELECT sum(numerator_n) FROM outcomes WHERE metric = 'chronic_absenteeism' "
                           "AND aggregate_level = 'S'").fetchone()[0]
        # Pooled over LA schools in 2023-24, every student: the schools' own rows, charter/DASS as published.
        num, den = con.execute(
            "SELECT sum(o.numerator_n), sum(o.denominator_n) FROM outcomes o JOIN schools s USING (cds_code) "
            "WHERE o.metric = 'chronic_absenteeism' AND o.aggregate_level = 'S' AND o.academic_year = '2023-24' "
            "AND o.reporting_category = 'TA'").fetchone()
    finally:
        con.close()
    return f"{sha}|{rows}|{num}|{den}"


def _swap_in(src: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".incoming")
    shutil.copyfile(src, tmp)
    os.replace(tmp, target)


@pytest.fixture
def served(tmp_path, two_builds, monkeypatch):
    target = tmp_path / "live" / "csi.duckdb"
    target.parent.mkdir()
    _swap_in(two_builds["A"][0], target)
    monkeypatch.setenv("CSI_DB", str(target))
    monkeypatch.chdir(REPO)
    return target


def test_the_two_databases_differ_in_every_read(two_builds):
    a, b = _expected(two_builds["A"][0]), _expected(two_builds["B"][0])
    assert all(x != y for x, y in zip(a.split("|")[:3], b.split("|")[:3]))
    # Hand check of B's change: Cedar Grove High's count 189 -> 300 moves the school total by 111.
    assert int(b.split("|")[1]) - int(a.split("|")[1]) == 111


def _pinned_reads(data) -> str:
    """What PAGE does, from a plain thread: take the file as it is now (key and
    connection, as pin_database does) and read through the same cached loaders."""
    from csi_metrics.metrics import rates
    from csi_metrics.vocabulary.filters import Filters

    key, con = data._current()
    sha = data._sql_cached(key, "SELECT sha256 FROM build_sources WHERE kind = 'chronic_absenteeism'", (),
                         con)["sha256"][0]
    rows = data._sql_cached(key, "SELECT sum(numerator_n) AS n FROM outcomes WHERE metric = 'chronic_absenteeism' "
                               "AND aggregate_level = 'S'", (), con)["n"][0]
    f = Filters(year="2023-24")
    pooled = data._cached(key, data._name(rates.pooled_rates), ("chronic_absenteeism", ()), tuple(f.as_dict().items()), (),
                        con)
    return f"{sha}|{rows}|{pooled['numerator_n'][0]}|{pooled['denominator_n'][0]}"


def test_swaps_and_rebuilds_while_sessions_read(served, two_builds):
    """Four AppTest sessions run PAGE (one at a time: AppTest keeps one global
    runtime, so its runs cannot overlap) and four plain threads read through the
    same cached connection and loaders at full speed, while the main thread swaps
    the file 80 times and rebuilds it 3 times."""
    from csi_app import data

    expected = {_expected(two_builds[v][0]): v for v in ("A", "B")}
    stop = threading.Event()
    seen: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    apptest_lock = threading.Lock()
    runs = {"session": 0, "thread": 0}

    def session(i: int) -> None:
        at = AppTest.from_string(PAGE, default_timeout=60)
        while not stop.is_set():
            with apptest_lock:
                at.run()
            with lock:
                runs["session"] += 1
                if at.exception or len(at.text) != 1:
                    errors.append(f"session {i}: {[e.message for e in at.exception]} {len(at.text)} outputs")
                else:
                    seen.append(at.text[0].value)
            time.sleep(0.01)

    def reader(i: int) -> None:
        while not stop.is_set():
            try:
                got = _pinned_reads(data)
            except Exception as exc:  # noqa: BLE001 - any error is the failure being looked for
                with lock:
                    errors.append(f"thread {i}: {exc!r}")
                continue
            with lock:
                runs["thread"] += 1
                seen.append(got)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    swaps = rebuilds = 0
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and swaps < 80:
            _swap_in(two_builds["B" if swaps % 2 == 0 else "A"][0], served)
            swaps += 1
            time.sleep(0.15)
        for v in ("B", "A", "B"):  # real rebuilds: the build's own temp file and os.replace
            _, cde_dir, ini = two_builds[v]
            build.build(served, cde_dir, ini, BANDS)
            rebuilds += 1
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors[:5]
    assert runs["session"] >= 8 and runs["thread"] >= 20, runs
    mixed = [s for s in seen if s not in expected]
    assert not mixed, mixed[:5]
    # Both databases were actually read while the swapping went on.
    assert {expected[s] for s in seen} == {"A", "B"}
    print(f"\n{swaps} swaps + {rebuilds} rebuilds; {runs['session']} AppTest page runs over 4 sessions and "
          f"{runs['thread']} threaded reads; A {sum(expected[s] == 'A' for s in seen)} / "
          f"B {sum(expected[s] == 'B' for s in seen)}, 0 mixed")


def test_open_session_picks_up_the_new_file_on_its_next_run(served, two_builds):
    """The connection to the old file stays cached and open (a run may still be
    pinned to it), and the next run still reads the new file. Plain
    duckdb.connect(path) failed this: DuckDB hands a path that is already open
    in the process the same (old) database instance."""
    at = AppTest.from_string(PAGE, default_timeout=60)
    at.run()
    assert at.text[0].value == _expected(two_builds["A"][0])
    _swap_in(two_builds["B"][0], served)
    at.run()
    assert not at.exception
    assert at.text[0].value == _expected(two_builds["B"][0])
    _swap_in(two_builds["A"][0], served)  # back to A's content in a third file: seen as new again
    at.run()
    assert at.text[0].value == _expected(two_builds["A"][0])


def test_connection_opened_before_a_swap_keeps_reading_the_old_file(served, two_builds):
    """On Linux an open DuckDB connection reads the inode it opened: the old data, whole."""
    from csi_app import data

    key = data._live_key()
    con = data._open(*key)
    _swap_in(two_builds["B"][0], served)
    cur = data._cursor(con)
    try:
        sha = cur.execute("SELECT sha256 FROM build_sources WHERE kind = 'chronic_absenteeism'").fetchone()[0]
    finally:
        cur.close()
    assert sha == _expected(two_builds["A"][0]).split("|")[0]
    assert data._live_key() != key  # and the next pin opens the new file


def test_open_refuses_a_key_that_no_longer_names_the_file(served, two_builds):
    """A cache miss for an old key must not open the new file under the old name."""
    from csi_app import data

    key = data._live_key()
    _swap_in(two_builds["B"][0], served)
    with pytest.raises(data._Replaced):
        data._open(key[0], key[1], key[2] + 1, key[3])  # a key never opened: a miss, and the file is not it
