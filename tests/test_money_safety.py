"""Never charge a contact twice, never lose a charged one: the ledger, reconciliation, re-drops,
the output checked before sending, honest figures. Real CLI runs against the sandbox over HTTP
on 127.0.0.1, real files; the sandbox says who was charged how often.

Each test names the problem of issue 8 it proves fixed (numbers as in the issue).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

import csvscore
from csvscore.api.client import TitanXClient
from csvscore.errors import ExitCode
from csvscore.mapping.overrides import dump_mapping_yaml
from csvscore.sandbox.server import Sandbox
from csvscore.scoring import lock
from csvscore.user import remembered
from tests.support import (
    HEADERS,
    Run,
    contact_row,
    run_cli,
    run_process,
    sheet_rows,
    summary,
    write_contacts,
)

MakeSandbox = Callable[..., Sandbox]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


def score(sb: Sandbox, src: Path, environ: dict[str, str], *extra: object) -> Run:
    env = dict(environ, TITANX_API_KEY=sb.api_key)
    return run_cli(["score", src, "--base-url", sb.url, "--yes", *extra], env)


def statuses(out: Path) -> list[str]:
    return [r["TitanX Status"] for r in sheet_rows(out, "Results")]


def charged_twice(sb: Sandbox) -> list[object]:
    return [p for p, n in sb.state.charged_people().items() if n > 1]


def reexport(src: Path, dest: Path) -> Path:
    """The same people exported again: other column order, an extra column, rows reversed."""
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    order = [1, 0, *range(2, len(header))]
    with dest.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*(header[i] for i in order), "Exported At"])
        for row in reversed(body):
            w.writerow([*(row[i] for i in order), "2026-12-01"])
    return dest


# -- 2. another file's job is never claimed --------------------------------------------------


def test_a_batch_without_an_answer_never_claims_the_job_another_file_created(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    a = write_contacts(tmp_path / "a.csv", 10)
    assert score(sb, a, environ).code == ExitCode.OK  # one job of 10, owned by a.csv
    b = tmp_path / "b.csv"
    with b.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(10):
            w.writerow(contact_row(500 + i))
    sb.state.add_faults("503")  # b's batch: no job created, outcome unknown
    r = score(sb, b, environ)
    assert r.code == ExitCode.UNCONFIRMED, r.err
    out = tmp_path / "b.scored.xlsx"
    assert statuses(out) == ["unconfirmed"] * 10  # never "accepted" with a's job
    [job] = sb.state.jobs
    assert all(row["TitanX Job ID"] in (None, "") for row in sheet_rows(out, "Results"))
    assert job.job_id not in {row["TitanX Job ID"] for row in sheet_rows(out, "Results")}


def test_a_job_created_minutes_before_the_batch_was_sent_is_not_its_job(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """A job of the same size that no journal knows (another computer, TitanX's own app)."""
    offset = [-600.0]  # that job is stamped ten minutes ago
    sb = make_sandbox(clock=lambda: time.time() + offset[0])
    people = [
        {"firstName": "X", "lastName": f"Y{i}", "phone": f"+1415555{i:04d}"} for i in range(5)
    ]
    TitanXClient(sb.api_key, sb.url).score(people)
    offset[0] = 0.0
    src = write_contacts(tmp_path / "c.csv", 5)
    sb.state.add_faults("503")
    r = score(sb, src, environ)
    assert r.code == ExitCode.UNCONFIRMED, r.err
    assert statuses(tmp_path / "c.scored.xlsx") == ["unconfirmed"] * 5


def test_a_job_whose_contacts_are_this_batchs_is_proof_enough(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """Where GET /jobs/{id} lists contacts, they decide, even with other batches in flight."""
    sb = make_sandbox(job_contact_ids=True, faults=["500"])  # job created, then HTTP 500
    src = write_contacts(tmp_path / "c.csv", 6)
    r = score(sb, src, environ)
    assert r.code == ExitCode.OK, r.err
    assert statuses(tmp_path / "c.scored.xlsx") == ["accepted"] * 6
    assert len(sb.state.score_requests) == 1


# -- 4. 502/503/504 after the job was created: never resent ----------------------------------


@pytest.mark.parametrize("fault", ["html_502_after_create", "503_after_create", "504_after_create"])
def test_a_gateway_error_after_the_job_was_created_is_reconciled_not_resent(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str], fault: str
) -> None:
    sb = make_sandbox(faults=[fault])
    src = write_contacts(tmp_path / "c.csv", 8)
    r = score(sb, src, environ)
    assert len(sb.state.score_requests) == 1  # sent once, whatever the gateway said
    assert charged_twice(sb) == []
    assert r.code == ExitCode.OK, r.err
    out = tmp_path / "c.scored.xlsx"
    assert statuses(out) == ["accepted"] * 8
    [job] = sheet_rows(out, "Jobs")
    assert job["Outcome"] == "reconciled" and job["Job ID"] == sb.state.jobs[0].job_id
    # Its charge is not in the job list: shown as not known, never as 0.
    assert job["Credits Charged"] in (None, "")
    assert "1 batch whose charge is not known" in r.out


# -- 3. the ledger is written as each answer arrives ----------------------------------------


# -- 5. a lost journal ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "truncated", "another --journal"])
def test_a_lost_journal_does_not_make_the_same_file_be_charged_again(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str], how: str
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 9)
    assert score(sb, src, environ).code == ExitCode.OK
    [journal] = (tmp_path / "state" / "journals").glob("*.sqlite")
    extra: list[object] = []
    if how == "deleted":
        journal.unlink()
    elif how == "truncated":
        journal.write_bytes(b"")
    else:
        extra = ["--journal", tmp_path / "elsewhere.sqlite"]
    r = score(sb, src, environ, *extra)
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 1 and charged_twice(sb) == []
    rows = sheet_rows(tmp_path / "c.scored.xlsx", "Results")
    assert {x["TitanX Status"] for x in rows} == {"duplicate"}
    assert all("from this file" in x["TitanX Reason"] for x in rows)


# -- 6. a re-drop after a remembered mapping resumes -----------------------------------------


def test_a_re_drop_with_the_remembered_mapping_resumes_with_the_default_answers(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """HubSpot's phone types came from its profile and were lost when remembered."""
    sb = make_sandbox()
    src = tmp_path / "hubspot.csv"
    src.write_bytes((FIXTURES / "hubspot.csv").read_bytes())
    first = score(sb, src, environ)
    assert first.code == ExitCode.OK, first.err
    mapped = csvscore.map_file(src, env=environ)
    remembered.remember(
        mapped.signature, dump_mapping_yaml(mapped.mapping), source_file=src.name, env=environ
    )
    again = score(sb, src, environ)
    assert "Used the mapping remembered" in again.err
    assert again.code == ExitCode.OK, again.err
    assert len(sb.state.score_requests) == 1
    assert "--new-run" not in again.out + again.err


def test_a_re_drop_with_a_different_mapping_continues_the_earlier_run(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """A remembered mapping that differs (another column unmapped) must not stop the re-drop,
    nor send anything twice: the earlier run's own mapping finishes the job."""
    sb = make_sandbox(faults=["400"] + [""] * 3)  # batch 1 refused: the re-drop must send it
    src = write_contacts(tmp_path / "c.csv", 40)
    first = score(sb, src, environ, "--batch-size", "10", "--workers", "1")
    assert first.code == ExitCode.FAILED
    mapped = csvscore.map_file(src, env=environ)
    for c in mapped.mapping.columns:
        if c.header == "Job Title":
            c.field = None
    remembered.remember(
        mapped.signature, dump_mapping_yaml(mapped.mapping), source_file=src.name, env=environ
    )
    again = score(sb, src, environ, "--batch-size", "10")
    assert again.code == ExitCode.OK, again.err
    assert "continued with that run's mapping" in again.err
    assert len(sb.state.jobs) == 4 and charged_twice(sb) == []
    sent = [c for rec in sb.state.score_requests[-1:] for c in rec.contacts or []]
    assert all(c.get("title") == "VP Sales" for c in sent)  # the earlier mapping, exactly


# -- 7. nothing is sent before the result can be written -------------------------------------


def test_a_dry_run_after_a_real_run_keeps_its_result_and_estimates_only_what_is_left(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """A dry run used to overwrite the paid-for result with a preview of 'ready' rows, and
    estimate the whole file again although a run would send none of it."""
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 5)
    first = score(sb, src, environ)
    assert first.code == ExitCode.OK, first.err
    result = tmp_path / "c.scored.xlsx"
    paid_for = result.read_bytes()

    dry = score(sb, src, environ, "--dry-run")
    assert dry.code == ExitCode.OK, dry.err
    assert result.read_bytes() == paid_for  # the real result is untouched
    preview = tmp_path / "c.dry-run.xlsx"
    assert f"Result: {preview}" in dry.out
    assert "Ready to send 0, skipped 0, duplicates 0, sent before 5 (of 5 rows)." in dry.out
    assert "estimated credits 0." in dry.out
    # The preview shows the rows as the real run left them, with their job.
    rows = sheet_rows(preview, "Results")
    assert {r["TitanX Status"] for r in rows} == {"accepted"}
    jobs = [r["TitanX Job ID"] for r in sheet_rows(result, "Results")]
    assert [r["TitanX Job ID"] for r in rows] == jobs and all(jobs)
    assert len(sb.state.score_requests) == 1


def test_a_re_drop_updates_the_result_where_the_last_run_wrote_it_or_says_why_not(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 4)
    (tmp_path / "reports").mkdir()
    mine = tmp_path / "reports" / "mine.xlsx"
    assert score(sb, src, environ, "-o", mine).code == ExitCode.OK
    mine.unlink()
    again = score(sb, src, environ)  # the shortcut's way: no -o
    assert again.code == ExitCode.OK, again.err
    assert f"Result: {mine}" in again.out and statuses(mine) == ["accepted"] * 4
    assert not (tmp_path / "c.scored.xlsx").exists()
    # The folder is gone (a USB stick, a renamed share): beside the export, and said.
    mine.unlink()
    (tmp_path / "reports").rmdir()
    third = score(sb, src, environ)
    assert third.code == ExitCode.OK, third.err
    assert f"The last result of this file was saved to {mine}, which cannot be written" in (
        third.err
    )
    assert statuses(tmp_path / "c.scored.xlsx") == ["accepted"] * 4
    assert len(sb.state.score_requests) == 1
    # A copy of the export elsewhere (same content, same journal) gets its result beside it,
    # not in the folder where the original's went (a tester's find).
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "renamed.csv"
    copy.write_bytes(src.read_bytes())
    (tmp_path / "reports").mkdir()
    assert score(sb, src, environ, "-o", mine).code == ExitCode.OK
    before = mine.read_bytes()
    from_copy = score(sb, copy, environ)
    assert from_copy.code == ExitCode.OK, from_copy.err
    assert f"Result: {tmp_path / 'copy' / 'renamed.scored.xlsx'}" in from_copy.out
    assert mine.read_bytes() == before
    assert len(sb.state.score_requests) == 1


def test_a_sandbox_try_of_a_file_sent_for_real_never_replaces_the_real_result(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 4)
    assert score(sb, src, environ).code == ExitCode.OK
    real = tmp_path / "c.scored.xlsx"
    paid_for = real.read_bytes()
    for _ in range(2):  # and the sandbox's own re-drop keeps away from it too
        tried = run_cli(["score", src, "--sandbox", "--yes"], environ)
        assert tried.code == ExitCode.OK, tried.err
        assert real.read_bytes() == paid_for
        assert f"Result: {tmp_path / 'c.sandbox.xlsx'}" in tried.out
        assert "sent to TitanX for real before" in tried.err
        assert "(sandbox credits: nothing was charged)" in tried.out  # play money, said so
    assert statuses(tmp_path / "c.sandbox.xlsx") == ["accepted"] * 4
    assert summary(tmp_path / "c.sandbox.xlsx")["Sandbox"].startswith("yes: TitanX's simulator")
    assert "Sandbox" not in summary(real)  # the real result says nothing of the kind
    assert len(sb.state.score_requests) == 1  # the real API was not asked again
    # Not even when named with -o (a tester's find): refused before anything happens.
    for trial in (["--sandbox"], ["--base-url", sb.url, "--dry-run"]):
        named = run_cli(
            ["score", src, *trial, "--yes", "-o", real], dict(environ, TITANX_API_KEY=sb.api_key)
        )
        assert named.code == ExitCode.BAD_INPUT, named.err
        assert "holds the result of a run that was sent to TitanX (and paid for)" in named.err
        assert real.read_bytes() == paid_for
    assert len(sb.state.score_requests) == 1


def test_an_output_folder_that_does_not_exist_is_found_before_anything_is_sent(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    r = score(sb, src, environ, "-o", tmp_path / "missing" / "x.xlsx")
    assert r.code == ExitCode.BAD_INPUT
    assert "does not exist" in r.err and "Nothing was sent" in r.err
    assert sb.state.requests == []


def test_a_read_only_export_folder_puts_the_result_in_the_fallback_folder_and_says_so(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """The shortcut's case: no -o, the export sits in a folder the user cannot write."""
    sb = make_sandbox()
    folder = tmp_path / "exports"
    folder.mkdir()
    src = write_contacts(folder / "c.csv", 3)
    fallback = tmp_path / "Documents" / "csvscore"
    env = dict(environ, TITANX_API_KEY=sb.api_key, CSVSCORE_FALLBACK_DIR=str(fallback))
    folder.chmod(0o555)
    try:
        r = run_process(["score", src, "--base-url", sb.url, "--yes"], env, unprivileged=True)
        # Dropped again: the result there is updated, without a second try beside the export.
        again = run_process(["score", src, "--base-url", sb.url, "--yes"], env, unprivileged=True)
    finally:
        folder.chmod(0o755)
    assert r.returncode == ExitCode.OK, r.stderr
    folded = " ".join(r.stderr.split())
    assert f"it will be saved to {fallback / 'c.scored.xlsx'} instead" in folded
    assert statuses(fallback / "c.scored.xlsx") == ["accepted"] * 3
    assert sorted(p.name for p in folder.iterdir()) == ["c.csv"]
    assert again.returncode == ExitCode.OK, again.stderr
    assert f"Result: {fallback / 'c.scored.xlsx'}" in again.stdout
    assert "cannot be saved" not in again.stderr
    assert len(sb.state.score_requests) == 1


def test_a_very_long_file_name_still_gets_its_result(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / ("x" * 241 + ".csv"), 3)  # 245 characters
    r = score(sb, src, environ)
    assert r.code == ExitCode.OK, r.err
    [out] = [p for p in tmp_path.iterdir() if p.name.endswith(".scored.xlsx")]
    assert len(out.name.encode()) <= 255
    assert statuses(out) == ["accepted"] * 3


def test_a_csv_companion_that_would_overwrite_the_export_is_refused_before_sending(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.scored.jobs.csv", 3)
    before = src.read_bytes()
    r = score(sb, src, environ, "-o", tmp_path / "c.scored.csv", "--format", "csv")
    assert r.code == ExitCode.BAD_INPUT
    assert "would overwrite your export" in r.err
    assert sb.state.requests == [] and src.read_bytes() == before


def test_a_write_that_fails_after_sending_starts_with_the_money_and_is_not_bad_input(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """A disk that fills up while sending (no file may grow past 150 KB): the result cannot be
    saved, nor in the fallback folder. Then the ledger must still know every charge (3)."""
    sb = make_sandbox(latency=0.02)
    src = write_contacts(tmp_path / "c.csv", 200, fill=1500)  # a long unmapped note per row
    env = dict(environ, TITANX_API_KEY=sb.api_key, CSVSCORE_FALLBACK_DIR=str(tmp_path / "fb"))
    args = ["score", src, "--base-url", sb.url, "--yes", "--batch-size", "20", "--workers", "1"]
    r = run_process(args, env, max_file_bytes=150_000)
    assert r.returncode == ExitCode.NOT_SAVED, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: Your ") and " contacts were sent to TitanX (" in line
    assert "drop the same file again to write it (nothing is sent again)" in line
    assert not (tmp_path / "c.scored.xlsx").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    sent = sum(len(rec.contacts or []) for rec in sb.state.score_requests)
    assert 0 < sent < 200  # sending stopped once the result could not be written
    # A re-export of the same people is not charged again: the ledger knew every charge.
    again = score(sb, reexport(src, tmp_path / "b.csv"), environ)
    assert again.code == ExitCode.OK, again.err
    assert charged_twice(sb) == []
    # And the same file writes its result without sending anything already sent.
    before = len(sb.state.jobs)
    final = score(sb, src, environ, "--batch-size", "20")
    assert final.code == ExitCode.OK, final.err
    assert charged_twice(sb) == []
    assert len(sb.state.jobs) == before  # the rest were charged by the re-export already
    assert (tmp_path / "c.scored.xlsx").is_file()


# -- 8. the resend recipe cannot resend unconfirmed rows -------------------------------------


def test_a_copy_of_unconfirmed_rows_is_held_back_until_they_are_settled(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["drop_before_create"])
    src = write_contacts(tmp_path / "c.csv", 4)
    assert score(sb, src, environ).code == ExitCode.UNCONFIRMED
    wb = load_workbook(tmp_path / "c.scored.xlsx")
    assert wb["To fix"].max_row == 1  # nothing to copy on the sheet people copy from
    copy = tmp_path / "copy.csv"  # the recipe done by hand anyway: the rows copied out
    copy.write_bytes(src.read_bytes().replace(b"Webinar", b"Webinar (resend)"))
    r = score(sb, copy, environ)
    assert r.code == ExitCode.OK, r.err
    assert statuses(tmp_path / "copy.scored.xlsx") == ["duplicate"] * 4
    reasons = [x["TitanX Reason"] for x in sheet_rows(tmp_path / "copy.scored.xlsx", "Results")]
    assert all("outcome is not known yet" in x for x in reasons)
    assert len(sb.state.score_requests) == 1


# -- 9. honest figures ----------------------------------------------------------------------


def test_the_estimate_uses_the_price_of_the_scoring_type_and_never_the_sandboxs(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    src = write_contacts(tmp_path / "c.csv", 4)
    assert run_cli(["score", src, "--sandbox", "--yes"], environ).code == ExitCode.OK
    assert not (tmp_path / "state" / "lastseen.json").exists()  # sandbox figures kept apart
    sb = make_sandbox(cost_per_phone=Decimal("0.05"))
    other = write_contacts(tmp_path / "d.csv", 2)
    assert score(sb, other, environ).code == ExitCode.OK  # a real-path lightning run: 0.05
    dry = json.loads(
        run_cli(["score", src, "--dry-run", "--json", "--scoring-type", "titan"], environ).out
    )
    assert dry["estimated_credits"] is None  # titan's price is not lightning's
    dry = json.loads(run_cli(["score", src, "--dry-run", "--json"], environ).out)
    assert Decimal(dry["estimated_credits"]) == Decimal("0.05") * dry["estimated_phones"]


def test_credits_charged_means_this_run_and_the_file_total_stands_beside_it(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    first = score(sb, src, environ)
    assert "Credits charged: 0.3 in this run, 0.3 for this file in all" in first.out
    again = score(sb, src, environ)
    assert "Credits charged: 0 in this run, 0.3 for this file in all" in again.out
    s = summary(tmp_path / "c.scored.xlsx")
    assert s["Credits charged (this run)"] == 0
    assert s["Credits charged (this file, all runs)"] == 0.3


def test_a_batch_an_earlier_run_sent_and_this_run_reconciled_is_not_this_runs(
    tmp_path: Path,
) -> None:
    """Found by a tester: after two Ctrl-Cs, the re-run's headline counted the batch the first
    run had sent (and this one only reconciled) among 'sent in this run'."""
    from csvscore.contacts.build import PreparedRow
    from csvscore.read.table import Table
    from csvscore.scoring import journal as jr
    from csvscore.scoring.journal import BatchRecord
    from csvscore.scoring.outcomes import run_result

    src = tmp_path / "c.csv"
    src.write_text("x\n", encoding="utf-8")
    table = Table(path=src, headers=["a"], rows=[["1"], ["2"], ["3"], ["4"]],
                  source_rows=[2, 3, 4, 5], header_row=1, format="csv")  # fmt: skip
    rows = [PreparedRow.of(i, i + 2, f"k{i}", {"firstName": str(i)}, None, "", 1) for i in range(4)]
    charged = {"total": 2, "accepted": 2, "credits_charged": "0.1"}

    def batch(n: int, sent_at: str, state: str) -> BatchRecord:
        indexes = [2 * (n - 1), 2 * (n - 1) + 1]
        return BatchRecord("r", n, state, indexes, 1, sent_at, sent_at, f"j{n}", charged, "", "S2")

    started = "2026-12-01T10:50:26.000+00:00"
    result = run_result(
        table, "f", "lightning", started, rows,
        [batch(1, "2026-12-01T10:50:20.000+00:00", jr.RECONCILED),  # sent by the first run
         batch(2, "2026-12-01T10:50:27.000+00:00", jr.ANSWERED)],  # sent by this one
        session="S2",
    )  # fmt: skip
    s = result.summary
    assert (s.sent, s.sent_before) == (4, 2)
    assert (s.credits_charged, s.credits_charged_total) == (Decimal("0.1"), Decimal("0.2"))
    assert [b.this_run for b in result.batches] == [False, True]


def test_an_answer_that_does_not_add_up_is_flagged_not_recorded_silently(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["inconsistent_200"])
    src = write_contacts(tmp_path / "c.csv", 3)
    r = score(sb, src, environ)
    assert "TitanX's answer does not add up: it accepted 4 of 3" in r.err
    assert "does not add up" in str(summary(tmp_path / "c.scored.xlsx").get("Note"))
    assert "does not add up" in sheet_rows(tmp_path / "c.scored.xlsx", "Jobs")[0]["Detail"]


def test_a_reconciled_batch_with_rejections_gives_one_coherent_reason(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["drop_after_create"])
    src = write_contacts(tmp_path / "c.csv", 3, extra=[["Cy", "NoPhone", "", "12", "", "", ""]])
    r = score(sb, src, environ, "--send-invalid")
    assert r.code == ExitCode.UNCONFIRMED
    reasons = {x["TitanX Reason"] for x in sheet_rows(tmp_path / "c.scored.xlsx", "Results")}
    [reason] = reasons
    assert reason.startswith("charged in job") and "did not say which rows it rejected" in reason
    assert "--retry-unconfirmed" not in reason and "resend" not in reason


# -- 1. one sender at a time (the lock, in-process; real processes in test_concurrency) -------


def test_a_run_of_a_file_being_scored_elsewhere_sends_nothing_and_says_so(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    fp = csvscore.pipeline.file_fingerprint(src)
    with lock.holding(lock.lock_path(tmp_path / "state", fp)):
        r = score(sb, src, environ)
    assert r.code == ExitCode.BUSY
    assert r.err.startswith("This file is being scored in another window right now")
    assert sb.state.requests == []
    assert score(sb, src, environ).code == ExitCode.OK  # released: the next drop works


def test_a_batch_state_changes_only_from_the_state_it_was_read_in(tmp_path: Path) -> None:
    """Compare-and-set: a batch another run already marked sending is not sent again."""
    from csvscore.scoring.journal import BatchTaken, Journal, RunRecord, Sender

    with Journal(tmp_path / "j.sqlite") as j1, Journal(tmp_path / "j.sqlite") as j2:
        j1.ensure_run(RunRecord("run", "fp", "m", "lightning", "c.csv", "2026-12-01"))
        [n] = j1.add_batches("run", [[0, 1]])
        who = Sender("fp", "c.csv")
        sent, held = j1.start_sending("run", n, {0: "a", 1: "b"}, who, sent_at="t")
        assert sent == [0, 1] and held == {}
        with pytest.raises(BatchTaken):
            j2.start_sending("run", n, {0: "a", 1: "b"}, who, sent_at="t")


def test_a_journal_left_by_csvscore_0_1_is_migrated_and_its_charges_still_count(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    """Upgrading must not forget what the old version paid for."""
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    assert score(sb, src, environ).code == ExitCode.OK
    ledger = tmp_path / "state" / "ledger.sqlite"
    conn = sqlite3.connect(ledger)  # rewrite the ledger as 0.1 kept it
    rows = conn.execute(
        "SELECT identity, fingerprint, file, job_id, at FROM contacts WHERE state = 'charged'"
    ).fetchall()
    conn.executescript(
        "DROP TABLE contacts; DROP TABLE jobs; DROP TABLE in_flight; DROP TABLE ledger_meta;"
        "CREATE TABLE charged (identity TEXT, fingerprint TEXT, file TEXT, job_id TEXT, "
        "charged_at TEXT, PRIMARY KEY (identity, fingerprint));"
    )
    conn.executemany("INSERT INTO charged VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    again = score(sb, reexport(src, tmp_path / "b.csv"), environ)
    assert again.code == ExitCode.OK
    assert set(statuses(tmp_path / "b.scored.xlsx")) == {"duplicate"}
    assert len(sb.state.jobs) == 1
