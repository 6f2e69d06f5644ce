"""The receiver's HTTP face (Starlette): webhook endpoints, the read API, ``/healthz``.

Routes:

- ``POST /hooks/titanx`` and ``POST /hooks/titanx/{name}``: TitanX deliveries (see
  :mod:`~csvscore.receiver.ingest` for the status codes). Bodies over 1 MiB get 413, counted
  while streaming, so a missing or lying ``Content-Length`` changes nothing. The content type is
  not checked: refusing a signed body for a header would lose it (a 4xx is never retried).
- ``GET /healthz``: unauthenticated; 200 when the database answers, else 503.
- ``GET /v1/status``, ``POST /v1/results/lookup`` ``{"keys": [...]}`` (at most 1000 keys),
  ``POST /v1/jobs/lookup`` ``{"jobIds": [...]}``, ``GET /v1/jobs/{id}``: need a read token
  (``Authorization: Bearer csr_...``).

Database work runs in worker threads, at most ``workers`` at once, so the event loop keeps
answering while a write waits for the disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from csvscore._version import __version__
from csvscore.receiver.ingest import MAX_BODY, Receiver
from csvscore.receiver.secretfile import DEFAULT_ENDPOINT, ENDPOINT_NAME
from csvscore.receiver.store import Retention, StoreUnavailable
from csvscore.receiver.tokens import bearer

log = logging.getLogger("csvscore.receiver")

MAX_KEYS = 1000
T = TypeVar("T")


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is over ``limit`` bytes (announced or streamed)."""
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    receiver: Receiver,
    *,
    workers: int = 8,
    retention: Retention | None = None,
    purge_every: float = 6 * 3600,
) -> Starlette:
    """The ASGI app around ``receiver``; ``retention`` purges at start and every ``purge_every``."""
    store = receiver.store
    limiter: anyio.CapacityLimiter | None = None

    async def run(fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)

    async def hook(request: Request) -> Response:
        name = request.path_params.get("name", DEFAULT_ENDPOINT)
        if name != DEFAULT_ENDPOINT and not ENDPOINT_NAME.match(name):
            return _json(404, {"error": "no such endpoint"})
        body = await _read_capped(request, MAX_BODY)
        if body is None:
            return _json(413, {"error": f"body over {MAX_BODY} bytes"})
        signature = request.headers.get("x-titanx-signature")
        answer = await run(receiver.deliver, name, body, signature)
        return _json(answer.status, answer.body)

    async def healthz(request: Request) -> Response:
        try:
            await run(store.pins)
        except StoreUnavailable:
            return _json(503, {"ok": False, "error": "database unavailable"})
        return _json(200, {"ok": True, "version": __version__})

    async def authorised(request: Request) -> str | Response:
        token = bearer(request.headers.get("authorization"))
        if token is None:
            return _json(401, {"error": "a read token is needed (Authorization: Bearer ...)"})
        try:
            owner = await run(store.token_owner, token)
        except StoreUnavailable:
            return _json(503, {"error": "database unavailable"})
        if owner is None:
            return _json(401, {"error": "this read token is not known or was revoked"})
        return owner

    async def read_json(request: Request) -> Any:
        raw = await _read_capped(request, MAX_BODY)
        if raw is None:
            return None
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    async def status(request: Request) -> Response:
        who = await authorised(request)
        if isinstance(who, Response):
            return who
        try:
            s = await run(store.status)
        except StoreUnavailable:
            return _json(503, {"error": "database unavailable"})
        return _json(200, {"version": __version__, **status_json(s)})

    async def lookup(request: Request) -> Response:
        who = await authorised(request)
        if isinstance(who, Response):
            return who
        data = await read_json(request)
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return _json(400, {"error": 'send {"keys": ["...", ...]}'})
        if len(keys) > MAX_KEYS:
            return _json(400, {"error": f"at most {MAX_KEYS} keys per lookup"})
        try:
            found = await run(store.lookup, keys)
        except StoreUnavailable:
            return _json(503, {"error": "database unavailable"})
        # An audit line per lookup: who asked, how much, never which contacts.
        log.info("lookup by %s: %d keys, %d found", who, len(keys), len(found))
        return _json(200, {"results": {k: [r.to_json() for r in rs] for k, rs in found.items()}})

    async def jobs(request: Request) -> Response:
        who = await authorised(request)
        if isinstance(who, Response):
            return who
        if request.method == "GET":
            ids: list[str] = [request.path_params["job_id"]]
        else:
            data = await read_json(request)
            given = data.get("jobIds") if isinstance(data, dict) else None
            if not isinstance(given, list) or not all(isinstance(j, str) for j in given):
                return _json(400, {"error": 'send {"jobIds": ["...", ...]}'})
            ids = given
            if len(ids) > MAX_KEYS:
                return _json(400, {"error": f"at most {MAX_KEYS} job ids per lookup"})
        try:
            found = await run(store.jobs, ids)
        except StoreUnavailable:
            return _json(503, {"error": "database unavailable"})
        out = {
            j.job_id: {
                "jobId": j.job_id,
                "completed": j.completed,
                "jobStatus": j.status,
                "completedMs": j.completed_ms,
                "resultsSeen": j.results_seen,
            }
            for j in found.values()
        }
        if request.method == "GET":
            return _json(200, out[ids[0]])
        return _json(200, {"jobs": out})

    async def purge_forever() -> None:
        assert retention is not None
        while True:
            try:
                counts = await run(store.purge, retention)
                log.info("retention purge: %s", counts)
            except StoreUnavailable as exc:
                log.warning("retention purge postponed: %s", exc)
            await anyio.sleep(purge_every)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal limiter
        limiter = anyio.CapacityLimiter(workers)
        async with anyio.create_task_group() as tg:
            if retention is not None:
                tg.start_soon(purge_forever)
            yield
            tg.cancel_scope.cancel()

    routes = [
        Route("/hooks/titanx", hook, methods=["POST"]),
        Route("/hooks/titanx/{name}", hook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/status", status, methods=["GET"]),
        Route("/v1/results/lookup", lookup, methods=["POST"]),
        Route("/v1/jobs/lookup", jobs, methods=["POST"]),
        Route("/v1/jobs/{job_id}", jobs, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def status_json(s: Any) -> dict[str, Any]:
    """A :class:`~csvscore.receiver.store.StoreStatus` as the JSON ``receiver status`` prints."""
    from dataclasses import asdict

    from csvscore.user.paths import utc_now_iso

    data = asdict(s)
    for key in ("last_delivery_ms", "last_quarantined_ms"):
        ms = data.pop(key)
        data[key.replace("_ms", "")] = None if ms is None else utc_now_iso(_from_ms(ms))
    return data


def _from_ms(ms: int) -> Any:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
