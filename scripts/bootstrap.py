"""The project environment: a virtual environment in .venv with the pinned
packages of requirements.txt, and Debian's Chromium for export and browser tests.

Run by scripts/setup with whatever `python3` is on PATH (the distribution's,
pyenv's, Homebrew's): it never installs into that interpreter (PEP 668), only
into .venv. Standard library only, because nothing else is installed yet.

    python3 scripts/bootstrap.py [--check]

--check prints the decisions and changes nothing. A re-run with nothing
changed only compares a hash of requirements.txt with the one stored in .venv
when it was installed, so it takes well under a second.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
REQUIREMENTS = REPO / "requirements.txt"
STAMP_NAME = ".csi-requirements.sha256"
CHROMIUM = Path("/usr/bin/chromium")
# The static-server anchor of the attendee load test (tools/bench/attendee_load.py) and its test.
NGINX = Path("/usr/sbin/nginx")

# Every pinned package has wheels for these (pip download --only-binary checked
# 3.11-3.14 on 2026-12-01); 3.10 lacks some of them (pandas 3, numpy 2.4).
SUPPORTED = ((3, 11), (3, 14))


@dataclass(frozen=True)
class Facts:
    """What the machine looks like, read once; `decide` is a pure function of it."""

    python: tuple[int, int]
    has_ensurepip: bool
    venv_exists: bool
    venv_python: tuple[int, int] | None   # the version .venv/bin/python reports; None if it does not start
    stamp: str | None               # hash stored at the last install, if any
    requirements_hash: str
    is_root: bool
    has_apt: bool
    has_chromium: bool
    has_nginx: bool = True


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...]          # in order: install-venv-package, create-venv, recreate-venv, pip-install, install-chromium, install-nginx
    error: str | None = None        # one sentence, and nothing is done
    notes: tuple[str, ...] = ()


def supported_text() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"{a}.{b} to {c}.{d}"


def decide(f: Facts) -> Plan:
    """The steps setup takes for these facts, or the one error that stops it."""
    if not SUPPORTED[0] <= f.python <= SUPPORTED[1]:
        return Plan((), error=f"this python3 is {f.python[0]}.{f.python[1]}; the dashboard supports Python "
                              f"{supported_text()}: put a supported python3 first on PATH and run this again.")
    steps: list[str] = []
    notes: list[str] = []
    fresh = f.venv_python != f.python   # none yet, broken, or made by another Python
    if fresh:
        if not f.has_ensurepip:
            if f.is_root and f.has_apt:
                steps.append("install-venv-package")
            else:
                return Plan((), error="Python's venv module cannot create an environment here because ensurepip "
                                      "is missing: install it (on Debian or Ubuntu: sudo apt-get install "
                                      f"python3-venv python{f.python[0]}.{f.python[1]}-venv) and run this again.")
        steps.append("recreate-venv" if f.venv_exists else "create-venv")
        steps.append("pip-install")
    elif f.stamp != f.requirements_hash:
        steps.append("pip-install")
    # Debian packages the tests use: installed when this can (root with apt), else a note saying how.
    for present, step, note in (
            (f.has_chromium, "install-chromium", f"{CHROMIUM} is missing: image export and the browser tests "
                                                 "need Debian's chromium (sudo apt-get install chromium)."),
            (f.has_nginx, "install-nginx", f"{NGINX} is missing: the attendee load test's static-server anchor "
                                           "needs Debian's nginx-light (sudo apt-get install nginx-light).")):
        if present:
            continue
        if f.is_root and f.has_apt:
            steps.append(step)
        else:
            notes.append(note)
    return Plan(tuple(steps), notes=tuple(notes))


# --------------------------------------------------------------------------- reading the machine


def venv_python_path(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_hash(path: Path = REQUIREMENTS) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _venv_version(python: Path) -> tuple[int, int] | None:
    if not python.exists():
        return None
    try:
        out = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                             capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def read_facts(venv: Path = VENV) -> Facts:
    import importlib.util

    vpy = venv_python_path(venv)
    vver = _venv_version(vpy)
    stamp_file = venv / STAMP_NAME
    return Facts(
        python=(sys.version_info[0], sys.version_info[1]),
        has_ensurepip=importlib.util.find_spec("ensurepip") is not None,
        venv_exists=venv.exists(),
        venv_python=vver,
        stamp=stamp_file.read_text().strip() if stamp_file.exists() else None,
        requirements_hash=requirements_hash(),
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_apt=shutil.which("apt-get") is not None,
        has_chromium=CHROMIUM.exists(),
        has_nginx=NGINX.exists(),
    )


# --------------------------------------------------------------------------- doing it


def _run(cmd: list[str], **kw) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def _apt(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", *packages], env=env, stdout=subprocess.DEVNULL)


def carry_out(plan: Plan, facts: Facts, venv: Path = VENV) -> None:
    for step in plan.steps:
        if step == "install-venv-package":
            _apt(["python3-venv", f"python{facts.python[0]}.{facts.python[1]}-venv"])
        elif step in ("create-venv", "recreate-venv"):
            if venv.exists():
                shutil.rmtree(venv)
            _run([sys.executable, "-m", "venv", str(venv)])
        elif step == "pip-install":
            vpy = str(venv_python_path(venv))
            _run([vpy, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)])
            (venv / STAMP_NAME).write_text(facts.requirements_hash + "\n")
        elif step == "install-chromium":
            _apt(["chromium"])
        elif step == "install-nginx":
            _apt(["nginx-light"])
        else:  # decide() and carry_out() are kept in step by tests/unit/test_setup.py
            raise ValueError(f"unknown setup step {step!r}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    facts = read_facts()
    plan = decide(facts)
    if plan.error:
        print(f"error: {plan.error}", file=sys.stderr)
        return 2
    if "--check" in argv:
        print(f"python {facts.python[0]}.{facts.python[1]} (supported {supported_text()}); steps: "
              + (", ".join(plan.steps) or "none, the environment is up to date"))
        for n in plan.notes:
            print(f"note: {n}")
        return 0
    try:
        carry_out(plan, facts)
    except subprocess.CalledProcessError as exc:
        print(f"error: setup step failed ({' '.join(map(str, exc.cmd))}, exit {exc.returncode}); "
              "nothing was installed outside .venv", file=sys.stderr)
        return 1
    for n in plan.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
