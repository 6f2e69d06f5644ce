"""What the receiver does with one delivery, whatever serves it over HTTP.

The answer is the contract with TitanX's retries (design/scores.md C.6):

====================================================  ======  ===========================
situation                                             status  afterwards
====================================================  ======  ===========================
verified, stored (new or a duplicate id)              200     scores readable at once
verified but unusable (not JSON, unknown event...)    200     kept aside, ``reprocess``
missing or wrong signature, or no secret for it yet   401     quarantined (bounded)
over 1 MiB                                            413     (the HTTP layer)
database busy, locked, full or unreachable            503     TitanX retries
====================================================  ======  ===========================

A body is verified over its raw bytes before anything parses it. A verified delivery is stored
idempotently on its envelope id, with its raw body, and parsed into a result in the same
transaction, committed before the 200 goes out. An event whose signed timestamp lies outside
[now - 4 days, now + 5 min] is stored as ``stale`` and not applied (TitanX retries for 3 days;
anything older can only be a replay, and the timestamp is inside the signed body).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from csvscore.api.webhooks import (
    CONTACT_SCORED,
    JOB_COMPLETED,
    EnvelopeError,
    fingerprint,
    job_fields,
    parse_envelope,
    verify,
)
from csvscore.errors import ConfigError
from csvscore.receiver.secretfile import SecretFile
from csvscore.receiver.store import Delivery, Store, StoreUnavailable
from csvscore.scores.contact import read_scored_contact

log = logging.getLogger("csvscore.receiver")

MAX_BODY = 1024 * 1024
STALE_AFTER_MS = 4 * 86_400_000
FUTURE_SKEW_MS = 5 * 60_000


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and a small JSON body (never echoing what was received)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class QuarantineBounds:
    max_rows: int = 5000
    max_bytes: int = 64 * 1024 * 1024


def classify(
    body: bytes, endpoint: str, received_ms: int, *, event_id_hint: str | None = None
) -> Delivery:
    """Parse a verified body into the :class:`Delivery` to store (never raises)."""
    try:
        env = parse_envelope(body)
    except EnvelopeError as exc:
        import hashlib

        return Delivery(
            event_id=event_id_hint or "sha256:" + hashlib.sha256(body).hexdigest(),
            endpoint=endpoint,
            received_ms=received_ms,
            body=body,
            state="unparsed",
            note=str(exc),
        )
    base: dict[str, Any] = {
        "event_id": env.event_id,
        "endpoint": endpoint,
        "received_ms": received_ms,
        "body": body,
        "event_type": env.event_type,
        "event_ms": env.event_ms,
        "api_version": env.api_version,
    }
    note = "; ".join(env.assumed) or None
    if env.event_ms is not None and not (
        received_ms - STALE_AFTER_MS <= env.event_ms <= received_ms + FUTURE_SKEW_MS
    ):
        return Delivery(**base, state="stale", note="event time outside the accepted window")
    if env.event_type == CONTACT_SCORED:
        try:
            result = read_scored_contact(
                env.payload, event_id=env.event_id, event_ms=env.event_ms or received_ms
            )
        except Exception as exc:  # a payload shape nobody foresaw: keep it, answer 200
            note = f"scored contact not readable ({type(exc).__name__})"
            return Delivery(**base, state="unparsed", note=note)
        if not result.key:
            return Delivery(**base, state="ignored", note="scored contact without a key")
        return Delivery(**base, state="applied", note=note, result=result)
    if env.event_type == JOB_COMPLETED:
        job_id, status = job_fields(env.payload)
        if not job_id:
            return Delivery(**base, state="ignored", note="job.completed without a job id")
        return Delivery(**base, state="applied", note=note, job=(job_id, status))
    return Delivery(**base, state="ignored", note=f"unknown event type {env.event_type!r}"[:200])


class Receiver:
    """Verifies, stores and answers deliveries; also re-verifies the quarantine."""

    def __init__(
        self,
        store: Store,
        secrets: SecretFile,
        *,
        clock: Callable[[], float] = time.time,
        bounds: QuarantineBounds | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self._clock = clock
        self.bounds = bounds or QuarantineBounds()
        self._pins: dict[str, str] | None = None

    def _pinned(self, refresh: bool = False) -> dict[str, str]:
        if self._pins is None or refresh:
            self._pins = self.store.pins()
        return self._pins

    def _verify(
        self, endpoint: str, body: bytes, signature: str | None
    ) -> tuple[bool, tuple[str, str, str] | None]:
        secrets = self.secrets.secrets_for(endpoint)
        if not secrets:
            return False, None
        found = verify(body, signature, secrets, self._pinned())
        if found is None and self._pins:
            # Another process (reverify) may have pinned since: read the pins once more.
            found = verify(body, signature, secrets, self._pinned(refresh=True))
        if found is None:
            return False, None
        fp = fingerprint(secrets[found.secret_index])
        if fp in (self._pins or {}):
            return True, None
        if self._pins is not None:
            self._pins[fp] = found.derivation
        log.info(
            "endpoint %s: secret %s verifies with key derivation %s", endpoint, fp, found.derivation
        )
        return True, (fp, endpoint, found.derivation)

    def deliver(self, endpoint: str, body: bytes, signature: str | None) -> Answer:
        """Handle one delivery (the body already capped at :data:`MAX_BODY`)."""
        received_ms = int(self._clock() * 1000)
        try:
            ok, pin = self._verify(endpoint, body, signature)
            if not ok:
                reason = (
                    "no signature"
                    if not signature
                    else "no secret for this endpoint"
                    if not self.secrets.secrets_for(endpoint)
                    else "signature does not verify"
                )
                self.store.quarantine(
                    endpoint,
                    body,
                    signature,
                    reason,
                    max_rows=self.bounds.max_rows,
                    max_bytes=self.bounds.max_bytes,
                )
                log.warning("endpoint %s: delivery refused (%s), quarantined", endpoint, reason)
                return Answer(401, {"error": "signature missing or invalid"})
            delivery = classify(body, endpoint, received_ms)
            stored = self.store.store_delivery(delivery, pin)
        except (StoreUnavailable, ConfigError) as exc:
            # ConfigError: the secrets file is unreadable. Both can be fixed without TitanX
            # resending anything new, so the answer is one TitanX retries.
            log.error("endpoint %s: answered 503: %s", endpoint, exc)
            return Answer(503, {"error": "storage unavailable; retry later"})
        outcome = (
            "duplicate" if not stored.new else ("stored" if stored.state == "applied" else "kept")
        )
        log.info(
            "endpoint %s: event %s %s (%s)", endpoint, delivery.event_id, outcome, stored.state
        )
        return Answer(200, {"status": outcome, "id": delivery.event_id})

    def reverify(self) -> tuple[int, int]:
        """Re-check every quarantined body with today's secrets: (released, still quarantined)."""
        released = left = 0
        self._pins = None
        for item in self.store.quarantined():
            ok, pin = self._verify(item.endpoint, item.body, item.signature)
            if not ok:
                left += 1
                continue
            delivery = classify(item.body, item.endpoint, item.received_ms)
            self.store.release(item.id, delivery, pin)
            released += 1
        return released, left

    def reprocess(self, states: tuple[str, ...] = ("unparsed", "ignored")) -> dict[str, int]:
        """Parse again the stored deliveries in ``states`` (after a parser update)."""
        counts: dict[str, int] = {}
        for event_id, endpoint, body, received_ms in self.store.deliveries_to_reprocess(states):
            delivery = classify(body, endpoint, received_ms, event_id_hint=event_id)
            if delivery.event_id != event_id:
                delivery = Delivery(**{**delivery.__dict__, "event_id": event_id})
            stored = self.store.replace_delivery(delivery)
            counts[stored.state] = counts.get(stored.state, 0) + 1
        return counts
