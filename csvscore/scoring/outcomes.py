"""Turn the journal's batches into what a person reads: a status and reason for every row,
one line per batch, and the run's totals.

Everything here is derived from the journal (and the prepared rows), never from memory of the
current process, so a resumed run reports the same rows the same way as an uninterrupted one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from csvscore import results as rs
from csvscore._version import __version__
from csvscore.contacts.build import PreparedRow
from csvscore.read.table import Table
from csvscore.scoring import journal as jr
from csvscore.scoring.journal import BatchRecord
from csvscore.scoring.reconcile import to_int

_OUTCOME = {
    jr.ANSWERED: "answered",
    jr.RECONCILED: "reconciled",
    jr.UNKNOWN: "unconfirmed",
    jr.SENDING: "unconfirmed",
    jr.FAILED: "failed",
    jr.PLANNED: rs.NOT_SENT,
}


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def run_result(
    table: Table,
    fingerprint: str,
    scoring_type: str,
    started: str,
    prepared: list[PreparedRow],
    batches: list[BatchRecord],
    *,
    stop_reason: str = "",
    stop_exit_code: int = 0,
) -> rs.RunResult:
    """Every row's fate after sending (or resuming), from the journal's batches."""
    live = [b for b in batches if b.state != jr.SPLIT]  # a split batch lives on in its halves
    row_batch = {i: b for b in live for i in b.row_indexes}
    rows = [_row_result(p, row_batch.get(p.index), stop_reason) for p in prepared]
    batch_results = [_batch_result(b) for b in live]
    summary = _summary(table, fingerprint, scoring_type, started, rows, batch_results)
    summary.stop_reason = stop_reason
    summary.stop_exit_code = stop_exit_code
    return rs.RunResult(rows=rows, batches=batch_results, summary=summary)


def dry_run_result(
    table: Table,
    fingerprint: str,
    scoring_type: str,
    started: str,
    prepared: list[PreparedRow],
    cost_per_phone: Decimal | None,
) -> rs.RunResult:
    """What a run would do: ``ready`` rows, local skips and duplicates, and a credit estimate."""
    rows = [
        rs.RowResult(p.index, p.source_row, p.status or rs.READY, p.reason, key=p.key)
        for p in prepared
    ]
    summary = _summary(table, fingerprint, scoring_type, started, rows, [])
    summary.dry_run = True
    summary.estimated_phones = sum(p.phone_count for p in prepared if p.status is None)
    if cost_per_phone is not None:
        summary.estimated_credits = cost_per_phone * summary.estimated_phones
    return rs.RunResult(rows=rows, batches=[], summary=summary)


def local_row_results(rows: list[PreparedRow]) -> list[rs.RowResult]:
    """Results of rows decided locally (skipped, duplicate) and in no batch: final at once."""
    return [_row_result(p, None, "") for p in rows]


def batch_row_results(prepared: list[PreparedRow], b: BatchRecord) -> list[rs.RowResult]:
    """Results of a settled (answered or reconciled) batch's rows, as the final result has them."""
    return [_row_result(prepared[i], b, "") for i in b.row_indexes]


def _row_result(p: PreparedRow, b: BatchRecord | None, stop_reason: str) -> rs.RowResult:
    if b is None:
        if p.status is not None:  # skipped or duplicate: decided locally, never sent
            return rs.RowResult(p.index, p.source_row, p.status, p.reason, key=p.key)
        return rs.RowResult(
            p.index, p.source_row, rs.NOT_SENT, f"not sent: {stop_reason}", key=p.key
        )
    r = rs.RowResult(p.index, p.source_row, rs.FAILED, "", b.job_id, b.batch, p.key)
    resp = b.response or {}
    if b.state == jr.ANSWERED:
        reason = resp.get("rejected", {}).get(str(p.index))
        r.status, r.reason = (rs.REJECTED, reason) if reason is not None else (rs.ACCEPTED, "")
    elif b.state == jr.RECONCILED:
        total, accepted = resp.get("total"), resp.get("accepted")
        if total is not None and total == accepted:
            r.status, r.reason = rs.ACCEPTED, "confirmed through TitanX's job list"
        else:
            # Charged, but which rows were refused is unknown: unconfirmed, yet never resent
            # (--retry-unconfirmed only resends batches with no job).
            r.status = rs.UNCONFIRMED
            r.reason = (
                f"charged: job {b.job_id} exists ({accepted} of {total} accepted) but which "
                "rows were rejected is not known; do NOT resend"
            )
    elif b.state in (jr.UNKNOWN, jr.SENDING):
        r.status = rs.UNCONFIRMED
        r.reason = (
            f"sent but {b.message or 'no answer'}; it may have been charged. Check your TitanX "
            "jobs, then rerun with --retry-unconfirmed to resend on purpose"
        )
    elif b.state == jr.FAILED:
        r.reason = b.message
    else:  # planned: the run stopped before this batch went out
        r.status = rs.NOT_SENT
        r.reason = f"not sent: {stop_reason or 'run stopped'}"
        r.batch = None
    if p.reason and r.status != rs.REJECTED:
        r.reason = f"{r.reason}; {p.reason}" if r.reason else p.reason
    return r


def _batch_result(b: BatchRecord) -> rs.BatchResult:
    resp = b.response or {}
    return rs.BatchResult(
        batch=b.batch,
        rows=len(b.row_indexes),
        outcome=_OUTCOME.get(b.state, b.state),
        job_id=b.job_id,
        accepted=to_int(resp.get("accepted")) or 0,
        rejected=len(resp.get("rejected", {})),
        credits_charged=_dec(resp.get("credits_charged")),
        credits_remaining=_dec(resp.get("credits_remaining")),
        cost_per_phone=_dec(resp.get("cost_per_phone")),
        phone_count=to_int(resp.get("phone_count")),
        submitted_at=b.sent_at,
        message=b.message,
    )


def _summary(
    table: Table,
    fingerprint: str,
    scoring_type: str,
    started: str,
    rows: list[rs.RowResult],
    batches: list[rs.BatchResult],
) -> rs.RunSummary:
    counts: dict[str, int] = {s: 0 for s in rs.STATUSES}
    for r in rows:
        counts[r.status] += 1
    charged = sum((b.credits_charged or Decimal(0) for b in batches), Decimal(0))
    remaining = None
    for b in sorted(batches, key=lambda b: b.submitted_at):
        if b.credits_remaining is not None:
            remaining = b.credits_remaining
    return rs.RunSummary(
        input_file=str(table.path),
        fingerprint=fingerprint,
        sheet=table.sheet,
        rows_read=len(table.rows),
        scoring_type=scoring_type,
        started_at=started,
        ended_at=utcnow(),
        version=__version__,
        sent=sum(1 for r in rows if r.batch is not None),
        accepted=counts[rs.ACCEPTED],
        rejected=counts[rs.REJECTED],
        skipped=counts[rs.SKIPPED],
        duplicates=counts[rs.DUPLICATE],
        unconfirmed=counts[rs.UNCONFIRMED],
        failed=counts[rs.FAILED],
        not_sent=counts[rs.NOT_SENT],
        ready=counts[rs.READY],
        credits_charged=charged,
        credits_remaining=remaining,
    )


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
