"""Load test: N concurrent sessions against a local CSI Dashboard server, each
opening every page and changing every control on it.

Each session is a lightweight websocket client speaking Streamlit's own
protocol (BackMsg / ForwardMsg protobufs over /_stcore/stream), which is what
the browser's frontend does minus the drawing. For each page it visits it sends
a rerun_script for the page, waits for script_finished, reads the widgets the
server sent, and then changes every control it found, one at a time, waiting
for script_finished after each: the sidebar filters (select boxes, the radio,
the presenter toggle) and the page's own controls (segmented controls and
pills, multiselect, text input, the map's measure select box, buttons such as
Next / Previous on /present). Controls that appear after a change (the school
view's measure once a school is chosen, "Exit presenter mode") are changed
too. Download buttons and file uploaders are left alone; so are chart and table
selections, which Streamlit's testing package cannot produce (they are listed
as skipped in the result).

The deltas are parsed into widgets by Streamlit's own testing package
(streamlit.testing.v1.element_tree: parse_tree_from_messages, Widget.set_value,
Widget._widget_state): the WidgetState each change sends is the one AppTest
would send, not a hand-written copy of each widget's wire format. Values are set
as the option labels the server sent, which is what the browser sends back.

Each new value is chosen from the session's index, the page and the control
(a CRC, so a rerun of the test picks the same values), never the current value:
ten sessions exercise ten filter combinations. With `--page all` (the default)
the pages are the ones in the server's st.navigation (read from its navigation
message) and each session goes through all of them in one websocket, its filters
carried from page to page as a visitor's are: every page has N visitors. By
default (--order together) the sessions walk the pages in the same order, so
the N are on the same page at about the same time, as the crowd that once hung
/funding was; --order rotated starts session i at page i instead. --sidebar
spread (the test suite's bounded run) changes each sidebar filter once per
session instead of on every page (see SIDEBAR_MODES).

A browser context per session would cost ~150 MB and a renderer process each,
too heavy for 100 sessions on two cores; the server does the same work either
way (it runs the script and serialises every element, figures included).

Bounded: at most MAX_SESSIONS clients; no script_finished within the per-step
timeout is an error (a hang) and ends that session; the whole run has a hard
deadline. When the deadline is hit, when a step hung, or when the server does
not answer /_stcore/health within 5 s after the run, the server's threads are
dumped (tools.localserver: faulthandler on SIGUSR1, for servers it
started) into the result and --artifacts; after a deadline or a failed health
check the server's process group is stopped (SIGTERM, then SIGKILL). Every
socket is closed before it returns. Loopback only: the URL must be
http://127.0.0.1 or localhost.

    python -m bench.loadtest --n 10 [--db PATH | --url http://127.0.0.1:8501 [URL2 ...] --pid PID [PID2 ...]]
                             [--page all | --page funding [trends ...]] [--sidebar every|spread]
                             [--order together|rotated] [--ramp 2] [--hold 3] [--step-timeout 60]
                             [--deadline 600] [--artifacts DIR] [--controls] [--json]

Without --url it starts its own server on a free port (and stops it). Reports,
per page: sessions ok / visits, distinct errors, p50/p95 of the time to the
page's script_finished and to each control change's; the server's health after
the run and its peak RSS (process and children, from /proc) sampled every 100 ms.
Exit status 1 unless every session finished with no error and the server was healthy.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

MAX_SESSIONS = 200
MAX_CONTROLS_PER_PAGE = 40         # a page that keeps growing new controls still ends
STEP_TIMEOUT_S = 60.0
DEADLINE_S = 600.0
HEALTH_TIMEOUT_S = 5.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ALL_PAGES = "all"
# The sidebar filters are dashboard.py's, the same widgets on every page. "every": each
# session changes all of them on every page it visits. "spread": session i changes the
# j-th only on the page at navigation position (i + j) mod pages, so it changes each
# once and, with N >= pages sessions, each is still changed on every page by some
# session, at about a quarter of the script runs: the bounded test's mode.
SIDEBAR_MODES = ("every", "spread")
# "together": every session walks the pages in navigation order, so all N are on the
# same page at about the same time (the crowd that once hung /funding). "rotated":
# session i starts at page i (mod pages), spreading the sessions over the pages.
ORDERS = ("together", "rotated")
# What the search box is given; one per session, in turn (the last matches nothing).
SEARCH_TERMS = ("e", "high", "elementary", "19", "academy", "middle", "Maple", "no such school 0000")


# --------------------------------------------------------------------------- results


@dataclass
class ControlTime:
    control: str         # the widget's key, else its label
    kind: str            # selectbox, button_group, ...
    seconds: float


@dataclass
class PageVisit:
    page: str
    landing_s: float | None = None
    changes: list[ControlTime] = field(default_factory=list)
    found: list[str] = field(default_factory=list)     # controls seen enabled on the page
    skipped: list[str] = field(default_factory=list)   # elements left alone, and why
    errors: list[str] = field(default_factory=list)
    finished: bool = False           # landed and every control change finished

    @property
    def ok(self) -> bool:
        return self.finished and not self.errors


@dataclass
class SessionResult:
    index: int
    pages: list[str]                 # the pages this session was to visit, in order
    visits: list[PageVisit] = field(default_factory=list)
    bytes_in: int = 0
    errors: list[str] = field(default_factory=list)   # not tied to a page: connect, deadline

    @property
    def ok(self) -> bool:
        return (not self.errors and len(self.visits) == len(self.pages)
                and all(v.ok for v in self.visits))

    def all_errors(self) -> list[str]:
        return self.errors + [f"/{v.page}: {e}" for v in self.visits for e in v.errors]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# --------------------------------------------------------------------------- protocol


def _rerun(query_string: str = "", page_script_hash: str = "", widgets: Sequence[Any] = (),
           page_name: str = "") -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = query_string
    cs.page_script_hash = page_script_hash
    cs.page_name = page_name
    cs.widget_states.SetInParent()
    for w in widgets:
        cs.widget_states.widgets.append(w)
    return msg.SerializeToString()


class _Hang(Exception):
    """No script_finished within the step timeout."""


def _identity(value: Any) -> Any:
    return value


class _LabelFormats(dict):
    """Every widget's format function, as Streamlit's testing widgets look it up
    (session_state[TESTING_KEY][widget id]). Values are set as the labels the
    server sent, which is what the browser sends back, so it is the identity."""

    def __missing__(self, key: str) -> Callable[[Any], Any]:
        return _identity


class _ClientSide:
    """Stands in for AppTest behind ElementTree.session_state: a client has no
    server-side session state, only what _widget_state needs for a value that was set."""

    def __init__(self) -> None:
        from streamlit.runtime.state.common import TESTING_KEY

        self._session_state = {TESTING_KEY: _LabelFormats()}


@dataclass
class RunOutcome:
    seconds: float
    tree: Any                        # streamlit.testing.v1.element_tree.ElementTree
    errors: list[str]


class Connection:
    """One browser tab's worth of protocol: the current page, the URL's query
    string as the server last set it, the values this tab gave its controls, and
    the deltas of the latest script run."""

    def __init__(self, ws: Any, step_timeout_s: float, result: SessionResult) -> None:
        self.ws, self.step_timeout_s, self.result = ws, step_timeout_s, result
        self.page_script_hash = ""
        self.query_string = ""
        self.app_pages: dict[str, str] = {}      # url path -> title, from the navigation message
        # Control name -> the value the browser would show: the last one the server set
        # (set_value) or this tab sent, kept while the control stays on the page (the
        # sidebar filters across page switches), as the browser keeps a mounted widget's.
        # A later run's proto carries only the default, not that value.
        self.held: dict[str, Any] = {}

    async def run(self, widgets: Sequence[Any] = (), page_name: str = "") -> RunOutcome:
        """Send a rerun (a page switch when page_name is given) and read until
        script_finished; raises _Hang past the step timeout."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.testing.v1.element_tree import parse_tree_from_messages

        if page_name:
            # A page switch: the browser drops the old page's query string.
            raw = _rerun(page_name=page_name)
        else:
            raw = _rerun(self.query_string, self.page_script_hash, widgets)
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.step_timeout_s
        await self.ws.send(raw)
        messages: list[Any] = []
        errors: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Hang()
            try:
                data = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except (asyncio.TimeoutError, TimeoutError):
                raise _Hang() from None
            self.result.bytes_in += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                messages, errors = [], []    # a script run starts (again, after an st.rerun)
            elif kind == "navigation":
                self.page_script_hash = msg.navigation.page_script_hash
                self.app_pages = {p.url_pathname: p.page_name for p in msg.navigation.app_pages
                                  if not p.external_url}
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "page_not_found":
                errors.append(f"page not found: {msg.page_not_found.page_name!r}")
            elif kind == "delta":
                messages.append(msg)
                errors.extend(_element_errors(msg))
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    errors.append("script compile error")
                tree = parse_tree_from_messages(messages)
                tree._runner = _ClientSide()  # type: ignore[assignment]
                shown = _controls(tree)
                names = {_control_name(w) for w, _ in shown}
                self.held = {k: v for k, v in self.held.items() if k in names}
                for w, _ in shown:
                    if getattr(w.proto, "set_value", False):
                        self.held[_control_name(w)] = _value_set(w)
                return RunOutcome(time.perf_counter() - t0, tree, errors)


def _element_errors(msg: Any) -> list[str]:
    """An exception element, or an st.error box: what a visitor would see as a failure."""
    from streamlit.proto.Alert_pb2 import Alert

    if msg.delta.WhichOneof("type") != "new_element":
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "exception":
        return [f"exception: {el.exception.type}: {el.exception.message[:200]}"]
    if kind == "alert" and el.alert.format == Alert.Format.ERROR:
        return [f"st.error: {el.alert.body[:200]}"]
    return []


# --------------------------------------------------------------------------- controls


def _control_name(w: Any) -> str:
    return w.key or getattr(w.proto, "label", "") or w.id


PRESENTER_JOBS = ("deck_publish",)


def _skip_reason(node: Any) -> str | None:
    """Why an element is not changed, or None if it is a control to change."""
    from streamlit.testing.v1 import element_tree as et

    if isinstance(node, (et.DownloadButton, et.FileUploader, et.CameraInput, et.AudioInput, et.ChatInput)):
        return f"{node.type} ({_control_name(node)})"
    if isinstance(node, et.Widget):
        # A presenter publishes the attendee page once before a session (about a minute of
        # Chromium drawing every slide); a crowd never presses it. Publishing has its own
        # figures (bench's attendee section) and one publish at a time (csi_app.presenter).
        if _control_name(node) in PRESENTER_JOBS:
            return f"{node.type}: a presenter's one-off job ({_control_name(node)})"
        return None if isinstance(node, _chooser_types()) else f"{node.type}: no chooser ({_control_name(node)})"
    # Chart and table selections are widgets server-side; the testing package has no state for them.
    if getattr(node, "type", "") in ("plotly_chart", "dataframe") and list(getattr(node.proto, "selection_mode", [])):
        key = getattr(node, "key", None) or node.proto.id
        return f"{node.type} selection ({key})"
    return None


def _value_set(w: Any) -> Any:
    """The value the server set on this control this run (proto.set_value), as labels."""
    from streamlit.testing.v1 import element_tree as et

    p = w.proto
    if isinstance(w, (et.Selectbox, et.Radio)):
        return p.raw_value if p.HasField("raw_value") else None
    if isinstance(w, (et.Multiselect, et.ButtonGroup)):
        return list(p.raw_values)
    if isinstance(w, et.TextInput):
        return p.value if p.HasField("value") else None
    if isinstance(w, (et.Toggle, et.Checkbox)):
        return p.value
    return None


def _current(w: Any, held: dict[str, Any]) -> Any:
    """The value the control shows now: what the browser holds for it (Connection.held),
    else its default. Labels, as the wire carries them."""
    from streamlit.testing.v1 import element_tree as et

    p, name = w.proto, _control_name(w)
    if name in held:
        return held[name]
    if isinstance(w, (et.Selectbox, et.Radio)):
        return w.options[p.default] if p.HasField("default") and p.default < len(w.options) else None
    if isinstance(w, (et.Multiselect, et.ButtonGroup)):
        return [w.options[i] for i in p.default if i < len(w.options)]
    if isinstance(w, et.TextInput):
        return p.default if p.HasField("default") else None
    if isinstance(w, (et.Toggle, et.Checkbox)):
        return p.default
    return None


def _pick_one(options: Sequence[str], current: Any, r: int) -> str | None:
    others = [o for o in options if o != current]
    return others[r % len(others)] if others else None


def _pick_some(options: Sequence[str], current: Any, r: int, max_n: int) -> list[str] | None:
    """A subset of 0..max_n options (in option order), not the current one."""
    n = len(options)
    cap = min(max_n or n, n)
    now = sorted(current or [])
    for attempt in range(2 * (cap + 1)):
        k = (r + attempt) % (cap + 1)
        start = (r // (cap + 1) + attempt) % max(n, 1)
        picked = sorted({(start + j) % n for j in range(k)})
        subset = [options[i] for i in picked]
        if sorted(subset) != now:
            return subset
    return None


def _new_value(w: Any, current: Any, r: int) -> Any:
    """The value this session gives the control: never the current one. None: nothing to change to."""
    from streamlit.proto.ButtonGroup_pb2 import ButtonGroup as ButtonGroupProto
    from streamlit.testing.v1 import element_tree as et

    if isinstance(w, (et.Selectbox, et.Radio)):
        return _pick_one(w.options, current, r)
    if isinstance(w, et.ButtonGroup):
        if w.proto.click_mode == ButtonGroupProto.ClickMode.SINGLE_SELECT:
            cur = current[0] if current else None
            return _pick_one(w.options, cur, r)
        return _pick_some(w.options, current, r, len(w.options))
    if isinstance(w, et.Multiselect):
        return _pick_some(w.options, current, r, w.proto.max_selections)
    if isinstance(w, et.TextInput):
        term = _pick_one(SEARCH_TERMS, current, r)
        return term[: w.proto.max_chars] if term and w.proto.max_chars else term
    if isinstance(w, (et.Toggle, et.Checkbox)):
        return not bool(current)
    if isinstance(w, et.Button):
        return True
    return None


@functools.cache
def _chooser_types() -> tuple[type, ...]:
    """The widget classes _new_value knows how to change."""
    from streamlit.testing.v1 import element_tree as et

    return (et.Selectbox, et.Radio, et.ButtonGroup, et.Multiselect, et.TextInput, et.Toggle, et.Checkbox,
            et.Button)



def _seed(session: int, page: str, control: str) -> int:
    # Stable across processes (unlike hash()): a rerun of the test picks the same values.
    return session * 7919 + zlib.crc32(f"{page}:{control}".encode())


def _controls(tree: Any) -> list[tuple[Any, bool]]:
    """The controls to change, in page order, each with whether it is in the sidebar."""
    from streamlit.testing.v1 import element_tree as et

    in_sidebar = {id(node) for node in tree.sidebar}
    return [(node, id(node) in in_sidebar) for node in tree
            if isinstance(node, et.Widget) and _skip_reason(node) is None]


def every_visit(_index: int) -> bool:
    return True


async def visit_page(conn: Connection, page: str, session: int,
                     change_sidebar: Callable[[int], bool] = every_visit) -> PageVisit:
    """Open `page` and change every control on it in turn (see module docstring).
    change_sidebar(j): whether to change the j-th sidebar control (in the order
    first seen) on this visit; the page's own controls are always changed."""
    from streamlit.testing.v1.errors import AppTestError

    visit = PageVisit(page)
    try:
        out = await conn.run(page_name=page)
    except _Hang:
        visit.errors.append(f"hang: no script_finished within {conn.step_timeout_s:g} s opening the page")
        return visit
    visit.landing_s = out.seconds
    visit.errors += out.errors
    skipped: set[str] = set()
    found: set[str] = set()
    done: set[str] = set()
    sidebar_order: dict[str, int] = {}
    tree = out.tree
    for _ in range(MAX_CONTROLS_PER_PAGE):
        skipped.update(r for r in map(_skip_reason, tree) if r)
        w = None
        for node, side in _controls(tree):
            name = _control_name(node)
            if getattr(node.proto, "disabled", False):
                continue   # Previous on the first slide: enabled again after Next
            found.add(name)
            j = sidebar_order.setdefault(name, len(sidebar_order)) if side else -1
            if name not in done and (not side or change_sidebar(j)):
                w = node
                break
        if w is None:
            break
        name = _control_name(w)
        done.add(name)
        value = _new_value(w, _current(w, conn.held), _seed(session, page, name))
        if value is None:
            continue
        try:
            state = w.set_value(value)._widget_state
        except AppTestError as exc:   # a value it refuses: a bug in this client, reported
            visit.errors.append(f"{name}: {exc}")
            continue
        if not state.HasField("trigger_value"):  # a click is one-shot; a value stays what the browser holds
            conn.held[name] = value
        try:
            out = await conn.run([state])
        except _Hang:
            visit.errors.append(f"hang: no script_finished within {conn.step_timeout_s:g} s after changing {name}")
            break
        visit.changes.append(ControlTime(name, w.type, out.seconds))
        visit.errors += [f"after {name}: {e}" for e in out.errors]
        tree = out.tree
    else:
        visit.errors.append(f"more than {MAX_CONTROLS_PER_PAGE} controls: stopped")
    visit.found = sorted(found)
    visit.skipped = sorted(skipped)
    visit.finished = not any(e.startswith("hang") for e in visit.errors)
    return visit


# --------------------------------------------------------------------------- sessions


async def discover_pages(ws_url: str, timeout_s: float) -> dict[str, str]:
    """The server's st.navigation pages (url path -> title; the default page's path is ''),
    from one landing-page run. A fresh server's very first run lists the pages/ folder
    (Streamlit's legacy mode) until st.navigation runs: the last navigation message is the app's."""
    import websockets

    res = SessionResult(-1, [])
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout_s,
                                  ping_interval=None, close_timeout=2) as ws:
        conn = Connection(ws, timeout_s, res)
        out = await conn.run(page_name="")
    if out.errors or not conn.app_pages:
        raise RuntimeError(f"landing page: {out.errors or 'no navigation message'}")
    return conn.app_pages


async def one_session(ws_url: str, index: int, pages: list[str], hold_until: asyncio.Event, *,
                      step_timeout_s: float = STEP_TIMEOUT_S, sidebar: str = "every",
                      navigation: Sequence[str] = (),
                      on_ready: Callable[[], None] = lambda: None,
                      result: SessionResult | None = None) -> SessionResult:
    """Visit `pages` in order over one websocket, then keep it open until `hold_until`
    (as a phone left on the page, so memory is measured with it). on_ready() is
    called once: when the session is held, or when it failed. Pass `result` to
    keep what was done if the task is cancelled. With sidebar="spread", the j-th
    sidebar control is changed on the page at navigation position (index + j) mod
    pages only: once per session, and on every page by some session when N >= pages."""
    import websockets

    res = result or SessionResult(index, list(pages))
    ready = False
    try:
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                      open_timeout=step_timeout_s, ping_interval=None, close_timeout=2) as ws:
            conn = Connection(ws, step_timeout_s, res)
            nav = list(navigation) or list(pages)
            for page in pages:
                pos = nav.index(page)
                change: Callable[[int], bool] = every_visit if sidebar == "every" else \
                    (lambda j, pos=pos: (index + j - pos) % len(nav) == 0)
                visit = await visit_page(conn, page, index, change)
                res.visits.append(visit)
                if not visit.finished:
                    return res   # hung: what the socket holds next is unknown
            ready = True
            on_ready()
            await hold_until.wait()
    except (asyncio.TimeoutError, TimeoutError):
        res.errors.append("timeout connecting")
    except Exception as exc:  # every failure is a reported error, never a crash of the test
        res.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        if not ready:
            on_ready()
    return res


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                stack.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, every thread) the servers have used so far, from /proc:
    on cores shared with other work the steadier figure beside wall time."""
    import os

    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_total(pids: list[int]) -> int:
    """Resident memory of several servers (replicas), each with its descendants."""
    return sum(rss_bytes(p) for p in pids)


class RssSampler:
    """Peak RSS of one or several process trees, sampled in a thread."""

    def __init__(self, pids: list[int], every_s: float = 0.1) -> None:
        self.pids, self.every_s = pids, every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.pids:
                self.peak = max(self.peak, rss_total(self.pids))
            self._stop.wait(self.every_s)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.pids:
            self.peak = max(self.peak, rss_total(self.pids))


# --------------------------------------------------------------------------- the run


def session_pages(pages: list[str], index: int, order: str = "together") -> list[str]:
    """The pages session `index` visits, in its order (see ORDERS)."""
    if order == "together":
        return list(pages)
    k = index % len(pages)
    return pages[k:] + pages[:k]


def page_summary(results: list[SessionResult], pages: list[str]) -> dict[str, dict[str, Any]]:
    """Per page: visits planned, visits ok, distinct errors, landing and control-change percentiles."""
    out: dict[str, dict[str, Any]] = {}
    for page in pages:
        planned = sum(page in r.pages for r in results)
        visits = [v for r in results for v in r.visits if v.page == page]
        landing = [v.landing_s for v in visits if v.landing_s is not None]
        changes = [c for v in visits for c in v.changes]
        controls: dict[str, dict[str, Any]] = {}
        for c in changes:
            controls.setdefault(c.control, {"kind": c.kind, "times": []})["times"].append(c.seconds)
        errors = [e for v in visits for e in v.errors]
        found = {c for v in visits for c in v.found}
        out[page] = {
            "sessions": planned, "ok": sum(v.ok for v in visits), "errors_n": len(errors),
            "errors": sorted(set(errors))[:10],
            "landing_p50_s": _pct(landing, 0.5), "landing_p95_s": _pct(landing, 0.95),
            "change_p50_s": _pct([c.seconds for c in changes], 0.5),
            "change_p95_s": _pct([c.seconds for c in changes], 0.95),
            "controls": {k: {"kind": v["kind"], "n": len(v["times"]), "p50_s": _pct(v["times"], 0.5),
                             "p95_s": _pct(v["times"], 0.95)} for k, v in controls.items()},
            "skipped": sorted({s for v in visits for s in v.skipped}),
            # Seen on the page but changed by no session: a gap in the test's coverage.
            "unchanged": sorted(found - set(controls)),
        }
    return out


def _evidence(pids: list[int], artifacts: Path | None) -> dict[str, str]:
    """Every server's thread dump, written to artifacts/threads-<pid>.txt as well."""
    from tools import localserver

    dumps: dict[str, str] = {}
    for pid in pids:
        text = localserver.dump_threads(pid)
        if text is None:
            text = f"(no thread dump: process {pid} was not started through tools.localserver)"
        dumps[str(pid)] = text
        if artifacts is not None:
            artifacts.mkdir(parents=True, exist_ok=True)
            (artifacts / f"threads-{pid}.txt").write_text(text, encoding="utf-8")
    return dumps


def require_loopback(urls: list[str]) -> None:
    """A load test never points at another machine: refuse any URL that is not this one."""
    for url in urls:
        host = urlparse(url).hostname
        if host not in LOOPBACK:
            raise ValueError(f"load test runs against this machine only (127.0.0.1/localhost), not {host!r}")


async def _run(urls: list[str], n: int, pids: list[int], hold_s: float, deadline_s: float, ramp_s: float,
               page: str | list[str], step_timeout_s: float, artifacts: Path | None,
               sidebar: str, order: str) -> dict[str, Any]:
    from tools import localserver

    require_loopback(urls)
    if not 1 <= n <= MAX_SESSIONS:
        raise ValueError(f"n must be 1..{MAX_SESSIONS}")
    if sidebar not in SIDEBAR_MODES:
        raise ValueError(f"sidebar must be one of {SIDEBAR_MODES}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    # Several URLs = several replicas: sessions go round-robin, as a load balancer
    # with sticky websockets would place them.
    ws_urls = [u.replace("http://", "ws://").rstrip("/") + "/_stcore/stream" for u in urls]
    wanted = [page] if isinstance(page, str) else list(page)
    t0 = time.perf_counter()
    if wanted == [ALL_PAGES]:
        try:
            titles = await asyncio.wait_for(discover_pages(ws_urls[0], step_timeout_s), timeout=step_timeout_s + 5)
        except Exception as exc:  # noqa: BLE001 - a server that cannot serve its landing page is the failure
            titles, discover_error = {}, f"discovering the pages: {type(exc).__name__}: {exc}"[:300]
        else:
            discover_error = None
        pages = list(titles)
    else:
        pages, titles, discover_error = wanted, {}, None

    hold = asyncio.Event()
    rss_before = rss_total(pids) if pids else None
    cpu_before = cpu_seconds(pids)
    ready = [0]
    rss_held: list[int | None] = [None]
    results = [SessionResult(i, session_pages(pages, i, order) if pages else []) for i in range(n)]

    def on_ready() -> None:
        ready[0] += 1

    deadline_hit = False
    with RssSampler(pids) as sampler:
        async def staggered(i: int) -> SessionResult:
            # Phones at a convening arrive within a few seconds, not in the same millisecond.
            await asyncio.sleep(ramp_s * i / max(n, 1))
            return await one_session(ws_urls[i % len(ws_urls)], i, results[i].pages, hold,
                                     step_timeout_s=step_timeout_s, sidebar=sidebar, navigation=pages,
                                     on_ready=on_ready,
                                     result=results[i])

        async def release_when_ready() -> None:
            # Every session done and still open: read memory, hold hold_s, then close them.
            while ready[0] < n:
                await asyncio.sleep(0.1)
            await asyncio.sleep(min(1.0, hold_s))
            if pids:
                rss_held[0] = rss_total(pids)
            await asyncio.sleep(max(0.0, hold_s - 1.0))
            hold.set()

        tasks = [asyncio.create_task(staggered(i)) for i in range(n)] if pages else []
        releaser = asyncio.create_task(release_when_ready())
        if tasks:
            # hold_s on top: a session held open at the deadline has finished its work.
            left = deadline_s + hold_s - (time.perf_counter() - t0)
            _done, pending = await asyncio.wait(tasks, timeout=max(left, 0.0))
            deadline_hit = bool(pending)
        else:
            pending = set()
        dumps: dict[str, str] = {}
        if deadline_hit:
            dumps = _evidence(pids, artifacts)   # while the sessions are still stuck in it
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)   # closes their sockets
            for r in results:
                if not r.ok and not r.all_errors():
                    r.errors.append(f"hard deadline ({deadline_s:g} s) hit")
        hold.set()
        releaser.cancel()
        await asyncio.gather(releaser, return_exceptions=True)
    wall = time.perf_counter() - t0
    server_cpu = cpu_seconds(pids) - cpu_before

    # The server must still answer after the crowd, whatever the sessions saw.
    loop = asyncio.get_running_loop()
    health = await asyncio.gather(*[loop.run_in_executor(None, localserver.healthy, u, HEALTH_TIMEOUT_S)
                                    for u in urls])
    healthy_after = all(health)
    hangs = sum(e.startswith("hang") for r in results for v in r.visits for e in v.errors)
    if not dumps and (hangs or not healthy_after):
        dumps = _evidence(pids, artifacts)
    stopped: dict[str, str] = {}
    if pids and (deadline_hit or not healthy_after):
        # A hung server would hang whoever uses it next: stop it, the run has failed.
        stopped = {str(p): localserver.stop_group(p) for p in pids}

    by_page = page_summary(results, pages)
    landing = [v.landing_s for r in results for v in r.visits if v.landing_s is not None]
    change = [c.seconds for r in results for v in r.visits for c in v.changes]
    errors = ([discover_error] if discover_error else []) + [e for r in results for e in r.all_errors()]
    ok_sessions = sum(r.ok for r in results) if pages else 0
    return {
        "n": n, "replicas": len(urls), "ramp_s": ramp_s, "pages_mode": wanted, "pages": pages, "page_titles": titles, "sidebar": sidebar,
        "order": order,
        "step_timeout_s": step_timeout_s, "deadline_s": deadline_s, "wall_s": wall,
        "server_cpu_s": server_cpu if pids else None,
        "ok_sessions": ok_sessions, "errors_n": len(errors), "errors": sorted(set(errors))[:20],
        "hangs": hangs, "deadline_hit": deadline_hit,
        "healthy_after": healthy_after, "server_stopped": stopped, "thread_dumps": dumps,
        "landing_p50_s": _pct(landing, 0.5), "landing_p95_s": _pct(landing, 0.95),
        "change_p50_s": _pct(change, 0.5), "change_p95_s": _pct(change, 0.95),
        "change_max_s": max(change) if change else None, "changes_n": len(change),
        "by_page": by_page,
        "mb_in_per_session": statistics.mean(r.bytes_in for r in results) / 1e6 if results else None,
        "rss_before_mb": rss_before / 1e6 if rss_before else None,
        "rss_peak_mb": sampler.peak / 1e6 if pids else None,
        "rss_held_mb": rss_held[0] / 1e6 if rss_held[0] else None,
        "ok": bool(pages) and ok_sessions == n and not errors and healthy_after and not deadline_hit,
    }


def run(url: str | list[str], n: int, pid: int | list[int] | None = None, *, hold_s: float = 3.0,
        deadline_s: float = DEADLINE_S, ramp_s: float = 2.0, page: str | list[str] = ALL_PAGES,
        step_timeout_s: float = STEP_TIMEOUT_S, artifacts: Path | None = None,
        sidebar: str = "every", order: str = "together") -> dict[str, Any]:
    """Run the load test (see module docstring); returns the figures as a dict.
    url/pid: one server, or lists for several replicas (sessions round-robin,
    memory summed). page: 'all' (every page of the server's navigation), or the
    URL path(s) of the pages to visit ('' = the landing page). sidebar, order: see SIDEBAR_MODES, ORDERS."""
    urls = [url] if isinstance(url, str) else list(url)
    pids = [] if pid is None else ([pid] if isinstance(pid, int) else list(pid))
    return asyncio.run(_run(urls, n, pids, hold_s, deadline_s, ramp_s, page, step_timeout_s, artifacts, sidebar,
                            order))


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} s"


def format_run(r: dict[str, Any], *, controls: bool = False) -> str:
    """A run in words: the totals, then one line per page (and per control with controls=True)."""
    lines = [f"N={r['n']}: {r['ok_sessions']}/{r['n']} sessions ok, {r['errors_n']} errors, {r['hangs']} hangs"
             f"{', DEADLINE HIT' if r['deadline_hit'] else ''}; server healthy after: "
             f"{'yes' if r['healthy_after'] else 'NO'}; {r['changes_n']} control changes; "
             f"landing p50 {_s(r['landing_p50_s'])} p95 {_s(r['landing_p95_s'])}; "
             f"change p50 {_s(r['change_p50_s'])} p95 {_s(r['change_p95_s'])}; "
             f"RSS held {r['rss_held_mb'] or 0:.0f} MB, peak {r['rss_peak_mb'] or 0:.0f} MB; wall {r['wall_s']:.0f} s, "
             f"server CPU {r['server_cpu_s'] or 0:.0f} s"]
    for page, p in r["by_page"].items():
        lines.append(f"  /{page}: {p['ok']}/{p['sessions']} ok, {p['errors_n']} errors; landing p50 "
                     f"{_s(p['landing_p50_s'])} p95 {_s(p['landing_p95_s'])}; {len(p['controls'])} controls, "
                     f"change p50 {_s(p['change_p50_s'])} p95 {_s(p['change_p95_s'])}"
                     + (f"; changed by no session: {', '.join(p['unchanged'])}" if p["unchanged"] else ""))
        if controls:
            for name, c in p["controls"].items():
                lines.append(f"      {name} ({c['kind']}, {c['n']}x): p50 {_s(c['p50_s'])} p95 {_s(c['p95_s'])}")
        lines += [f"      error: {e}" for e in p["errors"]]
    lines += [f"  error: {e}" for e in r["errors"] if not e.startswith("/")]
    if r["server_stopped"]:
        lines.append(f"  server stopped: {r['server_stopped']}")
    for pid, text in r["thread_dumps"].items():
        lines.append(f"  thread dump of server {pid}:\n{text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.loadtest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10], help="session counts to run, e.g. 10 50 100")
    ap.add_argument("--url", nargs="+", help="running server(s) on this machine, several = replicas "
                    "(default: start one)")
    ap.add_argument("--pid", type=int, nargs="+", help="the servers' process ids: memory, thread dumps, stopping "
                    "a hung server")
    ap.add_argument("--db", help="database for the server this starts (default $CSI_DB)")
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to keep all sessions open at the end")
    ap.add_argument("--deadline", type=float, default=DEADLINE_S, help="hard limit per run, seconds")
    ap.add_argument("--step-timeout", type=float, default=STEP_TIMEOUT_S,
                    help="seconds to wait for script_finished after each step; longer is a hang")
    ap.add_argument("--page", nargs="+", default=[ALL_PAGES],
                    help="'all' (default: every page in the app's navigation) or URL paths ('' = landing)")
    ap.add_argument("--sidebar", choices=SIDEBAR_MODES, default="every",
                    help="every: change each sidebar filter on every page; spread: once per session, "
                         "on a different page for each session")
    ap.add_argument("--order", choices=ORDERS, default="together",
                    help="together: every session walks the pages in navigation order; rotated: session i "
                         "starts at page i")
    ap.add_argument("--ramp", type=float, default=2.0, help="seconds over which the sessions arrive")
    ap.add_argument("--artifacts", type=Path, help="write thread dumps here (threads-<pid>.txt)")
    ap.add_argument("--controls", action="store_true", help="print each control's figures too")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = ap.parse_args(argv)
    page: str | list[str] = args.page[0] if len(args.page) == 1 else args.page
    kw = dict(hold_s=args.hold, deadline_s=args.deadline, ramp_s=args.ramp, page=page,
              step_timeout_s=args.step_timeout, artifacts=args.artifacts, sidebar=args.sidebar,
              order=args.order)
    if args.url:
        runs = [run(args.url, n, args.pid, **kw) for n in args.n]
    else:
        from tools.bench import benchmark as bench
        runs = []
        with bench.server(args.db) as (url, pid):
            for n in args.n:
                runs.append(run(url, n, pid, **kw))
    for r in runs:
        print(json.dumps(r) if args.json else format_run(r, controls=args.controls), flush=True)
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
