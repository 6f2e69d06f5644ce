"""Two runs started together (a double-click, a second drop while the first window is slow):
real `csvscore score` processes, started at the same instant, many times, against a sandbox
with latency. Whatever the interleaving, no person is charged twice and every row ends final.

The sandbox runs in this test process, so it outlives both csvscore processes and knows who was
charged how often.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from csvscore.errors import ExitCode
from csvscore.sandbox.server import Sandbox
from tests.support import sheet_rows, write_contacts
from tests.test_money_safety import reexport

ITERATIONS = 5
ROWS = 60
FINAL = {"accepted", "duplicate", "unconfirmed", "rejected", "skipped", "failed", "not sent"}


def _start(sb: Sandbox, src: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "csvscore", "score", str(src), "--base-url", sb.url, "--yes"]
    cmd += ["--batch-size", "10", "--workers", "2"]
    return subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["the same file", "two copies of it", "two re-exports"])
def test_two_runs_started_together_never_charge_a_person_twice(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, kind: str
) -> None:
    overlapped = 0
    for i in range(ITERATIONS):
        sb = make_sandbox(latency=0.05)
        home = tmp_path / f"try{i}"
        home.mkdir()
        env = dict(
            os.environ,
            TITANX_API_KEY=sb.api_key,
            CSVSCORE_STATE_DIR=str(home / "state"),
            CSVSCORE_CONFIG_DIR=str(home / "config"),
            CSVSCORE_KEYRING="0",
        )
        env.pop("CI", None)
        first = write_contacts(home / "a.csv", ROWS)
        if kind == "the same file":
            second = first
        elif kind == "two copies of it":
            (home / "copy").mkdir()
            second = Path(shutil.copy(first, home / "copy" / "a.csv"))
        else:
            second = reexport(first, home / "b.csv")
        procs = [_start(sb, first, env), _start(sb, second, env)]
        started = time.monotonic()
        outs = [p.communicate(timeout=120) for p in procs]
        codes = [p.returncode for p in procs]
        assert time.monotonic() - started < 120
        people = sb.state.charged_people()
        assert [p for p, n in people.items() if n > 1] == [], (kind, i, codes, outs)
        assert len(people) == ROWS, (kind, i, codes)  # and everyone was charged once
        for code, (_out, err) in zip(codes, outs, strict=True):
            assert code in (ExitCode.OK, ExitCode.BUSY), (kind, i, code, err)
            if code == ExitCode.BUSY:
                overlapped += 1
                assert err.startswith("This file is being scored in another window"), err
        for src in {first, second}:
            out = src.with_name(src.stem + ".scored.xlsx")
            if out.exists():
                assert {r["TitanX Status"] for r in sheet_rows(out, "Results")} <= FINAL
        if kind == "two re-exports":
            assert codes == [ExitCode.OK, ExitCode.OK]  # different files both finish
            overlapped += _held_back(home)
    # The runs really met: some attempts found the other one at work.
    assert overlapped >= 1, f"{kind}: the two runs never overlapped in {ITERATIONS} tries"


def _held_back(home: Path) -> int:
    """1 when the ledger held back people the other window was sending, else 0."""
    for name in ("a.scored.xlsx", "b.scored.xlsx"):
        rows = sheet_rows(home / name, "Results")
        if any(r["TitanX Status"] == "duplicate" for r in rows):
            return 1
    return 0
