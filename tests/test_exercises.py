"""The exercise contract, proved on every lesson.

- Learner notebooks are generated from the solution notebooks and committed in sync.
- Solution notebooks pass their checks: each cell in the shared lesson kernel (conftest.LessonKernel), each
  exercise in the grader's fresh process (tests/test_grade.py, test_each_solution_passes_alone); the grader's
  whole run (nbval) is proved on every learner notebook below and on Lesson 0's solution in test_grade.py.
- Every check cell fails on the untouched learner stub, and no other cell fails there.
- Every check fails, with the right one-line message, on each common wrong answer it claims to catch,
  and passes other correct ways to write the exercise (tests/wrong_answers/lessonN.py).
- A failing check shows one line, not a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import fast_copy
from wrong_answers import RIGHT_ANSWERS, WRONG_ANSWERS

from course_utils.exercises import (
    BEGIN,
    CHECK_TAG,
    END,
    EXERCISE_TAG,
    learner_path,
    make_learner_notebook,
    render,
    solution_notebooks,
    strip_solution,
    tags,
)
from course_utils.grade import grade

SOLUTIONS = solution_notebooks()
IDS = [p.name for p in SOLUTIONS]


def test_there_are_lessons():
    assert [p.name for p in SOLUTIONS][:3] == ["00_welcome.ipynb", "01_picture_to_static.ipynb", "02_denoiser.ipynb"]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_learner_notebook_in_sync(solution: Path):
    dst = learner_path(solution)
    assert dst.exists(), f"{dst} is missing: run python scripts/make_learner_notebooks.py"
    expected = render(make_learner_notebook(nbformat.read(solution, as_version=4)))
    assert dst.read_text(encoding="utf-8") == expected, (
        f"{dst.name} is out of sync with its solution: run python scripts/make_learner_notebooks.py"
    )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_notebooks_committed_without_outputs(solution: Path):
    for path in (solution, learner_path(solution)):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs: strip them"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_exercise_structure(solution: Path):
    """Every exercise cell has a solution region and is followed by a check cell; the learner copy has no solution."""
    nb = nbformat.read(solution, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    exercises = [i for i, c in enumerate(code) if EXERCISE_TAG in tags(c)]
    assert len(exercises) >= (1 if solution.name.startswith("00") else 3), "each lesson needs exercises"
    for i in exercises:
        assert BEGIN in code[i].source and END in code[i].source
        assert CHECK_TAG in tags(code[i + 1]) and "checks.check_" in code[i + 1].source
    learner = nbformat.read(learner_path(solution), as_version=4)
    for cell in learner.cells:
        assert BEGIN not in cell.source and "### STUB" not in cell.source


def test_strip_solution_keeps_the_rest_and_uses_the_stub():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    ### STUB: y = None\n    y = x + 1\n    ### END SOLUTION\n    return y"
    assert strip_solution(src) == "def f(x):\n    # YOUR CODE HERE\n    y = None\n    return y"
    assert "NotImplementedError" in strip_solution("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(ValueError):
        strip_solution("### BEGIN SOLUTION\nx = 1")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_every_check_fails_on_the_stub_and_nothing_else_does(solution: Path, tmp_path: Path):
    exercises, other = grade(fast_copy(learner_path(solution), tmp_path))
    assert exercises, "no check cells found"
    for name, failure in exercises:
        assert failure is not None, f"{name} passes on the untouched stub: the check cannot fail"
        assert "Traceback" not in failure
    assert other == [], f"cells other than checks fail in the learner notebook: {other}"


# ------------------------------------------------------------------ wrong answers, in a real kernel


def _exercise_function(cell_source: str) -> str:
    m = re.search(r"^def (\w+)\(", cell_source, re.M)
    assert m, f"exercise cell without a function:\n{cell_source}"
    return m.group(1)


def _substitute(cell_source: str, wrong_code: str) -> str:
    """Replace the solution region with ``wrong_code``, indented like the region."""
    lines = cell_source.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith(BEGIN))
    end = next(i for i, ln in enumerate(lines) if ln.strip().startswith(END))
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    body = [indent + ln for ln in wrong_code.splitlines()]
    return "\n".join(lines[:start] + body + lines[end + 1 :])


def _cases():
    for solution in SOLUTIONS:
        nb = nbformat.read(solution, as_version=4)
        names = [_exercise_function(c.source) for c in nb.cells if EXERCISE_TAG in tags(c)]
        table = WRONG_ANSWERS.get(solution.name, {})
        assert sorted(table) == sorted(names), f"wrong answers missing for {solution.name}: {set(names) - set(table)}"
        for name in names:
            for code, fragment in table[name]:
                yield pytest.param(solution.name, name, code, fragment, id=f"{solution.stem}-{name}-{fragment[:24]}")


@pytest.mark.parametrize("notebook,function,wrong_code,fragment", list(_cases()))
def test_check_catches_wrong_answer(lesson_kernel, notebook, function, wrong_code, fragment):
    run, cells = lesson_kernel(notebook)
    exercise, check = cells[function]
    ok = run(_substitute(exercise, wrong_code))
    assert ok["status"] == "ok", f"the wrong answer did not even define the function: {ok}"
    reply = run(check)
    try:
        assert reply["status"] == "error", f"{function}: the check PASSED on the wrong answer:\n{wrong_code}"
        assert reply["ename"] == "ExerciseFailed", reply
        assert fragment in reply["evalue"], f"expected the message to mention {fragment!r}, got: {reply['evalue']}"
        # one readable line, not a traceback into library code
        assert len(reply["traceback"]) == 1 and fragment in reply["traceback"][0]
    finally:
        assert run(exercise)["status"] == "ok"  # restore the solution for the next case
        assert run(check)["status"] == "ok"


def _right_cases():
    for solution in SOLUTIONS:
        nb = nbformat.read(solution, as_version=4)
        names = [_exercise_function(c.source) for c in nb.cells if EXERCISE_TAG in tags(c)]
        table = RIGHT_ANSWERS.get(solution.name, {})
        assert set(table) <= set(names), f"right answers for unknown exercises in {solution.name}"
        for name in names:
            for i, code in enumerate(table.get(name, [])):
                yield pytest.param(solution.name, name, code, id=f"{solution.stem}-{name}-right{i}")


@pytest.mark.parametrize("notebook,function,right_code", list(_right_cases()))
def test_check_passes_right_answer(lesson_kernel, notebook, function, right_code):
    """Another correct way to write the exercise (an equivalent form) must pass its check."""
    run, cells = lesson_kernel(notebook)
    exercise, check = cells[function]
    ok = run(_substitute(exercise, right_code))
    assert ok["status"] == "ok", f"the right answer did not even define the function: {ok}"
    reply = run(check)
    try:
        assert reply["status"] == "ok", f"{function}: the check FAILED on a correct answer:\n{right_code}\n{reply}"
    finally:
        assert run(exercise)["status"] == "ok"  # restore the solution for the next case
        assert run(check)["status"] == "ok"
