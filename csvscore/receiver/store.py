"""The receiver's storage: one SQL dialect-light implementation over SQLite or PostgreSQL.

Every statement is plain SQL both engines run (``INSERT ... ON CONFLICT`` needs SQLite 3.24+);
only the placeholders, a few DDL words and the way to lock a row differ, and
:mod:`~csvscore.receiver.sqlite` / :mod:`~csvscore.receiver.postgres` supply those. Any failure
of the database raises :class:`StoreUnavailable`, which the receiver answers with 503 so that
TitanX retries: a transient problem is never a 4xx.

Times are Unix milliseconds (BIGINT) everywhere. Tables:

- ``deliveries``: one row per envelope id, the raw body (until purged), its state (``applied``,
  ``unparsed``, ``ignored``, ``stale``), how many duplicates arrived;
- ``contact_results``: the newest result per (customerContactId, job id or ``''``);
- ``jobs``: ``job.completed`` events, newest per job;
- ``quarantine``: bodies that failed verification, bounded, for ``receiver reverify``;
- ``tokens``: read tokens (SHA-256 only); ``key_pins``: the key derivation seen per secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from csvscore.errors import ConfigError
from csvscore.scores.contact import ContactResult

SCHEMA_VERSION = 1
DAY_MS = 86_400_000
LOOKUP_CHUNK = 500  # keys per IN (...) list: under every SQLite build's variable limit

_DDL = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS deliveries (
        event_id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        event_type TEXT,
        event_ms BIGINT,
        api_version TEXT,
        contact_key TEXT,
        state TEXT NOT NULL,
        note TEXT,
        body {blob},
        body_sha256 TEXT NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        last_duplicate_ms BIGINT)""",
    """CREATE INDEX IF NOT EXISTS deliveries_received ON deliveries (received_ms)""",
    """CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (contact_key)""",
    """CREATE TABLE IF NOT EXISTS contact_results (
        customer_contact_id TEXT NOT NULL,
        job_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_ms BIGINT NOT NULL,
        received_ms BIGINT NOT NULL,
        endpoint TEXT NOT NULL,
        result TEXT NOT NULL,
        statuses_seen TEXT NOT NULL,
        PRIMARY KEY (customer_contact_id, job_key))""",
    """CREATE INDEX IF NOT EXISTS contact_results_received ON contact_results (received_ms)""",
    """CREATE INDEX IF NOT EXISTS contact_results_job ON contact_results (job_key)""",
    """CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY,
        job_status TEXT,
        event_id TEXT NOT NULL,
        event_ms BIGINT NOT NULL,
        received_ms BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id {serial},
        received_ms BIGINT NOT NULL,
        endpoint TEXT NOT NULL,
        reason TEXT NOT NULL,
        signature TEXT,
        body {blob} NOT NULL,
        size INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tokens (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT)""",
    """CREATE TABLE IF NOT EXISTS key_pins (
        fingerprint TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        derivation TEXT NOT NULL,
        pinned_ms BIGINT NOT NULL)""",
)


class StoreUnavailable(Exception):
    """The database cannot take the write or read now (busy, locked, full, unreachable)."""


@dataclass(frozen=True)
class Delivery:
    """A verified delivery, ready to store (``result``/``job`` when it could be parsed)."""

    event_id: str
    endpoint: str
    received_ms: int
    body: bytes
    state: str  # applied | unparsed | ignored | stale
    event_type: str | None = None
    event_ms: int | None = None
    api_version: str | None = None
    note: str | None = None
    result: ContactResult | None = None
    job: tuple[str, str | None] | None = None  # (job id, job status)


@dataclass(frozen=True)
class Stored:
    """What storing a delivery did: ``new`` False for a duplicate envelope id."""

    new: bool
    state: str
    applied: bool = False  # the result or job changed what the read API returns


@dataclass(frozen=True)
class QuarantinedBody:
    id: int
    received_ms: int
    endpoint: str
    reason: str
    signature: str | None
    body: bytes


@dataclass(frozen=True)
class JobRow:
    job_id: str
    completed: bool
    status: str | None
    completed_ms: int | None
    results_seen: int


@dataclass
class PurgeCounts:
    bodies: int = 0
    deliveries: int = 0
    results: int = 0
    jobs: int = 0
    quarantine: int = 0
    erased_contacts: int = 0


@dataclass(frozen=True)
class Retention:
    """How long personal data is kept (days). Event ids outlive bodies: they stop replays."""

    bodies_days: float = 30
    results_days: float = 180
    quarantine_days: float = 30


@dataclass
class StoreStatus:
    deliveries: int = 0
    duplicates: int = 0
    quarantined: int = 0
    last_delivery_ms: int | None = None
    jobs_completed: int = 0
    results: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_endpoint: dict[str, int] = field(default_factory=dict)
    last_quarantined_ms: int | None = None
    tokens: int = 0


def token_hash(token: str) -> str:
    """How a read token is kept: its SHA-256 (tokens are 256-bit random, so no slow hash)."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


class Store:
    """The storage operations; subclasses supply connections and the dialect.

    Connections come from a small pool (``pool_size``), so at most that many threads talk to the
    database at once; waiting longer than ``pool_timeout`` for one raises StoreUnavailable.
    """

    blob = "BLOB"
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    for_update = ""
    url_label = ""

    def __init__(
        self,
        *,
        pool_size: int = 4,
        pool_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._opened = 0
        self._pool_lock = threading.Lock()
        self._clock = clock
        self._closed = False

    # -- dialect hooks -------------------------------------------------------------------------

    def _connect(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _begin(self, conn: Any, write: bool) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _is_db_error(self, exc: BaseException) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    # -- connections and transactions ----------------------------------------------------------

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _acquire(self) -> Any:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            pass
        with self._pool_lock:
            grow = self._opened < self._pool_size
            if grow:
                self._opened += 1
        if grow:
            try:
                return self._connect()
            except BaseException:
                with self._pool_lock:
                    self._opened -= 1
                raise
        try:
            return self._pool.get(timeout=self._pool_timeout)
        except queue.Empty:
            raise StoreUnavailable("every database connection is busy") from None

    def _discard(self, conn: Any) -> None:
        with self._pool_lock:
            self._opened -= 1
        with contextlib.suppress(Exception):
            conn.close()

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Any]:
        """A cursor inside one transaction, committed on success (durably, before returning).

        ``write=False`` for reads: under SQLite's WAL they then never wait for a writer.
        """
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            conn = self._acquire()
        except StoreUnavailable:
            raise
        except Exception as exc:
            if self._is_db_error(exc):
                raise StoreUnavailable(f"cannot connect to the database: {exc}") from exc
            raise
        ok = False
        try:
            self._begin(conn, write)
            cur = conn.cursor()
            yield cur
            conn.commit()
            ok = True
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.rollback()
            if self._is_db_error(exc):
                self._discard(conn)
                conn = None
                raise StoreUnavailable(str(exc).strip().splitlines()[0]) from exc
            raise
        finally:
            if conn is not None:
                if ok or not self._closed:
                    self._pool.put(conn)
                else:
                    self._discard(conn)

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                break
            self._discard(conn)

    def migrate(self) -> None:
        """Create the tables (idempotent) and check the schema version."""
        with self.transaction() as cur:
            for ddl in _DDL:
                self._exec(cur, ddl.format(blob=self.blob, serial=self.serial))
            row = self._exec(cur, "SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._exec(
                    cur, "INSERT INTO meta (key, value) VALUES ('schema', ?)", [str(SCHEMA_VERSION)]
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise ConfigError(
                    f"the receiver database {self.url_label} has schema {row[0]}, newer than this "
                    f"csvscore ({SCHEMA_VERSION}); upgrade csvscore"
                )

    # -- deliveries ----------------------------------------------------------------------------

    def store_delivery(self, d: Delivery, pin: tuple[str, str, str] | None = None) -> Stored:
        """Store ``d`` idempotently on its event id and apply its result, in one transaction.

        ``pin`` is (secret fingerprint, endpoint, derivation) to remember with it.
        """
        with self.transaction() as cur:
            if pin is not None:
                self._pin(cur, *pin)
            return self._store(cur, d)

    def _store(self, cur: Any, d: Delivery) -> Stored:
        key = d.result.key if d.result is not None else None
        inserted = self._exec(
            cur,
            """INSERT INTO deliveries (event_id, endpoint, received_ms, event_type, event_ms,
                   api_version, contact_key, state, note, body, body_sha256)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (event_id) DO NOTHING""",
            [
                d.event_id,
                d.endpoint,
                d.received_ms,
                d.event_type,
                d.event_ms,
                d.api_version,
                key,
                d.state,
                d.note,
                d.body,
                hashlib.sha256(d.body).hexdigest(),
            ],
        ).rowcount
        if inserted != 1:
            self._exec(
                cur,
                """UPDATE deliveries SET duplicates = duplicates + 1, last_duplicate_ms = ?
                   WHERE event_id = ?""",
                [d.received_ms, d.event_id],
            )
            return Stored(new=False, state="duplicate")
        applied = False
        if d.state == "applied" and d.result is not None:
            applied = self._apply_result(cur, d, d.result)
        elif d.state == "applied" and d.job is not None:
            applied = self._apply_job(cur, d, *d.job)
        return Stored(new=True, state=d.state, applied=applied)

    def _apply_result(self, cur: Any, d: Delivery, r: ContactResult) -> bool:
        """Upsert the newest result per (key, job); an older event only adds to statuses_seen."""
        job_key = r.job_id or ""
        event_ms = d.event_ms or d.received_ms
        seen = [r.lead_status] if r.lead_status else []
        data = json.dumps(r.to_json(), separators=(",", ":"))
        params = [r.key, job_key, d.event_id, event_ms, d.received_ms, d.endpoint, data]
        inserted = self._exec(
            cur,
            """INSERT INTO contact_results (customer_contact_id, job_key, event_id, event_ms,
                   received_ms, endpoint, result, statuses_seen)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (customer_contact_id, job_key) DO NOTHING""",
            [*params, json.dumps(seen)],
        ).rowcount
        if inserted == 1:
            return True
        row = self._exec(
            cur,
            "SELECT event_ms, event_id, statuses_seen FROM contact_results "
            "WHERE customer_contact_id = ? AND job_key = ?" + self.for_update,
            [r.key, job_key],
        ).fetchone()
        old_seen = json.loads(row[2])
        merged = old_seen + [s for s in seen if s not in old_seen]
        newer = (event_ms, d.event_id) > (int(row[0]), str(row[1]))
        if newer:
            self._exec(
                cur,
                """UPDATE contact_results SET event_id = ?, event_ms = ?, received_ms = ?,
                       endpoint = ?, result = ?, statuses_seen = ?
                   WHERE customer_contact_id = ? AND job_key = ?""",
                [
                    *(d.event_id, event_ms, d.received_ms, d.endpoint, data, json.dumps(merged)),
                    *(r.key, job_key),
                ],
            )
        elif merged != old_seen:
            self._exec(
                cur,
                "UPDATE contact_results SET statuses_seen = ? "
                "WHERE customer_contact_id = ? AND job_key = ?",
                [json.dumps(merged), r.key, job_key],
            )
        return newer

    def _apply_job(self, cur: Any, d: Delivery, job_id: str, status: str | None) -> bool:
        event_ms = d.event_ms or d.received_ms
        return bool(
            self._exec(
                cur,
                """INSERT INTO jobs (job_id, job_status, event_id, event_ms, received_ms)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (job_id) DO UPDATE SET job_status = excluded.job_status,
                       event_id = excluded.event_id, event_ms = excluded.event_ms,
                       received_ms = excluded.received_ms
                   WHERE excluded.event_ms > jobs.event_ms""",
                [job_id, status, d.event_id, event_ms, d.received_ms],
            ).rowcount
        )

    def deliveries_to_reprocess(self, states: Sequence[str]) -> list[tuple[str, str, bytes, int]]:
        """(event id, endpoint, body, received_ms) of stored deliveries in ``states``."""
        marks = ", ".join("?" for _ in states)
        with self.transaction(write=False) as cur:
            rows = self._exec(
                cur,
                f"SELECT event_id, endpoint, body, received_ms FROM deliveries "
                f"WHERE state IN ({marks}) AND body IS NOT NULL ORDER BY received_ms",
                list(states),
            ).fetchall()
        return [(r[0], r[1], bytes(r[2]), int(r[3])) for r in rows]

    def replace_delivery(self, d: Delivery) -> Stored:
        """Store ``d`` again under its id (after a parser change): the old row is replaced."""
        with self.transaction() as cur:
            old = self._exec(
                cur, "SELECT duplicates FROM deliveries WHERE event_id = ?", [d.event_id]
            ).fetchone()
            self._exec(cur, "DELETE FROM deliveries WHERE event_id = ?", [d.event_id])
            stored = self._store(cur, d)
            if old is not None and old[0]:
                self._exec(
                    cur,
                    "UPDATE deliveries SET duplicates = ? WHERE event_id = ?",
                    [old[0], d.event_id],
                )
            return stored

    # -- quarantine ----------------------------------------------------------------------------

    def quarantine(
        self,
        endpoint: str,
        body: bytes,
        signature: str | None,
        reason: str,
        *,
        max_rows: int,
        max_bytes: int,
    ) -> None:
        """Keep a body that failed verification; the oldest go beyond the bounds."""
        with self.transaction() as cur:
            self._exec(
                cur,
                """INSERT INTO quarantine (received_ms, endpoint, reason, signature, body, size)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [self.now_ms(), endpoint, reason, (signature or "")[:512], body, len(body)],
            )
            rows = self._exec(cur, "SELECT id, size FROM quarantine ORDER BY id DESC").fetchall()
            total, drop = 0, []
            for i, (row_id, size) in enumerate(rows):
                total += int(size)
                if i >= max_rows or total > max_bytes:
                    drop.append(row_id)
            for start in range(0, len(drop), LOOKUP_CHUNK):
                part = drop[start : start + LOOKUP_CHUNK]
                marks = ", ".join("?" for _ in part)
                self._exec(cur, f"DELETE FROM quarantine WHERE id IN ({marks})", part)

    def quarantined(self) -> list[QuarantinedBody]:
        with self.transaction(write=False) as cur:
            rows = self._exec(
                cur,
                "SELECT id, received_ms, endpoint, reason, signature, body FROM quarantine "
                "ORDER BY id",
            ).fetchall()
        return [
            QuarantinedBody(int(r[0]), int(r[1]), r[2], r[3], r[4] or None, bytes(r[5]))
            for r in rows
        ]

    def release(self, quarantine_id: int, d: Delivery, pin: tuple[str, str, str] | None) -> Stored:
        """Store a re-verified quarantined body and drop it from quarantine, atomically."""
        with self.transaction() as cur:
            if pin is not None:
                self._pin(cur, *pin)
            stored = self._store(cur, d)
            self._exec(cur, "DELETE FROM quarantine WHERE id = ?", [quarantine_id])
            return stored

    # -- key pins ------------------------------------------------------------------------------

    def _pin(self, cur: Any, fingerprint: str, endpoint: str, derivation: str) -> None:
        self._exec(
            cur,
            """INSERT INTO key_pins (fingerprint, endpoint, derivation, pinned_ms)
               VALUES (?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING""",
            [fingerprint, endpoint, derivation, self.now_ms()],
        )

    def pins(self) -> dict[str, str]:
        """Secret fingerprint -> the key derivation that verified it first."""
        with self.transaction(write=False) as cur:
            rows = self._exec(cur, "SELECT fingerprint, derivation FROM key_pins").fetchall()
        return {r[0]: r[1] for r in rows}

    # -- the read API --------------------------------------------------------------------------

    def lookup(self, keys: Sequence[str]) -> dict[str, list[ContactResult]]:
        """The newest result per (key, job) for each key that has one."""
        found: dict[str, list[ContactResult]] = {}
        unique = list(dict.fromkeys(k for k in keys if k))
        with self.transaction(write=False) as cur:
            for start in range(0, len(unique), LOOKUP_CHUNK):
                part = unique[start : start + LOOKUP_CHUNK]
                marks = ", ".join("?" for _ in part)
                rows = self._exec(
                    cur,
                    f"SELECT customer_contact_id, result, statuses_seen FROM contact_results "
                    f"WHERE customer_contact_id IN ({marks})",
                    part,
                ).fetchall()
                for key, data, seen in rows:
                    result = ContactResult.from_json(json.loads(data))
                    result = ContactResult(
                        **{**result.__dict__, "statuses_seen": tuple(json.loads(seen))}
                    )
                    found.setdefault(key, []).append(result)
        return found

    def jobs(self, job_ids: Sequence[str]) -> dict[str, JobRow]:
        """What is known of each job: job.completed seen, its status, results stored for it."""
        out: dict[str, JobRow] = {}
        unique = list(dict.fromkeys(j for j in job_ids if j))
        with self.transaction(write=False) as cur:
            for start in range(0, len(unique), LOOKUP_CHUNK):
                part = unique[start : start + LOOKUP_CHUNK]
                marks = ", ".join("?" for _ in part)
                done = {
                    r[0]: (r[1], int(r[2]))
                    for r in self._exec(
                        cur,
                        f"SELECT job_id, job_status, event_ms FROM jobs WHERE job_id IN ({marks})",
                        part,
                    ).fetchall()
                }
                counts = {
                    r[0]: int(r[1])
                    for r in self._exec(
                        cur,
                        f"SELECT job_key, COUNT(*) FROM contact_results "
                        f"WHERE job_key IN ({marks}) GROUP BY job_key",
                        part,
                    ).fetchall()
                }
                for job_id in part:
                    status, when = done.get(job_id, (None, None))
                    out[job_id] = JobRow(
                        job_id, job_id in done, status, when, counts.get(job_id, 0)
                    )
        return out

    # -- tokens --------------------------------------------------------------------------------

    def add_token(self, name: str, token: str) -> None:
        with self.transaction() as cur:
            taken = self._exec(
                cur, "SELECT revoked_ms FROM tokens WHERE name = ?", [name]
            ).fetchone()
            if taken is not None and taken[0] is None:
                raise ConfigError(
                    f"a read token named {name!r} exists; revoke it first "
                    f"(`csvscore receiver token revoke {name}`)"
                )
            self._exec(cur, "DELETE FROM tokens WHERE name = ?", [name])
            self._exec(
                cur,
                "INSERT INTO tokens (name, token_hash, created_ms) VALUES (?, ?, ?)",
                [name, token_hash(token), self.now_ms()],
            )

    def revoke_token(self, name: str) -> bool:
        with self.transaction() as cur:
            return bool(
                self._exec(
                    cur,
                    "UPDATE tokens SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL",
                    [self.now_ms(), name],
                ).rowcount
            )

    def token_owner(self, token: str) -> str | None:
        """The name of the live token ``token`` is, or None."""
        with self.transaction(write=False) as cur:
            row = self._exec(
                cur,
                "SELECT name FROM tokens WHERE token_hash = ? AND revoked_ms IS NULL",
                [token_hash(token)],
            ).fetchone()
        return None if row is None else str(row[0])

    def tokens(self) -> list[tuple[str, int, int | None]]:
        """(name, created_ms, revoked_ms) of every token."""
        with self.transaction(write=False) as cur:
            rows = self._exec(
                cur, "SELECT name, created_ms, revoked_ms FROM tokens ORDER BY name"
            ).fetchall()
        return [(r[0], int(r[1]), r[2]) for r in rows]

    # -- status and retention ------------------------------------------------------------------

    def status(self) -> StoreStatus:
        s = StoreStatus()
        with self.transaction(write=False) as cur:
            row = self._exec(
                cur,
                "SELECT COUNT(*), COALESCE(SUM(duplicates), 0), MAX(received_ms) FROM deliveries",
            ).fetchone()
            s.deliveries, s.duplicates, s.last_delivery_ms = int(row[0]), int(row[1]), row[2]
            s.by_state = dict(
                self._exec(cur, "SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
            )
            s.by_endpoint = dict(
                self._exec(
                    cur, "SELECT endpoint, COUNT(*) FROM deliveries GROUP BY endpoint"
                ).fetchall()
            )
            row = self._exec(cur, "SELECT COUNT(*), MAX(received_ms) FROM quarantine").fetchone()
            s.quarantined, s.last_quarantined_ms = int(row[0]), row[1]
            s.jobs_completed = int(self._exec(cur, "SELECT COUNT(*) FROM jobs").fetchone()[0])
            s.results = int(self._exec(cur, "SELECT COUNT(*) FROM contact_results").fetchone()[0])
            s.tokens = int(
                self._exec(cur, "SELECT COUNT(*) FROM tokens WHERE revoked_ms IS NULL").fetchone()[
                    0
                ]
            )
        s.by_state = {str(k): int(v) for k, v in s.by_state.items()}
        s.by_endpoint = {str(k): int(v) for k, v in s.by_endpoint.items()}
        return s

    def purge(self, retention: Retention, now_ms: int | None = None) -> PurgeCounts:
        """Drop personal data older than ``retention`` (bodies, then results, then ids)."""
        now_ms = self.now_ms() if now_ms is None else now_ms
        bodies = now_ms - int(retention.bodies_days * DAY_MS)
        results = now_ms - int(retention.results_days * DAY_MS)
        quarantine = now_ms - int(retention.quarantine_days * DAY_MS)
        counts = PurgeCounts()
        with self.transaction() as cur:
            counts.bodies = self._exec(
                cur,
                "UPDATE deliveries SET body = NULL WHERE received_ms < ? AND body IS NOT NULL",
                [bodies],
            ).rowcount
            counts.results = self._exec(
                cur, "DELETE FROM contact_results WHERE received_ms < ?", [results]
            ).rowcount
            counts.jobs = self._exec(
                cur, "DELETE FROM jobs WHERE received_ms < ?", [results]
            ).rowcount
            # Event ids are kept as long as results, and at least as long as bodies: a replayed
            # old delivery is then still recognised as a duplicate.
            counts.deliveries = self._exec(
                cur, "DELETE FROM deliveries WHERE received_ms < ?", [min(results, bodies)]
            ).rowcount
            counts.quarantine = self._exec(
                cur, "DELETE FROM quarantine WHERE received_ms < ?", [quarantine]
            ).rowcount
        return counts

    def erase_contact(self, key: str) -> PurgeCounts:
        """Forget one contact (a data-subject request): its results and the bodies naming it."""
        counts = PurgeCounts()
        with self.transaction() as cur:
            counts.results = self._exec(
                cur, "DELETE FROM contact_results WHERE customer_contact_id = ?", [key]
            ).rowcount
            counts.bodies = self._exec(
                cur,
                "UPDATE deliveries SET body = NULL WHERE contact_key = ? AND body IS NOT NULL",
                [key],
            ).rowcount
            counts.erased_contacts = 1 if counts.results or counts.bodies else 0
        return counts
