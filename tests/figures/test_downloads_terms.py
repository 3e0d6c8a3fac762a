"""A downloaded CSV defines the glossary terms it uses (issue 17, item 17): a `# Terms:`
line above its header, naming only the terms in its notes, columns and words."""

from __future__ import annotations

import io

import polars as pl

from csi_metrics.figures import downloads
from csi_metrics.vocabulary import words


def _notes(data: bytes) -> list[str]:
    return [line for line in data.decode().splitlines() if line.startswith("# ")]


def test_terms_are_found_as_words_in_any_case_for_phrases_exactly_for_abbreviations():
    assert words.terms_in("change_pp", "all SPAs", "LEA-wide grants", "Community schools") == \
        ["Community school", "LEA-wide", "pp", "SPA"]
    assert words.terms_in("an app", "spa day", "LEAD", "suppression", "TK-80") == []
    assert words.terms_in("R-TAC", "suppressed", None) == ["R-TAC", "Suppressed"]


def test_a_csv_defines_the_terms_it_uses_and_no_others():
    df = pl.DataFrame({"spa_name": ["SPA 4 Metro"], "did_pp": [-1.5], "suppressed": [False],
                       "school_name": ["Maple Community School"]})
    data = downloads.csv_bytes(df, notes=["DEMO DATA: fictional schools", "Filters: 2024-25"])
    terms = [n for n in _notes(data) if n.startswith("# Terms: ")]
    assert len(terms) == 1, _notes(data)
    for term in ("SPA", "pp", "Suppressed"):
        assert downloads._one_cell(f"{term} — {words.GLOSSARY[term]}") in terms[0], term
    # A school's own name is not the dashboard's word; R-TAC and CCSPP are nowhere in the file.
    for term in ("Community school", "R-TAC", "CCSPP"):
        assert f"{term} —" not in terms[0], term
    assert _notes(data)[-1] == terms[0]  # after the filters and source, before the header
    back = pl.read_csv(io.BytesIO(data), comment_prefix="#")
    assert back.columns == df.columns and back.height == 1


def test_a_csv_with_no_terms_has_no_terms_line():
    data = downloads.csv_bytes(pl.DataFrame({"year": ["2024-25"], "n": [3]}), notes=["Filters: 2024-25"])
    assert not [n for n in _notes(data) if n.startswith("# Terms")]
    assert "Terms" not in downloads.csv_bytes(pl.DataFrame({"spa_name": ["SPA 1"]}), terms=False).decode()
