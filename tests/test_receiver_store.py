"""The receiver's store: the same tests against SQLite and a real PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from csvscore.receiver.database import open_store
from csvscore.receiver.ingest import classify
from csvscore.receiver.store import DAY_MS, Retention, Store, StoreUnavailable, token_hash
from tests.receiver_support import envelope, scored_payload

T0 = 1_790_000_000_000


@pytest.fixture
def store(store_url: str) -> Store:
    s = open_store(store_url)
    yield s  # type: ignore[misc]
    s.close()


def _delivery(key: str, event_id: str, ts: int, lead: str = "P1", job: str | None = "J1"):
    body = envelope(scored_payload(key, job, lead), event_id, ts)
    return classify(body, "default", ts + 50)


def test_a_delivery_is_stored_once_whatever_the_number_of_duplicates(store: Store) -> None:
    d = _delivery("k1", "e1", T0)
    assert store.store_delivery(d).new
    assert not store.store_delivery(d).new
    assert not store.store_delivery(d).new
    s = store.status()
    assert (s.deliveries, s.duplicates, s.results) == (1, 2, 1)


def test_the_raw_body_is_kept_byte_for_byte(store: Store) -> None:
    body = b'{"not": "parseable as an envelope"}'
    store.store_delivery(classify(body, "default", T0))
    [(_, _, kept, _)] = store.deliveries_to_reprocess(["unparsed"])
    assert kept == body


def test_out_of_order_events_keep_the_newest(store: Store) -> None:
    store.store_delivery(_delivery("k1", "new", T0 + 5000, lead="P1"))
    store.store_delivery(_delivery("k1", "old", T0, lead="P3"))
    [result] = store.lookup(["k1"])["k1"]
    assert (result.lead_status, result.event_id) == ("P1", "new")
    assert set(result.statuses_seen) == {"P1", "P3"}


def test_results_are_kept_per_job(store: Store) -> None:
    store.store_delivery(_delivery("k1", "a", T0, job="J1"))
    store.store_delivery(_delivery("k1", "b", T0, job="J2"))
    assert sorted(r.job_id for r in store.lookup(["k1"])["k1"]) == ["J1", "J2"]


def test_lookup_in_chunks_beyond_the_variable_limit(store: Store) -> None:
    for i in range(0, 1200, 100):
        store.store_delivery(_delivery(f"k{i}", f"e{i}", T0))
    found = store.lookup([f"k{i}" for i in range(1200)])
    assert sorted(found) == sorted(f"k{i}" for i in range(0, 1200, 100))


def test_job_completed_newest_wins_and_counts_results(store: Store) -> None:
    def job(event_id: str, ts: int, status: str):
        body = envelope({"jobId": "J1", "jobStatus": status}, event_id, ts, "job.completed")
        return classify(body, "default", ts)

    store.store_delivery(_delivery("k1", "e1", T0))
    store.store_delivery(job("j-new", T0 + 10, "Finalized"))
    store.store_delivery(job("j-old", T0, "Not Enriched"))
    info = store.jobs(["J1", "J-unknown"])
    assert (info["J1"].completed, info["J1"].status, info["J1"].results_seen) == (
        True,
        "Finalized",
        1,
    )
    assert not info["J-unknown"].completed


def test_quarantine_is_bounded_oldest_dropped(store: Store) -> None:
    for i in range(7):
        store.quarantine("default", b"x%d" % i, "sig", "bad", max_rows=5, max_bytes=10**6)
    kept = store.quarantined()
    assert [q.body for q in kept] == [b"x2", b"x3", b"x4", b"x5", b"x6"]
    store.quarantine("default", b"y" * 100, None, "bad", max_rows=5, max_bytes=150)
    assert sum(len(q.body) for q in store.quarantined()) <= 150


def test_tokens_are_stored_hashed_and_can_be_revoked(store: Store, store_url: str) -> None:
    store.add_token("ann", "csr_secret-token-value")
    assert store.token_owner("csr_secret-token-value") == "ann"
    assert store.token_owner("csr_other") is None
    if store_url.startswith("sqlite"):
        path = store.path  # type: ignore[attr-defined]
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"csr_secret-token-value" not in raw
        assert token_hash("csr_secret-token-value").encode() in raw
    assert store.revoke_token("ann") and store.token_owner("csr_secret-token-value") is None


def test_retention_purges_bodies_then_results(store: Store) -> None:
    store.store_delivery(_delivery("k1", "e1", T0))
    counts = store.purge(Retention(bodies_days=30, results_days=180), now_ms=T0 + 31 * DAY_MS)
    assert counts.bodies == 1 and counts.results == 0
    assert store.lookup(["k1"])
    counts = store.purge(Retention(), now_ms=T0 + 181 * DAY_MS)
    assert counts.results == 1 and counts.deliveries == 1
    assert store.lookup(["k1"]) == {} and store.status().deliveries == 0


def test_erasing_one_contact(store: Store) -> None:
    store.store_delivery(_delivery("k1", "e1", T0))
    store.store_delivery(_delivery("k2", "e2", T0))
    counts = store.erase_contact("k1")
    assert (counts.results, counts.bodies) == (1, 1)
    assert list(store.lookup(["k1", "k2"])) == ["k2"]


def test_concurrent_deliveries_of_one_event_store_it_once(store: Store) -> None:
    d = _delivery("k1", "same", T0)
    outcomes: list[bool] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(store.store_delivery(d).new))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False] * 7 + [True]
    assert store.status().duplicates == 7


def test_a_locked_database_is_unavailable_not_an_error(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        store = open_store(store_url, busy_timeout_ms=100)
        blocker = sqlite3.connect(store.path, isolation_level=None)  # type: ignore[attr-defined]
        blocker.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        store = open_store(store_url, lock_timeout_ms=100)
        blocker = psycopg.connect(store_url)  # type: ignore[assignment]
        blocker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
    try:
        with pytest.raises(StoreUnavailable):
            store.store_delivery(_delivery("k1", "e1", T0))
    finally:
        blocker.rollback()
        blocker.close()
    assert store.store_delivery(_delivery("k1", "e1", T0)).new  # fine once the lock is gone
    store.close()
