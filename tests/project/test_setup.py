"""scripts/bootstrap.py, the project environment: what setup decides on each kind
of machine (distribution Python under PEP 668, no ensurepip, pyenv, an old or
broken .venv, changed requirements), and that a re-run with nothing changed does
nothing, quickly."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
import time

import pytest

from fixture_paths import REPO

spec = importlib.util.spec_from_file_location("bootstrap", REPO / "scripts" / "bootstrap.py")
bootstrap = importlib.util.module_from_spec(spec)
sys.modules["bootstrap"] = bootstrap  # dataclasses look their module up
spec.loader.exec_module(bootstrap)

HASH = "a" * 64
# A stock Debian 12 root shell: the distribution's python3 3.11, venv available, no .venv yet.
DEBIAN = bootstrap.Facts(python=(3, 11), has_ensurepip=True, venv_exists=False, venv_python=None, stamp=None,
                         requirements_hash=HASH, is_root=True, has_apt=True, has_chromium=False,
                         has_nginx=False)


def facts(**kw) -> "bootstrap.Facts":
    return dataclasses.replace(DEBIAN, **kw)


def test_fresh_debian_machine_gets_a_venv_packages_and_chromium():
    plan = bootstrap.decide(DEBIAN)
    assert plan.error is None
    assert plan.steps == ("create-venv", "pip-install", "install-chromium", "install-nginx")


def test_nothing_changed_means_nothing_to_do():
    plan = bootstrap.decide(facts(venv_exists=True, venv_python=(3, 11), stamp=HASH, has_chromium=True, has_nginx=True))
    assert plan.steps == () and plan.error is None and plan.notes == ()


def test_changed_requirements_reinstall_into_the_same_venv():
    plan = bootstrap.decide(facts(venv_exists=True, venv_python=(3, 11), stamp="b" * 64, has_chromium=True, has_nginx=True))
    assert plan.steps == ("pip-install",)


@pytest.mark.parametrize("venv_python", [None, (3, 12)])
def test_broken_venv_or_one_made_by_another_python_is_recreated(venv_python):
    plan = bootstrap.decide(facts(venv_exists=True, venv_python=venv_python, stamp=HASH, has_chromium=True, has_nginx=True))
    assert plan.steps == ("recreate-venv", "pip-install")


def test_missing_ensurepip_as_root_installs_the_venv_package_first():
    plan = bootstrap.decide(facts(has_ensurepip=False))
    assert plan.steps[:2] == ("install-venv-package", "create-venv")


def test_missing_ensurepip_without_root_stops_with_one_sentence_saying_what_to_install():
    plan = bootstrap.decide(facts(has_ensurepip=False, is_root=False))
    assert plan.steps == ()
    assert "python3-venv" in plan.error and "apt-get install" in plan.error and plan.error.count(". ") == 0


def test_no_ensurepip_needed_when_the_venv_is_already_there():
    plan = bootstrap.decide(facts(has_ensurepip=False, is_root=False, venv_exists=True, venv_python=(3, 11),
                                  stamp=HASH, has_chromium=True, has_nginx=True))
    assert plan.steps == () and plan.error is None


@pytest.mark.parametrize("version,ok", [((3, 10), False), ((3, 11), True), ((3, 12), True), ((3, 13), True),
                                        ((3, 14), True), ((3, 15), False), ((2, 7), False)])
def test_supported_python_versions_are_checked(version, ok):
    plan = bootstrap.decide(facts(python=version))
    assert (plan.error is None) == ok
    if not ok:
        assert "3.11 to 3.14" in plan.error and f"{version[0]}.{version[1]}" in plan.error


def test_without_root_a_missing_chromium_is_a_note_not_an_error():
    plan = bootstrap.decide(facts(is_root=False))
    assert plan.error is None and "install-chromium" not in plan.steps
    assert any("chromium" in n for n in plan.notes)


def test_every_step_decide_can_take_is_one_carry_out_knows(tmp_path, monkeypatch):
    ran: list[list[str]] = []
    def fake_run(cmd, **kw):
        ran.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:
            (tmp_path / ".venv").mkdir()

    monkeypatch.setattr(bootstrap, "_run", fake_run)
    monkeypatch.setattr(bootstrap, "_apt", lambda pkgs: ran.append(["apt", *pkgs]))
    plan = bootstrap.Plan(("install-venv-package", "create-venv", "pip-install", "install-chromium", "install-nginx"))
    bootstrap.carry_out(plan, DEBIAN, venv=tmp_path / ".venv")
    assert ran[0] == ["apt", "python3-venv", "python3.11-venv"]
    assert ran[1][-2:] == ["venv", str(tmp_path / ".venv")]
    assert ran[2][1:4] == ["-m", "pip", "install"] and ran[2][0].startswith(str(tmp_path / ".venv"))
    assert ran[3] == ["apt", "chromium"] and ran[4] == ["apt", "nginx-light"]
    assert (tmp_path / ".venv" / bootstrap.STAMP_NAME).read_text().strip() == HASH  # only after pip succeeded
    with pytest.raises(ValueError, match="unknown setup step"):
        bootstrap.carry_out(bootstrap.Plan(("reboot",)), DEBIAN, venv=tmp_path / ".venv")


def test_the_real_environment_is_up_to_date_and_a_rerun_takes_seconds():
    # This very run came through scripts/setup (or an equivalent .venv): nothing left to do.
    assert bootstrap.read_facts().stamp == bootstrap.requirements_hash(), "run bash scripts/setup"
    t0 = time.perf_counter()
    out = subprocess.run(["bash", str(REPO / "scripts" / "setup"), "--check"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "steps: none, the environment is up to date" in out.stdout
    t1 = time.perf_counter()
    out = subprocess.run(["bash", str(REPO / "scripts" / "setup")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "pip" not in out.stderr, out.stderr
    assert time.perf_counter() - t1 < 10 and t1 - t0 < 10


def test_scripts_never_install_into_the_system_python():
    for name in ("setup", "dashboard", "test", "py"):
        text = (REPO / "scripts" / name).read_text()
        assert "python3 -m pip" not in text and "pip install" not in text, name
    assert (REPO / ".ci" / "run").read_text().strip().endswith("bash scripts/test")
    assert sys.prefix != sys.base_prefix, "the tests run in a virtual environment"


def test_a_missing_nginx_is_installed_as_root_and_named_otherwise():
    plan = bootstrap.decide(facts(venv_exists=True, venv_python=(3, 11), stamp=HASH, has_chromium=True, has_nginx=False))
    assert plan.steps == ("install-nginx",)
    plan = bootstrap.decide(facts(venv_exists=True, venv_python=(3, 11), stamp=HASH, has_chromium=True,
                                  has_nginx=False, is_root=False))
    assert plan.steps == () and any("nginx-light" in n for n in plan.notes)
