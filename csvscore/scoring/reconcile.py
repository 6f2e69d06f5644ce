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
from csvscore.scoring.journal import BatchRecord, Journal

# How far before our own send time a job may be stamped and still be ours (clock skew between
# this computer and TitanX). Small on purpose: a job of another file created minutes earlier must
# not look like ours. A clock running fast only makes reconciliation find nothing (the safe side).
RECONCILE_SKEW = timedelta(minutes=2)
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
    summary = {
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
    problem = inconsistency(len(b.row_indexes), resp.total, resp.accepted, len(resp.rejected))
    if problem:
        summary["problem"] = problem
    return summary


def inconsistency(sent: int, total: int | None, accepted: int | None, rejected: int) -> str:
    """What does not add up in an answer ("" when it does): recorded and shown, never silent."""
    problems = []
    if total is not None and total != sent:
        problems.append(f"it counts {total} contacts, {sent} were sent")
    if accepted is not None and total is not None and accepted > total:
        problems.append(f"it accepted {accepted} of {total}")
    if accepted is not None and total is not None and accepted + rejected != total:
        problems.append(f"{accepted} accepted and {rejected} rejected do not make {total}")
    return "TitanX's answer does not add up: " + "; ".join(problems) if problems else ""


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
    client: Any,
    journal: Journal,
    b: BatchRecord,
    keys: set[str],
    on_event: Callable[[str], None],
    *,
    ended: str = "",
) -> dict[str, Any] | None:
    """The job this batch created, when TitanX's job list proves it; else None.

    TitanX creates a job while it handles the request (the answer carries its id), so this
    batch's job, if any, was created while its request was in flight: between ``b.sent_at`` and
    ``ended`` (when the request ended without an answer; "" when not known, after a crash: then
    up to ``MAX_REQUEST`` later), give or take ``RECONCILE_SKEW`` of clock difference. Proof is
    one of two things, and anything less leaves the batch unconfirmed:

    - *its contacts*: ``GET /jobs/{id}`` lists the job's contacts and their
      ``customerContactId`` values are exactly this batch's keys;
    - *the only one it can be*: exactly one unclaimed job of this batch's size was created in
      that window, and no other unsettled batch of that size, from any file of the user (the
      ledger knows them all), was in flight at any moment of it.

    A job is never a candidate when another batch already owns it (the ledger), whatever file
    that batch came from.
    """
    window = _window(b.sent_at, ended)
    if window is None:
        return None
    start, end = window
    size = len(b.row_indexes)
    mine = (journal.journal_id, b.run_key, b.batch)
    rivals = [
        p
        for p in journal.in_flight(size)
        if (p[0], p[1], p[2]) != mine and _overlaps(_window(p[3], p[4]), window)
    ]
    try:
        jobs = client.list_jobs(since=start)
        claimed = journal.claimed_jobs()
        candidates: list[dict[str, Any]] = []
        for job in jobs:
            created = parse_time(str(job.get("createdAt", "")))
            job_id = str(job.get("jobId", ""))
            if (
                not job_id
                or job_id in claimed
                or to_int(job.get("totalRecordCount")) != size
                or created is None
                or not start <= created <= end
            ):
                continue
            shown = _contact_ids(client, job_id)
            if shown is not None:
                if shown == keys:
                    return job  # its own contacts: proof enough, whatever else was in flight
                continue  # another batch's job, by its contacts
            candidates.append(job)
    except Exception as exc:  # reconciliation is best effort; never fatal
        on_event(f"batch {b.batch}: could not list TitanX's jobs to check ({exc})")
        return None
    if len(candidates) == 1 and not rivals:
        return candidates[0]
    return None


# The longest a request can have been in TitanX's hands when csvscore does not know when it ended
# (the process was killed while it was in flight).
MAX_REQUEST = timedelta(minutes=10)


def _window(sent_at: str, ended_at: str) -> tuple[datetime, datetime] | None:
    sent = parse_time(sent_at)
    if sent is None:
        return None
    ended = parse_time(ended_at) or sent + MAX_REQUEST
    return sent - RECONCILE_SKEW, max(ended, sent) + RECONCILE_SKEW


def _overlaps(a: tuple[datetime, datetime] | None, b: tuple[datetime, datetime]) -> bool:
    return a is None or (a[0] <= b[1] and b[0] <= a[1])


def _contact_ids(client: Any, job_id: str) -> set[str] | None:
    """The ``customerContactId`` values ``GET /jobs/{id}`` shows, or None when it shows none.

    The job detail's shape is not documented: look for a list of contacts under the usual keys.
    """
    get_job = getattr(client, "get_job", None)
    if get_job is None:
        return None
    detail = get_job(job_id)
    for key in ("contacts", "records", "items"):
        items = detail.get(key) if isinstance(detail, dict) else None
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            ids = {str(i["customerContactId"]) for i in items if i.get("customerContactId")}
            if ids:
                return ids
    return None


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
