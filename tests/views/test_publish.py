"""The attendee page (csi_metrics.views.publish): every slide of the standard deck (and two
with suppressed groups) published with its image, words and table; the tables exactly the
suppressed frames the metric functions return; no number for a group under 11 students in
any file, checked against the hidden cells' true counts in the database file; internal
records never published; a failed publish never replaces a good one."""

from __future__ import annotations

import csv
import html
import importlib.util
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from csi_metrics.storage import db
from csi_metrics.views import catalogue, deck, publish
from csi_metrics.vocabulary import codes, formats


class Tables(HTMLParser):
    """Each slide section's tables as lists of rows of cell text, its img/source files and its text."""

    def __init__(self):
        super().__init__()
        self.slides: dict[int, dict] = {}
        self._slide = None
        self._cell = None
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._slide = int(a["id"].removeprefix("slide-"))
            self.slides[self._slide] = {"rows": [], "images": [], "text": [], "links": []}
        if self._slide is None:
            return
        s = self.slides[self._slide]
        if tag == "tr":
            self._row = []
            s["rows"].append(self._row)
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            s["images"].append(a["src"])
        elif tag == "source":
            s["images"].append(a["srcset"])
        elif tag == "a":
            s["links"].append(a.get("href"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        if tag == "section":
            self._slide = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._slide is not None:
            self.slides[self._slide]["text"].append(data)


@pytest.fixture(scope="module")
def public_con(demo_db):
    con = db.open_for_display(demo_db, internal=False)
    yield con
    con.close()


def _small_groups_view(con) -> deck.View:
    """The Equity chart for the first district whose community schools have student groups
    suppressed (the demo plants small groups): a slide with something to hide."""
    from csi_metrics.metrics import query
    from csi_metrics.vocabulary.filters import Filters

    for code in query.filter_options(con).district_names:
        t = catalogue.render_on(con, "equity", Filters(district=code, community="community")).table
        if t.filter(t["suppressed"]).height:
            return deck.make_view("equity", "chronic_absenteeism_equity", {"district": code, "community": "community"})
    raise AssertionError("the demo has no district with a suppressed student group")


def _small_school_view(raw) -> tuple[deck.View, str]:
    """One community school by student group, for a school with a group the build hid for
    recovering a starred one by subtraction (its counts are in the file, never on a page), and the year."""
    cds, year = raw.execute(
        """SELECT o.cds_code, o.academic_year FROM outcomes o JOIN schools s USING (cds_code)
           WHERE s.is_community AND o.metric = 'chronic_absenteeism' AND o.aggregate_level = 'S'
             AND o.hidden_reason = 'complementary' AND o.denominator_n > 0
             AND o.academic_year = (SELECT max(academic_year) FROM outcomes)
           ORDER BY 1 LIMIT 1""").fetchone()
    return deck.make_view("schools", "school_groups", options={"school": cds, "metric": "chronic_absenteeism"}), year


@pytest.fixture(scope="module")
def the_deck(public_con, demo_con) -> deck.Deck:
    """The standard deck, then two slides with suppressed groups: a district's community schools
    (groups CDE starred) and one school (a group the build hid so no starred one can be subtracted out)."""
    d = deck.default_deck()
    return deck.Deck(d.title, (*d.views, _small_groups_view(public_con), _small_school_view(demo_con)[0]))


@pytest.fixture(scope="module")
def published(demo_db, the_deck, tmp_path_factory):
    """The deck published from the demo, its images rendered for real (one browser)."""
    out = tmp_path_factory.mktemp("attendees") / "site"
    return publish.publish_from_db(demo_db, the_deck, out)


@pytest.fixture(scope="module")
def page(published):
    p = Tables()
    p.feed((published.out / "index.html").read_text(encoding="utf-8"))
    return p


def _frames(public_con, the_deck):
    """Each slide's table as the metric functions return it (suppressed), or None
    for a slide drawn from internal records."""
    out = {}
    draw = publish.public_drawer(public_con)
    for n, v in enumerate(the_deck.views, start=1):
        try:
            out[n] = catalogue.readable(draw(v).table)
        except publish.Withheld:
            out[n] = None
    return out


def test_every_slide_is_published_with_its_image_words_and_table(published, page, public_con, the_deck):
    d = the_deck
    assert sorted(page.slides) == list(range(1, len(d) + 1))
    frames = _frames(public_con, the_deck)
    for n, frame in frames.items():
        s = page.slides[n]
        if frame is None:
            assert s["images"] == [] and publish.INTERNAL_WITHHELD in " ".join(s["text"])
            continue
        assert s["images"] == [f"assets/slide-{n:02d}-phone.svg", f"assets/slide-{n:02d}.svg"]
        for rel in s["images"]:
            svg = (published.out / rel).read_text(encoding="utf-8")
            assert svg.lstrip().startswith("<svg") and "DEMO DATA" in svg  # the mark is in every image
        text = " ".join(s["text"])
        assert "Source:" in text and "DEMO DATA" in text
        assert f"assets/slide-{n:02d}.csv" in s["links"]
    manifest = json.loads((published.out / "assets" / "manifest.json").read_text())
    assert [m["number"] for m in manifest["slides"]] == list(range(1, len(d) + 1))
    assert set(manifest["phone_fetches"]) <= set(published.files)
    assert published.withheld_n == 1  # the R-TAC activities: internal records


def test_each_table_is_exactly_the_suppressed_frame_through_the_one_formatter(page, published, public_con,
                                                                                   the_deck):
    for n, frame in _frames(public_con, the_deck).items():
        if frame is None:
            continue
        header, *rows = page.slides[n]["rows"]
        assert header == frame.columns
        expected = [[formats.cell_text(c, v) for c, v in zip(frame.columns, r)] for r in frame.rows()]
        assert [[html.unescape(c) for c in r] for r in rows] == expected
        # The CSV: the same frame, unformatted, blanks where the frame has none.
        text = (published.out / "assets" / f"slide-{n:02d}.csv").read_text(encoding="utf-8")
        body = [line for line in text.splitlines() if not line.startswith("#")]
        got = list(csv.reader(io.StringIO("\n".join(body))))
        assert got[0] == frame.columns and len(got) - 1 == frame.height


def test_no_figure_of_a_group_under_11_students_in_any_file(page, published, public_con, the_deck):
    frames = _frames(public_con, the_deck)
    checked = 0
    for n, frame in frames.items():
        if frame is None or "suppressed" not in frame.columns:
            continue
        header, *rows = page.slides[n]["rows"]
        col = {c: i for i, c in enumerate(header)}
        value_cols = [c for c in header if formats.column_unit(c) in ("rate", "pp", "count")
                      and c not in ("schools_n", "suppressed_schools_n", "treated_schools_n", "control_schools_n",
                                    "unmatched_schools_n")]
        for r in rows:
            if r[col["suppressed"]] == "true":
                checked += 1
                assert all(r[col[c]] == formats.BLANK for c in value_cols), (n, r)
            if "denominator_n" in col and r[col["denominator_n"]] != formats.BLANK:
                assert int(r[col["denominator_n"]].replace(",", "")) >= codes.MIN_N, (n, r)
        # The suppressed rows of the frame itself hold no value to leak, in the CSV or anywhere.
        hidden = frame.filter(frame["suppressed"])
        for c in value_cols:
            if c in hidden.columns:
                assert hidden[c].null_count() == hidden.height, (n, c)
    assert checked, "the last slide shows suppressed groups: the check must have met them"
    # Every published CSV read back passes the privacy audit the live pages' tables and
    # downloads pass (tests/app/test_privacy_audit.py: counts under 11, rates beside small
    # denominators, suppressed rows, a lone hidden group recoverable from All students).
    audit = _privacy_audit()
    for rel in published.files:
        if rel.endswith(".csv"):
            df = pl.read_csv(published.out / rel, comment_prefix="#", infer_schema_length=None)
            assert audit.audit_frame(df, rel) == []


def _privacy_audit():
    spec = importlib.util.spec_from_file_location(
        "privacy_audit", Path(__file__).resolve().parents[1] / "app" / "test_privacy_audit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_internal_records_and_no_script_in_any_file(published):
    for rel in published.files:
        text = (published.out / rel).read_text(encoding="utf-8")
        assert "<script" not in text.lower(), rel
        assert "activities_n" not in text, rel   # the R-TAC slide's data never reach the page
    assert not any("slide-09" in rel for rel in published.files)  # the activities slide: no files


def test_a_phone_fetches_under_a_megabyte(published):
    assert published.phone_bytes < 1_000_000
    assert published.phone_bytes < published.projector_bytes


def test_a_failed_publish_leaves_the_good_one(published, tmp_path, public_con):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the good one")

    def broken(figs):
        raise RuntimeError("the browser died")

    with pytest.raises(RuntimeError):
        publish.publish(deck.default_deck(), out, draw=publish.public_drawer(public_con), demo=True,
                        render=broken)
    assert (out / "index.html").read_text() == "the good one"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary directory left behind


def test_a_publish_replaces_the_old_one_whole(tmp_path, public_con):
    out = tmp_path / "site"
    (out / "assets").mkdir(parents=True)
    (out / "assets" / "stale.svg").write_text("<svg/>")
    one = deck.Deck("One slide", (deck.make_view("funding", "funding_by_spa"),))
    done = publish.publish(one, out, draw=publish.public_drawer(public_con), demo=True,
                           render=lambda figs: [b"<svg>DEMO DATA</svg>"] * len(figs))
    assert not (out / "assets" / "stale.svg").exists()
    assert sorted(done.files) == ["assets/manifest.json", "assets/slide-01-phone.svg", "assets/slide-01.csv",
                                  "assets/slide-01.svg", "index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_hostile_titles_are_text(tmp_path, public_con):
    hostile = '<img src=x onerror=alert(1)> & "quotes"'
    one = deck.Deck(hostile, (deck.make_view("funding", "funding_by_spa", title=hostile),))
    publish.publish(one, tmp_path / "site", draw=publish.public_drawer(public_con), demo=False,
                    render=lambda figs: [b"<svg/>"] * len(figs))
    text = (tmp_path / "site" / "index.html").read_text()
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "DEMO DATA" not in text  # real data: no demo mark


def test_qr_code_holds_the_address():
    svg = publish.qr_svg("http://10.0.0.5:8501/attendees")
    assert svg.startswith("<svg") and re.search(r'd="M', svg)
    png = publish.qr_png("http://10.0.0.5:8501/attendees")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # Read back as a phone's camera app would (zxing-cpp): the code holds the address, whole.
    import io

    import zxingcpp
    from PIL import Image

    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [(c.format, c.text) for c in codes] == [(zxingcpp.BarcodeFormat.QRCode, "http://10.0.0.5:8501/attendees")]


def test_the_true_values_of_suppressed_groups_appear_in_no_file(published, demo_con, public_con, the_deck):
    """Ground truth from the database file itself (read raw, hidden cells and all): for each
    suppressed student group on the small-groups slide, its rate pooled over the slide's schools
    (over every cell, and over the visible ones) is in none of that slide's files: page section,
    CSV, either image. A value that equals one the slide shows for another row is not evidence."""
    n = len(the_deck)
    view = the_deck.views[-1]
    cds, year = view.catalogue_chart()[1]["school"], _small_school_view(demo_con)[1]
    drawn = publish.public_drawer(public_con)(view)
    shown = {formats.cell_text(c, v) for c in drawn.table.columns for v in drawn.table[c].to_list()}
    truth = demo_con.execute(
        """SELECT reporting_category, numerator_n, denominator_n, NULL, NULL FROM outcomes
           WHERE cds_code = ? AND metric = 'chronic_absenteeism' AND academic_year = ? AND aggregate_level = 'S'
             AND NOT visible AND denominator_n > 0""", [cds, year]).fetchall()
    assert truth, "the raw file should hold the hidden groups' counts"
    files = [f"assets/slide-{n:02d}.csv", f"assets/slide-{n:02d}.svg", f"assets/slide-{n:02d}-phone.svg"]
    texts = [(published.out / rel).read_text(encoding="utf-8") for rel in files]
    section = (published.out / "index.html").read_text(encoding="utf-8").split(f'id="slide-{n}"', 1)[1]
    texts.append(section)
    checked = 0
    for group, num, den, vnum, vden in truth:
        for a, b in ((num, den), (vnum, vden)):
            if not b:
                continue
            rate = formats.format_value(a / b, "rate")
            if rate in shown:
                continue
            checked += 1
            assert not any(rate in t for t in texts), (group, rate)
            assert not any(f">{a}<" in t or f">{b}<" in t for t in texts[-1:]), (group, a, b)  # the table
    assert checked


@pytest.mark.parametrize("bad", ["../attendees", "a/b", ".hidden", "", "x" * 65, "attendees\n"])
def test_attendee_folder_is_one_plain_name(bad):
    from csi_metrics.vocabulary import config

    with pytest.raises(ValueError, match="CSI_ATTENDEE_FOLDER"):
        config.attendee_folder(bad)
    assert config.attendee_folder("_test-attendees-7") == "_test-attendees-7"
