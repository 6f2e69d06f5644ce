"""TitanX's webhook contract, pure: signatures, secret key derivations and the envelope.

No network and no ``requests`` here: the receiver, the sandbox's tests and ``webhook test`` all
use it. What TitanX documents (``titanx-api.md``, section on webhooks): the header
``X-TitanX-Signature`` is ``base64(HMAC-SHA256(webhook_secret, raw_body))`` and the body is an
envelope ``{payload, eventType, timestamp (ms), apiVersion, id}``.

What it does not document, and how this module absorbs it:

- *The HMAC key.* The secret comes as ``whsec_...`` or ``wh_sk_...``; whether the key is the
  whole string, the part after the prefix, or that part base64-decoded (the Standard Webhooks
  convention) is unknown. :func:`verify` tries those :data:`DERIVATIONS` in that order and says
  which one matched, so the receiver can pin it (all three come from the same secret, so trying
  them adds no way in for an attacker).
- *The envelope's spelling.* Keys are looked up under a few spellings; a body with no event type
  that looks like a contact is taken as a scored contact (a ``callbackUrl`` delivery may be
  one); an envelope without an id gets one from the body's SHA-256, so storing stays idempotent.
- *The timestamp unit.* Milliseconds per the docs; a value that can only be seconds, or an ISO
  8601 string, is converted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SIGNATURE_HEADER = "X-TitanX-Signature"
CONTACT_SCORED = "job.contact.scored"
JOB_COMPLETED = "job.completed"
KNOWN_EVENTS = (CONTACT_SCORED, JOB_COMPLETED)
SECRET_PREFIXES = ("whsec_", "wh_sk_", "whsk_")

# Key derivations, in the order they are tried (the order: as given first).
UTF8 = "utf8"  # the whole secret, prefix included, as UTF-8 bytes
STRIPPED = "stripped"  # the part after a known prefix, as UTF-8 bytes
BASE64 = "base64"  # the part after a known prefix, base64-decoded (Standard Webhooks, Svix)
DERIVATIONS = (UTF8, STRIPPED, BASE64)

_SIG_PREFIX = re.compile(r"^(?:sha256=|v1[,=])", re.IGNORECASE)


class EnvelopeError(ValueError):
    """A signed body that is not a usable webhook envelope (kept aside, never retried)."""


# -- keys and signatures -------------------------------------------------------------------------


def _strip_prefix(secret: str) -> str | None:
    for prefix in SECRET_PREFIXES:
        if secret.startswith(prefix):
            return secret[len(prefix) :]
    return None


def _b64decode_loose(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional; None if it is not base64 at all."""
    cleaned = text.strip()
    if not cleaned or not re.fullmatch(r"[A-Za-z0-9+/_-]+=*", cleaned):
        return None
    cleaned = cleaned.rstrip("=")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


def derive_key(secret: str, derivation: str) -> bytes | None:
    """The HMAC key ``derivation`` makes from ``secret``, or None when it does not apply.

    ``stripped`` and ``base64`` apply only to a secret with a known prefix, and ``base64``
    only when the remainder decodes.
    """
    secret = secret.strip()
    if derivation == UTF8:
        return secret.encode("utf-8")
    rest = _strip_prefix(secret)
    if rest is None or not rest:
        return None
    if derivation == STRIPPED:
        return rest.encode("utf-8")
    if derivation == BASE64:
        return _b64decode_loose(rest)
    raise ValueError(f"unknown key derivation {derivation!r}; use one of {', '.join(DERIVATIONS)}")


def candidate_keys(secret: str) -> list[tuple[str, bytes]]:
    """(derivation, key) for every derivation that applies to ``secret``, in trial order."""
    out: list[tuple[str, bytes]] = []
    for derivation in DERIVATIONS:
        key = derive_key(secret, derivation)
        if key is not None and all(key != k for _, k in out):
            out.append((derivation, key))
    return out


def sign(body: bytes, secret: str, derivation: str = UTF8) -> str:
    """The ``X-TitanX-Signature`` value for ``body``: base64(HMAC-SHA256(key, body)).

    For the sandbox and ``csvscore webhook test``; ``derivation`` picks how the key is made.
    """
    key = derive_key(secret, derivation)
    if key is None:
        raise ValueError(f"derivation {derivation!r} does not apply to this secret")
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def _signatures(header: str | None) -> list[bytes]:
    """The digests a header carries: base64 (documented), tolerating prefixes, lists and hex."""
    if not header:
        return []
    found: list[bytes] = []
    for part in re.split(r"[\s,]+", header.strip()):
        part = _SIG_PREFIX.sub("", part.strip())
        if not part or part.lower() in ("v1", "sha256"):
            continue
        # 64 hex digits are also valid base64 characters: hex is tried first (a base64
        # SHA-256 is 44 characters, so the two never collide).
        if re.fullmatch(r"[0-9a-fA-F]{64}", part):
            digest: bytes | None = bytes.fromhex(part)
        else:
            digest = _b64decode_loose(part)
        if digest is not None and len(digest) == hashlib.sha256().digest_size:
            found.append(digest)
    return found


@dataclass(frozen=True)
class Verified:
    """Which secret (its index in the list given) and which derivation verified a body."""

    secret_index: int
    derivation: str


def fingerprint(secret: str) -> str:
    """A short public name for a secret (for pins and listings): never the secret itself."""
    return hashlib.sha256(b"csvscore-secret:" + secret.strip().encode("utf-8")).hexdigest()[:16]


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    pinned: Mapping[str, str] | None = None,
) -> Verified | None:
    """Check ``header`` against ``body`` with each secret; which one verified, or None.

    Verified over the raw bytes (never a re-serialised JSON) with constant-time comparisons.
    ``pinned`` maps a secret's :func:`fingerprint` to the derivation already seen to verify it:
    for such a secret only that derivation is tried.
    """
    digests = _signatures(header)
    if not digests:
        return None
    pinned = pinned or {}
    for index, secret in enumerate(secrets):
        pin = pinned.get(fingerprint(secret))
        for derivation, key in candidate_keys(secret):
            if pin is not None and derivation != pin:
                continue
            mac = hmac.new(key, body, hashlib.sha256).digest()
            # Compare against every digest the header carries, without stopping early.
            if any([hmac.compare_digest(mac, d) for d in digests]):
                return Verified(index, derivation)
    return None


# -- the envelope ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """One webhook body, read defensively.

    ``event_id`` is the envelope ``id`` (or ``sha256:<hex of the body>`` when it has none);
    ``event_ms`` the event time in Unix milliseconds (None when missing or unreadable);
    ``payload`` the event's object; ``assumed`` says what was guessed (empty when the body was
    exactly as documented).
    """

    event_id: str
    event_type: str
    event_ms: int | None
    api_version: str | None
    payload: dict[str, Any]
    assumed: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.event_type in KNOWN_EVENTS


def _pick(obj: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in obj and obj[name] not in (None, ""):
            return obj[name]
    lowered = {k.lower().replace("_", ""): v for k, v in obj.items() if isinstance(k, str)}
    for name in names:
        value = lowered.get(name.lower().replace("_", ""))
        if value not in (None, ""):
            return value
    return None


def to_millis(value: Any) -> int | None:
    """An event time as Unix milliseconds: ms (documented), seconds, or ISO 8601; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return to_millis(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    if isinstance(value, (int, float)):
        # Below 10^11 a value can only be seconds (10^11 ms is 1973; 10^11 s is year 5138).
        return int(value * 1000) if abs(value) < 1e11 else int(value)
    return None


def _looks_like_contact(obj: Mapping[str, Any]) -> bool:
    return any(_pick(obj, k) is not None for k in ("customerContactId", "firstName", "phone"))


def parse_envelope(body: bytes) -> Envelope:
    """Read a (verified) webhook body; :class:`EnvelopeError` when it cannot be used at all."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"the body is not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the body is not a JSON object")
    assumed: list[str] = []
    raw_id = _pick(data, "id", "eventId", "webhookId", "deliveryId")
    if isinstance(raw_id, (str, int)) and str(raw_id).strip():
        event_id = str(raw_id).strip()[:200]
    else:
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
        assumed.append("no id: keyed by the body's SHA-256")
    event_type = _pick(data, "eventType", "event_type", "type", "event")
    payload = _pick(data, "payload", "data")
    if isinstance(payload, str):  # a payload sent as a JSON string inside the JSON
        try:
            payload = json.loads(payload)
            assumed.append("payload was a JSON string")
        except ValueError:
            payload = None
    if payload is None and event_type is None and _looks_like_contact(data):
        payload, event_type = data, CONTACT_SCORED
        assumed.append("no envelope: the body taken as a scored contact")
    if not isinstance(payload, dict):
        raise EnvelopeError("the body has no payload object")
    # A payload wrapping the contact once more ({"contact": {...}}) is unwrapped.
    inner = _pick(payload, "contact")
    if isinstance(inner, dict) and not _looks_like_contact(payload):
        payload = {**inner, **{k: v for k, v in payload.items() if k != "contact"}}
        assumed.append("payload.contact unwrapped")
    if not isinstance(event_type, str) or not event_type.strip():
        if _pick(payload, "jobStatus") is not None and not _looks_like_contact(payload):
            event_type = JOB_COMPLETED
        else:
            event_type = CONTACT_SCORED
        assumed.append(f"no eventType: taken as {event_type}")
    event_type = event_type.strip()
    raw_ts = _pick(data, "timestamp", "createdAt", "eventTime", "time")
    event_ms = to_millis(raw_ts)
    if event_ms is None:
        assumed.append("no usable timestamp")
    version = _pick(data, "apiVersion", "api_version", "version")
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        event_ms=event_ms,
        api_version=str(version) if version is not None else None,
        payload=payload,
        assumed=tuple(assumed),
    )


def build_envelope(
    payload: Mapping[str, Any], event_type: str, event_id: str, timestamp_ms: int
) -> bytes:
    """A body exactly as documented (for the sandbox's tests and ``webhook test``)."""
    envelope = {
        "payload": dict(payload),
        "eventType": event_type,
        "timestamp": timestamp_ms,
        "apiVersion": "v2",
        "id": event_id,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def job_fields(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(jobId, jobStatus) of a ``job.completed`` payload, read defensively."""
    job_id = _pick(payload, "jobId", "job_id", "id")
    status = _pick(payload, "jobStatus", "job_status", "status")
    return (
        str(job_id) if job_id is not None else None,
        str(status) if status is not None else None,
    )


def secrets_from_response(body: Any) -> tuple[str | None, str | None]:
    """(webhook id, secret) from a ``POST /webhooks`` answer, flat or wrapped in payload/data.

    Both shapes appear in TitanX's docs (a flat object, and one wrapped in ``payload``).
    """
    candidates: Iterable[Any] = [body]
    if isinstance(body, dict):
        candidates = [body, *(body.get(k) for k in ("payload", "data", "webhook"))]
    webhook_id = secret = None
    for obj in candidates:
        if not isinstance(obj, dict):
            continue
        secret = secret or _pick(obj, "secret", "webhookSecret", "signingSecret")
        webhook_id = webhook_id or _pick(obj, "id", "webhookId", "_id")
    return (
        str(webhook_id) if webhook_id is not None else None,
        str(secret) if isinstance(secret, str) else None,
    )
