"""A run stopped from outside: SIGTERM (a shutdown, `kill`), SIGHUP (the terminal window
closed) and SIGKILL, each in the middle of sending, then a re-export of the same people and a
re-drop of the same file. Real processes, really signalled; the sandbox counts the charges.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from csvscore.errors import ExitCode
from csvscore.sandbox.server import Sandbox
from tests.support import run_cli, sheet_rows, write_contacts
from tests.test_money_safety import reexport
from tests.test_resume_kill import _env

ROWS = 300


def _start(sb: Sandbox, src: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "csvscore", "score", str(src), "--base-url", sb.url, "--yes"]
    cmd += ["--batch-size", "10", "--workers", "2"]
    return subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _journal_states(state: Path) -> list[str]:
    [path] = (state / "journals").glob("*.sqlite")
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM batches")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_term_and_hup_stop_like_ctrl_c_and_a_re_export_is_not_charged_again(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, signum: int
) -> None:
    sb = make_sandbox(latency=0.05)
    env = _env(sb, tmp_path)
    src = write_contacts(tmp_path / "c.csv", ROWS)
    proc = _start(sb, src, env)
    assert sb.state.wait_for(lambda reqs: len(reqs) >= 4, timeout=60)
    proc.send_signal(signum)
    if signum == signal.SIGHUP:  # the window is gone: nobody reads its output any more
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
        proc.wait(timeout=60)
        err = ""
    else:
        out, raw = proc.communicate(timeout=60)
        err = raw.decode()
        assert "Stopping after the requests in flight" in err
        first = out.decode().splitlines()[0]
        assert re.fullmatch(
            r"Stopped\. \d+ contacts sent \([\d.]+ credits\); \d+ not sent yet\. "
            r"Drop the same file again to send the rest\.",
            first,
        ), first
    assert proc.returncode == ExitCode.INTERRUPTED, err
    # In-flight requests finished and were recorded; the workbook is whole; no temp file left.
    assert "sending" not in _journal_states(tmp_path / "state")
    rows = sheet_rows(tmp_path / "c.scored.xlsx", "Results")
    assert len(rows) == ROWS
    statuses = {r["TitanX Status"] for r in rows}
    assert statuses <= {"accepted", "not sent"} and "not sent" in statuses
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    # A re-export of the same people: those already charged are held back.
    other = reexport(src, tmp_path / "again.csv")
    r = run_cli(["score", other, "--base-url", sb.url, "--yes"], env)
    assert r.code == ExitCode.OK, r.err
    assert [p for p, n in sb.state.charged_people().items() if n > 1] == []
    assert len(sb.state.charged_people()) == ROWS


@pytest.mark.parametrize("lists_contacts", [True, False])
def test_kill_9_mid_run_then_a_re_export_and_a_re_drop_charge_no_one_twice(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, lists_contacts: bool
) -> None:
    """``lists_contacts``: whether TitanX's job detail lists the job's contacts (unknown)."""
    sb = make_sandbox(latency=0.05, job_contact_ids=lists_contacts)
    env = _env(sb, tmp_path)
    src = write_contacts(tmp_path / "c.csv", ROWS)
    proc = _start(sb, src, env)
    assert sb.state.wait_for(lambda reqs: len(reqs) >= 5, timeout=60)
    proc.kill()
    proc.communicate(timeout=60)
    other = reexport(src, tmp_path / "again.csv")
    r = run_cli(["score", other, "--base-url", sb.url, "--yes"], env)
    assert r.code in (ExitCode.OK, ExitCode.UNCONFIRMED), r.err
    assert [p for p, n in sb.state.charged_people().items() if n > 1] == []
    # The batches in flight at the kill are held for their own file, not sent by the copy.
    held = [x for x in sheet_rows(tmp_path / "again.scored.xlsx", "Results")]
    assert {x["TitanX Status"] for x in held} <= {"accepted", "duplicate"}
    again = run_cli(["score", src, "--base-url", sb.url, "--yes"], env)
    assert again.code in (ExitCode.OK, ExitCode.UNCONFIRMED), again.err
    assert [p for p, n in sb.state.charged_people().items() if n > 1] == []
    rows = sheet_rows(tmp_path / "c.scored.xlsx", "Results")
    assert {r["TitanX Status"] for r in rows} <= {"accepted", "duplicate", "unconfirmed"}
    # Everyone is charged once, except the batches in flight at the kill: those TitanX never
    # got, and (when the job detail does not list contacts) those it got at the same moment as
    # another, cannot be proven either way, so they stay unconfirmed: never resent on their own.
    unconfirmed = sum(1 for r in rows if r["TitanX Status"] == "unconfirmed")
    charged = len(sb.state.charged_people())
    assert unconfirmed <= 2 * 10  # two workers, one batch of 10 each
    if lists_contacts:  # each job shows its own contacts: only what never arrived is unknown
        assert charged + unconfirmed == ROWS
    else:
        assert ROWS <= charged + unconfirmed <= ROWS + 20
