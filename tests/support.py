"""Helpers shared by the end-to-end tests: synthetic exports, a CLI runner, workbook readers."""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from csvscore.cli import main
from csvscore.cli.env import Env

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone",
    "Job Title",
    "Lead Source",
]
AREAS = ["415", "212", "617", "202", "312", "646", "713", "305", "206", "512"]


def phone(i: int, *, mobile: bool = False) -> str:
    """A distinct valid US number in the fictional 555-01xx range for row ``i``."""
    area = AREAS[(i // 100 + (5 if mobile else 0)) % len(AREAS)]
    return f"({area}) 555-01{i % 100:02d}"


def contact_row(i: int) -> list[str]:
    # First names carry the row number so no two generated rows are duplicates.
    return [
        f"Ann{i}",
        "Lee",
        f"ann{i}@example.com",
        phone(i),
        phone(i + 37, mobile=True),
        "VP Sales",
        "Webinar",
    ]


def write_contacts(
    path: Path, n: int, extra: list[list[str]] | None = None, *, fill: int = 0
) -> Path:
    """``n`` distinct contacts; ``fill`` puts that many random hex digits in "Lead Source"."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(n):
            row = contact_row(i)
            if fill:
                row[-1] = os.urandom(fill // 2).hex()
            w.writerow(row)
        for row in extra or []:
            w.writerow(row)
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(args: list[str], environ: dict[str, str], stdin: str = "") -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdin=io.StringIO(stdin), stdout=out, stderr=err, environ=dict(environ))
    code = main([str(a) for a in args], env)
    return Run(int(code), out.getvalue(), err.getvalue())


def sheet_rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    wb = load_workbook(path)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:]]


def summary(path: Path) -> dict[str, Any]:
    """The Summary's label -> value pairs (labels in column A, values in column B)."""
    wb = load_workbook(path)
    pairs = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0] is not None}
    wb.close()
    return pairs


def run_process(
    args: list[object],
    environ: dict[str, str],
    *,
    cwd: Path | None = None,
    unprivileged: bool = False,
    max_file_bytes: int | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m csvscore ARGS`` in a process of its own, as a user would run it.

    ``unprivileged``: without root's power to write anywhere (a user namespace when the tests
    run as root), so a read-only folder is read-only. ``max_file_bytes``: no file may grow past
    it (RLIMIT_FSIZE), as on a disk that fills up; writes past it fail with EFBIG.
    """
    cmd = [sys.executable, "-m", "csvscore", *map(str, args)]
    if unprivileged and os.geteuid() == 0:
        cmd = ["unshare", "--user", *cmd]

    def limit() -> None:
        if max_file_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    env = {**os.environ, **environ}
    env.pop("CI", None)
    return subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )
