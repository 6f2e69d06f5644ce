"""The whole loop on loopback: sandbox scores and signs, the receiver stores, the read API and
the matcher put every score on its row. Faults, a receiver that is down, and the commands."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from csvscore.api.client import TitanXClient
from csvscore.api.receiver import ReceiverClient, fetch_score_records
from csvscore.receiver.secretfile import SecretFile
from csvscore.receiver.subscriptions import create_subscription
from csvscore.sandbox.server import Sandbox
from csvscore.sandbox.webhooks import RUNNING, lead_status, phone_status
from csvscore.scores.identity import e164, name_hash
from csvscore.scores.match import NO_RESULT, SCORED, RunRow, SentPhone
from csvscore.scores.priority import load_priorities
from tests.receiver_support import RunningReceiver, make_receiver
from tests.support import phone, run_cli, write_contacts

TOKEN = "csr_test-read-token"
SLOTS = ("phone", "phone2")
COLUMNS = {"phone": "Phone Number", "phone2": "Mobile Phone"}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[RunningReceiver]:
    r = make_receiver(f"sqlite:///{tmp_path / 'receiver.db'}", tmp_path / "secrets.json", None)
    r.store.add_token("ops", TOKEN)
    with RunningReceiver(r) as rr:
        yield rr
    r.store.close()


def _subscribe(sb: Sandbox, rr: RunningReceiver, url: str | None = None) -> str:
    with TitanXClient(sb.api_key, sb.url) as client:
        created = create_subscription(client, url or rr.url + "/hooks/titanx", rr.receiver.secrets)
    assert created.webhook_id
    return created.webhook_id


def _contacts(n: int, start: int = 0) -> list[dict[str, str]]:
    return [
        {
            "customerContactId": f"row-{i}",
            "firstName": f"Ann{i}",
            "lastName": "Lee",
            "phone": str(e164(phone(i))),
            "phone2": str(e164(phone(i + 37, mobile=True))),
        }
        for i in range(start, start + n)
    ]


def _send(sb: Sandbox, contacts: list[dict[str, str]]) -> str:
    with TitanXClient(sb.api_key, sb.url) as client:
        return str(client.score(contacts).job_id)


def _rows(sb: Sandbox) -> list[RunRow]:
    """What the journal will know of each row sent (phase 2 reads it from there)."""
    rows = []
    for job in sb.state.jobs:
        record = next(r for r in sb.state.score_requests if r.job_id == job.job_id)
        for c in record.contacts or []:
            rows.append(
                RunRow(
                    row_index=len(rows),
                    key=c["customerContactId"],
                    job_id=job.job_id,
                    sent_at=datetime.now(timezone.utc) - timedelta(minutes=1),
                    name_hash=name_hash(c["firstName"], c["lastName"]),
                    phones=tuple(
                        SentPhone(COLUMNS[s], i + 1, c[s], c[s])
                        for i, s in enumerate(SLOTS)
                        if c.get(s)
                    ),
                )
            )
    return rows


def _fetch(rr: RunningReceiver, rows: list[RunRow], now: datetime | None = None) -> list[Any]:
    """What phase 2 will call: fetch through the read API, then match."""
    with ReceiverClient(rr.url, TOKEN) as client:
        return fetch_score_records(client, rows, load_priorities(), now=now)


def _expected(c: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    statuses = {COLUMNS[s]: phone_status(c[s]) for s in SLOTS}
    return lead_status(list(statuses.values())), statuses


def test_the_loop_end_to_end_every_score_on_its_row(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver
) -> None:
    sb = make_sandbox()
    _subscribe(sb, receiver)
    contacts = _contacts(25)
    _send(sb, contacts[:20])
    _send(sb, contacts[20:])
    assert sb.state.webhooks.worker.wait_idle(30)
    records = _fetch(receiver, _rows(sb))
    by_key = {c["customerContactId"]: c for c in contacts}
    assert len(records) == 25
    for rec in records:
        lead, statuses = _expected(by_key[rec.key])
        assert (rec.state, rec.lead_status, dict(rec.phone_statuses)) == (SCORED, lead, statuses)
        assert rec.match_method == "key+job" and rec.note == ""
    assert all(j.status == "Finalized" for j in sb.state.jobs)
    assert receiver.receiver.store.status().jobs_completed == 2


def test_a_job_is_processing_until_scored_then_finalized_or_not_enriched(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver
) -> None:
    sb = make_sandbox()
    _subscribe(sb, receiver)
    worker = sb.state.webhooks.worker
    worker.pause()
    job_id = _send(sb, _contacts(2))
    bad = dict(_contacts(1, 50)[0], phone="123", phone2="")  # rejected: not enriched
    empty_job = _send(sb, [bad])
    with TitanXClient(sb.api_key, sb.url) as client:
        assert client.get_job(job_id)["status"] == RUNNING
        worker.resume()
        assert worker.wait_idle(30)
        assert client.get_job(job_id)["status"] == "Finalized"
        assert client.get_job(empty_job)["status"] == "Not Enriched"
    jobs = receiver.receiver.store.jobs([job_id, empty_job])
    assert jobs[empty_job].status == "Not Enriched" and jobs[job_id].results_seen == 2


def test_duplicates_reordering_early_completion_and_503_then_ok_lose_nothing(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver
) -> None:
    sb = make_sandbox(webhook_faults=["duplicate:2", "reorder", "completed_early", "503_then_ok:3"])
    _subscribe(sb, receiver)
    _send(sb, _contacts(6))
    worker = sb.state.webhooks.worker
    assert worker.wait_idle(30)
    assert worker.attempts[0].event_type == "job.completed"  # before every contact event
    assert sum(a.faked for a in worker.attempts) >= 2  # contacts 3 and 6 (6 is also doubled)
    s = receiver.receiver.store.status()
    assert (s.deliveries, s.results, s.jobs_completed) == (7, 6, 1)
    # Every attempt that reached the receiver beyond the first of each event is a duplicate.
    reached = sum(a.status is not None for a in worker.attempts)
    assert s.duplicates == reached - 7 >= 3 + 2
    assert all(r.state == SCORED for r in _fetch(receiver, _rows(sb)))


def test_missing_results_foreign_contacts_and_a_bad_signature(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver
) -> None:
    sb = make_sandbox(webhook_faults=["never:3", "foreign:2", "bad_signature:4"])
    _subscribe(sb, receiver)
    _send(sb, _contacts(6))
    assert sb.state.webhooks.worker.wait_idle(30)
    store = receiver.receiver.store
    s = store.status()
    assert s.quarantined == 1 and s.results == 3 + 2  # rows 1, 2, 5 and two app contacts
    rows = _rows(sb)
    states = {r.key: r.state for r in _fetch(receiver, rows)}
    assert [states[f"row-{i}"] for i in range(6)] == [
        SCORED,
        SCORED,
        "pending",
        "pending",
        SCORED,
        "pending",
    ]
    later = datetime.now(timezone.utc) + timedelta(hours=1)  # past the grace period
    states = {r.key: r.state for r in _fetch(receiver, rows, now=later)}
    assert [states[f"row-{i}"] for i in (2, 3, 5)] == [NO_RESULT] * 3


def test_renumbered_phones_without_job_ids_still_land_on_their_columns(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver
) -> None:
    sb = make_sandbox(webhook_faults=["renumber", "no_job_id"])
    _subscribe(sb, receiver)
    contacts = _contacts(4)
    _send(sb, contacts)
    assert sb.state.webhooks.worker.wait_idle(30)
    for rec, c in zip(_fetch(receiver, _rows(sb)), contacts, strict=True):
        lead, statuses = _expected(c)
        assert (rec.state, rec.match_method, rec.lead_status) == (SCORED, "key", lead)
        assert dict(rec.phone_statuses) == statuses


def test_the_receiver_down_while_the_sandbox_retries_loses_nothing(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # A bound socket that does not listen: connections are refused, and the port stays ours.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    r = make_receiver(f"sqlite:///{tmp_path / 'down.db'}", tmp_path / "down.json", None)
    sb = make_sandbox()
    with TitanXClient(sb.api_key, sb.url) as client:
        create_subscription(client, f"http://127.0.0.1:{port}/hooks/titanx", r.secrets)
    _send(sb, _contacts(5))
    worker = sb.state.webhooks.worker
    assert worker.wait_for(lambda log: sum(a.status is None for a in log) >= 12, 30)
    assert r.store.status().deliveries == 0
    with RunningReceiver(r, sock=sock):
        assert worker.wait_idle(60)
    assert worker.counts.given_up == 0
    s = r.store.status()
    assert (s.deliveries, s.results, s.jobs_completed) == (6, 5, 1)
    r.store.close()


@pytest.mark.parametrize(("style", "derivation"), [("whsec", "base64"), ("wh_sk", "stripped")])
def test_the_secret_format_and_key_derivation_are_found_and_pinned(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver, style: str, derivation: str
) -> None:
    sb = make_sandbox(webhook_secret_style=style, webhook_key_derivation=derivation)
    _subscribe(sb, receiver)
    _send(sb, _contacts(3))
    assert sb.state.webhooks.worker.wait_idle(30)
    store = receiver.receiver.store
    assert store.status().results == 3 and list(store.pins().values()) == [derivation]


def test_webhook_commands_keep_the_secret_off_the_terminal(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver, env: dict[str, str]
) -> None:
    sb = make_sandbox()
    secrets_file = receiver.receiver.secrets.path
    environ = dict(env, TITANX_API_KEY=sb.api_key, TITANX_BASE_URL=sb.url)
    hook = receiver.url + "/hooks/titanx"
    created = run_cli(["webhook", "create", "--url", hook, "--secrets", secrets_file], environ)
    assert created.code == 0, created.err
    [sub] = sb.state.webhooks.active()
    assert sub.secret not in created.out + created.err
    assert sub.secret in secrets_file.read_text()
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert run_cli(["webhook", "disable", sub.id], environ).code == 0
    assert sb.state.webhooks.subscription(sub.id).status == "inactive"  # type: ignore[union-attr]
    assert run_cli(["webhook", "enable", sub.id], environ).code == 0
    assert sb.state.webhooks.subscription(sub.id).status == "active"  # type: ignore[union-attr]
    tested = run_cli(["webhook", "test", "--url", hook, "--secrets", secrets_file], environ)
    assert tested.code == 0 and "HTTP 200 stored" in tested.out
    assert sub.secret not in tested.out + tested.err
    assert receiver.receiver.store.status().results == 1
    SecretFile(secrets_file).remove("default", SecretFile(secrets_file).endpoints()[0].fingerprint)
    failed = run_cli(["webhook", "test", "--url", hook, "--secrets", secrets_file], environ)
    assert failed.code == 2 and "no webhook secret" in failed.err


def test_a_real_score_run_through_the_cli_gets_its_scores_back(
    make_sandbox: Callable[..., Sandbox],
    receiver: RunningReceiver,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    sb = make_sandbox()
    _subscribe(sb, receiver)
    extra = [
        ["Dup0", "Lee", "", phone(0), "", "", ""],
        ["Ann0", "Lee", "", phone(0), phone(37, mobile=True), "", ""],
    ]
    src = write_contacts(
        tmp_path / "export.csv", 8, [*extra, ["", "NoFirst", "", phone(90), "", "", ""]]
    )
    environ = dict(env, TITANX_API_KEY=sb.api_key)
    run = run_cli(
        ["score", src, "--base-url", sb.url, "--yes", "-o", tmp_path / "out.xlsx"], environ
    )
    assert run.code == 0, run.err
    assert sb.state.webhooks.worker.wait_idle(30)
    rows = _rows(sb)
    assert len(rows) == 9  # 8 + Dup0; the exact duplicate and the row without a first name not sent
    for rec, row in zip(_fetch(receiver, rows), rows, strict=True):
        assert rec.state == SCORED and rec.lead_status == lead_status(
            [phone_status(p.e164 or "") for p in row.phones]
        )
