"""Set up and open the course, or run its tests, with nothing but Python 3.10+ installed.

    python3 course.py          # first time: creates .venv and installs the course; then opens JupyterLab
    python3 course.py test     # installs the test extras if needed, then runs every test (pytest)
    python3 course.py check notebooks/01_picture_to_static.ipynb   # which of your exercises pass (progress shown)

Anything after the command is passed on: ``python3 course.py open --no-browser``,
``python3 course.py test -k scheduler``. Windows: ``py course.py`` works the same way.
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


def ensure_installed(extras: str) -> Path:
    """Create .venv and ``pip install -e .[extras]`` into it, unless pyproject.toml is unchanged since last time."""
    if sys.version_info < (3, 10):  # noqa: UP036  (this file runs on whatever python3 the learner has)
        sys.exit(f"This course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    py = venv_python()
    if not py.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        target = f".[{extras}]" if extras else "."
        print(f"Installing the course into {VENV} (first time only: a few minutes) ...", flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
                       cwd=ROOT, check=True)
        stamp.write_text(digest)
    return py


def run(cmd: list[str], cwd: Path | None = None) -> int:
    """Run a command to its end; Ctrl-C reaches it too (same terminal), and it decides how to stop and clean up."""
    proc = subprocess.Popen(cmd, cwd=cwd)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("open", argv)
    if command == "open":
        py = ensure_installed("")
        return run([str(py), "-m", "jupyter", "lab", str(ROOT / "notebooks" / "00_welcome.ipynb"), *rest], cwd=ROOT)
    if command == "check":
        py = ensure_installed("")
        return run([str(py), "-m", "course_utils.grade", *rest])  # in the folder you are in: paths are read from it
    if command == "test":
        py = ensure_installed("test")
        return run([str(py), "-m", "pytest", *rest], cwd=ROOT)
    sys.exit(f"unknown command {command!r}: use 'python3 course.py' (open), "
             "'python3 course.py check NOTEBOOK' or 'python3 course.py test'.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
