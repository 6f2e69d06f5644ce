"""The TitanX API client: the one module of csvscore that speaks HTTP (and imports requests).

The score POST costs money and has no idempotency key, so this client retries it only when the
request was certainly not processed: a 429, a 502/503, or a failure to connect. Whenever the
batch may have reached TitanX (read timeout, connection dropped after sending, a 500, an
unreadable 2xx) it raises :class:`OutcomeUnknown` and never resends; the caller decides (see
``csvscore submit``'s reconciliation). GETs are idempotent and are retried more freely.

The API key is sent only in the ``Authorization`` header, only over HTTPS (or to this computer:
:mod:`csvscore.api.urls`), and is scrubbed from everything this module returns or raises: the
answers' contents (a server may echo the key in a rejection reason), messages, events and logs.
Every request has an overall deadline (:mod:`csvscore.api.deadline`), and a wait longer than a
few minutes is not made (:mod:`csvscore.api.waits`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
)
from urllib3.util.retry import Retry

from csvscore._version import __version__
from csvscore.api.deadline import Deadline, DeadlineAdapter
from csvscore.api.errors import (
    JobNotFound,
    OutcomeUnknown,
    RateLimited,
    UnexpectedResponse,
)
from csvscore.api.ratelimit import (
    RateLimitState,
    exhausted_tier,
    parse_retry_after,
    wait_after_429,
)
from csvscore.api.responses import (
    ScoreResponse,
    message_from_body,
    parse_json,
    parse_score_response,
    read_jobs_page,
    refusal_error,
    truncate,
)
from csvscore.api.urls import DEFAULT_BASE_URL, EXPECTED_SHAPE, check_base_url, proxies_for
from csvscore.api.waits import LONG_WAIT, too_long
from csvscore.errors import AuthError, CsvscoreError, NetworkError

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_BASE_URL", "TitanXClient", "is_handshake_failure"]

JOBS_PAGE_SIZE = 50
# The longest one request may take, answer included (a score POST of 1,000 contacts is answered
# in seconds; an answer still dripping in after this is not coming).
DEADLINE = 300.0
BACKOFF_BASE = 1.0  # seconds before the first retry (then doubled, with jitter)
BACKOFF_CAP = 30.0
# A score POST is resent only when it provably never reached TitanX: no connection, DNS failure,
# a TLS handshake refused, or a 429 (the limiter answers before processing). No 5xx is proof:
# a gateway's 502/504 or a 503 may come after the backend created the job and charged for it,
# so every 5xx on a POST is "outcome unknown" and goes to reconciliation instead.
SCORE_RETRY_STATUSES: frozenset[int] = frozenset()
GET_RETRY_STATUSES = frozenset({500, 502, 503, 504})

_HANDSHAKE_MARKERS = ("certificate", "wrong version number", "handshake", "unknown protocol")


def _cause(exc: requests.RequestException) -> Any:
    """urllib3's own exception inside a requests one (unwrapping MaxRetryError, ProxyError)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    if isinstance(reason, ProxyError):
        reason = reason.original_error
    return reason


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    """True when the connection (to TitanX or the proxy) was never made: nothing was sent."""
    return isinstance(exc, requests.ConnectTimeout) or isinstance(
        _cause(exc), (NewConnectionError, ConnectTimeoutError)
    )


def is_handshake_failure(exc: requests.exceptions.SSLError) -> bool:
    """True for TLS errors of the handshake (certificate, protocol): nothing was sent.

    Other TLS errors (an EOF "in violation of protocol" while reading the answer) also arrive
    as SSLError, and for a POST they mean the outcome is unknown.
    """
    text = str(exc).lower()
    return any(marker in text for marker in _HANDSHAKE_MARKERS)


def _connect_problem(exc: requests.ConnectionError, connect_timeout: float) -> str:
    reason = _cause(exc)
    if isinstance(reason, NameResolutionError):
        return "the host name could not be resolved"
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {connect_timeout:g} s"
    text = str(reason)
    if "refused" in text.lower():
        return "connection refused"
    return text.split("Failed to establish a new connection: ")[-1]


def score_body(contacts: Sequence[dict[str, Any] | bytes], scoring_type: str) -> bytes:
    """The JSON body of ``POST /contacts/score``; contacts already encoded are spliced in."""
    parts = [
        c if isinstance(c, bytes) else json.dumps(c, ensure_ascii=False).encode("utf-8")
        for c in contacts
    ]
    kind = json.dumps(scoring_type).encode("utf-8")
    return b'{"contacts":[' + b",".join(parts) + b'],"scoringType":' + kind + b"}"


class _Bearer(AuthBase):
    # An auth object (rather than a plain header) stops requests from replacing it with
    # ~/.netrc credentials, and keeps the key out of any repr.
    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "<Bearer <hidden>>"


# -- the client --------------------------------------------------------------------------------


class TitanXClient:
    """Talks to TitanX's public API v2. Safe to share between threads (a session per thread).

    ``sleep``, ``clock`` and ``rng`` are injectable so tests need no real waiting;
    ``on_event`` receives one-line progress messages ("rate limited; waiting 1.2 s (retry 1
    of 5)"). ``max_total_wait`` caps the time one call spends waiting between retries;
    ``long_wait`` is the longest single wait it makes (longer: :class:`RateLimited` saying when
    the limit resets); ``deadline`` the longest one request may take, answer included.
    Raises ConfigError for an address that is not https:// (or http:// to this computer).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 10,
        read_timeout: float = 120,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_event: Callable[[str], None] | None = None,
        user_agent: str | None = None,
        max_total_wait: float = 600.0,
        long_wait: float = LONG_WAIT,
        deadline: float = DEADLINE,
    ) -> None:
        if not api_key or not api_key.strip():
            raise AuthError("No TitanX API key. Run `csvscore login`, or set TITANX_API_KEY.")
        self.base_url = check_base_url(base_url)  # before the key is used at all
        self._key = api_key.strip()
        self._auth = _Bearer(self._key)
        # Typed loosely: requests drops the None values that switch a proxy off.
        self._proxies: Any = proxies_for(self.base_url)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.max_total_wait = max_total_wait
        self.long_wait = long_wait
        self.deadline = deadline
        self.user_agent = user_agent or f"csvscore/{__version__}"
        self.rate_limit = RateLimitState()
        self.rate_limit.max_wait = long_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._on_event = on_event
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TitanXClient(base_url={self.base_url!r}, api_key=<hidden>)"

    # -- public calls --------------------------------------------------------------------------

    def score(
        self, contacts: Sequence[dict[str, Any] | bytes], scoring_type: str = "lightning"
    ) -> ScoreResponse:
        """Submit one batch (1..1000 contacts). Never resent once it may have been processed.

        A contact is a dict, or already its compact JSON (bytes), as csvscore keeps them.

        Raises AuthError, CreditsError, BatchRefused, RateLimited, UnexpectedResponse,
        NetworkError (nothing was sent or processed) or OutcomeUnknown (maybe processed).
        """
        if not contacts:
            raise ValueError("score() needs at least one contact")
        body = score_body(contacts, scoring_type)
        url = self._url("/contacts/score")
        response = self._request("POST", url, body=body)
        status = response.status_code
        if 200 <= status < 300:
            # Not the API's answer (a web page, another service): the batch may or may not have
            # been processed, and every further batch would meet the same page. Stop the run.
            try:
                parsed = self._scrub(parse_json(response.content))
            except ValueError:
                snippet = truncate(self._message(response), 80)
                raise OutcomeUnknown(
                    f"TitanX answered HTTP {status} with something that is not JSON ({snippet}); "
                    f"{self._wrong_address(url)}",
                    status,
                    stops_run=True,
                ) from None
            try:
                return parse_score_response(parsed, contacts)
            except ValueError as exc:
                raise OutcomeUnknown(
                    f"TitanX answered HTTP {status} but {exc}; {self._wrong_address(url)}",
                    status,
                    stops_run=True,
                ) from None
        raise self._refusal(response, "the batch", batch=True)

    def _wrong_address(self, url: str) -> str:
        return (
            f"is {self._redact(url)} TitanX's scoring endpoint? The API address should look "
            f"like {EXPECTED_SHAPE} ({DEFAULT_BASE_URL}; --base-url or TITANX_BASE_URL)"
        )

    def list_jobs(
        self, *, since: datetime | None = None, max_pages: int = 20
    ) -> list[dict[str, Any]]:
        """Jobs of the account (newest first as TitanX returns them), created at/after ``since``.

        Reads pages of ``JOBS_PAGE_SIZE`` until a short or empty page, the reported total, a
        page wholly older than ``since``, a page repeating earlier jobs, or ``max_pages``.
        Jobs whose ``createdAt`` cannot be read are kept.
        """
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        jobs: list[dict[str, Any]] = []
        seen: set[str] = set()
        for page in range(1, max_pages + 1):
            body = self._get_json(
                self._url("/jobs"),
                "the job list",
                params={"page": page, "pageSize": JOBS_PAGE_SIZE},
            )
            found, last = read_jobs_page(body, seen, since, JOBS_PAGE_SIZE)
            jobs.extend(found)
            if last:
                break
        return jobs

    def get_job(self, job_id: str) -> dict[str, Any]:
        """One job (``data`` unwrapped when present). JobNotFound for an unknown id."""
        try:
            body = self._get_json(self._url(f"/jobs/{quote(job_id, safe='')}"), f"job {job_id}")
        except UnexpectedResponse as exc:
            if exc.status == 404:
                raise JobNotFound(f"TitanX has no job {job_id} (HTTP 404)", 404) from None
            raise
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return body["data"]
        if not isinstance(body, dict):
            raise UnexpectedResponse(f"TitanX answered job {job_id} with something unexpected")
        return body

    def quota(self) -> dict[str, Any]:
        """``GET /api/public/quota`` (no /v2): the plan's limits, as TitanX returns them."""
        body = self._get_json(self._quota_url(), "the quota request")
        if not isinstance(body, dict):
            raise UnexpectedResponse("TitanX answered the quota request with something unexpected")
        return body

    def check_key(self) -> None:
        """A cheap authenticated call; AuthError if TitanX refuses the key."""
        try:
            self.quota()
        except UnexpectedResponse as exc:
            if exc.status not in (404, 405):
                raise
            # The quota endpoint moved: any authenticated GET proves the key.
            self._get_json(self._url("/jobs"), "the job list", params={"page": 1, "pageSize": 1})

    def close(self) -> None:
        """Close every thread's session."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> TitanXClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _quota_url(self) -> str:
        parts = urlsplit(self.base_url)
        path = parts.path.rstrip("/")
        prefix = path[: -len("/v2")] if path.endswith("/v2") else "/api/public"
        return urlunsplit((parts.scheme, parts.netloc, prefix + "/quota", "", ""))

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # No urllib3-level retries at all: a silent resend of the POST could charge twice.
            # The adapter lets a Deadline cut the connection of a request that takes too long.
            adapter = DeadlineAdapter(max_retries=Retry(total=0, read=False, redirect=False))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"User-Agent": self.user_agent, "Accept": "application/json"})
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "<hidden>") if len(self._key) >= 4 else text

    def _scrub(self, value: Any) -> Any:
        """An answer's JSON with the key hidden wherever it is (keys and values, nested).

        A server may echo the key (a rejection reason quoting the request): whatever this client
        returns is written to workbooks, journals and logs, so it never carries the key.
        """
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value

    def _emit(self, message: str) -> None:
        message = self._redact(message)
        log.info(message)
        if self._on_event is not None:
            self._on_event(message)

    def _backoff(self, retry: int) -> float:
        """Exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1))."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (retry - 1))
        with self._rng_lock:
            return ceiling / 2 + self._rng.random() * ceiling / 2

    def _message(self, response: requests.Response) -> str:
        text = message_from_body(response.content)
        return self._redact(text or f"HTTP {response.status_code} {response.reason or ''}".strip())

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """Send with the retry policy; return the first answer that is not retried."""
        idempotent = method == "GET"
        refused = self.rate_limit.take_refusal()
        if refused is not None:
            # The caller's pacing found no slot for hours (a spent daily quota): nothing is sent.
            raise too_long(refused[0], self._clock(), refused[1])
        retry = 0
        waited = 0.0
        while True:
            if retry:
                # A retry takes a slot in the rate-limit window like any send (the first attempt's
                # slot was reserved by the caller's pacing), so it cannot provoke another 429.
                extra = self.rate_limit.reserve(self._clock())
                refused = self.rate_limit.take_refusal()
                if refused is not None:
                    raise too_long(refused[0], self._clock(), refused[1])
                if extra > 0:
                    self._sleep(extra)
                    waited += extra
            self.rate_limit.note_sent()
            answer = self._attempt(method, url, body, params)
            if isinstance(answer, str):
                problem = answer
            else:
                self.rate_limit.update(answer.headers, self._clock())
                status = answer.status_code
                if status == 429:
                    wait = self._wait_for_429(answer, retry, waited)
                    retry += 1
                    self._emit(
                        f"rate limited; waiting {wait:.1f} s (retry {retry} of {self.max_retries})"
                    )
                    self._sleep(wait)
                    waited += wait
                    continue
                retried = GET_RETRY_STATUSES if idempotent else SCORE_RETRY_STATUSES
                if status not in retried:
                    return answer
                problem = f"TitanX answered HTTP {status} ({truncate(self._message(answer), 80)})"
            # Only failures where nothing was processed (or a GET) get here: retry with backoff.
            delay = self._backoff(retry + 1)
            if retry >= self.max_retries or waited + delay > self.max_total_wait:
                raise NetworkError(
                    f"{problem[0].upper()}{problem[1:]}; gave up after {retry} retries."
                    + ("" if idempotent else " The batch was not processed; nothing was charged.")
                )
            retry += 1
            self._emit(
                f"{problem}; retrying in {delay:.1f} s (retry {retry} of {self.max_retries})"
            )
            self._sleep(delay)
            waited += delay

    def _attempt(
        self, method: str, url: str, body: bytes | None, params: dict[str, Any] | None
    ) -> requests.Response | str:
        """One try, within the overall deadline: the answer, or what went wrong when retrying is
        safe. Raises when it is not (the POST may have been processed) or cannot help."""
        idempotent = method == "GET"
        headers = {"Content-Type": "application/json"} if body is not None else {}
        deadline = Deadline(self.deadline)
        try:
            with deadline:
                return self._session().request(
                    method,
                    url,
                    data=body,
                    params=params,
                    headers=headers,
                    auth=self._auth,
                    timeout=(self.connect_timeout, self.read_timeout),
                    allow_redirects=False,
                    proxies=self._proxies,
                )
        except requests.RequestException as exc:
            if deadline.expired:
                # The deadline cut the connection (whatever requests calls the result).
                if not idempotent:
                    raise OutcomeUnknown(
                        f"no complete answer within {self.deadline:g} s after the batch was sent"
                    ) from None
                return f"no complete answer from TitanX within {self.deadline:g} s"
            return self._failure(exc, idempotent)

    def _failure(self, exc: requests.RequestException, idempotent: bool) -> str:
        """What a failed try means: a retryable problem (returned) or an error (raised)."""
        if isinstance(exc, requests.exceptions.SSLError):
            detail = self._redact(truncate(str(exc), 160))
            if is_handshake_failure(exc):
                # Certificate trouble (often a company proxy) does not go away by retrying.
                raise NetworkError(
                    f"Could not connect securely to TitanX ({detail}). A company proxy or "
                    "antivirus may be intercepting HTTPS."
                ) from None
            if not idempotent:
                raise OutcomeUnknown(
                    f"the secure connection broke after the batch was sent ({detail})"
                ) from None
            return "the secure connection to TitanX broke"
        if isinstance(exc, requests.ConnectionError):
            if _is_connect_failure(exc):
                return (
                    "could not connect to TitanX ("
                    + self._redact(_connect_problem(exc, self.connect_timeout))
                    + ")"
                )
            if idempotent:
                return "the connection to TitanX dropped"
            raise OutcomeUnknown(
                "the connection dropped after the batch was sent "
                f"({self._redact(truncate(str(exc), 160))})"
            ) from None
        if isinstance(exc, requests.Timeout):
            if not idempotent:
                raise OutcomeUnknown(
                    f"no answer within {self.read_timeout:g} s after the batch was sent"
                ) from None
            return f"no answer from TitanX within {self.read_timeout:g} s"
        # A broken chunked body, a bad encoding...
        if not idempotent:
            raise OutcomeUnknown(
                f"the answer was cut off ({self._redact(truncate(str(exc), 160))})"
            ) from None
        return "the answer from TitanX was cut off"

    def _wait_for_429(self, response: requests.Response, retry: int, waited: float) -> float:
        """How long to wait before retrying after a 429, or RateLimited when csvscore won't.

        Retry-After if given, else the exhausted tier's reset, else backoff with jitter. A wait
        longer than ``long_wait`` (a spent daily quota) is said with its local end time.
        """
        now = self._clock()
        tier = exhausted_tier(response.headers, now)
        wait = parse_retry_after(response.headers.get("Retry-After"), now)
        if wait is None:
            wait = wait_after_429(response.headers, now)
        if wait is None:
            wait = self._backoff(retry + 1)
        if wait > self.long_wait:
            raise too_long(wait, now, tier)
        if retry >= self.max_retries:
            raise RateLimited(
                f"TitanX still answers HTTP 429 (rate limit) after {retry} retries. "
                "Nothing was charged; run again later.",
                wait,
            )
        if waited + wait > self.max_total_wait:
            raise RateLimited(
                f"TitanX's rate limit is exhausted (HTTP 429) and it asks to wait "
                f"{wait:.0f} s, longer than csvscore waits ({self.max_total_wait:.0f} s in "
                "all). Nothing was charged; run again later.",
                wait,
            )
        return wait

    def _refusal(
        self, response: requests.Response, what: str, *, batch: bool = False
    ) -> CsvscoreError:
        """The error for a non-2xx answer that is not retried (``batch``: the score POST)."""
        return refusal_error(
            response.status_code,
            self._message(response),
            what,
            batch=batch,
            location=self._redact(response.headers.get("Location", "elsewhere")),
            url=self._redact(response.url),
        )

    def _get_json(self, url: str, what: str, *, params: dict[str, Any] | None = None) -> Any:
        response = self._request("GET", url, params=params)
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, what)
        try:
            return self._scrub(parse_json(response.content))
        except ValueError:
            raise UnexpectedResponse(
                f"TitanX answered {what} with something that is not JSON: "
                f"{truncate(self._message(response), 120)}",
                response.status_code,
            ) from None

    # -- webhook subscriptions (scores come back by webhook; README, "Getting scores back") ----

    def create_webhook(
        self, url: str, events: list[str], *, name: str = "csvscore receiver"
    ) -> tuple[str | None, str | None, dict[str, Any]]:
        """``POST /webhooks``: (webhook id, secret, the answer without its secret).

        TitanX's docs show the events under two keys (``events`` in the OpenAPI page,
        ``eventTypes`` in the guide) and the answer flat or wrapped in ``payload``; a 400/422
        for one key is tried once with the other (creating a subscription costs no credits).
        The secret is shown only once: the caller must store it before anything else.
        """
        from csvscore.api.webhooks import secrets_from_response

        response: requests.Response | None = None
        for key in ("events", "eventTypes"):
            body = json.dumps({"name": name, "url": url, key: events, "status": "active"})
            response = self._request("POST", self._url("/webhooks"), body=body.encode("utf-8"))
            if response.status_code not in (400, 422):
                break
        assert response is not None
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, "the webhook subscription")
        try:
            parsed = parse_json(response.content)
        except ValueError:
            raise UnexpectedResponse(
                "TitanX answered the webhook subscription with something that is not JSON; "
                "check in the TitanX app whether it was created",
                response.status_code,
            ) from None
        webhook_id, secret = secrets_from_response(parsed)
        return webhook_id, secret, _without_secret(parsed)

    def set_webhook_status(self, webhook_id: str, active: bool) -> dict[str, Any]:
        """``POST /webhooks/{id}/active|inactive`` (documented); the answer as TitanX gives it."""
        state = "active" if active else "inactive"
        url = self._url(f"/webhooks/{quote(webhook_id, safe='')}/{state}")
        response = self._request("POST", url, body=b"{}")
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, f"webhook {webhook_id}")
        try:
            parsed = parse_json(response.content)
        except ValueError:
            return {}
        return _without_secret(parsed) if isinstance(parsed, dict) else {}


def _without_secret(value: Any) -> Any:
    """``value`` with every ``secret``-like key removed, for showing or logging."""
    if isinstance(value, dict):
        return {k: _without_secret(v) for k, v in value.items() if "secret" not in str(k).lower()}
    if isinstance(value, list):
        return [_without_secret(v) for v in value]
    return value
