"""Shared test setup: a non-interactive matplotlib backend, chosen before anything imports matplotlib."""

import contextlib
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from course_utils.exercises import FAST_SETTINGS, fast_copy  # noqa: E402, F401  (tests and scripts import them from here)

sys.path.insert(0, str(Path(__file__).parent))  # tests/ helpers such as wrong_answers.py


def say(request, text: str) -> None:
    """Print a line to the terminal even under pytest's output capture (which also takes the reporter's)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(text, flush=True)


class LessonKernel:
    """A real Jupyter kernel that has run a (shortened, ``fast_copy``) solution notebook top to bottom; run more
    code in it.

    This is the one run of each lesson's solution that the in-kernel tests share (the wrong and right answers of
    test_exercises, the sliders of test_sliders_in_kernel, the offline proof of test_offline): the kernel cannot
    reach the network (``offline_kernel``: an empty network namespace where the OS allows it, and a guard in
    Python's ``socket`` module that logs every attempt to ``self.network_log``). Every error output and every
    stderr line naming an error while the notebook ran is kept in ``self.errors``; a cell that fails stops it."""

    def __init__(self, notebook: Path) -> None:
        import tempfile

        import nbformat
        from offline_kernel import offline_kernel

        from course_utils.exercises import EXERCISE_TAG, tags

        self.name = notebook.name
        self.tmp = tempfile.TemporaryDirectory()
        workdir = Path(self.tmp.name)
        notebook = fast_copy(notebook, workdir)
        self.network_log = workdir / "network.log"
        self.km = offline_kernel(workdir, self.network_log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        nb = nbformat.read(notebook, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        self.cells = {}
        self.errors: list[str] = []
        for i, cell in enumerate(code):
            reply = self.run(cell.source, errors=self.errors)
            assert reply["status"] == "ok", f"{notebook.name} code cell {i} failed: {reply.get('evalue')}"
            if EXERCISE_TAG in tags(cell):
                name = cell.source.split("def ", 1)[1].split("(", 1)[0]
                self.cells[name] = (cell.source, code[i + 1].source)

    def run(self, code: str, timeout: float = 900, errors: list[str] | None = None) -> dict:
        """Execute code; return the reply content (status, and ename/evalue/traceback on error); error outputs
        (and stderr text naming an error) go to ``errors`` when it is given.

        900 s: the longest cell of a shortened lesson (FAST_SETTINGS) took 84 s with the 2 cores shared by
        about 7 busy processes (Lesson 2's training cell; Lesson 1's longest 12 s, Lesson 0's 10 s); ten times
        that, so that a slow or busy machine does not fail the tests."""
        def keep_errors(msg) -> None:
            kind, content = msg["header"]["msg_type"], msg["content"]
            if errors is None:
                return
            if kind == "error":
                errors.append("\n".join(content.get("traceback", [])) or content.get("evalue", ""))
            elif kind == "stream" and content.get("name") == "stderr" and "Error" in content.get("text", ""):
                errors.append(content["text"])

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep_errors)
        return reply["content"]

    def value(self, expression: str):
        """Evaluate an expression in the kernel and return its value (via repr/ast.literal_eval)."""
        import ast

        reply = self.kc.execute_interactive("", user_expressions={"v": expression}, timeout=600,
                                            output_hook=lambda msg: None)
        res = reply["content"]["user_expressions"]["v"]
        assert res["status"] == "ok", res
        return ast.literal_eval(res["data"]["text/plain"])

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        self.tmp.cleanup()


@pytest.fixture(scope="session")
def lesson_kernel(request):
    """lesson_kernel("01_picture_to_static.ipynb") -> (run, {function: (exercise source, check source)})."""
    from course_utils.exercises import SOLUTIONS

    kernels: dict[str, LessonKernel] = {}
    request.session._lesson_kernels = kernels  # closed early by pytest_runtest_teardown

    def get(name: str, whole: bool = False):
        if name not in kernels:
            kernels[name] = LessonKernel(SOLUTIONS / name)
        return kernels[name] if whole else (kernels[name].run, kernels[name].cells)

    get.kernels = kernels
    yield get
    for k in kernels.values():
        k.close()


BROWSER_HOWTO = ("to run them: install Chromium (Debian/Ubuntu: sudo apt install chromium) and Playwright's Python "
                 "package (.venv/bin/python -m pip install playwright), then run the tests again")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say at the end, where the learner looks, when the browser tests did not run: "every test passed" must not be
    read as "the sliders were tried in a real browser"."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "test_browser.py" in str(r.nodeid or r.fspath)]
    if not skipped:
        return
    reason = skipped[0].longrepr[2] if isinstance(skipped[0].longrepr, tuple) else str(skipped[0].longrepr)
    reason = reason.removeprefix("Skipped: ")
    terminalreporter.write_line(f"NOTE: the browser tests were SKIPPED ({reason}): the sliders were not tried in a "
                                f"real browser; {BROWSER_HOWTO}.", yellow=True, bold=True)


# ------------------------------------------------------------------ running on several workers (pytest-xdist)
# `--dist loadgroup` sends the tests of one group to one worker. The groups keep what is expensive to make on one
# worker, made once: each lesson's shared kernel (every test that uses `lesson_kernel` for that lesson), and each
# module's module-scoped fixtures (its tests stay together). Modules without such fixtures, whose tests each start
# their own processes, are spread test by test.
SPREAD_MODULES = {"test_grade.py", "test_bad_input_cli.py", "test_launcher.py", "test_exercises.py"}
_LESSON_NAME = __import__("re").compile(r"\b(\d\d_\w+\.ipynb)")


_LESSON_OF: dict[str, str | None] = {}


def _lesson_of(item) -> str | None:
    """The lesson whose shared kernel ``item`` uses, if it uses one."""
    if item.nodeid not in _LESSON_OF:
        _LESSON_OF[item.nodeid] = _find_lesson(item)
    return _LESSON_OF[item.nodeid]


def _find_lesson(item) -> str | None:
    if "lesson_kernel" not in getattr(item, "fixturenames", ()):
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    for value in params.values():
        if isinstance(value, str) and _LESSON_NAME.fullmatch(value):
            return value
    import inspect

    found = _LESSON_NAME.search(inspect.getsource(item.function))
    return found.group(1) if found else None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (it turns them into node-id suffixes)
def pytest_collection_modifyitems(config, items) -> None:
    """Group the tests (above), and order them longest first (``_rank``), the tests of each lesson's shared kernel
    next to each other, so that the kernel can be closed as soon as its last test is done
    (``pytest_runtest_teardown``): one lesson kernel alive per worker at a time, not eight (about 0.5 GB each)."""
    lessons = {}
    for item in items:
        lesson = lessons[item] = _lesson_of(item)
        module = Path(str(item.fspath)).name
        if lesson is not None:
            item.add_marker(pytest.mark.xdist_group(f"lesson-{lesson}"))
        elif module not in SPREAD_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))
    items.sort(key=lambda item: _rank(item, lessons[item]))  # stable: collection order within a rank


# Longest first, so that no long group is left for the end while the other worker idles (course.py passes
# --no-loadscope-reorder: the workers take the groups in this order). Measured on 2 cores (docs/testing.md): the
# browser's eight lessons are one group of about 14 worker-minutes; then each lesson's shared kernel and its tests,
# the costliest lesson first (a lesson not listed, a new one, goes first); then the graders' runs of each lesson;
# then the grader's own tests; then the rest, as collected.
COSTLIEST_LESSONS_FIRST = ["03", "05", "04", "07", "06", "08", "02", "01", "00"]


def _lesson_cost_rank(lesson: str | None) -> int:
    number = (lesson or "")[:2]
    return COSTLIEST_LESSONS_FIRST.index(number) if number in COSTLIEST_LESSONS_FIRST else -1


def _rank(item, lesson: str | None) -> tuple[int, int]:
    module = Path(str(item.fspath)).name
    if module == "test_browser.py":
        return (0, 0)
    if lesson is not None:
        return (1, _lesson_cost_rank(lesson))
    params = getattr(getattr(item, "callspec", None), "params", {})
    runs_a_lesson = next((str(getattr(v, "name", v)) for v in params.values()
                          if _LESSON_NAME.search(str(getattr(v, "name", v)))), None)
    if module == "test_exercises.py" and runs_a_lesson is not None:
        return (2, _lesson_cost_rank(runs_a_lesson))
    if module == "test_grade.py":
        return (3, 0)
    return (4, 0)


def pytest_runtest_teardown(item, nextitem) -> None:
    """Close a lesson's shared kernel once the next test does not use it (the tests are ordered by lesson)."""
    lesson = _lesson_of(item)
    if lesson is None or (nextitem is not None and _lesson_of(nextitem) == lesson):
        return
    kernels = getattr(item.session, "_lesson_kernels", None)
    if kernels and lesson in kernels:
        kernels.pop(lesson).close()
