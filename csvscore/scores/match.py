"""Matching results fetched from the receiver to the rows of a run (design/scores.md C.5).

For each row sent with key *k* in job *J* at time *t0*:

1. candidates are the results for *k* whose event time is not before *t0* minus a clock-skew
   allowance;
2. when results carry a job id, only those of *J* count (``key+job``); results that all name
   another job belong to another sending of the same key and do not count; otherwise the key
   alone matches (``key``);
3. the newest candidate wins; if candidates (or the events folded into one) disagree on the
   lead status the note says so;
4. the candidate's name digest and phones are checked against the row's: another name, or no
   number in common, is a ``mismatch`` (the score is still shown, with a note);
5. each phone sent is matched back to its source column by E.164 number, then by slot.

A row with no result is ``pending`` until its job is known finished (``job.completed`` seen or a
terminal status) for longer than a grace period, then ``no result`` (``not enriched`` when
the job says so). Unknown status strings are shown raw with Call Priority ``?``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from csvscore.scores.contact import ContactResult, PhoneResult
from csvscore.scores.identity import identity_hash
from csvscore.scores.priority import Priorities, normalise_status

SCORED = "scored"
PENDING = "pending"
NO_RESULT = "no result"
NOT_ENRICHED = "not enriched"
NOT_SENT = "not sent"
MISMATCH = "mismatch"
STATES = (SCORED, PENDING, NO_RESULT, NOT_ENRICHED, NOT_SENT, MISMATCH)

FINALIZED = "Finalized"
NOT_ENRICHED_JOB = "Not Enriched"
TERMINAL_JOB_STATUSES = (FINALIZED, NOT_ENRICHED_JOB)
CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_GRACE = timedelta(minutes=15)


@dataclass(frozen=True)
class SentPhone:
    """One source phone column of a row: the slot it filled and what was sent.

    ``e164`` is None for a column mapped to a phone slot whose value was not sent (invalid or
    damaged by Excel); ``text`` is the cell as the user's file has it, for the Best Phone cell.
    """

    column: str
    slot: int | None
    e164: str | None
    text: str = ""


@dataclass(frozen=True)
class RunRow:
    """One row of a run, as the journal knows it.

    ``sent`` is False for rows never accepted (skipped, duplicate, rejected, failed...), with
    ``status`` saying which; ``sent_at`` is when its batch was sent (aware datetime).
    ``name_hash`` is :func:`csvscore.scores.identity.name_hash` of the row's first and last name.
    """

    row_index: int
    key: str
    job_id: str | None
    sent_at: datetime | None
    name_hash: str | None
    phones: tuple[SentPhone, ...]
    sent: bool = True
    status: str = "accepted"

    @property
    def identity(self) -> str:
        return identity_hash(self.name_hash, (p.e164 for p in self.phones))


@dataclass(frozen=True)
class JobInfo:
    """What the receiver knows of a job: ``job.completed`` seen, its status and when."""

    job_id: str
    completed: bool = False
    status: str | None = None
    completed_at: datetime | None = None
    results_seen: int = 0

    @property
    def finished(self) -> bool:
        return self.completed or (self.status or "") in TERMINAL_JOB_STATUSES


@dataclass(frozen=True)
class ScoreRecord:
    """The score block of one row (the workbook's columns, design/scores.md section d)."""

    row_index: int
    key: str
    state: str
    lead_status: str | None = None  # raw, as TitanX sent it
    call_priority: int | str | None = None  # 1..9, "?" for an unknown status, None: no score
    best_phone: str | None = None  # as in the source cell when known, else E.164
    best_phone_e164: str | None = None
    best_phone_column: str | None = None
    phone_statuses: Mapping[str, str] = field(default_factory=dict)  # source column -> status
    scored_at: str | None = None  # ISO 8601 UTC of the event
    note: str = ""
    match_method: str | None = None  # "key+job" | "key"
    event_id: str | None = None
    job_id: str | None = None


def not_scored_note(status: str) -> str:
    """The Score Note of a row TitanX did not accept (rejected rows were sent, but not scored:
    the state is ``not sent`` as for the others, the note says which it was)."""
    return f"not scored (TitanX Status: {status})"


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _millis(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _candidates(row: RunRow, results: Sequence[ContactResult]) -> tuple[list[ContactResult], str]:
    sent_ms = _millis(row.sent_at)
    floor = None if sent_ms is None else sent_ms - int(CLOCK_SKEW.total_seconds() * 1000)
    fresh = [r for r in results if floor is None or r.event_ms is None or r.event_ms >= floor]
    if row.job_id and any(r.job_id == row.job_id for r in fresh):
        return [r for r in fresh if r.job_id == row.job_id], "key+job"
    if row.job_id and fresh and all(r.job_id for r in fresh):
        return [], "key+job"  # every result names another job: another sending of this key
    return fresh, "key"


def _match_phones(
    row: RunRow, result: ContactResult
) -> tuple[dict[str, str], dict[str, PhoneResult], list[str]]:
    """Per source column: its status, the result phone it matched, and notes."""
    by_number = {p.e164: p for p in result.phones if p.e164}
    by_slot = {p.slot: p for p in result.phones}
    sent_numbers = {p.e164 for p in row.phones if p.e164}
    statuses: dict[str, str] = {}
    matched: dict[str, PhoneResult] = {}
    notes: list[str] = []
    for sent in row.phones:
        if sent.e164 is None:
            statuses[sent.column] = NOT_SENT
            continue
        phone = by_number.get(sent.e164)
        if phone is None and sent.slot is not None:
            # Fall back to the slot, unless that slot's number is another number we sent.
            candidate = by_slot.get(sent.slot)
            if candidate is not None and candidate.e164 not in sent_numbers:
                phone = candidate
                notes.append(f"{sent.column}: TitanX returned another number in its slot")
        if phone is None:
            statuses[sent.column] = ""
            continue
        statuses[sent.column] = phone.status or ""
        matched[sent.column] = phone
    return statuses, matched, notes


def _best_phone(
    row: RunRow,
    lead: str | None,
    matched: Mapping[str, PhoneResult],
    result: ContactResult,
    priorities: Priorities,
) -> tuple[str | None, str | None, str | None]:
    """(shown text, E.164, source column) of the phone whose status is the lead status."""
    order = [p for p in row.phones if p.column in matched]
    chosen = next((p for p in order if priorities.same(matched[p.column].status, lead)), None)
    if chosen is None and order:
        best = priorities.best(matched[p.column].status for p in order)
        chosen = next((p for p in order if matched[p.column].status == best), None)
    if chosen is not None:
        phone = matched[chosen.column]
        number = phone.e164 or phone.number
        text = chosen.text if chosen.text and phone.e164 == chosen.e164 else number
        return text, phone.e164, chosen.column
    # TitanX's best number is none of the numbers sent (it renumbered or added one).
    extra = next((p for p in result.phones if priorities.same(p.status, lead)), None)
    if extra is not None:
        return extra.e164 or extra.number, extra.e164, None
    return None, None, None


def _scored(
    row: RunRow, result: ContactResult, method: str, others: int, priorities: Priorities
) -> ScoreRecord:
    notes: list[str] = []
    statuses, matched, phone_notes = _match_phones(row, result)
    lead = result.lead_status
    if not lead:
        lead = priorities.best(p.status for p in result.phones)
        if lead:
            notes.append("TitanX sent no lead status; the best phone status is shown")
    unknown = sorted(
        {s for s in [lead, *(p.status for p in result.phones)] if s and not priorities.known(s)}
    )
    for status in unknown:
        notes.append(f"unknown TitanX status '{status}': add it to mappings/statuses.yaml")
    state = SCORED
    sent_numbers = {p.e164 for p in row.phones if p.e164}
    got_numbers = {p.e164 for p in result.phones if p.e164}
    if row.name_hash and result.name_hash and row.name_hash != result.name_hash:
        state = MISMATCH
        notes.insert(0, "TitanX's contact has another name than this row (same key)")
    elif sent_numbers and got_numbers and not sent_numbers & got_numbers:
        state = MISMATCH
        notes.insert(0, "TitanX's contact has none of the numbers sent for this row")
    elif got_numbers and got_numbers != sent_numbers:
        notes.append("TitanX returned different numbers than were sent")
    notes.extend(phone_notes)
    seen = {normalise_status(s) for s in result.statuses_seen if s}
    if others or len(seen) > 1:
        notes.append("scored more than once with different results; the latest is shown")
    text, best_e164, column = _best_phone(row, lead, matched, result, priorities)
    return ScoreRecord(
        row_index=row.row_index,
        key=row.key,
        state=state,
        lead_status=lead,
        call_priority=priorities.shown(lead) if lead else None,
        best_phone=text,
        best_phone_e164=best_e164,
        best_phone_column=column,
        phone_statuses=statuses,
        scored_at=_iso(result.event_ms),
        note="; ".join(notes),
        match_method=method,
        event_id=result.event_id or None,
        job_id=result.job_id or row.job_id,
    )


def _unscored(row: RunRow, job: JobInfo | None, now: datetime, grace: timedelta) -> ScoreRecord:
    def record(state: str, note: str) -> ScoreRecord:
        return ScoreRecord(row.row_index, row.key, state, note=note, job_id=row.job_id)

    if job is None or not job.finished:
        return record(PENDING, "waiting for TitanX's result")
    done_at = job.completed_at
    if done_at is not None and done_at.tzinfo is None:
        done_at = done_at.replace(tzinfo=timezone.utc)
    if done_at is not None and now - done_at < grace:
        return record(PENDING, "the job is finished; its last results may still come")
    when = f" on {done_at.strftime('%Y-%m-%d %H:%M')} UTC" if done_at else ""
    if (job.status or "") == NOT_ENRICHED_JOB:
        return record(
            NOT_ENRICHED, f"TitanX finished the job{when} as 'Not Enriched': no contact was scored"
        )
    return record(
        NO_RESULT,
        f"TitanX finished job {row.job_id}{when} but no result for this row reached the "
        "receiver; ask TitanX support to resend it",
    )


def match_scores(
    rows: Sequence[RunRow],
    results: Mapping[str, Sequence[ContactResult]],
    jobs: Mapping[str, JobInfo],
    priorities: Priorities,
    *,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> list[ScoreRecord]:
    """One :class:`ScoreRecord` per row, in the order of ``rows`` (see the module docstring).

    ``results`` maps a key to the receiver's results for it (any number, any order); ``jobs``
    maps a job id to what the receiver knows of it. Pure: the same inputs give the same records.
    """
    now = now or datetime.now(timezone.utc)
    records = []
    for row in rows:
        if not row.sent:
            records.append(
                ScoreRecord(
                    row_index=row.row_index,
                    key=row.key,
                    state=NOT_SENT,
                    note=not_scored_note(row.status),
                )
            )
            continue
        candidates, method = _candidates(row, results.get(row.key, ()))
        if not candidates:
            records.append(_unscored(row, jobs.get(row.job_id or ""), now, grace))
            continue
        newest = max(candidates, key=lambda r: (r.event_ms or 0, r.event_id))
        differing = {
            normalise_status(c.lead_status or "")
            for c in candidates
            if c.lead_status and c is not newest
        } - {normalise_status(newest.lead_status or "")}
        records.append(_scored(row, newest, method, len(differing), priorities))
    return records
