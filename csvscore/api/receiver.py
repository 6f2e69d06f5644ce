"""The CLI side of the receiver's read API (and of ``webhook test``): scores over HTTPS.

The CLI never opens the receiver's database: it asks ``POST /v1/results/lookup`` in chunks of
1000 keys and ``POST /v1/jobs/lookup`` with a per-person read token. Every call is a read, so
connection failures and 502/503/504 are retried a few times; a 401 is a refused token.
The token is sent only in the ``Authorization`` header and never appears in a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from csvscore._version import __version__
from csvscore.api.webhooks import SIGNATURE_HEADER, sign
from csvscore.errors import ConfigError, CsvscoreError, ExitCode
from csvscore.scores.contact import ContactResult
from csvscore.scores.match import DEFAULT_GRACE, JobInfo, RunRow, ScoreRecord, match_scores
from csvscore.scores.priority import Priorities

CHUNK = 1000
RETRY_STATUSES = frozenset({502, 503, 504})


class ReceiverError(CsvscoreError):
    """The score receiver is not configured, cannot be reached, or refused the read token."""

    exit_code = ExitCode.RECEIVER


def check_receiver_url(url: str, *, allow_http: bool = False) -> str:
    """``url`` without a trailing slash; https required except on loopback (or ``allow_http``)."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not a receiver URL: {url!r} (expected https://host[:port])")
    if parts.scheme == "http" and not (loopback or allow_http):
        raise ConfigError(
            f"the receiver URL must use https:// (got {url!r}); plain http is only for 127.0.0.1"
        )
    return text


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ReceiverClient:
    """Reads scores from a receiver. ``sleep`` is injectable so tests need no real waiting."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 30,
        retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        allow_http: bool = False,
    ) -> None:
        self.url = check_receiver_url(url, allow_http=allow_http)
        self._token = (token or "").strip()
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers["User-Agent"] = f"csvscore/{__version__}"

    def __repr__(self) -> str:
        return f"ReceiverClient(url={self.url!r}, token=<hidden>)"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ReceiverClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if auth and self._token else {}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(0.5 * 2 ** (attempt - 1))  # 0.5 s, 1 s: a person is waiting
            try:
                resp = self._session.request(
                    method,
                    self.url + path,
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
                if isinstance(exc, requests.ConnectionError) and "refused" in str(exc).lower():
                    problem = "connection refused"
                continue
            if resp.status_code in RETRY_STATUSES:
                problem = f"HTTP {resp.status_code}"
                continue
            if resp.status_code == 401:
                raise ReceiverError(
                    f"the receiver {self.url} refused the read token; ask its admin for one "
                    "(`csvscore receiver token add NAME`) and run `csvscore receiver connect`"
                )
            if not 200 <= resp.status_code < 300:
                raise ReceiverError(f"the receiver {self.url} answered HTTP {resp.status_code}")
            try:
                return resp.json()
            except ValueError:
                raise ReceiverError(
                    f"{self.url} answered something that is not JSON: is it a csvscore receiver?"
                ) from None
        raise ReceiverError(f"the receiver {self.url} could not be reached ({problem})")

    # -- the read API --------------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        data = self._call("GET", "/healthz", auth=False)
        return data if isinstance(data, dict) else {}

    def status(self) -> dict[str, Any]:
        """``GET /v1/status``: counts (needs a valid token: ``connect`` checks with it)."""
        data = self._call("GET", "/v1/status")
        if not isinstance(data, dict):
            raise ReceiverError(f"{self.url} answered the status request with something odd")
        return data

    def lookup(self, keys: Sequence[str]) -> dict[str, list[ContactResult]]:
        """Every stored result for each key (keys with none are absent), 1000 keys a call."""
        found: dict[str, list[ContactResult]] = {}
        unique = list(dict.fromkeys(k for k in keys if k))
        for part in _chunks(unique, CHUNK):
            data = self._call("POST", "/v1/results/lookup", {"keys": list(part)})
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, dict):
                raise ReceiverError(f"{self.url} answered a lookup with something unexpected")
            for key, items in results.items():
                if isinstance(items, list):
                    found.setdefault(key, []).extend(
                        ContactResult.from_json(i) for i in items if isinstance(i, dict)
                    )
        return found

    def jobs(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        """What the receiver knows of each job (``job.completed`` seen, status, results)."""
        out: dict[str, JobInfo] = {}
        unique = list(dict.fromkeys(j for j in job_ids if j))
        for part in _chunks(unique, CHUNK):
            data = self._call("POST", "/v1/jobs/lookup", {"jobIds": list(part)})
            jobs = data.get("jobs") if isinstance(data, dict) else None
            if not isinstance(jobs, dict):
                raise ReceiverError(f"{self.url} answered a job lookup with something unexpected")
            for job_id, info in jobs.items():
                if not isinstance(info, dict):
                    continue
                ms = info.get("completedMs")
                out[job_id] = JobInfo(
                    job_id=job_id,
                    completed=bool(info.get("completed")),
                    status=info.get("jobStatus"),
                    completed_at=(
                        datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
                        if isinstance(ms, (int, float))
                        else None
                    ),
                    results_seen=int(info.get("resultsSeen") or 0),
                )
        return out

    def job(self, job_id: str) -> JobInfo:
        return self.jobs([job_id]).get(job_id, JobInfo(job_id))


def post_signed(
    hook_url: str, body: bytes, secret: str, *, derivation: str = "utf8", timeout: float = 10
) -> tuple[int, str]:
    """POST a signed webhook body to a receiver (``csvscore webhook test``): (status, answer)."""
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, secret, derivation),
        "User-Agent": f"csvscore/{__version__} (webhook test)",
    }
    try:
        resp = requests.post(hook_url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise ReceiverError(f"could not reach {hook_url} ({type(exc).__name__})") from None
    return resp.status_code, resp.text[:200]


def hook_path(endpoint: str) -> str:
    return "/hooks/titanx" if endpoint == "default" else f"/hooks/titanx/{quote(endpoint)}"


def fetch_score_records(
    client: ReceiverClient,
    rows: Sequence[RunRow],
    priorities: Priorities,
    *,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> list[ScoreRecord]:
    """The score block of every row of a run: results and jobs fetched, then matched.

    The one call phase 2 (``csvscore results``, ``--wait-scores``, the re-drop) needs; rows not
    sent are not asked about. ReceiverError when the receiver cannot be read.
    """
    sent = [r for r in rows if r.sent]
    results = client.lookup([r.key for r in sent])
    jobs = client.jobs([r.job_id for r in sent if r.job_id])
    return match_scores(rows, results, jobs, priorities, now=now, grace=grace)
