"""Serve the dashboard: `python -m csi_app.serve [--server.port 8501 ...]`.

The same Streamlit app as `streamlit run dashboard.py` (st.App, served by
uvicorn as Streamlit itself does), with one addition Streamlit's own runner
has no option for: a link too long for a link. uvicorn's HTTP parser refuses
a request line over 16 KB with a bare "400 Bad Request" before any app code
runs; a 266 kB deck link pasted from somewhere got exactly that. Here the
parser's limit is raised and a small middleware answers any link whose query
is longer than a deck link can be with a page that says so and how to share a
deck as a file instead.

It also answers the short address of the attendee page (`/attendees`, what the
Presenter page's QR code holds) with a redirect to where Streamlit serves it
(/app/static/attendees/index.html, static files: no session per attendee).

Options are Streamlit's own dotted config names (`--server.port 8765`,
`--server.headless true`, ...); with `.streamlit/config.toml` and the
STREAMLIT_* environment variables they are loaded as `streamlit run` loads
them (`load_options`).
"""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path

from csi_metrics.vocabulary import config

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "dashboard.py"
# A deck link holds at most csi_metrics.figures.deck.MAX_LINK_CHARS characters; the filters and a
# step add a few dozen. Anything longer than this is not a link the dashboard made.
MAX_QUERY_BYTES = 8 * 1024
# What uvicorn's parser accepts now: far past any link, so the page below can answer.
MAX_REQUEST_BYTES = 1024 * 1024

TOO_LONG_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Link too long · CSI Dashboard</title>
<style>body{{font-family:system-ui,Arial,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
line-height:1.5;color:#1a1a1a}}h1{{font-size:1.6rem}}code{{background:#f2f2f2;padding:0 .2em}}</style></head>
<body><h1>This link is too long</h1>
<p>It carries {size} of data; a link to this dashboard holds at most {limit} characters. It was probably made by
hand, or joined from several messages.</p>
<p>To share a deck of slides, save it as a file instead: open <a href="/present">the Presenter page</a>,
open <b>Deck: open, save, share, export</b>, choose <b>Save deck file</b>, and send that file. Whoever receives it
opens the same page and uses <b>Open a deck file</b>.</p>
<p><a href="/">Open the dashboard</a></p></body></html>"""


class LinkTooLong:
    """ASGI middleware: a request whose query string is over MAX_QUERY_BYTES gets the
    explanation page (414 URI Too Long) instead of the app."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("path", "").rstrip("/") == config.ATTENDEE_SHORT_PATH:
            from starlette.responses import RedirectResponse

            await RedirectResponse(config.ATTENDEE_URL_PATH, status_code=307)(scope, receive, send)
            return
        query = scope.get("query_string", b"") if scope.get("type") == "http" else b""
        if len(query) > MAX_QUERY_BYTES:
            from csi_metrics.views.deck import MAX_LINK_CHARS
            from starlette.responses import HTMLResponse

            size = f"{len(query) / 1024:,.0f} kB" if len(query) >= 1024 else f"{len(query)} bytes"
            body = TOO_LONG_PAGE.format(size=html.escape(size), limit=f"{MAX_LINK_CHARS:,}")
            await HTMLResponse(body, status_code=414)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _typed(option, name: str, value: str):
    """A flag's or variable's text as the option's type (what click does for `streamlit run`)."""
    kind = option.type
    try:
        if kind is bool:
            low = value.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return low in ("true", "1", "yes")
        if kind in (int, float):
            return kind(value)
    except ValueError:
        raise SystemExit(f"csi_app.serve: {name} takes a {kind.__name__}, not {value!r}") from None
    if kind is list:
        return [v for v in value.split(",") if v]
    return value


def load_options(argv: list[str], environ: dict[str, str] | None = None) -> tuple[str, int]:
    """Load Streamlit's config as `streamlit run` would: its config.toml files, then
    STREAMLIT_* environment variables, then `--section.option value` flags; returns
    (address, port). Under st.App nothing else reads the flags or the variables (the
    sensitive options aside), so this is where they reach Streamlit."""
    from streamlit import config

    environ = os.environ if environ is None else environ
    known = config.get_config_options(force_reparse=True)
    options: dict[str, object] = {}
    for name, option in known.items():
        if option.env_var in environ and not name.startswith("_"):
            options[name] = _typed(option, option.env_var, environ[option.env_var])
    it = iter(argv)
    for arg in it:
        if not arg.startswith("--") or "." not in arg:
            raise SystemExit(f"csi_app.serve: options are Streamlit's --section.option value pairs, not {arg!r}")
        name, eq, value = arg[2:].partition("=")
        if not eq:
            value = next(it, "")
        if name not in known:
            raise SystemExit(f"csi_app.serve: Streamlit has no option {name} (see `streamlit config show`)")
        options[name] = _typed(known[name], name, value)
    config.get_config_options(force_reparse=True, options_from_flags=options)
    address = config.get_option("server.address") or "0.0.0.0"
    return address, int(config.get_option("server.port"))


def make_app():
    import streamlit as st
    from starlette.middleware import Middleware

    from csi_app import firstpaint
    from csi_app.frontend import ChartBundleHint, CompressedAssets

    if config.first_paint():
        firstpaint.enable()  # this server's pages carry their pictures (ChartBundleHint sends them)

    # Outermost first: the link check, then the page's chart-bundle hint, then compressed assets.
    return st.App(str(SCRIPT), middleware=[Middleware(LinkTooLong), Middleware(ChartBundleHint),
                                           Middleware(CompressedAssets)])


def main(argv: list[str] | None = None) -> int:
    address, port = load_options(sys.argv[1:] if argv is None else argv)
    import uvicorn
    from streamlit.web.server.starlette.starlette_server import _get_uvicorn_config_kwargs

    # Streamlit's own websocket, TLS and logging settings, with the parser's request limit raised.
    kwargs = {**_get_uvicorn_config_kwargs(), "h11_max_incomplete_event_size": MAX_REQUEST_BYTES}
    uvicorn.run(make_app(), host=address, port=port, **kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
