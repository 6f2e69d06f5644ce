"""Bringing a run's scores back: its rows as they were sent, their scores fetched and matched
through a reader handed in, kept in the journal, and waited for when asked.

Nothing here sends a contact: the reader only reads the score receiver. What each row sent is
worked out again from the file and the run's mapping (:class:`~csvscore.contacts.build.SentPhones`,
the contact builder's own rules), and when from the journal's batches, so the rows are the run
as it was sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from csvscore.contacts.build import PreparedRow, SentPhones
from csvscore.errors import CsvscoreError
from csvscore.mapping.model import Mapping
from csvscore.read.table import Table
from csvscore.results import ACCEPTED, RunResult
from csvscore.scores.identity import name_hash
from csvscore.scores.match import PENDING, RunRow, ScoreRecord, SentPhone
from csvscore.scores.run import phone_labels
from csvscore.scoring.journal import Journal
from csvscore.scoring.outcomes import utcnow

# Reads the scores of some rows (fetch + match); raises ReceiverError when it cannot.
Fetch = Callable[[Sequence[RunRow]], list[ScoreRecord]]
# Between polls while waiting: 1 s, then 2, 4, 8, then every 15 s (a person is watching, and a
# scored contact arrives as soon as TitanX finishes it).
POLL_INTERVALS = (1.0, 2.0, 4.0, 8.0, 15.0)


@dataclass(frozen=True)
class RunRows:
    """A run's rows for matching, and the labels of its phone columns (file order)."""

    rows: list[RunRow]
    phone_columns: dict[str, int]  # label -> table column, in file order


def _when(iso: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def run_rows(
    table: Table, mapping: Mapping, prepared: Sequence[PreparedRow], result: RunResult
) -> RunRows:
    """Every row of the run as the matcher needs it: accepted rows with their key, job, when
    their batch was sent, the name digest and, per phone column, what was sent."""
    phones = SentPhones(table, mapping)
    columns = phone_labels(table.headers, [index for index, _slot in phones.columns])
    labels = {index: label for label, index in columns.items()}
    sent_at = {b.batch: _when(b.submitted_at) for b in result.batches}
    rows = []
    for r in result.rows:
        if r.status != ACCEPTED:
            rows.append(RunRow(r.index, r.key, r.job_id or None, None, None, (), False, r.status))
            continue
        contact = prepared[r.index].contact
        cells = tuple(
            SentPhone(labels[cell.column], cell.slot, cell.e164, cell.text)
            for cell in phones.row(r.index)
        )
        rows.append(
            RunRow(
                row_index=r.index,
                key=r.key,
                job_id=r.job_id or None,
                sent_at=sent_at.get(r.batch) if r.batch is not None else None,
                name_hash=name_hash(contact.get("firstName"), contact.get("lastName")),
                phones=cells,
            )
        )
    return RunRows(rows, columns)


@dataclass
class Waiting:
    """How long to wait for scores still to come, and how (all injectable for tests)."""

    seconds: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # The sandbox on this machine: blocks until it has delivered everything it will (True) or
    # the time is up (False). Then one last look is enough: nothing more is coming.
    idle: Callable[[float], bool] | None = None


def _scored(records: dict[int, ScoreRecord], rows: Sequence[RunRow]) -> int:
    return sum(1 for r in rows if r.sent and records[r.row_index].state != PENDING)


def collect(
    journal: Journal,
    run_key: str,
    rows: Sequence[RunRow],
    fetch: Fetch,
    *,
    receiver: str,
    wait: Waiting | None = None,
    say: Callable[[str], None] = lambda _message: None,
) -> tuple[dict[int, ScoreRecord], str]:
    """Fetch the rows' scores, keep them in the journal, and wait for the rest if asked.

    Returns (every record the run has, by row index; why the receiver could not be read to
    the end, else ""). The first fetch raises what ``fetch`` raises (the receiver cannot be
    read); a later one that fails, or Ctrl-C, only ends the wait: what arrived is kept.
    """

    def fetched(some: Sequence[RunRow]) -> dict[int, ScoreRecord]:
        return journal.save_scores(run_key, fetch(some), fetched_at=utcnow(), receiver=receiver)

    records = fetched(rows)
    sent = [r for r in rows if r.sent]
    wait = wait or Waiting()
    still = [r for r in sent if records[r.row_index].state == PENDING]
    if not still or wait.seconds <= 0:
        return records, ""
    deadline = wait.clock() + wait.seconds
    shown = _scored(records, rows)
    say(
        f"Waiting up to {wait.seconds:g} s for the scores ({shown} of {len(sent)} in so far); "
        "Ctrl-C stops waiting, and the result is written either way."
    )
    problem = ""
    stopped = False
    polls = 0
    try:
        while still and (left := deadline - wait.clock()) > 0:
            if wait.idle is not None:
                wait.idle(left)  # the sandbox: everything it sends has been sent, or time is up
                records = fetched(still)
                break
            wait.sleep(min(POLL_INTERVALS[min(polls, len(POLL_INTERVALS) - 1)], left))
            polls += 1
            records = fetched(still)
            still = [r for r in still if records[r.row_index].state == PENDING]
            if _scored(records, rows) != shown:
                shown = _scored(records, rows)
                say(f"{shown} of {len(sent)} scores in.")
    except KeyboardInterrupt:  # the person's own choice: not a problem with the scores
        stopped = True
    except CsvscoreError as exc:  # the receiver went away mid-wait: keep what arrived
        problem = f"the receiver stopped answering ({exc})"
    left_over = sum(1 for r in sent if records[r.row_index].state == PENDING)
    head = "Stopped waiting (Ctrl-C): " if stopped else ""
    if left_over:
        why = f" ({problem})" if problem else ""
        say(
            f"{head}{len(sent) - left_over} of {len(sent)} scores in; {left_over} still to "
            f"come{why}."
        )
    else:
        say(f"{head}All {len(sent)} scores are in.")
    return records, problem
