"""Learner notebooks are generated from the solution notebooks; this module does the generating.

One source of truth per lesson: ``notebooks/solutions/NN_name.ipynb``. In its code cells, a region

    ### BEGIN SOLUTION
    ### STUB: x_t = None  # your code here (eq. 1.3)
    x_t = math.sqrt(1 - beta_t) * x_prev + math.sqrt(beta_t) * eps
    ### END SOLUTION

becomes, in the learner's ``notebooks/NN_name.ipynb``,

    # YOUR CODE HERE
    x_t = None  # your code here (eq. 1.3)

(the ``### STUB:`` lines; without any, ``raise NotImplementedError()``). Cells tagged
``solution-only`` are dropped. The cell after each exercise is tagged ``check``; its
``course_utils.checks`` call fails until the exercise is right.

Not essential on first read: course plumbing, used by ``scripts/make_learner_notebooks.py``,
``python -m course_utils.grade`` and the tests.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = "### STUB:"
CHECK_TAG = "check"
EXERCISE_TAG = "exercise"
SOLUTION_ONLY_TAG = "solution-only"

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"

# Shorter training for runs that only exercise a lesson's checks or sliders: the tests that run a lesson
# again, and the grader (``python -m course_utils.grade``). The full notebooks run unchanged under nbval with
# ``python3 course.py test notebooks/solutions`` and in scripts/benchmark.py (docs/testing.md). Each key is a
# setting line that must be in exactly one code cell of the notebook; the lessons must not change these lines' text.
FAST_SETTINGS = {
    "02_denoiser.ipynb": {"DIGIT_STEPS = 3000": "DIGIT_STEPS = 100", "POINT_STEPS = 3000": "POINT_STEPS = 300"},
    "03_sampling.ipynb": {"N_EVAL = 500": "N_EVAL = 100"},
    "04_static_to_picture.ipynb": {"BLUR_STEPS = 3000": "BLUR_STEPS = 100", "N_EVAL = 500": "N_EVAL = 100"},
    "05_asking_for_a_picture.ipynb": {"POINT_STEPS = 2000": "POINT_STEPS = 800",
                                      "DIGIT_STEPS = 2000": "DIGIT_STEPS = 100", "N_TABLE = 40": "N_TABLE = 10",
                                      "TRAP_N, TRAP_SEEDS = 9, 30": "TRAP_N, TRAP_SEEDS = 9, 12"},
}
FAST_SETTINGS["06_straight_paths.ipynb"] = {"FLOW_STEPS = 3000": "FLOW_STEPS = 100", "N_EVAL = 500": "N_EVAL = 200"}


def strip_solution(source: str) -> str:
    """Replace every marked solution region in one cell's source with its stub."""
    out: list[str] = []
    inside = False
    stub: list[str] = []
    indent = ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise ValueError(f"nested {BEGIN!r} in cell:\n{source}")
            inside, stub, indent = True, [], line[: len(line) - len(line.lstrip())]
        elif stripped.startswith(END):
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in cell:\n{source}")
            out.append(f"{indent}# YOUR CODE HERE")
            out.extend(stub or [f"{indent}raise NotImplementedError()"])
            inside = False
        elif inside:
            if stripped.startswith(STUB):
                stub.append(indent + stripped[len(STUB):].strip())
        else:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in cell:\n{source}")
    return "\n".join(out)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def make_learner_notebook(solution_nb):
    """The learner's version of a solution notebook (an ``nbformat`` node): stubs in, outputs out."""
    nb = copy.deepcopy(solution_nb)
    cells = []
    for cell in nb.cells:
        if SOLUTION_ONLY_TAG in tags(cell):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cell.pop("id", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    import nbformat

    # stable cell ids, so regenerating gives byte-identical files
    for i, cell in enumerate(nb.cells):
        cell["id"] = str(i)  # the ids nbstripout gives, so both tools agree
    nbformat.validate(nb)
    return nb


def exercise_cells(nb) -> list[dict]:
    """One dict per exercise: code-cell indices of the exercise and its check (nbval names cells by code-cell
    index, from 0), the learner's function name and the check function's name."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    found = []
    for i, cell in enumerate(code):
        if CHECK_TAG not in tags(cell):
            continue
        m = re.search(r"check_(\w+)\(", cell.source)
        ex = i - 1 if i > 0 and EXERCISE_TAG in tags(code[i - 1]) else None
        fn = re.search(r"^def (\w+)\(", code[ex].source, re.MULTILINE) if ex is not None else None
        found.append({"check_cell": i, "exercise_cell": ex, "check": m.group(1) if m else cell.source.strip(),
                      "function": fn.group(1) if fn else (m.group(1) if m else "?")})
    return found


def solution_notebooks() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def learner_path(solution: Path) -> Path:
    return NOTEBOOKS / solution.name


def apply_fast_settings(nb, lesson: str) -> list[str]:
    """Shorten lesson ``lesson``'s settings (FAST_SETTINGS) in ``nb`` in place; returns the setting lines not
    found in exactly one code cell (left as they are)."""
    missing = []
    for old, new in FAST_SETTINGS.get(lesson, {}).items():
        pattern = re.compile(re.escape(old) + r"\b")  # "N = 500" must not match "N = 5000"
        hits = [c for c in nb.cells if c.cell_type == "code" and pattern.search(c.source)]
        if len(hits) != 1:
            missing.append(old)
            continue
        hits[0].source = pattern.sub(new, hits[0].source)
    return missing


def fast_copy(notebook: Path, directory: Path) -> Path:
    """Write ``notebook`` into ``directory`` with FAST_SETTINGS applied to its code; returns the new path."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    missing = apply_fast_settings(nb, notebook.name)
    assert not missing, f"{notebook.name}: the settings {missing} are not in exactly one cell each"
    out = Path(directory) / notebook.name
    nbformat.write(nb, out)
    return out


def render(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


# Lesson 7 (kept apart from the dict above, so that lessons added in parallel merge cleanly)
FAST_SETTINGS["08_your_drawing.ipynb"] = {"N_RUNS = 32": "N_RUNS = 8", "SEEDS = [0, 1, 2": "SEEDS = [0, 1"}
FAST_SETTINGS["07_crayons_from_words.ipynb"] = {"CRAYON_STEPS = 700": "CRAYON_STEPS = 60",
                                               "N_TABLE = 32": "N_TABLE = 4"}
