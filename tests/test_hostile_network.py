"""Hostile networks: http:// addresses, proxies, dripping answers, spent quotas, wrong addresses,
servers that echo the key. Real HTTP on 127.0.0.1 only: the sandbox, and a tiny real proxy."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from csvscore.api.client import TitanXClient
from csvscore.api.errors import OutcomeUnknown, RateLimited
from csvscore.api.urls import is_loopback
from csvscore.errors import ConfigError, ExitCode, NetworkError
from csvscore.sandbox.server import Sandbox
from tests.support import Run, run_cli, sheet_rows, write_contacts
from tests.tiny_proxy import TinyProxy

MakeSandbox = Callable[..., Sandbox]
SECRET = "sk-live-9Qx7TOPSECRET-d04e"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def score(sb: Sandbox, src: Path, environ: dict[str, str], *extra: str, base: str = "") -> Run:
    env = dict(environ, TITANX_API_KEY=sb.api_key)
    out = src.with_name(src.stem + ".scored.xlsx")
    return run_cli(["score", src, "--base-url", base or sb.url, "--yes", "-o", out, *extra], env)


def statuses(path: Path) -> list[str]:
    return [row["TitanX Status"] for row in sheet_rows(path, "Results")]


# -- the key only over HTTPS -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://app.titanx.io/api/public/v2",
        "http://127.0.0.1.example.com/api/public/v2",
        "http://localhost.example.com/api/public/v2",
        "http://10.0.0.7/api/public/v2",
    ],
)
def test_http_to_another_computer_is_refused_before_the_key_is_used(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TitanXClient(SECRET, url)
    message = str(caught.value)
    assert message.startswith("Refusing to send the API key in clear text over http:// to ")
    assert "https://app.titanx.io/api/public/v2" in message and SECRET not in message
    assert caught.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.44.0.9", "localhost", "LOCALHOST.", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_http_to_this_computer_is_allowed(host: str) -> None:
    assert TitanXClient(SECRET, f"http://{host}:8080/api/public/v2").base_url.startswith("http://")


def test_the_command_refuses_http_before_asking_or_sending(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    src = write_contacts(tmp_path / "c.csv", 3)
    env = dict(environ, TITANX_API_KEY=SECRET, TITANX_BASE_URL="http://app.titanx.io/api/public/v2")
    run = run_cli(["score", src, "--yes"], env)
    assert run.code == ExitCode.BAD_INPUT
    assert run.err.splitlines()[-1].startswith(
        "Error: Refusing to send the API key in clear text over http:// to app.titanx.io"
    )
    assert not (tmp_path / "c.scored.xlsx").exists()
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("*.sqlite"))
    assert SECRET not in run.out + run.err


# -- proxies ---------------------------------------------------------------------------------


def test_a_proxy_in_the_environment_is_not_used_for_the_sandbox(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A company PC with HTTP_PROXY set: the built-in sandbox failed with "connection refused".
    with TinyProxy() as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        src = write_contacts(tmp_path / "c.csv", 3)
        run = run_cli(["score", src, "--sandbox", "--yes"], environ)
    assert run.code == ExitCode.OK, run.err
    assert statuses(tmp_path / "c.scored.xlsx") == ["accepted"] * 3
    assert proxy.heads == []


def test_titanx_is_reached_through_the_proxy_and_the_key_stays_inside_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://app.titanx.io/api/public/v2"
    with TinyProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("https_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # Checked first, so that a broken setting cannot make this test go out to the network.
        assert requests.utils.get_environ_proxies(url).get("https") == proxy.url
        client = TitanXClient(SECRET, url, max_retries=0, sleep=lambda _s: None)
        with pytest.raises(NetworkError):
            client.quota()
        client.close()
    assert len(proxy.heads) == 1
    assert proxy.heads[0].startswith(b"CONNECT app.titanx.io:443 HTTP/")
    assert SECRET.encode() not in proxy.heads[0]


def test_loopback_is_this_computer_only() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("localhost.example.com") and not is_loopback("192.168.1.10")
    assert not is_loopback("0.0.0.0") and not is_loopback(None)


# -- an overall deadline ---------------------------------------------------------------------


def test_an_answer_that_drips_is_cut_at_the_deadline_and_its_outcome_is_unknown(
    make_sandbox: MakeSandbox,
) -> None:
    # One byte every 0.3 s: a read timeout of 2 s never fires, and the answer would take minutes.
    sb = make_sandbox(faults=["drip_after_create"], drip_seconds=0.3)
    client = TitanXClient(sb.api_key, sb.url, read_timeout=2, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown, match=r"no complete answer within 1.5 s"):
        client.score([{"firstName": "Ada", "lastName": "Lee", "phone": "415-555-0134"}])
    assert time.monotonic() - started < 6
    assert len(sb.state.jobs) == 1  # it was processed: only reconciliation can tell
    client.close()


def test_a_dripping_batch_is_settled_through_the_job_list_not_resent(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    from csvscore.pipeline import map_file, prepare
    from csvscore.scoring.journal import Journal
    from csvscore.scoring.submit import ScoreOptions, submit

    sb = make_sandbox(faults=["drip_after_create"], drip_seconds=0.3)
    env = {"CSVSCORE_STATE_DIR": str(tmp_path / "state"), "CSVSCORE_KEYRING": "0"}
    mapped = map_file(write_contacts(tmp_path / "c.csv", 3), env=env)
    from csvscore.pipeline import ScoreRequest

    request = ScoreRequest(base_url=sb.url)
    prepared = prepare(mapped, request, env=dict(env, TITANX_API_KEY=sb.api_key))
    client = TitanXClient(sb.api_key, sb.url, read_timeout=2, deadline=1.5)
    with Journal(tmp_path / "j.sqlite") as journal:
        result = submit(
            mapped.table,
            mapped.mapping,
            prepared.rows,
            fingerprint=prepared.fingerprint,
            client=client,
            journal=journal,
            options=ScoreOptions(workers=1),
        )
    client.close()
    assert [r.status for r in result.rows] == ["accepted"] * 3
    assert {r.note for r in result.rows} == {"confirmed through TitanX's job list"}
    assert set(sb.state.contact_id_counts().values()) == {1}  # never resent


# -- waits of hours --------------------------------------------------------------------------

_DAILY = re.compile(
    r"Why: TitanX's daily request limit for this account is used up: it resets at "
    r"\d\d:\d\d (tomorrow, )?.*\(.+\), in (19 h 59 min|20 h)\. csvscore stops rather than wait"
)


def test_a_daily_quota_spent_by_the_first_batch_stops_the_run_with_the_reset_time(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    # The first answer says 0 requests left today, reset in 20 h: csvscore waited silently.
    sb = make_sandbox(rate_per_day=1, day_reset_in=72_000)
    src = write_contacts(tmp_path / "c.csv", 6)
    started = time.monotonic()
    run = score(sb, src, environ, "--batch-size", "2", "--workers", "1")
    assert time.monotonic() - started < 30
    assert run.code == ExitCode.FAILED, run.err
    assert _DAILY.search(run.out), run.out
    assert statuses(tmp_path / "c.scored.xlsx") == ["accepted"] * 2 + ["not sent"] * 4
    assert len(sb.state.score_requests) == 1  # nothing more was sent, not even to get a 429
    reasons = {r["TitanX Reason"] for r in sheet_rows(tmp_path / "c.scored.xlsx", "Results")[2:]}
    assert len(reasons) == 1 and reasons.pop().startswith("not sent: TitanX's daily request")


def test_a_429_saying_the_quota_resets_in_20_hours_stops_at_the_first_batch(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(rate_per_day=0, day_reset_in=72_000)
    src = write_contacts(tmp_path / "c.csv", 4)
    run = score(sb, src, environ, "--batch-size", "2", "--workers", "2")
    assert run.code == ExitCode.FAILED, run.err
    assert _DAILY.search(run.out), run.out
    assert statuses(tmp_path / "c.scored.xlsx") == ["not sent"] * 4
    assert sb.state.jobs == []
    assert len(sb.state.score_requests) <= 2  # one per worker at most, then the run stopped


def test_a_long_wait_is_refused_by_the_client_with_its_local_end_time(fake_clock: Any) -> None:
    from csvscore.api.waits import local_time, too_long

    error = too_long(72_000, fake_clock(), "day")
    assert isinstance(error, RateLimited) and error.until == fake_clock() + 72_000
    assert local_time(fake_clock() + 72_000, fake_clock()) in str(error)
    assert "in 20 h" in str(error)


# -- a wrong address -------------------------------------------------------------------------


def test_a_404_page_stops_after_the_first_batch_naming_the_url_and_the_shape(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(unknown_path_answer="html404")
    src = write_contacts(tmp_path / "c.csv", 6)
    base = sb.origin + "/api/v2"  # a mistyped address
    run = score(sb, src, environ, "--batch-size", "2", "--workers", "1", base=base)
    assert run.code == ExitCode.FAILED, run.err
    said = (
        f"Why: There is no TitanX API at {base}/contacts/score (HTTP 404): the API "
        "address should look like https://<host>/api/public/v2"
    )
    assert said in run.out  # on the terminal, not only in the workbook
    assert statuses(tmp_path / "c.scored.xlsx") == ["failed"] * 2 + ["not sent"] * 4
    assert len([r for r in sb.state.requests if r.method == "POST"]) == 1


def test_an_html_page_with_200_stops_after_the_first_batch(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    sb = make_sandbox(unknown_path_answer="html200")
    src = write_contacts(tmp_path / "c.csv", 6)
    run = score(sb, src, environ, "--batch-size", "2", "--workers", "1", base=sb.origin)
    assert run.code == ExitCode.UNCONFIRMED, run.err
    assert "something that is not JSON (TitanX)" in run.out
    assert f"is {sb.origin}/contacts/score TitanX's scoring endpoint?" in run.out
    assert "should look like https://<host>/api/public/v2" in run.out
    assert statuses(tmp_path / "c.scored.xlsx") == ["unconfirmed"] * 2 + ["not sent"] * 4
    assert len([r for r in sb.state.requests if r.method == "POST"]) == 1


# -- a server that echoes the key ------------------------------------------------------------


def _written_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, workbooks unzipped part by part."""
    found: dict[str, bytes] = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found[str(path)] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    found[f"{path}!{name}"] = archive.read(name)
    return found


def test_a_key_echoed_in_rejection_reasons_is_in_no_file_and_no_output(
    make_sandbox: MakeSandbox,
    tmp_path: Path,
    environ: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sb = make_sandbox(api_key=SECRET, echo_key_in_rejections=True)
    work = tmp_path / "work"
    work.mkdir()
    # Rows without a valid US phone are sent (--send-invalid) and rejected, the key echoed.
    bad = [["Bo", "Ray", "bo@example.com", "12", "", "CTO", "Web"]] * 2
    src = write_contacts(work / "c.csv", 3, extra=bad)
    runs = [
        score(sb, src, environ, "--send-invalid", "--keep-duplicates", "--debug"),
        score(sb, src, environ, "--send-invalid", "--keep-duplicates", "--format", "csv"),
    ]
    assert any(job.rejected_ids for job in sb.state.jobs), "the rejected rows were sent"
    rows = sheet_rows(work / "c.scored.xlsx", "Results")
    assert "(request authorised with key <hidden>)" in rows[-1]["TitanX Reason"]
    written = _written_bytes(tmp_path)
    assert any(name.endswith(".sqlite") for name in written)  # the journal is among them
    assert any(name.endswith(".csv") and "scored" in name for name in written)
    leaked = [name for name, data in written.items() if SECRET.encode() in data]
    assert leaked == []
    for run in runs:
        assert SECRET not in run.out + run.err
    assert SECRET not in "\n".join(record.getMessage() for record in caplog.records)
    journals = [Path(n) for n in written if "journals" in Path(n).parts and n.endswith(".sqlite")]
    with sqlite3.connect(journals[0]) as db:
        dump = "\n".join(db.iterdump())
    assert SECRET not in dump and "<hidden>" in dump


def test_control_characters_are_neither_sent_nor_written_and_summary_says_so(
    make_sandbox: MakeSandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    from tests.support import summary

    sb = make_sandbox()
    src = tmp_path / "c.csv"
    others = b"".join(b"P%d,Q,415-555-01%02d,ok\n" % (i, 10 + i) for i in range(20))
    src.write_bytes(  # a few stray control characters, not a binary file
        b"First Name,Last Name,Phone,Notes\n"
        b"Ann,Lee,415-555-0134,call\x00 back\n"
        b"Bob,R\x1b[31may,415-555-0135,ok\n" + others
    )
    run = score(sb, src, environ, "--format", "csv")
    assert run.code == ExitCode.OK, run.err
    sent = [c for rec in sb.state.score_requests for c in rec.contacts or []]
    assert [c["lastName"] for c in sent[:2]] == ["Lee", "R[31may"]
    assert sent[0]["unmappedFields"]["Notes"] == "call back"
    assert "\x1b" not in run.out + run.err
    written = (tmp_path / "c.scored.csv").read_bytes()
    assert b"\x00" not in written and b"\x1b" not in written
    run = score(sb, src, environ)  # the workbook too, with the note in Summary
    notes = [v for k, v in summary(tmp_path / "c.scored.xlsx").items() if "Removed" in str(v)]
    assert notes == [
        "Removed 2 control characters (1 NUL, 1 ESC) from lines 2, 3: they are not sent to "
        "TitanX nor written to the result."
    ]


def test_a_batch_that_never_connected_is_not_sent_rather_than_failed(tmp_path: Path) -> None:
    # "failed" means TitanX refused the batch; this one never reached it. Its rows and the
    # rest are 'not sent', and the Jobs detail keeps why.
    import socket

    from csvscore import results as rs
    from csvscore.pipeline import ScoreRequest, map_file, prepare
    from csvscore.scoring.journal import Journal
    from csvscore.scoring.submit import ScoreOptions, submit

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/public/v2"
    env = {"CSVSCORE_STATE_DIR": str(tmp_path / "state"), "CSVSCORE_KEYRING": "0"}
    mapped = map_file(write_contacts(tmp_path / "c.csv", 4), env=env)
    prepared = prepare(mapped, ScoreRequest(base_url=closed), env=dict(env, TITANX_API_KEY="k"))
    client = TitanXClient("k", closed, max_retries=0)
    with Journal(tmp_path / "j.sqlite") as journal:
        result = submit(
            mapped.table,
            mapped.mapping,
            prepared.rows,
            fingerprint=prepared.fingerprint,
            client=client,
            journal=journal,
            options=ScoreOptions(workers=1, batch_size=2),
        )
    client.close()
    assert [r.status for r in result.rows] == [rs.NOT_SENT] * 4
    assert {r.reason for r in result.rows} == {"not sent: TitanX could not be reached"}
    assert result.summary.stop_exit_code == ExitCode.NETWORK
    first = result.batches[0]
    assert first.outcome == "not sent" and "Could not connect to TitanX" in first.message
