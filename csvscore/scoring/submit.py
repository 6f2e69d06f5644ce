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
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from csvscore import results as rs
from csvscore.api.errors import BatchRefused, OutcomeUnknown, RateLimited, UnexpectedResponse
from csvscore.contacts.build import PreparedRow
from csvscore.errors import (
    ApiError,
    AuthError,
    CreditsError,
    CsvscoreError,
    NetworkError,
    UsageError,
)
from csvscore.mapping.model import Mapping
from csvscore.read.table import Table
from csvscore.scoring import journal as jr
from csvscore.scoring.journal import BatchRecord, Journal, RunRecord
from csvscore.scoring.outcomes import (
    batch_row_results,
    dry_run_result,
    local_row_results,
    run_result,
    utcnow,
)
from csvscore.scoring.reconcile import find_job, response_summary, to_int

MAX_BATCH = 1000  # the API's limit per request
# Chosen by measurement (python -m benchmarks, workers sweep): with 300 ms latency and a
# 10 requests/s limit, 1 worker reaches 31% of the limit, 2 reach 61%, 4 reach 99%; 6 and 8
# add only 429s. Roughly limit x latency + 1 requests in flight.
DEFAULT_WORKERS = 4


class ScoreClient(Protocol):
    """What :func:`submit` needs of :class:`csvscore.api.client.TitanXClient`."""

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


@dataclass
class Hooks:
    """How a run talks to its caller; every part optional, injectable in tests."""

    progress: ProgressFn | None = None
    on_event: Callable[[str], None] | None = None
    # Called with row results as soon as they are final (rows decided locally, rows of
    # batches answered earlier or just now), so the result can be written while sending.
    on_rows: Callable[[list[rs.RowResult]], None] | None = None
    # Set by the caller to stop sending (Ctrl-C when the run is not on the main thread).
    stop: threading.Event | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


def submit(
    table: Table,
    mapping: Mapping,
    prepared: list[PreparedRow],
    *,
    fingerprint: str,
    client: ScoreClient | None,
    journal: Journal | None,
    options: ScoreOptions,
    hooks: Hooks | None = None,
) -> rs.RunResult:
    """Score ``prepared`` rows (or plan them, with ``options.dry_run``) and return every row's fate.

    Returns normally also when the run stopped early (credits, auth, Ctrl-C): the summary's
    ``stop_reason`` says why and unsent rows are ``failed``. Raises only for misuse
    (:class:`UsageError`), before anything is sent.
    """
    options.check()
    started = utcnow()
    if options.dry_run:
        return dry_run_result(
            table, fingerprint, options.scoring_type, started, prepared, options.cost_per_phone
        )
    if client is None or journal is None:
        raise UsageError("a client and a journal are needed to send")
    sender = _Sender(table, mapping, prepared, fingerprint, client, journal, options, hooks)
    return sender.run(started)


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
        hooks: Hooks | None,
    ) -> None:
        hooks = hooks or Hooks()
        self.table = table
        self.prepared = prepared
        self.fingerprint = fingerprint
        self.client = client
        self.journal = journal
        self.options = options
        self.progress = hooks.progress
        self.on_event = hooks.on_event or (lambda _msg: None)
        self.on_rows = hooks.on_rows
        self.sleep = hooks.sleep
        self.clock = hooks.clock
        self.mapping_fp = mapping_fingerprint(mapping)
        self.run_key = run_key_for(fingerprint, self.mapping_fp, options.scoring_type)
        self.stop_reason = ""
        self.stop_error: CsvscoreError | None = None
        self._lock = threading.Lock()
        self._external_stop = hooks.stop is not None
        self._stop = hooks.stop or threading.Event()
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
        self._publish_settled()
        interrupted = False
        try:
            self._send_all(todo)
            self._reconcile_pass()
        except KeyboardInterrupt:
            # Let in-flight requests finish and be journaled; unsent batches stay planned.
            self._stop.set()
            interrupted = True
        if self._external_stop and self._stop.is_set() and self.stop_error is None:
            interrupted = True  # the caller stopped us: that is its Ctrl-C
        if interrupted:
            self.stop_reason = self.stop_reason or "interrupted (Ctrl-C)"
        result = self.results(started)
        result.summary.interrupted = interrupted
        return result

    def _publish_settled(self) -> None:
        """Hand over the rows already final before sending: local decisions, earlier answers."""
        if self.on_rows is None:
            return
        batches = self.journal.batches(self.run_key)
        covered = {i for b in batches if b.state != jr.SPLIT for i in b.row_indexes}
        local = [p for p in self.prepared if p.index not in covered and p.status is not None]
        self.on_rows(local_row_results(local))
        for b in batches:
            if b.state in (jr.ANSWERED, jr.RECONCILED):
                self._publish(b)

    def _publish(self, b: BatchRecord) -> None:
        if self.on_rows is not None:
            self.on_rows(batch_row_results(self.prepared, b))

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
        """Take the next send slot the rate limits allow and wait for it, so a pool of workers
        doesn't hammer into 429s (reserving, not just asking, so two never take the last slot)."""
        state = getattr(self.client, "rate_limit", None)
        if state is None:
            return
        reserve = getattr(state, "reserve", None) or state.delay_before_next
        delay = float(reserve(self.clock()))
        if delay > 0:
            self.sleep(delay)

    def _send_one(self, b: BatchRecord) -> list[int]:
        """Send one batch; return numbers of batches to add to the queue (after a split)."""
        contacts = [self.prepared[i].contact for i in b.row_indexes]
        self.journal.mark_sending(self.run_key, b.batch, utcnow())
        try:
            resp = self.client.score(contacts, self.options.scoring_type)
        except OutcomeUnknown as exc:
            self._settle_unknown(self.journal.get_batch(self.run_key, b.batch), str(exc))
            self._tick(b, Decimal(0))
            if exc.stops_run:  # a web page, not the API: every batch would meet it
                self._halt(exc)
        except BatchRefused as exc:
            if exc.too_large and len(b.row_indexes) > 1:
                return self._split(b, exc.message)
            self._fail(b, f"TitanX refused the batch: {exc.message}")
        except (AuthError, CreditsError, NetworkError) as exc:
            self._fail(b, str(exc))
            self._halt(exc)
        except RateLimited as exc:
            # Refused before processing (or never sent: the quota is spent for hours). Nothing
            # was charged; the batch stays planned, its rows 'not sent' like the ones after it,
            # and the next run sends them. Batch after batch would only spend more quota.
            self.journal.set_state(self.run_key, b.batch, jr.PLANNED)
            self._halt(exc)
        except UnexpectedResponse as exc:
            # A wrong address (404, a redirect, a page that is not the API): nothing was
            # processed, and every further batch would meet the same answer.
            self._fail(b, str(exc))
            self._halt(exc)
        except ApiError as exc:
            # Another refusal that proves nothing was processed: not charged, so the batch can
            # go again next run.
            self._fail(b, str(exc))
        else:
            self.journal.finish(
                self.run_key,
                b.batch,
                jr.ANSWERED,
                answered_at=utcnow(),
                job_id=resp.job_id or "",
                response=response_summary(self.prepared, b, resp),
            )
            self._publish(self.journal.get_batch(self.run_key, b.batch))
            self._tick(b, resp.credits_charged or Decimal(0))
        return []

    def _fail(self, b: BatchRecord, message: str) -> None:
        """Refused or never processed: not charged, so the next run sends it again."""
        self.journal.finish(self.run_key, b.batch, jr.FAILED, answered_at=utcnow(), message=message)
        self._tick(b, Decimal(0))

    def _split(self, b: BatchRecord, message: str) -> list[int]:
        half = len(b.row_indexes) // 2
        self.journal.set_state(self.run_key, b.batch, jr.SPLIT, f"too large: {message}")
        new = self.journal.add_batches(self.run_key, [b.row_indexes[:half], b.row_indexes[half:]])
        with self._lock:
            self._total_batches += len(new) - 1
        self.on_event(f"batch {b.batch} was too large; split into batches {new}")
        return new

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

    # -- unknown outcomes -------------------------------------------------------------------

    def _settle_unknown(
        self, b: BatchRecord, detail: str, job: dict[str, Any] | None = None
    ) -> None:
        """Record a batch with no answer: reconciled when the job list proves its job."""
        if job is None:
            job = self._find_job(b)
        if job is not None:
            job_id = str(job.get("jobId", ""))
            self.journal.finish(
                self.run_key,
                b.batch,
                jr.RECONCILED,
                answered_at=utcnow(),
                job_id=job_id,
                response={
                    "job_id": job_id,
                    "total": to_int(job.get("totalRecordCount")),
                    "accepted": to_int(job.get("acceptedRecordCount")),
                },
                message=f"no answer ({detail}); job found in TitanX's job list",
            )
            self.on_event(f"batch {b.batch}: no answer, but its job {job_id} was found")
            self._publish(self.journal.get_batch(self.run_key, b.batch))
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
                job = self._find_job(b)
                if job is not None:
                    detail = b.message.removeprefix("no answer (").removesuffix(")")
                    self._settle_unknown(b, detail, job)

    def _find_job(self, b: BatchRecord) -> dict[str, Any] | None:
        # Under the lock: two workers must not both claim the same job.
        with self._lock:
            return find_job(self.client.list_jobs, self.journal, self.run_key, b, self.on_event)

    # -- results ----------------------------------------------------------------------------

    def results(self, started: str) -> rs.RunResult:
        return run_result(
            self.table,
            self.fingerprint,
            self.options.scoring_type,
            started,
            self.prepared,
            self.journal.batches(self.run_key),
            stop_reason=self.stop_reason,
            stop_exit_code=int(self.stop_error.exit_code) if self.stop_error else 0,
        )
