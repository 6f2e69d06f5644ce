"""An overall deadline for one HTTP request, not only a timeout per socket read.

requests' read timeout restarts at every byte: an answer that drips one byte every few seconds
keeps a request alive for hours. So each request gets a :class:`Deadline`: a timer that, when the
time is up, shuts the request's socket down (the blocked read then ends at once) and marks the
deadline expired, so the client can say what happened: for a score POST, the outcome is unknown.

The socket is found through urllib3's pool: the adapter's pools and connections are subclasses
that report, on the thread making the request, the connection it was given and when it has
connected. Nothing is patched; the adapter is an ordinary ``requests`` transport adapter.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """The time limit of the request made on this thread inside ``with Deadline(seconds):``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._conn: Any = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None

    def watch(self, conn: Any) -> None:
        """The connection the request was given (new or from the pool)."""
        with self._lock:
            self._conn = conn
            if self.expired:
                _shut(conn)

    def connected(self, conn: Any) -> None:
        """The connection has just connected: cut it at once if the time is already up."""
        with self._lock:
            if self.expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._conn is not None:
                _shut(self._conn)


def _current_deadline() -> Deadline | None:
    return getattr(_current, "deadline", None)


def _watch_conn(conn: Any) -> Any:
    """``conn``, handed to this thread's deadline (if any) to shut when it expires."""
    deadline = _current_deadline()
    if deadline is not None:
        deadline.watch(conn)
    return conn


def _note_connected(conn: Any) -> None:
    """Tell this thread's deadline (if any) which connection to shut when it expires."""
    deadline = _current_deadline()
    if deadline is not None:
        deadline.connected(conn)


def _shut(conn: Any) -> None:
    """Shut the connection's socket down; a read blocked on it returns at once."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    # TLS through an HTTPS proxy wraps the socket in an object that is not one.
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if raw is None:
        return
    with contextlib.suppress(OSError):
        # The plain socket's method: an SSLSocket's own shutdown() would also drop its TLS
        # state under the reading thread.
        socket.socket.shutdown(raw, socket.SHUT_RDWR)


class _Connection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _note_connected(self)


class _TLSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _note_connected(self)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watch_conn(super()._get_conn(timeout))


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watch_conn(super()._get_conn(timeout))


def _watched(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
    return manager


class DeadlineAdapter(HTTPAdapter):
    """A transport adapter whose connections a :class:`Deadline` can cut (direct or proxied)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return _watched(super().proxy_manager_for(proxy, **proxy_kwargs))
