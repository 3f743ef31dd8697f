"""Offline proof: every lesson runs top to bottom in a kernel that cannot reach the network.

Two locks, one inside the other:

- **Python guard** (always): ``tests/offline/sitecustomize.py`` goes first on the kernel's ``PYTHONPATH``.
  Every host-name lookup and every IPv4/IPv6 connect or datagram through Python's ``socket`` module is
  logged and refused, in the kernel and in any Python process it starts with its environment. The test
  fails on any logged attempt, even one a library caught and hid, and checks that the guard was armed.
- **No network at all** (where the OS allows it, as on Linux CI running as root): the kernel runs under
  ``unshare --net``, in a network namespace of its own with only a loopback interface and no routes, and
  talks to this process over Unix sockets (Jupyter's ``ipc`` transport). Nothing in it, C code included,
  can reach the network. Where ``unshare`` is not allowed, only the guard applies; the namespace control
  test then skips, saying why.

Lessons 2 and 3 run with the shortened settings of ``conftest.FAST_SETTINGS`` (fewer training steps,
fewer evaluation samples): the cells are the same, only the loop counts shrink.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import fast_copy, say
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from course_utils.exercises import SOLUTIONS

GUARD = Path(__file__).resolve().parent / "offline"
LESSONS = sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))


def _netns_prefix() -> list[str]:
    """['unshare', ...] if this OS lets us start a process in an empty network namespace, else []."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        return []
    for prefix in ([unshare, "--net"], [unshare, "--net", "--map-root-user"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=20).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return []


NETNS = _netns_prefix()


class OfflineKernelManager(KernelManager):
    """A kernel started with the network guard armed, inside an empty network namespace where possible."""

    def format_kernel_cmd(self, extra_arguments=None):
        return NETNS + super().format_kernel_cmd(extra_arguments)


def _offline_kernel(workdir: Path, log: Path) -> OfflineKernelManager:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), env.get("PYTHONPATH")]))
    env["COURSE_NETWORK_LOG"] = str(log)
    km = OfflineKernelManager(kernel_name="python3")
    if NETNS:  # the kernel's own loopback is down in its namespace: talk over Unix sockets instead of TCP
        km.transport = "ipc"
        km.ip = str(workdir / "kernel-ipc")
    km.start_kernel(env=env, cwd=str(workdir))
    return km


def _run(code: str, workdir: Path, log: Path) -> dict:
    """Run `code` as a one-cell notebook in an offline kernel; return the cell's outputs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    km = _offline_kernel(workdir, log)
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
    how = "empty network namespace (unshare --net) + Python guard" if NETNS else "Python guard only (no unshare)"
    say(request, f"\noffline kernel: {how}")


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
def test_lesson_runs_offline(lesson):
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        log = workdir / "network.log"
        nb = nbformat.read(fast_copy(SOLUTIONS / lesson, workdir), as_version=4)
        km = _offline_kernel(workdir, log)
        try:
            NotebookClient(nb, km=km, timeout=900, allow_errors=False).execute()
        finally:
            km.shutdown_kernel(now=True)
        errors = [_text([o]) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr"
                                                  and "Error" in o.text)]
        assert not errors, f"{lesson}: error output while offline:\n" + "\n---\n".join(errors)
        attempts = log.read_text() if log.exists() else ""
        assert not attempts, f"{lesson} tried to reach the network:\n{attempts[:3000]}"
        armed = Path(f"{log}.armed")
        assert armed.exists() and armed.read_text().strip(), f"{lesson}: the network guard was never loaded"
