"""The webhook contract, pure: signatures over raw bytes, key derivations, the envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csvscore.api.webhooks import (
    BASE64,
    CONTACT_SCORED,
    DERIVATIONS,
    JOB_COMPLETED,
    STRIPPED,
    UTF8,
    EnvelopeError,
    build_envelope,
    derive_key,
    fingerprint,
    parse_envelope,
    secrets_from_response,
    sign,
    to_millis,
    verify,
)
from csvscore.sandbox.webhooks import signature as sandbox_signature

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123").decode()
WHSK = "wh_sk_Xp2s9K4mN8vR1qW5tY7uI0oP3aS6dF9gH2jK4lZ8xC1vB5nM7"
BODY = build_envelope({"customerContactId": "k1"}, CONTACT_SCORED, "e-1", 1_700_000_000_000)


def _documented(body: bytes, key: bytes) -> str:
    # The documented algorithm, written out: Base64(HMAC-SHA256(webhook_secret, request_body)).
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def test_the_documented_form_verifies_with_the_whole_secret_as_utf8_first() -> None:
    header = _documented(BODY, WHSEC.encode())
    assert verify(BODY, header, [WHSEC]).derivation == UTF8  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("secret", "derivation"),
    [(WHSEC, UTF8), (WHSEC, STRIPPED), (WHSEC, BASE64), (WHSK, UTF8), (WHSK, STRIPPED)],
)
def test_each_key_derivation_is_found_and_named(secret: str, derivation: str) -> None:
    key = derive_key(secret, derivation)
    assert key is not None
    found = verify(BODY, _documented(BODY, key), [secret])
    assert found is not None and derive_key(secret, found.derivation) == key


def test_base64_applies_only_to_a_remainder_that_decodes() -> None:
    assert derive_key(WHSK, BASE64) is None  # 49 characters: not base64
    assert derive_key("no-prefix-secret", STRIPPED) is None


def test_the_sandbox_and_csvscore_sign_alike_for_every_derivation() -> None:
    """Two independent statements of the rule agree (the sandbox does not import csvscore's)."""
    for derivation in DERIVATIONS:
        assert sign(BODY, WHSEC, derivation) == sandbox_signature(BODY, WHSEC, derivation)


def test_a_pinned_derivation_is_the_only_one_tried_for_that_secret() -> None:
    header = sign(BODY, WHSEC, STRIPPED)
    assert verify(BODY, header, [WHSEC], {fingerprint(WHSEC): STRIPPED}) is not None
    assert verify(BODY, header, [WHSEC], {fingerprint(WHSEC): BASE64}) is None


def test_several_secrets_per_endpoint_any_one_verifies_and_says_which() -> None:
    header = sign(BODY, WHSK)
    found = verify(BODY, header, [WHSEC, WHSK])
    assert found is not None and found.secret_index == 1
    assert verify(BODY, header, [WHSEC]) is None


def test_reserialised_json_does_not_verify_only_the_raw_bytes_do() -> None:
    header = sign(BODY, WHSEC)
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    assert verify(pretty, header, [WHSEC]) is None
    assert verify(BODY, header, [WHSEC]) is not None


@pytest.mark.parametrize("header", [None, "", "   ", "not base64 !!", "c2hvcnQ=", "sha256="])
def test_missing_empty_or_malformed_signatures_do_not_verify(header: str | None) -> None:
    assert verify(BODY, header, [WHSEC]) is None


def test_prefixed_listed_or_hex_signatures_are_read() -> None:
    raw = hmac.new(WHSEC.encode(), BODY, hashlib.sha256)
    b64 = base64.b64encode(raw.digest()).decode()
    for header in (f"sha256={b64}", f"v1,{b64}", f"v1,AAAA {b64}", raw.hexdigest()):
        assert verify(BODY, header, [WHSEC]) is not None, header


@given(st.binary(min_size=1, max_size=300), st.integers(min_value=0), st.integers(1, 255))
def test_any_flipped_byte_fails(body: bytes, where: int, flip: int) -> None:
    header = sign(body, WHSEC)
    i = where % len(body)
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert verify(changed, header, [WHSEC]) is None
    assert verify(body, header, [WHSEC]) is not None


def test_the_documented_envelope_is_read_exactly() -> None:
    env = parse_envelope(BODY)
    assert (env.event_id, env.event_type, env.event_ms, env.api_version) == (
        "e-1",
        CONTACT_SCORED,
        1_700_000_000_000,
        "v2",
    )
    assert env.payload == {"customerContactId": "k1"} and env.assumed == ()


def test_a_job_completed_envelope_and_its_fields() -> None:
    from csvscore.api.webhooks import job_fields

    body = build_envelope({"jobId": "j9", "jobStatus": "Not Enriched"}, JOB_COMPLETED, "e2", 1)
    env = parse_envelope(body)
    assert env.event_type == JOB_COMPLETED and job_fields(env.payload) == ("j9", "Not Enriched")


def test_a_bare_contact_without_envelope_is_a_scored_contact_keyed_by_its_digest() -> None:
    body = json.dumps({"customerContactId": "k2", "firstName": "A", "leadStatus": "P1"}).encode()
    env = parse_envelope(body)
    assert env.event_type == CONTACT_SCORED and env.payload["customerContactId"] == "k2"
    assert env.event_id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert env.assumed


def test_other_spellings_data_wrapper_and_seconds_are_absorbed() -> None:
    body = json.dumps(
        {
            "event_type": "job.contact.scored",
            "data": {"contact": {"customerContactId": "k3"}},
            "timestamp": 1_700_000_000,
            "eventId": "x",
        }
    ).encode()
    env = parse_envelope(body)
    assert env.payload["customerContactId"] == "k3"
    assert env.event_ms == 1_700_000_000_000 and env.event_id == "x"


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"eventType": "x"}', b"\xff\xfe"])
def test_unusable_bodies_raise_envelope_error(body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(body)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (1_700_000_000_123, 1_700_000_000_123),
        (1_700_000_000, 1_700_000_000_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("1700000000123", 1_700_000_000_123),
        (True, None),
        ("soon", None),
    ],
)
def test_timestamps_in_ms_seconds_or_iso(value: object, ms: int | None) -> None:
    assert to_millis(value) == ms


def test_the_create_answer_is_read_flat_or_wrapped_in_payload() -> None:
    assert secrets_from_response({"id": "w1", "secret": WHSEC}) == ("w1", WHSEC)
    assert secrets_from_response({"payload": {"id": "w2", "secret": WHSK}}) == ("w2", WHSK)
    assert secrets_from_response({"data": {"webhookId": "w3"}}) == ("w3", None)
