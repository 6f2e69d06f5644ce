"""The submission journal: a SQLite file that makes re-running the same command safe.

Every batch is written here *before* its request is sent (state ``sending``) and its answer is
written when it arrives. A crash at any moment therefore leaves one of three things for a batch:
``planned`` (never sent: safe to send), ``sending`` (maybe sent: outcome unknown, never resent
on our own), or a final state. That is the whole resume logic; see :mod:`csvscore.scoring.submit`.

Every change of a batch's state is a compare-and-set (``planned -> sending`` only if it is still
planned), inside a transaction that also updates the ledger (:mod:`csvscore.scoring.ledger`),
ATTACHed to the same connection: a batch's contacts are claimed in the ledger in the transaction
that marks it ``sending``, and recorded as charged (or released) in the one that stores its
answer. Both files use a rollback journal, not WAL, because only then does SQLite commit a
transaction over two files atomically.

The journal lives in the user's state directory, one file per input *content* (sha256), so moving,
renaming or re-exporting the same bytes to another folder still finds it, and writing the result
somewhere else with ``-o`` cannot make csvscore forget what it already paid for. Inside, a *run* is
keyed to the input's fingerprint, the mapping and the scoring type; the mapping a run used is kept,
so a later run can continue with it. Each journal has a random id; the ledger knows which journal
holds which contact, so a lost journal cannot make the same file be charged again.

The API key is never written here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csvscore.errors import StateError
from csvscore.scores.match import (
    MISMATCH,
    NO_RESULT,
    NOT_ENRICHED,
    PENDING,
    SCORED,
    ScoreRecord,
)
from csvscore.scoring import ledger as lg

SCHEMA_VERSION = 3  # 3: the scores table (issue 11)

# Batch states
PLANNED = "planned"  # rows chosen, nothing sent
SENDING = "sending"  # written just before the POST; found on start-up: outcome unknown
ANSWERED = "answered"  # 200 received; response stored
FAILED = "failed"  # refused or not sent (auth, credits, 400, network before sending): not charged
UNKNOWN = "unknown"  # sent, no usable answer: maybe charged. Resent only with --retry-unconfirmed
RECONCILED = "reconciled"  # outcome recovered from TitanX's job list: charged, job known
SPLIT = "split"  # refused as too large and replaced by two smaller batches
HELD = "held"  # every row was held back by the ledger at send time: nothing sent
SETTLED = (ANSWERED, RECONCILED, HELD)  # final, whatever later runs do
MAYBE_CHARGED = (SENDING, UNKNOWN, ANSWERED, RECONCILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    input_fingerprint TEXT NOT NULL,
    mapping_fingerprint TEXT NOT NULL,
    scoring_type TEXT NOT NULL,
    input_path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    mapping TEXT NOT NULL DEFAULT ''   -- JSON: the columns' fields and types, to continue with
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
    session TEXT NOT NULL DEFAULT '',   -- the csvscore invocation that settled it
    PRIMARY KEY (run_key, batch)
);
CREATE TABLE IF NOT EXISTS held (    -- rows the ledger held back at send time
    run_key TEXT NOT NULL,
    row_index INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_key, row_index)
);
"""
# The scores fetched from the receiver, per run and row (version 3; an older journal gets the
# table when opened). The receiver purges scores after its retention period; the journal keeps
# them, so the workbook can always be rebuilt with them.
_SCORES_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    run_key TEXT NOT NULL,
    row_index INTEGER NOT NULL,
    key TEXT NOT NULL,                  -- customerContactId sent for the row
    state TEXT NOT NULL,                -- scored, pending, no result, not enriched, mismatch...
    lead_status TEXT,                   -- raw, as TitanX sent it
    call_priority TEXT,                 -- "1".."9", "?" (unknown status), NULL (no score)
    best_phone TEXT,
    best_phone_e164 TEXT,
    best_phone_column TEXT,
    phone_statuses TEXT NOT NULL DEFAULT '{}',  -- JSON: source column -> status
    scored_at TEXT,                     -- the event's time, ISO 8601 UTC
    note TEXT NOT NULL DEFAULT '',
    match_method TEXT,                  -- key+job | key
    event_id TEXT,
    job_id TEXT,
    receiver TEXT NOT NULL DEFAULT '',  -- the receiver's URL (never a token)
    fetched_at TEXT NOT NULL,           -- when this record was fetched (ISO 8601 UTC)
    PRIMARY KEY (run_key, row_index)
);
"""
_SCORE_FIELDS = (
    "key, state, lead_status, call_priority, best_phone, best_phone_e164, best_phone_column, "
    "phone_statuses, scored_at, note, match_method, event_id, job_id"
)
# How final a score state is. A kept record is never replaced by a less final one: a score by
# "nothing came" or "still waiting", a finished job's "no result" by "still waiting" (the
# receiver purges old scores and jobs; the journal keeps what it learnt).
_FINALITY = {PENDING: 0, NO_RESULT: 1, NOT_ENRICHED: 1, SCORED: 2, MISMATCH: 2}
_BATCH_COLUMNS = (
    "run_key, batch, state, row_indexes, attempts, sent_at, answered_at, job_id, response, "
    "message, session"
)


@dataclass(frozen=True)
class _Key:
    journal_id: str
    run_key: str
    batch: int

    def kw(self) -> dict[str, Any]:
        return {"journal_id": self.journal_id, "run_key": self.run_key, "batch": self.batch}


class BatchTaken(Exception):
    """A batch was not in the state a change expected: another run changed it first."""


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
    session: str = ""


@dataclass
class RunRecord:
    run_key: str
    input_fingerprint: str
    mapping_fingerprint: str
    scoring_type: str
    input_path: str
    created_at: str
    mapping: str = ""


@dataclass
class Sender:
    """Who sends: this journal's id, the input and the options that decide what is held."""

    fingerprint: str
    file: str  # the input's name, for the ledger's messages
    rescore: bool = False  # --rescore: send contacts another journal holds
    retry_unconfirmed: bool = False  # --retry-unconfirmed: also contacts held as unconfirmed


def state_error(path: Path, exc: BaseException) -> StateError:
    """One plain line for a state-folder problem, naming the folder and what to do."""
    text = str(exc).lower()
    folder = path.parent
    if "full" in text or "no space" in text:
        return StateError(
            f"csvscore's state folder {folder} is full ({exc}). Free some disk space, then drop "
            "the same file again."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StateError(
            f"csvscore's record of this file ({path}) is damaged ({exc}). Move that file out of "
            "the folder and drop the same file again; contacts already paid for stay protected "
            "by the ledger."
        )
    if any(w in text for w in ("readonly", "read-only", "unable to open", "permission")):
        return StateError(
            f"csvscore cannot write its state folder {folder} ({exc}). Make the folder writable "
            "(or set CSVSCORE_STATE_DIR to one that is), then drop the same file again."
        )
    if "locked" in text or "busy" in text:
        return StateError(
            f"csvscore's state folder {folder} is busy ({exc}): another csvscore is writing to "
            "it. Wait for it to finish, then drop the same file again."
        )
    return StateError(f"csvscore's state folder {folder} cannot be used ({exc}).")


@dataclass
class JournalView:
    """A read-only look at a journal, for planning before anything is locked or sent."""

    journal_id: str
    runs: list[RunRecord]
    batches: dict[str, list[BatchRecord]]  # by run key
    # Where the result of this content was last written, by the input's path: a copy of the
    # export elsewhere has its own (its result goes beside it, not into the original's folder).
    last_results: dict[str, str] = field(default_factory=dict)

    def last_result(self, input_path: Path) -> str:
        """Where the result of the export at ``input_path`` was last written ("" if never)."""
        return self.last_results.get(str(input_path.absolute()), "")

    def sent_runs(self) -> list[tuple[RunRecord, int]]:
        """Runs that sent anything (maybe charged), with how many rows they sent, oldest first."""
        out = []
        for run in self.runs:
            sent = [b for b in self.batches.get(run.run_key, []) if b.state in MAYBE_CHARGED]
            if sent:
                out.append((run, sum(len(b.row_indexes) for b in sent)))
        return out


def peek(path: Path) -> JournalView | None:
    """The journal at ``path`` as it is, without creating, migrating or locking it.

    None when there is no journal (or it cannot be read: the run itself then says why).
    """
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchone()
        runs = [RunRecord(*r) for r in conn.execute("SELECT * FROM runs ORDER BY created_at")]
        # A version-1 journal has no id yet: the one it adopts when migrated.
        legacy = f"legacy:{runs[0].input_fingerprint}" if runs else ""
        journal_id = str(row[0]) if row else legacy
        has_session = any(r[1] == "session" for r in conn.execute("PRAGMA table_info(batches)"))
        columns = _BATCH_COLUMNS if has_session else _BATCH_COLUMNS.replace(", session", "")
        batches: dict[str, list[BatchRecord]] = {}
        for r in conn.execute(f"SELECT {columns} FROM batches ORDER BY run_key, batch"):
            record = _batch(tuple(r) if has_session else (*r, ""))
            batches.setdefault(record.run_key, []).append(record)
        last = conn.execute("SELECT key, value FROM meta WHERE key LIKE 'last_result:%'")
        results = {str(k).removeprefix("last_result:"): str(v) for k, v in last}
        return JournalView(journal_id, runs, batches, results)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


class Journal:
    """Thread-safe access to one journal file and the user's ledger (one connection, one lock).

    ``ledger`` is the ledger file to attach; without it (tests of the journal alone) the ledger's
    tables live in the journal file itself, which keeps every rule but protects only this file.
    """

    def __init__(self, path: Path, *, ledger: Path | None = None, session: str = "") -> None:
        self.path = path
        self.session = session or uuid.uuid4().hex
        self._ledger_schema = "ledger" if ledger is not None else "main"
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if ledger is not None:
                ledger.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: workers share this connection under self._lock.
            self._conn = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=30.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise state_error(path, exc) from exc
        try:
            self._open(ledger)
        except sqlite3.Error as exc:
            self._conn.close()
            raise state_error(path, exc) from exc

    def _open(self, ledger: Path | None) -> None:
        c = self._conn
        # A rollback journal (not WAL): a transaction over the journal and the attached ledger
        # is then atomic across both files, even if the process is killed mid-commit.
        c.execute("PRAGMA journal_mode=TRUNCATE")
        # FULL: a "sending" mark must be on disk before the request leaves the machine.
        c.execute("PRAGMA synchronous=FULL")
        c.executescript(_SCHEMA)
        self._migrate()
        if ledger is not None:
            c.execute("ATTACH DATABASE ? AS ledger", (str(ledger),))
            c.execute("PRAGMA ledger.journal_mode=TRUNCATE")
            c.execute("PRAGMA ledger.synchronous=FULL")
        with self._tx() as tx:
            lg.create(tx, self._ledger_schema)
        self.journal_id = self._meta("journal_id")

    def _migrate(self) -> None:
        c = self._conn
        columns = {r[1] for r in c.execute("PRAGMA table_info(runs)")}
        if "mapping" not in columns:
            c.execute("ALTER TABLE runs ADD COLUMN mapping TEXT NOT NULL DEFAULT ''")
        columns = {r[1] for r in c.execute("PRAGMA table_info(batches)")}
        if "session" not in columns:
            c.execute("ALTER TABLE batches ADD COLUMN session TEXT NOT NULL DEFAULT ''")
        if c.execute("SELECT 1 FROM meta WHERE key = 'journal_id'").fetchone() is None:
            # A version-1 journal adopts the id its input's charges got in the migrated ledger.
            first = c.execute("SELECT input_fingerprint FROM runs ORDER BY created_at").fetchone()
            journal_id = f"legacy:{first[0]}" if first else uuid.uuid4().hex
            c.execute("INSERT INTO meta VALUES ('journal_id', ?)", (journal_id,))
        c.executescript(_SCORES_SCHEMA)  # version 3
        c.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def _meta(self, key: str) -> str:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else ""

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
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise state_error(self.path, exc) from exc
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise state_error(self.path, exc) from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise state_error(self.path, exc) from exc

    @property
    def ledger_schema(self) -> str:
        return self._ledger_schema

    # -- runs -------------------------------------------------------------------------------

    def ensure_run(self, run: RunRecord) -> RunRecord:
        """Create the run if new; return the stored record (the first one wins)."""
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_key,
                    run.input_fingerprint,
                    run.mapping_fingerprint,
                    run.scoring_type,
                    run.input_path,
                    run.created_at,
                    run.mapping,
                ),
            )
            if run.mapping:
                c.execute(
                    "UPDATE runs SET mapping = ? WHERE run_key = ? AND mapping = ''",
                    (run.mapping, run.run_key),
                )
        found = self.get_run(run.run_key)
        assert found is not None
        return found

    def get_run(self, run_key: str) -> RunRecord | None:
        rows = self._read("SELECT * FROM runs WHERE run_key = ?", (run_key,))
        return RunRecord(*rows[0]) if rows else None

    def runs(self) -> list[RunRecord]:
        return [RunRecord(*r) for r in self._read("SELECT * FROM runs ORDER BY created_at")]

    def sent_runs(self) -> list[tuple[RunRecord, int]]:
        """Runs that sent anything (maybe charged), with how many rows they sent, oldest first."""
        out = []
        for run in self.runs():
            sent = [b for b in self.batches(run.run_key) if b.state in MAYBE_CHARGED]
            if sent:
                out.append((run, sum(len(b.row_indexes) for b in sent)))
        return out

    # -- batches ----------------------------------------------------------------------------

    def add_batches(self, run_key: str, groups: list[list[int]]) -> list[int]:
        """Append planned batches (numbered after the run's last one); return their numbers."""
        with self._tx() as c:
            return self._add_batches(c, run_key, groups)

    def _add_batches(
        self, c: sqlite3.Connection, run_key: str, groups: list[list[int]]
    ) -> list[int]:
        (last,) = c.execute(
            "SELECT COALESCE(MAX(batch), 0) FROM batches WHERE run_key = ?", (run_key,)
        ).fetchone()
        numbers = list(range(last + 1, last + 1 + len(groups)))
        c.executemany(
            "INSERT INTO batches(run_key, batch, state, row_indexes) VALUES (?, ?, ?, ?)",
            [(run_key, n, PLANNED, json.dumps(g)) for n, g in zip(numbers, groups, strict=True)],
        )
        return numbers

    def batches(self, run_key: str) -> list[BatchRecord]:
        rows = self._read(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE run_key = ? ORDER BY batch", (run_key,)
        )
        return [_batch(r) for r in rows]

    def get_batch(self, run_key: str, batch: int) -> BatchRecord:
        rows = self._read(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE run_key = ? AND batch = ?",
            (run_key, batch),
        )
        if not rows:
            raise KeyError(batch)
        return _batch(rows[0])

    def held(self, run_key: str) -> dict[int, str]:
        """Rows the ledger held back at send time in this run, with the reason."""
        return dict(self._read("SELECT row_index, reason FROM held WHERE run_key = ?", (run_key,)))

    def clear_held(self, run_key: str) -> None:
        """Forget earlier holds: a new run decides them again (the holder may have settled)."""
        with self._tx() as c:
            c.execute("DELETE FROM held WHERE run_key = ?", (run_key,))

    @staticmethod
    def _cas(c: sqlite3.Connection, run_key: str, batch: int, expected: tuple[str, ...]) -> None:
        marks = ",".join("?" * len(expected))
        row = c.execute(
            f"SELECT state FROM batches WHERE run_key = ? AND batch = ? AND state IN ({marks})",
            (run_key, batch, *expected),
        ).fetchone()
        if row is None:
            raise BatchTaken(f"batch {batch} is no longer {' or '.join(expected)}")

    def start_sending(
        self,
        run_key: str,
        batch: int,
        identities: Mapping[int, str],
        sender: Sender,
        *,
        sent_at: str,
    ) -> tuple[list[int], dict[int, str]]:
        """Claim a planned batch's contacts in the ledger and mark it ``sending``, atomically.

        Rows whose contact another journal holds (charged, unconfirmed, or in flight from another
        window) are taken out of the batch and recorded as held, with the reason. Returns (rows
        to send, held rows). With every row held, the batch becomes ``held`` and nothing is sent.
        Raises :class:`BatchTaken` when the batch is no longer planned (another run took it).
        Call *before* sending.
        """
        s = self._ledger_schema
        with self._tx() as c:
            self._cas(c, run_key, batch, (PLANNED,))
            (raw,) = c.execute(
                "SELECT row_indexes FROM batches WHERE run_key = ? AND batch = ?",
                (run_key, batch),
            ).fetchone()
            rows: list[int] = json.loads(raw)
            held: dict[int, str] = {}
            if not sender.rescore:
                states: tuple[str, ...] = lg.LIVE
                if sender.retry_unconfirmed:
                    states = (lg.SENDING, lg.CHARGED)
                holds = lg.holds(
                    c,
                    sorted({identities[i] for i in rows}),
                    journal_id=self.journal_id,
                    fingerprint=sender.fingerprint,
                    states=states,
                    schema=s,
                )
                held = {i: holds[identities[i]].reason() for i in rows if identities[i] in holds}
            send = [i for i in rows if i not in held]
            c.executemany(
                "INSERT OR REPLACE INTO held VALUES (?, ?, ?)",
                [(run_key, i, reason) for i, reason in held.items()],
            )
            if not send:
                c.execute(
                    "UPDATE batches SET state = ?, row_indexes = '[]', answered_at = ?, "
                    "session = ?, message = ? WHERE run_key = ? AND batch = ?",
                    (HELD, sent_at, self.session, "every row was held back", run_key, batch),
                )
                return [], held
            lg.claim(
                c,
                {identities[i] for i in send},
                journal_id=self.journal_id,
                run_key=run_key,
                batch=batch,
                size=len(send),
                fingerprint=sender.fingerprint,
                file=sender.file,
                at=sent_at,
                schema=s,
            )
            c.execute(
                "UPDATE batches SET state = ?, row_indexes = ?, sent_at = ?, "
                "attempts = attempts + 1, message = '' WHERE run_key = ? AND batch = ?",
                (SENDING, json.dumps(send), sent_at, run_key, batch),
            )
        return send, held

    def finish_answered(
        self,
        run_key: str,
        batch: int,
        *,
        answered_at: str,
        job_id: str,
        response: dict[str, Any],
        charged: list[str],
        file: str,
        message: str = "",
    ) -> None:
        """Store a 200: the batch ``answered``, its accepted contacts charged, the rest released."""
        s = self._ledger_schema
        key = _Key(self.journal_id, run_key, batch)
        with self._tx() as c:
            self._cas(c, run_key, batch, (SENDING,))
            if not lg.claim_job(c, job_id, file=file, at=answered_at, schema=s, **key.kw()):
                message = (message + "; " if message else "") + (
                    f"TitanX answered with job {job_id}, which another batch already owns"
                )
            lg.settle(c, state=lg.CHARGED, job_id=job_id, keep=charged, schema=s, **key.kw())
            self._set(c, run_key, batch, ANSWERED, answered_at, job_id, response, message)

    def finish_failed(
        self, run_key: str, batch: int, *, answered_at: str, message: str, cause: str = ""
    ) -> None:
        """Refused or never processed: not charged; the next run sends it again.

        ``message`` is the technical detail (for the Jobs sheet), ``cause`` a few plain words
        for the batch's rows.
        """
        s = self._ledger_schema
        with self._tx() as c:
            self._cas(c, run_key, batch, (SENDING,))
            lg.settle(
                c, journal_id=self.journal_id, run_key=run_key, batch=batch, state=None, schema=s
            )
            self._set(c, run_key, batch, FAILED, answered_at, "", {"cause": cause}, message)

    def finish_unknown(
        self, run_key: str, batch: int, *, answered_at: str, message: str, ended_at: str
    ) -> None:
        """Sent, no usable answer: maybe charged. Its contacts stay held as unconfirmed.

        ``ended_at`` is when its request ended ("" when not known: the run died with it in
        flight); reconciliation looks for its job in that window.
        """
        s = self._ledger_schema
        with self._tx() as c:
            self._cas(c, run_key, batch, (SENDING, UNKNOWN))
            lg.settle(
                c,
                journal_id=self.journal_id,
                run_key=run_key,
                batch=batch,
                state=lg.UNCONFIRMED,
                ended_at=ended_at,
                schema=s,
            )
            self._set(c, run_key, batch, UNKNOWN, answered_at, "", {"ended_at": ended_at}, message)

    def finish_reconciled(
        self,
        run_key: str,
        batch: int,
        *,
        answered_at: str,
        job_id: str,
        response: dict[str, Any],
        all_accepted: bool,
        file: str,
        message: str,
    ) -> bool:
        """Settle an unknown batch with the job that proves it; False if another batch owns it."""
        s = self._ledger_schema
        key = _Key(self.journal_id, run_key, batch)
        with self._tx() as c:
            self._cas(c, run_key, batch, (SENDING, UNKNOWN))
            if not lg.claim_job(c, job_id, file=file, at=answered_at, schema=s, **key.kw()):
                return False
            state = lg.CHARGED if all_accepted else lg.UNCONFIRMED
            lg.settle(c, state=state, job_id=job_id, schema=s, **key.kw())
            self._set(c, run_key, batch, RECONCILED, answered_at, job_id, response, message)
        return True

    def split(self, run_key: str, batch: int, halves: list[list[int]], message: str) -> list[int]:
        """Replace a batch refused as too large by smaller planned ones (nothing was charged)."""
        s = self._ledger_schema
        with self._tx() as c:
            self._cas(c, run_key, batch, (SENDING,))
            lg.release_batch_claims(
                c, journal_id=self.journal_id, run_key=run_key, batch=batch, schema=s
            )
            c.execute(
                "UPDATE batches SET state = ?, message = ? WHERE run_key = ? AND batch = ?",
                (SPLIT, message, run_key, batch),
            )
            return self._add_batches(c, run_key, halves)

    def replan(self, run_key: str, batch: int, expected: str, message: str = "") -> None:
        """Put a failed batch (not charged) or an unknown one (resent on request) back to
        planned."""
        s = self._ledger_schema
        with self._tx() as c:
            self._cas(c, run_key, batch, (expected,))
            # An unknown batch may have created a job: its attempt stays known to reconciliation.
            forget = lg.retire_batch if expected == UNKNOWN else lg.release_batch_claims
            forget(c, journal_id=self.journal_id, run_key=run_key, batch=batch, schema=s)
            c.execute(
                "UPDATE batches SET state = ?, message = ? WHERE run_key = ? AND batch = ?",
                (PLANNED, message, run_key, batch),
            )

    def _set(
        self,
        c: sqlite3.Connection,
        run_key: str,
        batch: int,
        state: str,
        answered_at: str,
        job_id: str,
        response: dict[str, Any] | None,
        message: str,
    ) -> None:
        c.execute(
            "UPDATE batches SET state = ?, answered_at = ?, job_id = ?, response = ?, "
            "message = ?, session = ? WHERE run_key = ? AND batch = ?",
            (
                state,
                answered_at,
                job_id,
                json.dumps(response) if response is not None else "",
                message,
                self.session,
                run_key,
                batch,
            ),
        )

    # -- scores -----------------------------------------------------------------------------

    def scores(self, run_key: str) -> dict[int, ScoreRecord]:
        """The scores kept for a run's rows, by row index."""
        rows = self._read(
            f"SELECT row_index, {_SCORE_FIELDS} FROM scores WHERE run_key = ?", (run_key,)
        )
        return {int(r[0]): _score(r) for r in rows}

    def save_scores(
        self, run_key: str, records: list[ScoreRecord], *, fetched_at: str, receiver: str
    ) -> dict[int, ScoreRecord]:
        """Keep what was fetched; return every record the run now has, by row index.

        A record is written only when it differs from the one kept (so fetching again when
        nothing new arrived changes nothing, not even the time it was fetched), and never over
        a more final one (a score over "pending", "no result" over "pending"): a receiver purges
        old scores and jobs, the journal does not.
        """
        with self._tx() as c:
            kept = {
                int(r[0]): _score(r)
                for r in c.execute(
                    f"SELECT row_index, {_SCORE_FIELDS} FROM scores WHERE run_key = ?", (run_key,)
                )
            }
            changed = []
            for record in records:
                old = kept.get(record.row_index)
                if old == record:
                    continue
                if old is not None and _FINALITY.get(record.state, 0) < _FINALITY.get(old.state, 0):
                    continue
                changed.append(record)
                kept[record.row_index] = record
            c.executemany(
                "INSERT OR REPLACE INTO scores VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_key,
                        r.row_index,
                        r.key,
                        r.state,
                        r.lead_status,
                        None if r.call_priority is None else str(r.call_priority),
                        r.best_phone,
                        r.best_phone_e164,
                        r.best_phone_column,
                        json.dumps(dict(r.phone_statuses), ensure_ascii=False),
                        r.scored_at,
                        r.note,
                        r.match_method,
                        r.event_id,
                        r.job_id,
                        receiver,
                        fetched_at,
                    )
                    for r in changed
                ],
            )
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (f"scores_checked:{run_key}", f"{fetched_at} {receiver}"),
            )
        return kept

    def set_last_result(self, input_path: Path, path: Path) -> None:
        """Remember where the result of the export at ``input_path`` was written, so that the
        next run of it (a re-drop, ``csvscore results``) updates that workbook rather than
        start another."""
        key = f"last_result:{input_path.absolute()}"
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(path.absolute())))

    def scores_checked(self, run_key: str) -> tuple[str, str]:
        """(when, receiver URL) the run's scores were last fetched; ("", "") if never."""
        value = self._meta(f"scores_checked:{run_key}")
        when, _, receiver = value.partition(" ")
        return when, receiver

    # -- reconciliation ---------------------------------------------------------------------

    def claimed_jobs(self) -> set[str]:
        """Job ids any batch of any journal owns (so reconciliation never claims one twice)."""
        own = {r[0] for r in self._read("SELECT job_id FROM batches WHERE job_id != ''")}
        with self._lock:
            try:
                return own | lg.claimed_jobs(self._conn, schema=self._ledger_schema)
            except sqlite3.Error as exc:
                raise state_error(self.path, exc) from exc

    def in_flight(self, size: int) -> list[tuple[str, str, int, str, str]]:
        """Unsettled batches of ``size`` from every journal (see :func:`ledger.in_flight`)."""
        with self._lock:
            try:
                rows = lg.in_flight(self._conn, size, schema=self._ledger_schema)
            except sqlite3.Error as exc:
                raise state_error(self.path, exc) from exc
        return [(str(a), str(b), int(n), str(t), str(e)) for a, b, n, t, e in rows]


def _batch(row: tuple[Any, ...]) -> BatchRecord:
    (run_key, batch, state, row_indexes, attempts, sent_at, answered_at, job_id, resp, msg, ses) = (
        row
    )
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
        session=ses,
    )


def _score(row: tuple[Any, ...]) -> ScoreRecord:
    (
        index,
        key,
        state,
        lead,
        priority,
        best,
        e164,
        column,
        phones,
        at,
        note,
        method,
        event,
        job,
    ) = row
    shown: int | str | None = priority
    if isinstance(priority, str) and priority.isdigit():
        shown = int(priority)
    try:
        statuses = json.loads(phones) if phones else {}
    except ValueError:
        statuses = {}
    return ScoreRecord(
        row_index=int(index),
        key=key,
        state=state,
        lead_status=lead,
        call_priority=shown,
        best_phone=best,
        best_phone_e164=e164,
        best_phone_column=column,
        phone_statuses=statuses if isinstance(statuses, dict) else {},
        scored_at=at,
        note=note,
        match_method=method,
        event_id=event,
        job_id=job,
    )
