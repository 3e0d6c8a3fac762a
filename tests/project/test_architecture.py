"""The layering, kept by import-linter (.importlinter): files -> ingest -> storage ->
metrics -> figures -> views -> app -> pages, Streamlit only in the app helpers
and pages, and the product never importing the tools. A wrong import in a copy of
the tree must break it, or the contract would be checking nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import fixture_paths

REPO = fixture_paths.REPO
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_hold():
    run = _lint(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout and "5 kept" in run.stdout, run.stdout


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    for name in ("csi_metrics", "csi_app", "pages", "tools"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.mark.parametrize("module,line,broken", [
    # The vocabulary reaching up into the figures: an upward import.
    ("csi_metrics/vocabulary/codes.py", "from csi_metrics.figures import charts", "csi_metrics.vocabulary.codes -> "
                                                                                  "csi_metrics.figures.charts"),
    # A metric drawing on Streamlit.
    ("csi_metrics/metrics/rates.py", "import streamlit", "csi_metrics.metrics.rates -> streamlit"),
    # The metrics reading the ingest layer (they read only the database).
    ("csi_metrics/metrics/rates.py", "from csi_metrics.ingest import demo", "csi_metrics.metrics.rates -> "
                                                                             "csi_metrics.ingest.demo"),
    # The product importing the benchmark.
    ("csi_app/data.py", "from tools.bench import benchmark", "csi_app.data -> tools.bench.benchmark"),
    # Data access reaching up into the page state.
    ("csi_app/data.py", "from csi_app import state", "csi_app.data -> csi_app.state"),
])
def test_a_wrong_import_breaks_the_contract(tree_copy, module, line, broken):
    path = tree_copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # deliberately wrong\n", encoding="utf-8")
    run = _lint(tree_copy)
    assert run.returncode != 0, run.stdout
    assert broken in " ".join(run.stdout.split()), run.stdout
