"""The presenter page and presenter mode under streamlit.testing.v1.AppTest
against the demo database: decks from links, steps, the step buttons, slides
equal to the metric library's numbers, and ?present=1 on an ordinary page."""

from __future__ import annotations

from urllib.parse import urlencode

import json

import duckdb
import os
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from csi_metrics.figures import charts
from csi_metrics.views import deck
from csi_metrics.storage import db
from csi_metrics.vocabulary.filters import Filters
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO
TIMEOUT_S = 120


@pytest.fixture
def demo_file(request) -> Path:
    """The session's demo build, or $CSI_TEST_DEMO_DB when a developer points at one already built."""
    env = os.environ.get("CSI_TEST_DEMO_DB")
    return Path(env) if env else request.getfixturevalue("demo_db")


@pytest.fixture
def app(demo_file, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(demo_file))
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    return at


def _present(at: AppTest, **params: str) -> AppTest:
    at.query_params.clear()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/present.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _title(spec: dict) -> str:
    """The figure's title as it reads (charts.fit_text wraps it to the slide's column)."""
    t = spec["layout"].get("title", {})
    return " ".join((t.get("text", "") if isinstance(t, dict) else str(t)).replace("<br>", " ").split())


def test_default_deck_first_slide(app):
    at = _present(app)
    specs = _charts(at)
    assert len(specs) == 1
    first = deck.default_deck().views[0]
    assert first.chart == "chronic_absenteeism_trend"
    assert _title(specs[0]).startswith("Chronic absenteeism rate by year")
    n = len(deck.default_deck())
    assert any(f"Slide **1** of {n}" in m.value or f"Slide <b>1</b> of {n}" in m.value for m in at.markdown)
    assert at.query_params["step"] == "1"
    prev, nxt = at.button(key="deck_prev"), at.button(key="deck_next")
    assert prev.disabled and not nxt.disabled


def test_next_and_previous_change_the_step_in_the_url(app):
    at = _present(app)
    first = _title(_charts(at)[0])
    at.button(key="deck_next").click().run()
    assert at.query_params["step"] == "2"
    second = _title(_charts(at)[0])
    assert second != first and "change vs comparison schools" in second
    at.button(key="deck_prev").click().run()
    assert at.query_params["step"] == "1"
    assert _title(_charts(at)[0]) == first


def test_deck_link_and_step_open_that_slide_with_the_librarys_numbers(app, demo_file):
    d = deck.Deck("Board", (
        deck.make_view("trends", "suspension_trend", {"spa": "6"}),
        deck.make_view("funding", "funding_by_spa", {"community": "community"}, "Dollars by SPA"),
    ))
    at = _present(app, deck=deck.to_link_param(d), step="2")
    (spec,) = _charts(at)
    assert _title(spec) == "Dollars by SPA"
    assert any("of 2" in m.value for m in at.markdown)

    from csi_metrics.metrics import funding

    con = db.open_for_display(str(demo_file))
    try:
        lib = funding.awards(con, ["spa"], Filters(community="community"))
    finally:
        con.close()
    lib = lib.filter(pl.col("amount_usd").is_not_null())
    shown = {}
    for trace in spec["data"]:
        fig_trace = go.Bar(trace)
        for label, value in zip(fig_trace.y, fig_trace.x):
            shown[label] = value
    expected = {r["spa_label"]: r["amount_usd"] for r in lib.iter_rows(named=True)}
    assert shown == pytest.approx(expected)


def test_bad_link_and_step_fall_back_with_notices(app):
    at = _present(app, deck="%%%", step="40")
    texts = " ".join(w.value for w in at.warning)
    assert "could not be read" in texts and "not base64url" in texts
    assert "There is no slide 40" in texts
    assert at.query_params["step"] == str(len(deck.default_deck()))
    assert len(_charts(at)) == 1


def test_every_chart_in_the_catalogue_builds_a_slide(app, demo_file):
    from csi_metrics.views import catalogue

    con = duckdb.connect(str(demo_file), read_only=True)
    try:
        school = con.execute("SELECT min(cds_code) FROM schools WHERE is_community").fetchone()[0]
    finally:
        con.close()
    for name in [*deck.CHARTS, *catalogue.CHARTS]:
        chart = catalogue.CHARTS[deck.chart_of(name)[0]]
        options = {"school": school} if "school" in chart.options else {}
        d = deck.Deck("all", (deck.make_view(chart.page, name, options=options),))
        at = _present(app, deck=deck.to_link_param(d), step="1")
        assert not at.error, (name, [e.value for e in at.error])
        (spec,) = _charts(at)
        assert spec["data"], name


def test_uploaded_deck_file_replaces_the_deck_and_lands_in_the_link(app):
    at = _present(app)
    d = deck.Deck("Uploaded", (deck.make_view("activities", "activities_by_month", {}, "From a file"),))
    at.file_uploader(key="deck_upload").set_value(("board.json", deck.to_json(d).encode(), "application/json")).run()
    assert not at.exception
    assert at.query_params["deck"] == deck.to_link_param(d)
    assert _title(_charts(at)[0]) == "From a file"


def test_present_param_hides_chrome_on_an_ordinary_page(app):
    app.query_params["present"] = "1"
    app.switch_page("pages/trends.py").run()
    assert not app.exception
    css = " ".join(h.value for h in app.html)
    assert '[data-testid="stSidebar"]' in css and "display: none" in css
    assert app.button(key="present_exit")
    specs = _charts(app)
    assert specs
    # Presenter sizes from the charts theme, thick lines.
    for spec in specs:
        tmpl_font = spec["layout"]["template"]["layout"]["font"]["size"]
        assert tmpl_font == charts.PRESENT_BASE_FONT_PX
    lines = [t["line"]["width"] for s in specs for t in s["data"] if t.get("type") == "scatter" and "line" in t]
    assert lines and min(lines) >= charts.PRESENT_LINE_WIDTH_PX

    app.button(key="present_exit").click().run()
    assert "present" not in app.query_params
    assert not [h for h in app.html if '[data-testid="stSidebar"]' in h.value]


def test_sidebar_toggle_turns_presenter_mode_on(app):
    app.switch_page("pages/equity.py").run()
    assert "present" not in app.query_params
    app.sidebar.toggle(key="present_toggle").set_value(True).run()
    assert app.query_params["present"] == "1"
    assert any('[data-testid="stSidebar"]' in h.value for h in app.html)


def test_presenter_figure_enlarges_small_type_and_thickens_lines():
    from csi_metrics.figures import projector

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], line=dict(width=2)))
    fig.add_trace(go.Bar(x=[1], y=[2], textfont=dict(size=12)))
    fig.add_annotation(text="note", font=dict(size=14))
    fig.update_xaxes(tickfont=dict(size=13))
    before = fig.to_plotly_json()
    out = projector.presenter_figure(fig, height=700)
    assert fig.to_plotly_json() == before
    assert out.layout.annotations[0].font.size == 24
    assert out.data[1].textfont.size == 24
    assert out.layout.xaxis.tickfont.size == 24
    assert out.data[0].line.width == charts.PRESENT_LINE_WIDTH_PX
    assert out.layout.height == 700
    assert out.layout.template.layout.font.size == charts.PRESENT_BASE_FONT_PX


def test_presenter_figure_enlarges_a_map_colorbar():
    from csi_metrics.figures import projector

    fig = go.Figure(go.Choroplethmap(locations=["1"], z=[0.2], geojson={"type": "FeatureCollection", "features": []},
                                     colorbar=dict(title=dict(text="Chronic absenteeism", font=dict(size=16)),
                                                   tickfont=dict(size=14))))
    out = projector.presenter_figure(fig)
    assert out.data[0].colorbar.title.font.size == projector.MIN_TEXT_PX
    assert out.data[0].colorbar.tickfont.size == projector.MIN_TEXT_PX


def test_presenter_figure_pins_notes_under_the_plot_below_the_ticks():
    from csi_metrics.figures import projector

    fig = charts.did_bars(pl.DataFrame({"community_change_pp": [-9.7], "comparison_change_pp": [-4.8],
                                        "did_pp": [-4.9]}))
    note = [a for a in fig.layout.annotations if a.yref == "paper" and (a.y < 0 or (a.y == 0 and a.yshift < 0))]
    assert note, "did_bars puts its note under the plot"
    out = projector.presenter_figure(fig)
    pinned = [a for a in out.layout.annotations if charts.is_note(a)][0]
    assert _plain(pinned.text) == _plain(note[0].text), "the same words, wrapped again for presenter type"
    # Below the bars' two-line names at presenter size, and inside the bottom margin.
    assert (pinned.y, pinned.yanchor) == (0, "top") and -pinned.yshift >= 10 + 2 * projector.MIN_TEXT_PX
    lines = pinned.text.count("<br>") + 1
    assert out.layout.margin.b >= -pinned.yshift + lines * projector.MIN_TEXT_PX


def _plain(text):
    return " ".join(text.replace("<br>", " ").split())


def test_a_deck_is_built_on_the_pages_and_arranged_on_the_presenter_page(demo_file, monkeypatch):
    # Two views added from two pages, under the filters the page shows (a link's SPA 6).
    monkeypatch.setenv("CSI_DB", str(demo_file))
    app = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=TIMEOUT_S)
    app.query_params["spa"] = "6"
    app.run()
    app.switch_page("pages/trends.py").run()
    assert not app.exception, [e.value for e in app.exception]
    adds = [b for b in app.button if (b.key or "").startswith("deck_add_")]
    assert adds and all(b.label == "Add this view to the deck" for b in adds)
    app.button(key=adds[0].key).click().run()
    assert not app.exception
    first = deck.from_link_param(app.query_params["deck"])
    assert len(first) == 1 and first.views[0].page == "trends" and first.views[0].filter_dict.get("spa") == "6"
    app.query_params.clear()
    app.switch_page("pages/funding.py").run()
    add = next(b for b in app.button if (b.key or "").startswith("deck_add_awards_by"))
    add.click().run()
    assert not app.exception

    # The Presenter page opens the deck built so far, and its link carries it.
    app.query_params.clear()
    app.switch_page("pages/present.py").run()
    assert not app.exception, [e.value for e in app.exception]
    d = deck.from_link_param(app.query_params["deck"])
    assert [v.page for v in d.views] == ["trends", "funding"]
    assert any("Slide **1** of 2" in m.value for m in app.markdown)

    # Reorder: the funding slide first. The slide on screen is the one edited; a moved slide stays on screen.
    assert app.button(key="deck_up").disabled  # slide 1 is on screen: nothing earlier
    app.button(key="deck_next").click().run()
    # The editor shows slide 2's own filters, not slide 1's.
    assert app.text_input(key="deck_filters").value == urlencode(d.views[1].filters) != urlencode(d.views[0].filters)
    app.button(key="deck_up").click().run()
    assert app.query_params["step"] in ("1", ["1"])
    d = deck.from_link_param(app.query_params["deck"])
    assert [v.page for v in d.views] == ["funding", "trends"]
    assert _title(_charts(app)[0]) == charts_title_of(d.views[0])

    # Retitle: the slide and the link take the new title.
    app.text_input(key="deck_title").input("Where the money went").run()
    d = deck.from_link_param(app.query_params["deck"])
    assert d.views[0].title == "Where the money went"
    assert _title(_charts(app)[0]) == "Where the money went"

    # Re-filter slide 2 to SPA 3; a filter the dashboard does not know is refused, naming it.
    app.button(key="deck_next").click().run()
    app.text_input(key="deck_filters").input("spa=3").run()
    d = deck.from_link_param(app.query_params["deck"])
    assert d.views[1].filter_dict == {"spa": "3"}
    app.text_input(key="deck_filters").input("colour=red").run()
    assert any("colour" in e.value for e in app.error)
    assert deck.from_link_param(app.query_params["deck"]).views[1].filter_dict == {"spa": "3"}

    # Remove the first: one slide left, the one re-filtered.
    app.button(key="deck_prev").click().run()
    app.button(key="deck_remove").click().run()
    d = deck.from_link_param(app.query_params["deck"])
    assert len(d) == 1 and d.views[0].page == "trends" and d.views[0].filter_dict == {"spa": "3"}
    assert app.button(key="deck_remove").disabled

    # The link alone (a new session) restores that deck.
    fresh = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=TIMEOUT_S)
    fresh.run()
    fresh.query_params["deck"] = app.query_params["deck"]
    fresh.switch_page("pages/present.py").run()
    assert not fresh.exception
    assert deck.from_link_param(fresh.query_params["deck"]) == d


def charts_title_of(view: deck.View) -> str:
    from csi_app import presenter  # noqa: PLC0415  (needs the demo database the app fixture set)
    return presenter.build_slide(view).title


def test_the_headline_cards_and_a_school_profile_become_slides(app, demo_file):
    # The Overview's cards, added from the Overview.
    app.switch_page("pages/overview.py").run()
    app.button(key="deck_add_headline_cards").click().run()
    assert not app.exception, [e.value for e in app.exception]
    # A school's trend, added from its profile.
    con = duckdb.connect(str(demo_file), read_only=True)
    cds = con.execute("SELECT cds_code FROM schools WHERE is_community ORDER BY cds_code LIMIT 1").fetchall()[0][0]
    con.close()
    app.query_params.clear()
    app.switch_page("pages/schools.py").run()
    app.selectbox(key="school_pick").set_value(cds).run()
    assert not app.exception, [e.value for e in app.exception]
    add = next((b for b in app.button if (b.key or "").startswith("deck_add_school_")), None)
    assert add is not None, [b.key for b in app.button]
    add.click().run()
    d = deck.from_link_param(app.query_params["deck"])
    assert [v.chart for v in d.views] == ["headline_cards", d.views[1].chart]
    assert d.views[1].page == "schools" and dict(d.views[1].options)["school"] == cds

    app.query_params.clear()
    app.switch_page("pages/present.py").run()
    spec = _charts(app)[0]
    texts = {a["text"]: a["font"]["size"] for a in spec["layout"]["annotations"]}
    head = app.session_state["_deck"]
    assert len(head) == 2
    # Every value at projector size, every other line at least 24 px; the values are the Overview's.
    values = [t for t, px in texts.items() if px >= 56]
    assert "520" in values or any(v.replace(",", "").isdigit() for v in values), texts
    assert min(texts.values()) >= 24
    app.button(key="deck_next").click().run()
    assert not app.exception
    assert _charts(app), "the school slide draws"


def test_publish_for_attendees_writes_the_page_and_shows_its_qr_code(app, tmp_path, monkeypatch):
    """The Presenter page's "Publish for attendees": the deck on screen is published where the
    server serves it (here a temporary folder), then a QR code and the short address show on
    the slide. The images are faked: the real renderer is tested in tests/views/test_publish.py."""
    from csi_metrics.figures import export
    from csi_metrics.vocabulary import config

    out = tmp_path / "attendees"
    monkeypatch.setattr(config, "ATTENDEE_DIR", out)
    monkeypatch.setattr(export, "render_figures", lambda figs, fmt: [b"<svg>DEMO DATA</svg>"] * len(figs))
    one = deck.Deck("Two slides", (deck.make_view("funding", "funding_by_spa"),
                                   deck.make_view("trends", "suspension_trend")))
    at = _present(app, deck=deck.to_link_param(one))
    images = lambda: [e for e in at.main if type(e).__name__ == "Image"]  # noqa: E731
    assert not images() and not (out / "index.html").exists()
    at.button(key="deck_publish").click().run()
    assert not at.exception, [e.value for e in at.exception]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('<section id="slide-') == 2 and "CCSPP awards by SPA" in page
    assert len(images()) == 1  # the QR code
    shown = " ".join(m.value for m in at.markdown)
    assert config.ATTENDEE_SHORT_PATH in shown
    at.button(key="attendee_hide").click().run()
    assert not images()
