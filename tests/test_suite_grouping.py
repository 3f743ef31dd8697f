"""The test run's workers (pytest-xdist, `--dist loadgroup`) keep a group on one worker: what lets each lesson's
shared kernel (conftest.LessonKernel) be started once per run. pytest 9 broke this silently for xdist 3.8 (it
renames `item._nodeid`, which pytest 9 no longer reads), so every kernel was started twice; this test fails then."""

import os
import subprocess
import sys
import textwrap


def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(textwrap.dedent("""
        import os
        import pytest

        @pytest.mark.xdist_group("one-lesson")
        @pytest.mark.parametrize("i", range(8))
        def test_in_the_group(i):
            with open(os.environ["WORKERS_FILE"], "a") as f:
                f.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")
    """))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    out = tmp_path / "workers.txt"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist",
                           "loadgroup", "-c", str(tmp_path / "pytest.ini"), str(tmp_path / "test_grouped.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "WORKERS_FILE": str(out)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    workers = out.read_text().split()
    assert len(workers) == 8 and len(set(workers)) == 1, f"the group ran on {sorted(set(workers))}"
