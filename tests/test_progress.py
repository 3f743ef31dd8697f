"""Progress where the output goes (course_utils/progress.py): a bar in a terminal or notebook, short lines in a log."""

import io
import subprocess
import sys

import pytest

from course_utils import progress as prog


def test_the_command_line_writes_short_lines_to_a_log(tmp_path):
    """stderr is a pipe here, as in a log or CI: no carriage returns, a line at each quarter."""
    proc = subprocess.run([sys.executable, "-m", "course_utils.sample", "--checkpoint", "digits", "--n", "4",
                           "--steps", "8", "--out", str(tmp_path / "s.npy")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("sampling:")]
    assert [ln.split(",")[0] for ln in lines] == [f"sampling: {k}/8 steps" for k in (2, 4, 6, 8)], proc.stderr


def test_a_terminal_gets_tqdm_and_a_log_gets_lines(monkeypatch):
    monkeypatch.setattr(prog, "_is_terminal", lambda stream: True)
    from tqdm.auto import tqdm

    assert isinstance(prog.progress(range(3), desc="x"), tqdm)
    monkeypatch.setattr(prog, "_is_terminal", lambda stream: False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    items = list(prog.progress(range(10), desc="training", unit="step"))
    assert items == list(range(10))  # passed through unchanged
    assert out.getvalue().count("\n") == 4 and "training: 10/10 steps" in out.getvalue()


@pytest.mark.parametrize("n", [0, 1, 3])
def test_short_runs_and_unsized_iterables(monkeypatch, n):
    monkeypatch.setattr(prog, "_is_terminal", lambda stream: False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    assert list(prog.progress(iter(range(n)), desc="d")) == list(range(n))  # no length: items, no lines
    assert out.getvalue() == ""
    assert list(prog.progress(range(n), desc="d")) == list(range(n))
    assert out.getvalue().count(f"d: {n}/{n} its") == (1 if n else 0)
