"""How a new browser loads a page (csi_app.frontend, issue 18): the chart bundle is
on its way before the front end even asks the server for a session, instead of
after the first chart's element arrives, compressed, and the page draws its charts with it."""

from __future__ import annotations

import pytest

from e2e_helpers import assert_no_exception, open_page

pytestmark = pytest.mark.browser

TIMELINE_JS = """() => {
  const res = performance.getEntriesByType('resource');
  const first = (re) => { const r = res.filter(x => re.test(x.name)).sort((a, b) => a.startTime - b.startTime)[0];
                          return r ? {start: r.startTime, end: r.responseEnd, sent: r.transferSize,
                                      size: r.decodedBodySize} : null; };
  return {bundle: first(/\\/static\\/js\\/PlotlyChart\\.[^/]+\\.js$/), session: first(/_stcore\\/health$/),
          entry: first(/\\/static\\/js\\/index\\.[^/]+\\.js$/)};
}"""


@pytest.mark.parametrize("path", ["trends", "funding"])
def test_the_chart_bundle_is_requested_before_the_session_and_the_charts_draw(context, server, path):
    page = open_page(context, f"{server}/{path}", charts=2)
    assert_no_exception(page)
    t = page.evaluate(TIMELINE_JS)
    assert t["bundle"] and t["session"] and t["entry"], t
    # Before csi_app.frontend the bundle was asked for only once a chart's element had come over the websocket.
    assert t["bundle"]["start"] < t["session"]["start"], t
    # And compressed: 1.4 MB over the network for its 4.7 MB.
    assert 0 < t["bundle"]["sent"] < 0.4 * t["bundle"]["size"], t
    problems = context.watch.problems()
    assert not problems, "\n".join(problems)
