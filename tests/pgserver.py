"""A throwaway PostgreSQL cluster for the store tests and benchmarks (stdlib only).

``.ci/run`` starts one before the tests (``python3 tests/pgserver.py start DIR`` prints its URL)
and stops it after; the test fixture starts its own when no ``CSVSCORE_TEST_PG_URL`` is given,
so the PostgreSQL tests never skip. initdb refuses to run as root, so as root the cluster runs as
the ``postgres`` user (created by Debian's package). It listens only on a Unix socket in DIR.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

PORT = 54329


def _bin(name: str) -> str:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def url_for(base: Path, port: int = PORT) -> str:
    return f"postgresql://postgres@/csvscore_test?host={base}&port={port}"


def start(base: Path, port: int = PORT) -> str:
    """initdb + start in ``base`` (created); the URL of an empty database ``csvscore_test``."""
    base.mkdir(parents=True, exist_ok=True)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        base.chmod(0o755)
    # cwd=base: the postgres user may not be allowed into the caller's working directory.
    run: dict[str, Any] = {"check": True, "stdout": subprocess.DEVNULL,
                           "stderr": subprocess.PIPE, "timeout": 120, "cwd": str(base)}  # fmt: skip
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_owner([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--no-sync"]),
            **run,
        )  # fmt: skip
    options = f"-k {base} -c listen_addresses='' -p {port} -c max_connections=100"
    subprocess.run(
        _as_owner([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
                   "-w", "-t", "60", "start"]),
        **run,
    )  # fmt: skip
    subprocess.run(
        [_bin("psql"), "-h", str(base), "-p", str(port), "-U", "postgres", "-d", "postgres",
         "-qc", "CREATE DATABASE csvscore_test"],
        **run,
    )  # fmt: skip
    return url_for(base, port)


def stop(base: Path) -> None:
    data = base / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_owner([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]),
            check=False, stdout=subprocess.DEVNULL, timeout=120, cwd=str(base),
        )  # fmt: skip


if __name__ == "__main__":
    action, folder = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        print(start(folder))
    elif action == "stop":
        stop(folder)
    else:
        sys.exit(f"usage: {sys.argv[0]} start|stop DIR")
