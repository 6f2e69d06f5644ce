"""Turn the journal's batches into what a person reads: a status and reason for every row,
one line per batch, and the run's totals.

Everything here is derived from the journal (and the prepared rows), never from memory of the
current process, so a resumed run reports the same rows the same way as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from csvscore import results as rs
from csvscore._version import __version__
from csvscore.api.errors import BatchRefused, RateLimited, UnexpectedResponse
from csvscore.contacts.build import PreparedRow
from csvscore.errors import AuthError, CreditsError, NetworkError, StateError
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
    jr.PLANNED: "not sent",
    jr.HELD: "held back",
}


def plain_cause(exc: BaseException | None, *, interrupted: bool = False) -> str:
    """Why a batch failed or a run stopped, in a few plain words for every row it touches.

    The technical detail (HTTP status, the server's message) is the batch's message, shown
    once per batch on the Jobs sheet, not on every row.
    """
    if exc is None:
        return "the run was stopped" if interrupted else "the run stopped first"
    if isinstance(exc, AuthError):
        return "the API key was refused"
    if isinstance(exc, CreditsError):
        return "the credits ran out"
    if isinstance(exc, NetworkError):
        return "TitanX could not be reached"
    if isinstance(exc, BatchRefused):
        return "TitanX refused this batch (see Jobs)"
    if isinstance(exc, RateLimited):
        if exc.until is not None:
            # "TitanX's daily request limit ... is used up: it resets at 03:43 tomorrow, Wed 2
            # Dec (UTC)": when to drop the file again. The relative "in 20 h" would go stale in
            # the workbook, so it is left to the terminal.
            return str(exc).split(". csvscore stops", 1)[0].rsplit(", in ", 1)[0]
        return "TitanX's rate limit asked for too long a wait"
    if isinstance(exc, UnexpectedResponse):
        return "TitanX answered something unexpected (see Jobs)"
    if isinstance(exc, StateError):
        return "csvscore could not record the answers"
    return "the run stopped first"


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
    held: dict[int, str] | None = None,
    session: str = "",
    stop_reason: str = "",
    stop_cause: str = "",
    stop_exit_code: int = 0,
) -> rs.RunResult:
    """Every row's fate after sending (or resuming), from the journal's batches.

    ``held`` are rows the ledger held back at send time; ``session`` is this invocation's id, so
    the credits of batches it settled are told apart from earlier runs' ("this run");
    ``stop_reason`` is why the run stopped early (for the Summary), ``stop_cause`` the same in
    a few plain words for each row not sent.
    """
    held = held or {}
    live = [b for b in batches if b.state != jr.SPLIT]  # a split batch lives on in its halves
    # By row index, a list rather than a dict: 100,000 entries at the run's memory peak.
    row_batch: list[BatchRecord | None] = [None] * len(prepared)
    for b in live:
        for i in b.row_indexes:
            row_batch[i] = b
    cause = stop_cause or (stop_reason and "the run stopped first")
    rows = [_row_result(p, row_batch[p.index], cause, held) for p in prepared]
    batch_results = [_batch_result(b, session, started) for b in live if b.state != jr.HELD]
    summary = _summary(table, fingerprint, scoring_type, started, rows, batch_results)
    summary.stop_reason = stop_reason
    summary.stop_exit_code = stop_exit_code
    summary.notes.extend(b.message for b in live if b.message.startswith(_PROBLEM))
    return rs.RunResult(rows=rows, batches=batch_results, summary=summary)


_PROBLEM = "TitanX's answer does not add up"


def dry_run_result(
    table: Table,
    fingerprint: str,
    scoring_type: str,
    started: str,
    prepared: list[PreparedRow],
    cost_per_phone: Decimal | None,
    settled: Sequence[BatchRecord] = (),
) -> rs.RunResult:
    """What a run would do: ``ready`` rows, local skips and duplicates, and a credit estimate.

    ``settled``: batches earlier runs of the file sent, which a run now would not send again.
    Their rows keep the status those runs gave them, and are left out of the estimate.
    """
    by_row = {i: b for b in settled for i in b.row_indexes}
    rows = [
        _row_result(p, by_row[p.index], "", {})
        if p.index in by_row
        else rs.RowResult(p.index, p.source_row, p.status or rs.READY, p.reason, key=p.key)
        for p in prepared
    ]
    batches = [_batch_result(b, "") for b in settled]
    summary = _summary(table, fingerprint, scoring_type, started, rows, batches)
    summary.dry_run = True
    summary.estimated_phones = sum(
        p.phone_count for p in prepared if p.status is None and p.index not in by_row
    )
    if cost_per_phone is not None:
        summary.estimated_credits = cost_per_phone * summary.estimated_phones
    return rs.RunResult(rows=rows, batches=[], summary=summary)


def local_row_results(rows: list[PreparedRow]) -> list[rs.RowResult]:
    """Results of rows decided locally (skipped, duplicate) and in no batch: final at once."""
    return [_row_result(p, None, "", {}) for p in rows]


def held_row_results(prepared: list[PreparedRow], held: dict[int, str]) -> list[rs.RowResult]:
    """Results of rows the ledger held back at send time: duplicates, with the holder named."""
    return [_row_result(prepared[i], None, "", held) for i in sorted(held)]


def batch_row_results(prepared: list[PreparedRow], b: BatchRecord) -> list[rs.RowResult]:
    """Results of a settled (answered or reconciled) batch's rows, as the final result has them."""
    return [_row_result(prepared[i], b, "", {}) for i in b.row_indexes]


def _row_result(
    p: PreparedRow, b: BatchRecord | None, stop_reason: str, held: dict[int, str]
) -> rs.RowResult:
    if b is None:
        if p.status is not None:  # skipped or duplicate: decided locally, never sent
            return rs.RowResult(p.index, p.source_row, p.status, p.reason, key=p.key)
        if p.index in held:
            return rs.RowResult(
                p.index, p.source_row, rs.DUPLICATE, held[p.index], key=p.key, note=p.reason
            )
        return rs.RowResult(
            p.index, p.source_row, rs.NOT_SENT, _not_sent(stop_reason), key=p.key, note=p.reason
        )
    # A sent row: the reason says what happened to it; what csvscore noticed in the row before
    # sending ("phone2 not sent: not a valid number") is a note, kept apart.
    r = rs.RowResult(p.index, p.source_row, rs.FAILED, "", b.job_id, b.batch, p.key, p.reason)
    resp = b.response or {}
    if b.state == jr.ANSWERED:
        reason = resp.get("rejected", {}).get(str(p.index))
        r.status, r.reason = (rs.REJECTED, reason) if reason is not None else (rs.ACCEPTED, "")
    elif b.state == jr.RECONCILED:
        total, accepted = resp.get("total"), resp.get("accepted")
        if total is not None and total == accepted:
            r.status = rs.ACCEPTED
            # Accepted rows carry no reason; how it became known is worth a note all the same.
            r.note = "; ".join(filter(None, [p.reason, "confirmed through TitanX's job list"]))
        else:
            # Charged, but which rows were refused is not known: held like a charge (never
            # resent, --retry-unconfirmed included), and said once, plainly.
            r.status = rs.UNCONFIRMED
            r.reason = (
                f"charged in job {b.job_id} ({accepted} of {total} accepted), but TitanX did "
                "not say which rows it rejected"
            )
    elif b.state in (jr.UNKNOWN, jr.SENDING):
        r.status = rs.UNCONFIRMED
        r.reason = "sent, but no answer came back; it may have been charged"
    elif b.state == jr.FAILED:
        cause = str(resp.get("cause") or "TitanX refused this batch (see Jobs)")
        r.reason = f"{cause} (not charged)"
    else:  # planned: the run stopped before this batch went out
        r.status, r.reason, r.batch = rs.NOT_SENT, _not_sent(stop_reason), None
    return r


def _not_sent(stop_reason: str) -> str:
    return f"not sent: {stop_reason or 'the run stopped first'}"


def _batch_result(b: BatchRecord, session: str, started: str = "") -> rs.BatchResult:
    resp = b.response or {}
    credits = _dec(resp.get("credits_charged"))
    if credits is None and b.state not in (jr.ANSWERED, jr.RECONCILED, jr.UNKNOWN, jr.SENDING):
        credits = Decimal(0)  # refused or never sent: nothing was charged
    return rs.BatchResult(
        batch=b.batch,
        rows=len(b.row_indexes),
        outcome=_OUTCOME.get(b.state, b.state),
        job_id=b.job_id,
        accepted=to_int(resp.get("accepted")) or 0,
        rejected=len(resp.get("rejected", {})),
        credits_charged=credits,
        credits_remaining=_dec(resp.get("credits_remaining")),
        cost_per_phone=_dec(resp.get("cost_per_phone")),
        phone_count=to_int(resp.get("phone_count")),
        submitted_at=b.sent_at,
        message=b.message,
        # Settled by this invocation, and not sent before it started: a batch an earlier run
        # sent and this one only reconciled was charged then, not now.
        this_run=bool(session) and b.session == session and not (b.sent_at and b.sent_at < started),
    )


_SENT = (rs.ACCEPTED, rs.REJECTED, rs.UNCONFIRMED)  # TitanX processed them, or may have


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
    earlier = {b.batch for b in batches if not b.this_run}
    sent_before = sum(1 for r in rows if r.status in _SENT and r.batch in earlier)
    known = [b for b in batches if b.credits_charged is not None]
    total = sum((b.credits_charged or Decimal(0) for b in known), Decimal(0))
    this_run = sum((b.credits_charged or Decimal(0) for b in known if b.this_run), Decimal(0))
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
        sent=sum(counts[status] for status in _SENT),
        sent_before=sent_before,
        accepted=counts[rs.ACCEPTED],
        rejected=counts[rs.REJECTED],
        skipped=counts[rs.SKIPPED],
        duplicates=counts[rs.DUPLICATE],
        unconfirmed=counts[rs.UNCONFIRMED],
        failed=counts[rs.FAILED],
        not_sent=counts[rs.NOT_SENT],
        ready=counts[rs.READY],
        credits_charged=this_run,
        credits_charged_total=total,
        credits_unknown=len(batches) - len(known),
        credits_remaining=remaining,
    )


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
