"""Run the dashboard on a free loopback port for the benchmark and the browser
tests: one place that knows how to start the dashboard's server (csi_app.serve,
what scripts/dashboard runs), wait for it, and stop it with its children.

The server is started through this module (`python -m tools.localserver
--server.port ...`), which registers faulthandler on SIGUSR1 before handing
over to csi_app.serve: a server that hangs (a deadlock holds the GIL, so
no Python-level handler or debugger could run) can still be asked for every
thread's stack with `dump_threads(pid)`, with nothing to install."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Debian's Chromium (browsers cannot be downloaded here). Without the background-
# networking flags it floods the closed network; without swiftshader and the GPU
# blocklist off, MapLibre has no WebGL and the map is an empty box.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout_s) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def streamlit_server(db: str | os.PathLike[str] | None = None, *, boundaries: str | os.PathLike[str] | None = None,
                     log: Path | None = None, start_timeout_s: float = 120,
                     extra_args: Sequence[str] = (),
                     tree: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """The dashboard (csi_app.serve) on 127.0.0.1 and a free port with CSI_DB=db and
    CSI_BOUNDARIES=boundaries (else the configured default: the shipped display layer
    unless the full layer was fetched) and Streamlit's own options in extra_args
    (e.g. ["--server.enableStaticServing", "true"]); yields (base URL, server pid) and stops the server's
    process group after. Raises RuntimeError naming the log when it does not start.
    `tree`: another checkout of the project to serve (the benchmark's "before", an older
    commit's files), run from its own root with this interpreter. `env`: more environment
    variables for the server (e.g. CSI_ATTENDEE_FOLDER)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if db is not None:
        env["CSI_DB"] = str(db)
    if boundaries is not None:
        env["CSI_BOUNDARIES"] = str(boundaries)
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.localserver", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--server.runOnSave", "false", *extra_args],
        cwd=tree or REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    see = f"; see {log}" if log else ""
    try:
        deadline = time.monotonic() + start_timeout_s
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}{see}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {start_timeout_s:g} s{see}")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        stop_group(proc.pid)
        proc.wait(timeout=10)  # reap it (stop_group saw it exit or killed it)
        thread_dump_path(proc.pid).unlink(missing_ok=True)
        if log:
            out.close()  # type: ignore[union-attr]


# --------------------------------------------------------------------------- thread dumps and stopping

DUMP_SIGNAL = signal.SIGUSR1
_WRAPPER = "tools.localserver"


def thread_dump_path(pid: int) -> Path:
    """Where the server with this pid writes its thread dumps (the wrapper creates it at start)."""
    return Path(tempfile.gettempdir()) / f"csi-server-{pid}.threads"


def _ours(pid: int) -> bool:
    """Started through the wrapper: SIGUSR1 is then a dump, not the default action (terminate)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return _WRAPPER.encode() in cmdline and thread_dump_path(pid).exists()


def dump_threads(pid: int, wait_s: float = 5.0) -> str | None:
    """Every Python thread's stack in the server `pid` (SIGUSR1 -> faulthandler), or None
    if the process was not started through this module. faulthandler writes from its C
    signal handler, so this works while a deadlock holds the GIL."""
    if not _ours(pid):
        return None
    path = thread_dump_path(pid)
    before = path.stat().st_size
    os.kill(pid, DUMP_SIGNAL)
    deadline = time.monotonic() + wait_s
    size, stable_since = before, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = path.stat().st_size
        if now != size:
            size, stable_since = now, time.monotonic()
        elif size > before and time.monotonic() - stable_since > 0.3:
            break
    with open(path, "rb") as f:
        f.seek(before)
        return f.read().decode("utf-8", "replace")


def _alive(pid: int) -> bool:
    """Running (not exited, not a zombie waiting for its parent): readable without being the parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_group(pid: int, term_wait_s: float = 10.0) -> str:
    """Stop the server's process group (it leads one: start_new_session): SIGTERM, and
    SIGKILL if it is still running after term_wait_s. A deadlocked Streamlit never runs
    its SIGTERM handler (the handler needs the GIL). Returns 'gone', 'terminated' or 'killed'."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    deadline = time.monotonic() + term_wait_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # children it left behind (a Chromium for exports)
        return "terminated"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return "killed"


def _serve(argv: list[str]) -> int:
    """csi_app.serve with `argv`, faulthandler on SIGUSR1 writing to thread_dump_path(pid)."""
    # Kept open for the life of the process: faulthandler writes to this descriptor from its signal handler.
    dump = open(thread_dump_path(os.getpid()), "w")  # noqa: SIM115
    faulthandler.register(DUMP_SIGNAL, file=dump, all_threads=True)
    from csi_app import serve

    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
