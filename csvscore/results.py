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
# Statuses that belong on the "Rejected" sheet (rows a person should fix or resend).
NEEDS_ATTENTION = (REJECTED, SKIPPED, FAILED, UNCONFIRMED, NOT_SENT)


@dataclass
class RowResult:
    index: int  # position in Table.rows
    source_row: int  # line/row number in the input file
    status: str  # one of STATUSES
    reason: str = ""
    job_id: str = ""
    batch: int | None = None  # 1-based batch number
    key: str = ""  # customerContactId sent for this row


@dataclass
class BatchResult:
    batch: int  # 1-based
    rows: int
    outcome: str  # "answered", "failed", "unconfirmed", "reconciled", "not sent"
    job_id: str = ""
    accepted: int = 0
    rejected: int = 0
    credits_charged: Decimal | None = None
    credits_remaining: Decimal | None = None
    cost_per_phone: Decimal | None = None
    phone_count: int | None = None
    submitted_at: str = ""  # ISO 8601 UTC
    message: str = ""  # error or note


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
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    duplicates: int = 0
    unconfirmed: int = 0
    failed: int = 0
    not_sent: int = 0  # the run stopped before sending them (drop the same file again)
    ready: int = 0
    credits_charged: Decimal = Decimal(0)
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
    return ExitCode.OK
