"""Opening the receiver's store from a database URL (SQLite by default, PostgreSQL for teams)."""

from __future__ import annotations

from typing import Any

from csvscore.receiver.store import Store


def open_store(url: str, **options: Any) -> Store:
    """The store a database URL names, migrated: ``sqlite:///path``, a plain path, or
    ``postgresql://...``. ConfigError for a URL it cannot use."""
    text = url.strip()
    if text.startswith(("postgresql://", "postgres://")):
        from csvscore.receiver.postgres import PostgresStore

        store: Store = PostgresStore(text, **options)
    else:
        from csvscore.receiver.sqlite import SqliteStore, sqlite_path

        store = SqliteStore(sqlite_path(text), **options)
    store.migrate()
    return store
