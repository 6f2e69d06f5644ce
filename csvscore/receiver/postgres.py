"""The receiver's shared store: PostgreSQL through psycopg 3 (a team deployment, several hosts).

Same statements as SQLite (see :mod:`~csvscore.receiver.store`), ``%s`` placeholders, ``BYTEA``
bodies, and ``SELECT ... FOR UPDATE`` where two deliveries for one contact may race.
``lock_timeout`` and ``statement_timeout`` bound every wait well inside TitanX's 10-second
answer budget; past them the delivery is answered 503 and retried by TitanX.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from csvscore.receiver.store import Store


class PostgresStore(Store):
    """The store over a PostgreSQL database named by a ``postgresql://`` URL."""

    blob = "BYTEA"
    serial = "BIGSERIAL PRIMARY KEY"
    for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        lock_timeout_ms: int = 5000,
        statement_timeout_ms: int = 8000,
        connect_timeout: int = 5,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._url = url
        # The URL may carry a password: only its host part is ever shown.
        self.url_label = "postgresql://" + url.split("@")[-1].split("://")[-1].split("?")[0]
        self._timeouts = (lock_timeout_ms, statement_timeout_ms)
        self._connect_timeout = connect_timeout

    def _connect(self) -> psycopg.Connection[Any]:
        lock_ms, statement_ms = self._timeouts
        # Options in the URL (a search_path, say) are kept; the timeouts are added to them.
        given = conninfo_to_dict(self._url).get("options") or ""
        options = f"{given} -c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"
        return psycopg.connect(
            self._url,
            autocommit=False,
            connect_timeout=self._connect_timeout,
            options=options.strip(),
        )

    def _begin(self, conn: Any, write: bool) -> None:
        pass  # psycopg opens a transaction with the first statement (autocommit off)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _is_db_error(self, exc: BaseException) -> bool:
        return isinstance(exc, (psycopg.Error, OSError))
