"""The grader (``course_utils/grade.py``, ``python3 course.py check``): it cannot be fooled by a changed, emptied
or deleted check cell, grades the file it is given from any folder, and says what went wrong in one line.

The runs use Lesson 0 (its notebook runs in about 10 s); the checks of the other lessons' structure need no kernel.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_utils import grade as grader
from course_utils.exercises import (
    CHECK_TAG,
    EXERCISE_TAG,
    SOLUTIONS,
    exercise_cells,
    learner_path,
    make_learner_notebook,
    solution_notebooks,
    tags,
)

ROOT = Path(__file__).resolve().parent.parent
LESSON = "00_welcome.ipynb"
CHECK = "checks.check_to_model_range(to_model_range)"
RUN_S = 300  # a grader run on trimmed Lesson 0 takes about 5 s on an idle 2-core machine (measured)


def trimmed(nb) -> nbformat.NotebookNode:
    """Lesson 0 with only the code cells the exercise needs (setup, exercise, check): a run takes about 5 s.
    A learner may delete the lesson's other cells too; the grader only needs the exercise."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    keep = {id(code[0])} | {id(c) for c in code if {EXERCISE_TAG, CHECK_TAG} & set(tags(c))}
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or id(c) in keep]
    return nb


def solved() -> nbformat.NotebookNode:
    return trimmed(nbformat.read(SOLUTIONS / LESSON, as_version=4))


def stub() -> nbformat.NotebookNode:
    return trimmed(nbformat.read(learner_path(SOLUTIONS / LESSON), as_version=4))


def check_index(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if CHECK_TAG in tags(c))


def write(nb, folder: Path, name: str = LESSON) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def cli(*args: str, cwd: Path) -> tuple[int, list[str]]:
    """Run the grader as a learner does, in ``cwd``; its exit code and its non-empty output lines."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    proc = subprocess.run([sys.executable, "-m", "course_utils.grade", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=RUN_S, env=env)
    return proc.returncode, [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]


def in_process(*args: str, cwd: Path, capsys) -> tuple[int, list[str]]:
    """``grader.main`` in this process (torch is imported already: about 5 s less a call than ``cli`` on a busy
    2-core machine); the fresh process per exercise is started all the same. Paths are made absolute."""
    args = tuple(str(cwd / a) if a.endswith(".ipynb") else a for a in args)
    before = signal.getsignal(signal.SIGTERM)
    try:
        rc = grader.main(list(args))
    finally:
        signal.signal(signal.SIGTERM, before)
    out = capsys.readouterr()
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    return rc, [ln.replace(str(cwd) + "/", "") for ln in lines]


def no_copy_left(folder: Path) -> None:
    assert not list(folder.glob(".grading-*")), "the grader left its copy behind"


# ------------------------------------------------------------------ fooling attempts


def _emptied(nb):
    nb.cells[check_index(nb)].source = ""


def _print_ok(nb):
    nb.cells[check_index(nb)].source = 'print("OK")'


def _deleted(nb):
    del nb.cells[check_index(nb)]


def _skip_tag(nb):
    nb.cells[check_index(nb)].metadata["tags"].append("nbval-skip")


def _raises_marker(nb):  # an unchanged check text, plus nbval's "this cell may raise" comment
    cell = nb.cells[check_index(nb)]
    cell.source = "# NBVAL_RAISES_EXCEPTION\n" + cell.source


@pytest.mark.parametrize("alter,changed", [(_emptied, True), (_print_ok, True), (_deleted, True),
                                           (_skip_tag, False), (_raises_marker, True)],
                         ids=["emptied", "print-OK", "deleted", "nbval-skip-tag", "raises-exception-marker"])
def test_an_altered_check_cell_never_passes(alter, changed, tmp_path: Path):
    nb = stub()
    alter(nb)
    exercises, other = grader.grade(write(nb, tmp_path))
    assert len(exercises) == 1, "the exercise must stay in the count"
    (name, why), = exercises
    assert name == "Exercise 0.1 to_model_range"
    assert why is not None, "the stub passed"
    if changed:
        assert f"the check cell of Exercise 0.1 was changed or deleted; restore it: `{CHECK}`" in why
    assert "returned None" in why  # and the course's check, put back, still ran on the stub
    assert other == []
    no_copy_left(tmp_path)


def test_a_changed_check_cell_does_not_pass_even_with_a_right_answer(tmp_path: Path):
    nb = solved()
    _print_ok(nb)
    (_, why), = grader.grade(write(nb, tmp_path))[0]
    assert why == (f"the check cell of Exercise 0.1 was changed or deleted; restore it: `{CHECK}` "
                   "(run as the course wrote it: it passes)")


def test_removed_tags_do_not_matter(tmp_path: Path):
    for nb, passes in ((stub(), False), (solved(), True)):
        for cell in nb.cells:
            cell.metadata.pop("tags", None)
        (_, why), = grader.grade(write(nb, tmp_path))[0]
        assert (why is None) == passes, why


@pytest.mark.parametrize("solution", solution_notebooks(), ids=lambda p: p.name)
def test_every_deleted_or_changed_check_is_put_back(solution: Path):
    """No kernel: in the graded copy of a learner notebook whose check cells are all gone or changed (and
    tags removed), each course check cell follows its exercise cell again, and every exercise is counted."""
    ref = make_learner_notebook(nbformat.read(solution, as_version=4))
    expected = exercise_cells(ref)
    nb = copy.deepcopy(ref)
    for k, cell in enumerate([c for c in nb.cells if CHECK_TAG in tags(c)]):
        if k % 2:
            cell.source = 'print("OK")'
        else:
            nb.cells.remove(cell)
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
    plan = grader.plan(nb, solution)
    code = [c for c in plan.nb.cells if c.cell_type == "code"]
    assert [ex.function for ex in plan.exercises] == [e["function"] for e in expected]
    assert len(code) == len([c for c in ref.cells if c.cell_type == "code"]), "a cell was lost or duplicated"
    for ex in plan.exercises:
        assert ex.check_changed
        assert ex.check_cell == ex.exercise_cell + 1
        assert code[ex.check_cell].source == ex.check_source
        assert "print(\"OK\")" not in "".join(c.source for c in code)
    untouched = grader.plan(ref, solution)
    assert [ex.check_changed for ex in untouched.exercises] == [False] * len(expected)
    assert [(ex.exercise_cell, ex.check_cell) for ex in untouched.exercises] == [
        (e["exercise_cell"], e["check_cell"]) for e in expected]


def test_an_edited_setting_is_kept_and_said(tmp_path: Path):
    solution = SOLUTIONS / "02_denoiser.ipynb"
    nb = make_learner_notebook(nbformat.read(solution, as_version=4))
    cell = next(c for c in nb.cells if "DIGIT_STEPS = 3000" in c.source)
    cell.source = cell.source.replace("DIGIT_STEPS = 3000", "DIGIT_STEPS = 2000")
    plan = grader.plan(nb, solution)
    assert len(plan.notes) == 1 and "`DIGIT_STEPS = 3000`" in plan.notes[0], plan.notes
    graded = "\n".join(c.source for c in plan.nb.cells)
    assert "DIGIT_STEPS = 2000" in graded  # as the learner wrote it
    assert "POINT_STEPS = 3000" not in graded and "POINT_STEPS = 300" in graded  # the other one still shortened


# ------------------------------------------------------------------ paths


def test_grades_the_named_file_from_another_folder(tmp_path: Path):
    here = tmp_path / "elsewhere"
    here.mkdir()
    nb = solved()  # with a cell that overwrites a file in runs/, as Lesson 2 saves its model there
    nb.cells.append(nbformat.v4.new_code_cell("from pathlib import Path\nPath('runs/model.txt').write_text('short')"))
    mine = write(nb, tmp_path / "my work", "lesson zero (my copy).ipynb")  # renamed: found by its content
    (mine.parent / "runs").mkdir()
    (mine.parent / "runs" / "model.txt").write_text("the learner's own")
    write(stub(), tmp_path / "fresh")
    rc, out = cli("../my work/lesson zero (my copy).ipynb", cwd=here)
    assert rc == 0 and "1 of 1 exercises pass." in out[-1], out
    rc, out = cli(str(Path("..") / "fresh" / LESSON), cwd=here)
    assert rc == 1 and "0 of 1 exercises pass." in out[-1], out
    no_copy_left(mine.parent)
    assert (mine.parent / "runs" / "model.txt").read_text() == "the learner's own", "the grader replaced runs/"
    assert (tmp_path / "my work" / "runs" / "model.txt").exists() and not (here / "runs").exists()
    no_copy_left(tmp_path / "fresh")


def test_runs_folder_is_put_back(tmp_path: Path):
    backup = tmp_path / "backup"
    runs = tmp_path / "runs"
    (runs / "sub").mkdir(parents=True)
    (runs / "a.safetensors").write_text("mine")
    (runs / "sub" / "b.txt").write_text("mine too")
    keep = grader.KeepRuns(tmp_path, backup)
    (runs / "a.safetensors").write_text("the grader's")
    (runs / "sub" / "b.txt").unlink()
    (runs / "new.txt").write_text("new")
    keep.restore()
    assert sorted(str(p.relative_to(runs)) for p in runs.rglob("*") if p.is_file()) == ["a.safetensors", "sub/b.txt"]
    assert (runs / "a.safetensors").read_text() == "mine" and (runs / "sub" / "b.txt").read_text() == "mine too"
    other = tmp_path / "other"
    other.mkdir()
    keep = grader.KeepRuns(other, tmp_path / "backup2")
    (other / "runs").mkdir()
    (other / "runs" / "x").write_text("made by the grading run")
    keep.restore()
    assert not (other / "runs").exists()


def test_course_py_check_runs_in_the_folder_you_are_in(monkeypatch):
    spec = importlib.util.spec_from_file_location("course_script", ROOT / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    calls = []
    monkeypatch.setattr(course, "ensure_installed", lambda extras: Path(sys.executable))
    monkeypatch.setattr(course, "run", lambda cmd, cwd=None: calls.append((cmd, cwd)) or 0)
    assert course.main(["check", "a.ipynb"]) == 0
    (cmd, cwd), = calls
    assert cmd[-3:] == ["-m", "course_utils.grade", "a.ipynb"] and cwd is None


# ------------------------------------------------------------------ bad input, endless loops, dead kernels


@pytest.mark.parametrize("kind", ["text", "empty", "folder", "missing", "not-a-lesson", "markdown-file"])
def test_bad_input_is_one_line_and_exit_2(kind: str, tmp_path: Path):
    path = tmp_path / "x.ipynb"
    if kind == "text":
        path.write_text("hello")
    elif kind == "empty":
        path.write_text("")
    elif kind == "folder":
        path.mkdir()
    elif kind == "not-a-lesson":
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
        nbformat.write(nb, path)
    elif kind == "markdown-file":
        path = tmp_path / "README.md"
        path.write_text("# a course\n\nsome text\n")
    rc, out = cli(path.name, cwd=tmp_path)
    assert rc == 2, out
    assert len(out) == 1 and out[0].startswith(path.name + ": "), out


def test_an_endless_loop_is_one_line(tmp_path: Path):
    nb = solved()
    nb.cells.insert(check_index(nb) + 1, nbformat.v4.new_code_cell("while True:\n    pass"))
    write(nb, tmp_path)
    # 20 s: every cell gets the limit, and the first one (importing torch) took over 5 s with the 2 cores shared by ~12
    rc, out = cli("--cell-timeout", "20", LESSON, cwd=tmp_path)
    assert rc == 1
    expected = "the cell starting `while True:` ran longer than 20 s and was stopped: is there an endless loop?"
    assert any(expected in line for line in out), out
    assert not any("KeyboardInterrupt" in line or "Traceback" in line for line in out), out
    no_copy_left(tmp_path)


def test_a_dead_kernel_is_one_line_and_does_not_wait_for_the_limit(tmp_path: Path):
    nb = solved()
    nb.cells.insert(check_index(nb) - 1, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    write(nb, tmp_path)
    start = time.monotonic()
    rc, out = cli(LESSON, cwd=tmp_path)  # the default limit, 300 s a cell
    assert time.monotonic() - start < 150, "the grader waited for the cell time limit"
    assert rc == 1
    assert any("the cell starting `import os` stopped the kernel" in line for line in out), out
    assert any("Exercise 0.1" in line and "not checked" in line for line in out), out
    assert not any("Traceback" in line for line in out), out
    no_copy_left(tmp_path)


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" in state


def _wait_for(condition, what: str, proc: subprocess.Popen, limit: float = 180) -> None:
    """Wait for an event (a file appearing), never for a fixed time."""
    deadline = time.monotonic() + limit
    while not condition():
        assert proc.poll() is None, f"the grader ended before {what}: {proc.communicate()[0]}"
        assert time.monotonic() < deadline, f"no {what} within {limit} s"
        time.sleep(0.05)


def _block_sigint() -> None:
    """Start the grader with SIGINT blocked, as a parent that blocked it hands it on (a full test run did)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


MARK = "import os\nopen('started', 'w').write(str(os.getpid()))\n"  # the running process's id, once it runs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sends Ctrl-C as a terminal does; reads /proc")
@pytest.mark.parametrize("moment", ["kernel-starting", "cell-sleeping", "endless-loop", "exercise-mode",
                                    "exercise-mode-sigint-blocked"])
def test_ctrl_c_stops_at_once_and_removes_the_copy(moment: str, tmp_path: Path):
    """Ctrl-C (SIGINT to the grader's process group, as a terminal sends it) stops the grader at once whatever
    the kernel is doing: the copy is removed, one line, exit code 130, and no process of the run is left."""
    nb = solved()
    args = [LESSON]
    if moment == "cell-sleeping":
        nb.cells.insert(check_index(nb) + 1, nbformat.v4.new_code_cell(MARK + "import time\ntime.sleep(600)"))
    elif moment == "endless-loop":
        nb.cells.insert(check_index(nb) + 1, nbformat.v4.new_code_cell(MARK + "while True:\n    pass"))
    elif moment.startswith("exercise-mode"):  # the exercise cell itself, run by --exercise in its fresh process
        nb.cells[check_index(nb) - 1].source += "\n" + MARK + "while True:\n    pass"
        args += ["--exercise", "0.1"]
    write(nb, tmp_path)
    # Whatever this test process inherited (SIGINT blocked or ignored: see grade._let_ctrl_c_through), the grader
    # itself must let Ctrl-C through: it is started as it is, with nothing reset here.
    proc = subprocess.Popen([sys.executable, "-m", "course_utils.grade", *args], cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_block_sigint if moment.endswith("sigint-blocked") else None)
    try:
        if moment == "kernel-starting":  # the copy is written just before nbval starts its kernel
            _wait_for(lambda: list(tmp_path.glob(".grading-*")), "grading copy", proc)
        else:
            _wait_for(lambda: (tmp_path / "started").exists() and (tmp_path / "started").read_text(),
                      "cell start", proc)
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out
    assert out.strip().splitlines()[-1] == "stopped (Ctrl-C); nothing graded.", out
    assert "Traceback" not in out, out
    assert took < 20, f"the grader took {took:.1f} s to stop"
    no_copy_left(tmp_path)
    if moment != "kernel-starting":
        pid = int((tmp_path / "started").read_text())
        deadline = time.monotonic() + 10
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid), "the kernel (or the fresh process) is still running"
    left = [d for d in Path("/proc").iterdir() if d.name.isdigit() and _cwd(d) == tmp_path and not _gone(int(d.name))]
    assert not left, f"processes still running in the notebook's folder: {left}"


def _cwd(proc_dir: Path) -> Path | None:
    try:
        return Path(os.readlink(proc_dir / "cwd"))
    except OSError:
        return None


def test_help_states_the_cell_limit(capsys):
    with pytest.raises(SystemExit) as exit_:
        grader.main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--cell-timeout" in text and "300 s, that is 5 minutes" in text



def test_exercise_numbers_come_from_bold_or_heading_markdown():
    from course_utils.grade import _label

    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell
    assert _label([md("**Exercise 1.2: the step**"), code("x = 1")], 2, "forward_step") == "Exercise 1.2 forward_step"
    assert _label([md("intro\n### Exercise 7.1: a prompt to ids"), code("")], 2, "prompt_to_ids") == \
        "Exercise 7.1 prompt_to_ids"
    assert _label([md("see Exercise 7.1 above")], 1, "f") == "Exercise f"  # a mention is not a heading


# ------------------------------------------------------------------ a verdict the notebook cannot reach (issue 21)
# Each exercise is checked again in a fresh Python process: the course's first cell and helpers, the learner's
# exercise cells, then the course's check, taken before the learner's code ran. The cheap path is --exercise.

L5, L6, L7 = "05_asking_for_a_picture.ipynb", "06_straight_paths.ipynb", "07_crayons_from_words.ipynb"


def learner(lesson: str, function: str, source: str | None = None, append: str = "") -> nbformat.NotebookNode:
    """Lesson ``lesson`` as a learner gets it (stubs), with the exercise cell of ``function`` replaced by
    ``source`` (if given) and ``append`` added to it."""
    nb = make_learner_notebook(nbformat.read(SOLUTIONS / lesson, as_version=4))
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {function}(" in c.source)
    if source is not None:
        cell.source = source
    cell.source += ("\n" + append) if append else ""
    return nb


WRONG = {  # answers that are wrong but of the right type and shape, for the tampering below to make them "pass"
    "drop_labels": "def drop_labels(labels, null_label, p, generator):\n    return labels.clone()",
    "mean_word_vector": "def mean_word_vector(ids, table):\n    return table[ids].mean(dim=1)",
    "euler_step": "def euler_step(x, v, t, t_next):\n    return x + (t - t_next) * v",
    "to_model_range": "def to_model_range(pixels):\n    return pixels / 255",
}
TAMPERING = [  # (lesson, exercise, its function, a line in the exercise cell, what the grader must say)
    (LESSON, "0.1", "to_model_range", 'import os\nos.environ["COURSE_CHECKS"] = "soft"',
     "changes os.environ['COURSE_CHECKS']"),
    (L5, "5.2", "guided_eps", "checks.check_guided_eps = lambda fn: None",
     "replaces course_utils.checks.check_guided_eps"),
    (L5, "5.1", "drop_labels", "checks.lesson5.drop_labels = lambda labels, null_label, p, generator: labels.clone()",
     "replaces course_utils.checks.lesson5.drop_labels"),
    (L7, "7.2", "mean_word_vector", "checks.lesson7._compare = lambda *a, **k: None",
     "replaces course_utils.checks.lesson7._compare"),
    (L7, "7.1", "prompt_to_ids", "crayons.tokenize = prompt_to_ids", "replaces course_utils.crayons.tokenize"),
    (L6, "6.2", "euler_step", "torch.allclose = lambda *a, **k: True", "replaces torch.allclose"),
    (L6, "6.3", "heun_step", "checks.core.strict_mode = lambda: False",
     "replaces course_utils.checks.core.strict_mode"),
    (L6, "6.2", "euler_step", "torch.Tensor.allclose = lambda *a, **k: True", "replaces Tensor.allclose"),
    (LESSON, "0.1", "to_model_range", "checks.core._compare.__code__ = (lambda *a, **k: None).__code__",
     "rewrites the function course_utils.checks.core._compare (its code, defaults or closure)"),
    (LESSON, "0.1", "to_model_range", "import builtins\nbuiltins.isinstance = lambda *a: True",
     "replaces builtins.isinstance"),
]


@pytest.mark.parametrize("lesson,number,function,line,said", TAMPERING,
                         ids=[f"{t[1]}-{t[3].split('=')[0].split(chr(10))[-1].strip()}" for t in TAMPERING])
def test_a_check_that_was_tampered_with_never_passes(lesson, number, function, line, said, tmp_path: Path, capsys):
    """A wrong answer (or the stub) and one line that changes the check's world. Run in one process as the
    notebook's kernel runs them, the first four, 7.2, 6.2 (torch.allclose) and 6.3 (strict_mode) make the check
    cell pass (measured); the others do not fool this check, and are caught all the same."""
    write(learner(lesson, function, WRONG.get(function), append=line), tmp_path, lesson)
    rc, out = in_process(lesson, "--exercise", number, cwd=tmp_path, capsys=capsys)
    assert rc == 1, out
    assert out[-1].split()[:3] == ["Exercise", number, function], out
    assert f"not yet: your exercise cell {said}; the grader does not count a check it cannot trust" in out[-1], out


def test_tampering_while_the_check_runs_is_caught(tmp_path: Path, capsys):
    source = ("def euler_step(x, v, t, t_next):\n    import torch\n    torch.allclose = lambda *a, **k: True\n"
              "    return x")
    write(learner(L6, "euler_step", source), tmp_path, L6)
    rc, out = in_process(L6, "--exercise", "euler_step", cwd=tmp_path, capsys=capsys)
    assert rc == 1 and "not yet: your code replaces torch.allclose while its check ran" in out[-1], out


CALLS_THE_COURSE = [
    (L5, "5.1", "def drop_labels(labels, null_label, p, generator):\n"
                "    return course_drop_labels(labels, null_label, p, generator)",
     "your `drop_labels` calls the course's own function (`course_drop_labels`)"),
    (L5, "5.2", "def guided_eps(eps_uncond, eps_cond, w):\n    from course_utils.guidance import guided_eps as g\n"
                "    return g(eps_uncond, eps_cond, w)",
     "your cell imports the course's own `guided_eps` from course_utils.guidance"),
    (L6, "6.2", "def euler_step(x, v, t, t_next):\n    return cu.flow.euler_step(x, v, t, t_next)",
     "your `euler_step` calls the course's own `cu.flow.euler_step`"),
    # the course's function that is the answer under another name (grade.COURSE_ANSWERS)
    (L6, "6.1", "import course_utils.flow as F\n\n\ndef flow_loss(model, x0, generator):\n"
                "    return F.flow_matching_loss(model, x0, generator=generator)",
     "your `flow_loss` calls the course's own `F.flow_matching_loss`"),
    (L7, "7.1", "def prompt_to_ids(prompt, vocab, length=3):\n    return crayons.tokenize(prompt, length=length)",
     "your `prompt_to_ids` calls the course's own `crayons.tokenize`"),
]


@pytest.mark.parametrize("lesson,number,source,said", CALLS_THE_COURSE,
                         ids=["alias", "import", "attribute", "other-name-flow", "other-name-tokenize"])
def test_calling_the_course_s_own_function_is_not_an_answer(lesson, number, source, said, tmp_path: Path, capsys):
    function = re.search(r"^def (\w+)\(", source, re.M).group(1)
    write(learner(lesson, function, source), tmp_path, lesson)
    rc, out = in_process(lesson, "--exercise", number, cwd=tmp_path, capsys=capsys)
    assert rc == 1 and f"not yet: {said}, instead of computing it: write it yourself" in out[-1], out


@pytest.mark.parametrize("lesson,number", [("04_static_to_picture.ipynb", "4.3"), (L5, "5.3"), (L7, "7.1"),
                                           (L6, "6.2")], ids=["dct2-helper", "earlier-exercise", "re", "own-helper"])
def test_a_right_answer_passes_on_its_own(lesson, number, tmp_path: Path, capsys):
    """--exercise runs the exercise cell with what it needs: the course's helpers (Lesson 4's dct2), the learner's
    earlier exercises (Lesson 5's guided_eps), its own imports (Lesson 7's re) and the learner's own helpers."""
    nb = nbformat.read(SOLUTIONS / lesson, as_version=4)
    if number == "6.2":  # the learner's own helper, in a cell of their own above the exercise
        cell = next(c for c in nb.cells if "def euler_step(" in c.source)
        cell.source = "def euler_step(x, v, t, t_next):\n    return x + step_size(t, t_next) * v"
        nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(
            "def step_size(t, t_next):\n    return t_next - t"))
    write(nb, tmp_path, lesson)
    rc, out = in_process(lesson, "--exercise", number, cwd=tmp_path, capsys=capsys)
    assert rc == 0 and out[-1].split()[-1] == "passed", out


def test_a_cell_that_imports_the_course_s_function_instead_is_named(tmp_path: Path, capsys):
    write(learner(L5, "guided_eps", "from course_utils.guidance import guided_eps"), tmp_path, L5)
    rc, out = in_process(L5, "--exercise", "5.2", cwd=tmp_path, capsys=capsys)
    assert rc == 1 and ("not yet: your notebook imports the course's own `guided_eps` (from course_utils.guidance) "
                        "in place of the exercise cell: the exercise is to write it yourself") in out[-1], out


@pytest.mark.parametrize("lesson,number,function,earlier", [
    (L5, "5.3", "guided_sample_loop", "guided_eps (Exercise 5.2)"),
    ("04_static_to_picture.ipynb", "4.3", "blur_step", "posterior (Exercise 4.2)")], ids=["5.3", "4.3"])
def test_an_earlier_exercise_still_the_stub_is_named(lesson, number, function, earlier, tmp_path: Path, capsys):
    """This exercise solved, the earlier ones (which it calls) still the stubs, as the lesson hands them out."""
    solution = nbformat.read(SOLUTIONS / lesson, as_version=4)
    source = next(c.source for c in solution.cells if c.cell_type == "code" and f"def {function}(" in c.source)
    write(learner(lesson, function, source), tmp_path, lesson)
    rc, out = in_process(lesson, "--exercise", number, cwd=tmp_path, capsys=capsys)
    assert rc == 1 and out[-1].endswith(f"; it uses your {earlier}, which is still the stub: do that one first"), out


EVERY_EXERCISE = [(lesson.name, e["function"]) for lesson in solution_notebooks()
                  for e in exercise_cells(nbformat.read(lesson, as_version=4))]


@pytest.mark.parametrize("lesson,function", EVERY_EXERCISE, ids=[f for _, f in EVERY_EXERCISE])
def test_each_solution_passes_alone(lesson, function, tmp_path: Path, capsys):
    """Every exercise of every lesson's solution passes in the grader's fresh process (the verdict the grader
    trusts), so the course functions an answer may not call (grade.COURSE_ANSWERS) are none a right answer uses."""
    write(nbformat.read(SOLUTIONS / lesson, as_version=4), tmp_path, lesson)
    rc, out = in_process(lesson, "--exercise", function, cwd=tmp_path, capsys=capsys)
    assert rc == 0 and out[-1].split()[-1] == "passed", out


def test_the_full_run_uses_the_fresh_verdict(tmp_path: Path, capsys):
    """The notebook's own check cell passes (soft mode prints and returns), the fresh process does not."""
    nb = stub()
    cell = next(c for c in nb.cells if EXERCISE_TAG in tags(c))
    cell.source += '\nimport os\nos.environ["COURSE_CHECKS"] = "soft"'
    exercises, other = grader.grade(write(nb, tmp_path))
    (_, why), = exercises
    assert why == ("your exercise cell changes os.environ['COURSE_CHECKS']; the grader does not count a check it "
                   "cannot trust"), why
    assert other == []
    no_copy_left(tmp_path)


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "five"])
def test_a_cell_timeout_that_is_not_a_positive_number_is_refused(value: str, tmp_path: Path, capsys):
    """In-process (no kernel starts: the value is refused first); a negative limit used to mean no limit at all."""
    path = write(stub(), tmp_path)
    assert grader.main([str(path), f"--cell-timeout={value}"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == (f"--cell-timeout must be a number of seconds greater than 0, such as 300; "
                                         f"got {value!r}\n"), out
    no_copy_left(tmp_path)


def test_full_gives_each_lesson_its_own_cell_limit(monkeypatch, tmp_path: Path, capsys):
    """No kernel: --full without --cell-timeout uses the lesson's limit, longer than its training."""
    from course_utils.exercises import FAST_SETTINGS

    assert set(FAST_SETTINGS) <= set(grader.FULL_CELL_TIMEOUT)
    assert min(grader.FULL_CELL_TIMEOUT.values()) >= grader.DEFAULT_CELL_TIMEOUT
    seen = []
    monkeypatch.setattr(grader, "grade_notebook", lambda nb, timeout, **kw: seen.append(timeout) or grader.Result(
        [], [], []))
    path = write(make_learner_notebook(nbformat.read(SOLUTIONS / "04_static_to_picture.ipynb", as_version=4)),
                 tmp_path, "04_static_to_picture.ipynb")
    for args, limit in ((["--full"], grader.FULL_CELL_TIMEOUT["04_static_to_picture.ipynb"]), ([], 300),
                        (["--full", "--cell-timeout", "42"], 42)):
        assert grader.main([str(path), *args]) == 0
        assert seen.pop() == limit, args
    assert seen == []
    capsys.readouterr()


def test_a_lesson_saved_under_another_lesson_s_name_is_graded_as_what_it_is(tmp_path: Path, capsys):
    write(learner(L6, "euler_step"), tmp_path, L5)
    rc, out = in_process(L5, "--exercise", "6.2", cwd=tmp_path, capsys=capsys)
    assert rc == 1, out
    assert out[1] == (f"  note: this is Lesson 6's notebook ({L6}) saved as {L5}, Lesson 5's name: it is graded as "
                      "Lesson 6"), out
    assert "Exercise 6.2 euler_step" in out[-1] and "returned None" in out[-1], out
    # no kernel: each lesson's notebook, under every other lesson's name, and with its text cells deleted
    for s in solution_notebooks():
        nb = make_learner_notebook(nbformat.read(s, as_version=4))
        for other in solution_notebooks():
            assert grader.find_lesson(tmp_path / other.name, nb) == s, (s.name, other.name)
        nb.cells = [c for c in nb.cells if c.cell_type == "code"]
        if exercise_cells(make_learner_notebook(nbformat.read(s, as_version=4))):
            assert grader.find_lesson(tmp_path / "x.ipynb", nb) == s, s.name
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    assert grader.find_lesson(tmp_path / L5, empty).name == L5  # nothing to tell by: its name decides


def test_exercise_asks_for_one_that_exists(tmp_path: Path, capsys):
    write(stub(), tmp_path)
    rc, out = in_process(LESSON, "--exercise", "0.2", cwd=tmp_path, capsys=capsys)
    assert rc == 2 and out == ["--exercise 0.2: Lesson 0 has no such exercise; its exercises are 0.1 "
                               "(to_model_range)"], out


def test_an_endless_loop_in_the_exercise_is_stopped_in_exercise_mode(tmp_path: Path, capsys):
    """The limit counts from the learner's code, not from the fresh process's imports (5-20 s on a busy CPU)."""
    write(learner(LESSON, "to_model_range", "def to_model_range(pixels):\n    while True:\n        pass"), tmp_path)
    rc, out = in_process(LESSON, "--exercise", "0.1", "--cell-timeout", "3", cwd=tmp_path, capsys=capsys)
    assert rc == 1 and out[-1].endswith("not yet: its check (calling your `to_model_range` in a fresh process) ran "
                                        "longer than 3 s and was stopped: is there an endless loop?"), out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_grader_leaves_no_fresh_process_running(tmp_path: Path):
    """SIGKILL cannot be caught: the fresh process notices its grader is gone and ends (an endless loop once ran on
    for 23 CPU-minutes after its grader was killed)."""
    nb = solved()
    nb.cells[check_index(nb) - 1].source += "\n" + MARK + "while True:\n    pass"
    write(nb, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "course_utils.grade", LESSON, "--exercise", "0.1"], cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (tmp_path / "started").exists() and (tmp_path / "started").read_text(), "cell start", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    pid = int((tmp_path / "started").read_text())
    deadline = time.monotonic() + 60
    while not _gone(pid) and time.monotonic() < deadline:  # it looks twice a second
        time.sleep(0.1)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the fresh process ran on after its grader was killed")
