"""The library and the CLI agree: the same file gives the same answer through `import csvscore`
and through `csvscore score`, on every rule that decides what is sent or what it costs."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import csvscore
from csvscore.sandbox.server import Sandbox
from tests.support import contact_row, run_cli, write_contacts
from tests.test_review_pty import write_no_last_name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    target.write_bytes((FIXTURES / name).read_bytes())
    return target


def test_a_missing_required_field_stops_the_library_as_it_stops_the_cli(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_no_last_name(tmp_path / "n.csv")
    with pytest.raises(csvscore.MappingError) as caught:
        csvscore.score_file(path, csvscore.ScoreRequest(sandbox=True), env=env)
    run = run_cli(["score", path, "--sandbox", "--yes"], env)
    assert run.code == caught.value.exit_code == csvscore.ExitCode.BAD_INPUT
    assert run.err.strip() == f"Error: {caught.value.message}"
    assert "No column maps to lastName" in caught.value.message
    assert list(tmp_path.glob("*.scored.*")) == []  # neither wrote a workbook of skipped rows


def test_the_dry_run_estimate_is_the_same_from_the_library_and_the_cli(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = _copy("hubspot.csv", tmp_path)
    request = csvscore.ScoreRequest(sandbox=True, options=csvscore.ScoreOptions(dry_run=True))
    outcome = csvscore.score_file(path, request, env=env)
    run = run_cli(["score", path, "--sandbox", "--dry-run", "--json"], env)
    cli = json.loads(run.out)
    summary = outcome.result.summary
    assert summary.estimated_credits is not None and summary.estimated_credits > 0
    assert Decimal(cli["estimated_credits"]) == summary.estimated_credits
    assert cli["estimated_phones"] == summary.estimated_phones
    assert cli["ready"] == summary.ready


def test_the_send_plan_is_computed_once_and_agrees_with_the_dry_run(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_contacts(tmp_path / "c.csv", 5, extra=[contact_row(0)])  # one duplicate
    request = csvscore.ScoreRequest(sandbox=True, options=csvscore.ScoreOptions(dry_run=True))
    mapped = csvscore.map_file(path, env=env)
    prepared = csvscore.prepare(mapped, request, env=env)
    outcome = csvscore.score_prepared(mapped, prepared, request, env=env)
    plan, summary = prepared.plan, outcome.result.summary
    assert plan.to_send == summary.ready == 5
    assert plan.phones == summary.estimated_phones
    assert plan.estimated_credits == summary.estimated_credits
    assert plan.duplicates == summary.duplicates == 1


@pytest.mark.parametrize(("fault", "code"), [("", 0), ("400:bad batch", 6), ("402:empty", 4)])
def test_the_exit_code_of_a_run_is_the_same_from_the_library_and_the_cli(
    tmp_path: Path, make_sandbox: Callable[..., Sandbox], fault: str, code: int
) -> None:
    path = write_contacts(tmp_path / "c.csv", 3)
    codes = []
    for who in ("library", "cli"):
        sb = make_sandbox(faults=[fault] if fault else [])
        env = {
            "CSVSCORE_STATE_DIR": str(tmp_path / who / "state"),
            "CSVSCORE_CONFIG_DIR": str(tmp_path / who / "config"),
            "CSVSCORE_KEYRING": "0",
            "TITANX_API_KEY": sb.api_key,
        }
        out = tmp_path / f"{who}.xlsx"
        if who == "library":
            request = csvscore.ScoreRequest(base_url=sb.url, output=out)
            outcome = csvscore.score_file(path, request, env=env)
            codes.append(int(csvscore.exit_code_for(outcome.result)))
        else:
            run = run_cli(["score", path, "--base-url", sb.url, "--yes", "-o", out], env)
            codes.append(run.code)
    assert codes == [code, code]
