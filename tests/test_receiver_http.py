"""Every status code of the receiver over real HTTP (uvicorn on 127.0.0.1), both backends."""

from __future__ import annotations

import http.client
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from csvscore.api.receiver import ReceiverClient, ReceiverError
from csvscore.api.webhooks import sign
from csvscore.errors import ConfigError
from csvscore.receiver.database import open_store
from csvscore.receiver.ingest import Receiver
from csvscore.receiver.secretfile import SecretFile
from csvscore.receiver.serve import ServeOptions, make_server
from tests.receiver_support import (
    SECRET,
    RunningReceiver,
    deliver,
    envelope,
    make_receiver,
    request,
    scored_payload,
)


def _now() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def running(store_url: str, tmp_path: Path) -> Iterator[RunningReceiver]:
    with RunningReceiver(make_receiver(store_url, tmp_path / "secrets.json")) as rr:
        yield rr
    rr.receiver.store.close()


def test_200_stored_then_200_duplicate_stored_once(running: RunningReceiver) -> None:
    body = envelope(scored_payload("k1"), "e1", _now())
    first, second = deliver(running.url, body), deliver(running.url, body)
    assert (first.status, first.body["status"]) == (200, "stored")
    assert (second.status, second.body["status"]) == (200, "duplicate")
    s = running.receiver.store.status()
    assert (s.deliveries, s.duplicates) == (1, 1)


def test_200_and_kept_aside_for_a_signed_body_it_cannot_parse(running: RunningReceiver) -> None:
    reply = deliver(running.url, b"\x00 definitely not json")
    assert (reply.status, reply.body["status"]) == (200, "kept")
    assert running.receiver.store.status().by_state == {"unparsed": 1}


def test_401_without_a_signature_and_the_body_is_quarantined(running: RunningReceiver) -> None:
    body = envelope(scored_payload("k1"), "e1", _now())
    reply = deliver(running.url, body, secret=None)
    assert reply.status == 401
    [q] = running.receiver.store.quarantined()
    assert (q.body, q.reason) == (body, "no signature")
    assert running.receiver.store.status().deliveries == 0


def test_401_for_a_wrong_signature(running: RunningReceiver) -> None:
    body = envelope(scored_payload("k1"), "e1", _now())
    assert deliver(running.url, body, secret="whsec_wrong").status == 401
    assert running.receiver.store.quarantined()[0].reason == "signature does not verify"


def test_401_for_an_endpoint_without_a_secret_yet(running: RunningReceiver) -> None:
    body = envelope(scored_payload("k1"), "e1", _now())
    assert deliver(running.url, body, path="/hooks/titanx/alice").status == 401
    assert running.receiver.store.quarantined()[0].reason == "no secret for this endpoint"


def test_413_over_one_mib_announced(running: RunningReceiver) -> None:
    assert deliver(running.url, b"x" * (1024 * 1024 + 1)).status == 413
    assert running.receiver.store.status().quarantined == 0


def test_413_over_one_mib_streamed_without_content_length(running: RunningReceiver) -> None:
    parts = urlsplit(running.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    chunks = (b"y" * 65536 for _ in range(20))  # 1.25 MiB, chunked
    conn.request("POST", "/hooks/titanx", body=chunks, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()


def test_exactly_one_mib_is_accepted(running: RunningReceiver) -> None:
    body = b" " * (1024 * 1024)
    assert deliver(running.url, body).status == 200


def test_503_when_the_database_is_locked_and_200_once_free(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("sqlite"):
        store = open_store(store_url, busy_timeout_ms=200)
        blocker = sqlite3.connect(store.path, isolation_level=None)  # type: ignore[attr-defined]
        blocker.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        store = open_store(store_url, lock_timeout_ms=200)
        blocker = psycopg.connect(store_url)  # type: ignore[assignment]
        blocker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
    secrets = SecretFile(tmp_path / "secrets.json")
    secrets.add("default", SECRET)
    body = envelope(scored_payload("k1"), "e1", _now())
    with RunningReceiver(Receiver(store, secrets)) as rr:
        started = time.monotonic()
        reply = deliver(rr.url, body)
        assert reply.status == 503 and time.monotonic() - started < 10
        blocker.rollback()
        blocker.close()
        assert deliver(rr.url, body).body["status"] == "stored"
    store.close()


def test_a_quarantined_delivery_is_stored_once_the_secret_is_fixed(
    running: RunningReceiver,
) -> None:
    body = envelope(scored_payload("k9"), "e9", _now())
    real = "whsec_the-secret-titanx-really-uses"
    assert deliver(running.url, body, secret=real).status == 401
    running.receiver.secrets.add("default", real)  # the admin adds the right secret
    released, left = running.receiver.reverify()
    assert (released, left) == (1, 0)
    assert running.receiver.store.lookup(["k9"])["k9"][0].event_id == "e9"
    assert running.receiver.store.status().quarantined == 0
    assert deliver(running.url, body, secret=real).body["status"] == "duplicate"


def test_rotation_old_and_new_secret_both_verify(running: RunningReceiver) -> None:
    running.receiver.secrets.add("default", "wh_sk_newSecretAfterRotation0123456789")
    for i, secret in enumerate((SECRET, "wh_sk_newSecretAfterRotation0123456789")):
        body = envelope(scored_payload(f"r{i}"), f"r{i}", _now())
        assert deliver(running.url, body, secret=secret).status == 200


def test_the_first_derivation_that_verifies_is_pinned(running: RunningReceiver) -> None:
    body = envelope(scored_payload("k1"), "e1", _now())
    header = sign(body, SECRET, "base64")
    assert deliver(running.url, body, signature=header).status == 200
    assert list(running.receiver.store.pins().values()) == ["base64"]
    other = envelope(scored_payload("k2"), "e2", _now())
    assert deliver(running.url, other, signature=sign(other, SECRET, "utf8")).status == 401


def test_named_endpoints_have_their_own_secrets(running: RunningReceiver) -> None:
    running.receiver.secrets.add("alice", "whsec_alices-own-secret")
    body = envelope(scored_payload("a1"), "a1", _now())
    assert (
        deliver(running.url, body, "whsec_alices-own-secret", "/hooks/titanx/alice").status == 200
    )
    assert deliver(running.url, body, "whsec_alices-own-secret").status == 401
    assert running.receiver.store.status().by_endpoint == {"alice": 1}


def test_405_for_a_get_on_a_hook(running: RunningReceiver) -> None:
    assert request(running.url, "GET", "/hooks/titanx").status == 405


def test_healthz_needs_no_token_and_the_read_api_does(running: RunningReceiver) -> None:
    assert request(running.url, "GET", "/healthz").body["ok"] is True
    assert request(running.url, "GET", "/v1/status").status == 401
    bad = {"Authorization": "Bearer csr_nope"}
    assert request(running.url, "GET", "/v1/status", headers=bad).status == 401
    running.receiver.store.add_token("ann", "csr_anns-token")
    good = {"Authorization": "Bearer csr_anns-token"}
    assert request(running.url, "GET", "/v1/status", headers=good).status == 200
    assert request(running.url, "POST", "/v1/results/lookup", b"[]", good).status == 400


def test_the_cli_client_reads_scores_and_jobs_in_chunks(running: RunningReceiver) -> None:
    running.receiver.store.add_token("ann", "csr_anns-token")
    for i in range(3):
        deliver(running.url, envelope(scored_payload(f"k{i}", "J1"), f"e{i}", _now()))
    done = envelope({"jobId": "J1", "jobStatus": "Finalized"}, "jc", _now(), "job.completed")
    deliver(running.url, done)
    keys = [f"k{i}" for i in range(2500)]  # three lookups of at most 1000
    with ReceiverClient(running.url, "csr_anns-token") as client:
        found = client.lookup(keys)
        jobs = client.jobs(["J1", "J2"])
    assert sorted(found) == ["k0", "k1", "k2"] and found["k1"][0].lead_status == "P1"
    assert jobs["J1"].completed and jobs["J1"].results_seen == 3 and not jobs["J2"].completed
    with ReceiverClient(running.url, "csr_wrong") as client, pytest.raises(ReceiverError):
        client.lookup(["k0"])


def test_a_public_bind_is_refused_without_secret_and_tokens(tmp_path: Path) -> None:
    receiver = make_receiver(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "s.json", secret=None)
    with pytest.raises(ConfigError, match=r"webhook secret.*read token"):
        make_server(receiver, ServeOptions(host="0.0.0.0", port=0))
    receiver.secrets.add("default", SECRET)
    with pytest.raises(ConfigError, match="read token"):
        make_server(receiver, ServeOptions(host="0.0.0.0", port=0))
    receiver.store.add_token("ann", "csr_x")
    _, sock = make_server(receiver, ServeOptions(host="0.0.0.0", port=0))
    sock.close()
    receiver.store.close()
