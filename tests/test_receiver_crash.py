"""A delivery answered 200 survives the receiver being killed with SIGKILL right after.

The receiver is a real process (`csvscore receiver serve`), killed -9 the moment the 200 is read:
no shutdown hook runs, so only a commit made before the answer can keep the delivery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from csvscore.receiver.database import open_store
from csvscore.receiver.secretfile import SecretFile
from tests.receiver_support import SECRET, deliver, envelope, scored_payload


def _start(db_url: str, secrets: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "csvscore", "receiver", "serve", "--db", db_url,
         "--secrets", str(secrets), "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server accepts connections (or exits)
    assert line.startswith("RECEIVER_URL="), line
    return proc, line.strip().split("=", 1)[1]


def test_a_delivery_answered_200_is_there_after_kill_9(
    store_url: str, tmp_path: Path, env: dict[str, str]
) -> None:
    secrets = tmp_path / "secrets.json"
    SecretFile(secrets).add("default", SECRET)
    environ = {**os.environ, **env}
    proc, url = _start(store_url, secrets, environ)
    bodies = [envelope(scored_payload(f"k{i}"), f"e{i}", int(time.time() * 1000)) for i in range(5)]
    try:
        for body in bodies:
            assert deliver(url, body).status == 200
        os.kill(proc.pid, signal.SIGKILL)  # at once, after the last 200
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    store = open_store(store_url)
    try:
        assert sorted(store.lookup([f"k{i}" for i in range(5)])) == [f"k{i}" for i in range(5)]
    finally:
        store.close()
    # Restarted, the receiver knows them: a retry of the last one is a duplicate.
    proc, url = _start(store_url, secrets, environ)
    try:
        assert deliver(url, bodies[-1]).body["status"] == "duplicate"
    finally:
        proc.terminate()
        proc.wait(30)
