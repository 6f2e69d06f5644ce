"""`csvscore score` end to end: real CLI, real files, real HTTP against the sandbox on 127.0.0.1."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from csvscore.errors import ExitCode
from csvscore.sandbox.server import Sandbox
from tests.support import Run, phone, run_cli, sheet_rows, summary, write_contacts

MakeSandbox = Callable[..., Sandbox]


def score(sb: Sandbox, src: Path, out: Path, environ: dict[str, str], *extra: str) -> Run:
    env = dict(environ, TITANX_API_KEY=sb.api_key)
    return run_cli(["score", src, "--base-url", sb.url, "--yes", "-o", out, *extra], env)


def statuses(out: Path) -> list[str]:
    return [r["TitanX Status"] for r in sheet_rows(out, "Results")]


def test_1000_rows_go_in_one_request_and_all_are_accepted(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 1000)
    out = tmp_path / "c.scored.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 1
    assert len(sb.state.score_requests[0].contacts or []) == 1000
    results = sheet_rows(out, "Results")
    assert [x["TitanX Status"] for x in results] == ["accepted"] * 1000
    job_id = sb.state.jobs[0].job_id
    assert {x["TitanX Job ID"] for x in results} == {job_id}
    assert [x["Source Row"] for x in results] == list(range(2, 1002))
    jobs = sheet_rows(out, "Jobs")
    assert len(jobs) == 1 and jobs[0]["Job ID"] == job_id and jobs[0]["Accepted"] == 1000
    s = summary(out)
    assert s["Accepted"] == 1000 and s["Rows sent"] == 1000


def test_1001_rows_make_two_batches_and_each_contact_is_sent_once(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 1001)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    sizes = sorted(len(rec.contacts or []) for rec in sb.state.score_requests)
    assert sizes == [1, 1000]
    counts = sb.state.contact_id_counts()
    assert len(counts) == 1001 and set(counts.values()) == {1}
    assert statuses(out) == ["accepted"] * 1001
    assert sorted(x["Batch"] for x in sheet_rows(out, "Jobs")) == [1, 2]


def test_running_the_same_command_again_sends_nothing(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 30)
    out = tmp_path / "out.xlsx"
    assert score(sb, src, out, environ, "--batch-size", "10").code == ExitCode.OK
    assert len(sb.state.score_requests) == 3
    again = score(sb, src, out, environ, "--batch-size", "10")
    assert again.code == ExitCode.OK, again.err
    assert len(sb.state.score_requests) == 3  # nothing new
    assert statuses(out) == ["accepted"] * 30


def test_rejections_are_matched_to_rows_whatever_the_reason_key_and_order(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(reject_reason_key="rejectionReason", shuffle_rejections=True, seed=3)
    bad = [["Bob", "NoPhone", "bob@example.com", "12345", "", "CTO", "Ads"]]
    src = write_contacts(tmp_path / "c.csv", 5, extra=bad * 1 + [["Cy", "", "", "", "", "", ""]])
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ, "--send-invalid")
    assert r.code == ExitCode.OK, r.err
    rows = sheet_rows(out, "Results")
    assert [x["TitanX Status"] for x in rows] == ["accepted"] * 5 + ["rejected", "rejected"]
    assert all(x["TitanX Reason"] for x in rows[5:])
    rejected = sheet_rows(out, "Rejected")
    assert [x["First Name"] for x in rejected] == ["Bob", "Cy"]


def test_rows_the_api_would_reject_are_skipped_and_duplicates_not_sent(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    extra = [
        ["Bob", "NoPhone", "bob@example.com", "", "", "CTO", "Ads"],
        ["Ann0", "Lee", "ann0@example.com", phone(0), phone(37, mobile=True), "VP", "Ads"],
    ]
    src = write_contacts(tmp_path / "c.csv", 3, extra=extra)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    assert statuses(out) == ["accepted"] * 3 + ["skipped", "duplicate"]
    rows = sheet_rows(out, "Results")
    assert "phone" in rows[3]["TitanX Reason"].lower()
    assert "2" in rows[4]["TitanX Reason"]  # names the earlier row (source row 2)
    assert sum(len(r.contacts or []) for r in sb.state.score_requests) == 3


def test_dry_run_sends_nothing_and_estimates(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 4, extra=[["X", "", "", "", "", "", ""]])
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ, "--dry-run")
    assert r.code == ExitCode.OK, r.err
    assert sb.state.requests == []
    assert statuses(out) == ["ready"] * 4 + ["skipped"]
    assert "Dry run" in r.out


def test_429_is_waited_out_and_retried(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["429"], send_retry_after=True)
    src = write_contacts(tmp_path / "c.csv", 3)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 2 and len(sb.state.jobs) == 1
    assert statuses(out) == ["accepted"] * 3


@pytest.mark.parametrize("fault", ["503", "html_502"])
def test_a_5xx_leaves_the_batch_unconfirmed_and_never_resends_it(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str], fault: str
) -> None:
    sb = make_sandbox(faults=[fault])
    src = write_contacts(tmp_path / "c.csv", 3)
    r = score(sb, src, tmp_path / "out.xlsx", environ)
    assert r.code == ExitCode.UNCONFIRMED, r.err
    assert len(sb.state.score_requests) == 1
    assert statuses(tmp_path / "out.xlsx") == ["unconfirmed"] * 3


def test_dropped_connection_after_the_job_was_created_is_reconciled_not_resent(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["drop_after_create"])
    src = write_contacts(tmp_path / "c.csv", 5)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 1  # never resent
    assert statuses(out) == ["accepted"] * 5
    assert sheet_rows(out, "Jobs")[0]["Job ID"] == sb.state.jobs[0].job_id


def test_500_with_the_job_created_is_reconciled(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["500"])
    src = write_contacts(tmp_path / "c.csv", 5)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ)
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 1
    assert statuses(out) == ["accepted"] * 5


def test_unknown_outcome_is_unconfirmed_until_retry_is_asked_for(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["drop_before_create"])
    src = write_contacts(tmp_path / "c.csv", 5)
    out = tmp_path / "out.xlsx"
    first = score(sb, src, out, environ)
    assert first.code == ExitCode.UNCONFIRMED, first.err
    assert statuses(out) == ["unconfirmed"] * 5
    assert "--retry-unconfirmed" in first.out
    assert [x["First Name"] for x in sheet_rows(out, "Rejected")] == [f"Ann{i}" for i in range(5)]

    again = score(sb, src, out, environ)  # not told to resend: nothing goes out
    assert again.code == ExitCode.UNCONFIRMED
    assert len(sb.state.score_requests) == 1

    retry = score(sb, src, out, environ, "--retry-unconfirmed")
    assert retry.code == ExitCode.OK, retry.err
    assert len(sb.state.score_requests) == 2 and len(sb.state.jobs) == 1
    assert statuses(out) == ["accepted"] * 5


def test_refused_key_stops_at_once_and_still_writes_the_workbook(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 25)
    out = tmp_path / "out.xlsx"
    env = dict(environ, TITANX_API_KEY="wrong-key-7f3a")
    r = run_cli(
        [
            "score",
            src,
            "--base-url",
            sb.url,
            "--yes",
            "-o",
            out,
            "--batch-size",
            "10",
            "--workers",
            "1",
        ],
        env,
    )
    assert r.code == ExitCode.AUTH
    assert len(sb.state.requests) == 1
    assert "csvscore login" in r.out + r.err
    # The refused batch failed; the ones after it were never sent.
    assert statuses(out) == ["failed"] * 10 + ["not sent"] * 15
    assert "wrong-key-7f3a" not in r.out + r.err


def test_out_of_credits_stops_sending_and_leaves_the_rest_not_sent(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    # 10 rows x 2 phones x 0.05 = 1.00 credit per batch; 1.5 credits pay for one batch only.
    sb = make_sandbox(credits="1.5")
    src = write_contacts(tmp_path / "c.csv", 30)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ, "--batch-size", "10", "--workers", "1")
    assert r.code == ExitCode.CREDITS, r.err
    st = statuses(out)
    # Batch 2 was refused (402: failed, not charged); batch 3 was never sent.
    assert st[:10] == ["accepted"] * 10
    assert st[10:] == ["failed"] * 10 + ["not sent"] * 10
    assert len(sb.state.jobs) == 1
    s = summary(out)
    assert s["Accepted"] == 10 and s["Failed"] == 10 and s["Not sent"] == 10
    assert str(s["Credits charged (total)"]) in ("1", "1.0", "1.00")


def test_a_refused_batch_fails_and_is_sent_again_on_the_next_run(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(faults=["400"])
    src = write_contacts(tmp_path / "c.csv", 4)
    out = tmp_path / "out.xlsx"
    first = score(sb, src, out, environ)
    assert first.code == ExitCode.FAILED
    assert statuses(out) == ["failed"] * 4
    assert sheet_rows(out, "Results")[0]["TitanX Reason"].startswith("TitanX refused the batch")
    second = score(sb, src, out, environ)
    assert second.code == ExitCode.OK, second.err
    assert statuses(out) == ["accepted"] * 4


def test_a_batch_the_server_finds_too_large_is_split(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(max_contacts=4)
    src = write_contacts(tmp_path / "c.csv", 10)
    out = tmp_path / "out.xlsx"
    r = score(sb, src, out, environ, "--batch-size", "10", "--workers", "1")
    assert r.code == ExitCode.OK, r.err
    assert statuses(out) == ["accepted"] * 10
    assert sum(1 for j in sb.state.jobs) >= 3
    assert set(sb.state.job_contact_id_counts().values()) == {1}


def test_the_same_file_under_another_mapping_is_not_charged_again_by_accident(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    out = tmp_path / "out.xlsx"
    assert score(sb, src, out, environ).code == ExitCode.OK
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "csvscore_mapping: 1\ncolumns:\n  - header: Job Title\n    field: null\n", encoding="utf-8"
    )
    r = score(sb, src, out, environ, "--mapping", mapping)
    assert r.code == ExitCode.BAD_INPUT
    assert "--new-run" in r.err
    assert len(sb.state.score_requests) == 1
    r = score(sb, src, out, environ, "--mapping", mapping, "--new-run")
    assert r.code == ExitCode.OK, r.err
    assert len(sb.state.score_requests) == 2


def test_the_api_key_is_never_written_or_printed(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    key = "sk-live-SECRET-9d8c7b6a"
    sb = make_sandbox(api_key=key, faults=["drop_before_create", "503"])
    src = write_contacts(tmp_path / "c.csv", 12)
    out = tmp_path / "out.xlsx"
    env = dict(environ, TITANX_API_KEY=key)
    runs = [
        run_cli(
            [
                "score",
                src,
                "--base-url",
                sb.url,
                "--yes",
                "-o",
                out,
                "--batch-size",
                "5",
                "--workers",
                "1",
                *extra,
            ],
            env,
        )
        for extra in ([], ["--json"], ["--format", "csv", "-o", tmp_path / "out.csv"])
    ]
    for r in runs:
        assert key not in r.out and key not in r.err
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            assert key.encode() not in z.read(name)
    for f in (tmp_path / "state").rglob("*"):
        if f.is_file():
            assert key.encode() not in f.read_bytes(), f
    for f in tmp_path.glob("out*.csv"):
        assert key not in f.read_text(encoding="utf-8-sig")


def test_json_summary_is_one_object(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    import json

    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    r = score(sb, src, tmp_path / "o.xlsx", environ, "--json")
    assert r.code == ExitCode.OK, r.err
    data = json.loads(r.out)
    assert data["accepted"] == 3 and data["exit_code"] == 0
    assert data["outputs"] == [str(tmp_path / "o.xlsx")]


def test_contacts_already_charged_from_another_file_are_not_sent_again(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    first = write_contacts(tmp_path / "monday.csv", 6)
    assert score(sb, first, tmp_path / "monday.xlsx", environ).code == ExitCode.OK
    # A re-export: the same 6 people (other row order, other formatting) plus 2 new ones.
    second = write_contacts(tmp_path / "tuesday.csv", 8)
    text = second.read_text(encoding="utf-8").replace("(415) 555-", "415.555.")
    second.write_text(text, encoding="utf-8")
    out = tmp_path / "tuesday.xlsx"
    r = score(sb, second, out, environ)
    assert r.code == ExitCode.OK, r.err
    rows = sheet_rows(out, "Results")
    assert [x["TitanX Status"] for x in rows] == ["duplicate"] * 6 + ["accepted"] * 2
    assert all(
        "already scored" in x["TitanX Reason"] and "monday.csv" in x["TitanX Reason"]
        for x in rows[:6]
    )
    assert set(sb.state.contact_id_counts().values()) == {1}
    assert sum(len(q.contacts or []) for q in sb.state.score_requests) == 8

    third = tmp_path / "wednesday.csv"
    third.write_bytes(second.read_bytes() + b"\n")  # another file, same people
    r = score(sb, third, tmp_path / "wed.xlsx", environ, "--rescore")
    assert r.code == ExitCode.OK, r.err
    assert statuses(tmp_path / "wed.xlsx") == ["accepted"] * 8


def test_a_result_workbook_dropped_again_is_refused(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox()
    src = write_contacts(tmp_path / "c.csv", 3)
    out = tmp_path / "c.scored.xlsx"
    assert score(sb, src, out, environ).code == ExitCode.OK
    r = score(sb, out, tmp_path / "again.xlsx", environ)
    assert r.code == ExitCode.BAD_INPUT
    assert r.err.count("\n") == 1 and "csvscore result" in r.err and "--rescore" in r.err
    assert len(sb.state.score_requests) == 1
    assert not (tmp_path / "again.xlsx").exists()
