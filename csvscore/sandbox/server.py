"""A local TitanX API simulator ("sandbox") for tests, demos and soak runs.

Serves the endpoints of ``/work/shared/titanx-api.md`` on 127.0.0.1 with the standard library
only, and can misbehave on purpose (scripted faults, rate limits, latency, low credits). What it
decides lives in :mod:`csvscore.sandbox.model`; this module is the HTTP layer.

In-process::

    with Sandbox(SandboxConfig(faults=["503"])) as sb:
        client = TitanXClient(sb.api_key, sb.url)
        ...
        sb.state.contact_id_counts()

As a separate process (prints one ``SANDBOX_URL=...`` line, serves until SIGTERM/SIGINT)::

    python -m csvscore.sandbox --port 0 --rate-per-second 10 --faults 500,drop_after_create

``GET /_sandbox/state`` (no key needed) returns what was received, for tests in another process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from csvscore.sandbox.model import (
    API_PREFIX,
    LOW_CREDITS,
    QUOTA_PATH,
    UNKNOWN_PATH_ANSWERS,
    BadRequest,
    SandboxConfig,
    SandboxState,
    ScoreRecord,
    parse_score_body,
    strikes_after_create,
)
from csvscore.sandbox.webhooks import WebhookBadRequest

__all__ = ["Sandbox", "SandboxConfig", "SandboxState", "main"]

SCORE_PATH = f"{API_PREFIX}/contacts/score"
JOBS_PATH = f"{API_PREFIX}/jobs"
WEBHOOKS_PATH = f"{API_PREFIX}/webhooks"
STATE_PATH = "/_sandbox/state"
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
# A wrong base URL meets a web server (404 page) or a web app's catch-all page (200).
HTML_404 = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body>"
    b"</html>\n"
)
HTML_APP = (
    b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>TitanX</title>'
    b'</head><body><div id="root"></div><script src="/static/app.js"></script></body></html>\n'
)
_STATUS_MESSAGES = {
    401: "Invalid API key",
    402: "Insufficient credits",
    403: "Forbidden",
    413: "Request entity too large",
    429: "Too many requests: rate limit exceeded",
    500: "Internal server error",
    503: "Service temporarily unavailable",
}


def _json_default(value: Any) -> Any:
    # Credit figures are Decimals; JSON has only one number type. A float's repr round-trips
    # any decimal of up to 15 significant digits exactly, which covers credit amounts.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default).encode("utf-8")


class _Server(ThreadingHTTPServer):
    """Threaded server that can wake and close every open connection on shutdown.

    Idle keep-alive connections and held ("timeout_*") requests would otherwise block
    ``server_close``, which joins the handler threads.
    """

    daemon_threads = True
    block_on_close = True

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        self.state = state
        self.stop_event = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Runs in the serve_forever thread, so registering here cannot race close_connections
        # (which runs only after serve_forever has stopped).
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) or a socket closed at shutdown is expected here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API and requests' pool expect
    server_version = "TitanXSandbox/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus the client's delayed
        # ACK adds ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the state, not a log

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length") or "0"
        return self.rfile.read(int(length)) if length.isdigit() and int(length) > 0 else b""

    def _send(
        self,
        status: int,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        body = raw if raw is not None else _dumps(payload)
        if self._record is not None:
            # Before writing: once the client has the answer, a test may read the state.
            self.server.state.finish_score(self._record, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**self._rate_headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _message(self, status: int, message: str | None = None) -> None:
        self._send(status, {"message": message or _STATUS_MESSAGES.get(status, f"HTTP {status}")})

    def _drop(self) -> None:
        # No answer at all: the client sees the connection close (RemoteDisconnected).
        self.close_connection = True

    def _hang(self) -> None:
        # Hold the request longer than any client read timeout; wake at shutdown.
        self.server.stop_event.wait(self.server.state.config.hang_seconds)
        self._drop()

    # -- routing -------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        self._rate_headers: dict[str, str] = {}
        self._record: ScoreRecord | None = None  # the score POST being answered, if any
        if self.headers.get("Transfer-Encoding"):
            self._message(411, "Content-Length required")
            self.close_connection = True
            return
        body = self._read_body()
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        state = self.server.state
        if path == STATE_PATH:
            if method == "GET":
                self._send(200, state.snapshot())
            else:
                self._message(405, "Method not allowed")
            return
        state.record_request(method, self.path, {k.lower(): v for k, v in self.headers.items()})
        known = path in (SCORE_PATH, QUOTA_PATH, JOBS_PATH) or path.startswith(JOBS_PATH + "/")
        if not known and state.config.unknown_path_answer != "json404":
            # Not the API at all: a web server answers before any key or limit is looked at.
            page = state.config.unknown_path_answer == "html200"
            self._send(
                200 if page else 404, raw=HTML_APP if page else HTML_404, content_type="text/html"
            )
            return
        # Every score POST is recorded as received, even one refused below (429, 401...).
        is_score = path == SCORE_PATH and method == "POST"
        record = self._record = state.record_score(_loose_contacts(body)) if is_score else None
        if record is not None:
            record.api_key = self._bearer_key()
        allowed, self._rate_headers, retry_after = state.rate_limit()
        if allowed:
            refused = self._refuse_key()
        else:
            refused = 429
            self._too_many(retry_after)
        if refused is not None:
            return
        if record is not None:
            self._score(record, body)
        elif path == WEBHOOKS_PATH or path.startswith(WEBHOOKS_PATH + "/"):
            self._webhooks(method, path[len(WEBHOOKS_PATH) :].strip("/"), body)
        elif path == SCORE_PATH:
            self._message(405, "Method not allowed")
        elif path in (QUOTA_PATH, JOBS_PATH) or path.startswith(JOBS_PATH + "/"):
            get_fault = state.take_get_fault() if method == "GET" else None
            if method != "GET":
                self._message(405, "Method not allowed")
            elif get_fault is not None:
                self._message(get_fault)
            elif path == QUOTA_PATH:
                self._send(200, state.quota())
            elif path == JOBS_PATH:
                self._jobs(parse_qs(url.query))
            else:
                self._job(path[len(JOBS_PATH) + 1 :])
        else:
            self._message(404, "Not found")

    def _too_many(self, retry_after: int | None) -> None:
        send = self.server.state.config.send_retry_after and retry_after is not None
        self._send(
            429,
            {"message": _STATUS_MESSAGES[429]},
            headers={"Retry-After": str(retry_after)} if send else None,
        )

    def _bearer_key(self) -> str:
        scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
        return key.strip() if scheme.lower() == "bearer" else ""

    def _refuse_key(self) -> int | None:
        """Answer 401/403 for a missing, wrong or forbidden key; the status sent, or None."""
        config = self.server.state.config
        key = self._bearer_key()
        if key and key == config.forbidden_key:
            self._message(403, "This API key is not allowed to use the API")
            return 403
        if not key or key != config.api_key:
            echo = f": {key}" if config.echo_key_in_auth_errors and key else ""
            self._message(401, f"Invalid API key{echo}")
            return 401
        return None

    def _jobs(self, query: dict[str, list[str]]) -> None:
        try:
            page = int(query.get("page", ["1"])[0])
            page_size = int(query.get("pageSize", ["50"])[0])
        except ValueError:
            page = page_size = 0
        if page < 1 or not 1 <= page_size <= 100:
            self._message(400, "page must be >= 1 and pageSize between 1 and 100")
            return
        self._send(200, self.server.state.jobs_page(page, page_size))

    def _job(self, job_id: str) -> None:
        job = self.server.state.job_json(job_id)
        if job is None:
            self._message(404, "Job not found")
        else:
            self._send(200, {"data": job})

    def _webhooks(self, method: str, rest: str, body: bytes) -> None:
        """``POST /webhooks``, ``GET /webhooks``, ``POST /webhooks/{id}/active|inactive``."""
        hooks = self.server.state.webhooks
        parts = rest.split("/") if rest else []
        if not parts and method == "POST":
            try:
                created = hooks.create(json.loads(body.decode("utf-8") or "null"))
            except (UnicodeDecodeError, ValueError):
                self._message(400, "Request body must be valid JSON")
            except WebhookBadRequest as exc:
                self._message(400, str(exc))
            else:
                self._send(201, created)
        elif not parts and method == "GET":
            self._send(200, {"data": hooks.listing()})
        elif len(parts) == 2 and parts[1] in ("active", "inactive") and method in ("POST", "PUT"):
            found = hooks.set_status(parts[0], parts[1])
            if found is None:
                self._message(404, "Webhook not found")
            else:
                self._send(200, {"payload": found})
        else:
            self._message(404 if method in ("GET", "POST") else 405, "Not found")

    # -- scoring and faults --------------------------------------------------------------------

    def _score(self, record: ScoreRecord, body: bytes) -> None:
        state = self.server.state
        config = state.config
        bad: str | None = None
        contacts: list[Any] | None = None
        scoring_type = "lightning"
        try:
            contacts, scoring_type = parse_score_body(body, config.max_contacts)
        except BadRequest as exc:
            bad = str(exc)
        fault = state.take_fault(record)
        if config.latency:
            self.server.stop_event.wait(config.latency)
        if fault == LOW_CREDITS:
            state.drain_credits()  # then processed normally: a 402 unless nothing is charged
            fault = None
        elif fault is not None and not strikes_after_create(fault):
            self._fault_before(fault)
            return
        if bad is not None or contacts is None:
            self._message(400, bad)
            return
        status, payload = state.score(record, contacts, scoring_type)
        if fault == "inconsistent_200" and isinstance(payload.get("data"), dict):
            data = payload["data"]
            self._inconsistent = {
                **payload,
                "data": {**data, "acceptedRecordCount": data["totalRecordCount"] + 1},
            }
        if status != 200 or fault is None:
            self._send(status, payload)
        elif fault == "drip_after_create":
            self._drip(status, _dumps(payload))
        else:
            self._fault_after(fault)

    def _fault_before(self, fault: str) -> None:
        """Faults that answer (or not) without creating anything."""
        if fault == "html_502":
            self._send(502, raw=HTML_502, content_type="text/html")
        elif fault == "drop_before_create":
            self._drop()
        elif fault == "timeout_before_create":
            self._hang()
        else:
            code, _, message = fault.partition(":")
            if code == "429":
                self._too_many(1)
            else:
                self._message(int(code), message or None)

    def _drip(self, status: int, body: bytes) -> None:
        """The whole answer, status line and headers included, one byte every drip_seconds:
        every read gets a byte in time, so only an overall deadline ends the wait."""
        if self._record is not None:
            self.server.state.finish_score(self._record, status)
            self._record = None
        head = [f"HTTP/1.1 {status} OK", "Content-Type: application/json"]
        head.append(f"Content-Length: {len(body)}")
        head += [f"{name}: {value}" for name, value in self._rate_headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        stop = self.server.stop_event
        interval = self.server.state.config.drip_seconds
        for at in range(len(data)):
            self.wfile.write(data[at : at + 1])
            if stop.wait(interval):
                break
        self.close_connection = True

    def _fault_after(self, fault: str) -> None:
        """Faults that strike after the job was created and credits charged."""
        if fault.split(":", 1)[0] == "500":
            self._message(500, fault.partition(":")[2] or None)
        elif fault == "html_502_after_create":
            self._send(502, raw=HTML_502, content_type="text/html")
        elif fault in ("503_after_create", "504_after_create"):
            self._message(int(fault[:3]))
        elif fault == "inconsistent_200":
            self._send(200, self._inconsistent)
        elif fault == "non_json_500":
            self._send(500, raw=b"Internal Server Error", content_type="text/plain")
        elif fault == "non_json_200":
            self._send(
                200, raw=b"<html><body>Please wait...</body></html>", content_type="text/html"
            )
        elif fault == "bad_shape_200":
            self._send(200, {"status": "ok"})
        elif fault == "drop_after_create":
            self._drop()
        else:  # timeout_after_create
            self._hang()


def _loose_contacts(body: bytes) -> list[Any] | None:
    """The contacts list of an invalid body, if there is one (to record what was received)."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    contacts = parsed.get("contacts") if isinstance(parsed, dict) else None
    return contacts if isinstance(contacts, list) else None


class Sandbox:
    """A running simulator: ``url`` (the v2 base URL), ``api_key``, ``state``; close() stops it."""

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        config = config or SandboxConfig()
        self.config = replace(config, **overrides) if overrides else config
        self.state = SandboxState(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (started sandboxes only)."""
        if self._server is None:
            raise RuntimeError("sandbox not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The API base URL, like ``https://app.titanx.io/api/public/v2``."""
        return self.origin + API_PREFIX

    def start(self) -> Sandbox:
        """Bind (port 0 = any free port) and serve in a daemon thread."""
        if self._server is None:
            self._server = _Server((self.config.host, self.config.port), self.state)
            self._thread = threading.Thread(
                # A short poll interval so close() (shutdown) returns quickly in tests.
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="titanx-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake held requests, close open connections, join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop_event.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.state.webhooks.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decimal_arg(text: str) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation is not a ValueError
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m csvscore.sandbox", description="Run a local TitanX API simulator."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    p.add_argument("--api-key", default="sandbox-key")
    p.add_argument("--forbidden-key", default=None, help="a key answered with 403")
    p.add_argument("--credits", type=_decimal_arg, default=Decimal("1000000"))
    p.add_argument("--cost-per-phone", type=_decimal_arg, default=Decimal("0.05"))
    p.add_argument("--latency", type=float, default=0.0, help="seconds per score request")
    p.add_argument("--rate-per-second", type=int, default=None)
    p.add_argument("--rate-per-minute", type=int, default=None)
    p.add_argument("--rate-per-day", type=int, default=None)
    p.add_argument("--send-retry-after", action="store_true")
    p.add_argument("--reject-reason-key", default="reason")
    p.add_argument("--shuffle-rejections", action="store_true")
    p.add_argument("--faults", default="", help="comma-separated, e.g. 503,drop_after_create")
    p.add_argument("--fault-every-n", type=int, default=None)
    p.add_argument("--fault-probability", type=float, default=0.0)
    p.add_argument("--random-faults", default="503", help="comma-separated pool")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hang-seconds", type=float, default=60.0)
    p.add_argument("--webhook-secret-style", choices=("whsec", "wh_sk"), default="whsec")
    p.add_argument(
        "--webhook-key-derivation", choices=("utf8", "stripped", "base64"), default="utf8"
    )
    p.add_argument(
        "--webhook-faults", default="", help="comma-separated, e.g. duplicate:3,reorder,never:5"
    )
    p.add_argument("--drip-seconds", type=float, default=2.0)
    p.add_argument("--echo-key-in-rejections", action="store_true")
    p.add_argument("--unknown-path-answer", choices=UNKNOWN_PATH_ANSWERS, default="json404")
    p.add_argument("--day-reset-in", type=float, default=None, help="seconds (with --rate-per-day)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT after printing ``SANDBOX_URL=<base url>``."""
    args = _parser().parse_args(argv)
    try:
        config = SandboxConfig(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            forbidden_key=args.forbidden_key,
            credits=args.credits,
            cost_per_phone=args.cost_per_phone,
            latency=args.latency,
            rate_per_second=args.rate_per_second,
            rate_per_minute=args.rate_per_minute,
            rate_per_day=args.rate_per_day,
            send_retry_after=args.send_retry_after,
            reject_reason_key=args.reject_reason_key,
            shuffle_rejections=args.shuffle_rejections,
            faults=[f.strip() for f in args.faults.split(",") if f.strip()],
            fault_every_n=args.fault_every_n,
            fault_probability=args.fault_probability,
            random_faults=tuple(f.strip() for f in args.random_faults.split(",") if f.strip()),
            seed=args.seed,
            hang_seconds=args.hang_seconds,
            webhook_secret_style=args.webhook_secret_style,
            webhook_key_derivation=args.webhook_key_derivation,
            webhook_faults=[f.strip() for f in args.webhook_faults.split(",") if f.strip()],
            drip_seconds=args.drip_seconds,
            echo_key_in_rejections=args.echo_key_in_rejections,
            unknown_path_answer=args.unknown_path_answer,
            day_reset_in=args.day_reset_in,
        )
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Sandbox(config) as sandbox:
        print(f"SANDBOX_URL={sandbox.url}", flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
