"""Scores back into the workbook (issue 11, phase 2): the journal keeps them, `csvscore results`,
dropping the same file again, `--wait-scores`, and the sandbox's one-machine loop.

Real HTTP on 127.0.0.1 only (the sandbox and an in-process receiver), real files; the sandbox's
delivery worker says when it is done (``wait_idle``), nothing sleeps to synchronise.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pexpect
import pytest
from openpyxl import load_workbook

import csvscore
from csvscore.api.client import TitanXClient
from csvscore.errors import ExitCode
from csvscore.output.score_columns import NO_RECEIVER_HINT
from csvscore.output.workbook import write_result
from csvscore.receiver.subscriptions import create_subscription
from csvscore.sandbox.server import Sandbox
from csvscore.sandbox.webhooks import lead_status, phone_status
from csvscore.scores.identity import e164
from csvscore.scores.match import MISMATCH, NO_RESULT, NOT_SENT, PENDING, SCORED, ScoreRecord
from csvscore.scores.priority import load_priorities
from csvscore.scoring.collect import Waiting, collect
from csvscore.scoring.journal import Journal
from tests.receiver_support import RunningReceiver, deliver, envelope, make_receiver
from tests.support import phone, run_cli, write_contacts

TOKEN = "csr_phase2-read-token"
PRIORITIES = load_priorities()
SCORE_COLUMNS = [
    "TitanX Lead Status",
    "Call Priority",
    "Best Phone",
    "Best Phone Column",
    "TitanX: Phone Number",
    "TitanX: Mobile Phone",
    "Score State",
    "Scored At",
    "Score Note",
]
# Beside 8 plain contacts: an exact repeat of row 2 (duplicate), a row with no first name
# (skipped), one with no mobile number, and one whose mobile is not a number (not sent).
EXTRA = [
    ["Ann0", "Lee", "ann0@example.com", phone(0), phone(37, mobile=True), "VP Sales", "Webinar"],
    ["", "NoFirst", "", phone(90), "", "", ""],
    ["Cy", "Moss", "", phone(91), "", "CFO", ""],
    ["Bea", "Park", "", phone(92), "12345", "", ""],
]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[RunningReceiver]:
    r = make_receiver(f"sqlite:///{tmp_path / 'receiver.db'}", tmp_path / "secrets.json")
    r.store.add_token("ops", TOKEN)
    with RunningReceiver(r) as rr:
        yield rr
    r.store.close()


@dataclass
class Loop:
    sb: Sandbox
    rr: RunningReceiver
    environ: dict[str, str]  # a TitanX key for the sandbox; the receiver connected

    def idle(self) -> None:
        assert self.sb.state.webhooks.worker.wait_idle(30)


@pytest.fixture
def loop(
    make_sandbox: Callable[..., Sandbox], receiver: RunningReceiver, env: dict[str, str]
) -> Loop:
    """A sandbox whose webhooks go to a receiver this person is connected to."""
    sb = make_sandbox()
    with TitanXClient(sb.api_key, sb.url) as client:
        create_subscription(client, receiver.url + "/hooks/titanx", receiver.receiver.secrets)
    environ = dict(
        env,
        TITANX_API_KEY=sb.api_key,
        CSVSCORE_RECEIVER_URL=receiver.url,
        CSVSCORE_RECEIVER_TOKEN=TOKEN,
    )
    return Loop(sb, receiver, environ)


def _rows(path: Path, sheet: str = "Results") -> list[dict[str, Any]]:
    wb = load_workbook(path)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:]]


def _scores(path: Path) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in ["Source Row", *SCORE_COLUMNS]) for r in _rows(path)]


def _expected(phone_text: str, mobile_text: str) -> dict[str, Any]:
    """What the sandbox's scorer gives a row: each number's status, the best, and its cell.

    The mapping sends the mobile as ``phone`` and the other as ``phone2``; when both numbers
    have the lead status, the best phone is the first slot's.
    """
    cells = [("Mobile Phone", mobile_text), ("Phone Number", phone_text)]  # slot order
    statuses = {col: phone_status(str(e164(text))) for col, text in cells if e164(text)}
    lead = lead_status(list(statuses.values()))
    best = next(col for col, _ in cells if statuses.get(col) == lead)
    return {
        "TitanX Lead Status": lead,
        "Call Priority": PRIORITIES.shown(lead),
        "Best Phone": dict(cells)[best],
        "Best Phone Column": best,
        "TitanX: Phone Number": statuses.get("Phone Number"),
        "TitanX: Mobile Phone": statuses.get("Mobile Phone")
        or ("not sent" if mobile_text else None),
        "Score State": SCORED,
    }


def _journal_scores(state: Path) -> list[tuple[Any, ...]]:
    [path] = (state / "journals").glob("*.sqlite")
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM scores ORDER BY run_key, row_index").fetchall()


def _score(loop: Loop, src: Path, out: Path, *extra: str) -> Any:
    args = ["score", src, "--base-url", loop.sb.url, "--yes", "-o", out, *extra]
    return run_cli(args, loop.environ)


# -- the loop end to end --------------------------------------------------------------------------


def test_the_sandboxs_scores_land_on_their_rows_and_results_again_changes_nothing(
    loop: Loop, tmp_path: Path, env: dict[str, str]
) -> None:
    src = write_contacts(tmp_path / "export.csv", 8, EXTRA)
    out = tmp_path / "export.scored.xlsx"
    assert _score(loop, src, out).code == ExitCode.OK
    loop.idle()
    got = run_cli(["results", src], loop.environ)
    assert got.code == ExitCode.OK, got.err
    assert f"Result: {out}" in got.out and "Scores: 10 scored, 2 not sent." in got.out
    rows = _rows(out)
    assert [r["Source Row"] for r in rows] == list(range(2, 14))
    assert list(rows[0])[6:15] == SCORE_COLUMNS  # after the status columns, before the export's
    for r in rows:
        if r["First Name"] in ("", None) or r["TitanX Status"] == "duplicate":
            assert r["Score State"] == NOT_SENT
            assert r["Score Note"] == f"not scored (TitanX Status: {r['TitanX Status']})"
            assert r["TitanX Lead Status"] is None and r["Scored At"] is None
            continue
        want = _expected(r["Phone Number"], r["Mobile Phone"] or "")
        assert {k: r[k] for k in want} == want, r["Source Row"]
        assert isinstance(r["Scored At"], datetime)
    assert rows[9]["TitanX: Mobile Phone"] is None  # Cy Moss: an empty cell stays empty
    assert rows[11]["TitanX: Mobile Phone"] == "not sent"  # Bea Park: "12345"

    # The Call List: scored rows only, best first, the dialer's columns first.
    calls = _rows(out, "Call List")
    assert list(calls[0])[:5] == [
        "First Name",
        "Last Name",
        "Best Phone",
        "Call Priority",
        "TitanX Lead Status",
    ]
    scored = [r for r in rows if r["Score State"] == SCORED]
    dialable = [r for r in scored if r["Call Priority"] != 9]
    assert len(calls) == len(dialable) and len(dialable) < len(scored)
    assert [c["Call Priority"] for c in calls] == sorted(c["Call Priority"] for c in calls)
    by_row = {r["Source Row"]: r for r in rows}
    for c in calls:
        assert c["Best Phone"] == by_row[c["Source Row"]]["Best Phone"]

    # Running it again with nothing new: the same score cells, the journal untouched.
    cells, kept = _scores(out), _journal_scores(tmp_path / "state")
    again = run_cli(["results", src, "--format", "csv", "-o", tmp_path / "again.csv"], loop.environ)
    assert again.code == ExitCode.OK
    assert _journal_scores(tmp_path / "state") == kept
    assert run_cli(["results", src], loop.environ).code == ExitCode.OK
    assert _scores(out) == cells and _journal_scores(tmp_path / "state") == kept
    # The CSV result has the same columns, and the Call List beside it.
    header = (tmp_path / "again.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",")[6:15] == SCORE_COLUMNS
    assert (tmp_path / "again.call-list.csv").read_text(encoding="utf-8-sig").count("\n") == (
        len(calls) + 1
    )
    assert len(loop.sb.state.score_requests) == 1  # fetching sent nothing


def test_results_update_the_workbook_the_run_wrote_wherever_it_went(
    loop: Loop, tmp_path: Path
) -> None:
    """`score FILE -o elsewhere` then `results FILE`: the scores go into that workbook, not
    into a second one beside the export that nobody opens."""
    src = write_contacts(tmp_path / "export.csv", 8, EXTRA)
    (tmp_path / "reports").mkdir()
    out = tmp_path / "reports" / "monday.xlsx"
    assert _score(loop, src, out).code == ExitCode.OK
    loop.idle()
    got = run_cli(["results", src], loop.environ)
    assert got.code == ExitCode.OK, got.err
    assert f"Result: {out}" in got.out
    assert not (tmp_path / "export.scored.xlsx").exists()
    assert sum(r["Score State"] == SCORED for r in _rows(out)) == 10


def test_a_re_drop_with_rows_still_to_send_sends_them_first_then_fetches(
    make_sandbox: Callable[..., Sandbox],
    receiver: RunningReceiver,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    sb = make_sandbox(faults=["400"])  # the first batch is refused: half the file is sent
    with TitanXClient(sb.api_key, sb.url) as client:
        create_subscription(client, receiver.url + "/hooks/titanx", receiver.receiver.secrets)
    loop = Loop(
        sb,
        receiver,
        dict(
            env,
            TITANX_API_KEY=sb.api_key,
            CSVSCORE_RECEIVER_URL=receiver.url,
            CSVSCORE_RECEIVER_TOKEN=TOKEN,
        ),
    )
    src = write_contacts(tmp_path / "export.csv", 10)
    out = tmp_path / "out.xlsx"
    options = ("--batch-size", "5", "--workers", "1")
    assert _score(loop, src, out, *options).code == ExitCode.FAILED
    loop.idle()
    states = [r["Score State"] for r in _rows(out)]
    assert states[:5] == [NOT_SENT] * 5  # failed (not charged): nothing to score yet
    again = _score(loop, src, out, *options)  # dropping the same file again
    assert again.code == ExitCode.OK, again.err
    assert len(sb.state.score_requests) == 3  # only the refused batch was sent again
    rows = _rows(out)
    assert [r["Score State"] for r in rows[5:]] == [SCORED] * 5  # fetched after sending
    assert {r["Score State"] for r in rows[:5]} <= {SCORED, PENDING}
    loop.idle()
    assert run_cli(["results", src, "-o", out], loop.environ).code == ExitCode.OK
    assert [r["Score State"] for r in _rows(out)] == [SCORED] * 10


def test_dropping_the_same_file_again_when_all_was_sent_fetches_without_questions(
    loop: Loop, tmp_path: Path
) -> None:
    src = write_contacts(tmp_path / "export.csv", 6)
    out = tmp_path / "export.scored.xlsx"
    worker = loop.sb.state.webhooks.worker
    worker.pause()  # TitanX has not scored anything yet when the first run ends
    first = _score(loop, src, out)
    assert first.code == ExitCode.OK
    assert "6 still to come from TitanX: drop the same file again later" in first.out
    assert {r["Score State"] for r in _rows(out)} == {PENDING}
    assert "waiting for TitanX's result" in {r["Score Note"] for r in _rows(out)}
    worker.resume()
    loop.idle()
    # The ops person drops it again, at a terminal: no review, no cost question.
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "COLUMNS", "LINES")}
    environ.update(loop.environ, TITANX_BASE_URL=loop.sb.url, NO_COLOR="1", TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "csvscore", "score", src.name],
        env=environ,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    child.expect_exact("nothing is left to send")
    child.expect(pexpect.EOF)
    child.close()
    shown = " ".join(child.before.split())
    assert child.exitstatus == ExitCode.OK, shown
    assert "Scores: 6 scored." in shown and "Send" not in shown
    assert {r["Score State"] for r in _rows(out)} == {SCORED}
    assert len(loop.sb.state.score_requests) == 1


def test_wait_scores_with_the_sandbox_brings_every_score_back_in_the_same_run(
    env: dict[str, str], tmp_path: Path
) -> None:
    src = write_contacts(tmp_path / "export.csv", 8, EXTRA)
    run = run_cli(["score", src, "--sandbox", "--yes", "--wait-scores", "60"], env)
    assert run.code == ExitCode.OK, run.err
    out = tmp_path / "export.scored.xlsx"
    rows = _rows(out)
    for r in rows:
        if r["TitanX Status"] == "accepted":
            want = _expected(r["Phone Number"], r["Mobile Phone"] or "")
            assert {k: r[k] for k in want} == want, r["Source Row"]
    assert sum(r["Score State"] == SCORED for r in rows) == 10
    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["Summary", "Results", "Call List"]
    summary = {r[0]: r[1:] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    wb.close()
    assert summary["Scored"][0] == 10 and summary["Not sent"][0] == 2
    assert summary["Scores from"][0].startswith("the sandbox")
    lead_rows = [k for k in summary if k in ("P1", "P2", "P3", "IVR", "Bad Data")]
    assert sum(summary[k][0] for k in lead_rows) == 10


def test_wait_scores_after_an_earlier_sandbox_run_brings_that_runs_scores_back(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The README's first command, then the loop: the first sandbox (and its jobs) is gone,
    yet the second run, which sends nothing, gets every score of what the first one sent."""
    src = write_contacts(tmp_path / "export.csv", 8, EXTRA)
    first = run_cli(["score", src, "--sandbox", "--yes"], env)
    assert first.code == ExitCode.OK, first.err
    out = tmp_path / "export.scored.xlsx"
    accepted = [r["Source Row"] for r in _rows(out) if r["TitanX Status"] == "accepted"]
    assert "--wait-scores 60" in _summary_text(out)  # how to see the sandbox's scores

    again = run_cli(["score", src, "--sandbox", "--yes", "--wait-scores", "60"], env)
    assert again.code == ExitCode.OK, again.err
    assert "Nothing new to send" in again.out
    assert f"Scores: {len(accepted)} scored," in again.out
    rows = _rows(out)
    assert [r["Source Row"] for r in rows if r["Score State"] == SCORED] == accepted
    for r in rows:
        if r["Score State"] == SCORED:
            want = _expected(r["Phone Number"], r["Mobile Phone"] or "")
            assert {k: r[k] for k in want} == want, r["Source Row"]


def test_wait_scores_with_the_sandbox_needs_the_receiver_extra_and_says_so(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on an ops install: uvicorn cannot be imported (the receiver's modules load afresh,
    # and every module loaded meanwhile is forgotten afterwards).
    before = dict(sys.modules)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    for name in [m for m in sys.modules if m.startswith("csvscore.receiver.")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        src = write_contacts(tmp_path / "export.csv", 3)
        run = run_cli(["score", src, "--sandbox", "--yes", "--wait-scores", "60"], env)
    finally:
        for name in set(sys.modules) - set(before):
            del sys.modules[name]
    assert run.code == ExitCode.RECEIVER
    # The pip of this very Python: a bare `pip` may install into another environment.
    assert run.err.count("\n") == 1
    assert f"{sys.executable} -m pip install 'csvscore[receiver]'" in run.err
    assert "Nothing was sent" in run.err and not (tmp_path / "export.scored.xlsx").exists()


# -- without a receiver, and when it cannot help ---------------------------------------------------


def test_without_a_receiver_the_workbook_is_as_before_plus_one_summary_line(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    src = write_contacts(tmp_path / "export.csv", 5, EXTRA[:2])
    out = tmp_path / "with.xlsx"
    environ = dict(env, TITANX_API_KEY=sandbox.api_key)
    request = csvscore.ScoreRequest(base_url=sandbox.url, output=out)
    outcome = csvscore.score_file(src, request, env=environ)
    assert outcome.scores is None
    mapped = csvscore.map_file(src, env=environ)
    before = tmp_path / "before.xlsx"  # the same run, written as before scores existed
    write_result(before, mapped.table, mapped.mapping, outcome.result)
    new, old = load_workbook(out), load_workbook(before)
    assert new.sheetnames == old.sheetnames
    for name in old.sheetnames:
        new_rows = list(new[name].iter_rows(values_only=True))
        old_rows = list(old[name].iter_rows(values_only=True))
        if name == "Summary":
            line = [r for r in new_rows if r[0] == "Scores"]
            assert line == [("Scores", NO_RECEIVER_HINT, None)]
            assert "Getting scores back" in NO_RECEIVER_HINT
            new_rows.remove(line[0])
        assert new_rows == old_rows, name
    # `results` says what to do, in one line, and leaves the result as it was.
    written = out.read_bytes()
    got = run_cli(["results", src, "-o", out], environ)
    assert got.code == ExitCode.RECEIVER and got.err.count("\n") == 1
    assert (
        "Ask your IT contact for the receiver's address and run `csvscore receiver connect URL`"
        in (got.err)
    )
    assert out.read_bytes() == written
    never = write_contacts(tmp_path / "never.csv", 2)
    unsent = run_cli(["results", never], dict(environ, CSVSCORE_RECEIVER_URL="http://127.0.0.1:9"))
    assert unsent.code == ExitCode.BAD_INPUT and "no record of sending" in unsent.err
    # Sent to the sandbox only: said so, with the command that shows the sandbox's scores.
    assert run_cli(["score", never, "--sandbox", "--yes"], environ).code == ExitCode.OK
    tried = run_cli(["results", never], dict(environ, CSVSCORE_RECEIVER_URL="http://127.0.0.1:9"))
    assert tried.code == ExitCode.BAD_INPUT and tried.err.count("\n") == 1
    assert "only sent to the sandbox" in tried.err and "--sandbox --wait-scores 60" in tried.err


def test_a_result_that_never_comes_is_pending_then_no_result_after_the_grace_period(
    make_sandbox: Callable[..., Sandbox],
    receiver: RunningReceiver,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    sb = make_sandbox(webhook_faults=["never:3"])  # every third contact's score never comes
    with TitanXClient(sb.api_key, sb.url) as client:
        create_subscription(client, receiver.url + "/hooks/titanx", receiver.receiver.secrets)
    environ = dict(
        env,
        TITANX_API_KEY=sb.api_key,
        CSVSCORE_RECEIVER_URL=receiver.url,
        CSVSCORE_RECEIVER_TOKEN=TOKEN,
    )
    src = write_contacts(tmp_path / "export.csv", 6)
    assert run_cli(["score", src, "--base-url", sb.url, "--yes"], environ).code == ExitCode.OK
    assert sb.state.webhooks.worker.wait_idle(30)
    got = run_cli(["results", src, "--json"], environ)
    assert got.code == ExitCode.PENDING
    assert json.loads(got.out)["pending"] == 2
    out = tmp_path / "export.scored.xlsx"
    states = [r["Score State"] for r in _rows(out)]
    assert states == [SCORED, SCORED, PENDING, SCORED, SCORED, PENDING]
    notes = {r["Score Note"] for r in _rows(out) if r["Score State"] == PENDING}
    assert notes == {"the job is finished; its last results may still come"}
    # An hour later (the clock moved, nobody waited): past the grace period.
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    outcome = csvscore.fetch_scores(src, env=environ, now=later)
    assert outcome.scores_pending == 0
    rows = _rows(out)
    assert [r["Score State"] for r in rows] == [
        SCORED,
        SCORED,
        NO_RESULT,
        SCORED,
        SCORED,
        NO_RESULT,
    ]
    job = sb.state.jobs[0].job_id
    assert all(
        f"TitanX finished job {job}" in r["Score Note"] and "resend" in r["Score Note"]
        for r in rows
        if r["Score State"] == NO_RESULT
    )
    # Asked again with the clock an hour back: what the journal learnt stays.
    assert run_cli(["results", src], environ).code == ExitCode.OK
    assert [r["Score State"] for r in _rows(out)][2] == NO_RESULT


def test_a_mismatch_and_an_unknown_status_are_shown_raw(
    sandbox: Sandbox, receiver: RunningReceiver, env: dict[str, str], tmp_path: Path
) -> None:
    environ = dict(
        env,
        TITANX_API_KEY=sandbox.api_key,
        CSVSCORE_RECEIVER_URL=receiver.url,
        CSVSCORE_RECEIVER_TOKEN=TOKEN,
    )
    src = write_contacts(tmp_path / "export.csv", 3)
    assert run_cli(["score", src, "--base-url", sandbox.url, "--yes"], environ).code == 0
    [request] = sandbox.state.score_requests
    sent = request.contacts or []
    job = sandbox.state.jobs[0].job_id
    now = int(datetime.now(timezone.utc).timestamp() * 1000)

    def scored(contact: dict[str, Any], **changes: Any) -> None:
        payload = {**contact, "jobId": job, **changes}
        reply = deliver(receiver.url, envelope(payload, str(uuid.uuid4()), now))
        assert reply.status == 200

    scored(sent[0], firstName="Zed")  # the same key, another person
    scored(sent[1], leadStatus="Platinum", phoneStatus="Platinum", phone2Status="P2")
    got = run_cli(["results", src], environ)
    assert got.code == ExitCode.PENDING  # row 3 has no score (and no job.completed)
    rows = _rows(tmp_path / "export.scored.xlsx")
    assert rows[0]["Score State"] == MISMATCH
    assert rows[0]["Score Note"].startswith("TitanX's contact has another name than this row")
    assert rows[1]["TitanX Lead Status"] == "Platinum" and rows[1]["Call Priority"] == "?"
    assert rows[1]["TitanX: Mobile Phone"] == "Platinum" and rows[1]["TitanX: Phone Number"] == "P2"
    assert rows[1]["Score State"] == SCORED
    assert (
        "unknown TitanX status 'Platinum': add it to mappings/statuses.yaml"
        in (rows[1]["Score Note"])
    )
    assert rows[2]["Score State"] == PENDING
    calls = _rows(tmp_path / "export.scored.xlsx", "Call List")
    assert [(c["First Name"], c["Call Priority"]) for c in calls] == [("Ann1", "?")]


# -- the parts ---------------------------------------------------------------------------------


def _record(index: int, state: str, lead: str | None = None, note: str = "") -> ScoreRecord:
    return ScoreRecord(index, f"k{index}", state, lead_status=lead, note=note)


def test_the_journal_keeps_scores_and_never_trades_a_score_for_a_wait(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        kept = journal.save_scores(
            "run",
            [_record(0, SCORED, "P1"), _record(1, PENDING)],
            fetched_at="2026-12-01T10:00:00Z",
            receiver="https://r",
        )
        assert kept[0].lead_status == "P1" and journal.scores("run") == kept
        later = journal.save_scores(
            "run",
            [_record(0, PENDING), _record(1, SCORED, "P2")],  # the receiver purged row 0's
            fetched_at="2026-12-01T11:00:00Z",
            receiver="https://r",
        )
        assert later[0].state == SCORED and later[1].lead_status == "P2"
        assert journal.scores_checked("run") == ("2026-12-01T11:00:00Z", "https://r")
    with sqlite3.connect(path) as conn:
        fetched = dict(conn.execute("SELECT row_index, fetched_at FROM scores"))
    assert fetched == {0: "2026-12-01T10:00:00Z", 1: "2026-12-01T11:00:00Z"}


def test_a_version_2_journal_gets_the_scores_table_and_keeps_its_batches(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        journal.add_batches("run", [[0, 1]])
    with sqlite3.connect(path) as conn:  # as csvscore 0.2 left it
        conn.execute("DROP TABLE scores")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    with Journal(path) as journal:
        assert [b.row_indexes for b in journal.batches("run")] == [[0, 1]]
        assert journal.scores("run") == {}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)


def test_waiting_polls_only_what_is_missing_on_a_bounded_schedule_and_ctrl_c_ends_it(
    tmp_path: Path,
) -> None:
    from csvscore.scores.match import RunRow

    rows = [RunRow(i, f"k{i}", "job", None, None, ()) for i in range(3)]
    asked: list[list[int]] = []
    sleeps: list[float] = []
    clock = [0.0]

    def fetch(some: Any) -> list[ScoreRecord]:
        asked.append([r.row_index for r in some])
        done = len(asked) >= 4  # the third poll brings the last one
        return [
            _record(r.row_index, SCORED if r.row_index == 0 or done else PENDING, "P1")
            for r in some
        ]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    said: list[str] = []
    with Journal(tmp_path / "j.sqlite") as journal:
        records, problem = collect(
            journal,
            "run",
            rows,
            fetch,
            receiver="r",
            wait=Waiting(60, sleep=sleep, clock=lambda: clock[0]),
            say=said.append,
        )
        assert problem == "" and {r.state for r in records.values()} == {SCORED}
        assert asked == [[0, 1, 2], [1, 2], [1, 2], [1, 2]]
        assert sleeps == [1.0, 2.0, 4.0]
        assert said[0].startswith("Waiting up to 60 s for the scores (1 of 3 in so far)")
        assert said[-1] == "All 3 scores are in."

        def interrupted(seconds: float) -> None:
            raise KeyboardInterrupt

        more = [RunRow(i, f"m{i}", "job", None, None, ()) for i in range(3, 5)]
        records, problem = collect(
            journal,
            "run2",
            more,
            lambda some: [_record(r.row_index, PENDING) for r in some],
            receiver="r",
            wait=Waiting(5, sleep=interrupted),
            say=said.append,
        )
        assert problem == ""  # stopping is the person's choice, not a receiver problem
        assert said[-1] == "Stopped waiting (Ctrl-C): 0 of 2 scores in; 2 still to come."
        assert set(journal.scores("run2")) == {3, 4}


def test_a_receiver_that_refuses_the_token_never_stops_a_run_and_the_token_is_never_shown(
    sandbox: Sandbox, receiver: RunningReceiver, env: dict[str, str], tmp_path: Path
) -> None:
    wrong = "csr_a-token-nobody-issued-0042"
    environ = dict(
        env,
        TITANX_API_KEY=sandbox.api_key,
        CSVSCORE_RECEIVER_URL=receiver.url,
        CSVSCORE_RECEIVER_TOKEN=wrong,
    )
    src = write_contacts(tmp_path / "export.csv", 3)
    out = tmp_path / "export.scored.xlsx"
    run = run_cli(["score", src, "--base-url", sandbox.url, "--yes"], environ)
    assert run.code == ExitCode.OK  # the contacts were sent: the run is fine
    assert "Scores not fetched" in run.err and "refused the read token" in run.err
    assert {r["Score State"] for r in _rows(out)} == {PENDING}
    wb = load_workbook(out)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    wb.close()
    assert "refused the read token" in summary["Scores not updated"]
    got = run_cli(["results", src], environ)
    assert got.code == ExitCode.RECEIVER and "refused the read token" in got.err
    with zipfile.ZipFile(out) as z:
        xml = b"".join(z.read(n) for n in z.namelist())
    assert wrong.encode() not in xml
    assert wrong not in run.out + run.err + got.out + got.err


def _summary_text(out: Path) -> str:
    wb = load_workbook(out, read_only=True)
    text = " ".join(str(c) for r in wb["Summary"].iter_rows(values_only=True) for c in r if c)
    wb.close()
    return text
