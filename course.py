"""Set up and open the course, or run its tests, with nothing but Python 3.10+ installed.

    python3 course.py          # first time: creates .venv and installs the course; then opens JupyterLab
    python3 course.py test     # installs the test extras if needed, then runs every test (pytest)
    python3 course.py check notebooks/01_picture_to_static.ipynb   # which of your exercises pass (progress shown)

Anything after the command is passed on: ``python3 course.py open --no-browser``,
``python3 course.py test -k scheduler``; ``python3 course.py open --help`` shows JupyterLab's options,
``python3 course.py test --help`` pytest's. Windows: ``py course.py`` works the same way. As root (in a
container, say) JupyterLab is started with ``--allow-root``, which it refuses to start without.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


REQUIRED = ("torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbval", "sklearn", "tqdm", "safetensors",
            "scipy", "course_utils")  # what pyproject.toml installs, by import name


def make_venv(py: Path) -> None:
    """Create .venv, or repair one whose python is missing (say, made by another Python that is gone).

    Symlinks on Linux and macOS, as ``python3 -m venv`` makes them: copying the interpreter over a
    symlink that already points at it fails (shutil.SameFileError). ``upgrade`` keeps what is installed.
    """
    repair = VENV.exists()
    print(("Repairing" if repair else "Creating") + f" the virtual environment in {VENV} ...", flush=True)
    try:
        venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt", upgrade=repair).create(VENV)
    except Exception as err:  # noqa: BLE001  (any failure here gets the same advice)
        sys.exit(f"Could not {'repair' if repair else 'create'} {VENV} ({type(err).__name__}: {err}).\n"
                 f"Delete the folder and run this command again: it makes a fresh one.")
    if not py.exists():
        sys.exit(f"{VENV} has no {py.relative_to(VENV)} even after repairing it: delete the folder and run "
                 "this command again.")
    for stamp in VENV.glob(".installed-*"):  # make the next step check what is installed
        stamp.unlink()


def missing_packages(py: Path, extras: str) -> list[str]:
    """The required packages the venv cannot find (a fast look-up: nothing is imported)."""
    names = REQUIRED + (("pytest", "nbformat", "nbclient", "yaml", "diffusers", "xdist") if extras == "test" else ())
    code = ("import importlib.util as u, sys; "
            "print(' '.join(m for m in sys.argv[1:] if u.find_spec(m) is None))")
    out = subprocess.run([str(py), "-c", code, *names], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return list(names)
    return out.stdout.split()


def ensure_installed(extras: str) -> Path:
    """Create .venv and ``pip install -e .[extras]`` into it, unless pyproject.toml is unchanged since last
    time and every required package is still there."""
    if sys.version_info < (3, 10):  # noqa: UP036  (this file runs on whatever python3 the learner has)
        sys.exit(f"This course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    py = venv_python()
    if not py.exists():
        make_venv(py)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    missing = missing_packages(py, extras) if stamp.exists() and stamp.read_text() == digest else None
    if missing is None or missing:
        target = f".[{extras}]" if extras else "."
        if missing:
            print(f"{', '.join(missing)} missing from {VENV}: installing again ...", flush=True)
        else:
            print(f"Installing the course into {VENV} (first time only: a few minutes) ...", flush=True)
        done = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
                              cwd=ROOT)
        if done.returncode != 0:
            sys.exit(f"pip could not install the course into {VENV} (exit code {done.returncode}; its message "
                     "is above). Check the network connection to the package index, or delete the folder and "
                     "run this command again.")
        stamp.write_text(digest)
    return py


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def root_flag(rest: list[str]) -> list[str]:
    """JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root to bypass.").
    In a container the learner often is root, so pass the flag there, and say so once."""
    if not running_as_root() or any(a.split("=")[0] in ("--allow-root", "--ServerApp.allow_root") for a in rest):
        return []
    print("You are root here (a container?): starting JupyterLab with --allow-root, which it needs as root.",
          flush=True)
    return ["--allow-root"]


def run(cmd: list[str], cwd: Path | None = None) -> int:
    """Run a command to its end; Ctrl-C reaches it too (same terminal), and it decides how to stop and clean up."""
    proc = subprocess.Popen(cmd, cwd=cwd)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def parallel(rest: list[str]) -> list[str]:
    """pytest-xdist's options for the test run: one worker per CPU core, at most 4 (docs/testing.md: measured on 2
    cores), the tests that share a lesson's kernel kept on one worker (tests/conftest.py); none when the learner
    chose (-n, -p no:xdist) or asked for one test file or fewer tests (-k, a path), where starting workers costs
    more than it saves. Each worker's torch then uses its share of the cores (OMP_NUM_THREADS), unless set."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in rest):
        return []
    if any(not a.startswith("-") or a in ("-k", "-m") for a in rest):  # a path, a -k or -m expression
        return []
    cores = os.cpu_count() or 1
    workers = min(cores, 4)
    if workers < 2:
        return []
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // workers)))
    return ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]  # tests/conftest.py's order


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("open", argv)
    if command == "open":
        py = ensure_installed("")
        return run([str(py), "-m", "jupyter", "lab", str(ROOT / "notebooks" / "00_welcome.ipynb"), *root_flag(rest),
                    *rest], cwd=ROOT)
    if command == "check":
        py = ensure_installed("")
        return run([str(py), "-m", "course_utils.grade", *rest])  # in the folder you are in: paths are read from it
    if command == "test":
        py = ensure_installed("test")
        return run([str(py), "-m", "pytest", *parallel(rest), *rest], cwd=ROOT)
    sys.exit(f"unknown command {command!r}: use 'python3 course.py' (open), "
             "'python3 course.py check NOTEBOOK' or 'python3 course.py test'.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
