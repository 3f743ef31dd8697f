"""The last lines of ``python3 course.py test`` say when the browser tests were skipped, and how to run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_skipped_browser_tests_are_said_in_the_summary():
    env = {**os.environ, "COURSE_NO_BROWSER": "1"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_browser.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    tail = " ".join(out.stdout.splitlines()[-4:])
    assert out.returncode in (0, 5), out.stdout + out.stderr  # 5: pytest collected nothing (the module skipped)
    assert "the browser tests were SKIPPED (COURSE_NO_BROWSER is set)" in tail, out.stdout
    assert "sudo apt install chromium" in tail and "pip install playwright" in tail
