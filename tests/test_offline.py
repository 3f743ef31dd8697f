"""Offline proof: every lesson runs top to bottom in a kernel that cannot reach the network.

The kernel is ``offline_kernel.offline_kernel`` (read its docstring: an empty network namespace where the OS
allows it, and a guard in Python's ``socket`` module that logs every attempt). The lesson's run is the shared one
of ``conftest.LessonKernel`` (the shortened settings of ``FAST_SETTINGS``: the cells are the same, only the loop
counts shrink), which the wrong-answer and slider tests then use too: one run per lesson, not one per test file.
The test fails on any error output, on any logged network attempt (even one a library caught and hid), and when
the guard was never loaded. Two control tests show that the guard refuses a download and that the kernel's
namespace is not the test's and has no routes, so the lesson test can fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from conftest import say
from nbclient import NotebookClient
from offline_kernel import HOW, NETNS, guard_armed, network_attempts, offline_kernel

from course_utils.exercises import SOLUTIONS

LESSONS = sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))


def _run(code: str, workdir: Path, log: Path) -> dict:
    """Run `code` as a one-cell notebook in an offline kernel; return the cell's outputs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    km = offline_kernel(workdir, log)
    try:
        NotebookClient(nb, km=km, timeout=900, allow_errors=True).execute()
    finally:
        km.shutdown_kernel(now=True)
    return nb.cells[0].outputs


def _text(outputs) -> str:
    return "\n".join(o.get("text", "") or "\n".join(o.get("traceback", [])) or str(o.get("data", ""))
                     for o in outputs)


def test_the_guard_is_armed_and_refuses_the_network(tmp_path, request):
    """Control: inside such a kernel, a download fails and is logged, so the lesson test below can fail."""
    log = tmp_path / "network.log"
    outputs = _run(
        "import sitecustomize, urllib.request, subprocess, sys\n"
        "assert sitecustomize.COURSE_NETWORK_GUARD\n"
        "try:\n"
        "    urllib.request.urlopen('https://pypi.org/simple/', timeout=10)\n"
        "    print('DOWNLOAD WORKED')\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"
        "dial = 'import socket; socket.create_connection((\"1.1.1.1\", 53), 5)'\n"
        "child = subprocess.run([sys.executable, '-c', dial], capture_output=True, text=True)\n"
        "print('child exit', child.returncode)\n",
        tmp_path, log)
    text = _text(outputs)
    assert "DOWNLOAD WORKED" not in text, text
    assert "refused:" in text and "child exit 1" in text, text
    logged = log.read_text() if log.exists() else ""
    assert "getaddrinfo('pypi.org')" in logged, logged
    assert "1.1.1.1" in logged, f"the child process was not guarded:\n{logged}"
    say(request, f"\noffline kernel: {HOW}")


@pytest.mark.skipif(not NETNS, reason="this OS does not let the test start a process without a network")
def test_the_kernel_has_a_network_namespace_of_its_own(tmp_path):
    """Control for the second lock: the kernel's network namespace is not ours, its only interface is the
    loopback and it has no routes, so even C code that bypasses the Python guard has nowhere to connect."""
    log = tmp_path / "network.log"
    outputs = _run(
        "import os, socket, _socket\n"
        "print('NS', os.readlink('/proc/self/ns/net'))\n"
        "print('IFACES', sorted(name for _, name in socket.if_nameindex()))\n"
        "print('ROUTES', len(open('/proc/net/route').read().splitlines()[1:]))\n"
        "s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)\n"
        "s.settimeout(5)\n"
        "try:\n"
        "    s.connect(('1.1.1.1', 53))\n"
        "    print('CONNECTED')\n"
        "except OSError as e:\n"
        "    print('no route:', e)\n",
        tmp_path, log)
    text = _text(outputs)
    ours = os.readlink("/proc/self/ns/net")
    assert f"NS {ours}" not in text and "NS net:[" in text, f"the kernel shares our namespace {ours}:\n{text}"
    assert "IFACES ['lo']" in text, text
    assert "ROUTES 0" in text, f"the kernel's namespace has routes:\n{text}"
    assert "no route:" in text and "CONNECTED" not in text, text


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_offline(lesson_kernel, lesson):
    kernel = lesson_kernel(lesson, whole=True)  # the shared run: every cell, in order, offline
    assert not kernel.errors, f"{lesson}: error output while offline:\n" + "\n---\n".join(kernel.errors)
    attempts = network_attempts(kernel.network_log)
    assert not attempts, f"{lesson} tried to reach the network:\n{attempts[:3000]}"
    assert guard_armed(kernel.network_log), f"{lesson}: the network guard was never loaded"


def test_a_download_hidden_in_a_lesson_is_caught(tmp_path):
    """Control for the lesson test: a notebook that tries a download and hides the failure in try/except runs
    without an error output, yet its shared kernel's guard logged the attempt, so the lesson test would fail."""
    from conftest import LessonKernel

    path = tmp_path / "99_hidden_download.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "try:\n    from sklearn.datasets import fetch_openml\n    fetch_openml('mnist_784', version=1)\n"
        "except Exception as e:\n    print('quietly fell back:', type(e).__name__)\n")]), path)
    kernel = LessonKernel(path)
    try:
        assert not kernel.errors
        assert "openml" in network_attempts(kernel.network_log), network_attempts(kernel.network_log)
        assert guard_armed(kernel.network_log)
    finally:
        kernel.close()
