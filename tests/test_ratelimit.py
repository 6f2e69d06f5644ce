"""RateLimitState.reserve: slots counted per server window, merged with the answers' headers.

Unit tests run on a fake clock (``fake_clock`` starts at 1_700_000_000.25, so the current
per-second window ends at 1_700_000_001); the last test runs the real pool of workers against a
rate-limited sandbox on 127.0.0.1. (Parsing and ``delay_before_next`` are tested in
test_client.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from csvscore.api.ratelimit import AFTER_RESET, RateLimitState
from csvscore.pipeline import ScoreRequest, score_file
from csvscore.sandbox.server import Sandbox
from csvscore.scoring.submit import ScoreOptions
from tests.support import write_contacts

T0 = 1_700_000_000  # the fake clock's whole second
WAIT_NEXT = 0.75 + AFTER_RESET  # from T0 + 0.25 to just after the next window starts


def second(remaining: int, reset: float, limit: int | None = 10) -> dict[str, str]:
    headers = {
        "X-RateLimit-Remaining-Second": str(remaining),
        "X-RateLimit-Reset-Second": str(reset),
    }
    if limit is not None:
        headers["X-RateLimit-Limit-Second"] = str(limit)
    return headers


def reserve_many(state: RateLimitState, now: float, n: int) -> list[float]:
    return [round(state.reserve(now), 6) for _ in range(n)]


def test_the_first_request_goes_at_once_and_unlimited_tiers_add_no_delay(fake_clock: Any) -> None:
    state = RateLimitState()
    assert state.reserve(fake_clock()) == 0.0  # nothing known yet
    state.update({"Content-Type": "application/json"}, fake_clock())  # no rate-limit headers
    assert reserve_many(state, fake_clock(), 50) == [0.0] * 50


def test_reservations_use_up_the_window_then_wait_for_the_next(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(2, T0 + 1, limit=3), fake_clock())
    now = fake_clock()
    # 2 left in this window; the next one allows 3, the one after 3 again.
    assert reserve_many(state, now, 6) == [0.0, 0.0] + [round(WAIT_NEXT, 6)] * 3 + [
        round(WAIT_NEXT + 1, 6)
    ]


def test_concurrent_workers_never_share_the_last_slot(fake_clock: Any) -> None:
    state = RateLimitState()
    state.reserve(fake_clock())
    state.update(second(9, T0 + 1), fake_clock())  # the server counted that one: 9 left
    now = fake_clock()
    start = threading.Barrier(32)
    delays: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        delay = state.reserve(now)
        with lock:
            delays.append(round(delay, 6))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {d: delays.count(d) for d in set(delays)}
    assert counts == {0.0: 9, round(WAIT_NEXT, 6): 10, round(WAIT_NEXT + 1, 6): 10,
                      round(WAIT_NEXT + 2, 6): 3}  # fmt: skip


def test_a_new_windows_headers_keep_the_requests_still_in_flight(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(0, T0 + 1, limit=5), fake_clock())
    fake_clock.advance(0.77)  # into the next window: T0 + 1.02
    assert reserve_many(state, fake_clock(), 3) == [0.0, 0.0, 0.0]
    # The first of the three is answered: the server has counted 1 of them (4 left). Replacing
    # our count with that figure would allow 4 more; 2 are left.
    state.update(second(4, T0 + 2, limit=5), fake_clock())
    assert state.tiers()["second"].remaining == 2
    assert reserve_many(state, fake_clock(), 3) == [0.0, 0.0, round(0.98 + AFTER_RESET, 6)]
    # The other answers arrive, late and out of order: nothing changes.
    state.update(second(2, T0 + 2, limit=5), fake_clock())
    state.update(second(3, T0 + 2, limit=5), fake_clock())
    assert state.tiers()["second"].remaining == 0


def test_requests_sent_before_the_first_answer_are_counted_when_it_comes(fake_clock: Any) -> None:
    state = RateLimitState()
    assert reserve_many(state, fake_clock(), 4) == [0.0] * 4
    state.update(second(9, T0 + 1), fake_clock())  # the server had counted only the first
    assert state.tiers()["second"].remaining == 6
    assert reserve_many(state, fake_clock(), 7) == [0.0] * 6 + [round(WAIT_NEXT, 6)]


def test_others_using_the_same_key_show_in_the_headers(fake_clock: Any) -> None:
    state = RateLimitState()
    state.reserve(fake_clock())
    state.update(second(3, T0 + 1), fake_clock())  # 7 counted, only 1 of them ours
    assert reserve_many(state, fake_clock(), 4) == [0.0] * 3 + [round(WAIT_NEXT, 6)]


def test_note_sent_counts_retries_but_not_the_reserved_request_twice(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(5, T0 + 1), fake_clock())
    state.reserve(fake_clock())
    state.note_sent()  # the client sending the request reserved above
    assert state.tiers()["second"].remaining == 4
    state.note_sent()  # a retry the client sends on its own
    state.note_sent(fake_clock())
    assert state.tiers()["second"].remaining == 2


def test_a_send_just_before_the_windows_end_counts_in_the_next_too(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(9, T0 + 1, limit=2), fake_clock())  # limit 2 (remaining distrusted)
    fake_clock.advance(0.73)  # 20 ms before the window ends: may reach the server after it
    assert state.reserve(fake_clock()) == 0.0
    fake_clock.advance(0.04)  # the next window
    assert reserve_many(state, fake_clock(), 2) == [0.0, round(0.98 + AFTER_RESET, 6)]


def test_the_minute_tier_holds_back_once_it_is_used_up(fake_clock: Any) -> None:
    state = RateLimitState()
    headers = {
        "X-RateLimit-Limit-Minute": "3",
        "X-RateLimit-Remaining-Minute": "3",
        "X-RateLimit-Reset-Minute": str(T0 + 40),
    }
    state.update(headers | second(10, T0 + 1), fake_clock())
    assert reserve_many(state, fake_clock(), 4) == [0.0] * 3 + [round(39.75 + AFTER_RESET, 6)]


def test_an_exhausted_day_waits_for_its_reset(fake_clock: Any) -> None:
    state = RateLimitState()
    day = {
        "X-RateLimit-Limit-Day": "10000",
        "X-RateLimit-Remaining-Day": "0",
        "X-RateLimit-Reset-Day": str(T0 + 6400),
    }
    state.update(day, fake_clock())
    assert state.reserve(fake_clock()) == pytest.approx(6399.75 + AFTER_RESET)


def test_nonsense_resets_are_not_waited_for(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(0, T0 + 100), fake_clock())  # a per-second window 100 s away
    state.update({"X-RateLimit-Remaining-Minute": "0"}, fake_clock())  # no reset at all
    assert reserve_many(state, fake_clock(), 3) == [0.0] * 3


def test_remaining_without_limit_still_paces(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(2, T0 + 1, limit=None), fake_clock())
    assert reserve_many(state, fake_clock(), 3) == [0.0, 0.0, round(WAIT_NEXT, 6)]


def test_windows_that_move_are_learnt_again(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(second(9, T0 + 1, limit=2), fake_clock())
    assert state.reserve(fake_clock()) == 0.0
    fake_clock.advance(0.3)  # T0 + 0.55
    # The server's windows now end half-way through ours (not a fixed grid): follow them, and
    # count the request above in the new window it may have fallen in.
    state.update(second(1, T0 + 1.5, limit=2), fake_clock())
    assert state.tiers()["second"].reset == T0 + 1.5
    assert state.tiers()["second"].remaining == 1
    wait = round(0.95 + AFTER_RESET, 6)
    assert reserve_many(state, fake_clock(), 3) == [0.0, wait, wait]


# -- the real pool against the sandbox -----------------------------------------------------------


def test_the_worker_pool_stays_under_the_sandboxs_limit(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(rate_per_second=5, latency=0.05)
    src = write_contacts(tmp_path / "c.csv", 200)  # 40 requests of 5 contacts
    request = ScoreRequest(
        output=tmp_path / "out.xlsx",
        base_url=sb.url,
        options=ScoreOptions(batch_size=5, workers=4),
    )
    outcome = score_file(src, request, env=dict(environ, TITANX_API_KEY=sb.api_key))
    assert outcome.result.summary.accepted == 200
    assert outcome.result.summary.failed == 0
    statuses = [r.status for r in sb.state.score_requests]
    assert statuses.count(200) == 40
    assert statuses.count(429) <= 2, statuses
