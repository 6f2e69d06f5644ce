"""Send prepared rows to TitanX in batches, safely, and turn the journal into per-row results.

Safety rules, in the order they matter:

1. A batch is marked ``sending`` in the journal (durably, compare-and-set from ``planned``) and
   its contacts claimed in the ledger, in one transaction, *before* its POST leaves, so after a
   crash we know which requests may have been charged, and no other run can send them too.
2. A batch whose outcome is unknown (timeout, dropped connection, 500, crash mid-request) is never
   resent on our own. We try to prove what happened through ``GET /jobs`` (reconciliation); if we
   cannot, its rows are ``unconfirmed`` and only ``--retry-unconfirmed`` resends them.
3. Batches that were refused or never sent (auth, credits, 400, network before sending) were not
   charged; re-running the command sends them again.
4. Rows already in a batch are never planned into another one, whatever the options of a later run.
5. A contact another journal holds (charged, unconfirmed or in flight) is held back at send time
   (:mod:`csvscore.scoring.ledger`), unless ``rescore``.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
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
    StateError,
    UsageError,
)
from csvscore.mapping.model import Mapping
from csvscore.read.table import Table
from csvscore.scoring import journal as jr
from csvscore.scoring.journal import BatchRecord, BatchTaken, Journal, RunRecord, Sender
from csvscore.scoring.outcomes import (
    batch_row_results,
    dry_run_result,
    held_row_results,
    local_row_results,
    plain_cause,
    run_result,
    utcnow,
)
from csvscore.scoring.reconcile import find_job, response_summary, to_int

MAX_BATCH = 1000  # the API's limit per request
# Chosen by measurement (python -m benchmarks, workers sweep): with 300 ms latency and a
# 10 requests/s limit, 1 worker reaches 31% of the limit, 2 reach 61%, 4 reach 99%; 6 and 8
# add only 429s. Roughly limit x latency + 1 requests in flight.
DEFAULT_WORKERS = 4
# The names of the threads that send batches (the CLI checks for them after a second Ctrl-C).
SEND_THREADS = "csvscore-send"


class ScoreClient(Protocol):
    """What :func:`submit` needs of :class:`csvscore.api.client.TitanXClient`."""

    def score(self, contacts: Sequence[Any], scoring_type: str = ...) -> Any: ...
    def list_jobs(self, *, since: datetime | None = ..., max_pages: int = ...) -> list[dict]: ...
    def get_job(self, job_id: str) -> dict[str, Any]: ...

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


def _sent_shape(mapping: Mapping) -> list[tuple[int, str | None, str, str | None]]:
    """What decides the contacts sent: each column's field, unmapped key and phone type."""
    return [(c.index, c.field, c.unmapped_key, c.phone_type) for c in mapping.columns]


def mapping_fingerprint(mapping: Mapping) -> str:
    """Hash of what would be sent: a changed mapping is a different run; the method, confidence
    or reason of a column (how the mapping was found) is not part of it."""
    return hashlib.sha256(json.dumps(_sent_shape(mapping)).encode()).hexdigest()


def mapping_json(mapping: Mapping) -> str:
    """The mapping as the journal keeps it, so a later run can continue with it exactly."""
    return json.dumps(
        [
            {"index": i, "header": c.header, "field": f, "key": k, "type": t}
            for (i, f, k, t), c in zip(_sent_shape(mapping), mapping.columns, strict=True)
        ],
        ensure_ascii=False,
    )


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
    rescore: bool = False,
    settled: Sequence[BatchRecord] = (),
) -> rs.RunResult:
    """Score ``prepared`` rows (or plan them, with ``options.dry_run``) and return every row's fate.

    ``settled`` (dry runs): the batches earlier runs of the file sent; a dry run shows their
    rows as those runs left them and estimates only the rest.

    Returns normally also when the run stopped early (credits, auth, Ctrl-C): the summary's
    ``stop_reason`` says why and unsent rows are ``not sent``. Raises only for misuse
    (:class:`UsageError`) and for a state folder that cannot be used at the start
    (:class:`StateError`), before anything is sent. ``rescore`` sends contacts the ledger holds
    for another file.
    """
    options.check()
    started = utcnow()
    if options.dry_run:
        return dry_run_result(
            table,
            fingerprint,
            options.scoring_type,
            started,
            prepared,
            options.cost_per_phone,
            settled,
        )
    if client is None or journal is None:
        raise UsageError("a client and a journal are needed to send")
    sender = _Sender(table, mapping, prepared, fingerprint, client, journal, options, hooks)
    sender.who = Sender(
        fingerprint,
        table.path.name,
        rescore=rescore,
        retry_unconfirmed=options.retry_unconfirmed,
    )
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
        self.who = Sender(fingerprint, table.path.name)
        self.progress = hooks.progress
        self.on_event = hooks.on_event or (lambda _msg: None)
        self.on_rows = hooks.on_rows
        self.sleep = hooks.sleep
        self.clock = hooks.clock
        self.mapping_fp = mapping_fingerprint(mapping)
        self.mapping_json = mapping_json(mapping)
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
                self.mapping_json,
            )
        )
        self.journal.clear_held(self.run_key)
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

    def _publish(self, b: BatchRecord, held: dict[int, str] | None = None) -> None:
        if self.on_rows is not None:
            self.on_rows(batch_row_results(self.prepared, b))
            if held:
                self.on_rows(held_row_results(self.prepared, held))

    def _guard_other_runs(self) -> None:
        """Refuse to charge the same file again under another mapping unless told to.

        The front door (:func:`csvscore.pipeline.prepare`) continues an earlier run with its
        own mapping, so this only stops a library caller that went around it.
        """
        if self.options.new_run:
            return
        for run, rows in self.journal.sent_runs():
            if run.run_key != self.run_key:
                raise UsageError(
                    f"This file was already sent on {run.created_at[:10]} ({rows} rows) with "
                    "another mapping or scoring type; nothing was sent. Continue with the mapping "
                    "used then (csvscore.prepare does so by default)."
                )

    def _recover(self) -> None:
        """Settle what a previous (crashed or stopped) run left behind."""
        for b in self.journal.batches(self.run_key):
            if b.state == jr.SENDING:
                # We were killed mid-request: the job may exist. Never resend blindly.
                self._settle_unknown(
                    b, "the previous run stopped while this batch was in flight", crashed=True
                )
        for b in self.journal.batches(self.run_key):
            if b.state == jr.FAILED:
                # Refused or never sent: nothing was charged, so sending again is safe.
                self.journal.replan(self.run_key, b.batch, jr.FAILED)
            elif b.state == jr.UNKNOWN and self.options.retry_unconfirmed:
                self.on_event(f"batch {b.batch}: resending on request (--retry-unconfirmed)")
                self.journal.replan(self.run_key, b.batch, jr.UNKNOWN, "resent on request")

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
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=SEND_THREADS) as pool:
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
                self.on_event(
                    "Stopping after the requests in flight... (their answers are being recorded)"
                )
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
            try:
                for extra in self._send_one(n):
                    work.put(extra)
            except StateError as exc:
                # The journal cannot record what happens: stop sending at once. A batch whose
                # answer could not be stored is still "sending" on disk: unknown, never resent.
                self._halt(exc)
                return

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

    def _identity_map(self, rows: list[int]) -> dict[int, str]:
        prepared = self.prepared
        return {i: prepared[i].identity for i in rows}

    def _send_one(self, n: int) -> list[int]:
        """Send one batch; return numbers of batches to add to the queue (after a split)."""
        b = self.journal.get_batch(self.run_key, n)
        try:
            rows, held = self.journal.start_sending(
                self.run_key, n, self._identity_map(b.row_indexes), self.who, sent_at=utcnow()
            )
        except BatchTaken:
            self.on_event(f"batch {n}: already taken by another run; not sent from this one")
            return []
        if held:
            self.on_event(
                f"batch {n}: {len(held)} contacts held back: another file sent them "
                "or is sending them now"
            )
        b = self.journal.get_batch(self.run_key, n)
        if not rows:
            self._publish(b, held)
            self._tick(len(held), Decimal(0))
            return []
        contacts = [self.prepared[i].payload for i in rows]
        try:
            resp = self.client.score(contacts, self.options.scoring_type)
        except OutcomeUnknown as exc:
            self._settle_unknown(b, exc.detail)
            self._tick(len(b.row_indexes) + len(held), Decimal(0))
            if exc.stops_run:  # a web page, not the API: every batch would meet it
                self._halt(exc)
        except BatchRefused as exc:
            if exc.too_large and len(rows) > 1:
                return self._split(b, exc.message)
            self._fail(b, f"TitanX refused the batch: {exc.message}", len(held), exc)
        except (AuthError, CreditsError) as exc:
            self._fail(b, str(exc), len(held), exc)
            self._halt(exc)
        except (RateLimited, NetworkError) as exc:
            # Never processed: refused by the rate limiter (or not sent at all: the quota is spent
            # for hours), or the connection was never made (the client raises NetworkError only
            # then; anything later is OutcomeUnknown). Nothing was charged and TitanX decided
            # nothing: the batch stays planned, its rows 'not sent' like the ones after it, and
            # the next run sends them. Batch after batch would only spend more quota.
            self.journal.replan(self.run_key, b.batch, jr.SENDING, f"not sent: {exc}")
            self._halt(exc)
        except UnexpectedResponse as exc:
            # A wrong address (404, a redirect, a page that is not the API): nothing was
            # processed, and every further batch would meet the same answer.
            self._fail(b, str(exc), len(held), exc)
            self._halt(exc)
        except ApiError as exc:
            # Still rate limited after the client's retries, or an answer that proves nothing
            # was processed (redirect, 404): not charged, so the batch can go again next run.
            self._fail(b, str(exc), len(held), exc)
        else:
            summary = response_summary(self.prepared, b, resp)
            rejected = {int(i) for i in summary["rejected"]}
            charged = [self.prepared[i].identity for i in rows if i not in rejected]
            self.journal.finish_answered(
                self.run_key,
                n,
                answered_at=utcnow(),
                job_id=resp.job_id or "",
                response=summary,
                charged=charged,
                file=self.who.file,
                message=summary.get("problem", ""),
            )
            if summary.get("problem"):
                self.on_event(f"batch {n}: {summary['problem']}")
            self._publish(self.journal.get_batch(self.run_key, n), held)
            self._tick(len(rows) + len(held), resp.credits_charged or Decimal(0))
        return []

    def _fail(
        self, b: BatchRecord, message: str, held: int = 0, exc: BaseException | None = None
    ) -> None:
        """Refused or never processed: not charged, so the next run sends it again."""
        self.journal.finish_failed(
            self.run_key, b.batch, answered_at=utcnow(), message=message, cause=plain_cause(exc)
        )
        self._tick(len(b.row_indexes) + held, Decimal(0))

    def _split(self, b: BatchRecord, message: str) -> list[int]:
        half = len(b.row_indexes) // 2
        new = self.journal.split(
            self.run_key,
            b.batch,
            [b.row_indexes[:half], b.row_indexes[half:]],
            f"too large: {message}",
        )
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

    def _tick(self, rows: int, credits: Decimal) -> None:
        with self._lock:
            self._done_batches += 1
            self._done_rows += rows
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

    def _settle_unknown(self, b: BatchRecord, detail: str, *, crashed: bool = False) -> None:
        """Record a batch with no answer: reconciled when TitanX's job list proves its job.

        ``crashed``: found in flight from a run that died, so when its request ended is unknown.
        """
        ended = "" if crashed else utcnow()
        if self._try_reconcile(b, detail, ended):
            return
        self.journal.finish_unknown(
            self.run_key,
            b.batch,
            answered_at=utcnow(),
            message=f"no answer ({detail})",
            ended_at=ended,
        )
        self.on_event(
            f"batch {b.batch}: sent, but no answer came back ({detail}); it may have been "
            "charged, so it is not resent"
        )

    def _try_reconcile(self, b: BatchRecord, detail: str, ended: str) -> bool:
        keys = {self.prepared[i].key for i in b.row_indexes}
        # Under the lock: two workers must not both claim the same job.
        with self._lock:
            job = find_job(self.client, self.journal, b, keys, self.on_event, ended=ended)
            if job is None:
                return False
            job_id = str(job.get("jobId", ""))
            total = to_int(job.get("totalRecordCount"))
            accepted = to_int(job.get("acceptedRecordCount"))
            response = {
                "job_id": job_id,
                "total": total,
                "accepted": accepted,
                "credits_charged": _text(job.get("creditsCharged")),
            }
            claimed = self.journal.finish_reconciled(
                self.run_key,
                b.batch,
                answered_at=utcnow(),
                job_id=job_id,
                response=response,
                all_accepted=total is not None and total == accepted,
                file=self.who.file,
                message=f"no answer ({detail}); its job {job_id} was found in TitanX's job list",
            )
        if not claimed:
            return False
        self.on_event(f"batch {b.batch}: no answer came back, but its job {job_id} was found")
        self._publish(self.journal.get_batch(self.run_key, b.batch))
        return True

    def _reconcile_pass(self) -> None:
        """Try once more for batches left unknown while other requests were still in flight."""
        for b in self.journal.batches(self.run_key):
            if b.state == jr.UNKNOWN and b.attempts and not self._stop.is_set():
                detail = b.message.removeprefix("no answer (").removesuffix(")")
                ended = str((b.response or {}).get("ended_at", b.answered_at))
                self._try_reconcile(b, detail, ended)

    # -- results ----------------------------------------------------------------------------

    def results(self, started: str) -> rs.RunResult:
        return run_result(
            self.table,
            self.fingerprint,
            self.options.scoring_type,
            started,
            self.prepared,
            self.journal.batches(self.run_key),
            held=self.journal.held(self.run_key),
            session=self.journal.session,
            stop_reason=self.stop_reason,
            stop_cause=plain_cause(self.stop_error, interrupted=self._stop.is_set()),
            stop_exit_code=int(self.stop_error.exit_code) if self.stop_error else 0,
        )


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
