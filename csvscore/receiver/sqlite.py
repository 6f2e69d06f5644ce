"""The receiver's default store: one SQLite file in WAL mode.

Every write is ``BEGIN IMMEDIATE`` (so two writers queue instead of deadlocking) and commits with
``synchronous=FULL``: a 200 tells TitanX never to resend, so the row must survive a power cut.
``busy_timeout`` bounds the wait for the lock, after which the delivery is answered 503 and
TitanX retries. WAL needs every process on one host: the CLI never opens this file over a
network share, it asks the receiver over HTTP.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from csvscore.errors import ConfigError
from csvscore.receiver.store import Store


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///abs/path``, ``sqlite:relative`` or a plain path."""
    text = url.strip()
    if text.startswith("sqlite:///"):
        text = "/" + text[len("sqlite:///") :].lstrip("/")
    elif text.startswith("sqlite://"):
        text = text[len("sqlite://") :]
    elif text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
    if not text or "://" in text:
        raise ConfigError(
            f"cannot use the database URL {url!r}: give sqlite:///path/receiver.db, a file path, "
            "or postgresql://..."
        )
    return Path(text).expanduser()


class SqliteStore(Store):
    """The store over one SQLite file (created with its folder, mode 0600)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000, **options: Any) -> None:
        # One connection: SQLite has one writer at a time anyway, and threads queueing here
        # wait in order, while connections contending for its lock sleep in SQLite's busy
        # handler (up to 100 ms a nap) and made the p99 ten times worse in the benchmark.
        options.setdefault("pool_size", 1)
        super().__init__(**options)
        self.path = path
        self.url_label = str(path)
        self._busy_ms = busy_timeout_ms
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                path.touch(mode=0o600)  # personal data: readable by the service only
        except OSError as exc:
            raise ConfigError(f"cannot create the receiver database {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_ms / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _begin(self, conn: Any, write: bool) -> None:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _is_db_error(self, exc: BaseException) -> bool:
        return isinstance(exc, (sqlite3.Error, OSError))
