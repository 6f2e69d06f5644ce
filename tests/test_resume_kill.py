"""Crash safety: SIGKILL `csvscore score` at random points, many times, then run it to the end.

The sandbox runs in this test process, so it outlives every killed csvscore process and knows
exactly which contacts it received and charged.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from csvscore.contacts.build import file_fingerprint
from csvscore.sandbox.server import Sandbox
from tests.support import sheet_rows, write_contacts

ROWS = 1200
BATCH = 40


def _start(sb: Sandbox, src: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "csvscore",
        "score",
        str(src),
        "--base-url",
        sb.url,
        "--yes",
        "-o",
        str(out),
        "--batch-size",
        str(BATCH),
        "--workers",
        "2",
    ]
    return subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _env(sb: Sandbox, tmp_path: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        TITANX_API_KEY=sb.api_key,
        CSVSCORE_STATE_DIR=str(tmp_path / "state"),
        CSVSCORE_CONFIG_DIR=str(tmp_path / "config"),
        CSVSCORE_KEYRING="0",
    )
    env.pop("CI", None)
    return env


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_runs_resume_with_every_row_accounted_for_and_nothing_sent_twice(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    # A little latency keeps requests in flight, so most kills land mid-request.
    sb = make_sandbox(latency=0.03)
    src = write_contacts(tmp_path / "contacts.csv", ROWS)
    out = tmp_path / "contacts.scored.xlsx"
    env = _env(sb, tmp_path)
    kills = 0
    finished_early = False
    for _ in range(5):
        before = len(sb.state.score_requests)
        target = before + rng.randint(1, 6)
        on_answer = rng.random() < 0.5  # kill just after an answer, or while one is in flight
        proc = _start(sb, src, out, env)

        def reached(
            reqs: list, target: int = target, on_answer: bool = on_answer, before: int = before
        ) -> bool:
            if on_answer:
                return sum(1 for r in reqs[before:] if r.status is not None) >= target - before
            return len(reqs) >= target

        hit = sb.state.wait_for(reached, timeout=60)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        if not hit:
            finished_early = True  # the run ended before the kill point
            break
    assert kills >= 2, "the runs finished too fast to be interrupted"
    if not finished_early:
        assert not out.exists()  # a killed run never leaves a finished-looking result

    final = _start(sb, src, out, env)
    _, stderr = final.communicate(timeout=120)
    assert final.returncode in (0, 5), stderr.decode()

    # Nothing was sent, or charged, twice.
    received = sb.state.contact_id_counts()
    assert received and max(received.values()) == 1, "a contact was sent twice"
    charged = sb.state.job_contact_id_counts()
    assert max(charged.values()) == 1

    # Every row is accounted for, in order, with a final status.
    rows = sheet_rows(out, "Results")
    assert [r["Source Row"] for r in rows] == list(range(2, ROWS + 2))
    status = Counter(r["TitanX Status"] for r in rows)
    assert set(status) <= {"accepted", "unconfirmed"}, status
    # Every row the sandbox charged is accepted or (if the crash hid its answer) unconfirmed;
    # every accepted row was really charged.
    prefix = f"cs-{file_fingerprint(src)[:10]}-"
    key = {r["Source Row"]: f"{prefix}{r['Source Row']}" for r in rows}
    accepted = {key[r["Source Row"]] for r in rows if r["TitanX Status"] == "accepted"}
    unconfirmed = {key[r["Source Row"]] for r in rows if r["TitanX Status"] == "unconfirmed"}
    assert accepted <= set(charged), "a row is reported accepted that TitanX never charged"
    assert set(charged) <= accepted | unconfirmed, "a charged row is reported as not sent"
    assert final.returncode == (5 if unconfirmed else 0)
    # Only batches in flight at a kill can be unconfirmed (2 workers, one batch each).
    assert len(unconfirmed) <= kills * 2 * BATCH


def test_ctrl_c_mid_run_writes_the_workbook_exits_130_and_the_rerun_finishes(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = make_sandbox(latency=0.03)
    src = write_contacts(tmp_path / "contacts.csv", 400)
    out = tmp_path / "contacts.scored.xlsx"
    env = _env(sb, tmp_path)
    proc = _start(sb, src, out, env)
    assert sb.state.wait_for(lambda reqs: len(reqs) >= 3, timeout=60)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    rows = sheet_rows(out, "Results")
    status = Counter(r["TitanX Status"] for r in rows)
    assert status["accepted"] >= 1 and status["not sent"] >= 1, status
    stopped = [r["TitanX Reason"] for r in rows if r["TitanX Status"] == "not sent"]
    assert set(stopped) == {"not sent: the run was stopped"}

    final = _start(sb, src, out, env)
    said, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    assert [r["TitanX Status"] for r in sheet_rows(out, "Results")] == ["accepted"] * 400
    assert set(sb.state.contact_id_counts().values()) == {1}
    # The headline tells the re-drop's share apart from what the first run sent...
    headline = re.search(
        r"Done\. 400 contacts sent \([\d.]+ credits in all\), (\d+) of them in this run "
        r"\([\d.]+ credits\)",
        said.decode(),
    )
    assert headline and int(headline[1]) == status["not sent"], said.decode()
    # ...and a drop with nothing left to send does not read as a charge.
    again = _start(sb, src, out, env)
    said, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert "Done. Nothing new to send: 400 contacts sent before" in said.decode()
    assert set(sb.state.contact_id_counts().values()) == {1}


def test_a_second_ctrl_c_leaves_at_once_and_the_next_run_settles_what_was_in_flight(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """The first Ctrl-C waits for the requests in flight; a second one leaves without waiting
    (a tester's third Ctrl-C then met Python joining those threads: a traceback)."""
    # A request stays in flight long enough to be abandoned; the job details list their
    # contacts, the proof that lets the next run claim two jobs of the same size.
    sb = make_sandbox(latency=5.0, job_contact_ids=True)
    src = write_contacts(tmp_path / "contacts.csv", 200)
    out = tmp_path / "contacts.scored.xlsx"
    env = _env(sb, tmp_path)
    proc = _start(sb, src, out, env)
    # Both workers' requests have arrived: no other batch is marked as sending after the stop.
    # (A batch marked sending whose request had not left when the process was abandoned stays
    # unconfirmed for good: nothing can prove it was not charged.)
    assert sb.state.wait_for(lambda reqs: len(reqs) >= 2, timeout=60)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    seen = b""
    while b"Stopping after the requests in flight" not in seen:
        line = proc.stderr.readline()
        assert line, seen.decode()
        seen += line
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    said = (seen + err).decode()
    assert proc.returncode == 130, said
    assert "Stopped without waiting for the requests in flight" in said
    assert "Traceback" not in said and "Exception ignored" not in said

    # TitanX finishes what it was sent (the sandbox answers the abandoned requests), and the
    # next run is quicker; it finds the jobs of the abandoned batches instead of resending them.
    assert sb.state.wait_for(lambda reqs: all(r.status for r in reqs), timeout=60)
    sb.state.config.latency = 0.0
    final = _start(sb, src, out, env)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    assert [r["TitanX Status"] for r in sheet_rows(out, "Results")] == ["accepted"] * 200
    assert set(sb.state.contact_id_counts().values()) == {1}  # nobody charged twice
