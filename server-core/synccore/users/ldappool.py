"""A small thread-safe pool of LDAP connections.

Each pooled ``ldap3`` connection is a plain synchronous one used by one
thread at a time; the pool hands them out and takes them back. (ldap3's own
"reusable" strategy multiplexes threads over shared sockets and is harder
to reason about when the directory goes away.)

Failure handling, which is the point of this module:

* Opening tries each configured URL in order, so a replica can take over
  when the first directory server is down.
* A connection that failed during an operation is closed, never returned.
* Before an idle connection is handed out it is checked without a round
  trip: an idle LDAP socket has nothing to read, so a readable one was
  closed by the server (restart, idle timeout) and is replaced.
* Every ldap3 exception (refused, timed out, reset, pool exhausted) becomes
  ``BackendError``, which the web layer answers with 503 and Retry-After.
"""
from __future__ import annotations

import logging
import math
import select
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import ldap3
from ldap3.core.exceptions import LDAPException

from synccore.exceptions import BackendError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    """Where the directory is and how long to wait for it."""

    urls: tuple[str, ...]
    connect_timeout_seconds: float = 5.0
    receive_timeout_seconds: float = 10.0
    start_tls: bool = False
    tls_ca_file: str | None = None

    def servers(self) -> list[ldap3.Server]:
        # Certificates are always verified: against tls_ca_file when given,
        # else against the system's trusted authorities.
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.tls_ca_file or None)
        return [ldap3.Server(url, get_info=ldap3.NONE, tls=tls,
                             connect_timeout=self.connect_timeout_seconds)
                for url in self.urls]


class LDAPPool:
    """Up to ``size`` connections, bound as ``bind_dn`` (or anonymous when None)."""

    def __init__(self, options: ServerOptions, *, bind_dn: str | None = None,
                 bind_password: str | None = None, size: int = 10,
                 checkout_timeout_seconds: float = 10.0):
        if size < 1:
            raise ValueError("an LDAP pool needs at least one connection")
        self.options = options
        self.size = size
        self.checkout_timeout_seconds = checkout_timeout_seconds
        self._servers = options.servers()
        self._bind_dn = bind_dn
        self._bind_password = bind_password
        self._idle: list[ldap3.Connection] = []
        self._open_count = 0
        self._closed = False
        self._condition = threading.Condition()

    @contextmanager
    def connection(self) -> Iterator[ldap3.Connection]:
        """Lend a connection; ldap3 errors inside the block become BackendError."""
        conn = self._checkout()
        try:
            yield conn
        except LDAPException as exc:
            self._discard(conn)
            raise BackendError("directory error", original=exc) from exc
        except Exception:
            # Our own exceptions (UserNotFound...) leave the connection usable.
            self._checkin(conn)
            raise
        except BaseException:
            self._discard(conn)  # interrupted mid-operation: state unknown
            raise
        else:
            self._checkin(conn)

    def close(self) -> None:
        """Close the idle connections; connections in use close when returned."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open_count -= len(idle)
            self._condition.notify_all()
        for conn in idle:
            _close_quietly(conn)

    # -- internals --------------------------------------------------------

    def _checkout(self) -> ldap3.Connection:
        deadline = time.monotonic() + self.checkout_timeout_seconds
        with self._condition:
            while True:
                if self._closed:
                    raise BackendError("the LDAP connection pool is closed")
                while self._idle:
                    conn = self._idle.pop()
                    if not _looks_dead(conn):
                        return conn
                    self._open_count -= 1
                    _close_quietly(conn)
                if self._open_count < self.size:
                    self._open_count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BackendError(
                        f"all {self.size} LDAP connections stayed busy for "
                        f"{self.checkout_timeout_seconds} s")
                self._condition.wait(remaining)
        try:
            return self._open()
        except BaseException:
            with self._condition:
                self._open_count -= 1
                self._condition.notify()
            raise

    def _checkin(self, conn: ldap3.Connection) -> None:
        with self._condition:
            if self._closed or conn.closed:
                self._open_count -= 1
                self._condition.notify()
                close = True
            else:
                self._idle.append(conn)
                self._condition.notify()
                close = False
        if close:
            _close_quietly(conn)

    def _discard(self, conn: ldap3.Connection) -> None:
        with self._condition:
            self._open_count -= 1
            self._condition.notify()
        _close_quietly(conn)

    def _open(self) -> ldap3.Connection:
        """A new connection to the first server that answers."""
        failures: list[str] = []
        for server in self._servers:
            # ldap3 would skip an address for a few seconds after one failure,
            # even once the server is back; this pool decides when to retry.
            server.reset_availability()
            conn = ldap3.Connection(
                server, user=self._bind_dn, password=self._bind_password,
                authentication=ldap3.SIMPLE if self._bind_dn else ldap3.ANONYMOUS,
                client_strategy=ldap3.SYNC, raise_exceptions=False,
                # ldap3 sets SO_RCVTIMEO from whole seconds only.
                receive_timeout=max(1, math.ceil(self.options.receive_timeout_seconds)),
                auto_referrals=False, return_empty_attributes=False)
            try:
                conn.open(read_server_info=False)
                if self.options.start_tls and not conn.start_tls(read_server_info=False):
                    raise BackendError(f"StartTLS refused by {server.host}: "
                                       f"{conn.result.get('description')}")
                if self._bind_dn and not conn.bind(read_server_info=False):
                    # A wrong service password is a configuration fault; the
                    # directory may also be refusing binds while it starts.
                    raise BackendError(f"bind as {self._bind_dn} refused by {server.host}: "
                                       f"{conn.result.get('description')}")
            except LDAPException as exc:
                _close_quietly(conn)
                failures.append(f"{server.host}:{server.port}: {exc}")
                continue
            except BaseException:
                _close_quietly(conn)
                raise
            return conn
        logger.warning("no LDAP server reachable: %s", "; ".join(failures))
        raise BackendError("no LDAP server reachable: " + "; ".join(failures))


def _looks_dead(conn: ldap3.Connection) -> bool:
    """True when an idle connection was closed by the other side.

    An idle LDAP connection has nothing to read; if its socket is readable
    the server has closed it (or sent a notice of disconnection).
    """
    sock = getattr(conn, "socket", None)
    if conn.closed or sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _close_quietly(conn: ldap3.Connection) -> None:
    with suppress(LDAPException, OSError):
        conn.unbind()
    # ldap3 leaves the socket of a failed connection attempt open.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with suppress(OSError):
            sock.close()
