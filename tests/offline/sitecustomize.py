"""Network guard for the offline test (tests/test_offline.py); not part of the course.

Python imports ``sitecustomize`` at start-up from the first folder on ``sys.path`` that has it, so putting
this folder first on ``PYTHONPATH`` arms the guard in the kernel and in every Python process the kernel
starts with that environment. (A ``sitecustomize`` further down the path, a distribution's say, still runs:
this one loads it after arming.)

Every IPv4/IPv6 connect or datagram (loopback included) and every host-name lookup made through Python's
``socket`` module is written to the file named by ``$COURSE_NETWORK_LOG`` (and to stderr) and then refused
with an OSError. The test fails on any line in that file, so an attempt that a library catches and hides (a
download that falls back quietly, say) is caught too. Each armed process also appends its pid to
``$COURSE_NETWORK_LOG.armed``, so the test can tell that the guard was loaded. Unix sockets and the kernel's
own ZeroMQ sockets (opened by libzmq in C, not through this module) are untouched; C code that opens its own
sockets is what the network namespace of the test is for.
"""

import errno
import os
import socket
import sys
import traceback

_LOG = os.environ.get("COURSE_NETWORK_LOG")
_LOCAL_NAMES = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}


def _refuse(what: str):
    message = f"network access is blocked in this kernel (offline test): {what}"
    where = "".join(traceback.format_stack(limit=8)[:-2])
    try:
        sys.stderr.write(f"NETWORK BLOCKED: {what}\n")
    except Exception:
        pass
    if _LOG:
        with open(_LOG, "a") as f:  # an error here is not swallowed as a network error: it is not an OSError
            f.write(f"pid {os.getpid()}: {what}\n{where}\n")
    raise OSError(errno.ENETUNREACH, message)


def _guard_address(method_name: str, address_index: int):
    real = getattr(socket.socket, method_name)

    def guarded(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            address = args[address_index] if len(args) > address_index else args
            _refuse(f"socket.{method_name}({address!r})")
        return real(self, *args)

    guarded.__name__ = method_name
    return guarded


for _name, _index in (("connect", 0), ("connect_ex", 0), ("sendto", -1), ("sendmsg", -1)):
    setattr(socket.socket, _name, _guard_address(_name, _index))


def _guard_lookup(name: str):
    real = getattr(socket, name)

    def guarded(host, *args, **kwargs):
        host_name = host.decode() if isinstance(host, bytes) else host
        if isinstance(host_name, tuple):  # getnameinfo((host, port), flags)
            host_name = host_name[0]
        if host_name not in _LOCAL_NAMES:
            _refuse(f"socket.{name}({host!r})")
        return real(host, *args, **kwargs)

    guarded.__name__ = name
    return guarded


for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
    setattr(socket, _name, _guard_lookup(_name))

COURSE_NETWORK_GUARD = True
if _LOG:
    with open(_LOG + ".armed", "a") as _f:
        _f.write(f"{os.getpid()}\n")


def _chain_next_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_chain_next_sitecustomize()
