"""Send prepared rows to TitanX in batches, safely, and turn the journal into per-row results.

Safety rules, in the order they matter:

1. A batch is marked ``sending`` in the journal (durably) *before* its POST leaves, so after a
   crash we know which requests may have been charged.
2. A batch whose outcome is unknown (timeout, dropped connection, 500, crash mid-request) is never
   resent on our own. We try to prove what happened through ``GET /jobs`` (reconciliation); if we
   cannot, its rows are ``unconfirmed`` and only ``--retry-unconfirmed`` resends them.
3. Batches that were refused or never sent (auth, credits, 400, network before sending) were not
   charged; re-running the command sends them again.
4. Rows already in a batch are never planned into another one, whatever the options of a later run.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from csvscore import __version__
from csvscore import journal as jr
from csvscore import results as rs
from csvscore.contacts import PreparedRow
from csvscore.errors import (
    ApiError,
    AuthError,
    CreditsError,
    CsvscoreError,
    NetworkError,
    UsageError,
)
from csvscore.journal import BatchRecord, Journal, RunRecord
from csvscore.mapping import Mapping
from csvscore.table import Table

MAX_BATCH = 1000  # the API's limit per request
# Chosen by measurement (benchmarks/bench_score.py): with 300 ms latency and a 10 req/s limit,
# 4 workers reach ~90% of the limit; more only queue behind the limiter.
DEFAULT_WORKERS = 4
# How far before our own send time a job may be stamped and still be ours (clock skew).
RECONCILE_SKEW = timedelta(minutes=10)


class ScoreClient(Protocol):
    """What :func:`submit` needs of :class:`csvscore.client.TitanXClient`."""

    def score(self, contacts: list[dict[str, Any]], scoring_type: str = ...) -> Any: ...
    def list_jobs(self, *, since: datetime | None = ..., max_pages: int = ...) -> list[dict]: ...

    rate_limit: Any


@dataclass
class ScoreOptions:
    scoring_type: str = "lightning"
    batch_size: int = MAX_BATCH
    workers: int = DEFAULT_WORKERS
    dry_run: bool = False
    retry_unconfirmed: bool = False
    new_run: bool = False  # allow a second, separately charged run of an already-submitted file
    cost_per_phone: Decimal | None = None  # for dry-run estimates, when known

    def check(self) -> None:
        if self.scoring_type not in ("lightning", "titan"):
            raise UsageError(
                f"--scoring-type must be lightning or titan, not {self.scoring_type!r}"
            )
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise UsageError(f"--batch-size must be between 1 and {MAX_BATCH}")
        if not 1 <= self.workers <= 32:
            raise UsageError("--workers must be between 1 and 32")


@dataclass
class Progress:
    batches_done: int
    batches_total: int
    rows_done: int
    rows_total: int
    credits_charged: Decimal
    message: str = ""


ProgressFn = Callable[[Progress], None]


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def mapping_fingerprint(mapping: Mapping) -> str:
    """Hash of which column goes where: a changed mapping is a different run."""
    pairs = [(c.index, c.field, c.unmapped_key, c.phone_type) for c in mapping.columns]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def run_key_for(input_fingerprint: str, mapping_fp: str, scoring_type: str) -> str:
    raw = f"{input_fingerprint}:{mapping_fp}:{scoring_type}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def journal_path(state_dir: Path, input_fingerprint: str) -> Path:
    """One journal per input content, in the user's state directory."""
    return state_dir / "journals" / f"{input_fingerprint[:24]}.sqlite"


# ---------------------------------------------------------------------------------------------


def submit(
    table: Table,
    mapping: Mapping,
    prepared: list[PreparedRow],
    *,
    fingerprint: str,
    client: ScoreClient | None,
    journal: Journal | None,
    options: ScoreOptions,
    progress: ProgressFn | None = None,
    on_event: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> rs.RunResult:
    """Score ``prepared`` rows (or plan them, with ``options.dry_run``) and return every row's fate.

    Returns normally also when the run stopped early (credits, auth, Ctrl-C): the summary's
    ``stop_reason`` says why and unsent rows are ``failed``. Raises only for misuse
    (:class:`UsageError`), before anything is sent.
    """
    options.check()
    started = utcnow()
    if options.dry_run:
        return _dry_run(table, prepared, fingerprint, options, started)
    if client is None or journal is None:
        raise UsageError("a client and a journal are needed to send")
    sender = _Sender(
        table,
        mapping,
        prepared,
        fingerprint,
        client,
        journal,
        options,
        progress,
        on_event,
        sleep,
        clock,
    )
    return sender.run(started)


def _dry_run(
    table: Table, prepared: list[PreparedRow], fingerprint: str, options: ScoreOptions, started: str
) -> rs.RunResult:
    rows = [
        rs.RowResult(p.index, p.source_row, p.status or rs.READY, p.reason, key=p.key)
        for p in prepared
    ]
    summary = _summary(table, fingerprint, options, started, rows, [])
    summary.dry_run = True
    summary.estimated_phones = sum(p.phone_count for p in prepared if p.status is None)
    if options.cost_per_phone is not None:
        summary.estimated_credits = options.cost_per_phone * summary.estimated_phones
    return rs.RunResult(rows=rows, batches=[], summary=summary)


class _Stop(Exception):
    pass


class _Sender:
    def __init__(
        self,
        table: Table,
        mapping: Mapping,
        prepared: list[PreparedRow],
        fingerprint: str,
        client: ScoreClient,
        journal: Journal,
        options: ScoreOptions,
        progress: ProgressFn | None,
        on_event: Callable[[str], None] | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.table = table
        self.prepared = prepared
        self.fingerprint = fingerprint
        self.client = client
        self.journal = journal
        self.options = options
        self.progress = progress
        self.on_event = on_event or (lambda _msg: None)
        self.sleep = sleep
        self.clock = clock
        self.mapping_fp = mapping_fingerprint(mapping)
        self.run_key = run_key_for(fingerprint, self.mapping_fp, options.scoring_type)
        self.stop_reason = ""
        self.stop_error: CsvscoreError | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done_batches = 0
        self._done_rows = 0
        self._credits = Decimal(0)
        self._total_batches = 0
        self._total_rows = 0

    # -- planning ---------------------------------------------------------------------------

    def run(self, started: str) -> rs.RunResult:
        self._guard_other_runs()
        self.journal.ensure_run(
            RunRecord(
                self.run_key,
                self.fingerprint,
                self.mapping_fp,
                self.options.scoring_type,
                str(self.table.path),
                started,
            )
        )
        self._recover()
        todo = self._plan()
        interrupted = False
        try:
            self._send_all(todo)
            self._reconcile_pass()
        except KeyboardInterrupt:
            # Let in-flight requests finish and be journaled; unsent batches stay planned.
            self._stop.set()
            interrupted = True
            self.stop_reason = self.stop_reason or "interrupted (Ctrl-C)"
        result = self.results(started)
        if interrupted:
            result.summary.interrupted = True
        return result

    def _guard_other_runs(self) -> None:
        """Refuse to charge the same file again under another mapping unless told to."""
        if self.options.new_run:
            return
        for run in self.journal.runs():
            if run.run_key == self.run_key:
                continue
            charged = [
                b
                for b in self.journal.batches(run.run_key)
                if b.state in (jr.ANSWERED, jr.RECONCILED, jr.UNKNOWN, jr.SENDING)
            ]
            if charged:
                rows = sum(len(b.row_indexes) for b in charged)
                raise UsageError(
                    f"this file was already submitted on {run.created_at[:10]} with a different "
                    f"mapping or scoring type ({rows} rows sent); sending again charges them "
                    "again. Use --new-run to do that on purpose, or the same mapping to resume."
                )

    def _recover(self) -> None:
        """Settle what a previous (crashed or stopped) run left behind."""
        for b in self.journal.batches(self.run_key):
            if b.state == jr.SENDING:
                # We were killed mid-request: the job may exist. Never resend blindly.
                self._settle_unknown(b, "the previous run stopped while this batch was in flight")
        for b in self.journal.batches(self.run_key):
            if b.state == jr.FAILED:
                # Refused or never sent: nothing was charged, so sending again is safe.
                self.journal.set_state(self.run_key, b.batch, jr.PLANNED)
            elif b.state == jr.UNKNOWN and self.options.retry_unconfirmed:
                self.on_event(f"batch {b.batch}: resending on request (--retry-unconfirmed)")
                self.journal.set_state(self.run_key, b.batch, jr.PLANNED, "resent on request")

    def _plan(self) -> list[int]:
        existing = self.journal.batches(self.run_key)
        covered = {i for b in existing if b.state != jr.SPLIT for i in b.row_indexes}
        fresh = [p.index for p in self.prepared if p.status is None and p.index not in covered]
        size = self.options.batch_size
        if fresh:
            self.journal.add_batches(
                self.run_key, [fresh[i : i + size] for i in range(0, len(fresh), size)]
            )
        batches = self.journal.batches(self.run_key)
        todo = [b.batch for b in batches if b.state == jr.PLANNED]
        self._total_batches = len(todo)
        self._total_rows = sum(len(b.row_indexes) for b in batches if b.state == jr.PLANNED)
        return todo

    # -- sending ----------------------------------------------------------------------------

    def _send_all(self, todo: list[int]) -> None:
        work: queue.Queue[int] = queue.Queue()
        for n in todo:
            work.put(n)
        if not todo:
            return
        workers = min(self.options.workers, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csvscore-send") as pool:
            futures = [pool.submit(self._worker, work) for _ in range(workers)]
            try:
                for f in futures:
                    # A timeout loop keeps the main thread responsive to Ctrl-C.
                    while True:
                        try:
                            f.result(timeout=0.2)
                            break
                        except TimeoutError:
                            continue
            except KeyboardInterrupt:
                self._stop.set()
                raise

    def _worker(self, work: queue.Queue[int]) -> None:
        while not self._stop.is_set():
            try:
                n = work.get_nowait()
            except queue.Empty:
                return
            self._pace()
            if self._stop.is_set():
                return
            for extra in self._send_one(self.journal.get_batch(self.run_key, n)):
                work.put(extra)

    def _pace(self) -> None:
        """Wait as the rate-limit headers ask, so a pool of workers doesn't hammer into 429s."""
        state = getattr(self.client, "rate_limit", None)
        if state is None:
            return
        delay = float(state.delay_before_next(self.clock()))
        if delay > 0:
            self.sleep(delay)

    def _send_one(self, b: BatchRecord) -> list[int]:
        """Send one batch; return numbers of batches to add to the queue (after a split)."""
        from csvscore.client import BatchRefused, OutcomeUnknown

        contacts = [self.prepared[i].contact for i in b.row_indexes]
        sent_at = utcnow()
        self.journal.mark_sending(self.run_key, b.batch, sent_at)
        try:
            resp = self.client.score(contacts, self.options.scoring_type)
        except OutcomeUnknown as exc:
            b = self.journal.get_batch(self.run_key, b.batch)
            self._settle_unknown(b, str(exc))
            self._tick(b, Decimal(0))
            return []
        except BatchRefused as exc:
            if exc.too_large and len(b.row_indexes) > 1:
                half = len(b.row_indexes) // 2
                self.journal.set_state(self.run_key, b.batch, jr.SPLIT, f"too large: {exc.message}")
                new = self.journal.add_batches(
                    self.run_key, [b.row_indexes[:half], b.row_indexes[half:]]
                )
                self.on_event(f"batch {b.batch} was too large; split into batches {new}")
                return new
            self.journal.finish(
                self.run_key,
                b.batch,
                jr.FAILED,
                answered_at=utcnow(),
                message=f"TitanX refused the batch: {exc.message}",
            )
            self._tick(b, Decimal(0))
            return []
        except (AuthError, CreditsError, NetworkError) as exc:
            self.journal.finish(
                self.run_key, b.batch, jr.FAILED, answered_at=utcnow(), message=str(exc)
            )
            self._halt(exc)
            return []
        except ApiError as exc:
            # Still rate limited after the client's retries, or an answer that proves nothing
            # was processed (redirect, 404): not charged, so the batch can go again next run.
            self.journal.finish(
                self.run_key, b.batch, jr.FAILED, answered_at=utcnow(), message=str(exc)
            )
            self._tick(b, Decimal(0))
            return []
        summary = self._response_summary(b, resp)
        self.journal.finish(
            self.run_key,
            b.batch,
            jr.ANSWERED,
            answered_at=utcnow(),
            job_id=resp.job_id or "",
            response=summary,
        )
        self._tick(b, resp.credits_charged or Decimal(0))
        return []

    def _halt(self, exc: CsvscoreError) -> None:
        with self._lock:
            if self.stop_error is None:
                self.stop_error = exc
                self.stop_reason = str(exc)
        self._stop.set()

    def _tick(self, b: BatchRecord, credits: Decimal) -> None:
        with self._lock:
            self._done_batches += 1
            self._done_rows += len(b.row_indexes)
            self._credits += credits
            p = Progress(
                self._done_batches,
                self._total_batches,
                self._done_rows,
                self._total_rows,
                self._credits,
            )
        if self.progress:
            self.progress(p)

    def _response_summary(self, b: BatchRecord, resp: Any) -> dict[str, Any]:
        """What we keep of a 200: numbers as text (exact decimals) and rejections by row."""
        key_to_index = {self.prepared[i].key: i for i in b.row_indexes}
        rejected: dict[int, str] = {}
        unmatched = 0
        for rej in resp.rejected:
            idx = key_to_index.get(rej.customer_contact_id or "")
            if idx is None or idx in rejected:
                idx = self._match_by_content(b, rej.record, rejected)
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
        self, b: BatchRecord, record: dict[str, Any], taken: dict[int, str]
    ) -> int | None:
        """Fallback when the echo lacks our key: first row whose name and phone fields agree."""
        probe = {k: str(v) for k, v in record.items() if k in _ECHO_KEYS and v}
        if not probe:
            return None
        for i in b.row_indexes:
            if i in taken:
                continue
            contact = self.prepared[i].contact
            if all(str(contact.get(k, "")) == v for k, v in probe.items()):
                return i
        return None

    # -- unknown outcomes -------------------------------------------------------------------

    def _settle_unknown(self, b: BatchRecord, detail: str) -> None:
        job = self._reconcile(b)
        if job is not None:
            self.journal.finish(
                self.run_key,
                b.batch,
                jr.RECONCILED,
                answered_at=utcnow(),
                job_id=str(job.get("jobId", "")),
                response={
                    "job_id": str(job.get("jobId", "")),
                    "total": _int(job.get("totalRecordCount")),
                    "accepted": _int(job.get("acceptedRecordCount")),
                },
                message=f"no answer ({detail}); job found in TitanX's job list",
            )
            self.on_event(f"batch {b.batch}: no answer, but its job {job.get('jobId')} was found")
        else:
            self.journal.finish(
                self.run_key,
                b.batch,
                jr.UNKNOWN,
                answered_at=utcnow(),
                message=f"no answer ({detail})",
            )
            self.on_event(f"batch {b.batch}: outcome unknown ({detail}); not resent")

    def _reconcile_pass(self) -> None:
        """Try once more for batches left unknown while other requests were still in flight."""
        for b in self.journal.batches(self.run_key):
            if b.state == jr.UNKNOWN and b.attempts and not self._stop.is_set():
                job = self._reconcile(b)
                if job is not None:
                    self._settle_unknown(b, b.message.removeprefix("no answer (").rstrip(")"))

    def _reconcile(self, b: BatchRecord) -> dict[str, Any] | None:
        """Find the job this batch created, when the job list proves it; else None.

        Proof means: exactly as many unclaimed jobs of this batch's size created since it was
        sent as there are unsettled batches of that size (so every one of them was created);
        the jobs are then paired with the batches in time order.
        """
        sent = _parse_time(b.sent_at)
        if sent is None:
            return None
        since = sent - RECONCILE_SKEW
        try:
            jobs = self.client.list_jobs(since=since)
        except Exception as exc:  # reconciliation is best effort; never fatal
            self.on_event(f"batch {b.batch}: could not list jobs to check ({exc})")
            return None
        with self._lock:
            claimed = self.journal.known_job_ids()
            size = len(b.row_indexes)
            candidates = []
            for job in jobs:
                created = _parse_time(str(job.get("createdAt", "")))
                if (
                    str(job.get("jobId", "")) not in claimed
                    and _int(job.get("totalRecordCount")) == size
                    and created is not None
                    and created >= since
                ):
                    candidates.append((created, job))
            peers = [
                p
                for p in self.journal.batches(self.run_key)
                if p.state in (jr.SENDING, jr.UNKNOWN) and len(p.row_indexes) == size
            ]
            if not candidates or len(candidates) != len(peers):
                return None
            candidates.sort(key=lambda c: c[0])
            peers.sort(key=lambda p: (p.sent_at, p.batch))
            position = [p.batch for p in peers].index(b.batch)
            return candidates[position][1]

    # -- results ----------------------------------------------------------------------------

    def results(self, started: str) -> rs.RunResult:
        batches = self.journal.batches(self.run_key)
        row_batch: dict[int, BatchRecord] = {}
        for b in batches:
            if b.state != jr.SPLIT:
                for i in b.row_indexes:
                    row_batch[i] = b
        rows = [self._row_result(p, row_batch.get(p.index)) for p in self.prepared]
        batch_results = [_batch_result(b) for b in batches if b.state != jr.SPLIT]
        summary = _summary(self.table, self.fingerprint, self.options, started, rows, batch_results)
        summary.stop_reason = self.stop_reason
        summary.stop_exit_code = int(self.stop_error.exit_code) if self.stop_error else 0
        return rs.RunResult(rows=rows, batches=batch_results, summary=summary)

    def _row_result(self, p: PreparedRow, b: BatchRecord | None) -> rs.RowResult:
        if b is None:
            if p.status is not None:
                return rs.RowResult(p.index, p.source_row, p.status, p.reason, key=p.key)
            return rs.RowResult(
                p.index, p.source_row, rs.FAILED, f"not sent: {self.stop_reason}", key=p.key
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
            r.reason = f"not sent: {self.stop_reason or 'run stopped'}"
            r.batch = None
        if p.reason and r.status != rs.REJECTED:
            r.reason = f"{r.reason}; {p.reason}" if r.reason else p.reason
        return r


_ECHO_KEYS = ("firstName", "lastName", "email", "phone", "phone2", "customerContactId")


def _batch_result(b: BatchRecord) -> rs.BatchResult:
    resp = b.response or {}
    outcome = {
        jr.ANSWERED: "answered",
        jr.RECONCILED: "reconciled",
        jr.UNKNOWN: "unconfirmed",
        jr.SENDING: "unconfirmed",
        jr.FAILED: "failed",
        jr.PLANNED: "not sent",
    }.get(b.state, b.state)
    rejected = len(resp.get("rejected", {}))
    return rs.BatchResult(
        batch=b.batch,
        rows=len(b.row_indexes),
        outcome=outcome,
        job_id=b.job_id,
        accepted=_int(resp.get("accepted")) or 0,
        rejected=rejected,
        credits_charged=_dec(resp.get("credits_charged")),
        credits_remaining=_dec(resp.get("credits_remaining")),
        cost_per_phone=_dec(resp.get("cost_per_phone")),
        phone_count=_int(resp.get("phone_count")),
        submitted_at=b.sent_at,
        message=b.message,
    )


def _summary(
    table: Table,
    fingerprint: str,
    options: ScoreOptions,
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
        scoring_type=options.scoring_type,
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
        ready=counts[rs.READY],
        credits_charged=charged,
        credits_remaining=remaining,
    )


def _dec_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
