"""What a scoring run produced: per-row statuses, per-batch outcomes and the run summary.

Built by :mod:`~csvscore.scoring.submit` (from the journal), written by
:mod:`~csvscore.output.workbook`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from csvscore.errors import ExitCode

# Final per-row statuses, as shown in the "TitanX Status" column.
ACCEPTED = "accepted"
REJECTED = "rejected"
SKIPPED = "skipped"  # would be rejected by the API's own rule; not sent (costs quota)
DUPLICATE = "duplicate"  # same name and phones as an earlier row; not sent (would be paid twice)
UNCONFIRMED = "unconfirmed"  # sent, outcome unknown: maybe charged; resend only on purpose
FAILED = "failed"  # not scored: the server refused the batch
NOT_SENT = "not sent"  # the run stopped before sending it (Ctrl-C, credits, network, a long wait)
READY = "ready"  # dry run: would be sent
STATUSES = (ACCEPTED, REJECTED, SKIPPED, DUPLICATE, UNCONFIRMED, FAILED, NOT_SENT, READY)
# Rows a person can fix and send again in a new file ("To fix"): never sent, or refused.
TO_FIX = (REJECTED, SKIPPED)
# Rows whose outcome is unknown: maybe charged, never to be resent by hand.
CHECK_FIRST = (UNCONFIRMED,)
# Every status that needs a look (the Summary's "needs your attention").
NEEDS_ATTENTION = (REJECTED, SKIPPED, FAILED, UNCONFIRMED, NOT_SENT)

# One coherent piece of advice per status, shown by the terminal, the workbook and the README.
ADVICE = {
    ACCEPTED: "Nothing to do: TitanX took it and will score it.",
    REJECTED: "Fix the row (the reason says what), then send it again in a new file.",
    SKIPPED: "Not sent, not charged: fix the row (the reason says what), then send it again "
    "in a new file.",
    DUPLICATE: "Nothing to do: sending it again would charge it twice.",
    UNCONFIRMED: "It may have been charged. Wait, then drop the same file again: csvscore asks "
    "TitanX what happened. Do not resend it by hand.",
    FAILED: "Not charged. Sort out the cause (the reason says what), then drop the same file "
    "again: only these rows are sent.",
    NOT_SENT: "Not charged. Drop the same file again to send it.",
    READY: "Dry run: it would be sent.",
}


@dataclass(slots=True)  # 100,000 of them in a run: slots save ~50 bytes each
class RowResult:
    index: int  # position in Table.rows
    source_row: int  # line/row number in the input file
    status: str  # one of STATUSES
    reason: str = ""
    job_id: str = ""
    batch: int | None = None  # 1-based batch number
    key: str = ""  # customerContactId sent for this row
    note: str = ""  # remarks on a row that was sent ("phone2 not sent: not a valid number")


@dataclass
class BatchResult:
    batch: int  # 1-based
    rows: int
    outcome: str  # "answered", "failed", "unconfirmed", "reconciled", "not sent"
    job_id: str = ""
    accepted: int = 0
    rejected: int = 0
    credits_charged: Decimal | None = None  # None: not known (reconciled without figures)
    credits_remaining: Decimal | None = None
    cost_per_phone: Decimal | None = None
    phone_count: int | None = None
    submitted_at: str = ""  # ISO 8601 UTC
    message: str = ""  # error or note
    this_run: bool = False  # sent and settled by this invocation (its credits are "this run")


@dataclass
class RunSummary:
    input_file: str
    fingerprint: str  # sha256 of the input file's bytes
    sheet: str | None
    rows_read: int
    scoring_type: str
    started_at: str
    ended_at: str
    version: str
    dry_run: bool = False
    sandbox: bool = False  # sent to the built-in sandbox: its credits are play money
    sent: int = 0  # rows TitanX processed or may have: accepted + rejected + unconfirmed
    sent_before: int = 0  # of those, the rows that earlier runs of this file sent
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    duplicates: int = 0
    unconfirmed: int = 0
    failed: int = 0
    not_sent: int = 0  # the run stopped before sending them (drop the same file again)
    ready: int = 0
    credits_charged: Decimal = Decimal(0)  # by the batches this run settled
    credits_charged_total: Decimal = Decimal(0)  # by every run of this file
    credits_unknown: int = 0  # batches maybe charged whose charge is not known (never shown as 0)
    credits_remaining: Decimal | None = None
    estimated_phones: int = 0
    estimated_credits: Decimal | None = None  # dry run: phones x cost per phone, when known
    stop_reason: str = ""  # why the run stopped early (credits, auth, network, Ctrl-C), else ""
    interrupted: bool = False  # stopped by Ctrl-C
    stop_exit_code: int = 0  # ExitCode of the error that stopped the run (auth, credits...), else 0
    notes: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    rows: list[RowResult]
    batches: list[BatchResult]
    summary: RunSummary


def exit_code_for(result: RunResult) -> ExitCode:
    """The run's exit code: 0 only when every row has a final status, else the main reason."""
    s = result.summary
    if s.interrupted:
        return ExitCode.INTERRUPTED
    if s.stop_exit_code:
        return ExitCode(s.stop_exit_code)
    if s.unconfirmed:
        return ExitCode.UNCONFIRMED
    if s.failed or s.not_sent:
        return ExitCode.FAILED
    if s.not_sent:  # stopped before sending them, for a reason without an exit code of its own
        return ExitCode.FAILED
    return ExitCode.OK


# What to do after a run that stopped early, by the exit code of what stopped it: one sentence a
# person at the shortcut can follow (no option to type). The terminal's summary says it under
# the stop's reason.
STOP_ADVICE = {
    ExitCode.AUTH: "Ask your IT contact to run `csvscore login` (TitanX refused the key), then "
    "drop the same file again to send the rest.",
    ExitCode.CREDITS: "Top up your TitanX credits, then drop the same file again to send the rest.",
    ExitCode.NETWORK: "Check your internet connection or VPN, then drop the same file again to "
    "send the rest.",
    ExitCode.UNCONFIRMED: ADVICE[UNCONFIRMED],
    ExitCode.STATE: "Ask your IT contact to look at csvscore's state folder (named above), then "
    "drop the same file again.",
    ExitCode.NOT_SAVED: "Free some disk space, then drop the same file again to write the "
    "result (nothing is sent again).",
    ExitCode.INTERRUPTED: "Drop the same file again to send the rest.",
}
# Any other stop (TitanX answered something csvscore cannot use: a wrong address, a rate limit
# that does not end): retrying later is safe, and the reason is worth showing to IT.
STOP_ADVICE_OTHER = (
    "Drop the same file again later to send the rest; if it stops the same way, show this "
    "message to your IT contact."
)


def stop_advice(summary: RunSummary) -> str:
    """The next step after a run that stopped early (see :data:`STOP_ADVICE`)."""
    if summary.interrupted:
        return STOP_ADVICE[ExitCode.INTERRUPTED]
    try:
        code = ExitCode(summary.stop_exit_code)
    except ValueError:
        return STOP_ADVICE_OTHER
    return STOP_ADVICE.get(code, STOP_ADVICE_OTHER)
