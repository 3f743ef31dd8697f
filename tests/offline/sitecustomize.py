"""Network guard for the offline test (tests/test_offline.py); not part of the course.

Python imports ``sitecustomize`` at start-up from the first folder on ``sys.path`` that has it, so putting
this folder on ``PYTHONPATH`` arms the guard in the kernel and in every Python process the kernel starts.

Every attempt to reach another machine through Python's ``socket`` module (a name lookup, a connect, a
datagram) is written to the file named by ``$COURSE_NETWORK_LOG`` and then refused with an OSError. The
test fails on any line in that file, so an attempt that a library catches and hides (a download that
falls back quietly, say) is caught too. Unix sockets and the kernel's own ZeroMQ sockets (opened by
libzmq in C, not through this module) are untouched.
"""

import errno
import os
import socket
import traceback

_LOG = os.environ.get("COURSE_NETWORK_LOG")
_LOCAL_NAMES = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}


def _refuse(what: str):
    if _LOG:
        where = "".join(traceback.format_stack(limit=8)[:-2])
        with open(_LOG, "a") as f:
            f.write(f"pid {os.getpid()}: {what}\n{where}\n")
    raise OSError(errno.ENETUNREACH, f"network access is blocked in this kernel (offline test): {what}")


def _is_network(sock, address) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def _guard_address(method_name: str):
    real = getattr(socket.socket, method_name)

    def guarded(self, *args):
        address = args[-1] if method_name in ("sendto",) else args[0]
        if _is_network(self, address):
            _refuse(f"socket.{method_name}({address!r})")
        return real(self, *args)

    guarded.__name__ = method_name
    return guarded


for _name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, _name, _guard_address(_name))

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOCAL_NAMES:
        _refuse(f"socket.getaddrinfo({host!r})")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
COURSE_NETWORK_GUARD = True
