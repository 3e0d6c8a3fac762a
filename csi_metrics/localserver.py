"""Run the dashboard on a free loopback port for the benchmark and the browser
tests: one place that knows how to start `streamlit run dashboard.py`, wait for
it, and stop it with its children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def streamlit_server(db: str | os.PathLike[str] | None = None, *, boundaries: str | os.PathLike[str] | None = None,
                     log: Path | None = None, start_timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """`streamlit run dashboard.py` on 127.0.0.1 and a free port with CSI_DB=db and
    CSI_BOUNDARIES=boundaries (else the configured default: the shipped display layer
    unless the full layer was fetched); yields (base URL, server pid) and stops the server's
    process group after. Raises RuntimeError naming the log when it does not start."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if db is not None:
        env["CSI_DB"] = str(db)
    if boundaries is not None:
        env["CSI_BOUNDARIES"] = str(boundaries)
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
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
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if log:
            out.close()  # type: ignore[union-attr]
