"""The submission journal: a SQLite file that makes re-running the same command safe.

Every batch is written here *before* its request is sent (state ``sending``) and its answer is
written when it arrives. A crash at any moment therefore leaves one of three things for a batch:
``planned`` (never sent: safe to send), ``sending`` (maybe sent: outcome unknown, never resent
on our own), or a final state. That is the whole resume logic; see :mod:`csvscore.scoring.submit`.

The journal lives in the user's state directory, one file per input *content* (sha256), so moving,
renaming or re-exporting the same bytes to another folder still finds it, and writing the result
somewhere else with ``-o`` cannot make csvscore forget what it already paid for. Inside, a *run* is
keyed to the input's fingerprint, the mapping and the scoring type.

The API key is never written here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Batch states
PLANNED = "planned"  # rows chosen, nothing sent
SENDING = "sending"  # written just before the POST; found on start-up: outcome unknown
ANSWERED = "answered"  # 200 received; response stored
FAILED = "failed"  # refused or not sent (auth, credits, 400, network before sending): not charged
UNKNOWN = "unknown"  # sent, no usable answer: maybe charged. Resent only with --retry-unconfirmed
RECONCILED = "reconciled"  # outcome recovered from GET /jobs: charged, job known
SPLIT = "split"  # refused as too large and replaced by two smaller batches

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    input_fingerprint TEXT NOT NULL,
    mapping_fingerprint TEXT NOT NULL,
    scoring_type TEXT NOT NULL,
    input_path TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    run_key TEXT NOT NULL,
    batch INTEGER NOT NULL,
    state TEXT NOT NULL,
    row_indexes TEXT NOT NULL,      -- JSON list of Table.rows positions
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT NOT NULL DEFAULT '',
    answered_at TEXT NOT NULL DEFAULT '',
    job_id TEXT NOT NULL DEFAULT '',
    response TEXT NOT NULL DEFAULT '',  -- JSON summary of the answer (no secrets)
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_key, batch)
);
"""


@dataclass
class BatchRecord:
    run_key: str
    batch: int
    state: str
    row_indexes: list[int]
    attempts: int
    sent_at: str
    answered_at: str
    job_id: str
    response: dict[str, Any] | None
    message: str


@dataclass
class RunRecord:
    run_key: str
    input_fingerprint: str
    mapping_fingerprint: str
    scoring_type: str
    input_path: str
    created_at: str


class Journal:
    """Thread-safe access to one journal file (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: workers share this connection under self._lock.
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a "sending" mark must be on disk before the request leaves the machine.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------

    def ensure_run(self, run: RunRecord) -> RunRecord:
        """Create the run if new; return the stored record (the first one wins)."""
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run.run_key,
                    run.input_fingerprint,
                    run.mapping_fingerprint,
                    run.scoring_type,
                    run.input_path,
                    run.created_at,
                ),
            )
        found = self.get_run(run.run_key)
        assert found is not None
        return found

    def get_run(self, run_key: str) -> RunRecord | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        return RunRecord(*row) if row else None

    def runs(self) -> list[RunRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM runs ORDER BY created_at").fetchall()
        return [RunRecord(*r) for r in rows]

    # -- batches ----------------------------------------------------------------------------

    def add_batches(self, run_key: str, groups: list[list[int]]) -> list[int]:
        """Append planned batches (numbered after the run's last one); return their numbers."""
        with self._tx() as c:
            (last,) = c.execute(
                "SELECT COALESCE(MAX(batch), 0) FROM batches WHERE run_key = ?", (run_key,)
            ).fetchone()
            numbers = list(range(last + 1, last + 1 + len(groups)))
            c.executemany(
                "INSERT INTO batches(run_key, batch, state, row_indexes) VALUES (?, ?, ?, ?)",
                [
                    (run_key, n, PLANNED, json.dumps(g))
                    for n, g in zip(numbers, groups, strict=True)
                ],
            )
        return numbers

    def batches(self, run_key: str) -> list[BatchRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_key, batch, state, row_indexes, attempts, sent_at, answered_at, "
                "job_id, response, message FROM batches WHERE run_key = ? ORDER BY batch",
                (run_key,),
            ).fetchall()
        return [_batch(r) for r in rows]

    def get_batch(self, run_key: str, batch: int) -> BatchRecord:
        with self._lock:
            row = self._conn.execute(
                "SELECT run_key, batch, state, row_indexes, attempts, sent_at, answered_at, "
                "job_id, response, message FROM batches WHERE run_key = ? AND batch = ?",
                (run_key, batch),
            ).fetchone()
        if row is None:
            raise KeyError(batch)
        return _batch(row)

    def mark_sending(self, run_key: str, batch: int, sent_at: str) -> None:
        """Durably record that the request is about to leave. Call *before* sending."""
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET state = ?, sent_at = ?, attempts = attempts + 1, message = '' "
                "WHERE run_key = ? AND batch = ?",
                (SENDING, sent_at, run_key, batch),
            )

    def finish(
        self,
        run_key: str,
        batch: int,
        state: str,
        *,
        answered_at: str = "",
        job_id: str = "",
        response: dict[str, Any] | None = None,
        message: str = "",
    ) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET state = ?, answered_at = ?, job_id = ?, response = ?, "
                "message = ? WHERE run_key = ? AND batch = ?",
                (
                    state,
                    answered_at,
                    job_id,
                    json.dumps(response) if response is not None else "",
                    message,
                    run_key,
                    batch,
                ),
            )

    def set_state(self, run_key: str, batch: int, state: str, message: str = "") -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET state = ?, message = ? WHERE run_key = ? AND batch = ?",
                (state, message, run_key, batch),
            )

    def known_job_ids(self) -> set[str]:
        """Job IDs any batch of any run already owns (so reconciliation never claims one twice)."""
        with self._lock:
            rows = self._conn.execute("SELECT job_id FROM batches WHERE job_id != ''").fetchall()
        return {r[0] for r in rows}


def _batch(row: tuple[Any, ...]) -> BatchRecord:
    (run_key, batch, state, row_indexes, attempts, sent_at, answered_at, job_id, resp, msg) = row
    return BatchRecord(
        run_key=run_key,
        batch=batch,
        state=state,
        row_indexes=json.loads(row_indexes),
        attempts=attempts,
        sent_at=sent_at,
        answered_at=answered_at,
        job_id=job_id,
        response=json.loads(resp) if resp else None,
        message=msg,
    )
