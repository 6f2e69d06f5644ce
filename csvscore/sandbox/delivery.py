"""The sandbox's webhook sender: signs nothing itself, delivers and retries like TitanX says.

Standard library only (``http.client``), so the simulator stays independent of csvscore's own
HTTP code. A delivery is retried on 408, 429, any 5xx and connection errors or timeouts, with
exponential backoff compressed from TitanX's "up to 3 days" to seconds; any other answer ends
it. Failed deliveries wait in a schedule while later ones go out, so one dead event does not
hold up the rest, as with a real sender.

Tests drive it without sleeping: :meth:`DeliveryWorker.wait_idle` blocks until nothing is queued,
scheduled or in flight, and :meth:`DeliveryWorker.wait_for` until a condition on the attempt log
holds.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

RETRY_STATUSES = frozenset({408, 429})


def should_retry(status: int | None) -> bool:
    """TitanX's documented rule: 408, 429 and 5xx are retried (and, we assume, no answer)."""
    return status is None or status in RETRY_STATUSES or 500 <= status <= 599


@dataclass
class Outgoing:
    """One signed delivery. ``fake_503`` makes the first answer count as a 503 (fault)."""

    url: str
    body: bytes
    headers: dict[str, str]
    event_id: str
    event_type: str
    key: str | None = None
    job_id: str | None = None
    fake_503: bool = False
    attempts: int = 0


@dataclass(frozen=True)
class Attempt:
    """One try: the HTTP status answered (None: no answer) and what went wrong, if anything."""

    event_id: str
    event_type: str
    url: str
    attempt: int
    status: int | None
    error: str | None = None
    faked: bool = False


@dataclass
class RetryPolicy:
    base: float = 0.05  # seconds before the first retry
    cap: float = 1.0
    max_attempts: int = 40
    timeout: float = 10.0  # TitanX's documented answer budget

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, attempts - 1))


@dataclass
class _Counts:
    delivered: int = 0
    given_up: int = 0
    refused: int = 0  # answered with a status that is not retried (401, 404...)


class DeliveryWorker:
    """A thread delivering :class:`Outgoing` items in order, retrying on schedule."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._cond = threading.Condition()
        self._ready: deque[Outgoing | _Task] = deque()
        self._later: list[tuple[float, int, Outgoing]] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._closed = False
        self._paused = False
        self.attempts: list[Attempt] = []
        self.counts = _Counts()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    # -- for the sandbox -------------------------------------------------------------------------

    def submit(self, items: list[Outgoing]) -> None:
        with self._cond:
            self._ready.extend(items)
            self._cond.notify_all()

    def pause(self) -> None:
        """Hold deliveries (queued ones wait) until :meth:`resume`."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def run_task(self, task: Callable[[], list[Outgoing]]) -> None:
        """Run ``task`` on the worker thread (the scorer), then deliver what it returns."""
        with self._cond:
            self._ready.append(_Task(task))
            self._cond.notify_all()

    # -- for tests -------------------------------------------------------------------------------

    def idle(self) -> bool:
        with self._cond:
            return self._idle()

    def _idle(self) -> bool:
        return not self._ready and not self._later and not self._in_flight

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued, scheduled for retry or in flight; False on timeout."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def wait_for(self, predicate: Callable[[list[Attempt]], bool], timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.attempts), timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(15)

    # -- the loop --------------------------------------------------------------------------------

    def _next(self) -> Outgoing | _Task | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                if not self._paused:
                    if self._later and self._later[0][0] <= now:
                        self._in_flight += 1
                        return heapq.heappop(self._later)[2]
                    if self._ready:
                        self._in_flight += 1
                        return self._ready.popleft()
                wait = None
                if self._later and not self._paused:
                    wait = max(0.0, self._later[0][0] - now)
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                if isinstance(item, _Task):
                    produced = item.fn()
                    with self._cond:
                        self._ready.extend(produced)
                else:
                    self._deliver(item)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, item: Outgoing) -> None:
        item.attempts += 1
        status, error = self._post(item)
        faked = False
        if item.fake_503 and item.attempts == 1 and status is not None:
            status, faked = 503, True  # delivered, but the sender saw a gateway's 503
        with self._cond:
            self.attempts.append(
                Attempt(
                    item.event_id, item.event_type, item.url, item.attempts, status, error, faked
                )
            )
            if status is not None and 200 <= status < 300:
                self.counts.delivered += 1
            elif should_retry(status) and item.attempts < self.policy.max_attempts:
                due = time.monotonic() + self.policy.delay(item.attempts)
                heapq.heappush(self._later, (due, next(self._seq), item))
            elif should_retry(status):
                self.counts.given_up += 1
            else:
                self.counts.refused += 1

    def _post(self, item: Outgoing) -> tuple[int | None, str | None]:
        parts = urlsplit(item.url)
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = conn_cls(parts.hostname or "", parts.port, timeout=self.policy.timeout)
        try:
            conn.connect()
            # Headers and body go out in two writes: without this, Nagle plus the receiver's
            # delayed ACK add ~40 ms to each delivery.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.request("POST", path, body=item.body, headers=item.headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status, None
        except (OSError, http.client.HTTPException) as exc:
            return None, type(exc).__name__
        finally:
            with contextlib.suppress(Exception):
                conn.close()


@dataclass
class _Task:
    fn: Callable[[], list[Outgoing]]
