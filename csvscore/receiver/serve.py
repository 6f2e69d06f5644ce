"""Running the receiver: uvicorn on a socket bound here, with the public-bind safety check.

One process, one uvicorn worker: SQLite has a single writer, and the app already spreads
database work over threads. ``--port 0`` picks a free port; ``on_ready`` learns the URL once
the server accepts connections (the CLI prints ``RECEIVER_URL=...`` then, for scripts and tests).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn

from csvscore.errors import ConfigError
from csvscore.receiver.app import create_app
from csvscore.receiver.ingest import Receiver
from csvscore.receiver.store import Retention


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, receiver: Receiver) -> None:
    """Refuse a non-loopback bind unless a webhook secret and a live read token exist."""
    if is_loopback(host):
        return
    missing = []
    if not receiver.secrets.has_any():
        missing.append("a webhook secret (`csvscore webhook create` or `receiver secret add`)")
    if receiver.store.status().tokens == 0:
        missing.append("a read token (`csvscore receiver token add NAME`)")
    if missing:
        raise ConfigError(
            f"refusing to listen on {host} (reachable from other machines) without "
            + " and ".join(missing)
            + "; or listen on 127.0.0.1 behind a reverse proxy"
        )


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_ready`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 8
    retention: Retention | None = field(default_factory=Retention)
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    limit_concurrency: int = 200
    log_level: str = "info"
    access_log: bool = False


def make_server(
    receiver: Receiver,
    options: ServeOptions,
    on_ready: Callable[[str], None] | None = None,
    sock: socket.socket | None = None,
) -> tuple[_Server, socket.socket]:
    """A ready-to-run server and its bound socket (``server.run(sockets=[sock])``).

    ``sock`` is a socket bound already (not listening: connections are refused until the
    server starts), e.g. to hold a port while the receiver is "down" in a test.
    """
    check_bind(options.host, receiver)
    sock = sock or bind_socket(options.host, options.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    app = create_app(receiver, workers=options.workers, retention=options.retention)
    config = uvicorn.Config(
        app,
        log_level=options.log_level,
        access_log=options.access_log,
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        limit_concurrency=options.limit_concurrency,
        timeout_keep_alive=30,
        lifespan="on",
        server_header=False,
    )
    ready: Callable[[], None] | None = (lambda: on_ready(url)) if on_ready else None
    return _Server(config, ready), sock


def serve(receiver: Receiver, options: ServeOptions, on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles them: in-flight deliveries finish first)."""
    server, sock = make_server(receiver, options, on_ready)
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
