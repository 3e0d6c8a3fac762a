"""Every CSV a page offers says what it is: every plotted series (the Trends CSV has the
LA County line), comment lines naming the filters, the source and DEMO DATA, a file name
naming the view; the headline CSV reads as the cards do."""

from __future__ import annotations

import io

import polars as pl
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

import fixture_paths

pytestmark = pytest.mark.app
APP = str(fixture_paths.REPO / "dashboard.py")


@pytest.fixture
def downloads(demo_db, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(demo_db))
    got: dict[str, bytes] = {}
    original = DeltaGenerator.download_button

    def recording(self, label, data=None, file_name=None, *args, **kwargs):
        if isinstance(data, bytes) and str(file_name).endswith(".csv"):
            got[str(file_name)] = data
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    main = st._main
    monkeypatch.setattr(st, "download_button", lambda *a, **k: recording(main, *a, **k))
    return got


def _open(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _read(data: bytes) -> tuple[list[str], pl.DataFrame]:
    text = data.decode()
    notes = [line for line in text.splitlines() if line.startswith("# ")]
    return notes, pl.read_csv(io.BytesIO(data), comment_prefix="#", infer_schema_length=None)


def test_trends_csv_has_the_county_line_the_filters_and_a_named_file(downloads):
    _open("pages/trends.py", spa="4", year="2023-24")
    name = next(n for n in downloads if "trend-chronic-absenteeism" in n)
    assert name == "csi-trend-chronic-absenteeism-community-2023-24-spa4.csv", sorted(downloads)
    notes, df = _read(downloads[name])
    assert set(df["series"]) == {"chosen schools", "LA County, every school"}
    county = df.filter(pl.col("series") == "LA County, every school")
    assert county["year"].n_unique() == county.height > 1  # one county point per year, as plotted
    assert any(n.startswith("# Filters: ") and "SPA 4" in n and "by=community" in n for n in notes), notes
    assert any(n.startswith("# Source: ") for n in notes) and "# DEMO DATA" in " ".join(notes), notes
    # The glossary travels with the file: the terms it uses defined, none it does not use (issue 17, item 17).
    from csi_metrics.figures.downloads import _one_cell
    from csi_metrics.vocabulary.words import GLOSSARY
    terms = [n for n in notes if n.startswith("# Terms: ")]
    assert len(terms) == 1 and _one_cell(f"SPA — {GLOSSARY['SPA']}") in terms[0], notes
    assert "R-TAC" not in terms[0] and "LEA" not in terms[0], terms
    # no two downloads on a page share a file name (each is a different view)
    assert len(downloads) == len(set(downloads))


def test_headline_csv_reads_as_the_cards(downloads):
    at = _open("pages/overview.py")
    name = next(n for n in downloads if "headline" in n)
    assert name.startswith("csi-headline-") and name.endswith(".csv")
    _, df = _read(downloads[name])
    assert df.columns[:6] == ["label", "scope_label", "year", "value_text", "prior_year", "change_text"]
    ca = df.filter((pl.col("metric_id") == "chronic_absenteeism") & (pl.col("scope") == "selected")).row(0, named=True)
    assert ca["value_text"].endswith("%")
    cards = {m.label: m.value for m in at.metric}
    assert ca["value_text"] in cards.values(), (ca["value_text"], cards)
