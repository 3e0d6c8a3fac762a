"""The attendee-page load client's plumbing (tools/bench/attendee_load.py): which
assets a phone 390 px wide at 3x fetches from a page, that N clients fetch
exactly those over HTTP and count every byte, that a missing asset is an error,
the nginx anchor, and the benchmark's side-by-side table. Small N, no timings asserted."""

from __future__ import annotations

import argparse
import os

import pytest

from tools.bench import attendee_load as al
from tools.bench import benchmark as bench

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="assets/site.css"><link rel="icon" href="favicon.svg">
<link rel="stylesheet" href="assets/print.css" media="(min-width: 1000px)">
<script src="assets/app.js"></script><style>h1{background:url("assets/h1.png")}</style></head><body>
<picture><source type="image/svg+xml" srcset="assets/a.svg"><img src="assets/a-800.png" alt="a"></picture>
<picture><source media="(min-width: 800px)" srcset="assets/wide.png"><img src="assets/narrow.png" alt="b"></picture>
<img src="assets/c-800.png" srcset="assets/c-400.png 400w, assets/c-800.png 800w, assets/c-1200.png 1200w"
     sizes="(max-width: 600px) 100vw, 600px" loading="lazy" alt="c">
<img src="assets/c-800.png" alt="the same image again">
<img src="data:image/png;base64,AAAA" alt="inline"><div style="background-image:url(assets/d.png)"></div>
<a href="assets/table.csv">CSV</a><img src="https://cdn.example.org/e.png" alt="external">
</body></html>"""


def test_assets_a_phone_picks():
    assert al.asset_urls(PAGE) == [
        "assets/site.css", "favicon.svg", "assets/app.js", "assets/h1.png", "assets/a.svg", "assets/narrow.png",
        # 100vw at 390 px x 3 = 1,170 device pixels: the 1,200w candidate; the 800 one is already listed once
        "assets/c-1200.png", "assets/c-800.png", "assets/d.png", "https://cdn.example.org/e.png"]
    # A desktop at 1x takes the wide source and the 600 px slot's 800w candidate instead.
    desk = al.asset_urls(PAGE, width_px=1280, dpr=1)
    assert "assets/wide.png" in desk and "assets/print.css" in desk and "assets/c-800.png" in desk
    assert "assets/narrow.png" not in desk and "assets/c-1200.png" not in desk


def test_pick_srcset():
    ws = "s.png 400w, m.png 800w, l.png 1200w"
    assert al.pick_srcset(ws) == "l.png"                                        # 390 x 3 = 1170
    assert al.pick_srcset(ws, "(max-width: 600px) 50vw, 600px") == "m.png"      # 195 x 3 = 585
    assert al.pick_srcset(ws, "", dpr=1) == "s.png"                             # 390: 400w is enough
    assert al.pick_srcset("s.png 100w, m.png 200w") == "m.png"                  # none wide enough: the widest
    assert al.pick_srcset("a.png 1x, b.png 2x, c.png 3x") == "c.png"
    assert al.pick_srcset("a.png 1x, b.png 2x", dpr=1.5) == "b.png"
    assert al.pick_srcset("a.png, b.png 2x", dpr=1) == "a.png"
    assert al.media_matches("(max-width: 600px)") and not al.media_matches("(min-width: 391px)")
    assert al.slot_px("(min-width: 800px) 50vw, 80vw") == pytest.approx(312)


def _picked_bytes(site, width_px=al.PHONE_WIDTH_PX, dpr=al.PHONE_DPR):
    html = (site / "index.html").read_text(encoding="utf-8")
    urls = al.asset_urls(html, width_px, dpr)
    urls += al.css_urls((site / "assets" / "site.css").read_text(encoding="utf-8"))   # bg.png, relative to assets/
    paths = [site / u for u in urls if (site / u).exists()] + [site / "assets" / "bg.png"]
    return len(urls), sum(p.stat().st_size for p in set(paths)) + len(html.encode())


def test_clients_fetch_every_asset_and_count_the_bytes(tmp_path, serve_dir):
    site = al.synthetic_site(tmp_path / "site", images=3, image_kb=4)
    base = serve_dir(site)
    r = al.run(base + "/index.html", 6, kind="static", ramp_s=0.2, active=4)
    assert r["ok"] and r["errors_n"] == 0 and r["ok_clients"] == 6, r["errors"]
    _, body_bytes = _picked_bytes(site)
    # The page, its stylesheet, three SVG figures (the <picture> source), and the stylesheet's image.
    assert r["requests_per_client"] == 6
    # http.server sends no gzip: the bodies exactly, plus each response's status line and headers.
    assert body_bytes < r["bytes_per_client"] < body_bytes + 6 * 400
    assert r["p95_s"] is not None and r["external_assets"] == 0
    # HTTP/1.0 closes after each response: a new connection per request, reopened without an error.
    assert r["connections_per_client"] >= 5


def test_a_missing_asset_is_an_error(tmp_path, serve_dir):
    site = al.synthetic_site(tmp_path / "site", images=2, image_kb=1)
    (site / "assets" / "fig1.svg").unlink()
    r = al.run(serve_dir(site) + "/index.html", 3, kind="static", ramp_s=0.1)
    assert not r["ok"] and r["ok_clients"] == 0 and r["errors_n"] == 3
    assert r["errors"] == ["404 on /assets/fig1.svg (x3)"]
    down = al.run("http://127.0.0.1:9/index.html", 2, kind="static", ramp_s=0.0)
    assert down["ok_clients"] == 0 and down["errors_n"] == 2


def test_only_loopback():
    with pytest.raises(ValueError, match="this machine only"):
        al.run("http://example.org/index.html", 1)


@pytest.mark.skipif(not os.path.exists(al.NGINX), reason="nginx not installed (apt-get install -y nginx-light)")
def test_nginx_anchor_serves_the_site_gzipped(tmp_path):
    site = al.synthetic_site(tmp_path / "site", images=3, image_kb=8)
    with al.nginx_server(site) as (url, pid):
        r = al.run(url + "/index.html", 30, pid, kind="static", ramp_s=0.3)
        cpu = al.group_cpu_seconds(pid)
    assert r["ok"] and r["errors_n"] == 0, r["errors"]
    _, body_bytes = _picked_bytes(site)
    svgs = sum((site / "assets" / f"fig{i}.svg").stat().st_size for i in range(3))
    # SVG is gzipped (hex noise halves), the PNG is not: less than the raw bytes, more than the raw minus the SVGs.
    assert body_bytes - svgs < r["bytes_per_client"] < body_bytes
    assert r["requests_per_client"] == 6 and r["connections_per_client"] <= al.CONNS_PER_CLIENT
    assert r["rss_peak_mb"] > 1 and cpu >= 0 and r["server_cpu_s"] is not None


def test_side_by_side_report():
    def run(target, n, **kw):
        base = {"target": target, "n": n, "kind": "static", "phone": "390 px @3x", "conns_per_client": 6,
                "ramp_s": 2.0 * n / 100, "active": 256, "ok_clients": n, "errors_n": 0, "errors": [],
                "deadline_hit": False, "p50_s": 0.1, "p95_s": 0.4, "max_s": 0.5, "first_byte_p95_s": 0.05,
                "bytes_per_client": 512_000, "requests_per_client": 13, "server_cpu_s": 2.0,
                "server_cpu_ms_per_client": 20.0, "rss_peak_mb": 30, "client_cpu_s": 1.0, "wall_s": 3.0,
                "loadavg_after": "1.0 1.0 1.0"}
        return {**base, **kw}

    at = {"site": {"source": "synthetic", "files_n": 3, "bytes": 1_000_000, "load_start": "1.0", "load_end": "2.0"},
          "runs": [run("streamlit", 100), run("nginx", 100), run("nginx", 1000, p95_s=0.9),
                   run("live", 100, ok_clients=90, errors_n=10, errors=["timeout on the websocket (x10)"],
                       deadline_hit=True)]}
    text = "\n".join(bench.attendee_report(at, "county"))
    assert "| N | attendee page, Streamlit static | attendee page, nginx (anchor) | live sessions (landing page) |" in text
    row_1000 = next(ln for ln in text.splitlines() if ln.startswith("| 1,000 |"))
    assert row_1000.count("not run") == 2 and "p95 0.90 s" in row_1000 and "512 kB/client" in row_1000
    assert "90/100 ok, 10 errors (deadline)" in text and "timeout on the websocket (x10)" in text
    blocks = bench.report_blocks({"machine": {k: "-" for k in ("cpus", "cpu", "memory", "python", "os", "packages",
                                                                 "chromium")},
                                  "runs": 1, "scales": {"county": {"attendee": at}}})
    assert "attendee" in blocks and "Streamlit static" in blocks["attendee"]
    # The attendee section run alone leaves the county tables in docs/benchmarks.md alone.
    assert "county" not in blocks


def test_bench_options():
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    a = p.parse_args([])
    assert a.attendee_n == [100, 500, 1000] and a.attendee_live_n == [100, 200] and not a.skip_attendee
    assert a.attendee_targets == ["streamlit", "nginx", "live"]
    a = p.parse_args(["--skip-attendee", "--attendee-n", "10", "--attendee-targets", "nginx"])
    assert a.skip_attendee and a.attendee_n == [10] and a.attendee_targets == ["nginx"]


def test_replicas_share_the_clients(tmp_path, serve_dir):
    site = al.synthetic_site(tmp_path / "site", images=1, image_kb=1)
    one, two = serve_dir(site), serve_dir(site)
    r = al.run([one + "/index.html", two + "/index.html"], 4, kind="static", ramp_s=0.1)
    assert r["ok"] and r["replicas"] == 2 and r["ok_clients"] == 4, r["errors"]
    assert r["url"] == one + "/index.html"


def test_css_urls_leave_declared_fonts_alone():
    css = """@font-face{font-family:KaTeX_Main;src:url(../media/KaTeX_Main.woff2) format("woff2")}
    @import "more.css"; header{background:url('bg.png')} .x{background:url(data:image/png;base64,AA)}"""
    assert al.css_urls(css) == ["bg.png", "more.css"]
