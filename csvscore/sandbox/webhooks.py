"""The sandbox's webhooks: subscriptions, a deterministic scorer, signed events, and faults.

- ``POST /webhooks`` creates a subscription and shows its secret once (``whsec_`` style: a flat
  answer, as in TitanX's guide; ``wh_sk`` style: wrapped in ``payload``, as in its OpenAPI page).
  ``POST /webhooks/{id}/active|inactive`` enables or disables one. The real API requires https;
  the sandbox also takes ``http://`` on loopback.
- When a job is created while a subscription is active, the job stays ``Processing`` until the
  scorer (on the delivery thread) has scored it: then ``Finalized`` (``Not Enriched`` when no
  contact was accepted), one ``job.contact.scored`` per accepted contact and a
  ``job.completed`` go out, signed, to every active subscription that asked for them.
- The scorer is deterministic: a phone's status comes from a hash of its E.164 number, the lead
  status is the best of them; so tests can predict every cell (:func:`phone_status`).
- Signing is written out here (``base64(HMAC-SHA256(key, body))``) rather than imported from
  csvscore, so the receiver's verifier is tested against an independent statement of the rule;
  ``key_derivation`` says how the key comes from the secret (the real one is unknown).

Faults (``webhook_faults``, each ``NAME`` or ``NAME:N`` = every N-th contact event, default 1):
``duplicate`` (sent twice, same id), ``reorder`` (a job's events shuffled), ``bad_signature``,
``503_then_ok`` (delivered, but the sender sees a 503 and retries), ``never`` (the result never
comes), ``foreign`` (N events for contacts the file never sent, as TitanX sends for contacts
scored in its app), ``completed_early`` (``job.completed`` before the contact events),
``no_completed``, ``renumber`` (phones returned in other slots and another format),
``no_job_id`` (payloads without ``jobId``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from csvscore.fields import PHONE_SLOTS
from csvscore.sandbox.delivery import DeliveryWorker, Outgoing, RetryPolicy

SCORED = "job.contact.scored"
COMPLETED = "job.completed"
EVENTS = (SCORED, COMPLETED)
RUNNING = "Processing"  # not documented by TitanX; clients must treat unknown as not finished
FINALIZED = "Finalized"
NOT_ENRICHED = "Not Enriched"
# The sandbox's own statement of the tiers (placeholders until a real payload is seen),
# best first.
STATUSES = ("P1", "P2", "P3", "IVR", "Bad Data")
FAULTS = (
    "duplicate",
    "reorder",
    "bad_signature",
    "503_then_ok",
    "never",
    "foreign",
    "completed_early",
    "no_completed",
    "renumber",
    "no_job_id",
)
PREFIXES = ("whsec_", "wh_sk_")


def parse_faults(items: list[str]) -> dict[str, int]:
    """``["duplicate:3", "reorder"]`` -> ``{"duplicate": 3, "reorder": 1}``; ValueError: unknown."""
    out: dict[str, int] = {}
    for item in items:
        name, _, n = item.strip().partition(":")
        if name not in FAULTS:
            raise ValueError(f"unknown webhook fault {name!r}; use one of: {', '.join(FAULTS)}")
        if n and (not n.isdigit() or int(n) < 1):
            raise ValueError(f"webhook fault {item!r}: N must be a positive whole number")
        out[name] = int(n or 1)
    return out


def phone_status(e164: str) -> str:
    """The sandbox's status for a number: a stable function of its digits."""
    digest = hashlib.sha256(e164.strip().encode("utf-8")).digest()
    return STATUSES[digest[0] % len(STATUSES)]


def lead_status(statuses: list[str]) -> str | None:
    """The best of the statuses (the docs: "the highest scoring status across all numbers")."""
    known = [s for s in statuses if s in STATUSES]
    return min(known, key=STATUSES.index) if known else None


def hmac_key(secret: str, derivation: str) -> bytes:
    rest = next((secret[len(p) :] for p in PREFIXES if secret.startswith(p)), secret)
    if derivation == "utf8":
        return secret.encode("utf-8")
    if derivation == "stripped":
        return rest.encode("utf-8")
    if derivation == "base64":
        return base64.b64decode(rest + "=" * (-len(rest) % 4))
    raise ValueError(f"unknown key derivation {derivation!r}")


def signature(body: bytes, secret: str, derivation: str) -> str:
    digest = hmac.new(hmac_key(secret, derivation), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def new_secret(style: str) -> str:
    if style == "wh_sk":
        alphabet = string.ascii_letters + string.digits
        return "wh_sk_" + "".join(secrets.choice(alphabet) for _ in range(48))
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@dataclass
class Subscription:
    id: str
    name: str
    url: str
    events: list[str]
    status: str  # "active" | "inactive"
    secret: str
    created_ms: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "status": self.status,
            "createdAt": self.created_ms,
        }


class WebhookBadRequest(Exception):
    """A webhook management request the sandbox refuses with 400."""


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise WebhookBadRequest("url is required")
    parts = urlsplit(url.strip())
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" and parts.hostname:
        return url.strip()
    if parts.scheme == "http" and loopback:
        return url.strip()  # sandbox only: the real API requires HTTPS
    raise WebhookBadRequest("HTTPS Required: Your webhook URL must use HTTPS")


@dataclass
class WebhookSettings:
    secret_style: str = "whsec"  # "whsec" (flat answer) | "wh_sk" (wrapped in payload)
    key_derivation: str = "utf8"  # how TitanX (simulated) makes the HMAC key from the secret
    faults: dict[str, int] = field(default_factory=dict)
    accepts_job_completed: bool = True
    seed: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Webhooks:
    """Subscriptions and the scorer. ``set_job_status`` updates the job in the sandbox state."""

    def __init__(
        self,
        settings: WebhookSettings,
        set_job_status: Callable[[str, str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._set_job_status = set_job_status
        self._clock = clock
        self._lock = threading.Lock()
        self._subs: dict[str, Subscription] = {}
        self._rng = random.Random(settings.seed)
        self._contact_events = 0
        self._worker: DeliveryWorker | None = None

    @property
    def worker(self) -> DeliveryWorker:
        """The delivery thread, started on first use (most sandboxes never need it)."""
        with self._lock:
            if self._worker is None:
                self._worker = DeliveryWorker(self.settings.retry)
            return self._worker

    # -- management API ------------------------------------------------------------------------

    def create(self, body: Any) -> dict[str, Any]:
        """Create a subscription from a ``POST /webhooks`` body; the answer shows the secret."""
        if not isinstance(body, dict):
            raise WebhookBadRequest("Request body must be a JSON object")
        url = _check_url(body.get("url"))
        events = body.get("events", body.get("eventTypes", [SCORED]))
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) for e in events)
        ):
            raise WebhookBadRequest("events must be a non-empty array of event names")
        allowed = EVENTS if self.settings.accepts_job_completed else (SCORED,)
        bad = [e for e in events if e not in allowed]
        if bad:
            raise WebhookBadRequest(f"events: unsupported event type {bad[0]}")
        status = body.get("status", "active")
        if status not in ("active", "inactive"):
            raise WebhookBadRequest("status must be active or inactive")
        sub = Subscription(
            id=str(uuid.uuid4()),
            name=str(body.get("name") or "csvscore"),
            url=url,
            events=list(dict.fromkeys(events)),
            status=status,
            secret=new_secret(self.settings.secret_style),
            created_ms=int(self._clock() * 1000),
        )
        with self._lock:
            self._subs[sub.id] = sub
        shown = {**sub.public(), "secret": sub.secret}
        return {"payload": shown} if self.settings.secret_style == "wh_sk" else shown

    def set_status(self, sub_id: str, status: str) -> dict[str, Any] | None:
        with self._lock:
            sub = self._subs.get(sub_id)
            if sub is None:
                return None
            sub.status = status
            return sub.public()

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.public() for s in self._subs.values()]

    def active(self) -> list[Subscription]:
        with self._lock:
            return [s for s in self._subs.values() if s.status == "active"]

    def subscription(self, sub_id: str) -> Subscription | None:
        with self._lock:
            return self._subs.get(sub_id)

    # -- scoring -------------------------------------------------------------------------------

    def job_created(self, job_id: str, accepted: list[dict[str, Any]]) -> None:
        """Score the job on the delivery thread; the job is ``Processing`` until then."""
        self.worker.run_task(lambda: self._score_job(job_id, accepted))

    def _every(self, fault: str, n: int) -> bool:
        step = self.settings.faults.get(fault)
        return step is not None and n % step == 0

    def scored_payload(self, contact: Mapping[str, Any], job_id: str, n: int) -> dict[str, Any]:
        """The scored contact: the contact as sent, each phone's status, the lead status."""
        payload = {k: v for k, v in contact.items() if not k.endswith(("Status",))}
        numbers = [(slot, str(contact[slot])) for slot in PHONE_SLOTS if contact.get(slot)]
        statuses = []
        for slot, number in numbers:
            status = phone_status(_digits_e164(number))
            statuses.append(status)
            payload[f"{slot}Status"] = status
        if self._every("renumber", n) and numbers:
            # Same numbers, other slots (reversed) and the national format.
            for slot in PHONE_SLOTS:
                payload.pop(slot, None)
                payload.pop(f"{slot}Status", None)
            for (slot, _), (_, number), status in zip(
                numbers, reversed(numbers), reversed(statuses), strict=True
            ):
                payload[slot] = _national(number)
                payload[f"{slot}Status"] = status
        lead = lead_status(statuses)
        if lead is not None:
            payload["leadStatus"] = lead
        if not self._every("no_job_id", n):
            payload["jobId"] = job_id
        return payload

    def _score_job(self, job_id: str, accepted: list[dict[str, Any]]) -> list[Outgoing]:
        faults = self.settings.faults
        events: list[tuple[str, dict[str, Any], bool, bool, str | None]] = []
        for contact in accepted:
            with self._lock:
                self._contact_events += 1
                n = self._contact_events
            if self._every("never", n):
                continue
            payload = self.scored_payload(contact, job_id, n)
            key = contact.get("customerContactId")
            events.append(
                (
                    SCORED,
                    payload,
                    self._every("bad_signature", n),
                    self._every("503_then_ok", n),
                    key,
                )
            )
            if self._every("duplicate", n):
                events.append(events[-1])
        for i in range(faults.get("foreign", 0)):
            stranger = {
                "customerContactId": f"app-{uuid.uuid4().hex[:12]}",
                "firstName": f"App{i}",
                "lastName": "Contact",
                "phone": "+12025550199",
            }
            events.append((SCORED, self.scored_payload(stranger, job_id, 0), False, False, None))
        if "reorder" in faults:
            self._rng.shuffle(events)
        final = FINALIZED if accepted else NOT_ENRICHED
        if "no_completed" not in faults:
            done = {"jobId": job_id, "jobStatus": final}
            item = (COMPLETED, done, False, False, None)
            if "completed_early" in faults:
                events.insert(0, item)
            else:
                events.append(item)
        self._set_job_status(job_id, final)
        out: list[Outgoing] = []
        ids: dict[int, str] = {}
        for sub in self.active():
            for event in events:
                event_type, payload, bad_sig, fake_503, key = event
                if event_type not in sub.events:
                    continue
                # A duplicate is the same event: same id and the same bytes.
                event_id = ids.setdefault(id(event), str(uuid.uuid4()))
                body = json.dumps(
                    {
                        "payload": payload,
                        "eventType": event_type,
                        "timestamp": int(self._clock() * 1000),
                        "apiVersion": "v2",
                        "id": event_id,
                    },
                    separators=(",", ":"),
                ).encode("utf-8")
                secret = new_secret(self.settings.secret_style) if bad_sig else sub.secret
                derivation = "utf8" if bad_sig else self.settings.key_derivation
                out.append(
                    Outgoing(
                        url=sub.url,
                        body=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-TitanX-Signature": signature(body, secret, derivation),
                            "User-Agent": "TitanX-Webhooks/sandbox",
                        },
                        event_id=event_id,
                        event_type=event_type,
                        key=key,
                        job_id=job_id,
                        fake_503=fake_503,
                    )
                )
        return out

    def close(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()


def _digits_e164(number: str) -> str:
    """E.164 of a US number as the sandbox received it (csvscore sends E.164 already)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.strip().startswith("+"):
        return "+" + digits
    return "+1" + digits[-10:] if len(digits) >= 10 else "+" + digits


def _national(number: str) -> str:
    digits = _digits_e164(number)[-10:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else number
