"""A network guard for the test suite: no test, and no process a test starts, reaches beyond 127.0.0.1.

``install(log_path)`` patches the socket module so that

* a TCP/UDP connection (``connect``/``connect_ex``/``sendto``) to an address outside 127.0.0.0/8 and
  ``::1`` raises ``ConnectionRefusedError`` at once, and
* a name lookup of anything but ``localhost`` or a loopback literal raises ``socket.gaierror``
  (so a stray ``https://hooks.slack.com/...`` fails before any DNS query leaves the machine),

and appends one line per attempt to ``log_path``. The failure alone is not enough: the bot catches
network errors in its outbox and retries, so a test could pass while the bot tries the internet.
The suite's autouse fixture (``tests/conftest.py``) reads the log after each test and fails the
test that caused a line. Child processes get the same guard through ``sitecustomize`` in this
folder (``PYTHONPATH`` and ``TEST_NETGUARD_LOG`` are set by the suite), so real ``serve``
processes are held to it too. Unix sockets (PostgreSQL's) are not affected. Stdlib only: it is
imported by ``sitecustomize`` before anything else exists.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import traceback
from typing import Any

LOG_ENV = "TEST_NETGUARD_LOG"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

_lock = threading.Lock()
_installed: dict[str, Any] = {}


def is_loopback_host(host: object) -> bool:
    """True for None (a passive lookup), ``localhost``, 127.0.0.0/8, ``::1``, IPv4-mapped loopback, and the
    unspecified addresses ``0.0.0.0``/``::`` (a bind address; a connection to it reaches this machine)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in LOOPBACK_NAMES or name == "":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _record(log_path: str, what: str) -> None:
    where = "".join(traceback.format_stack(limit=8)[:-2]).replace("\n", " | ")
    line = f"pid {os.getpid()}: {what} :: {where}\n"
    with _lock, open(log_path, "a", encoding="utf-8") as log:
        log.write(line)


def _inet_target(sock: socket.socket, address: object) -> str | None:
    """The host of ``address`` if ``sock`` is an internet socket aimed outside loopback, else None."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    if not isinstance(address, tuple) or not address:
        return None
    host = address[0]
    return None if is_loopback_host(host) else str(host)


def install(log_path: str) -> None:
    """Patch ``socket`` so that non-loopback traffic fails and is logged to ``log_path`` (idempotent)."""
    if _installed:
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname

    def refuse(what: str) -> ConnectionRefusedError:
        _record(log_path, what)
        return ConnectionRefusedError(f"test network guard: {what} (only 127.0.0.1 is reachable in tests)")

    def connect(self: socket.socket, address: Any) -> None:
        target = _inet_target(self, address)
        if target is not None:
            raise refuse(f"connect to {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        target = _inet_target(self, address)
        if target is not None:
            raise refuse(f"connect_ex to {address!r}")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        address = args[-1] if args else None
        if _inet_target(self, address) is not None:
            raise refuse(f"sendto {address!r}")
        return real_sendto(self, data, *args)  # type: ignore[call-arg, no-any-return]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback_host(host):
            _record(log_path, f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: lookup of {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not is_loopback_host(host):
            _record(log_path, f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: lookup of {host!r} refused")
        return real_gethostbyname(host)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    _installed["log_path"] = log_path


def install_from_environment() -> None:
    """Install the guard when the suite asked for it (``TEST_NETGUARD_LOG`` names the log)."""
    log_path = os.environ.get(LOG_ENV)
    if log_path:
        install(log_path)
