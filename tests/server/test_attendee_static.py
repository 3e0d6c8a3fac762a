"""200 phones fetching a static attendee page and its assets from the dashboard's own
server (server.enableStaticServing, /app/static/...) all get it: no error, no timeout,
every asset. The page is a small synthetic one (tools/bench/attendee_load.py); the
benchmark measures the published standard deck at 100-1,000 (docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from tools.bench import attendee_load as al

pytestmark = pytest.mark.server

N = 200


def test_two_hundred_attendee_clients_on_streamlit_static_serving(demo_db, tmp_path):
    site = al.synthetic_site(tmp_path / "site", images=4, image_kb=8)
    static_before = (al.REPO / "static").exists()
    with al.streamlit_static(site, demo_db, log=tmp_path / "server.log") as (url, pid):
        assert "/app/static/" in url
        r = al.run(url, N, pid, kind="static", ramp_s=4.0, deadline_s=120)
    why = f"{r['errors_n']} errors {r['errors']}, deadline hit {r['deadline_hit']}"
    assert r["errors_n"] == 0 and r["ok_clients"] == N and not r["deadline_hit"], why
    # The page, its stylesheet, four SVG figures, the stylesheet's background image: each once per client.
    assert r["requests_per_client"] == 7, r
    assert r["external_assets"] == 0 and r["server_cpu_s"] > 0
    # The copy served for the run is gone, and static/ is as it was.
    assert not list((al.REPO / "static").glob(f"{al.BENCH_STATIC}-*")) if static_before else \
        not (al.REPO / "static").exists()
