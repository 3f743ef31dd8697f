"""The launcher ``course.py``: it repairs a broken .venv, notices a missing package, and has its own --help."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_course(monkeypatch, root: Path):
    spec = importlib.util.spec_from_file_location("course_launcher", ROOT / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    monkeypatch.setattr(course, "ROOT", root)
    monkeypatch.setattr(course, "VENV", root / ".venv")
    return course


def test_help_is_the_course_help_not_jupyterlab():
    for flag in ("--help", "-h"):
        out = subprocess.run([sys.executable, str(ROOT / "course.py"), flag], capture_output=True, text=True,
                             timeout=300)  # generous: a busy machine must not turn slowness into a failure
        assert out.returncode == 0, out.stderr
        assert "python3 course.py test" in out.stdout and "python3 course.py check" in out.stdout
        assert "JupyterLab" not in out.stdout.split("\n")[0] and "--ServerApp" not in out.stdout


@pytest.mark.skipif(os.name == "nt", reason="symlinked venvs are the Linux/macOS case")
def test_a_venv_whose_python_is_gone_is_repaired(monkeypatch, tmp_path):
    # the README's CPU recipe makes .venv with `python3 -m venv` (symlinks); then its python disappears
    # (say, the Python it pointed at was upgraded). Copying the interpreter over the remaining python3
    # symlink used to fail with shutil.SameFileError on every run.
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / ".venv")
    (tmp_path / ".venv/bin/python").unlink()
    (tmp_path / ".venv/.installed-base").write_text("stale")
    course = load_course(monkeypatch, tmp_path)
    monkeypatch.setattr(course.venv, "EnvBuilder", _no_pip_builder(course.venv.EnvBuilder))
    py = course.venv_python()
    course.make_venv(py)
    assert py.exists() and py.is_symlink() and Path(py).resolve() == base
    assert subprocess.run([str(py), "-c", "print(1)"], capture_output=True, text=True).stdout.strip() == "1"
    assert not list((tmp_path / ".venv").glob(".installed-*")), "the stamp must go, so what is installed is checked"


def _no_pip_builder(cls):
    """EnvBuilder as course.py calls it, but without ensurepip (seconds saved; the repair is the point)."""

    def build(**kw):
        kw["with_pip"] = False
        return cls(**kw)

    return build


def test_a_missing_package_is_named_and_installed_again(monkeypatch, tmp_path, capsys):
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(tmp_path / ".venv")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    course = load_course(monkeypatch, tmp_path)
    py = course.venv_python()
    missing = course.missing_packages(py, "test")
    assert "torch" in missing and "course_utils" in missing and "diffusers" in missing
    # with an up-to-date stamp, a venv without torch is installed into again, with the reason said first
    import hashlib

    digest = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes()).hexdigest()
    (tmp_path / ".venv/.installed-base").write_text(digest)
    calls = []

    def fake_run(cmd, cwd=None, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="torch", stderr="")

    monkeypatch.setattr(course.subprocess, "run", fake_run)
    monkeypatch.setattr(course, "missing_packages", lambda py, extras: ["torch"])
    course.ensure_installed("")
    assert any("pip" in c and "install" in c for c in calls), calls
    assert "torch missing from" in capsys.readouterr().out


def test_a_failed_install_says_what_to_do(monkeypatch, tmp_path):
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(tmp_path / ".venv")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    course = load_course(monkeypatch, tmp_path)
    monkeypatch.setattr(course.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(SystemExit, match="pip could not install the course"):
        course.ensure_installed("")


def test_the_install_leaves_the_checkout_clean():
    # `pip install -e .` writes course_utils.egg-info/: it must be ignored, never tracked
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if ".egg-info" in f]
    ignored = subprocess.run(["git", "check-ignore", "-q", "course_utils.egg-info/PKG-INFO"], cwd=ROOT)
    assert ignored.returncode == 0, "course_utils.egg-info/ must be in .gitignore"


@pytest.mark.parametrize("root, rest, flag", [
    (True, [], ["--allow-root"]),  # a container where the learner is root: JupyterLab refuses to start without it
    (True, ["--allow-root"], []),  # given already: not twice
    (True, ["--ServerApp.allow_root=True"], []),
    (False, [], []),  # a normal user: nothing added
])
def test_open_as_root_passes_allow_root(monkeypatch, tmp_path, capsys, root, rest, flag):
    course = load_course(monkeypatch, tmp_path)
    calls = []
    monkeypatch.setattr(course, "running_as_root", lambda: root)
    monkeypatch.setattr(course, "ensure_installed", lambda extras: Path("python"))
    monkeypatch.setattr(course, "run", lambda cmd, cwd=None: calls.append(cmd) or 0)
    assert course.main(["open", *rest]) == 0
    (cmd,) = calls
    assert cmd[:3] == ["python", "-m", "jupyter"]
    assert cmd.count("--allow-root") == len(flag) + rest.count("--allow-root")
    assert ("--allow-root" in capsys.readouterr().out) == bool(flag)


def test_the_test_run_uses_a_worker_per_core_unless_told_otherwise(monkeypatch, tmp_path):
    course = load_course(monkeypatch, tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "unset")  # remembered, so the test leaves the environment as it was
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(course.os, "cpu_count", lambda: 2)
    assert course.parallel([]) == ["-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder"]
    assert course.os.environ["OMP_NUM_THREADS"] == "1"  # each worker's torch: its share of the 2 cores
    assert course.parallel(["--durations=5"]) == ["-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder"]
    for chosen in (["-n", "0"], ["-p", "no:xdist"], ["-k", "scheduler"], ["tests/test_scheduler.py"]):
        assert course.parallel(chosen) == [], chosen
    monkeypatch.setattr(course.os, "cpu_count", lambda: 16)
    assert course.parallel([])[:2] == ["-n", "4"]  # at most 4 workers: memory, not cores, limits a laptop
    monkeypatch.setattr(course.os, "cpu_count", lambda: 1)
    assert course.parallel([]) == []
