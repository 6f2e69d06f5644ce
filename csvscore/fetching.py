"""Fetching a run's scores, for the front door (:mod:`csvscore.pipeline`).

Where scores come from: the receiver this person is connected to (``csvscore receiver
connect``), or, for a sandbox run that waits for them, a receiver started on 127.0.0.1 for the
run with the sandbox's webhooks subscribed to it (:mod:`csvscore.receiver.loopback`). Fetching
reads the receiver only: it never sends a contact, and it never asks TitanX anything.

What a result shows about scores (:class:`Shown`): the score columns when scores are known or a
receiver is there to bring them, else one Summary line on how to get them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from csvscore.contacts.build import PreparedRow, SentPhones
from csvscore.errors import CsvscoreError
from csvscore.mapping.model import Mapping as ColumnMap
from csvscore.output.score_columns import NO_RECEIVER_HINT, SANDBOX_HINT
from csvscore.read.table import Table
from csvscore.results import RunResult
from csvscore.scores.match import DEFAULT_GRACE, PENDING, RunRow, ScoreRecord
from csvscore.scores.priority import Priorities
from csvscore.scores.run import RunScores, phone_labels
from csvscore.scoring import journal as jr
from csvscore.scoring.collect import Waiting, collect, run_rows
from csvscore.scoring.journal import Journal

if TYPE_CHECKING:
    from csvscore.sandbox.server import Sandbox

# Where a sandbox run's scores come from, as the Summary says it (its address dies with the run).
SANDBOX_RECEIVER = "the sandbox, through a receiver on this computer (for this run only)"


@dataclass
class Source:
    """A receiver to read a run's scores from."""

    receiver: str  # its URL, for the Summary and messages (never the token)
    fetch: Callable[[Sequence[RunRow]], list[ScoreRecord]]
    idle: Callable[[float], bool] | None = None  # the sandbox: True once it delivered it all


@dataclass
class Shown:
    """What a result shows about scores: the columns, or one line on how to get them."""

    scores: RunScores | None = None
    hint: str = ""


def reader(
    url: str,
    token: str,
    priorities: Priorities,
    stack: ExitStack,
    *,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
    idle: Callable[[float], bool] | None = None,
) -> Source:
    """A :class:`Source` reading the receiver at ``url`` with ``token`` (closed with ``stack``)."""
    from csvscore.api.receiver import ReceiverClient, fetch_score_records

    client = stack.enter_context(ReceiverClient(url, token))

    def fetch(rows: Sequence[RunRow]) -> list[ScoreRecord]:
        return fetch_score_records(client, rows, priorities, now=now, grace=grace)

    return Source(client.url, fetch, idle)


def connected(
    env: Mapping[str, str],
    priorities: Priorities,
    stack: ExitStack,
    *,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> Source | None:
    """The receiver this person is connected to, or None. ConfigError for an unusable link."""
    from csvscore.user.receiver import load_link

    link = load_link(env)
    if link is None:
        return None
    return reader(link.url, link.token, priorities, stack, now=now, grace=grace)


def sandbox_loop(sandbox: Sandbox, priorities: Priorities, stack: ExitStack) -> Source:
    """A receiver on 127.0.0.1 for this run, the started sandbox's webhooks subscribed to it.

    ReceiverError (naming the ``receiver`` extra) when the receiver cannot run here.
    """
    from csvscore.api.client import TitanXClient
    from csvscore.receiver.loopback import LoopbackReceiver
    from csvscore.receiver.subscriptions import create_subscription

    loop = stack.enter_context(LoopbackReceiver())
    with TitanXClient(sandbox.api_key, sandbox.url) as client:
        create_subscription(client, loop.hook_url, loop.secrets, name="csvscore --wait-scores")
    worker = sandbox.state.webhooks.worker
    source = reader(loop.url, loop.token, priorities, stack, idle=worker.wait_idle)
    source.receiver = SANDBOX_RECEIVER
    return source


def replay_earlier(
    sandbox: Sandbox, journal: Journal, run_key: str, rows: Sequence[PreparedRow]
) -> int:
    """Hand the started sandbox the jobs earlier sandbox runs of this file created; return how
    many contacts it was given to score.

    The sandbox keeps nothing between runs, so the scores of contacts an earlier sandbox took
    (and that never reached the journal) could not come in any later run: "10 pending" for ever,
    on a re-drop or on the README's first command followed by ``--wait-scores``. TitanX keeps
    its jobs; for the sandbox csvscore hands them back, the same contacts under the same job ids
    (rebuilt as they were sent), and the sandbox scores and delivers them like new ones. Only
    accepted rows still waiting for a score are handed back; nothing is sent or charged.
    """
    by_index = {p.index: p for p in rows}
    kept = journal.scores(run_key)
    given = 0
    for b in journal.batches(run_key):
        response = b.response or {}
        if b.state not in (jr.ANSWERED, jr.RECONCILED) or not b.job_id:
            continue
        if b.state == jr.RECONCILED and response.get("total") != response.get("accepted"):
            continue  # which rows TitanX took is not known: nothing to hand back
        rejected = set(response.get("rejected", {}))
        waiting = [
            by_index[i]
            for i in b.row_indexes
            if str(i) not in rejected
            and i in by_index
            and (i not in kept or kept[i].state == PENDING)
        ]
        if waiting:
            sandbox.state.webhooks.job_created(b.job_id, [p.contact for p in waiting])
            given += len(waiting)
    return given


def phone_columns(table: Table, mapping: ColumnMap) -> dict[str, int]:
    """The labels of the file's phone columns (the ``TitanX: <label>`` columns), file order."""
    return phone_labels(table.headers, [i for i, _slot in SentPhones(table, mapping).columns])


def stored(
    journal: Journal,
    run_key: str,
    table: Table,
    mapping: ColumnMap,
    priorities: Priorities,
    source: Source | None,
    *,
    sandbox: bool,
) -> Shown:
    """What a result shows before anything is fetched: the journal's scores (pending for the
    rest) when there are any or a receiver is there, else the line on how to get scores."""
    kept = journal.scores(run_key)
    if source is None and not kept:
        return Shown(hint=SANDBOX_HINT if sandbox else NO_RECEIVER_HINT)
    when, receiver = journal.scores_checked(run_key)
    scores = RunScores(
        kept,
        phone_columns(table, mapping),
        priorities,
        receiver=source.receiver if source else receiver,
        fetched_at=when,
    )
    if source is None:
        scores.problem = (
            "no score receiver is set up on this computer now; these are the scores fetched before"
        )
    return Shown(scores)


def gather(
    journal: Journal,
    run_key: str,
    source: Source,
    table: Table,
    mapping: ColumnMap,
    prepared: Sequence[PreparedRow],
    result: RunResult,
    priorities: Priorities,
    *,
    wait: float = 0.0,
    say: Callable[[str], None] = lambda _message: None,
    strict: bool = False,
) -> RunScores:
    """Fetch the run's scores (waiting up to ``wait`` seconds for the rest) and keep them.

    ``strict`` (``csvscore results``): a receiver that cannot be read is an error. Otherwise
    (after sending) it is said and noted, and the scores kept from before are shown: the
    contacts were sent and the result must be written whatever the receiver does.
    """
    rows = run_rows(table, mapping, prepared, result)
    waiting = Waiting(wait, idle=source.idle)
    try:
        records, problem = collect(
            journal,
            run_key,
            rows.rows,
            source.fetch,
            receiver=source.receiver,
            wait=waiting,
            say=say,
        )
    except (CsvscoreError, KeyboardInterrupt) as exc:
        if strict:
            raise
        problem = "you pressed Ctrl-C" if isinstance(exc, KeyboardInterrupt) else str(exc)
        say(f"Scores not fetched ({problem}); drop the same file again later to add them.")
        records = journal.scores(run_key)
    when, _ = journal.scores_checked(run_key)
    return RunScores(
        records,
        rows.phone_columns,
        priorities,
        receiver=source.receiver,
        fetched_at=when,
        problem=problem,
    )


def changed(before: Shown, after: RunScores, result: RunResult) -> bool:
    """Whether the result written with ``before`` shows other scores than ``after`` would."""
    if before.scores is None or after.problem:
        return True
    old = before.scores
    return any(old.record_for(r) != after.record_for(r) for r in result.rows)
