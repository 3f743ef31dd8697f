"""Check your exercises: run a notebook from top to bottom with nbval and list which exercises pass.

    python -m course_utils.grade notebooks/01_picture_to_static.ipynb

Underneath this is ``pytest --nbval-lax --nbval-current-env NOTEBOOK`` (nbval runs every cell in a
fresh kernel; a check cell that raises fails). This script only turns pytest's report into one line
per exercise. Save the notebook first: the grader reads the file, not your open kernel.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ANSI = re.compile(r"(\x1b|#x1B)\[[0-9;]*m")  # colour codes, raw or as escaped in the XML


def run_nbval(notebook: Path, junit: Path, timeout: int = 600) -> int:
    """Run nbval on one notebook, writing a JUnit XML report; returns pytest's exit code."""
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q", "-p", "no:cacheprovider",
           f"--nbval-cell-timeout={timeout}", f"--junitxml={junit}", "-o", "addopts=", "--rootdir",
           str(notebook.parent), str(notebook)]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def cell_results(junit: Path) -> dict[int, str | None]:
    """Map code-cell index -> None (passed) or the first readable line of its failure."""
    results: dict[int, str | None] = {}
    for case in ET.parse(junit).iter("testcase"):
        m = re.search(r"Cell (\d+)", case.get("name", ""))
        if not m:
            continue
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            results[int(m.group(1))] = None
            continue
        text = ANSI.sub("", (bad.get("message") or "") + "\n" + (bad.text or ""))
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        mine = [ln for ln in lines if "Exercise" in ln and ":" in ln and not ln.startswith("checks.")]
        errors = [ln for ln in lines if re.match(r"^\w*(Error|Exception|Failed)\b", ln)]
        results[int(m.group(1))] = (mine or errors or lines or ["failed"])[-1]
    return results


def _label(exercise: dict) -> str:
    """"Exercise 1.1 heat_blur", the number from the check function's docstring."""
    from . import checks

    doc = getattr(getattr(checks, f"check_{exercise['check']}", None), "__doc__", None) or ""
    m = re.match(r"(Exercise \d+\.\d+)", doc)
    return f"{m.group(1)} {exercise['function']}" if m else exercise["function"]


def _reason(failure: str | None) -> str | None:
    if failure is None:
        return None
    m = re.search(r"Exercise \d+\.\d+ \([^)]*\): (.*)", failure)
    return m.group(1) if m else failure


def grade(notebook: Path) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """([(exercise, None or why it fails)], [(which cell, why) for failing cells outside the exercises])."""
    import nbformat

    from .exercises import exercise_cells

    nb = nbformat.read(notebook, as_version=4)
    exercises = exercise_cells(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "report.xml"
        run_nbval(notebook, junit)
        if not junit.exists():
            raise SystemExit(f"nbval did not run on {notebook}: is nbval installed in this environment?")
        results = cell_results(junit)
    report, mine = [], set()
    for ex in exercises:
        mine.update({ex["check_cell"], ex["exercise_cell"]})
        own = results.get(ex["exercise_cell"]) if ex["exercise_cell"] is not None else None
        if own is not None:
            why = f"the exercise cell itself does not run: {own}"
        else:
            why = _reason(results.get(ex["check_cell"], "the check cell did not run"))
        report.append((_label(ex), why))
    other = []
    for i, msg in sorted(results.items()):
        if msg is not None and i not in mine:
            first = code[i].source.strip().splitlines()[0] if code[i].source.strip() else ""
            other.append((f"the cell starting `{first[:60]}`", msg))
    return report, other


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook(s) to check, e.g. notebooks/00_welcome.ipynb")
    args = parser.parse_args(argv)
    all_ok = True
    for nb in args.notebooks:
        if not nb.exists():
            print(f"{nb}: no such notebook. Run this from the course folder, e.g. notebooks/00_welcome.ipynb.")
            return 2
        print(f"{nb}  (running it from a fresh kernel, this takes a little while)")
        exercises, other = grade(nb)
        for name, failure in exercises:
            status = "passed" if failure is None else f"not yet: {failure}"
            print(f"  {name:<40} {status}")
        for where, msg in other:
            print(f"  also failed, outside the exercises: {where}: {msg}")
        passed = sum(f is None for _, f in exercises)
        print(f"  {passed} of {len(exercises)} exercises pass.")
        all_ok &= passed == len(exercises) and not other
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
