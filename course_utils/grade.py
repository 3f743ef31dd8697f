"""Check your exercises: run a lesson notebook from top to bottom and list which exercises pass.

    python3 course.py check notebooks/01_picture_to_static.ipynb      (or: python -m course_utils.grade ...)
    python3 course.py check notebooks/06_straight_paths.ipynb --exercise 6.2    (one exercise, in seconds)

Save the notebook first: the grader reads the file, not your open kernel. A path is read from the
folder you are in. It runs the lesson with the short training of the course's tests (the checks are the
point here, not the pictures): from 10 s (Lesson 0) to a few minutes (Lessons 2 and 3) on a 2-core CPU.
``--exercise 6.2`` (or ``--exercise euler_step``) checks that one exercise only, as in point 5 below,
without running the notebook: a few seconds. ``--full`` runs the lesson's full training (each lesson then
allows its cells ``FULL_CELL_TIMEOUT``, ten times its training on an idle 2-core CPU).

How it works (not essential on first read):

1. **The exercises come from the course, not from your copy.** The grader finds which lesson your
   notebook is (by its file name, unless its content is clearly another lesson's: a lesson saved under
   another lesson's name is graded as the lesson it is, and the grader says so; a renamed copy by its
   content) and takes the list of exercises and the exact text of each check cell from that lesson's
   source, ``notebooks/solutions/<lesson>.ipynb``.
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
   at once (nbval would wait for the cell time limit). pytest runs in a process session of its own:
   Ctrl-C reaches the grader alone, which stops pytest, the kernel and whatever they started at once
   (whatever the kernel is doing), removes the copy and says so in one line (exit code 130).
4. **It reports one line per exercise**, one line per other cell that failed, a cell that ran longer
   than the per-cell limit (``--cell-timeout``, 300 s by default; it must be a number above 0) or stopped
   the kernel in one line, and bad input (not a notebook, not a lesson) in one line with exit code 2.
5. **Each exercise's verdict comes from code the notebook cannot reach.** Code in a notebook runs in the
   same kernel as its check cell: it can set ``COURSE_CHECKS=soft``, replace ``torch.allclose`` or a
   check, and a stub "passes". So each exercise is also checked in a fresh Python process
   (``python -I``, ``COURSE_CHECKS=strict``, ``MPLBACKEND=Agg``, in your notebook's folder), which:
   - imports torch, numpy and the course, and takes the course's check function, before any of your code;
   - runs the lesson's first cell as the course wrote it (IPython lines such as ``%matplotlib`` left out),
     and the course's own definitions your exercise cells use but do not define (Lesson 4's ``dct2``),
     found by reading the cells (definitions, imports and assignments only: no plots, no training);
   - runs your exercise cells, from your saved notebook: the earlier exercises of the lesson, then this
     one (Lesson 5's ``guided_sample_loop`` uses your ``guided_eps``); a helper you defined in a cell of
     your own above the exercise is taken too;
   - notes every attribute of the torch, numpy and course modules (and ``math``, ``re``, ``os``,
     ``builtins``, ``os.environ``, the code, defaults and closure of their functions, the methods of
     ``torch.Tensor`` and ``torch.nn.Module``) before your code runs, compares after it and after the
     check: anything replaced makes the exercise *not yet*, saying what (the libraries' own private data,
     such as torch's set of safe globals while it loads a checkpoint, is not counted);
   - says *not yet* when your function hands the work to the course's function of the same name (the one
     the check compares with): an import ``from course_utils... import <name>``, a name bound to that very
     function (``course_drop_labels``), or ``cu.<name>`` / ``course_utils.<module>.<name>``; the same for the
     course's functions that are the answer under another name (``COURSE_ANSWERS``: ``flow_loss`` may not call
     ``flow_matching_loss``, nor ``prompt_to_ids`` ``crayons.tokenize``). This reads your exercise cell only; it
     does not follow your calls into other functions;
   - prints the verdict on a line that starts with a random nonce it got on stdin: a print in your code
     cannot fake it, and a process that dies or exits early gives no verdict, which is *not yet*.
   The exercise's verdict is this one, and *not yet* also when its cells failed in the notebook run (with
   that run's message). When it fails and it calls an earlier exercise of the lesson that is still the stub
   (as the lesson hands it out, or returning None), the verdict says so: do that one first.
   This guards against code that changes the check's world by mistake or by a shortcut, not against
   deliberate attacks on the interpreter (ctypes, reading the nonce from memory): it is a course's grader,
   not a sandbox.

Exit code: 0 when every exercise passes and nothing else fails, 1 otherwise, 2 for bad input, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
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
    solution: Path | None = None  # the lesson's solution notebook


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


@functools.cache
def _lesson_marks(solution: Path) -> tuple[list[str], list[str]]:
    """(the lesson's text cells, its exercise functions), read from its solution notebook as plain JSON (fast)."""
    from .exercises import EXERCISE_TAG, SOLUTION_ONLY_TAG

    cells = json.loads(solution.read_text(encoding="utf-8"))["cells"]

    def text(c) -> str:
        return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

    def tagged(c, tag) -> bool:
        return tag in c.get("metadata", {}).get("tags", [])

    texts = [_norm(text(c)) for c in cells if c["cell_type"] == "markdown" and text(c).strip()
             and not tagged(c, SOLUTION_ONLY_TAG)]
    functions = [m.group(1) for c in cells if c["cell_type"] == "code" and tagged(c, EXERCISE_TAG)
                 for m in [re.search(r"^def (\w+)\(", text(c), re.M)] if m]
    return texts, functions


def _content_score(nb, solution: Path) -> float:
    """How much of lesson ``solution`` the notebook ``nb`` holds, from 0 to 1: the share of the lesson's text cells
    found word for word, or the share of its exercise functions defined, whichever is larger (a learner may have
    deleted the text, or renamed nothing but changed every code cell)."""
    texts, functions = _lesson_marks(solution)
    mine = {_norm(c.source) for c in nb.cells}
    code = "\n".join(c.source for c in _code(nb))
    return max(sum(t in mine for t in texts) / max(len(texts), 1),
               sum(_defines(code, f) for f in functions) / max(len(functions), 1))


def find_lesson(path: Path, nb) -> Path:
    """The solution notebook of the lesson that ``nb`` (read from ``path``) is a copy of: by its file name, unless
    its content is clearly another lesson's (a lesson saved under another lesson's name is graded as the lesson it
    is; ``prepare`` says so); a renamed copy ("02_denoiser (1).ipynb") by its content alone."""
    from .exercises import solution_notebooks

    solutions = solution_notebooks()
    scores = {s: _content_score(nb, s) for s in solutions}
    best = max(solutions, key=lambda s: scores[s])
    named = next((s for s in solutions if s.name == path.name), None)
    if named is not None and (scores[named] >= scores[best] or scores[best] < 0.5):
        return named
    if scores[best] < 0.5:
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
    return Plan(solution.name, nb, [ex for ex, _, _ in exercises], notes, unshortened, solution)


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
                    # a session of its own: Ctrl-C reaches the grader only, which then stops pytest and its kernel
                    # at once, whatever they are doing (starting, running a cell, between cells)
                    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=target.parent, env=env,
                                            start_new_session=os.name != "nt")
                    try:
                        results = _follow(proc, events, _code(plan.nb), on_cell, progress, cell_timeout)
                    finally:
                        _kill_tree(proc)  # Ctrl-C or a dead kernel; after a normal end, nothing is left to stop
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
                _kill_tree(proc)  # nbval would wait for the cell time limit
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


# ----------------------------------------------------------------------------- the fresh-process check


MAGIC = re.compile(r"^(\s*)([%!].*)$", re.M)  # IPython magics and shell lines (%matplotlib inline, !pip ...)
TRUSTED_PREFIXES = ("torch", "numpy", "course_utils")  # modules whose attributes learner code must not replace
TRUSTED_MODULES = ("math", "re", "os", "builtins")
FRESH_STARTUP_LIMIT = 180  # s for the fresh process to import torch and the course and run the lesson's first cell
_B = __import__("types").SimpleNamespace(**{n: getattr(__import__("builtins"), n) for n in (
    "callable", "dict", "getattr", "isinstance", "len", "list", "str", "tuple", "type", "vars", "zip")})
# the builtins the tampering checks use, taken when this module is imported: before the learner's code runs


def _without_magics(source: str) -> str:
    return MAGIC.sub(lambda m: f"{m.group(1)}pass  # {m.group(2)} (an IPython line, left out by the grader)", source)


def _parse(source: str):
    import ast

    try:
        return ast.parse(_without_magics(source))
    except SyntaxError:
        return None


def _bound_and_used(tree) -> tuple[set[str], set[str]]:
    """(names bound anywhere in ``tree``, names read anywhere in it): a rough free-name analysis (a name read in
    one function and bound in another counts as bound; good enough to find the helpers a cell needs)."""
    import ast

    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, used


def _binders(cells: list[str]) -> list[tuple[tuple[int, int], object, set[str]]]:
    """Top-level statements of ``cells`` that define something a cell elsewhere may use: (position, statement,
    names it binds). Definitions, imports and assignments only: no loops, no bare calls (plots, training)."""
    import ast

    out = []
    for i, source in enumerate(cells):
        tree = _parse(source)
        for j, stmt in enumerate(tree.body if tree else []):
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign,
                                 ast.AnnAssign)):
                out.append(((i, j), stmt, _bound_and_used(ast.Module([stmt], []))[0] if not isinstance(
                    stmt, (ast.FunctionDef, ast.ClassDef)) else {stmt.name}))
    return out


def _helpers(needed: set[str], cells: list[str], known: set[str]) -> tuple[str, set[str]]:
    """The source of the statements of ``cells`` that define the ``needed`` names, and what they need in turn;
    (that source, the names still not found)."""
    import ast
    import builtins

    binders = _binders(cells)
    chosen: dict[tuple[int, int], object] = {}
    todo, seen = sorted(needed), set(known)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        hits = [(pos, stmt) for pos, stmt, names in binders if name in names]
        if not hits:
            continue
        pos, stmt = hits[-1]  # the last definition, as in a notebook run top to bottom
        if pos not in chosen:
            chosen[pos] = stmt
            bound, used = _bound_and_used(ast.Module([stmt], []))
            todo += sorted(used - bound - seen - set(dir(builtins)))
    source = "\n".join(ast.unparse(chosen[pos]) for pos in sorted(chosen))
    return source, {n for n in needed if n not in seen or not any(n in names for _, _, names in binders)}


@dataclass
class FreshJob:
    """What the fresh process runs for one exercise (sent to it as JSON on stdin)."""

    label: str
    function: str
    check: str  # "check_guided_eps": the attribute of course_utils.checks
    setup: str  # the course's first cell and the course's helpers the exercise cells use
    learner: list[str]  # the learner's exercise cells (earlier exercises of the lesson first), then their helpers


def fresh_job(p: Plan, k: int) -> FreshJob:
    """The fresh-process job of exercise ``k`` of plan ``p`` (see the module docstring, point 5)."""
    import ast
    import builtins

    import nbformat

    from .exercises import exercise_cells, make_learner_notebook

    ex = p.exercises[k]
    ref = make_learner_notebook(nbformat.read(p.solution, as_version=4))
    ref_code = [c.source for c in _code(ref)]
    ref_ex = exercise_cells(ref)
    mine = _code(p.nb)
    learner = [_without_magics(mine[e.exercise_cell].source) for e in p.exercises[:k + 1]
               if e.exercise_cell is not None]
    setup = _without_magics(ref_code[0])
    bound, used = set(), set()
    for source in learner:
        tree = _parse(source)
        if tree is not None:
            b, u = _bound_and_used(tree)
            bound |= b
            used |= u
    setup_bound = _bound_and_used(_parse(setup) or ast.Module([], []))[0]
    needed = used - bound - setup_bound - set(dir(builtins))
    # the course's helpers first (the cells between the setup and this exercise, exercise and check cells left out)
    where = ref_ex[k]["exercise_cell"] if k < len(ref_ex) and ref_ex[k]["exercise_cell"] is not None else len(ref_code)
    skip = {e["exercise_cell"] for e in ref_ex} | {e["check_cell"] for e in ref_ex}
    course_cells = [ref_code[i] for i in range(1, where) if i not in skip]
    course, missing = _helpers(needed, course_cells, setup_bound | bound)
    # then the learner's own helpers, from their other cells above the exercise (their code: checked for tampering)
    own_skip = {e.exercise_cell for e in p.exercises} | {e.check_cell for e in p.exercises}
    upto = ex.exercise_cell if ex.exercise_cell is not None else len(mine)
    own_cells = [_without_magics(mine[i].source) for i in range(1, upto) if i not in own_skip]
    own, _ = _helpers(missing, own_cells, setup_bound | bound | (needed - missing))
    return FreshJob(ex.label, ex.function, "check_" + _check_name(ex), setup + "\n" + course,
                    ([own] if own.strip() else []) + learner)


def _check_name(ex: Exercise) -> str:
    m = re.search(r"check_(\w+)\(", ex.check_source)
    return m.group(1) if m else ex.function


def fresh_verdict(job: FreshJob, folder: Path, timeout: float) -> str | None:
    """Run ``job`` in a fresh Python process (in ``folder``, as the notebook would); None when the exercise passes,
    else one line saying why not. The verdict is read from a line that starts with a random nonce the process got
    on stdin, so a print in the learner's code cannot fake it."""
    import secrets
    from dataclasses import asdict

    nonce = secrets.token_hex(16)
    root = Path(__file__).resolve().parent.parent
    boot = (f"import sys; sys.path.insert(0, {str(root)!r}); "
            "from course_utils.grade import _fresh_worker; _fresh_worker()")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COURSE_"))}
    env.update(COURSE_CHECKS="strict", MPLBACKEND="Agg", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        log = Path(tmp) / "fresh.log"
        with open(log, "ab") as out:  # appended to by the process, read here by name
            proc = subprocess.Popen([sys.executable, "-I", "-c", boot], stdin=subprocess.PIPE, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=folder, env=env,
                                    start_new_session=os.name != "nt")
        try:
            try:
                proc.stdin.write(json.dumps({"nonce": nonce, **asdict(job)}).encode())
                proc.stdin.close()
            except OSError:
                pass
            # the limit counts from when the learner's code starts: the imports take 5-20 s on a busy 2-core CPU
            start, ready, ready_mark = time.monotonic(), None, f"{nonce}:ready".encode()
            while proc.poll() is None:
                now = time.monotonic()
                if ready is None and ready_mark in log.read_bytes():
                    ready = now
                if ready is None and now - start > FRESH_STARTUP_LIMIT:
                    return (f"the grader's fresh process for `{job.function}` did not get to your code within "
                            f"{FRESH_STARTUP_LIMIT} s (a very busy machine?); run the check again")
                if ready is not None and now - ready > timeout:
                    return (f"its check (calling your `{job.function}` in a fresh process) ran longer than "
                            f"{timeout:g} s and was stopped: is there an endless loop?")
                time.sleep(0.05)
        finally:
            _kill_tree(proc)  # a limit, Ctrl-C, or anything the learner's code left running
        text = log.read_bytes().decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith(nonce + " "):
            verdict = line[len(nonce) + 1:]
            return None if verdict == "passed" else verdict
    tail = [ln for ln in ANSI.sub("", text).splitlines() if ln.strip()]
    return (f"the grader's fresh check of `{job.function}` gave no verdict: your code stopped it "
            f"(exit code {proc.returncode}{'; last line: ' + tail[-1][:120] if tail else ''})")


def _kill_tree(proc: subprocess.Popen) -> None:
    """Stop ``proc`` and every process it started (nbval's kernel runs in a session of its own) at once, and wait
    for it. The kernel's connection file is removed too (a killed kernel leaves it behind)."""
    if proc.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
        proc.wait()
        return
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # a second Ctrl-C waits for this
    try:
        _kill_all(proc)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _kill_all(proc: subprocess.Popen) -> None:
    """POSIX: stop ``proc``, list its descendants (``ps``), kill each one's process group (or the process)."""
    try:
        os.kill(proc.pid, signal.SIGSTOP)  # it starts nothing more while its children are listed
    except ProcessLookupError:
        pass
    try:
        table = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "args="], capture_output=True,
                               text=True).stdout.splitlines()
    except OSError:  # no ps: its own process group at least (the kernel then ends when it sees its parent gone)
        table = []
    children: dict[int, list[tuple[int, str]]] = {}
    for row in table:
        parts = row.split(None, 2)
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            children.setdefault(int(parts[1]), []).append((int(parts[0]), parts[2] if len(parts) > 2 else ""))
    found, stack = [(proc.pid, "")], [proc.pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child[0])
    own = os.getpgrp()
    for pid, args in found:
        try:
            group = os.getpgid(pid)
            if group != own:
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        m = re.search(r"-f\s+(\S*kernel-[\w-]+\.json)", args)
        if m:
            Path(m.group(1)).unlink(missing_ok=True)
    proc.wait()


def _snapshot(modules: dict, classes: list) -> dict:
    """What learner code must leave as it is: every attribute of the trusted modules (and of each function there,
    its code, defaults and closure), the trusted classes' own attributes, and os.environ."""
    import types

    snap = {}
    for name, mod in modules.items():
        d = _B.getattr(mod, "__dict__", None)
        if not _B.isinstance(d, _B.dict):
            continue
        for attr, value in _B.list(d.items()):
            snap[(name, attr)] = value
            if _B.isinstance(value, types.FunctionType) and _B.str(value.__module__).startswith(TRUSTED_PREFIXES):
                cells = _B.tuple(c.cell_contents for c in (value.__closure__ or ()) if _has_contents(c))
                snap[(name, attr, "__code__")] = (value.__code__, value.__defaults__, value.__kwdefaults__, *cells)
            if _B.isinstance(value, _B.type) and _B.str(value.__dict__.get("__module__", "")).startswith(
                    "course_utils"):
                for a, v in _B.list(_B.vars(value).items()):
                    snap[(name, attr, a)] = v
    for cls in classes:
        for attr, value in _B.list(_B.vars(cls).items()):
            snap[(cls.__qualname__, attr)] = value
        snap[(cls.__qualname__, "__keys__", "")] = _B.tuple(_B.vars(cls))  # a new one shadows an inherited one
    snap[("os", "environ", "items")] = _B.dict(os.environ)
    return snap


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
        return True
    except ValueError:
        return False


def _library_state(key: tuple, old, new) -> bool:
    """Whether a replaced attribute is the libraries' own private state (torch swaps the set behind its
    ``safe_globals`` context while a checkpoint loads): private data, not a function, in torch or numpy."""
    import types

    def data(v) -> bool:
        return not (_B.callable(v) or _B.isinstance(v, types.ModuleType))

    return (_B.len(key) == 2 and _B.str(key[0]).split(".")[0] in ("torch", "numpy") and _B.str(key[1]).startswith("_")
            and data(old) and data(new))


def _changed(before: dict, modules: dict, classes: list) -> str | None:
    """The first trusted attribute that learner code replaced or deleted, in words; None if none."""
    after = _snapshot(modules, classes)
    for key, value in before.items():
        now = after.get(key, _changed)
        if key == ("os", "environ", "items"):
            if now != value:
                diff = [k for k in [*value, *now] if now.get(k) != value.get(k)]
                return f"changes os.environ[{diff[0]!r}]"
            continue
        if key[1:] == ("__keys__", ""):
            new = [k for k in now if k not in value]
            if new:
                return f"replaces {key[0]}.{new[0]}"
            continue
        if now is value or (now is not _changed and _library_state(key, value, now)):
            continue
        if _B.type(value) is _B.tuple and _B.type(now) is _B.tuple and _B.len(value) == _B.len(now) and not [
                a for a, b in _B.zip(value, now, strict=True) if a is not b]:
            continue
        where = f"{key[0]}.{key[1]}"
        if now is _changed:
            return f"deletes {where}"
        if _B.len(key) == 3 and key[2] == "__code__":
            return f"rewrites the function {where} (its code, defaults or closure)"
        return f"replaces {where}" + (f".{key[2]}" if _B.len(key) == 3 else "")
    return None


# The course functions that ARE the answer of an exercise of another name (the learner's name -> the course's names):
# an answer that calls one is *not yet*, as one that calls the course's function of the same name. Only functions
# that no right answer uses (each lesson's solution was read for this); methods of the schedulers (``.step``) are not
# listed: Lesson 5's guided_sample_loop rightly calls ``scheduler.step``.
COURSE_ANSWERS: dict[str, tuple[str, ...]] = {
    "flow_loss": ("flow_matching_loss",),  # course_utils.flow.flow_matching_loss (cu.flow_matching_loss)
    "prompt_to_ids": ("tokenize",),  # course_utils.crayons.tokenize (cu.tokenize)
    "guided_sample_loop": ("sample",),  # course_utils.sampling.sample (cu.sample)
}


def _answer_names(fn_name: str) -> tuple[str, ...]:
    """The names of the course functions that are the answer of exercise ``fn_name``: its own, then the table's."""
    return (fn_name, *COURSE_ANSWERS.get(fn_name, ()))


def _calls_the_course(fn_name: str, tree, ns: dict, refs: list) -> str | None:
    """Whether the learner's exercise cell ``tree`` hands the work to the course's own ``fn_name`` (the function the
    check compares with): the name bound to it (``course_drop_labels``, an import ``from course_utils... import
    fn_name``), or an attribute ``cu.fn_name`` / ``course_utils.module.fn_name``. Simple on purpose: it reads the
    cell, it does not follow calls into other functions."""
    import ast
    import types

    def is_ref(value) -> bool:
        return any(value is r for r in refs)

    names = _answer_names(fn_name)
    if is_ref(ns.get(fn_name)):
        return f"your cell sets `{fn_name}` to the course's own function"
    course_modules = {n for n, v in ns.items() if isinstance(v, types.ModuleType) and v.__name__.startswith(
        "course_utils")}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
            hit = next((a.name for a in node.names if a.name in names), None)
            if hit:
                return f"your cell imports the course's own `{hit}` from {node.module}"
        if isinstance(node, ast.Import):
            course_modules |= {(a.asname or a.name).split(".")[0] for a in node.names
                               if a.name.startswith("course_utils")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id != fn_name and is_ref(
                ns.get(node.id)):
            return f"your `{fn_name}` calls the course's own function (`{node.id}`)"
        if isinstance(node, ast.Attribute) and node.attr in names:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in course_modules:
                return f"your `{fn_name}` calls the course's own `{ast.unparse(node)}`"
    return None


def _fresh_worker() -> None:
    """The fresh process (``python -I``): check one exercise where the notebook cannot reach, print the verdict."""
    import builtins
    import math  # noqa: F401  (trusted: in the snapshot)

    parent = os.getppid()

    def orphaned() -> None:  # the grader was killed (SIGKILL: it could not stop us): do not run on alone
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    job = json.loads(sys.stdin.read())
    nonce, write, leave = job.pop("nonce"), os.write, os._exit
    function = job["function"]

    def report(verdict: str | None) -> None:
        write(1, f"\n{nonce} {'passed' if verdict is None else ' '.join(verdict.split())}\n".encode())
        leave(0)

    import numpy  # noqa: F401
    import torch

    from course_utils import checks
    from course_utils.checks import core

    for m in [n for n in sys.modules if n.startswith("course_utils.checks.lesson")]:
        sys.modules[m]  # noqa: B018  (all loaded by checks/__init__)
    check = getattr(checks, job["check"], None)
    if check is None:
        report(f"the course has no check `{job['check']}` (is the course up to date?)")
    passed_book, check_label = core._PASSED, getattr(check, "exercise", None)
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(job["setup"], "<the lesson's first cell>", "exec"), ns)
    except BaseException as e:  # noqa: BLE001
        report(f"the grader could not run the lesson's first cell ({type(e).__name__}: {e})")
    classes = [torch.Tensor, torch.nn.Module, torch.Generator, *(
        [torch._C.TensorBase] if hasattr(torch._C, "TensorBase") else [])]

    def trusted() -> dict:
        return {n: m for n, m in list(sys.modules.items()) if m is not None and (
            n in TRUSTED_MODULES or n.split(".")[0] in TRUSTED_PREFIXES)}

    modules = trusted()
    before = _snapshot(modules, classes)
    refs = [getattr(m, name) for n, m in modules.items() for name in _answer_names(function)
            if n.startswith("course_utils") and not n.startswith("course_utils.checks")
            and callable(getattr(m, name, None)) and not isinstance(getattr(m, name), type(sys))]
    write(1, f"\n{nonce}:ready\n".encode())  # the time limit counts from here
    cells = job["learner"]
    for i, source in enumerate(cells):
        last = i == len(cells) - 1
        try:
            exec(compile(source, f"<your exercise cell {i + 1}>", "exec"), ns)
        except BaseException as e:  # noqa: BLE001  (the learner's code: anything, SystemExit included)
            if last:
                first = str(e).splitlines()[0] if str(e) else ""
                report(f"the exercise cell itself does not run: {type(e).__name__}: {first}")
    what = _changed(before, modules, classes)
    if what:
        report(f"your exercise cell {what}; the grader does not count a check it cannot trust")
    fn = ns.get(function)
    if fn is None:
        report(f"your exercise cell does not define `{function}`")
    import ast

    tree = ast.parse(cells[-1]) if cells else ast.Module([], [])
    own = _calls_the_course(function, tree, ns, refs)
    if own:
        report(f"{own}, instead of computing it: write it yourself (the check compares it with that very function)"
               if not any(f"`{a}`" in own or f".{a}`" in own for a in COURSE_ANSWERS.get(function, ())) else
               f"{own}, instead of computing it: write it yourself (the course's function is the answer)")
    passed_book.pop(check_label, None)
    try:
        check(fn)
        failed = None
    except core.ExerciseFailed as e:
        failed = re.sub(r"^Exercise \d+\.\d+ \([^)]*\): ", "", str(e.args[0]))
    except BaseException as e:  # noqa: BLE001
        first = str(e).splitlines()[0] if str(e) else ""
        failed = f"the check raised {type(e).__name__}: {first}"
        if isinstance(e, NameError):
            failed += (" (the grader checks each exercise on its own, with the lesson's first cell and the course's "
                       "helpers: define what your function uses in its cell, or take it as an argument)")
    what = _changed(before, modules, classes)
    if what:
        report(f"your code {what} while its check ran; the grader does not count a check it cannot trust")
    if failed is None and passed_book.get(check_label) is not fn:
        failed = "the check did not record a pass"
    report(failed)


# ----------------------------------------------------------------------------- grading


def _stopped(what: str, timeout: float, plan: Plan) -> str:
    extra = (" (the lesson ran unshortened, as your notebook sets it: --cell-timeout gives each cell longer)"
             if plan.unshortened else "")
    return f"{what} ran longer than {timeout:g} s and was stopped: is there an endless loop?{extra}"


_NOT_RUN = object()  # no fresh-process verdict (the tests of the notebook run alone)


def _restore(ex: Exercise, why: str | None) -> str | None:
    """The verdict of an exercise whose check cell was changed or deleted: never a pass."""
    if not ex.check_changed:
        return why
    then = "it passes" if why is None else why
    number = " ".join(ex.label.split()[:2]) if re.match(r"Exercise \d", ex.label) else ex.label
    return (f"the check cell of {number} was changed or deleted; "
            f"restore it: `{ex.check_source}` (run as the course wrote it: {then})")


def _gone(ex: Exercise, nb=None) -> str:
    """Why not, when no cell defines the exercise's function: a cell that imports the course's own function in its
    place is named as such (the exercise is to write it)."""
    import ast

    for cell in _code(nb) if nb is not None else []:
        tree = _parse(cell.source)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils") and any(
                    a.name in _answer_names(ex.function) and (a.asname or a.name) == ex.function
                    for a in node.names):
                return (f"your notebook imports the course's own `{ex.function}` (from {node.module}) in place of "
                        "the exercise cell: the exercise is to write it yourself; put the exercise cell back "
                        "(a fresh copy of the lesson has it), fill it in, then run its check")
    return (f"no cell defines `{ex.function}` any more: put the exercise cell back "
            "(a fresh copy of the lesson has it), then run its check")


def exercise_only_verdict(ex: Exercise, fresh, nb=None) -> str | None:
    """The verdict of ``--exercise``: the fresh-process check alone (``nb``: the graded copy, to say why a missing
    exercise cell is missing)."""
    if ex.exercise_cell is None:
        return _gone(ex, nb)
    return _restore(ex, fresh)


def exercise_verdict(ex: Exercise, results: dict[int, CellResult], timeout: float, plan: Plan,
                     fresh=_NOT_RUN) -> str | None:
    """None when the exercise passes, else one line saying why not: the fresh-process verdict ``fresh`` (see the
    module docstring), and not yet either when its cells failed in the notebook run (with that run's message)."""
    if ex.exercise_cell is None:
        return _gone(ex, plan.nb)
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
    if fresh is not _NOT_RUN and fresh is not None and (own is None or own.failure is None):
        why = fresh  # the verdict the notebook cannot reach wins over its own check cell's
    return _restore(ex, why)


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


def _lesson_number(name: str) -> str:
    return name[:2].lstrip("0") or "0"


def prepare(path: Path, shorten: bool = True) -> Plan:
    """Read the notebook at ``path``, find its lesson, and plan the graded copy; BadInput when it cannot be graded."""
    from .exercises import solution_notebooks

    path = Path(path)
    nb = load_notebook(path)
    solution = find_lesson(path, nb)
    p = plan(nb, solution, shorten=shorten)
    if solution.name != path.name and path.name in {s.name for s in solution_notebooks()}:
        p.notes.insert(0, f"this is Lesson {_lesson_number(solution.name)}'s notebook ({solution.name}) saved as "
                          f"{path.name}, Lesson {_lesson_number(path.name)}'s name: it is graded as Lesson "
                          f"{_lesson_number(solution.name)}")
    return p


def _returns_none(source: str, function: str) -> bool:
    """Whether ``function`` in the cell ``source`` can only return None (``return None``, a bare ``return``, none)."""
    import ast

    tree = _parse(source)
    fdef = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function),
                None) if tree is not None else None
    return fdef is not None and all(r.value is None or (isinstance(r.value, ast.Constant) and r.value.value is None)
                                    for r in ast.walk(fdef) if isinstance(r, ast.Return))


def _stub_hint(p: Plan, k: int) -> str | None:
    """When exercise ``k`` fails: the earlier exercise of the lesson it uses (its function's name is in this
    exercise's cell) that is still the stub, as one sentence; None when there is none. A stub: the cell as the
    lesson hands it out, or one whose stub lines (``x = None  # ...``, the function's result) are still there."""
    import nbformat

    from .exercises import exercise_cells, make_learner_notebook

    if p.solution is None or p.exercises[k].exercise_cell is None:
        return None
    try:
        solution_nb = nbformat.read(p.solution, as_version=4)
        ref = make_learner_notebook(solution_nb)
    except Exception:  # noqa: BLE001  (a hint only)
        return None
    ref_code, sol, mine = _code(ref), _code(solution_nb), _code(p.nb)
    stubs = {e["function"]: e["exercise_cell"] for e in exercise_cells(ref) if e["exercise_cell"] is not None}
    sol_cells = {e["function"]: e["exercise_cell"] for e in exercise_cells(solution_nb)
                 if e["exercise_cell"] is not None}
    here = mine[p.exercises[k].exercise_cell].source
    for e in p.exercises[:k]:
        if e.exercise_cell is None or e.function not in stubs or not re.search(
                rf"(?<![\w.]){re.escape(e.function)}\s*\(", here):
            continue
        stub, theirs = ref_code[stubs[e.function]].source, mine[e.exercise_cell].source
        solution = sol[sol_cells[e.function]].source if e.function in sol_cells else ""
        placeholders = [ln.strip() for ln in stub.splitlines() if re.search(r"= None\b", ln)
                        and ln.strip() not in {x.strip() for x in solution.splitlines()}]
        lines = {ln.strip() for ln in theirs.splitlines()}
        if _norm(theirs) == _norm(stub) or (placeholders and all(ln in lines for ln in placeholders)) or \
                _returns_none(theirs, e.function):
            number = " ".join(e.label.split()[:2]) if re.match(r"Exercise \d", e.label) else e.label
            return f"it uses your {e.function} ({number}), which is still the stub: do that one first"
    return None


def fresh_verdicts(p: Plan, folder: Path, timeout: float, only: list[int] | None = None,
                   progress: Progress | None = None) -> dict[int, str | None]:
    """Exercise number -> its fresh-process verdict (None: passes), for the exercises ``only`` (default: all)."""
    out = {}
    for k in range(len(p.exercises)) if only is None else only:
        ex = p.exercises[k]
        if ex.exercise_cell is None:
            continue
        if progress is not None:
            progress.status(f"  checking {ex.label} in a fresh process")
        out[k] = fresh_verdict(fresh_job(p, k), folder, timeout)
        if out[k] is not None and "course's own" not in out[k] and "cannot trust" not in out[k]:
            hint = _stub_hint(p, k)
            out[k] += f"; {hint}" if hint else ""
    if progress is not None:
        progress.clear()
    return out


def grade_notebook(path: Path, cell_timeout: float = DEFAULT_CELL_TIMEOUT, shorten: bool = True,
                   progress: Progress | None = None, on_exercise=None, planned: Plan | None = None) -> Result:
    """Grade the notebook at ``path`` (see the module docstring); BadInput when it cannot be graded.
    ``on_exercise(label, verdict)`` is called as each exercise's check finishes."""
    path = Path(path)
    p = planned or prepare(path, shorten)
    fresh = fresh_verdicts(p, path.resolve().parent, cell_timeout, progress=progress)
    verdicts: dict[int, str | None] = {}  # exercise number -> verdict, as soon as its check has run
    so_far: dict[int, CellResult] = {}

    def on_cell(i: int, r: CellResult) -> None:
        so_far[i] = r
        for k, ex in enumerate(p.exercises):
            if k not in verdicts and ex.check_cell == i:
                verdicts[k] = exercise_verdict(ex, so_far, cell_timeout, p, fresh.get(k))
                if on_exercise:
                    on_exercise(ex.label, verdicts[k])

    results = run_copy(p, path.resolve().parent, path.name, cell_timeout, on_cell=on_cell, progress=progress)
    exercises = []
    for k, ex in enumerate(p.exercises):
        if k not in verdicts:
            verdicts[k] = exercise_verdict(ex, results, cell_timeout, p, fresh.get(k))
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


# --full: each lesson's default cell limit, about ten times its longest cell with the full settings on an idle 2-core
# CPU (the README's lesson table: the training cells, 71-113 s), so that a busy machine still finishes; never below
# the short run's limit
FULL_CELL_TIMEOUT = {
    "02_denoiser.ipynb": 1000,  # training the digits: 93 s
    "03_sampling.ipynb": 900,  # the whole lesson: 86 s
    "04_static_to_picture.ipynb": 1100,  # training on blur to static: 106 s
    "05_asking_for_a_picture.ipynb": 900,  # training the digits: 81 s
    "06_straight_paths.ipynb": 1200,  # training the flow: 113 s
    "07_crayons_from_words.ipynb": 800,  # training the crayons: 71 s
    "08_your_drawing.ipynb": 400,  # nothing trained; the whole lesson: 46 s
}


def cell_limit(text: str | None) -> float | None:
    """The ``--cell-timeout`` value in seconds (None: the default), or BadInput with one line."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise BadInput(f"--cell-timeout must be a number of seconds greater than 0, such as 300; got {text!r}")
    return value


def pick_exercise(p: Plan, wanted: str) -> int:
    """The exercise of plan ``p`` that ``--exercise`` names ("6.2", "Exercise 6.2" or the function's name)."""
    key = wanted.strip().removeprefix("Exercise").strip()
    for k, ex in enumerate(p.exercises):
        number = ex.label.split()[1] if re.match(r"Exercise \d", ex.label) else None
        if key in (number, ex.function):
            return k
    choices = ", ".join(f"{ex.label.split()[1]} ({ex.function})" if re.match(r"Exercise \d", ex.label)
                        else ex.function for ex in p.exercises)
    raise BadInput(f"--exercise {wanted}: Lesson {_lesson_number(p.lesson)} has no such exercise; "
                   f"its exercises are {choices}")


def _let_ctrl_c_through() -> None:
    """Ctrl-C must stop the grader even when it was started with SIGINT blocked or ignored: both are inherited
    from the parent process (a test run whose earlier tests left SIGINT blocked in pytest's thread failed all four
    Ctrl-C tests; blocking SIGINT in the parent alone reproduces it), and Python keeps an inherited SIG_IGN."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 course.py check", description=__doc__.split("\n\n")[0],
        epilog=f"Each cell may run for --cell-timeout seconds (default {DEFAULT_CELL_TIMEOUT} s, that is "
               f"{DEFAULT_CELL_TIMEOUT // 60} minutes; with --full, {min(FULL_CELL_TIMEOUT.values()) // 60}-"
               f"{max(FULL_CELL_TIMEOUT.values()) // 60} minutes by lesson) before it is stopped. A lesson takes from "
               "10 s (Lesson 0) to a few minutes (Lessons 2 and 3) on a 2-core CPU; --exercise answers in seconds.")
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook(s) to check, e.g. notebooks/00_welcome.ipynb")
    parser.add_argument("--cell-timeout", default=None, metavar="SECONDS",
                        help=f"stop a cell that runs longer than this (default {DEFAULT_CELL_TIMEOUT} s)")
    parser.add_argument("--full", action="store_true",
                        help="run the lesson's full settings (full training: several minutes), not the short ones")
    parser.add_argument("--exercise", metavar="N.M", default=None,
                        help="check only this exercise (its number, e.g. 6.2, or its function's name), in seconds: "
                             "its cell alone in a fresh process, without running the notebook")
    args = parser.parse_args(argv)
    if "jsonschema" not in sys.modules:  # nbformat's schema checker would spend 2 s compiling an IRI grammar that
        sys.modules.setdefault("rfc3987_syntax", None)  # a notebook's schema never uses: jsonschema skips it
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    _let_ctrl_c_through()
    all_ok = True
    for nb in args.notebooks:
        progress = Progress()

        def show(name: str, why: str | None, progress: Progress = progress) -> None:
            verdict = "passed" if why is None else why if why.startswith("not checked") else f"not yet: {why}"
            progress.line(f"  {name:<36} {verdict}")

        try:
            timeout = cell_limit(args.cell_timeout)
            if args.exercise is not None and len(args.notebooks) > 1:
                raise BadInput("--exercise checks one notebook; name only the notebook that has the exercise")
            planned = prepare(nb, shorten=not args.full)
            number = _lesson_number(planned.lesson)
            if timeout is None:
                timeout = FULL_CELL_TIMEOUT.get(planned.lesson, DEFAULT_CELL_TIMEOUT) if args.full else \
                    DEFAULT_CELL_TIMEOUT
            if args.exercise is not None:
                k = pick_exercise(planned, args.exercise)
                ex = planned.exercises[k]
                print(f"{nb}  (Lesson {number}: {ex.label} only, its cell in a fresh process)", flush=True)
                for note in planned.notes[:1] if planned.notes and planned.notes[0].startswith("this is") else []:
                    print(f"  note: {note}", flush=True)
                fresh = fresh_verdicts(planned, nb.resolve().parent, timeout, only=[k], progress=progress)
                why = exercise_only_verdict(ex, fresh.get(k), planned.nb)
                show(ex.label, why)
                all_ok &= why is None
                continue
            print(f"{nb}  (Lesson {number}: running it in a fresh kernel, "
                  f"{'with its full settings' if args.full else 'with short training'})", flush=True)
            for note in planned.notes:
                print(f"  note: {note}", flush=True)
            result = grade_notebook(nb, timeout, progress=progress, on_exercise=show, planned=planned)
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
