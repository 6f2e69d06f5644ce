"""Shared fixtures: a running TitanX sandbox on 127.0.0.1 and a fake clock.

- ``make_sandbox(**config) -> Sandbox``: start a sandbox with any :class:`SandboxConfig` knob
  (``faults=["503"]``, ``rate_per_second=2``, ``credits="1"``...); it is closed at teardown.
  ``sb.url`` is the v2 base URL, ``sb.api_key`` the key it accepts, ``sb.state`` what it got.
- ``sandbox``: one default sandbox (healthy, unlimited, key "sandbox-key").
- ``env`` (alias ``environ``): csvscore's config and state folders inside ``tmp_path``, keyring
  off, so no test touches the real user's files or keyring.
- ``fake_clock``: a clock that moves only when told. Pass ``clock=fake_clock`` to both the
  sandbox and the client and ``sleep=fake_clock.sleep`` to the client: waits then advance the
  sandbox's rate-limit windows too, and ``fake_clock.sleeps`` records every requested sleep.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from csvscore.sandbox.server import Sandbox, SandboxConfig


def pytest_configure(config: pytest.Config) -> None:
    """Give Ctrl-C back to the test run, and so to the csvscore processes the tests start.

    A shell without job control starts a background command (``pytest ... &`` in a script, some
    CI runners) with SIGINT ignored, and an ignored signal stays ignored across ``exec``: every
    child would then shrug off the Ctrl-C that the signal and terminal tests send, and those
    tests fail for a reason that is not csvscore's (seen: 4 failures in a backgrounded run).
    A handler set here is reset to the default in each child, as a terminal would start it.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class FakeClock:
    """A thread-safe fake ``time.time`` whose ``sleep`` advances it and records the request."""

    def __init__(self, start: float = 1_700_000_000.25) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def factory(config: SandboxConfig | None = None, **overrides: Any) -> Sandbox:
        sandbox = Sandbox(config, **overrides).start()
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in reversed(started):
        sandbox.close()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A file-only environment (keyring disabled) with private config/state dirs."""
    return {
        "CSVSCORE_CONFIG_DIR": str(tmp_path / "config"),
        "CSVSCORE_STATE_DIR": str(tmp_path / "state"),
        "CSVSCORE_KEYRING": "0",
    }


@pytest.fixture
def environ(env: dict[str, str]) -> dict[str, str]:
    return env


# -- the receiver's stores: SQLite and a real PostgreSQL -----------------------------------------

ENV_PG_URL = "CSVSCORE_TEST_PG_URL"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A real PostgreSQL: ``CSVSCORE_TEST_PG_URL`` (set by .ci/run), else one started here."""
    import os
    import shutil
    import tempfile

    from tests import pgserver

    given = os.environ.get(ENV_PG_URL, "").strip()
    if given:
        yield given
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {ENV_PG_URL} is not: .ci/run must start PostgreSQL")
    base = Path(tempfile.mkdtemp(prefix="csvscore-pg-"))
    try:
        yield pgserver.start(base)
    finally:
        pgserver.stop(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """A database URL whose tables live in a fresh schema (one per test)."""
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_server_url else "?"
    return f"{pg_server_url}{sep}options={quote(f'-c search_path={schema}')}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store tests run against both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'receiver.db'}"
    return str(request.getfixturevalue("pg_url"))
