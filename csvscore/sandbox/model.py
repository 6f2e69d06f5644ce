"""The TitanX sandbox's model: configuration, rate limiter, validation, jobs, credits, records.

No HTTP here (that is :mod:`~csvscore.sandbox.server`): this module decides what the simulated API
answers and keeps what it received, so tests can assert e.g. how many times each
``customerContactId`` reached the "server". Everything is guarded by one lock.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import phonenumbers

from csvscore.api.ratelimit import TIER_SECONDS
from csvscore.fields import FIELD_NAMES, PHONE_SLOTS
from csvscore.sandbox.delivery import RetryPolicy
from csvscore.sandbox.webhooks import RUNNING, Webhooks, WebhookSettings, parse_faults

API_PREFIX = "/api/public/v2"
QUOTA_PATH = "/api/public/quota"
SCORING_TYPES = ("lightning", "titan")

# Faults that answer at once, before anything is created (besides any "NNN" status code).
FAULTS_BEFORE = ("html_502", "drop_before_create", "timeout_before_create")
# Faults that let the request be processed (job created, credits charged), then misbehave.
FAULTS_AFTER = (
    "500",
    "html_502_after_create",  # a gateway that lost the upstream's answer: job created, 502
    "503_after_create",
    "504_after_create",
    "inconsistent_200",  # a 200 whose counts do not add up (accepted > total)
    "non_json_500",
    "non_json_200",
    "bad_shape_200",
    "drop_after_create",
    "timeout_after_create",
    "drip_after_create",  # the answer comes one byte every drip_seconds
)
# How a path the API does not have is answered (a wrong base URL): JSON 404 as the API does,
# a web server's HTML 404 page, or a web app's HTML page with 200 (a catch-all route).
UNKNOWN_PATH_ANSWERS = ("json404", "html404", "html200")
LOW_CREDITS = "low_credits"  # empties the balance, then the request is processed normally
NO_FAULT = ("", "ok", "none")
_CONTACT_KEYS = frozenset((*FIELD_NAMES, "unmappedFields"))


def _person(contact: dict[str, Any]) -> tuple[str, str, frozenset[str]]:
    def fold(value: Any) -> str:
        return " ".join(str(value or "").split()).casefold()

    phones = frozenset(str(contact[s]) for s in PHONE_SLOTS if contact.get(s))
    return fold(contact.get("firstName")), fold(contact.get("lastName")), phones


def check_fault(fault: str) -> str:
    """Validate one fault name (``"NNN"`` or ``"NNN:message"`` for any 4xx/5xx, or a named one)."""
    code = fault.split(":", 1)[0]
    if fault in (*FAULTS_BEFORE, *FAULTS_AFTER, *NO_FAULT, LOW_CREDITS):
        return fault
    if code.isdigit() and 400 <= int(code) <= 599:
        return fault
    raise ValueError(
        f"unknown sandbox fault {fault!r}; use an HTTP status (e.g. '503' or '422:message') "
        f"or one of: {', '.join((*FAULTS_BEFORE, *FAULTS_AFTER, LOW_CREDITS))}"
    )


def strikes_after_create(fault: str) -> bool:
    """Whether a fault lets the job be created and charged first (any "500..." does)."""
    return fault in FAULTS_AFTER or fault.split(":", 1)[0] == "500"


@dataclass
class SandboxConfig:
    """Every knob of the simulated API (the defaults behave like a healthy, unlimited account)."""

    api_key: str = "sandbox-key"
    forbidden_key: str | None = None  # a key that is recognised but refused with 403
    credits: Decimal = Decimal("1000000")
    cost_per_phone: Decimal = Decimal("0.05")
    max_contacts: int = 1000
    latency: float = 0.0  # seconds added before answering each score request
    rate_per_second: int | None = None  # None = unlimited (and no headers for that tier)
    rate_per_minute: int | None = None
    rate_per_day: int | None = None
    send_retry_after: bool = False  # whether 429s carry Retry-After (unknown for the real API)
    reject_reason_key: str = "reason"  # the real key name is unknown
    shuffle_rejections: bool = False  # the real order is unknown
    # Scripted faults, consumed one per score POST that passes the limiter and authentication.
    faults: list[str] = field(default_factory=list)
    fault_every_n: int | None = None  # every n-th score POST gets a fault from random_faults
    fault_probability: float = 0.0  # or each score POST with this probability
    random_faults: tuple[str, ...] = ("503",)
    seed: int = 0  # for fault_probability, random_faults and shuffle_rejections
    hang_seconds: float = 60.0  # how long timeout_* faults hold the connection (until shutdown)
    drip_seconds: float = 2.0  # drip_after_create: seconds between two bytes of the answer
    echo_key_in_auth_errors: bool = False  # some servers echo the key: the client must hide it
    echo_key_in_rejections: bool = False  # rejection reasons quote the request's key
    unknown_path_answer: str = "json404"  # see UNKNOWN_PATH_ANSWERS
    # With rate_per_day: the daily window ends this many seconds after the sandbox starts
    # (default: at UTC midnight), so a test can say "the quota is spent, reset in 20 h".
    day_reset_in: float | None = None
    host: str = "127.0.0.1"
    port: int = 0
    clock: Callable[[], float] = time.time  # for rate-limit windows and createdAt
    # GET /jobs/{id} lists the job's contacts by customerContactId (undocumented in TitanX).
    job_contact_ids: bool = False
    # Webhooks (csvscore.sandbox.webhooks): the secret's style, how the simulated TitanX makes
    # its HMAC key from it (unknown for the real one), faults, and the compressed retry schedule.
    webhook_secret_style: str = "whsec"
    webhook_key_derivation: str = "utf8"
    webhook_faults: list[str] = field(default_factory=list)
    webhook_accepts_job_completed: bool = True
    webhook_retry_base: float = 0.05
    webhook_max_attempts: int = 40

    def __post_init__(self) -> None:
        if self.unknown_path_answer not in UNKNOWN_PATH_ANSWERS:
            raise ValueError(
                f"unknown_path_answer must be one of {', '.join(UNKNOWN_PATH_ANSWERS)}"
            )
        self.credits = Decimal(str(self.credits))
        self.cost_per_phone = Decimal(str(self.cost_per_phone))
        self.faults = [check_fault(f) for f in self.faults]
        self.random_faults = tuple(check_fault(f) for f in self.random_faults)
        parse_faults(self.webhook_faults)  # ValueError for an unknown one
        if self.webhook_secret_style not in ("whsec", "wh_sk"):
            raise ValueError("webhook_secret_style must be 'whsec' or 'wh_sk'")
        if self.webhook_key_derivation not in ("utf8", "stripped", "base64"):
            raise ValueError("webhook_key_derivation must be 'utf8', 'stripped' or 'base64'")

    def webhook_settings(self) -> WebhookSettings:
        return WebhookSettings(
            secret_style=self.webhook_secret_style,
            key_derivation=self.webhook_key_derivation,
            faults=parse_faults(self.webhook_faults),
            accepts_job_completed=self.webhook_accepts_job_completed,
            seed=self.seed,
            retry=RetryPolicy(base=self.webhook_retry_base, max_attempts=self.webhook_max_attempts),
        )


class FixedWindowLimiter:
    """Per-second/minute/day fixed windows aligned on the (injectable) clock; None = unlimited."""

    def __init__(
        self,
        limits: dict[str, int | None],
        clock: Callable[[], float],
        day_reset_in: float | None = None,
    ) -> None:
        self._limits = {tier: n for tier, n in limits.items() if n is not None}
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}  # tier -> (window index, count)
        # Windows are aligned on the epoch, except a daily one told to end at a given time.
        self._origin = {"Day": clock() + day_reset_in} if day_reset_in is not None else {}

    def hit(self) -> tuple[bool, dict[str, str], int | None]:
        """Count one request in every tier (refused ones too).

        Returns (allowed, headers for the answer, seconds until the exceeded tiers reset).
        Not thread-safe on its own: :class:`SandboxState` calls it under its lock.
        """
        now = self._clock()
        headers: dict[str, str] = {}
        exceeded: list[float] = []
        for tier, limit in self._limits.items():
            size = TIER_SECONDS[tier.lower()]
            origin = self._origin.get(tier, 0.0)
            index = math.floor((now - origin) / size)
            window, count = self._windows.get(tier, (index, 0))
            count = count + 1 if window == index else 1
            self._windows[tier] = (index, count)
            reset = origin + (index + 1) * size
            headers[f"X-RateLimit-Limit-{tier}"] = str(limit)
            headers[f"X-RateLimit-Remaining-{tier}"] = str(max(0, limit - count))
            headers[f"X-RateLimit-Reset-{tier}"] = str(math.ceil(reset))  # Unix seconds
            if count > limit:
                exceeded.append(reset - now)
        retry_after = max(1, math.ceil(max(exceeded))) if exceeded else None
        return not exceeded, headers, retry_after


@dataclass
class Job:
    job_id: str
    status: str  # "Processing" while a webhook job is scored, then "Finalized" | "Not Enriched"
    created_at: float  # Unix seconds (sandbox clock)
    total: int
    accepted: int
    scoring_type: str
    credits_charged: Decimal
    phone_count: int
    accepted_ids: list[str | None]  # customerContactId of each accepted contact
    rejected_ids: list[str | None]
    # Who was charged: (first name, last name, phones), folded as csvscore folds them.
    accepted_people: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        created = datetime.fromtimestamp(self.created_at, tz=timezone.utc)
        return {
            "jobId": self.job_id,
            "status": self.status,
            "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "totalRecordCount": self.total,
            "acceptedRecordCount": self.accepted,
            "scoringType": self.scoring_type,
        }


@dataclass
class ScoreRecord:
    """One score POST as received (contacts is None when the body was not a contact list)."""

    contacts: list[Any] | None
    fault: str | None  # set once the request passed the limiter and the key check
    status: int | None = None  # HTTP status answered; None: dropped, held, or not answered yet
    job_id: str | None = None
    api_key: str = ""  # the key the request carried (for echo_key_in_rejections)

    def contact_ids(self) -> list[Any]:
        return [c.get("customerContactId") for c in self.contacts or [] if isinstance(c, dict)]


@dataclass
class RequestRecord:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names


class BadRequest(Exception):
    """The score request is malformed: the whole request gets a 400 with this message."""


def is_valid_us_phone(value: str) -> bool:
    """True when ``value`` parses (default region US) to a valid number in the US.

    Deliberately not :mod:`~csvscore.contacts.phones`: the sandbox plays the server, so csvscore's
    own pre-check is tested against an independent statement of the API's rule, not against itself.
    """
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.region_code_for_number(number) == "US"
    )


def parse_score_body(raw: bytes, max_contacts: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """Validate a score request body; returns (contacts, scoringType) or raises BadRequest."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    unknown = sorted(set(body) - {"contacts", "scoringType"})
    if unknown:
        raise BadRequest(f"Unknown property: {unknown[0]}")
    scoring_type = body.get("scoringType", "lightning")
    if scoring_type not in SCORING_TYPES:
        raise BadRequest("scoringType must be one of: lightning, titan")
    contacts = body.get("contacts")
    if not isinstance(contacts, list):
        raise BadRequest("contacts must be an array of contact objects")
    if not 1 <= len(contacts) <= max_contacts:
        raise BadRequest(f"contacts must contain between 1 and {max_contacts} records")
    for i, contact in enumerate(contacts):
        _check_contact(i, contact)
    return contacts, scoring_type


def _check_contact(i: int, contact: Any) -> None:
    if not isinstance(contact, dict):
        raise BadRequest(f"contacts[{i}] must be an object")
    for key, value in contact.items():
        if key not in _CONTACT_KEYS:
            raise BadRequest(f"contacts[{i}]: unknown property {key}")
        if key == "unmappedFields":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise BadRequest(f"contacts[{i}].unmappedFields must be an object of strings")
        elif not isinstance(value, str):
            raise BadRequest(f"contacts[{i}].{key} must be a string")


def rejection_reason(contact: dict[str, Any], phones: int | None = None) -> str | None:
    """Why TitanX's per-contact rule rejects this contact, or None if it is accepted.

    ``phones`` is the contact's :func:`valid_phone_count` when the caller already has it.
    """
    problems = [
        f"{key} is required" for key in ("firstName", "lastName") if not _filled(contact, key)
    ]
    if not (valid_phone_count(contact) if phones is None else phones):
        problems.append("at least one valid US phone number is required")
    return "; ".join(problems) or None


def _filled(contact: dict[str, Any], key: str) -> bool:
    return bool(str(contact.get(key, "")).strip())


def valid_phone_count(contact: dict[str, Any]) -> int:
    """How many of phone..phone5 hold a valid US number (what is charged for)."""
    return sum(1 for slot in PHONE_SLOTS if is_valid_us_phone(str(contact.get(slot, ""))))


class SandboxState:
    """What the sandbox holds and received. Every method is thread-safe."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        # Notified whenever a score POST arrives or is answered, so tests can wait for
        # "the n-th request is in flight" instead of sleeping.
        self._changed = threading.Condition(self._lock)
        self._rng = random.Random(config.seed)
        self._credits = config.credits
        self._faults: deque[str] = deque(config.faults)
        self._get_faults: deque[int] = deque()
        self._score_posts = 0
        self._jobs: dict[str, Job] = {}
        self._scores: list[ScoreRecord] = []
        self._requests: list[RequestRecord] = []
        self._limiter = FixedWindowLimiter(
            {
                "Second": config.rate_per_second,
                "Minute": config.rate_per_minute,
                "Day": config.rate_per_day,
            },
            config.clock,
            config.day_reset_in,
        )
        self.webhooks = Webhooks(config.webhook_settings(), self.set_job_status, config.clock)

    # -- used by the HTTP handler ------------------------------------------------------------

    def record_request(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(RequestRecord(method, path, headers))

    def rate_limit(self) -> tuple[bool, dict[str, str], int | None]:
        """Count a request against every tier (see :meth:`FixedWindowLimiter.hit`)."""
        with self._lock:
            return self._limiter.hit()

    def add_faults(self, *faults: str) -> None:
        """Append faults to the scripted queue (e.g. mid-test)."""
        checked = [check_fault(f) for f in faults]
        with self._lock:
            self._faults.extend(checked)

    def add_get_faults(self, *statuses: str) -> None:
        """Answer the next GETs of jobs or quota with these HTTP statuses ("503"), one each."""
        for status in statuses:
            if not (status.isdigit() and 400 <= int(status) <= 599):
                raise ValueError(f"a GET fault is an HTTP status 400-599, not {status!r}")
        with self._lock:
            self._get_faults.extend(int(s) for s in statuses)

    def take_get_fault(self) -> int | None:
        with self._lock:
            return self._get_faults.popleft() if self._get_faults else None

    def record_score(self, contacts: list[Any] | None) -> ScoreRecord:
        """Record a score POST as received (before the limiter and the key check)."""
        record = ScoreRecord(contacts=contacts, fault=None)
        with self._lock:
            self._scores.append(record)
            self._changed.notify_all()
        return record

    def take_fault(self, record: ScoreRecord) -> str | None:
        """Pick the fault of a score POST that passed the limiter and the key check.

        The scripted queue comes first, then ``fault_every_n`` / ``fault_probability``.
        """
        with self._lock:
            self._score_posts += 1
            fault: str | None = None
            every_n = self.config.fault_every_n
            if self._faults:
                fault = self._faults.popleft()
            elif (every_n and self._score_posts % every_n == 0) or (
                self.config.fault_probability and self._rng.random() < self.config.fault_probability
            ):
                fault = self._rng.choice(self.config.random_faults)
            record.fault = None if fault in NO_FAULT else fault
            return record.fault

    def drain_credits(self) -> None:
        with self._lock:
            self._credits = Decimal(0)

    def top_up(self, credits: Decimal) -> None:
        """Add credits (a customer buying more after running out)."""
        with self._lock:
            self._credits += credits

    def score(
        self, record: ScoreRecord, contacts: list[dict[str, Any]], scoring_type: str
    ) -> tuple[int, dict[str, Any]]:
        """Apply the per-contact rule, charge credits and create the job; (status, body)."""
        # Validating a phone is the sandbox's main cost: do it once per contact.
        counts = [valid_phone_count(c) for c in contacts]
        reasons = [rejection_reason(c, n) for c, n in zip(contacts, counts, strict=True)]
        accepted = [c for c, r in zip(contacts, reasons, strict=True) if r is None]
        phones = sum(n for n, r in zip(counts, reasons, strict=True) if r is None)
        cost = self.config.cost_per_phone
        charge = cost * phones
        if self.config.echo_key_in_rejections and record.api_key:
            # Some servers quote the request back, key included: the client must hide it.
            reasons = [
                None if r is None else f"{r} (request authorised with key {record.api_key})"
                for r in reasons
            ]
        rejected = [
            {**c, self.config.reject_reason_key: r}
            for c, r in zip(contacts, reasons, strict=True)
            if r is not None
        ]
        # With a webhook subscription the job is scored later, on the delivery thread, and
        # stays in a running status until then; without one it is final at once.
        hooked = bool(self.webhooks.active())
        with self._lock:
            if charge > self._credits:
                return 402, {"message": "Insufficient credits"}
            self._credits -= charge
            job = Job(
                job_id=str(uuid.uuid4()),
                status=RUNNING if hooked else ("Finalized" if accepted else "Not Enriched"),
                created_at=self.config.clock(),
                total=len(contacts),
                accepted=len(accepted),
                scoring_type=scoring_type,
                credits_charged=charge,
                phone_count=phones,
                accepted_ids=[c.get("customerContactId") for c in accepted],
                rejected_ids=[c.get("customerContactId") for c in rejected],
                accepted_people=[_person(c) for c in accepted],
            )
            self._jobs[job.job_id] = job
            record.job_id = job.job_id
            remaining = self._credits
            if self.config.shuffle_rejections:
                self._rng.shuffle(rejected)
        if hooked:
            self.webhooks.job_created(job.job_id, accepted)
        error = {"rejectedRecordCount": len(rejected), "records": rejected} if rejected else None
        body = {
            "data": {
                "totalRecordCount": job.total,
                "acceptedRecordCount": job.accepted,
                "jobId": job.job_id,
            },
            "credits": {
                "creditsCharged": charge,
                "creditsRemaining": remaining,
                "costPerPhone": cost,
                "phoneCount": phones,
            },
            "error": error,
        }
        return 200, body

    def set_job_status(self, job_id: str, status: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.status = status

    def finish_score(self, record: ScoreRecord, status: int | None) -> None:
        with self._lock:
            record.status = status
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[ScoreRecord]], bool], timeout: float) -> bool:
        """Block until ``predicate(score_requests)`` holds (True) or ``timeout`` passes (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(list(self._scores)), timeout)

    def jobs_page(self, page: int, page_size: int) -> dict[str, Any]:
        with self._lock:
            newest_first = list(reversed(self._jobs.values()))
        start = (page - 1) * page_size
        return {
            "data": [j.to_json() for j in newest_first[start : start + page_size]],
            "page": page,
            "pageSize": page_size,
            "total": len(newest_first),
        }

    def job_json(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            body = job.to_json()
            if self.config.job_contact_ids:
                ids = [*job.accepted_ids, *job.rejected_ids]
                body["contacts"] = [{"customerContactId": i} for i in ids if i]
            return body

    def quota(self) -> dict[str, Any]:
        with self._lock:
            credits = self._credits
        config = self.config
        return {
            "plan": "Sandbox",
            "rateLimits": {
                "perSecond": config.rate_per_second,
                "perMinute": config.rate_per_minute,
                "perDay": config.rate_per_day,
            },
            "maxContactsPerRequest": config.max_contacts,
            "costPerPhone": config.cost_per_phone,
            "creditsRemaining": credits,
        }

    # -- for tests -----------------------------------------------------------------------------

    @property
    def credits(self) -> Decimal:
        with self._lock:
            return self._credits

    @property
    def score_requests(self) -> list[ScoreRecord]:
        """Every score POST received, in order (whatever was answered)."""
        with self._lock:
            return list(self._scores)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request received (not the /_sandbox/ ones), in order."""
        with self._lock:
            return list(self._requests)

    @property
    def jobs(self) -> list[Job]:
        """Jobs created, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def contact_id_counts(self) -> Counter[Any]:
        """How many times each customerContactId arrived in a score POST (any answer, 429 too)."""
        with self._lock:
            return Counter(cid for rec in self._scores for cid in rec.contact_ids())

    def job_contact_id_counts(self) -> Counter[Any]:
        """How many created jobs hold each customerContactId (what was processed and paid for)."""
        with self._lock:
            return Counter(
                cid for job in self._jobs.values() for cid in job.accepted_ids + job.rejected_ids
            )

    def charged_people(self) -> Counter[tuple[str, str, frozenset[str]]]:
        """How many created jobs charged each person (name and phones, whatever the file)."""
        with self._lock:
            return Counter(p for job in self._jobs.values() for p in job.accepted_people)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready view for ``GET /_sandbox/state`` (another process's tests)."""
        with self._lock:
            scores = [
                {
                    "customerContactIds": rec.contact_ids(),
                    "fault": rec.fault,
                    "status": rec.status,
                    "jobId": rec.job_id,
                }
                for rec in self._scores
            ]
            jobs = [
                {
                    **job.to_json(),
                    "creditsCharged": job.credits_charged,
                    "phoneCount": job.phone_count,
                    "acceptedContactIds": job.accepted_ids,
                    "rejectedContactIds": job.rejected_ids,
                }
                for job in self._jobs.values()
            ]
            return {
                "scoreRequests": scores,
                "jobs": jobs,
                "credits": self._credits,
                "requestCount": len(self._requests),
            }
