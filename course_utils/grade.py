"""Check your exercises: run a lesson notebook from top to bottom and list which exercises pass.

    python3 course.py check notebooks/01_picture_to_static.ipynb      (or: python -m course_utils.grade ...)

Save the notebook first: the grader reads the file, not your open kernel. A path is read from the
folder you are in. It runs the lesson with the short training of the course's tests (the checks are the
point here, not the pictures): from 10 s (Lesson 0) to a few minutes (Lessons 2 and 3) on a 2-core CPU.

How it works (not essential on first read):

1. **The exercises come from the course, not from your copy.** The grader finds which lesson your
   notebook is (by its file name, else by its content) and takes the list of exercises and the exact
   text of each check cell from that lesson's source, ``notebooks/solutions/<lesson>.ipynb``.
2. **It grades a copy.** In a temporary copy, written next to your notebook as ``.grading-<name>``
   (so relative paths such as ``runs/...`` work, and deleted afterwards, also on Ctrl-C):
   - each exercise cell is found by the function it defines (tags do not matter);
   - a check cell that is still there word for word is used where it is; a check cell that was
     changed, emptied or deleted is put back as the course wrote it, right after the exercise cell
     (replacing the changed cell), and the exercise is reported as *not yet* with the line to restore:
     a changed check never counts as passed, and a deleted one does not drop out of the count;
   - nbval's skip and raises-exception markers are removed, so no cell can be skipped or allowed to fail;
   - the folder's ``runs/`` is put back as it was afterwards (Lesson 2 saves its model there, and the
     grader's shortly trained one must not replace yours);
   - the lesson's long settings (``DIGIT_STEPS = 3000`` ...) are shortened as in the tests
     (``course_utils.exercises.FAST_SETTINGS``); a setting line you edited is left as you wrote it,
     and the grader says so.
3. **It runs the copy with nbval** (``pytest --nbval-lax --nbval-current-env``: every cell in order in
   one fresh kernel; a cell that raises fails), with ``COURSE_CHECKS=strict`` so that a failing check
   raises, and ``MPLBACKEND=Agg``. This module is also the small pytest plugin (``-p course_utils.grade``)
   that reports each cell as it starts and ends, for the progress line, and notices a dead kernel
   at once (nbval would wait for the cell time limit).
4. **It reports one line per exercise**, one line per other cell that failed, a cell that ran longer
   than the per-cell limit (``--cell-timeout``, 300 s by default) or stopped the kernel in one line,
   and bad input (not a notebook, not a lesson) in one line with exit code 2.

Exit code: 0 when every exercise passes and nothing else fails, 1 otherwise, 2 for bad input, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CELL_TIMEOUT = 300  # s per cell; the longest cell of a shortened lesson took 84 s on a busy 2-core CPU
EVENTS_ENV = "COURSE_GRADE_EVENTS"  # where the plugin half of this module writes its events (JSON lines)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NBVAL_MARKERS = re.compile(r"^\s*#+\s*(NBVAL_\w+|PYTEST_VALIDATE_IGNORE_OUTPUT)\s*$", re.M)
NBVAL_TAGS = {"nbval-ignore-output", "nbval-check-output", "nbval-raises-exception", "nbval-skip",
              "raises-exception", "pytest-validate-ignore-output"}


class BadInput(Exception):
    """The notebook cannot be graded; the message is the one line to show."""


@dataclass
class Exercise:
    label: str  # "Exercise 1.2 forward_step"
    function: str  # the learner's function, "forward_step"
    check_source: str  # the check cell as the course wrote it
    exercise_cell: int | None = None  # code-cell index in the graded copy (nbval's "Cell N")
    check_cell: int | None = None
    check_changed: bool = False  # the learner's check cell was changed or deleted (put back in the copy)
    own_cells: set[int] = field(default_factory=set)  # cells whose failures belong to this exercise


@dataclass
class Plan:
    """What to run (the graded copy) and how to read its results."""

    lesson: str  # "02_denoiser.ipynb"
    nb: object  # the graded copy (an nbformat node)
    exercises: list[Exercise]
    notes: list[str]  # one line each, shown before the results
    unshortened: list[str]  # setting lines left as the learner wrote them


@dataclass
class Result:
    exercises: list[tuple[str, str | None]]  # (label, None when it passes, else why not)
    other: list[tuple[str, str]]  # (which cell, what went wrong) outside the exercises
    notes: list[str]


# ----------------------------------------------------------------------------- reading the notebook


def load_notebook(path: Path):
    """The notebook at ``path`` (an nbformat node), or BadInput with one line saying what is wrong."""
    import nbformat

    if not path.exists():
        raise BadInput(f"{path}: no such file (the path is read from the folder you are in, {Path.cwd()})")
    if path.is_dir():
        raise BadInput(f"{path}: this is a folder; name a notebook in it, e.g. {path / '00_welcome.ipynb'}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot be read as a notebook ({type(e).__name__}: {e})") from None
    if not text.strip():
        raise BadInput(f"{path}: the file is empty; was it saved? (a notebook is never empty)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several kinds (NotJSONError, ValidationError, KeyError, ...)
        why = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
        raise BadInput(f"{path}: not a Jupyter notebook ({why})") from None
    return nb


def _norm(source: str) -> str:
    """A cell's source without trailing spaces and blank lines, for comparing cells."""
    return "\n".join(ln.rstrip() for ln in source.strip().splitlines() if ln.strip())


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def find_lesson(path: Path, nb) -> Path:
    """The solution notebook of the lesson that ``nb`` (read from ``path``) is a copy of."""
    from .exercises import make_learner_notebook, solution_notebooks

    solutions = solution_notebooks()
    for s in solutions:
        if s.name == path.name:
            return s
    # renamed copies ("02_denoiser (1).ipynb"): the lesson whose text cells are most often found verbatim
    mine = {_norm(c.source) for c in nb.cells}
    best, best_share = None, 0.0
    for s in solutions:
        import nbformat

        ref = make_learner_notebook(nbformat.read(s, as_version=4))
        texts = [_norm(c.source) for c in ref.cells if c.cell_type == "markdown" and c.source.strip()]
        share = sum(t in mine for t in texts) / max(len(texts), 1)
        if share > best_share:
            best, best_share = s, share
    if best is None or best_share < 0.5:
        names = ", ".join(s.name for s in solutions)
        raise BadInput(f"{path}: not one of the course's lessons ({names}); grade a lesson's notebook")
    return best


# ----------------------------------------------------------------------------- the graded copy


def _label(ref_cells: list, index: int, function: str) -> str:
    """"Exercise 1.2 forward_step": the number from the nearest "**Exercise N.M" or "### Exercise N.M" heading
    above the exercise cell."""
    for cell in reversed(ref_cells[:index]):
        m = re.search(r"(?:\*\*|^#+ +)Exercise (\d+\.\d+)", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return f"Exercise {m.group(1)} {function}"
    return f"Exercise {function}"


def _position(cells: list, cell) -> int:
    """The index of this very cell (cells are dicts: two cells with the same content compare equal)."""
    return next(i for i, c in enumerate(cells) if c is cell)


def _defines(source: str, function: str) -> bool:
    return re.search(rf"^def {re.escape(function)}\(", source, re.M) is not None


def plan(nb, solution: Path, shorten: bool = True) -> Plan:
    """The copy of the learner's ``nb`` to grade, with the course's check cells in place (see the module doc)."""
    import copy

    import nbformat

    from .exercises import (
        EXERCISE_TAG,
        apply_fast_settings,
        exercise_cells,
        make_learner_notebook,
        strip_solution,
        tags,
    )

    ref = make_learner_notebook(nbformat.read(solution, as_version=4))  # the untouched learner notebook
    ref_code = _code(ref)
    known = {_norm(c.source) for c in ref.cells}
    nb = copy.deepcopy(nb)
    cells = list(nb.cells)
    exercises: list[tuple[Exercise, object | None, list]] = []  # (exercise, its cell, its intact check cells)
    for e in exercise_cells(ref):
        function = e["function"]
        check_source = strip_solution(ref_code[e["check_cell"]].source).strip()
        ex = Exercise(_label(ref.cells, ref.cells.index(ref_code[e["exercise_cell"]]), function) if
                      e["exercise_cell"] is not None else function, function, check_source)
        defining = [c for c in cells if c.cell_type == "code" and _defines(c.source, function)]
        tagged = [c for c in defining if EXERCISE_TAG in tags(c)]
        ex_cell = (tagged or defining or [None])[0]
        intact = [c for c in cells if c.cell_type == "code" and _norm(c.source) == _norm(check_source)]
        if ex_cell is not None:
            here = _position(cells, ex_cell)
            after = cells[here + 1:]
            if not any(c is a for c in intact for a in after):
                ex.check_changed = True
                new = nbformat.v4.new_code_cell(check_source)
                following = next((c for c in after if c.cell_type == "code"), None)
                replace = (following is not None and _norm(following.source) not in known
                           and not any(_defines(following.source, x["function"]) for x in exercise_cells(ref)))
                if replace:  # the changed check cell: put the course's back in its place
                    cells[_position(cells, following)] = new
                else:  # deleted: put it back right after the exercise cell
                    cells.insert(here + 1, new)
                intact = [*intact, new]
        exercises.append((ex, ex_cell, intact))
    for c in cells:  # no skipping, no "allowed to fail"
        if c.cell_type == "code":
            c.source = NBVAL_MARKERS.sub("# (an nbval marker, removed by the grader)", c.source)
        if "tags" in c.get("metadata", {}):
            c.metadata["tags"] = [t for t in c.metadata["tags"] if t not in NBVAL_TAGS]
    nb.cells = cells
    code = _code(nb)
    index = {id(c): i for i, c in enumerate(code)}
    for ex, ex_cell, intact in exercises:
        ex.exercise_cell = index[id(ex_cell)] if ex_cell is not None else None
        after = [index[id(c)] for c in intact if ex.exercise_cell is None or index[id(c)] > ex.exercise_cell]
        ex.check_cell = after[0] if after else None
        ex.own_cells = {index[id(c)] for c in intact} | ({ex.exercise_cell} - {None})
    notes, unshortened = [], []
    if shorten:
        unshortened = apply_fast_settings(nb, solution.name)
        if unshortened:
            lines = ", ".join(f"`{s}`" for s in unshortened)
            notes.append(f"your notebook changed the setting {lines}, so it runs as you wrote it, "
                         "not shortened: this can take several minutes")
    return Plan(solution.name, nb, [ex for ex, _, _ in exercises], notes, unshortened)


# ----------------------------------------------------------------------------- running it (nbval)


def _first_line(source: str) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _reason(text: str) -> str:
    """The readable line of a failed cell's report: the check's message, else the exception's last line."""
    lines = [ln.strip() for ln in ANSI.sub("", text).splitlines() if ln.strip()]
    mine = [ln for ln in lines if re.search(r"Exercise \d+\.\d+ \([^)]*\): ", ln) and not ln.startswith("checks.")]
    if mine:
        return re.search(r"Exercise \d+\.\d+ \([^)]*\): (.*)", mine[-1]).group(1)
    errors = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Failed|Interrupt|Exit)\b", ln)]
    return (errors or lines or ["failed"])[-1]


@dataclass
class CellResult:
    failure: str | None  # None: passed
    kind: str = "ok"  # ok, failed, timeout, dead (the kernel died in it), not-run


class Progress:
    """One updating status line on a terminal (nothing elsewhere), and result lines in between."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.shown = 0
        self.last = ""

    def status(self, text: str) -> None:
        if self.tty and text != self.last:
            self.last = text
            width = shutil.get_terminal_size((80, 20)).columns - 1
            text = text[:width]
            self.stream.write("\r" + text + " " * max(self.shown - len(text), 0) + "\r" + text)
            self.shown = len(text)
            self.stream.flush()

    def line(self, text: str) -> None:
        self.clear()
        print(text, file=self.stream, flush=True)

    def clear(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.shown, self.last = 0, ""
            self.stream.flush()


class KeepRuns:
    """Put the folder's ``runs/`` back as it was after grading: Lesson 2 saves its (here shortly trained)
    model to ``runs/digits_unet.safetensors``, which must not replace the learner's own model."""

    def __init__(self, folder: Path, backup: Path) -> None:
        self.runs, self.backup = folder / "runs", backup
        self.existed = self.runs.is_dir()
        if self.existed:
            shutil.copytree(self.runs, backup, symlinks=True)  # copy2: keeps the times, to tell what changed

    @staticmethod
    def _files(root: Path) -> dict[Path, tuple[int, int]]:
        return {p.relative_to(root): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in root.rglob("*") if p.is_file() and not p.is_symlink()}

    def restore(self) -> None:
        if not self.runs.is_dir():
            if self.existed:
                shutil.copytree(self.backup, self.runs, symlinks=True)
            return
        if not self.existed:
            shutil.rmtree(self.runs, ignore_errors=True)  # the grading run made it
            return
        before, now = self._files(self.backup), self._files(self.runs)
        for rel, stamp in now.items():
            if rel not in before:
                (self.runs / rel).unlink(missing_ok=True)
            elif stamp != before[rel]:
                shutil.copy2(self.backup / rel, self.runs / rel)
        for rel in before.keys() - now.keys():
            (self.runs / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.backup / rel, self.runs / rel)


def run_copy(plan: Plan, folder: Path, name: str, cell_timeout: float, on_cell=None, progress=None
             ) -> dict[int, CellResult]:
    """Write the graded copy into ``folder`` as ``.grading-<name>``, run it with nbval, delete it; the result
    of each code cell that ran. ``on_cell(i, result)`` is called as each cell finishes."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        tmp = Path(tmp)
        target = folder / f".grading-{name}"
        try:
            nbformat.write(plan.nb, target)
        except OSError:  # a read-only folder: grade in a temporary one (relative paths may then not resolve)
            target = tmp / f".grading-{name}"
            nbformat.write(plan.nb, target)
        try:
            keep = KeepRuns(target.parent, tmp / "runs-backup")
            try:
                events, log = tmp / "events.jsonl", tmp / "pytest.log"
                events.touch()
                (tmp / "pytest.ini").write_text("[pytest]\n")  # not the course's or the folder's pytest settings
                cmd = [sys.executable, "-m", "pytest", "-p", "course_utils.grade", "-p", "no:cacheprovider",
                       "--noconftest", "-c", str(tmp / "pytest.ini"), "--rootdir", str(target.parent), "-q",
                       "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout:g}", str(target)]
                env = {**os.environ, "COURSE_CHECKS": "strict", "MPLBACKEND": "Agg", EVENTS_ENV: str(events)}
                with open(log, "wb") as out:
                    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=target.parent, env=env)
                    try:
                        results = _follow(proc, events, _code(plan.nb), on_cell, progress, cell_timeout)
                    finally:
                        if proc.poll() is None:  # Ctrl-C: pytest got it too and stops its kernel; give it a moment
                            try:
                                proc.wait(15)
                            except subprocess.TimeoutExpired:
                                proc.kill()
                                proc.wait()
            finally:
                keep.restore()
        finally:
            if progress is not None:
                progress.clear()
            target.unlink(missing_ok=True)
        if not results:
            tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
            raise BadInput("nbval did not run the notebook: " + (tail[-1] if tail else "no output")
                           + " (is the course installed? python3 course.py installs it)")
    return results


def _follow(proc: subprocess.Popen, events: Path, code: list, on_cell, progress, cell_timeout: float
            ) -> dict[int, CellResult]:
    """Read the plugin's events while nbval runs: show progress, collect each cell's result, and stop the run
    when the kernel has died."""
    results: dict[int, CellResult] = {}
    start, offset, pending, running, since = time.monotonic(), 0, "", None, time.monotonic()
    while True:
        finished = proc.poll() is not None
        if progress is not None:  # the clock ticks while a long cell runs
            m, s = divmod(int(time.monotonic() - start), 60)
            doing = ("starting a fresh kernel" if running is None else
                     f"running cell {running + 1} of {len(code)}: `{_first_line(code[running].source)}`")
            progress.status(f"  [{m}:{s:02d}] {doing}")
        with open(events, encoding="utf-8") as f:
            f.seek(offset)
            chunk = f.read()
            offset = f.tell()
        *lines, pending = (pending + chunk).split("\n")
        for ev in map(json.loads, lines):
            i = ev.get("cell")
            if i is None:
                continue
            if ev["event"] == "start" and i < len(code):
                running, since = i, time.monotonic()
            elif ev["event"] == "done":
                results[i] = _cell_result(ev)
                if on_cell:
                    on_cell(i, results[i])
            elif ev["event"] == "dead" and i not in results:
                # nbval stops a kernel it could not interrupt at the time limit: that is a timeout
                timed_out = time.monotonic() - since >= cell_timeout
                results[i] = CellResult("timeout", "timeout") if timed_out else CellResult("the kernel died", "dead")
                proc.terminate()  # nbval would wait for the cell time limit
                proc.wait()
                return results
        if finished:
            return results
        time.sleep(0.2)


def _cell_result(ev: dict) -> CellResult:
    if ev["outcome"] == "passed" or (ev["outcome"] == "skipped" and not ev.get("wasxfail")):
        return CellResult(None)
    text = ANSI.sub("", ev.get("text") or "")
    if "Kernel dead on test start" in text:
        return CellResult("not run: the kernel had stopped", "not-run")
    if re.search(r"Timeout of [\d.]+ seconds exceeded (executing|while executing) cell", text):
        return CellResult("timeout", "timeout")
    if "exceeded waiting for output" in text:
        return CellResult("the kernel stopped answering (no output for 5 s after the cell)", "dead")
    return CellResult(_reason(text), "failed")


# ----------------------------------------------------------------------------- grading


def _stopped(what: str, timeout: float, plan: Plan) -> str:
    extra = (" (the lesson ran unshortened, as your notebook sets it: --cell-timeout gives each cell longer)"
             if plan.unshortened else "")
    return f"{what} ran longer than {timeout:g} s and was stopped: is there an endless loop?{extra}"


def exercise_verdict(ex: Exercise, results: dict[int, CellResult], timeout: float, plan: Plan) -> str | None:
    """None when the exercise passes, else one line saying why not."""
    if ex.exercise_cell is None:
        return (f"no cell defines `{ex.function}` any more: put the exercise cell back "
                "(a fresh copy of the lesson has it), then run its check")
    own = results.get(ex.exercise_cell)
    check = results.get(ex.check_cell) if ex.check_cell is not None else None
    if own is not None and own.kind == "timeout":
        why = _stopped("the exercise cell", timeout, plan)
    elif own is not None and own.kind == "dead":
        why = "the exercise cell stopped the kernel (does it exit Python, or use too much memory?)"
    elif own is not None and own.kind == "not-run":
        why = "not checked: an earlier cell stopped the kernel (see below)"
    elif own is not None and own.failure is not None:
        why = f"the exercise cell itself does not run: {own.failure}"
    elif check is None or check.kind == "not-run":
        why = "not checked: the grader stopped before this check ran (see below)"
    elif check.kind == "timeout":
        why = _stopped(f"its check (calling your `{ex.function}`)", timeout, plan)
    elif check.kind == "dead":
        why = (f"the kernel died while the check called your `{ex.function}` "
               "(does it exit Python, or use too much memory?)")
    else:
        why = check.failure
    if ex.check_changed:
        then = "it passes" if why is None else why
        number = " ".join(ex.label.split()[:2]) if re.match(r"Exercise \d", ex.label) else ex.label
        return (f"the check cell of {number} was changed or deleted; "
                f"restore it: `{ex.check_source}` (run as the course wrote it: {then})")
    return why


def other_failures(plan: Plan, results: dict[int, CellResult], timeout: float) -> list[tuple[str, str]]:
    code = _code(plan.nb)
    mine = set().union(*(ex.own_cells for ex in plan.exercises)) if plan.exercises else set()
    out = []
    for i, r in sorted(results.items()):
        if r.failure is None or i in mine or r.kind == "not-run":
            continue
        where = f"the cell starting `{_first_line(code[i].source)}`"
        if r.kind == "timeout":
            out.append(("stopped", _stopped(where, timeout, plan)))
        elif r.kind == "dead":
            out.append(("stopped", f"{where} stopped the kernel (does it exit Python, or use too much memory?); "
                                   "the cells after it did not run"))
        else:
            out.append(("also failed", f"{where}: {r.failure}"))
    return out


def prepare(path: Path, shorten: bool = True) -> Plan:
    """Read the notebook at ``path``, find its lesson, and plan the graded copy; BadInput when it cannot be graded."""
    path = Path(path)
    nb = load_notebook(path)
    return plan(nb, find_lesson(path, nb), shorten=shorten)


def grade_notebook(path: Path, cell_timeout: float = DEFAULT_CELL_TIMEOUT, shorten: bool = True,
                   progress: Progress | None = None, on_exercise=None, planned: Plan | None = None) -> Result:
    """Grade the notebook at ``path`` (see the module docstring); BadInput when it cannot be graded.
    ``on_exercise(label, verdict)`` is called as each exercise's check finishes."""
    path = Path(path)
    p = planned or prepare(path, shorten)
    verdicts: dict[int, str | None] = {}  # exercise number -> verdict, as soon as its check has run
    so_far: dict[int, CellResult] = {}

    def on_cell(i: int, r: CellResult) -> None:
        so_far[i] = r
        for k, ex in enumerate(p.exercises):
            if k not in verdicts and ex.check_cell == i:
                verdicts[k] = exercise_verdict(ex, so_far, cell_timeout, p)
                if on_exercise:
                    on_exercise(ex.label, verdicts[k])

    results = run_copy(p, path.resolve().parent, path.name, cell_timeout, on_cell=on_cell, progress=progress)
    exercises = []
    for k, ex in enumerate(p.exercises):
        if k not in verdicts:
            verdicts[k] = exercise_verdict(ex, results, cell_timeout, p)
            if on_exercise:
                on_exercise(ex.label, verdicts[k])
        exercises.append((ex.label, verdicts[k]))
    return Result(exercises, other_failures(p, results, cell_timeout), p.notes)


TESTS_CELL_TIMEOUT = 900  # s; the longest cell of a shortened lesson took 84 s with the 2 cores shared by ~7 busy
# processes (Lesson 2's training cell; about 20 s on an idle machine): ten times that, so a slow machine passes


def grade(notebook: Path, cell_timeout: float = TESTS_CELL_TIMEOUT) -> tuple[list, list]:
    """([(exercise, None or why not)], [(which cell, why) outside the exercises]), quietly (for the tests, which
    allow each cell longer than a learner's run does)."""
    r = grade_notebook(notebook, cell_timeout)
    return r.exercises, [(where, why) for where, why in r.other]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 course.py check", description=__doc__.split("\n\n")[0],
        epilog=f"Each cell may run for --cell-timeout seconds (default {DEFAULT_CELL_TIMEOUT} s, that is "
               f"{DEFAULT_CELL_TIMEOUT // 60} minutes) before it is stopped. A lesson takes from 10 s (Lesson 0) to "
               "a few minutes (Lessons 2 and 3) on a 2-core CPU.")
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook(s) to check, e.g. notebooks/00_welcome.ipynb")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, metavar="SECONDS",
                        help=f"stop a cell that runs longer than this (default {DEFAULT_CELL_TIMEOUT} s)")
    parser.add_argument("--full", action="store_true",
                        help="run the lesson's full settings (full training: several minutes), not the short ones")
    args = parser.parse_args(argv)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    all_ok = True
    for nb in args.notebooks:
        progress = Progress()

        def show(name: str, why: str | None, progress: Progress = progress) -> None:
            verdict = "passed" if why is None else why if why.startswith("not checked") else f"not yet: {why}"
            progress.line(f"  {name:<36} {verdict}")

        try:
            planned = prepare(nb, shorten=not args.full)
            print(f"{nb}  (Lesson {planned.lesson[:2].lstrip('0') or '0'}: running it in a fresh kernel, "
                  f"{'with its full settings' if args.full else 'with short training'})", flush=True)
            for note in planned.notes:
                print(f"  note: {note}", flush=True)
            result = grade_notebook(nb, args.cell_timeout, progress=progress, on_exercise=show, planned=planned)
        except BadInput as e:
            progress.clear()
            print(e, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            progress.clear()
            print("stopped (Ctrl-C); nothing graded.", file=sys.stderr)
            return 130
        for what, msg in result.other:
            print(f"  {what}: {msg}")
        passed = sum(f is None for _, f in result.exercises)
        print(f"  {passed} of {len(result.exercises)} exercises pass.", flush=True)
        all_ok &= passed == len(result.exercises) and not result.other
    return 0 if all_ok else 1


# ----------------------------------------------------------------------------- the pytest plugin half
# Loaded into the nbval run with ``-p course_utils.grade``; does nothing unless COURSE_GRADE_EVENTS is set.

_plugin: dict = {}


def _emit(**event) -> None:
    f = _plugin.get("file")
    if f is not None:
        with _plugin["lock"]:
            f.write(json.dumps(event) + "\n")
            f.flush()


def _cell_number(nodeid: str) -> int | None:
    m = re.search(r"::Cell (\d+)$", nodeid)
    return int(m.group(1)) if m else None


def _watch_kernel() -> None:
    """Report at once when the kernel process of the running cell has died (nbval notices only at the time limit)."""
    while not _plugin.get("stop"):
        item = _plugin.get("item")
        kernel = getattr(getattr(item, "parent", None), "kernel", None)
        process = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "process", None)
        if process is not None and process.poll() is not None and not _plugin.get("reported"):
            if _plugin.get("item") is item:  # still running that cell
                _plugin["reported"] = True
                _emit(event="dead", cell=getattr(item, "cell_num", None))
        time.sleep(0.5)


def pytest_configure(config) -> None:
    path = os.environ.get(EVENTS_ENV)
    if path and "file" not in _plugin:
        _plugin.update(file=open(path, "a", encoding="utf-8"), lock=threading.Lock())
        threading.Thread(target=_watch_kernel, daemon=True).start()


def pytest_runtest_setup(item) -> None:
    _plugin["item"] = item
    _emit(event="start", cell=getattr(item, "cell_num", None))


def pytest_runtest_logreport(report) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _plugin["item"] = None  # the cell is done: nbval stops the kernel after the last one, which is no death
        _emit(event="done", cell=_cell_number(report.nodeid), outcome=report.outcome,
              wasxfail=bool(getattr(report, "wasxfail", None)), text=report.longreprtext if report.failed or
              getattr(report, "wasxfail", None) else "")


def pytest_unconfigure(config) -> None:
    _plugin["stop"] = True
    f = _plugin.pop("file", None)
    if f is not None:
        f.close()


if __name__ == "__main__":
    sys.exit(main())
