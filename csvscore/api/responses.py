"""Reading TitanX's answers: score results, job lists, error bodies and refusals (pure).

TitanX's bodies are only loosely documented, so everything here reads them defensively: a
message may be JSON of any shape, HTML or plain text; a rejected record's reason may be under
one of several keys; figures may be numbers or strings. Nothing here does HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from csvscore.api.errors import BatchRefused, OutcomeUnknown, UnexpectedResponse
from csvscore.errors import AuthError, CreditsError, CsvscoreError

MESSAGE_LIMIT = 300  # server messages are cut to this many characters
NO_REASON = "rejected by TitanX (no reason given)"
# Where a rejected record's reason may be (the real key is undocumented), in order of trust.
REASON_KEYS = ("reason", "rejectionReason", "message", "error", "errors")
# Where an error body's message may be.
MESSAGE_KEYS = ("message", "error", "detail", "errors", "title", "error_description", "msg")

_CREDITS_RE = re.compile(r"credit|balance|insufficient", re.IGNORECASE)
_TOO_LARGE_RE = re.compile(
    r"\b1,?000\b|too (large|many|big|long)|between 1 and \d+|"
    r"(contacts|records|batch|payload|body|request|entity)\b.{0,40}"
    r"\b(exceed|maximum|at most|size|limit)",
    re.IGNORECASE,
)
_HTML_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class Rejection:
    """One rejected contact as TitanX echoed it back."""

    record: dict[str, Any]  # the echoed contact, with the reason key(s) removed
    reason: str
    customer_contact_id: str | None  # the row key csvscore sent, if echoed


@dataclass
class ScoreResponse:
    """A parsed 2xx answer to ``POST /contacts/score``. Credit figures are Decimals."""

    job_id: str
    total: int
    accepted: int
    credits_charged: Decimal | None
    credits_remaining: Decimal | None
    cost_per_phone: Decimal | None
    phone_count: int | None
    rejected: list[Rejection] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _int(value: Any) -> int | None:
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def truncate(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line (runs of white space folded), cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _text(value: Any, depth: int = 0) -> str:
    """A human message from a JSON value of unknown shape (string, list, nested object)."""
    if depth > 5 or value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    if isinstance(value, list):
        parts = [_text(item, depth + 1) for item in value[:10]]
        return "; ".join(p for p in parts if p)
    if isinstance(value, dict):
        for key in MESSAGE_KEYS:
            text = _text(value.get(key), depth + 1)
            if text:
                where = value.get("field") or value.get("path") or value.get("loc")
                return f"{_text(where, depth + 1)}: {text}" if where else text
        # A field -> message(s) map, e.g. {"contacts": ["too many"]}.
        parts = [f"{k}: {_text(v, depth + 1)}" for k, v in list(value.items())[:10]]
        return "; ".join(p for p in parts if not p.endswith(": "))
    return ""


def parse_json(content: bytes) -> Any:
    """A JSON body, with fractional numbers as Decimal so credit figures stay exact."""
    return json.loads(content.decode("utf-8-sig"), parse_float=Decimal)


def message_from_body(content: bytes) -> str:
    """The server's message from an error body: JSON of any shape, HTML, or plain text."""
    text = content.decode("utf-8-sig", errors="replace").strip()
    if not text:
        return ""
    try:
        message = _text(json.loads(text))
    except ValueError:
        title = _HTML_TITLE_RE.search(text)
        message = title.group(1) if title else _TAG_RE.sub(" ", text)
    return truncate(message or text)


def is_too_large(status: int, message: str) -> bool:
    """Whether a refusal says the batch is too big (413, or a message about size/1000)."""
    return status == 413 or bool(_TOO_LARGE_RE.search(message))


def _rejection(entry: Any) -> Rejection:
    if not isinstance(entry, dict):
        return Rejection(record={}, reason=_text(entry) or NO_REASON, customer_contact_id=None)
    record = dict(entry)
    # Pop every reason-like key (none is a contact field), keep the first that says something.
    texts = [_text(record.pop(key)) for key in REASON_KEYS if key in record]
    reason = next((t for t in texts if t), NO_REASON)
    cid = record.get("customerContactId")
    if isinstance(cid, (int, Decimal)) and not isinstance(cid, bool):
        cid = str(cid)
    return Rejection(
        record=record,
        reason=truncate(reason),
        customer_contact_id=cid if isinstance(cid, str) and cid else None,
    )


def parse_score_response(body: Any, sent: Sequence[object] = ()) -> ScoreResponse:
    """Read a score answer defensively; ValueError if it lacks what proves a job exists.

    Only ``data.jobId`` is required. A missing ``totalRecordCount`` defaults to the number of
    contacts sent, a missing ``acceptedRecordCount`` to total minus rejected; missing credit
    figures are None.
    """
    if not isinstance(body, dict):
        raise ValueError("the answer is not a JSON object")
    data = body.get("data")
    if not isinstance(data, dict):
        raise ValueError("the answer has no 'data' object")
    job_id = data.get("jobId")
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        job_id = str(job_id)
    if not isinstance(job_id, str) or not job_id.strip():
        raise ValueError("the answer has no job id")
    credits = body.get("credits")
    if not isinstance(credits, dict):
        credits = {}
    error = body.get("error")
    entries: Any = error.get("records") if isinstance(error, dict) else error
    rejected = [_rejection(e) for e in entries] if isinstance(entries, list) else []
    rejected_count = _int(error.get("rejectedRecordCount")) if isinstance(error, dict) else None
    total = _int(data.get("totalRecordCount"))
    if total is None:
        total = len(sent)
    accepted = _int(data.get("acceptedRecordCount"))
    if accepted is None:
        accepted = max(0, total - (rejected_count if rejected_count is not None else len(rejected)))
    return ScoreResponse(
        job_id=job_id.strip(),
        total=total,
        accepted=accepted,
        credits_charged=_decimal(credits.get("creditsCharged")),
        credits_remaining=_decimal(credits.get("creditsRemaining")),
        cost_per_phone=_decimal(credits.get("costPerPhone")),
        phone_count=_int(credits.get("phoneCount")),
        rejected=rejected,
        raw=body,
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _job_items(body: Any, depth: int = 0) -> list[dict[str, Any]]:
    """The job objects of a jobs page, wherever they are ({data: [...]}, a bare list...)."""
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if isinstance(body, dict) and depth < 2:
        for key in ("data", "jobs", "items", "results"):
            if isinstance(body.get(key), (list, dict)):
                return _job_items(body[key], depth + 1)
    return []


def _job_key(job: dict[str, Any]) -> str:
    return str(job.get("jobId") or job.get("id") or id(job))


def read_jobs_page(
    body: Any, seen: set[str], since: datetime | None, page_size: int
) -> tuple[list[dict[str, Any]], bool]:
    """The jobs of one ``GET /jobs`` page not in ``seen`` and created at/after ``since``.

    Adds the page's job keys to ``seen``. The flag is True when no further page is worth
    reading: an empty or repeated page, a short page, the reported total reached, or a page
    wholly older than ``since``. Jobs whose ``createdAt`` cannot be read are kept.
    """
    items = _job_items(body)
    fresh = [j for j in items if _job_key(j) not in seen]
    if not fresh:
        return [], True
    jobs: list[dict[str, Any]] = []
    all_older = since is not None
    for job in fresh:
        seen.add(_job_key(job))
        created = _parse_time(job.get("createdAt"))
        if since is not None and created is not None and created < since:
            continue
        all_older = False
        jobs.append(job)
    total = _int(body.get("total")) if isinstance(body, dict) else None
    last = all_older or len(items) < page_size or (total is not None and len(seen) >= total)
    return jobs, last


def refusal_error(
    status: int, message: str, what: str, *, batch: bool, location: str, url: str
) -> CsvscoreError:
    """The error for a non-2xx answer that is not retried (``batch``: the score POST).

    ``message`` is the server's (redacted) message, ``what`` names the request ("the batch",
    "the job list"), ``location`` is the redirect target and ``url`` the URL that was asked.
    """
    if status in (401, 403):
        return AuthError(
            f"TitanX refused the API key (HTTP {status}). Run `csvscore login` to enter a "
            "new one, or set TITANX_API_KEY."
        )
    if status == 402 or (400 <= status < 500 and _CREDITS_RE.search(message)):
        return CreditsError(f"TitanX refused {what} for lack of credits (HTTP {status}): {message}")
    if status >= 500 and batch:
        return OutcomeUnknown(f"TitanX answered HTTP {status} ({message})", status)
    if 300 <= status < 400:
        return UnexpectedResponse(
            f"TitanX redirected {what} (HTTP {status} to {location}); check the API URL", status
        )
    if status in (404, 405):
        return UnexpectedResponse(
            f"There is no TitanX API at {url} (HTTP {status}): the API address should look like "
            "https://<host>/api/public/v2 (TitanX's is https://app.titanx.io/api/public/v2); "
            "check --base-url or TITANX_BASE_URL",
            status,
        )
    if batch and 400 <= status < 500:
        return BatchRefused(status, message, too_large=is_too_large(status, message))
    return UnexpectedResponse(f"TitanX answered HTTP {status} to {what}: {message}", status)
