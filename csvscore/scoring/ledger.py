"""The ledger: every contact TitanX may have charged for, across every file and journal of the
user, so that no contact is paid for twice by accident and none that was paid for is forgotten.

The journal protects one file's run; the ledger protects everything else: a re-export, an edited
copy, two files of the same people sent at the same time from two windows, the same file after its
journal was lost (deleted, damaged, or another ``--journal``), a resend recipe that copies rows
whose outcome is unknown. It is written by the journal *in the same transaction* as the batch
states (the journal ATTACHes it, see :mod:`csvscore.scoring.journal`), so no kill, signal or
failed write can leave a charged contact out of it.

What it holds, per contact sent (a digest of name + phones, never the name or the numbers):

- ``sending``: claimed by a batch that is about to go or is in flight;
- ``charged``: accepted by TitanX (the job is known);
- ``unconfirmed``: sent, outcome unknown (or charged in a job whose rejections are unknown).
  Held like a charge until settled: only ``--retry-unconfirmed`` sends it again.

Rejected, refused and never-sent contacts are removed: they were not charged. A contact is held
back from a batch when another journal holds it in any of the three states; the journal that
holds it decides its fate itself. ``--rescore`` sends it anyway, on purpose.

Beside the contacts: every batch in flight (its size and send time) and every job id claimed by
a batch, so reconciliation never gives one job to two batches, whichever file they came from.

It lives in the user's state directory (a separate file for the sandbox, whose charges are not
real).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 2
SENDING = "sending"
CHARGED = "charged"
UNCONFIRMED = "unconfirmed"
LIVE = (SENDING, CHARGED, UNCONFIRMED)

SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.contacts (
    identity TEXT NOT NULL,        -- sha256 of name + phones
    journal_id TEXT NOT NULL,      -- the journal that sent it
    run_key TEXT NOT NULL,
    batch INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,     -- sha256 of the input it was sent from
    file TEXT NOT NULL,            -- that input's name, for messages
    state TEXT NOT NULL,           -- sending | charged | unconfirmed
    job_id TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (identity, journal_id, run_key, batch)
);
CREATE INDEX IF NOT EXISTS {s}.contacts_by_batch ON contacts (journal_id, run_key, batch);
CREATE TABLE IF NOT EXISTS {s}.in_flight (   -- batches sent whose outcome is not settled yet
    journal_id TEXT NOT NULL,
    run_key TEXT NOT NULL,
    batch INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sent_at TEXT NOT NULL,
    file TEXT NOT NULL,
    ended_at TEXT NOT NULL DEFAULT '',  -- when its request ended without an answer ('': unknown)
    PRIMARY KEY (journal_id, run_key, batch)
);
CREATE TABLE IF NOT EXISTS {s}.jobs (      -- every job id a batch owns
    job_id TEXT PRIMARY KEY,
    journal_id TEXT NOT NULL,
    run_key TEXT NOT NULL,
    batch INTEGER NOT NULL,
    file TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
_CHUNK = 500  # SQLite's limit on bound parameters is 999 on old builds


@dataclass(frozen=True)
class Hold:
    """Why a contact is held back: another journal holds it."""

    state: str
    file: str
    job_id: str
    at: str
    same_file: bool  # held by an earlier journal of the same input content (journal lost)

    def reason(self) -> str:
        where = "this file" if self.same_file else self.file
        job = f" (job {self.job_id})" if self.job_id else ""
        if self.state == CHARGED:
            lost = "; its earlier journal was lost" if self.same_file else ""
            return f"already scored on {self.at[:10]} from {where}{job}{lost}; not sent again"
        if self.state == UNCONFIRMED:
            return (
                f"sent on {self.at[:10]} from {where}{job} and its outcome is not known yet; "
                f"not sent again: drop {where} again to settle it"
            )
        return f"being sent from {where} in another window right now; not sent twice"


def ledger_path(state_dir: Path, *, sandbox: bool = False) -> Path:
    return state_dir / ("ledger.sandbox.sqlite" if sandbox else "ledger.sqlite")


def create(conn: sqlite3.Connection, schema: str = "main") -> None:
    """Create the ledger's tables in ``schema`` (an ATTACHed name) and migrate version 1."""
    # Statement by statement: executescript() would commit the caller's transaction first.
    for statement in SCHEMA.format(s=schema).split(";"):
        if statement.strip():
            conn.execute(statement)
    legacy = conn.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'charged'"
    ).fetchone()
    if legacy:
        # Version 1 kept (identity, fingerprint, file, job_id, charged_at) for accepted contacts
        # only, without the journal. They become charges of a "legacy" journal per input; the
        # journal of that input adopts the same id when it is migrated (journal.py).
        conn.execute(
            f"INSERT OR IGNORE INTO {schema}.contacts "
            "SELECT identity, 'legacy:' || fingerprint, '', 0, fingerprint, file, ?, job_id, "
            f"charged_at FROM {schema}.charged",
            (CHARGED,),
        )
        conn.execute(
            f"INSERT OR IGNORE INTO {schema}.jobs SELECT job_id, 'legacy:' || fingerprint, '', "
            f"0, file, MIN(charged_at) FROM {schema}.charged WHERE job_id != '' GROUP BY job_id"
        )
        conn.execute(f"DROP TABLE {schema}.charged")
    conn.execute(
        f"INSERT OR REPLACE INTO {schema}.ledger_meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
    )


def holds(
    conn: sqlite3.Connection,
    identities: Sequence[str],
    *,
    journal_id: str,
    fingerprint: str,
    states: Sequence[str] = LIVE,
    schema: str = "main",
) -> dict[str, Hold]:
    """Identities another journal holds in one of ``states``; the oldest hold of each wins."""
    found: dict[str, Hold] = {}
    marks_states = ",".join("?" * len(states))
    for start in range(0, len(identities), _CHUNK):
        chunk = list(identities[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT identity, state, file, job_id, at, fingerprint FROM {schema}.contacts "
            f"WHERE identity IN ({marks}) AND journal_id != ? AND state IN ({marks_states}) "
            "ORDER BY at DESC",
            [*chunk, journal_id, *states],
        )
        for identity, state, file, job_id, at, fp in rows:
            found[identity] = Hold(state, file, job_id, at, fp == fingerprint)
    return found


def claim(
    conn: sqlite3.Connection,
    identities: Iterable[str],
    *,
    journal_id: str,
    run_key: str,
    batch: int,
    size: int,
    fingerprint: str,
    file: str,
    at: str,
    schema: str = "main",
) -> None:
    """Record a batch's contacts as ``sending`` and the batch as in flight."""
    conn.executemany(
        f"INSERT OR REPLACE INTO {schema}.contacts VALUES (?, ?, ?, ?, ?, ?, ?, '', ?)",
        [(i, journal_id, run_key, batch, fingerprint, file, SENDING, at) for i in identities],
    )
    conn.execute(
        f"INSERT OR REPLACE INTO {schema}.in_flight VALUES (?, ?, ?, ?, ?, ?, '')",
        (journal_id, run_key, batch, size, at, file),
    )


def settle(
    conn: sqlite3.Connection,
    *,
    journal_id: str,
    run_key: str,
    batch: int,
    state: str | None,
    job_id: str = "",
    keep: Iterable[str] | None = None,
    ended_at: str = "",
    schema: str = "main",
) -> None:
    """Settle a batch's contacts: ``state`` for those in ``keep`` (all when None), the rest
    removed (rejected or never charged). ``state=None`` removes them all. The batch leaves the
    in-flight list unless it is left ``unconfirmed`` with no job (it may still be reconciled)."""
    where = "journal_id = ? AND run_key = ? AND batch = ?"
    key = (journal_id, run_key, batch)
    if state is None:
        conn.execute(f"DELETE FROM {schema}.contacts WHERE {where}", key)
    else:
        if keep is not None:
            kept = list(keep)
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS csvscore_keep (identity TEXT)")
            conn.execute("DELETE FROM temp.csvscore_keep")
            conn.executemany("INSERT INTO temp.csvscore_keep VALUES (?)", [(i,) for i in kept])
            conn.execute(
                f"DELETE FROM {schema}.contacts WHERE {where} "
                "AND identity NOT IN (SELECT identity FROM temp.csvscore_keep)",
                key,
            )
        conn.execute(
            f"UPDATE {schema}.contacts SET state = ?, job_id = ? WHERE {where}",
            (state, job_id, *key),
        )
    if state == UNCONFIRMED and not job_id:
        if ended_at:
            conn.execute(
                f"UPDATE {schema}.in_flight SET ended_at = ? WHERE {where}", (ended_at, *key)
            )
    else:
        conn.execute(f"DELETE FROM {schema}.in_flight WHERE {where}", key)


def claim_job(
    conn: sqlite3.Connection,
    job_id: str,
    *,
    journal_id: str,
    run_key: str,
    batch: int,
    file: str,
    at: str,
    schema: str = "main",
) -> bool:
    """Record that this batch owns ``job_id``; False when another batch owns it already."""
    if not job_id:
        return True
    row = conn.execute(
        f"SELECT journal_id, run_key, batch FROM {schema}.jobs WHERE job_id = ?", (job_id,)
    ).fetchone()
    if row is not None:
        return tuple(row) == (journal_id, run_key, batch)
    conn.execute(
        f"INSERT INTO {schema}.jobs VALUES (?, ?, ?, ?, ?, ?)",
        (job_id, journal_id, run_key, batch, file, at),
    )
    return True


def claimed_jobs(conn: sqlite3.Connection, *, schema: str = "main") -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT job_id FROM {schema}.jobs")}


def in_flight(conn: sqlite3.Connection, size: int, *, schema: str = "main") -> list[tuple]:
    """Unsettled batches of ``size`` contacts, from every journal: (journal_id, run_key, batch,
    sent_at, ended_at), oldest first. Any of them may own a job of that size that has no owner
    yet: reconciliation gives a job to a batch only when none of them could own it instead."""
    return list(
        conn.execute(
            f"SELECT journal_id, run_key, batch, sent_at, ended_at FROM {schema}.in_flight "
            "WHERE size = ? ORDER BY sent_at, journal_id, run_key, batch",
            (size,),
        )
    )


def retire_batch(
    conn: sqlite3.Connection, *, journal_id: str, run_key: str, batch: int, schema: str = "main"
) -> None:
    """A batch of unknown outcome is about to be resent on request: its contacts' claims go (the
    resend claims them anew), but the first attempt stays among the batches in flight, under
    another name, because it may have created a job. Without it, that job would be one more
    job than batches and could be paired with a later batch that has no job of its own."""
    key = (journal_id, run_key, batch)
    where = "journal_id = ? AND run_key = ? AND batch = ?"
    conn.execute(f"DELETE FROM {schema}.contacts WHERE {where}", key)
    conn.execute(
        f"UPDATE {schema}.in_flight SET run_key = run_key || '#retired-' || "
        f"lower(hex(randomblob(6))) WHERE {where}",
        key,
    )


def release_batch_claims(
    conn: sqlite3.Connection, *, journal_id: str, run_key: str, batch: int, schema: str = "main"
) -> None:
    """Forget a batch's claims (split into smaller ones, or resent on request)."""
    key = (journal_id, run_key, batch)
    where = "journal_id = ? AND run_key = ? AND batch = ?"
    conn.execute(f"DELETE FROM {schema}.contacts WHERE {where}", key)
    conn.execute(f"DELETE FROM {schema}.in_flight WHERE {where}", key)
