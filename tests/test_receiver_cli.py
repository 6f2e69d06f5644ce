"""The `csvscore receiver ...` commands: what an admin and an ops person see."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from csvscore.receiver.database import open_store
from csvscore.user.receiver import load_link
from tests.receiver_support import (
    SECRET,
    RunningReceiver,
    deliver,
    envelope,
    make_receiver,
    scored_payload,
)
from tests.support import run_cli


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'receiver.db'}"


def _fill(tmp_path: Path) -> None:
    r = make_receiver(_db(tmp_path), tmp_path / "secrets.json")
    with RunningReceiver(r) as rr:
        body = envelope(scored_payload("k1"), "e1", int(time.time() * 1000))
        deliver(rr.url, body)
        deliver(rr.url, body)
        deliver(rr.url, body, secret="whsec_wrong")
    r.store.close()


def test_status_json_has_the_counts(tmp_path: Path, env: dict[str, str]) -> None:
    _fill(tmp_path)
    run = run_cli(["receiver", "status", "--db", _db(tmp_path), "--json"], env)
    data = json.loads(run.out)
    assert run.code == 0
    assert (data["deliveries"], data["duplicates"], data["quarantined"]) == (1, 1, 1)
    assert data["last_delivery"].endswith("Z") and data["jobs_completed"] == 0


def test_status_text_fits_80_columns_and_says_what_to_do(
    tmp_path: Path, env: dict[str, str]
) -> None:
    _fill(tmp_path)
    run = run_cli(["receiver", "status", "--db", _db(tmp_path)], env)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].startswith("Receiver ") and lines[0].endswith("receiver.db")
    assert all(len(line) <= 80 for line in lines[1:]), run.out  # the path is as long as it is
    assert "Deliveries stored  1 (applied 1)" in run.out
    assert "Quarantined        1" in run.out and "receiver reverify" in run.out
    assert SECRET not in run.out


def test_token_add_prints_it_once_and_stores_only_its_hash(
    tmp_path: Path, env: dict[str, str]
) -> None:
    run = run_cli(["receiver", "token", "add", "ann", "--db", _db(tmp_path)], env)
    token = run.out.strip()
    assert run.code == 0 and token.startswith("csr_")
    store = open_store(_db(tmp_path))
    assert store.token_owner(token) == "ann"
    store.close()
    listed = run_cli(["receiver", "token", "list", "--db", _db(tmp_path)], env)
    assert "ann" in listed.out and token not in listed.out
    again = run_cli(["receiver", "token", "add", "ann", "--db", _db(tmp_path)], env)
    assert again.code == 2 and "revoke it first" in again.err
    assert run_cli(["receiver", "token", "revoke", "ann", "--db", _db(tmp_path)], env).code == 0


def test_connect_checks_the_token_then_stores_it_privately(
    tmp_path: Path, env: dict[str, str]
) -> None:
    r = make_receiver(_db(tmp_path), tmp_path / "secrets.json")
    r.store.add_token("ann", "csr_anns-token")
    with RunningReceiver(r) as rr:
        refused = run_cli(["receiver", "connect", rr.url, "--token-stdin"], env, "csr_bad\n")
        assert refused.code == 12 and load_link(env) is None
        ok = run_cli(["receiver", "connect", rr.url, "--token-stdin"], env, "csr_anns-token\n")
        assert ok.code == 0 and "csr_anns-token" not in ok.out + ok.err
        link = load_link(env)
        assert link is not None and (link.url, link.token) == (rr.url, "csr_anns-token")
        path = Path(env["CSVSCORE_CONFIG_DIR"]) / "receiver.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        remote = run_cli(["receiver", "status", "--json"], env)  # through the read API
        assert remote.code == 0 and json.loads(remote.out)["deliveries"] == 0
    r.store.close()
    down = run_cli(["receiver", "status"], env)
    assert down.code == 12 and "could not be reached" in down.err


def test_connect_refuses_plain_http_to_another_host(env: dict[str, str]) -> None:
    run = run_cli(["receiver", "connect", "http://scores.example.com", "--token-stdin"], env, "x\n")
    assert run.code == 2 and "https://" in run.err


def test_reverify_and_purge_commands(tmp_path: Path, env: dict[str, str]) -> None:
    _fill(tmp_path)
    secrets = tmp_path / "secrets.json"
    run = run_cli(["receiver", "reverify", "--db", _db(tmp_path), "--secrets", secrets], env)
    assert run.code == 0 and "0 deliveries now verify" in run.out and "1 still do not" in run.out
    erase = run_cli(["receiver", "purge", "--db", _db(tmp_path), "--contact", "k1"], env)
    assert erase.code == 0 and "1 result(s)" in erase.out
    purge = run_cli(["receiver", "purge", "--db", _db(tmp_path), "--quarantine-days", "0"], env)
    assert purge.code == 0 and "1 quarantined bodies" in purge.out


def test_serve_refuses_a_public_bind_without_secret_and_token(
    tmp_path: Path, env: dict[str, str]
) -> None:
    run = run_cli(
        ["receiver", "serve", "--db", _db(tmp_path), "--secrets", tmp_path / "none.json",
         "--host", "0.0.0.0", "--port", "0"],
        env,
    )  # fmt: skip
    assert run.code == 2 and "refusing to listen on 0.0.0.0" in run.err


def test_secret_add_list_remove_never_show_the_secret(tmp_path: Path, env: dict[str, str]) -> None:
    secrets = tmp_path / "s.json"
    add = run_cli(
        ["receiver", "secret", "add", "--endpoint", "bob", "--stdin", "--secrets", secrets],
        env,
        "whsec_bobs-secret\n",
    )
    listed = run_cli(["receiver", "secret", "list", "--secrets", secrets], env)
    assert add.code == 0 and listed.code == 0 and "bob" in listed.out
    assert "whsec_bobs-secret" not in add.out + listed.out
    fingerprint = listed.out.split()[1]
    gone = run_cli(
        ["receiver", "secret", "remove", "bob", fingerprint[:6], "--secrets", secrets], env
    )
    assert gone.code == 0 and "whsec_bobs-secret" not in secrets.read_text()


def test_the_ops_install_never_loads_the_receiver_stack() -> None:
    """starlette, uvicorn, psycopg and anyio load only when the receiver runs."""
    import subprocess
    import sys

    code = (
        "import sys, csvscore, csvscore.cli.app\n"
        "from csvscore.api.webhooks import verify\n"
        "from csvscore.scores.match import match_scores\n"
        "from csvscore.receiver.secretfile import SecretFile\n"
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert "csvscore" in out
    assert not {"starlette", "uvicorn", "psycopg", "anyio", "requests"} & set(out)
