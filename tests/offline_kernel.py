"""Kernels that cannot reach the network, shared by the lesson kernel (conftest.LessonKernel) and the offline tests.

Two locks, one inside the other:

- **Python guard** (always): ``tests/offline/sitecustomize.py`` goes first on the kernel's ``PYTHONPATH``.
  Every host-name lookup and every IPv4/IPv6 connect or datagram through Python's ``socket`` module is
  logged and refused, in the kernel and in any Python process it starts with its environment.
- **No network at all** (where the OS allows it, as on Linux CI running as root): the kernel runs under
  ``unshare --net``, in a network namespace of its own with only a loopback interface and no routes, and
  talks to this process over Unix sockets (Jupyter's ``ipc`` transport). Nothing in it, C code included,
  can reach the network. Where ``unshare`` is not allowed, only the guard applies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import KernelManager

GUARD = Path(__file__).resolve().parent / "offline"


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
HOW = "empty network namespace (unshare --net) + Python guard" if NETNS else "Python guard only (no unshare)"


class OfflineKernelManager(KernelManager):
    """A kernel started with the network guard armed, inside an empty network namespace where possible."""

    def format_kernel_cmd(self, extra_arguments=None):
        return NETNS + super().format_kernel_cmd(extra_arguments)


def offline_kernel(workdir: Path, log: Path) -> OfflineKernelManager:
    """Start (and return the manager of) an offline kernel in ``workdir`` whose guard logs to ``log``."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), env.get("PYTHONPATH")]))
    env["COURSE_NETWORK_LOG"] = str(log)
    km = OfflineKernelManager(kernel_name="python3")
    if NETNS:  # the kernel's own loopback is down in its namespace: talk over Unix sockets instead of TCP
        km.transport = "ipc"
        km.ip = str(workdir / "kernel-ipc")
    km.start_kernel(env=env, cwd=str(workdir))
    return km


def network_attempts(log: Path) -> str:
    """What the guard logged (empty: no attempt)."""
    return log.read_text() if log.exists() else ""


def guard_armed(log: Path) -> bool:
    armed = Path(f"{log}.armed")
    return armed.exists() and bool(armed.read_text().strip())
