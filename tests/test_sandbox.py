"""The TitanX sandbox: validation, credits, jobs, auth, rate limits, faults, process mode."""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from csvscore.sandbox.server import Sandbox, SandboxConfig

PHONE = "415-555-0134"
PHONE2 = "(212) 555-0199"
CANADA = "+1 604 555 0134"


def contact(cid: str = "r1", **fields: Any) -> dict[str, Any]:
    base = {"firstName": "Ada", "lastName": "Example", "phone": PHONE, "customerContactId": cid}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def post(
    sb: Sandbox, body: Any, *, key: str | None = None, timeout: float = 5
) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(
        sb.url + "/contacts/score",
        data=data,
        headers={
            "Authorization": f"Bearer {key or sb.api_key}",
            "Content-Type": "application/json",
        },
        timeout=timeout,
    )


def get(sb: Sandbox, path: str, *, key: str | None = None, **params: Any) -> requests.Response:
    url = sb.origin + path if path.startswith("/api/public/quota") else sb.url + path
    return requests.get(
        url, params=params, headers={"Authorization": f"Bearer {key or sb.api_key}"}, timeout=5
    )


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


# -- scoring and validation --------------------------------------------------------------------


def test_accepted_batch_answers_in_documented_shape_with_decimal_credits(sandbox: Sandbox) -> None:
    contacts = [
        contact("r1"),
        contact("r2", phone2=PHONE2),  # two valid US phones
        contact("r3", phone="555-0134", phone3=PHONE2),  # invalid + valid
    ]
    response = post(sandbox, {"contacts": contacts, "scoringType": "titan"})
    assert response.status_code == 200
    body = decimal_json(response)
    assert set(body) == {"data", "credits", "error"}
    assert body["data"]["totalRecordCount"] == 3
    assert body["data"]["acceptedRecordCount"] == 3
    assert uuid.UUID(body["data"]["jobId"]).version == 4
    assert body["credits"] == {
        "creditsCharged": Decimal("0.2"),
        "creditsRemaining": Decimal("999999.8"),
        "costPerPhone": Decimal("0.05"),
        "phoneCount": 4,
    }
    assert body["error"] is None
    assert sandbox.state.credits == Decimal("999999.80")
    [job] = sandbox.state.jobs
    assert (job.status, job.scoring_type, job.phone_count) == ("Finalized", "titan", 4)


def test_credits_math_uses_decimals_with_configured_cost(make_sandbox: Any) -> None:
    sb = make_sandbox(credits="10", cost_per_phone="0.1")
    for i in range(3):
        assert post(sb, {"contacts": [contact(f"r{i}")]}).status_code == 200
    # 10 - 3 x 0.1 is exactly 9.7 in decimal (not 9.699999... as floats would drift).
    assert sb.state.credits == Decimal("9.7")
    assert decimal_json(get(sb, "/api/public/quota"))["creditsRemaining"] == Decimal("9.7")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"firstName": ""}, "firstName is required"),
        ({"lastName": "   "}, "lastName is required"),
        ({"phone": "555-0134"}, "at least one valid US phone number is required"),
        ({"phone": CANADA}, "at least one valid US phone number is required"),
        ({"phone": "+44 20 7946 0958"}, "at least one valid US phone number is required"),
        ({"phone": None, "phone5": PHONE}, None),  # any slot will do
        ({"firstName": None, "phone": None}, "firstName is required; at least one valid US"),
    ],
)
def test_per_contact_rule_rejects_the_contact_not_the_request(
    sandbox: Sandbox, fields: dict[str, Any], reason: str | None
) -> None:
    bad = contact("bad", **fields)
    body = decimal_json(post(sandbox, {"contacts": [contact("good"), bad]}))
    if reason is None:
        assert body["error"] is None
        assert body["data"]["acceptedRecordCount"] == 2
        return
    assert body["data"]["acceptedRecordCount"] == 1
    assert body["error"]["rejectedRecordCount"] == 1
    [record] = body["error"]["records"]
    assert record["reason"].startswith(reason)
    # The contact comes back with its input keys.
    assert {k: v for k, v in record.items() if k != "reason"} == bad
    assert body["credits"]["phoneCount"] == 1  # only the accepted contact is charged


def test_all_rejected_job_is_not_enriched_and_costs_nothing(sandbox: Sandbox) -> None:
    body = decimal_json(post(sandbox, {"contacts": [contact("a", phone="123")]}))
    assert body["data"]["acceptedRecordCount"] == 0
    assert body["credits"]["creditsCharged"] == 0
    assert sandbox.state.jobs[0].status == "Not Enriched"
    job = get(sandbox, f"/jobs/{body['data']['jobId']}").json()["data"]
    assert job["status"] == "Not Enriched"


def test_reason_key_and_order_are_configurable(make_sandbox: Any) -> None:
    sb = make_sandbox(reject_reason_key="rejectionReason", shuffle_rejections=True, seed=3)
    contacts = [contact(f"r{i}", phone="1") for i in range(8)]
    records = post(sb, {"contacts": contacts}).json()["error"]["records"]
    assert all("rejectionReason" in r and "reason" not in r for r in records)
    order = [r["customerContactId"] for r in records]
    assert sorted(order) == [f"r{i}" for i in range(8)]
    assert order != sorted(order)  # seed 3 shuffles them


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Request body must be valid JSON"),
        ([1, 2], "Request body must be a JSON object"),
        ({"scoringType": "lightning"}, "contacts must be an array"),
        ({"contacts": "x"}, "contacts must be an array"),
        ({"contacts": []}, "contacts must contain between 1 and 1000 records"),
        ({"contacts": [contact(str(i)) for i in range(1001)]}, "between 1 and 1000 records"),
        ({"contacts": [contact()], "scoringType": "fast"}, "scoringType must be one of"),
        ({"contacts": [contact()], "extra": 1}, "Unknown property: extra"),
        ({"contacts": ["x"]}, "contacts[0] must be an object"),
        ({"contacts": [contact(fsTotalCalls=3)]}, "contacts[0].fsTotalCalls must be a string"),
        ({"contacts": [{**contact(), "email": None}]}, "contacts[0].email must be a"),
        ({"contacts": [contact(), contact(Phone=PHONE)]}, "contacts[1]: unknown property Phone"),
        ({"contacts": [contact(unmappedFields="x")]}, "unmappedFields must be an object"),
        ({"contacts": [contact(unmappedFields={"Notes": 1})]}, "unmappedFields must be an object"),
    ],
)
def test_malformed_requests_get_400_with_a_json_message(
    sandbox: Sandbox, body: Any, message: str
) -> None:
    response = post(sandbox, body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert sandbox.state.jobs == []
    assert sandbox.state.credits == Decimal("1000000")


def test_exactly_1000_contacts_and_string_unmapped_fields_are_accepted(sandbox: Sandbox) -> None:
    contacts = [contact(str(i), unmappedFields={"Notes": "x"}) for i in range(1000)]
    response = post(sandbox, {"contacts": contacts})
    assert response.status_code == 200
    assert response.json()["data"]["acceptedRecordCount"] == 1000


def test_scoring_type_defaults_to_lightning(sandbox: Sandbox) -> None:
    assert post(sandbox, {"contacts": [contact()]}).status_code == 200
    assert sandbox.state.jobs[0].scoring_type == "lightning"


def test_insufficient_credits_is_402_and_creates_nothing(make_sandbox: Any) -> None:
    sb = make_sandbox(credits="0.10")
    three_phones = contact("r1", phone2=PHONE2, phone3="202-555-0101")
    response = post(sb, {"contacts": [three_phones]})  # 0.15 > 0.10
    assert response.status_code == 402
    assert response.json() == {"message": "Insufficient credits"}
    assert sb.state.jobs == []
    assert sb.state.credits == Decimal("0.10")
    # Exactly the balance is fine.
    assert post(sb, {"contacts": [contact("r2", phone2=PHONE2)]}).status_code == 200
    assert sb.state.credits == Decimal("0")


def test_state_counts_each_contact_id_received_and_processed(
    make_sandbox: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_second=4)
    post(sb, {"contacts": [contact("a"), contact("b", phone="1")]})
    post(sb, {"contacts": [contact("a")]})
    post(sb, {"contacts": [contact("c", fsTotalCalls=1)]})  # refused, but received
    post(sb, {"contacts": [contact("d")]}, key="wrong")  # refused, but received
    post(sb, {"contacts": [contact("e")]})  # over the per-second limit, but received
    assert sb.state.contact_id_counts() == {"a": 2, "b": 1, "c": 1, "d": 1, "e": 1}
    assert [r.status for r in sb.state.score_requests] == [200, 200, 400, 401, 429]
    assert sb.state.job_contact_id_counts() == {"a": 2, "b": 1}


# -- jobs and quota ----------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_with_pagination(make_sandbox: Any, fake_clock: Any) -> None:
    sb = make_sandbox(clock=fake_clock)
    ids = []
    for i in range(5):
        ids.append(post(sb, {"contacts": [contact(str(i))]}).json()["data"]["jobId"])
        fake_clock.advance(60)
    page1 = get(sb, "/jobs", page=1, pageSize=2).json()
    page3 = get(sb, "/jobs", page=3, pageSize=2).json()
    assert [j["jobId"] for j in page1["data"]] == [ids[4], ids[3]]
    assert [j["jobId"] for j in page3["data"]] == [ids[0]]
    assert (page1["page"], page1["pageSize"], page1["total"]) == (1, 2, 5)
    first = page3["data"][0]
    assert first["createdAt"] == "2023-11-14T22:13:20.250Z"
    assert (first["status"], first["totalRecordCount"], first["acceptedRecordCount"]) == (
        "Finalized",
        1,
        1,
    )
    assert get(sb, "/jobs").json()["pageSize"] == 50
    assert get(sb, "/jobs", page=0).status_code == 400


def test_single_job_and_unknown_job(sandbox: Sandbox) -> None:
    job_id = post(sandbox, {"contacts": [contact()]}).json()["data"]["jobId"]
    assert get(sandbox, f"/jobs/{job_id}").json()["data"]["jobId"] == job_id
    missing = get(sandbox, f"/jobs/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Job not found"}


def test_quota_lives_outside_v2_and_reports_limits_and_credits(make_sandbox: Any) -> None:
    sb = make_sandbox(rate_per_second=5, rate_per_minute=100, credits="12.5")
    body = decimal_json(get(sb, "/api/public/quota"))
    assert body["rateLimits"] == {"perSecond": 5, "perMinute": 100, "perDay": None}
    assert body["creditsRemaining"] == Decimal("12.5")
    assert get(sb, "/api/public/v2/quota").status_code == 404  # there is no /v2/quota


def test_unknown_path_is_404_and_wrong_method_405(sandbox: Sandbox) -> None:
    assert get(sandbox, "/nothing").status_code == 404
    response = requests.get(
        sandbox.url + "/contacts/score",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=5,
    )
    assert response.status_code == 405


# -- auth ----------------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_and_forbidden_key_403(make_sandbox: Any) -> None:
    sb = make_sandbox(api_key="good-key", forbidden_key="read-only-key")
    no_header = requests.post(sb.url + "/contacts/score", json={"contacts": [contact()]}, timeout=5)
    assert no_header.status_code == 401
    assert no_header.json() == {"message": "Invalid API key"}
    assert post(sb, {"contacts": [contact()]}, key="wrong").status_code == 401
    forbidden = post(sb, {"contacts": [contact()]}, key="read-only-key")
    assert forbidden.status_code == 403
    assert "message" in forbidden.json()
    assert get(sb, "/jobs", key="wrong").status_code == 401
    assert sb.state.jobs == []
    assert post(sb, {"contacts": [contact()]}, key="good-key").status_code == 200


# -- rate limits ---------------------------------------------------------------------------------


def test_every_answer_carries_the_three_tiers_of_headers(
    make_sandbox: Any, fake_clock: Any
) -> None:
    sb = make_sandbox(rate_per_second=5, rate_per_minute=100, rate_per_day=1000, clock=fake_clock)
    response = get(sb, "/jobs", key="wrong")  # failed requests count too
    assert response.status_code == 401
    assert {k: v for k, v in response.headers.items() if k.startswith("X-RateLimit")} == {
        "X-RateLimit-Limit-Second": "5",
        "X-RateLimit-Remaining-Second": "4",
        "X-RateLimit-Reset-Second": "1700000001",
        "X-RateLimit-Limit-Minute": "100",
        "X-RateLimit-Remaining-Minute": "99",
        "X-RateLimit-Reset-Minute": "1700000040",
        "X-RateLimit-Limit-Day": "1000",
        "X-RateLimit-Remaining-Day": "999",
        "X-RateLimit-Reset-Day": "1700006400",
    }
    assert post(sb, {"contacts": [contact()]}).headers["X-RateLimit-Remaining-Second"] == "3"


@pytest.mark.parametrize(
    ("tier", "window"), [("rate_per_second", 1), ("rate_per_minute", 60), ("rate_per_day", 86400)]
)
def test_each_tier_answers_429_when_exceeded_until_its_window_resets(
    make_sandbox: Any, fake_clock: Any, tier: str, window: int
) -> None:
    sb = make_sandbox(clock=fake_clock, **{tier: 2})
    assert [get(sb, "/jobs").status_code for _ in range(3)] == [200, 200, 429]
    limited = get(sb, "/jobs")
    assert limited.status_code == 429
    assert "rate limit" in limited.json()["message"]
    assert "Retry-After" not in limited.headers  # off by default
    suffix = tier.split("_")[-1].capitalize()
    assert limited.headers[f"X-RateLimit-Remaining-{suffix}"] == "0"
    fake_clock.advance(window)
    assert get(sb, "/jobs").status_code == 200


def test_retry_after_is_sent_only_when_configured(make_sandbox: Any, fake_clock: Any) -> None:
    sb = make_sandbox(clock=fake_clock, rate_per_minute=1, send_retry_after=True)
    get(sb, "/jobs")
    limited = get(sb, "/jobs")
    assert limited.status_code == 429
    # The minute window started at ...000.25 -> ...040; 39.75 s rounded up.
    assert limited.headers["Retry-After"] == "40"


def test_unlimited_tiers_send_no_headers(sandbox: Sandbox) -> None:
    headers = get(sandbox, "/jobs").headers
    assert not [k for k in headers if k.lower().startswith("x-ratelimit")]


def test_latency_delays_score_answers(make_sandbox: Any) -> None:
    sb = make_sandbox(latency=0.3)
    started = time.monotonic()
    assert post(sb, {"contacts": [contact()]}).status_code == 200
    assert time.monotonic() - started >= 0.3


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("429", 429, "Too many requests: rate limit exceeded"),
        ("503", 503, "Service temporarily unavailable"),
        ("400", 400, "HTTP 400"),
        ("402", 402, "Insufficient credits"),
        ("413", 413, "Request entity too large"),
        ("422:Too many contacts in one request", 422, "Too many contacts in one request"),
    ],
)
def test_status_faults_answer_without_creating_anything(
    make_sandbox: Any, fault: str, status: int, message: str
) -> None:
    sb = make_sandbox(faults=[fault])
    response = post(sb, {"contacts": [contact()]})
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert sb.state.jobs == []
    assert sb.state.credits == Decimal("1000000")
    assert post(sb, {"contacts": [contact()]}).status_code == 200  # queue consumed


def test_fault_429_sends_retry_after_when_configured(make_sandbox: Any) -> None:
    sb = make_sandbox(faults=["429"], send_retry_after=True)
    assert post(sb, {"contacts": [contact()]}).headers["Retry-After"] == "1"


def test_html_502_answers_html_and_creates_nothing(make_sandbox: Any) -> None:
    sb = make_sandbox(faults=["html_502"])
    response = post(sb, {"contacts": [contact()]})
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in response.text
    assert sb.state.jobs == []


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        ("500", 500, "application/json"),
        ("non_json_500", 500, "text/plain"),
        ("non_json_200", 200, "text/html"),
        ("bad_shape_200", 200, "application/json"),
    ],
)
def test_after_create_faults_charge_then_answer_badly(
    make_sandbox: Any, fault: str, status: int, content_type: str
) -> None:
    sb = make_sandbox(faults=[fault])
    response = post(sb, {"contacts": [contact()]})
    assert (response.status_code, response.headers["Content-Type"]) == (status, content_type)
    assert "jobId" not in response.text
    [job] = sb.state.jobs
    assert sb.state.credits == Decimal("999999.95")
    assert sb.state.score_requests[0].job_id == job.job_id


@pytest.mark.parametrize(
    ("fault", "creates"), [("drop_before_create", 0), ("drop_after_create", 1)]
)
def test_drop_faults_close_the_connection_without_an_answer(
    make_sandbox: Any, fault: str, creates: int
) -> None:
    sb = make_sandbox(faults=[fault])
    with pytest.raises(requests.ConnectionError, match="Remote end closed connection"):
        post(sb, {"contacts": [contact()]})
    assert len(sb.state.jobs) == creates
    assert sb.state.score_requests[0].status is None
    assert post(sb, {"contacts": [contact()]}).status_code == 200


def test_timeout_fault_holds_the_answer_and_shutdown_wakes_it(make_sandbox: Any) -> None:
    sb = make_sandbox(faults=["timeout_after_create"], hang_seconds=60)
    with pytest.raises(requests.ReadTimeout):
        post(sb, {"contacts": [contact()]}, timeout=0.3)
    assert len(sb.state.jobs) == 1
    started = time.monotonic()
    sb.close()  # must not wait for the 60 s hang
    assert time.monotonic() - started < 5


def test_timeout_before_create_creates_nothing(make_sandbox: Any) -> None:
    sb = make_sandbox(faults=["timeout_before_create"], hang_seconds=60)
    with pytest.raises(requests.ReadTimeout):
        post(sb, {"contacts": [contact()]}, timeout=0.3)
    assert sb.state.jobs == []


def test_low_credits_fault_empties_the_balance(make_sandbox: Any) -> None:
    sb = make_sandbox(faults=["low_credits"])
    assert post(sb, {"contacts": [contact()]}).status_code == 402
    assert sb.state.credits == 0


def test_fault_every_n_and_seeded_probability(make_sandbox: Any) -> None:
    sb = make_sandbox(fault_every_n=3, random_faults=("503",))
    codes = [post(sb, {"contacts": [contact()]}).status_code for _ in range(6)]
    assert codes == [200, 200, 503, 200, 200, 503]

    def run(seed: int) -> list[int]:
        sb = make_sandbox(fault_probability=0.5, random_faults=("503", "429"), seed=seed)
        return [post(sb, {"contacts": [contact()]}).status_code for _ in range(12)]

    first = run(7)
    assert first == run(7)  # reproducible for soak tests
    assert {200, 503, 429} == set(first)


def test_unknown_fault_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox fault 'explode'"):
        SandboxConfig(faults=["explode"])


def test_faults_can_be_added_mid_test(sandbox: Sandbox) -> None:
    sandbox.state.add_faults("503")
    assert post(sandbox, {"contacts": [contact()]}).status_code == 503
    assert [r.fault for r in sandbox.state.score_requests] == ["503"]


# -- separate process ----------------------------------------------------------------------------


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("the sandbox printed nothing")
    return proc.stdout.readline()


def test_process_mode_prints_url_serves_state_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "csvscore.sandbox", "--port", "0", "--faults", "503"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = _read_line(proc, timeout=20)
        assert line.startswith("SANDBOX_URL=http://127.0.0.1:")
        url = line.strip().split("=", 1)[1]
        assert url.endswith("/api/public/v2")
        headers = {"Authorization": "Bearer sandbox-key"}
        body = {"contacts": [contact("row-1"), contact("row-2")]}
        first = requests.post(url + "/contacts/score", json=body, headers=headers, timeout=5)
        second = requests.post(url + "/contacts/score", json=body, headers=headers, timeout=5)
        assert (first.status_code, second.status_code) == (503, 200)
        origin = url.removesuffix("/api/public/v2")
        state = requests.get(origin + "/_sandbox/state", timeout=5).json()
        assert [r["customerContactIds"] for r in state["scoreRequests"]] == [
            ["row-1", "row-2"],
            ["row-1", "row-2"],
        ]
        assert [r["status"] for r in state["scoreRequests"]] == [503, 200]
        assert [j["jobId"] for j in state["jobs"]] == [second.json()["data"]["jobId"]]
        assert state["jobs"][0]["acceptedContactIds"] == ["row-1", "row-2"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_daily_window_can_be_told_when_to_end(make_sandbox: Any, fake_clock: Any) -> None:
    sb = make_sandbox(rate_per_day=1, day_reset_in=72_000, clock=fake_clock)
    first = get(sb, "/jobs")
    assert first.headers["X-RateLimit-Remaining-Day"] == "0"
    assert int(first.headers["X-RateLimit-Reset-Day"]) == math.ceil(fake_clock() + 72_000)
    assert get(sb, "/jobs").status_code == 429


@pytest.mark.parametrize(("answer", "status"), [("html404", 404), ("html200", 200)])
def test_paths_the_api_does_not_have_can_be_a_web_servers_pages(
    make_sandbox: Any, answer: str, status: int
) -> None:
    sb = make_sandbox(unknown_path_answer=answer)
    response = requests.post(sb.origin + "/contacts/score", json={}, timeout=5)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html"
    assert sb.state.score_requests == []  # not the API: nothing recorded as a score request
    with pytest.raises(ValueError, match="unknown_path_answer"):
        make_sandbox(unknown_path_answer="teapot")
