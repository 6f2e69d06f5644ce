"""Helpers for the receiver tests: a real uvicorn on 127.0.0.1 in a thread, plain HTTP calls."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from csvscore.api.webhooks import SIGNATURE_HEADER, build_envelope, sign
from csvscore.receiver.database import open_store
from csvscore.receiver.ingest import Receiver
from csvscore.receiver.secretfile import SecretFile
from csvscore.receiver.serve import ServeOptions, make_server
from csvscore.receiver.store import Store

SECRET = "whsec_c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw"


class RunningReceiver:
    """uvicorn serving a :class:`Receiver` in a thread; ``url`` once started; ``stop()``."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        sock: socket.socket | None = None,
        host: str = "127.0.0.1",
        options: ServeOptions | None = None,
    ) -> None:
        self.receiver = receiver
        self._ready = threading.Event()
        self.url = ""
        opts = options or ServeOptions(host=host, port=0, retention=None, log_level="warning")
        self.server, self.sock = make_server(receiver, opts, self._on_ready, sock)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def _on_ready(self, url: str) -> None:
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()

    def start(self) -> RunningReceiver:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the receiver did not start within 20 s")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(20)
        self.sock.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_receiver(store_url: str, secrets_path: Path, secret: str | None = SECRET) -> Receiver:
    secrets = SecretFile(secrets_path)
    if secret is not None:
        secrets.add("default", secret)
    store: Store = open_store(store_url)
    return Receiver(store, secrets)


@dataclass
class Reply:
    status: int
    body: Any


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> Reply:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return Reply(resp.status, parsed)


def scored_payload(key: str, job_id: str | None = "job-1", lead: str = "P1", **extra: Any) -> dict:
    payload: dict[str, Any] = {
        "customerContactId": key,
        "firstName": "Ann",
        "lastName": "Lee",
        "phone": "+14155550101",
        "phoneStatus": lead,
        "phone2": "+12125550102",
        "phone2Status": "P3",
        "leadStatus": lead,
        **extra,
    }
    if job_id is not None:
        payload["jobId"] = job_id
    return payload


def envelope(
    payload: dict, event_id: str, ts_ms: int, event_type: str = "job.contact.scored"
) -> bytes:
    return build_envelope(payload, event_type, event_id, ts_ms)


def deliver(
    url: str,
    body: bytes,
    secret: str | None = SECRET,
    path: str = "/hooks/titanx",
    signature: str | None = None,
) -> Reply:
    headers = {"Content-Type": "application/json"}
    sig = signature if signature is not None else (sign(body, secret) if secret else None)
    if sig is not None:
        headers[SIGNATURE_HEADER] = sig
    return request(url, "POST", path, body, headers)
