"""A page's picture before its front end loads (csi_app.firstpaint, issue 18): recorded
only from a signed-out session's first completed run, keyed the way both the page's
HTTP request and the run see the view, never sent once the database file has been
replaced, bounded, and sent by the one HTML middleware."""

from __future__ import annotations

import asyncio
import base64
import html as html_lib
import re

import plotly.graph_objects as go
import pytest

from csi_app import firstpaint, frontend

DB = ("/data/csi.duckdb", 11, 22)
PHONE_UA = b"Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    firstpaint.clear()
    monkeypatch.setattr(firstpaint, "_enabled", firstpaint.threading.Event())
    firstpaint.enable()
    # Rendering is Chromium's job (tests/e2e/test_first_paint.py); here a figure becomes a tagged image.
    monkeypatch.setattr(firstpaint, "render", lambda charts, phone=False: [
        (alt, _uri(fig.layout.title.text or ""), 440 if not phone else 366, 300) for alt, fig in charts])
    yield
    firstpaint.clear()


def _uri(title: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(title.encode()).decode()


def _fig(title: str = "Chronic absenteeism rate by SPA, 2024-25") -> go.Figure:
    return go.Figure(go.Bar(x=["SPA 1", "SPA 2"], y=[0.2, 0.3]), layout=dict(title=dict(text=title)))


def _first_run(state: dict, url="http://127.0.0.1:8501/equity?year=2024-25&spa=4", query=None, phone=False,
               signed_in=False, database=DB, charts=(_fig(),), cards=(), title="Equity") -> firstpaint.Recording | None:
    firstpaint.begin(state, url=url, query={"spa": "4", "year": "2024-25"} if query is None else query, phone=phone,
                     demo_line="DEMO DATA — fictional schools.", database=database, signed_in=signed_in)
    if title is not None:  # as csi_app.show.title does
        firstpaint.heading(state, title)
    for fig in charts:
        firstpaint.offer(state, fig)
    for title, lines in cards:
        firstpaint.card(state, title, lines)
    rec = firstpaint.finish(state)
    assert firstpaint.wait_idle(10)
    return rec


def test_the_request_and_the_run_name_the_same_view():
    # The run reads st.context.url's path and st.query_params; the middleware the raw path and query string.
    run = firstpaint.view_key("/equity", {"year": "2024-25", "spa": "4"}, False)
    assert firstpaint.view_key("/equity/", b"spa=4&year=2024-25", False) == run
    assert firstpaint.view_key("/equity", b"spa=4&year=2023-24", False) != run
    assert firstpaint.view_key("/equity", b"spa=4&year=2024-25", True) != run
    assert firstpaint.view_key("/trends", b"spa=4&year=2024-25", False) != run
    assert firstpaint.view_key("", b"", False) == firstpaint.view_key("/", {}, False)


def test_a_first_run_becomes_the_picture_of_its_view():
    state: dict = {}
    rec = _first_run(state)
    assert rec is not None and rec.key == firstpaint.view_key("/equity", b"year=2024-25&spa=4", False)
    pic = firstpaint.picture(rec.key, DB)
    assert pic is not None
    text = pic.html.decode()
    assert "<h1>Equity</h1>" in text and "DEMO DATA — fictional schools." in text
    assert 'alt="Chronic absenteeism rate by SPA, 2024-25"' in text
    assert text.count("<img ") == 1


def test_only_the_first_completed_run_of_a_session_records():
    state: dict = {}
    _first_run(state)
    firstpaint.clear()
    assert _first_run(state) is None  # the second run depends on what the session did
    assert firstpaint.picture(firstpaint.view_key("/equity", b"year=2024-25&spa=4", False), DB) is None


def test_an_interrupted_first_run_leaves_the_next_run_to_record():
    state: dict = {}
    firstpaint.begin(state, url="http://h/equity", query={}, phone=False, demo_line=None,
                     database=DB, signed_in=False)
    firstpaint.offer(state, _fig())
    # st.rerun() or st.stop(): the entry script never reaches finish(); the next run begins again.
    assert _first_run(state, url="http://h/equity", query={}) is not None


def test_a_signed_in_session_never_records():
    # Its first run may be drawn from internal records: never anyone's picture.
    state: dict = {}
    assert _first_run(state, signed_in=True) is None
    assert not firstpaint.recording(state)
    assert firstpaint.picture(firstpaint.view_key("/equity", b"year=2024-25&spa=4", False), DB) is None


def test_nothing_is_recorded_unless_the_server_sends_pictures(monkeypatch):
    monkeypatch.setattr(firstpaint, "_enabled", firstpaint.threading.Event())  # `streamlit run`, AppTest
    state: dict = {}
    assert _first_run(state) is None and not state


def test_a_replaced_database_file_is_never_pictured():
    state: dict = {}
    rec = _first_run(state)
    assert firstpaint.picture(rec.key, DB) is not None
    rebuilt = (DB[0], DB[1] + 1, DB[2] + 5)
    assert firstpaint.picture(rec.key, rebuilt) is None
    assert firstpaint.picture(rec.key, None) is None  # no database at the path now
    # The next new session on the rebuilt file records it again.
    again = _first_run({}, database=rebuilt, charts=(_fig("Rebuilt"),))
    assert again is not None and _uri("Rebuilt") in firstpaint.picture(rec.key, rebuilt).html.decode()


def test_only_the_first_charts_go_into_the_picture():
    charts = tuple(_fig(f"Chart {n}") for n in range(5))
    rec = _first_run({}, charts=charts)
    text = firstpaint.picture(rec.key, DB).html.decode()
    assert text.count("<img ") == firstpaint.MAX_CHARTS
    assert _uri("Chart 0") in text and _uri("Chart 1") in text and _uri("Chart 2") not in text


def test_a_page_that_writes_no_title_gets_none_in_its_picture():
    # A slide (the Presenter page) shows its chart with the chart's own title and no page
    # heading: its picture was headed "Presenter", a word the projector never shows.
    rec = _first_run({}, url="http://h/present?step=2", query={"step": "2"}, title=None)
    text = firstpaint.picture(rec.key, DB).html.decode()
    assert "<h1" not in text and text.count("<img ") == 1


def test_a_chart_that_fills_the_screen_is_pictured_at_a_slides_size(monkeypatch):
    # A slide has no height of its own (it stretches to the screen): drawn at a page chart's
    # 450 px, its projector type overran the picture (title cut, axis title over the ticks).
    sizes = []

    def render(charts, phone=False):
        sizes.extend((fig.layout.width, fig.layout.height) for _, fig in charts)
        return [(alt, _uri(alt), *firstpaint.image_size(fig, phone=phone)) for alt, fig in charts]

    monkeypatch.setattr(firstpaint, "render", render)
    state: dict = {}
    firstpaint.begin(state, url="http://h/present", query={}, phone=False, demo_line=None, database=DB,
                     signed_in=False)
    firstpaint.offer(state, _fig("Slide").update_layout(height=None, autosize=True), stretch=True)
    firstpaint.offer(state, _fig("Page chart"))
    rec = firstpaint.finish(state)
    assert firstpaint.wait_idle(10)
    assert sizes == [firstpaint.SLIDE_PX, (None, None)]
    text = firstpaint.picture(rec.key, DB).html.decode()
    assert text.count('class="fp-slide"') == 1 and f'width="{firstpaint.SLIDE_PX[0]}"' in text


def test_a_run_with_no_chart_or_card_has_no_picture():
    assert _first_run({}, charts=()) is None


def test_headline_cards_go_in_as_text():
    rec = _first_run({}, url="http://h/", query={}, charts=(),
                     cards=[("Community schools", ["520", "0 vs 2023-24", ""]),
                            ("Chronic absenteeism rate, LA County", ["18.1%", "-2.9 pp vs 2023-24",
                                                                     "Dashboard-style colour: Yellow"])])
    text = firstpaint.picture(rec.key, DB).html.decode()
    assert text.count('class="fp-card"') == 2
    assert '<div class="fp-value">18.1%</div><small>-2.9 pp vs 2023-24</small>' in text


def test_the_pictures_words_are_escaped():
    hostile = '<img src=x onerror=alert(1)>"'
    rec = _first_run({}, charts=(_fig(hostile),), cards=[(hostile, [hostile])])
    text = firstpaint.picture(rec.key, DB).html.decode()
    shell = text[text.index(f'<div id="{firstpaint.SHELL_ID}"'):text.index("<script>")]
    assert "onerror=alert(1)>" not in shell.replace(html_lib.escape(hostile), "")
    assert not re.search(r"<img(?![^>]*\balt=)", shell)


def test_pictures_are_bounded_and_the_oldest_goes(monkeypatch):
    monkeypatch.setattr(firstpaint, "MAX_PICTURES", 3)
    keys = [_first_run({}, url=f"http://h/equity?spa={n}", query={"spa": str(n)}).key for n in range(5)]
    assert [firstpaint.picture(k, DB) is not None for k in keys] == [False, False, True, True, True]


def test_a_view_already_pictured_or_queued_is_not_rendered_again(monkeypatch):
    calls = []
    render = firstpaint.render
    monkeypatch.setattr(firstpaint, "render", lambda charts, phone=False: calls.append(1) or render(charts, phone))
    for _ in range(4):  # four new sessions on the same link
        _first_run({})
    assert len(calls) == 1


def test_a_failed_render_leaves_the_page_as_before(monkeypatch):
    monkeypatch.setattr(firstpaint, "render", lambda charts, phone=False: 1 / 0)
    rec = _first_run({})
    assert firstpaint.picture(rec.key, DB) is None
    assert firstpaint.wait_idle(1)  # and nothing stays queued


# --------------------------------------------------------------------------- sent by the middleware

def _page_app(body: bytes):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
    return app


def _get(path: str, query: bytes = b"", headers=()) -> tuple[dict, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    page = b"<html><head></head><body><div id=\"root\"></div></body></html>"
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": list(headers)}
    asyncio.run(frontend.ChartBundleHint(_page_app(page))(scope, receive, send))
    return dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_the_page_carries_its_own_views_picture_only(monkeypatch):
    from csi_app import data

    monkeypatch.setattr(data, "database_identity", lambda: DB)
    _first_run({})
    _first_run({}, phone=True, charts=(_fig("Phone chart"),))
    headers, body = _get("/equity", b"year=2024-25&spa=4")
    assert body.count(firstpaint.SHELL_ID.encode()) >= 1 and _uri("Chronic absenteeism rate by SPA, 2024-25").encode() in body
    assert body.index(b'id="root"') < body.index(firstpaint.SHELL_ID.encode()) < body.index(b"</body>")
    assert b"User-Agent" in headers[b"vary"] and int(headers[b"content-length"]) == len(body)
    # The same link on a phone: the phone's picture.
    _, phone = _get("/equity", b"year=2024-25&spa=4", [(b"user-agent", PHONE_UA)])
    assert _uri("Phone chart").encode() in phone and _uri("Chronic absenteeism rate by SPA, 2024-25").encode() not in phone
    # Another view, or the same view after a rebuild: the page as before.
    for path, query in (("/equity", b"year=2023-24&spa=4"), ("/trends", b"year=2024-25&spa=4")):
        headers, body = _get(path, query)
        assert firstpaint.SHELL_ID.encode() not in body and b"vary" not in headers
    monkeypatch.setattr(data, "database_identity", lambda: (DB[0], DB[1], DB[2] + 1))
    assert firstpaint.SHELL_ID.encode() not in _get("/equity", b"year=2024-25&spa=4")[1]


def test_a_view_that_drew_no_chart_keeps_the_preload_but_not_the_early_import(monkeypatch):
    # Evaluating Plotly's bundle early only delayed a page with nothing to draw (About; Schools before a pick).
    from csi_app import data

    monkeypatch.setattr(data, "database_identity", lambda: DB)
    _first_run({}, url="http://h/about", query={}, charts=())
    _first_run({}, url="http://h/trends", query={})
    preload, full = frontend.chart_bundle_hint(evaluate=False), frontend.chart_bundle_hint()
    assert preload and full.startswith(preload) and len(full) > len(preload)
    _, about = _get("/about")
    assert preload in about and full not in about
    for path in ("/trends", "/schools"):  # a chart drawn, or a view never recorded: as before
        assert full in _get(path)[1], path
    monkeypatch.setattr(data, "database_identity", lambda: (DB[0], DB[1], DB[2] + 1))
    assert full in _get("/about")[1]  # rebuilt: not known any more
    # The same view drawing a chart later (a new build) is no longer taken for chartless.
    _first_run({}, url="http://h/about", query={}, database=(DB[0], DB[1], DB[2] + 1))
    assert full in _get("/about")[1]


@pytest.mark.parametrize("value, on", [("1", True), ("on", True), (" True ", True), ("0", False), ("off", False),
                                       ("no", False)])
def test_the_server_setting_turns_pictures_on_and_off(value, on):
    from csi_metrics.vocabulary import config

    assert config.first_paint(value) is on


def test_a_misspelt_server_setting_names_itself():
    from csi_metrics.vocabulary import config

    with pytest.raises(ValueError, match=r"CSI_FIRST_PAINT .*'of'"):
        config.first_paint("of")


@pytest.mark.parametrize("value, on", [("0", False), ("1", True)])
def test_the_server_records_only_when_its_setting_says_so(monkeypatch, value, on):
    from csi_app import serve

    monkeypatch.setattr(firstpaint, "_enabled", firstpaint.threading.Event())
    monkeypatch.setenv("CSI_FIRST_PAINT", value)
    serve.make_app()
    assert firstpaint.enabled() is on
