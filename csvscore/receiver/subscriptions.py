"""TitanX webhook subscriptions for a receiver: create one (its secret straight into the secrets
file, never shown), enable or disable it, and send a signed test event.

The endpoint a subscription feeds is read from its URL: ``.../hooks/titanx`` is ``default``,
``.../hooks/titanx/NAME`` is ``NAME``. Plain ``http://`` is accepted only on loopback (the
sandbox); TitanX itself requires HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from csvscore.api.client import TitanXClient
from csvscore.api.errors import UnexpectedResponse
from csvscore.api.receiver import post_signed
from csvscore.api.webhooks import CONTACT_SCORED, JOB_COMPLETED, build_envelope
from csvscore.errors import ApiError, ConfigError
from csvscore.receiver.secretfile import DEFAULT_ENDPOINT, SecretFile, check_endpoint

TEST_KEY_PREFIX = "csvscore-webhook-test-"


def endpoint_of(url: str) -> str:
    """The receiver endpoint a hook URL names; ConfigError for a URL that is not one."""
    parts = urlsplit(url.strip())
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ConfigError(f"not a webhook URL: {url!r}")
    if parts.scheme == "http" and not loopback:
        raise ConfigError(f"TitanX requires https:// for webhook URLs (got {url!r})")
    segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
    if segments[-2:] == ["hooks", "titanx"]:
        return DEFAULT_ENDPOINT
    if len(segments) >= 3 and segments[-3:-1] == ["hooks", "titanx"]:
        return check_endpoint(segments[-1])
    raise ConfigError(
        f"the URL should end in /hooks/titanx or /hooks/titanx/NAME (got {parts.path or '/'!r})"
    )


@dataclass(frozen=True)
class Created:
    webhook_id: str | None
    endpoint: str
    fingerprint: str
    events: list[str]
    answer: dict[str, Any]  # TitanX's answer without the secret


def create_subscription(
    client: TitanXClient, url: str, secrets: SecretFile, *, name: str = "csvscore receiver"
) -> Created:
    """Subscribe ``url`` to scored contacts (and job completions when TitanX takes them).

    The secret goes into ``secrets`` before this returns; if TitanX sends none, ApiError says to
    delete and recreate the subscription (the docs: the secret is shown only once).
    """
    endpoint = endpoint_of(url)
    events = [CONTACT_SCORED, JOB_COMPLETED]
    try:
        webhook_id, secret, answer = client.create_webhook(url, events, name=name)
    except UnexpectedResponse as exc:
        if exc.status not in (400, 422):
            raise
        # The create page's enum lists only job.contact.scored: ask for that alone.
        events = [CONTACT_SCORED]
        webhook_id, secret, answer = client.create_webhook(url, events, name=name)
    if not secret:
        raise ApiError(
            f"TitanX created webhook {webhook_id or '(no id)'} but its answer had no secret, "
            "so deliveries cannot be verified: delete it in TitanX and run this again"
        )
    info = secrets.add(endpoint, secret, webhook_id=webhook_id, note=f"subscription for {url}")
    shown = answer if isinstance(answer, dict) else {}
    return Created(webhook_id, endpoint, info.fingerprint, events, shown)


def test_event_body(now_ms: int | None = None) -> tuple[str, bytes]:
    """A synthetic, documented-shape ``job.contact.scored`` event: (its key, the body)."""
    key = TEST_KEY_PREFIX + uuid.uuid4().hex[:8]
    payload = {
        "customerContactId": key,
        "firstName": "Webhook",
        "lastName": "Test",
        "phone": "+12025550123",
        "phoneStatus": "P1",
        "leadStatus": "P1",
        "jobId": "csvscore-webhook-test",
    }
    ts = now_ms if now_ms is not None else int(time.time() * 1000)
    return key, build_envelope(payload, CONTACT_SCORED, str(uuid.uuid4()), ts)


def send_test_event(
    hook_url: str, secrets: SecretFile, *, derivation: str = "utf8"
) -> tuple[int, str, str]:
    """Sign a test event with the endpoint's newest secret and POST it: (status, answer, key)."""
    endpoint = endpoint_of(hook_url)
    found = secrets.secrets_for(endpoint)
    if not found:
        raise ConfigError(
            f"no webhook secret for endpoint {endpoint!r} in {secrets.path}; run "
            "`csvscore webhook create` (or `csvscore receiver secret add`) first"
        )
    key, body = test_event_body()
    status, answer = post_signed(hook_url, body, found[0], derivation=derivation)
    with contextlib.suppress(ValueError, AttributeError):
        answer = json.loads(answer).get("status", answer)
    return status, str(answer), key
