"""Match TitanX's answers back to what we sent: rejections to rows, jobs to batches.

The API has no row index and no idempotency key, so both matches are ours to make:

- a rejected record is found by the ``customerContactId`` we put in every contact, falling back
  to the echoed name and phone fields when the echo lacks it;
- a batch whose answer never came is matched to a job in ``GET /jobs`` only when the job list
  *proves* it (see :func:`find_job`); anything less leaves the batch unconfirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from csvscore.contacts.build import PreparedRow
from csvscore.scoring import journal as jr
from csvscore.scoring.journal import BatchRecord, Journal

# How far before our own send time a job may be stamped and still be ours (clock skew).
RECONCILE_SKEW = timedelta(minutes=10)
# Echoed fields compared when a rejected record does not carry our key.
_ECHO_KEYS = ("firstName", "lastName", "email", "phone", "phone2", "customerContactId")


def response_summary(prepared: list[PreparedRow], b: BatchRecord, resp: Any) -> dict[str, Any]:
    """What the journal keeps of a 200: numbers as exact decimal text, rejections by row."""
    key_to_index = {prepared[i].key: i for i in b.row_indexes}
    rejected: dict[int, str] = {}
    unmatched = 0
    for rej in resp.rejected:
        idx = key_to_index.get(rej.customer_contact_id or "")
        if idx is None or idx in rejected:
            idx = _match_by_content(prepared, b, rej.record, rejected)
        if idx is None:
            unmatched += 1
        else:
            rejected[idx] = rej.reason
    return {
        "job_id": resp.job_id,
        "total": resp.total,
        "accepted": resp.accepted,
        "credits_charged": _dec_text(resp.credits_charged),
        "credits_remaining": _dec_text(resp.credits_remaining),
        "cost_per_phone": _dec_text(resp.cost_per_phone),
        "phone_count": resp.phone_count,
        "rejected": {str(k): v for k, v in rejected.items()},
        "unmatched_rejections": unmatched,
    }


def _match_by_content(
    prepared: list[PreparedRow], b: BatchRecord, record: dict[str, Any], taken: dict[int, str]
) -> int | None:
    """Fallback when the echo lacks our key: the first row whose name and phone fields agree."""
    probe = {k: str(v) for k, v in record.items() if k in _ECHO_KEYS and v}
    if not probe:
        return None
    for i in b.row_indexes:
        if i in taken:
            continue
        contact = prepared[i].contact
        if all(str(contact.get(k, "")) == v for k, v in probe.items()):
            return i
    return None


def find_job(
    list_jobs: Callable[..., list[dict[str, Any]]],
    journal: Journal,
    run_key: str,
    b: BatchRecord,
    on_event: Callable[[str], None],
) -> dict[str, Any] | None:
    """The job this batch created, when the job list proves it; else None.

    Proof means: as many unclaimed jobs of this batch's size were created since it was sent
    as there are unsettled batches of that size, so every one of them was created; the jobs
    are then paired with the batches in time order. Fewer jobs than batches proves nothing
    about any one batch (we cannot tell which were created), so they all stay unknown.
    """
    sent = parse_time(b.sent_at)
    if sent is None:
        return None
    since = sent - RECONCILE_SKEW
    try:
        jobs = list_jobs(since=since)
    except Exception as exc:  # reconciliation is best effort; never fatal
        on_event(f"batch {b.batch}: could not list jobs to check ({exc})")
        return None
    claimed = journal.known_job_ids()
    size = len(b.row_indexes)
    candidates = []
    for job in jobs:
        created = parse_time(str(job.get("createdAt", "")))
        if (
            str(job.get("jobId", "")) not in claimed
            and to_int(job.get("totalRecordCount")) == size
            and created is not None
            and created >= since
        ):
            candidates.append((created, job))
    peers = [
        p
        for p in journal.batches(run_key)
        if p.state in (jr.SENDING, jr.UNKNOWN) and len(p.row_indexes) == size
    ]
    if not candidates or len(candidates) != len(peers):
        return None
    candidates.sort(key=lambda c: c[0])
    peers.sort(key=lambda p: (p.sent_at, p.batch))
    position = [p.batch for p in peers].index(b.batch)
    return candidates[position][1]


def _dec_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def to_int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
