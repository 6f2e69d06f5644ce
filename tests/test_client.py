"""The TitanX client against the sandbox over real HTTP, plus its pure helpers.

Waits go through a fake clock (``sleep=fake_clock.sleep``), so the requested sleeps are
recorded and asserted, and nothing really waits.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from csvscore._version import __version__
from csvscore.api.client import TitanXClient, is_handshake_failure
from csvscore.api.errors import BatchRefused, JobNotFound, OutcomeUnknown, RateLimited
from csvscore.api.ratelimit import RateLimitState, parse_retry_after, parse_tiers, wait_after_429
from csvscore.api.responses import NO_REASON, message_from_body, parse_score_response
from csvscore.errors import (
    ApiError,
    AuthError,
    ConfigError,
    CreditsError,
    CsvscoreError,
    ExitCode,
    NetworkError,
)
from csvscore.sandbox.server import Sandbox

PHONE = "415-555-0134"
PHONE2 = "(212) 555-0199"
SECRET = "sk-live-Zq8TOPSECRET-7c41"


def contact(cid: str, **fields: Any) -> dict[str, Any]:
    return {
        "firstName": "Ada",
        "lastName": "Example",
        "phone": PHONE,
        "customerContactId": cid,
        **fields,
    }


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def connect(fake_clock: Any, events: list[str]) -> Iterator[Callable[..., TitanXClient]]:
    """``connect(sandbox_or_url, **kwargs)``: a client with the fake clock, closed at teardown."""
    clients: list[TitanXClient] = []

    def factory(target: Sandbox | str, **kwargs: Any) -> TitanXClient:
        url = target if isinstance(target, str) else target.url
        key = kwargs.pop("api_key", None) or (SECRET if isinstance(target, str) else target.api_key)
        options: dict[str, Any] = {
            "sleep": fake_clock.sleep,
            "clock": fake_clock,
            "rng": random.Random(1),
            "on_event": events.append,
            "read_timeout": 5,
        }
        options.update(kwargs)
        client = TitanXClient(key, url, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def score_posts(sb: Sandbox) -> int:
    return len(sb.state.score_requests)


# -- success -------------------------------------------------------------------------------------


def test_score_parses_a_success_with_decimal_credits(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(credits="100")
    client = connect(sb)
    result = client.score(
        [contact("r1"), contact("r2", phone2=PHONE2), contact("r3", lastName="")], "titan"
    )
    assert result.job_id == sb.state.jobs[0].job_id
    assert (result.total, result.accepted, result.phone_count) == (3, 2, 3)
    assert result.credits_charged == Decimal("0.15")
    assert result.credits_remaining == Decimal("99.85")
    assert result.cost_per_phone == Decimal("0.05")
    assert isinstance(result.credits_charged, Decimal)
    [rejection] = result.rejected
    assert rejection.customer_contact_id == "r3"
    assert rejection.reason == "lastName is required"
    assert rejection.record == contact("r3", lastName="")
    assert result.raw["data"]["jobId"] == result.job_id
    assert sb.state.jobs[0].scoring_type == "titan"


@pytest.mark.parametrize("reason_key", ["reason", "rejectionReason", "message", "error", "errors"])
def test_rejections_are_matched_by_row_key_whatever_the_reason_key_and_order(
    make_sandbox: Any, connect: Any, reason_key: str
) -> None:
    sb = make_sandbox(reject_reason_key=reason_key, shuffle_rejections=True, seed=5)
    contacts = [contact(f"row-{i}", phone="12") for i in range(6)] + [contact("ok")]
    result = connect(sb).score(contacts)
    assert result.accepted == 1
    by_key = {r.customer_contact_id: r for r in result.rejected}
    assert sorted(by_key) == [f"row-{i}" for i in range(6)]
    assert [r.customer_contact_id for r in result.rejected] != sorted(by_key)  # shuffled
    for i in range(6):
        rejection = by_key[f"row-{i}"]
        assert rejection.reason == "at least one valid US phone number is required"
        assert rejection.record == contacts[i]  # reason key removed, echo intact


def test_rejection_with_unknown_reason_key_gets_a_fallback(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(reject_reason_key="why")
    [rejection] = connect(sb).score([contact("r1", firstName="")]).rejected
    assert rejection.reason == NO_REASON
    assert rejection.record["why"] == "firstName is required"  # unknown keys are left alone
    assert rejection.customer_contact_id == "r1"


def test_parse_score_response_is_defensive() -> None:
    body = {
        "data": {"jobId": 12345},
        "credits": {"creditsCharged": 5, "creditsRemaining": "995.5", "costPerPhone": True},
        "error": {
            "records": [
                {"customerContactId": "a", "errors": ["no phone", "no name"]},
                {"customerContactId": 7, "errors": [{"field": "phone", "message": "invalid"}]},
                {"customerContactId": "", "reason": "", "message": "bad"},
                "not an object",
            ]
        },
    }
    result = parse_score_response(body, [{}] * 10)
    assert (result.job_id, result.total, result.accepted) == ("12345", 10, 6)
    assert result.credits_charged == Decimal(5)
    assert result.credits_remaining == Decimal("995.5")
    assert result.cost_per_phone is None and result.phone_count is None
    reasons = [(r.customer_contact_id, r.reason) for r in result.rejected]
    assert reasons == [
        ("a", "no phone; no name"),
        ("7", "phone: invalid"),
        (None, "bad"),
        (None, "not an object"),
    ]
    assert result.rejected[2].record == {"customerContactId": ""}
    with pytest.raises(ValueError, match="no job id"):
        parse_score_response({"data": {"jobId": ""}})
    with pytest.raises(ValueError, match="no 'data' object"):
        parse_score_response({"status": "ok"})
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_score_response([1])


def test_rate_limit_state_follows_answers(make_sandbox: Any, connect: Any, fake_clock: Any) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_second=10, rate_per_minute=100)
    client = connect(sb)
    client.score([contact("r1")])
    tiers = client.rate_limit.tiers()
    assert (tiers["second"].limit, tiers["second"].remaining) == (10, 9)
    assert (tiers["minute"].remaining, tiers["minute"].reset) == (99, 1_700_000_040)
    assert "day" not in tiers


# -- rate limiting -------------------------------------------------------------------------------


def test_429_waits_as_retry_after_says(
    make_sandbox: Any, connect: Any, fake_clock: Any, events: list[str]
) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_second=1, send_retry_after=True)
    client = connect(sb)
    client.score([contact("r1")])
    result = client.score([contact("r2")])
    assert result.accepted == 1
    assert fake_clock.sleeps == [1.0]
    assert events == ["rate limited; waiting 1.0 s (retry 1 of 5)"]
    assert score_posts(sb) == 3  # the 429 was resent: it was not processed
    assert sb.state.contact_id_counts() == {"r1": 1, "r2": 2}
    assert len(sb.state.jobs) == 2


def test_429_without_retry_after_waits_for_the_exhausted_tiers_reset(
    make_sandbox: Any, connect: Any, fake_clock: Any, events: list[str]
) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_second=5, rate_per_minute=2)
    client = connect(sb)
    client.score([contact("r1")])
    client.score([contact("r2")])
    client.score([contact("r3")])  # minute tier exhausted: reset at ...040, clock at ...000.25
    assert fake_clock.sleeps == [39.75]
    assert events == ["rate limited; waiting 39.8 s (retry 1 of 5)"]
    assert len(sb.state.jobs) == 3


def test_429_with_neither_header_backs_off_with_bounded_jitter(
    make_sandbox: Any, connect: Any, fake_clock: Any, events: list[str]
) -> None:
    sb = make_sandbox(faults=["429", "429", "429"])
    result = connect(sb).score([contact("r1")])
    assert result.accepted == 1
    first, second, third = fake_clock.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0
    assert [e.split(";")[0] for e in events] == ["rate limited"] * 3
    assert events[2].endswith("(retry 3 of 5)")
    assert score_posts(sb) == 4


def test_429_jitter_differs_between_seeds(make_sandbox: Any, connect: Any, fake_clock: Any) -> None:
    for seed in (1, 2):
        connect(make_sandbox(faults=["429"]), rng=random.Random(seed)).score([contact("r1")])
    assert fake_clock.sleeps[0] != fake_clock.sleeps[1]


def test_429_beyond_max_retries_raises_rate_limited(
    make_sandbox: Any, connect: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(faults=["429"] * 4)
    with pytest.raises(RateLimited, match="after 3 retries") as caught:
        connect(sb, max_retries=3).score([contact("r1")])
    assert isinstance(caught.value, ApiError)
    assert len(fake_clock.sleeps) == 3
    assert score_posts(sb) == 4
    assert sb.state.jobs == []


def test_429_asking_for_a_wait_beyond_the_cap_stops_at_once(
    make_sandbox: Any, connect: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_day=1)
    client = connect(sb)
    client.score([contact("r1")])
    with pytest.raises(
        RateLimited, match="daily request limit for this account is used up"
    ) as caught:
        client.score([contact("r2")])
    assert caught.value.wait == pytest.approx(6399.75)  # until the day window resets
    assert caught.value.until == pytest.approx(fake_clock() + 6399.75)
    assert "in 1 h 46 min" in str(caught.value)
    assert fake_clock.sleeps == []


def test_get_requests_also_honour_429(make_sandbox: Any, connect: Any, fake_clock: Any) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_second=1, send_retry_after=True)
    client = connect(sb)
    client.quota()
    assert client.list_jobs() == []
    assert fake_clock.sleeps == [1.0]


# -- retried failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["503", "html_502", "504", "500"])
def test_a_5xx_on_the_score_post_is_outcome_unknown_and_never_resent(
    make_sandbox: Any, connect: Any, fake_clock: Any, fault: str
) -> None:
    """A gateway or a busy backend may answer 5xx after the job was created: no proof of
    "not processed", so the POST is not resent (reconciliation decides later)."""
    sb = make_sandbox(faults=[fault])
    with pytest.raises(OutcomeUnknown) as caught:
        connect(sb).score([contact("r1")])
    assert caught.value.status == int(fault.removeprefix("html_")[:3])
    assert score_posts(sb) == 1
    assert fake_clock.sleeps == []


def test_a_5xx_on_a_get_is_retried_with_backoff(
    make_sandbox: Any, connect: Any, fake_clock: Any, events: list[str]
) -> None:
    sb = make_sandbox()
    client = connect(sb)
    client.score([contact("r1")])
    sb.state.add_get_faults("503", "503")
    jobs = client.list_jobs()
    assert len(jobs) == 1
    assert [e.rsplit("(", 1)[1] for e in events] == ["retry 1 of 5)", "retry 2 of 5)"]
    assert 0.5 <= fake_clock.sleeps[0] <= 1.0 and 1.0 <= fake_clock.sleeps[1] <= 2.0


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/public/v2"


def test_connection_refused_is_retried_then_network_error(
    connect: Any, fake_clock: Any, events: list[str]
) -> None:
    client = connect(closed_port_url(), max_retries=3)
    with pytest.raises(NetworkError, match=r"Could not connect to TitanX \(connection refused\)"):
        client.score([contact("r1")])
    assert len(fake_clock.sleeps) == 3
    assert events[-1].startswith("could not connect to TitanX (connection refused); retrying in")
    assert events[-1].endswith("(retry 3 of 3)")
    with pytest.raises(NetworkError):
        client.list_jobs()


def test_tls_handshake_failure_is_a_network_error_without_retry(
    sandbox: Sandbox, connect: Any, fake_clock: Any
) -> None:
    # Speaking TLS to the plain-HTTP sandbox fails in the handshake: nothing was sent.
    client = connect(sandbox.url.replace("http://", "https://"))
    with pytest.raises(NetworkError, match="Could not connect securely to TitanX"):
        client.score([contact("r1")])
    assert fake_clock.sleeps == []
    assert sandbox.state.score_requests == []


@pytest.mark.parametrize(
    ("text", "handshake"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", True),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", True),
        ("EOF occurred in violation of protocol (_ssl.c:2427)", False),
    ],
)
def test_only_handshake_tls_errors_count_as_nothing_sent(text: str, handshake: bool) -> None:
    assert is_handshake_failure(requests.exceptions.SSLError(text)) is handshake


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "status"), [("wrong-key", 401), ("read-only-key", 403)])
def test_refused_key_is_auth_error_without_retry(
    make_sandbox: Any, connect: Any, fake_clock: Any, key: str, status: int
) -> None:
    sb = make_sandbox(forbidden_key="read-only-key")
    client = connect(sb, api_key=key)
    with pytest.raises(AuthError) as caught:
        client.score([contact("r1")])
    assert str(caught.value) == (
        f"TitanX refused the API key (HTTP {status}). Run `csvscore login` to enter a new "
        "one, or set TITANX_API_KEY."
    )
    assert caught.value.exit_code == ExitCode.AUTH
    assert len(sb.state.requests) == 1
    assert fake_clock.sleeps == []
    with pytest.raises(AuthError):
        client.check_key()
    assert len(sb.state.requests) == 2


def test_check_key_passes_for_a_good_key(sandbox: Sandbox, connect: Any) -> None:
    connect(sandbox).check_key()
    assert [r.path for r in sandbox.state.requests] == ["/api/public/quota"]


def test_payment_required_is_credits_error(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(credits="0.01")
    with pytest.raises(CreditsError, match=r"HTTP 402\): Insufficient credits") as caught:
        connect(sb).score([contact("r1")])
    assert caught.value.exit_code == ExitCode.CREDITS
    assert score_posts(sb) == 1


def test_other_4xx_about_credits_is_credits_error(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(faults=["400:Your credit balance is too low"])
    with pytest.raises(CreditsError, match="Your credit balance is too low"):
        connect(sb).score([contact("r1")])


def test_400_is_batch_refused_with_the_server_message(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox()
    with pytest.raises(BatchRefused) as caught:
        connect(sb).score([contact("r1", fsTotalCalls=3)])
    error = caught.value
    assert (error.status, error.message, error.too_large) == (
        400,
        "contacts[0].fsTotalCalls must be a string",
        False,
    )
    assert (
        str(error)
        == "TitanX refused the batch (HTTP 400): contacts[0].fsTotalCalls must be a string"
    )
    assert score_posts(sb) == 1


@pytest.mark.parametrize("fault", ["", "413", "422:Too many contacts in one request"])
def test_too_large_batches_are_flagged(make_sandbox: Any, connect: Any, fault: str) -> None:
    sb = make_sandbox(faults=[fault] if fault else [])
    contacts = [contact(str(i)) for i in range(1001 if not fault else 2)]
    with pytest.raises(BatchRefused) as caught:
        connect(sb).score(contacts)
    assert caught.value.too_large is True
    assert score_posts(sb) == 1


# -- outcome unknown: never resent ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ("500", "TitanX answered HTTP 500 (Internal server error)"),
        ("504", "TitanX answered HTTP 504"),
        ("non_json_500", "TitanX answered HTTP 500 (Internal Server Error)"),
        ("drop_after_create", "the connection dropped after the batch was sent"),
        ("drop_before_create", "the connection dropped after the batch was sent"),
        ("non_json_200", "TitanX answered HTTP 200 with something that is not JSON"),
        ("bad_shape_200", "TitanX answered HTTP 200 but the answer has no 'data' object"),
        ("timeout_after_create", "no answer within 0.5 s after the batch was sent"),
    ],
)
def test_unknown_outcomes_raise_and_are_never_resent(
    make_sandbox: Any, connect: Any, fake_clock: Any, events: list[str], fault: str, detail: str
) -> None:
    sb = make_sandbox(faults=[fault], hang_seconds=60)
    with pytest.raises(OutcomeUnknown) as caught:
        connect(sb, read_timeout=0.5).score([contact("r1"), contact("r2")])
    assert caught.value.detail.startswith(detail)
    assert caught.value.exit_code == ExitCode.UNCONFIRMED
    assert "did not resend" in str(caught.value)
    assert sb.state.contact_id_counts() == {"r1": 1, "r2": 1}
    assert fake_clock.sleeps == [] and events == []


def test_non_json_200_is_unknown_even_though_a_job_exists(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(faults=["non_json_200"])
    with pytest.raises(OutcomeUnknown) as caught:
        connect(sb).score([contact("r1")])
    assert caught.value.status == 200
    assert len(sb.state.jobs) == 1  # the caller must reconcile, not resend


# -- secrets and headers -------------------------------------------------------------------------


def test_api_key_never_appears_in_messages_events_or_logs(
    make_sandbox: Any, connect: Any, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def attempt(client: TitanXClient, call: Callable[[TitanXClient], Any]) -> None:
        texts.append(repr(client))
        try:
            call(client)
        except CsvscoreError as exc:
            texts.extend([str(exc), repr(exc), str(getattr(exc, "detail", ""))])
            texts.append(str(getattr(exc, "message", "")))
        else:
            raise AssertionError("expected an error")

    def score(client: TitanXClient) -> Any:
        return client.score([contact("r")])

    scenarios: list[tuple[Sandbox | str, Callable[[TitanXClient], Any]]] = [
        (make_sandbox(echo_key_in_auth_errors=True), score),  # 401 echoing the wrong key
        (make_sandbox(faults=["500"], api_key=SECRET), score),
        (make_sandbox(faults=["drop_after_create"], api_key=SECRET), score),
        (make_sandbox(faults=["503"] * 6, api_key=SECRET), score),
        (make_sandbox(faults=[f"422:key {SECRET} is odd"], api_key=SECRET), score),
        (make_sandbox(api_key=SECRET), lambda c: c.get_job("nope")),
        (closed_port_url(), score),
    ]
    for target, call in scenarios:
        attempt(connect(target, api_key=SECRET), call)
    assert any("<hidden>" in t for t in texts)  # the echoed key was scrubbed, not just absent
    everything = "\n".join(texts + events + [r.getMessage() for r in caplog.records])
    assert SECRET not in everything
    assert events  # retries did emit events


def test_requests_carry_user_agent_bearer_key_and_json(sandbox: Sandbox, connect: Any) -> None:
    client = connect(sandbox)
    client.score([contact("r1")])
    client.list_jobs()
    score, jobs = sandbox.state.requests
    assert score.headers["user-agent"] == f"csvscore/{__version__}"
    assert score.headers["authorization"] == f"Bearer {sandbox.api_key}"
    assert score.headers["content-type"] == "application/json"
    assert jobs.headers["user-agent"] == f"csvscore/{__version__}"
    assert jobs.path == "/api/public/v2/jobs?page=1&pageSize=50"
    connect(sandbox, user_agent="csvscore-test/9").quota()
    assert sandbox.state.requests[-1].headers["user-agent"] == "csvscore-test/9"


def test_constructor_refuses_empty_key_and_bad_url() -> None:
    with pytest.raises(AuthError, match="No TitanX API key"):
        TitanXClient("  ")
    with pytest.raises(ConfigError, match="must start with https://"):
        TitanXClient("k", "app.titanx.io/api/public/v2")


# -- jobs, quota ---------------------------------------------------------------------------------


def test_list_jobs_pages_through_newest_first_and_filters_by_since(
    make_sandbox: Any, connect: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(clock=fake_clock)
    client = connect(sb)
    ids = []
    for i in range(60):
        ids.append(client.score([contact(str(i))]).job_id)
        fake_clock.advance(10)
    jobs = client.list_jobs()
    assert [j["jobId"] for j in jobs] == ids[::-1]
    gets = [r.path for r in sb.state.requests if r.method == "GET"]
    assert gets == [
        "/api/public/v2/jobs?page=1&pageSize=50",
        "/api/public/v2/jobs?page=2&pageSize=50",
    ]
    since = datetime.fromtimestamp(1_700_000_000.25 + 10 * 55, tz=timezone.utc)
    assert [j["jobId"] for j in client.list_jobs(since=since)] == ids[55:][::-1]
    naive = since.replace(tzinfo=None)
    assert len(client.list_jobs(since=naive)) == 5
    assert len(client.list_jobs(max_pages=1)) == 50
    future = since + timedelta(days=1)
    assert client.list_jobs(since=future) == []


def test_get_job_and_unknown_job(sandbox: Sandbox, connect: Any) -> None:
    client = connect(sandbox)
    job_id = client.score([contact("r1")]).job_id
    job = client.get_job(job_id)
    assert (job["jobId"], job["status"], job["acceptedRecordCount"]) == (job_id, "Finalized", 1)
    with pytest.raises(JobNotFound):
        client.get_job("00000000-0000-4000-8000-000000000000")


def test_quota_is_read_outside_v2_with_decimals(make_sandbox: Any, connect: Any) -> None:
    sb = make_sandbox(rate_per_second=7, credits="42.5")
    quota = connect(sb).quota()
    assert quota["rateLimits"]["perSecond"] == 7
    assert quota["creditsRemaining"] == Decimal("42.5")


def test_one_client_serves_many_threads(sandbox: Sandbox, connect: Any) -> None:
    client = connect(sandbox)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                client.score([contact(f"t{n}-{i}")])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = sandbox.state.contact_id_counts()
    assert len(counts) == 20 and set(counts.values()) == {1}


# -- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "bad contacts"}', "bad contacts"),
        (b'{"error": {"code": 400, "message": "nested"}}', "nested"),
        (b'{"detail": "from detail"}', "from detail"),
        (
            b'{"errors": [{"field": "contacts", "message": "too many"}, "also"]}',
            "contacts: too many; also",
        ),
        (b'{"errors": {"contacts": ["must be a list"]}}', "contacts: must be a list"),
        (b'{"title": "Bad Request", "status": 400}', "Bad Request"),
        (b'{"status": 400}', "status: 400"),
        (
            b"<html><head><title>413 Request Entity Too Large</title></head></html>",
            "413 Request Entity Too Large",
        ),
        (b"<html><body><h1>Oops</h1>  <p>broken</p></body></html>", "Oops broken"),
        (b"plain text\nerror", "plain text error"),
        (b"", ""),
    ],
)
def test_message_from_body_copes_with_any_shape(body: bytes, message: str) -> None:
    assert message_from_body(body) == message


def test_message_from_body_truncates_long_messages() -> None:
    message = message_from_body(b'{"message": "' + b"x" * 1000 + b'"}')
    assert len(message) == 300 and message.endswith("...")


def test_parse_tiers_reads_absolute_and_relative_resets() -> None:
    headers = {
        "x-ratelimit-limit-second": "10",
        "X-RateLimit-Remaining-Second": "0",
        "X-RateLimit-Reset-Second": "1700000001",
        "X-RateLimit-Remaining-Minute": "5",
        "X-RateLimit-Reset-Minute": "30",  # a delta, not a Unix time
    }
    tiers = parse_tiers(headers, now=1_700_000_000.5)
    assert (tiers["second"].limit, tiers["second"].remaining, tiers["second"].reset) == (
        10,
        0,
        1_700_000_001,
    )
    assert tiers["minute"].reset == 1_700_000_030.5 and tiers["minute"].limit is None
    assert "day" not in tiers


def test_parse_retry_after_seconds_and_http_dates() -> None:
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 30, tz=timezone.utc), usegmt=True)
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after(date, now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_wait_after_429_uses_the_exhausted_tier_and_distrusts_odd_resets() -> None:
    now = 1_700_000_000.25
    headers = {
        "X-RateLimit-Remaining-Second": "3",
        "X-RateLimit-Reset-Second": "1700000001",
        "X-RateLimit-Remaining-Minute": "0",
        "X-RateLimit-Reset-Minute": "1700000040",
    }
    assert wait_after_429(headers, now) == 39.75
    past = {"X-RateLimit-Remaining-Second": "0", "X-RateLimit-Reset-Second": "1699999990"}
    assert wait_after_429(past, now) is None  # clocks disagree: back off instead
    skewed = {"X-RateLimit-Remaining-Second": "0", "X-RateLimit-Reset-Second": "1700000100"}
    assert wait_after_429(skewed, now) is None  # a per-second window cannot be 100 s away


def tier_headers(
    remaining: int, reset: int, limit: int = 10, tier: str = "Second"
) -> dict[str, str]:
    return {
        f"X-RateLimit-Limit-{tier}": str(limit),
        f"X-RateLimit-Remaining-{tier}": str(remaining),
        f"X-RateLimit-Reset-{tier}": str(reset),
    }


def test_delay_before_next_paces_with_a_fake_clock(fake_clock: Any) -> None:
    state = RateLimitState()
    assert state.delay_before_next(fake_clock()) == 0.0  # nothing known yet
    state.update(tier_headers(5, 1_700_000_001), fake_clock())
    assert state.delay_before_next(fake_clock()) == 0.0  # plenty left
    state.update(tier_headers(1, 1_700_000_001), fake_clock())
    assert state.delay_before_next(fake_clock()) == pytest.approx(0.375)  # 0.75 s spread over 2
    state.update(tier_headers(0, 1_700_000_001), fake_clock())
    assert state.delay_before_next(fake_clock()) == pytest.approx(0.75)  # wait for the reset
    fake_clock.advance(1)
    assert state.delay_before_next(fake_clock()) == 0.0  # that window is over


def test_delay_before_next_never_spreads_the_daily_tier(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(tier_headers(3, 1_700_006_400, limit=10_000, tier="Day"), fake_clock())
    assert state.delay_before_next(fake_clock()) == 0.0
    state.update(tier_headers(0, 1_700_006_400, limit=10_000, tier="Day"), fake_clock())
    assert state.delay_before_next(fake_clock()) == pytest.approx(6399.75)


def test_rate_limit_state_ignores_out_of_order_answers(fake_clock: Any) -> None:
    state = RateLimitState()
    state.update(tier_headers(2, 1_700_000_001), fake_clock())
    state.update(tier_headers(6, 1_700_000_001), fake_clock())  # an older answer, same window
    assert state.tiers()["second"].remaining == 2
    state.update(tier_headers(9, 1_700_000_000), fake_clock())  # a previous window
    assert state.tiers()["second"].remaining == 2
    state.note_sent()
    assert state.tiers()["second"].remaining == 1
    state.update(tier_headers(9, 1_700_000_002), fake_clock())  # a new window
    assert state.tiers()["second"].remaining == 9


def test_a_retry_waits_for_a_free_rate_limit_slot(
    make_sandbox: Any, connect: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(faults=["429"])  # a 429 without Retry-After or reset headers: backoff
    client = connect(sb)  # rng seed 1: the first backoff is 0.57 s
    now = fake_clock()
    reset = int(now) + 1  # this second's window is full until then
    client.rate_limit.update(
        {
            "X-RateLimit-Limit-Second": "1",
            "X-RateLimit-Remaining-Second": "0",
            "X-RateLimit-Reset-Second": str(reset),
        },
        now,
    )
    response = client.score([contact("c1")])
    assert response.accepted == 1
    # The backoff alone would resend inside the full window; the retry waited for the reset.
    assert fake_clock.sleeps[0] < reset - now
    assert now + sum(fake_clock.sleeps) >= reset
    assert len(sb.state.score_requests) == 2
