"""The command line as a whole: `csvscore.cli.main(argv, Env)` with text streams, real files,
and the sandbox on 127.0.0.1 for the commands that talk to TitanX.

Interactive review through a real terminal is in tests/test_review_pty.py.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from csvscore._version import __version__
from csvscore.cli.app import build_parser, main
from csvscore.cli.env import Env
from csvscore.errors import ExitCode
from csvscore.fields import ALL_FIELDS
from csvscore.mapping.overrides import dump_mapping_yaml
from csvscore.pipeline import map_file
from csvscore.sandbox.server import Sandbox
from csvscore.user import remembered
from tests.support import Run, run_cli, write_contacts

MakeSandbox = Callable[..., Sandbox]
READER = Path(__file__).parent.parent / "fixtures" / "reader"
SECRET = "tx-SECRET-0123456789abcdef"  # a key that must never be printed


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    """First Name, Last Name, Email, Phone Number, Mobile Phone, Job Title, Lead Source."""
    return write_contacts(tmp_path / "contacts.csv", 3)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def assert_one_error_line(r: Run, code: int = ExitCode.BAD_INPUT) -> str:
    """Exactly one line on stderr, starting with Error:, no traceback, the given exit code."""
    assert r.code == code, (r.out, r.err)
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in r.err + r.out
    return lines[0]


# -- version, fields, help ----------------------------------------------------------------------


def test_python_dash_m_csvscore_prints_the_version() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "csvscore", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0
    assert r.stdout == f"csvscore {__version__}\n"


@pytest.mark.parametrize("argv", [["--version"], ["map", "--help"]])
def test_version_and_help_go_to_the_given_stdout_and_return_0(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdin=io.StringIO(), stdout=out, stderr=err, environ={})
    assert main(argv, env) == 0
    assert out.getvalue().startswith(
        f"csvscore {__version__}" if argv == ["--version"] else "usage: csvscore map"
    )


def test_fields_prints_exactly_the_57_fields(environ: dict[str, str]) -> None:
    r = run_cli(["fields"], environ)
    assert r.code == ExitCode.OK and r.err == ""
    lines = r.out.splitlines()
    assert len(lines) == 57
    assert [line.split()[0] for line in lines] == [f.name for f in ALL_FIELDS]
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # each has a description


def _parsers(
    parser: argparse.ArgumentParser, path: str = "csvscore"
) -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action | None]]:
    """Every (command path, parser, the sub-command's help entry) in the tree."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            entries = {a.dest: a for a in action._choices_actions}
            for name, sub in action.choices.items():
                for item in _parsers(sub, f"{path} {name}"):
                    yield item if item[0] != f"{path} {name}" else (item[0], sub, entries[name])


def test_the_parser_tree_has_every_command() -> None:
    paths = {path for path, _, _ in _parsers(build_parser())}
    assert paths >= {
        "csvscore",
        "csvscore fields",
        "csvscore map",
        "csvscore score",
        "csvscore drop",
        "csvscore login",
        "csvscore logout",
        "csvscore account",
        "csvscore mappings",
        "csvscore mappings list",
        "csvscore mappings show",
        "csvscore mappings forget",
        "csvscore install-shortcut",
    }


def test_every_command_has_help_text() -> None:
    for path, _, entry in _parsers(build_parser()):
        if entry is not None:
            assert entry.help and entry.help != argparse.SUPPRESS, f"{path} has no help"


def test_every_option_and_argument_has_help_text() -> None:
    missing = [
        f"{path}: {'/'.join(action.option_strings) or action.dest}"
        for path, parser, _ in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert missing == []


def test_help_of_each_command_renders(capsys: pytest.CaptureFixture[str]) -> None:
    for path, parser, _ in _parsers(build_parser()):
        text = parser.format_help()
        assert text.startswith(f"usage: {path}"), path
    assert capsys.readouterr().out == ""


# -- map ------------------------------------------------------------------------------------------


def test_map_prints_a_table_with_numbers_headers_and_arrows(
    contacts: Path, environ: dict[str, str]
) -> None:
    r = run_cli(["map", contacts], environ)
    assert r.code == ExitCode.OK, r.err
    assert "contacts.csv: 3 rows, 7 columns" in r.out
    rows = {line.split()[0]: line for line in r.out.splitlines() if line[:3].strip().isdigit()}
    assert sorted(rows, key=int) == [str(n) for n in range(1, 8)]
    assert "First Name" in rows["1"] and "→ firstName" in rows["1"]
    assert "Lead Source" in rows["7"] and "→ (unmappedFields)" in rows["7"]
    assert "Required fields: all mapped" in r.out
    assert "\x1b[" not in r.out  # not a terminal: no colour codes


def test_map_json_is_one_object_with_the_documented_keys(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    src = write_csv(
        tmp_path / "people.csv",
        [
            ["Full Name", "Phone", "Company", "Favourite Colour"],
            ["Ann Lee", "(415) 555-0134", "Acme", "green"],
        ],
    )
    r = run_cli(["map", src, "--json"], environ)
    assert r.code == ExitCode.OK, r.err
    obj, end = json.JSONDecoder().raw_decode(r.out)
    assert r.out[end:].strip() == ""  # exactly one object and nothing else
    assert {
        "file",
        "sheet",
        "header_row",
        "encoding",
        "delimiter",
        "columns",
        "unmapped",
        "missing_required",
    } <= obj.keys()
    assert obj["file"] == str(src) and obj["header_row"] == 1 and obj["delimiter"] == ","
    assert obj["sheet"] is None and obj["encoding"] == "utf-8"
    assert [c["index"] for c in obj["columns"]] == [0, 1, 2, 3]
    for c in obj["columns"]:
        assert {"index", "header", "field", "confidence", "method", "sample"} <= c.keys()
        assert 0 <= c["confidence"] <= 1
    full = obj["columns"][0]
    assert (full["header"], full["field"], full["sample"]) == ("Full Name", "fullName", "Ann Lee")
    assert obj["unmapped"] == ["Favourite Colour"]
    assert obj["missing_required"] == []


def test_map_json_names_missing_required_fields(tmp_path: Path, environ: dict[str, str]) -> None:
    src = write_csv(tmp_path / "x.csv", [["First Name", "Email"], ["Ann", "a@example.com"]])
    r = run_cli(["map", src, "--json"], environ)
    assert r.code == ExitCode.OK
    assert json.loads(r.out)["missing_required"] == ["lastName", "phone"]


def test_save_then_mapping_round_trip(
    contacts: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    saved = tmp_path / "my.yaml"
    r = run_cli(["map", contacts, "--save", saved], environ)
    assert r.code == ExitCode.OK, r.err
    assert f"Saved the mapping to {saved}" in r.err
    before = json.loads(run_cli(["map", contacts, "--json"], environ).out)
    # Unchanged, the saved file gives the same fields, now pinned.
    same = json.loads(run_cli(["map", contacts, "--mapping", saved, "--json"], environ).out)
    assert [c["field"] for c in same["columns"]] == [c["field"] for c in before["columns"]]
    # Edited as the README says (change `field`), it moves Lead Source and unmaps Job Title.
    doc = yaml.safe_load(saved.read_text(encoding="utf-8"))
    for entry in doc["columns"]:
        if entry["header"] == "Lead Source":
            entry["field"] = "campaignListName"
        if entry["header"] == "Job Title":
            entry["field"] = None
    saved.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = run_cli(["map", contacts, "--mapping", saved, "--json"], environ)
    assert r.code == ExitCode.OK, r.err
    cols = {c["header"]: c for c in json.loads(r.out)["columns"]}
    assert (cols["Lead Source"]["field"], cols["Lead Source"]["method"]) == (
        "campaignListName",
        "override",
    )
    assert cols["Job Title"]["field"] is None
    assert json.loads(r.out)["unmapped"] == ["Job Title"]


# -- one line for every bad input -----------------------------------------------------------


@pytest.fixture
def bad_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("columns: [\n  - {column: 1, field: firstName\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["map", "{tmp}/nope.csv"], "file not found"),
        (["map", "{tmp}"], "is a folder"),
        (["map", "{tmp}/empty.csv"], "empty"),
        (["map", f"{READER}/random_bytes.csv"], "binary data"),
        (["map", "{contacts}", "--bogus"], "unrecognized arguments: --bogus"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "'frobnicate' is not a command; the commands are fields, map"),
        (["map", "{contacts}", "--threshold", "5"], "--threshold must be between 0 and 1"),
        (["map", "{contacts}", "--threshold", "abc"], "invalid float value: 'abc'"),
        (["map", "{contacts}", "--mapping", "{tmp}/bad.yaml"], "not valid YAML"),
        (["map", "{contacts}", "--mapping", "{tmp}/missing.yaml"], "mapping file not found"),
        (["map", f"{READER}/multi_sheet.xlsx", "--sheet", "Nope"], "no sheet named 'Nope'"),
        (["map", "{contacts}", "--profile", "nope"], "unknown profile 'nope'"),
        (["map", "{contacts}", "--encoding", "nope"], "unknown encoding"),
        (["score", "{contacts}", "--sandbox", "--base-url", "http://127.0.0.1:9"], "together"),
        (["score", "{contacts}", "--sandbox", "--yes", "--batch-size", "5000"], "--batch-size"),
        (["mappings", "show", "zzz"], "zzz"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_code_2(
    argv: list[str],
    says: str,
    tmp_path: Path,
    contacts: Path,
    bad_yaml: Path,
    environ: dict[str, str],
) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    args = [a.format(tmp=tmp_path, contacts=contacts) for a in argv]
    line = assert_one_error_line(run_cli(args, environ))
    assert says in line
    assert not list(tmp_path.glob("*.scored.*"))


def test_debug_before_the_command_shows_a_traceback(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    r = run_cli(["--debug", "map", tmp_path / "nope.csv"], environ)
    assert r.code == ExitCode.BAD_INPUT
    assert "Traceback (most recent call last)" in r.err
    assert r.err.splitlines()[-1].startswith("Error: ") and "file not found" in r.err


def test_debug_after_the_command_shows_a_traceback(tmp_path: Path, environ: dict[str, str]) -> None:
    r = run_cli(["map", tmp_path / "nope.csv", "--debug"], environ)
    assert "Traceback (most recent call last)" in r.err
    assert "file not found" in r.err


# -- remembered mappings --------------------------------------------------------------------


def remember_for(path: Path, environ: dict[str, str], **changes: str | None) -> Path:
    """Store a remembered mapping for ``path``'s headers, with some columns changed."""
    mapped = map_file(path, env=environ)
    for c in mapped.mapping.columns:
        if c.header in changes:
            c.field = changes[c.header]
    text = dump_mapping_yaml(mapped.mapping)
    return remembered.remember(mapped.signature, text, source_file=path.name, env=environ)


def test_mappings_list_show_and_forget(contacts: Path, environ: dict[str, str]) -> None:
    r = run_cli(["mappings", "list"], environ)
    assert (r.code, r.out) == (ExitCode.OK, "No remembered mappings yet.\n")
    saved = remember_for(contacts, environ, **{"Lead Source": "campaignListName"})
    signature = saved.stem

    r = run_cli(["mappings", "list"], environ)
    assert r.code == ExitCode.OK, r.err
    [line] = r.out.splitlines()
    assert line.startswith(signature[:12]) and "7 columns" in line and "contacts.csv" in line

    r = run_cli(["mappings", "show", signature[:6]], environ)
    assert r.code == ExitCode.OK, r.err
    assert r.out.strip() == saved.read_text(encoding="utf-8").strip()
    assert "campaignListName" in r.out

    r = run_cli(["mappings", "forget", signature[:6]], environ)
    assert r.code == ExitCode.OK, r.err
    assert saved.name in r.out and not saved.exists()
    assert run_cli(["mappings", "list"], environ).out == "No remembered mappings yet.\n"
    assert "zzz" in assert_one_error_line(run_cli(["mappings", "forget", "zzz"], environ))


def test_a_remembered_mapping_is_used_and_said_unless_no_remembered(
    contacts: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    saved = remember_for(contacts, environ, **{"Lead Source": "campaignListName"})
    other = write_contacts(tmp_path / "other.csv", 5)  # same headers, other rows
    obj = json.loads(run_cli(["map", other, "--json"], environ).out)
    cols = {c["header"]: c for c in obj["columns"]}
    assert cols["Lead Source"]["field"] == "campaignListName"
    assert {c["method"] for c in obj["columns"]} == {"remembered"}
    assert f"Used the mapping remembered for these headers: {saved}" in obj["notes"]

    obj = json.loads(run_cli(["map", other, "--json", "--no-remembered"], environ).out)
    assert {c["header"]: c["field"] for c in obj["columns"]}["Lead Source"] is None
    assert "remembered" not in {c["method"] for c in obj["columns"]}


def test_mappings_list_shows_an_unreadable_remembered_file(
    contacts: Path, environ: dict[str, str]
) -> None:
    saved = remember_for(contacts, environ)
    saved.write_text("columns: [\n", encoding="utf-8")  # broken by hand
    r = run_cli(["mappings", "list"], environ)
    assert r.code == ExitCode.OK, r.err
    assert saved.stem[:12] in r.out


# -- login, logout, account against the sandbox ----------------------------------------------


@pytest.fixture
def secret_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(api_key=SECRET)


def credentials(tmp_path: Path) -> Path:
    return tmp_path / "config" / "credentials"


def assert_key_not_shown(*runs: Run) -> None:
    for r in runs:
        assert SECRET not in r.out + r.err
        assert "0123456789abcdef" not in r.out + r.err


def test_login_with_a_refused_key_stores_nothing(
    secret_sandbox: Sandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    wrong = "tx-WRONG-fedcba9876543210"
    r = run_cli(["login", "--key-stdin", "--base-url", secret_sandbox.url], environ, wrong + "\n")
    assert "refused" in assert_one_error_line(r, ExitCode.AUTH)
    assert wrong not in r.out + r.err and "fedcba9876543210" not in r.out + r.err
    assert not credentials(tmp_path).exists()


def test_login_logout_and_account(
    secret_sandbox: Sandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    url = secret_sandbox.url
    login = run_cli(["login", "--key-stdin", "--base-url", url], environ, SECRET + "\n")
    assert login.code == ExitCode.OK, login.err
    assert "checked and stored" in login.out
    stored = credentials(tmp_path)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert SECRET in stored.read_text(encoding="utf-8")

    account = run_cli(["account", "--base-url", url], environ)
    assert account.code == ExitCode.OK, account.err
    assert re.search(r"Credits remaining:\s+1000000", account.out)
    assert "TitanX, live" in account.out
    as_json = run_cli(["account", "--base-url", url, "--json"], environ)
    assert json.loads(as_json.out)["quota"]["creditsRemaining"] == 1000000

    logout = run_cli(["logout"], environ)
    assert logout.code == ExitCode.OK and "Removed the stored key" in logout.out
    assert not stored.exists()
    again = run_cli(["account", "--base-url", url], environ)
    assert "No TitanX API key" in assert_one_error_line(again, ExitCode.AUTH)
    assert_key_not_shown(login, account, as_json, logout, again)


def test_login_with_no_key_on_stdin_is_a_usage_error(environ: dict[str, str]) -> None:
    r = run_cli(["login", "--key-stdin", "--base-url", "http://127.0.0.1:9"], environ, "\n")
    assert "no key entered" in assert_one_error_line(r)


def test_account_with_the_key_in_the_environment_never_prints_it(
    secret_sandbox: Sandbox, environ: dict[str, str]
) -> None:
    r = run_cli(["account", "--base-url", secret_sandbox.url], dict(environ, TITANX_API_KEY=SECRET))
    assert r.code == ExitCode.OK, r.err
    assert "environment variable TITANX_API_KEY" in r.out
    assert_key_not_shown(r)


def test_score_with_a_refused_key_is_exit_3_and_never_prints_the_key(
    secret_sandbox: Sandbox, contacts: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    wrong = "tx-WRONG-fedcba9876543210"
    r = run_cli(
        ["score", contacts, "--base-url", secret_sandbox.url, "--yes"],
        dict(environ, TITANX_API_KEY=wrong),
    )
    assert r.code == ExitCode.AUTH, r.err
    assert "fedcba9876543210" not in r.out + r.err
    assert len(secret_sandbox.state.score_requests) <= 1  # a 401 stops the run at once


# -- charging twice by accident ----------------------------------------------------------------


def test_a_result_workbook_is_not_sent_again(
    contacts: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    out = tmp_path / "contacts.scored.xlsx"
    first = run_cli(["score", contacts, "--sandbox", "--yes", "-o", out], environ)
    assert first.code == ExitCode.OK, first.err
    again = run_cli(["score", out, "--dry-run", "--yes", "--json"], environ)
    # Either refused, or none of the rows TitanX already accepted is ready to go again.
    assert again.code != ExitCode.OK or json.loads(again.out)["ready"] == 0


@pytest.mark.skipif(sys.platform != "linux", reason="installs the Linux launcher on this system")
def test_install_shortcut_says_where_it_put_the_launcher(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    desk = tmp_path / "My Desktop"
    desk.mkdir()
    r = run_cli(["install-shortcut", "--dir", desk], environ)
    assert r.code == ExitCode.OK, r.err
    assert f"Put the shortcut at {desk / 'csvscore-drop.sh'}" in r.out
    assert f"Put the shortcut at {desk / 'csvscore.desktop'}" in r.out
    assert "Drop CSV or Excel files onto it" in r.out
    assert (desk / "csvscore-drop.sh").stat().st_mode & stat.S_IXUSR


def test_account_falls_back_to_the_last_figures_seen_and_says_so(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    from decimal import Decimal

    from csvscore.user import lastseen

    lastseen.record(lastseen.LastSeen(Decimal("123.45"), Decimal("0.05")), env=environ)
    with socket.socket() as s:  # a port nothing listens on: TitanX unreachable
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(environ, TITANX_API_KEY="k-123456")
    r = run_cli(["account", "--base-url", f"http://127.0.0.1:{port}/api/public/v2"], env)
    assert r.code == ExitCode.OK, r.err
    assert "last seen" in r.out and "did not answer" in r.out
    assert re.search(r"Credits remaining:\s+123.45", r.out)


# -- help, typos, completion (issue 10) ---------------------------------------------------------


def test_every_command_has_a_description_examples_and_its_exit_codes() -> None:
    from csvscore.errors import EXIT_CODE_MEANINGS

    for path, parser, _ in _parsers(build_parser()):
        text = parser.format_help()
        assert parser.description, path
        examples = text.split("\nexamples:\n")[1].split("\n\n")[0]
        assert "  csvscore" in examples or '"$(csvscore' in examples, path
        assert "\nexit codes:\n" in text and "    0  " in text, path
        for code in (ExitCode.BAD_INPUT,) if path != "csvscore fields" else ():
            assert f"    2  {EXIT_CODE_MEANINGS[code][:30]}" in text, path
    score = build_parser()._subparsers._group_actions[0].choices["score"].format_help()  # type: ignore[union-attr]
    assert "  130  interrupted (Ctrl-C" in score and "    8  you declined at the review" in score


def test_the_readme_exit_code_table_is_the_one_the_help_uses() -> None:
    from csvscore.errors import EXIT_CODE_MEANINGS

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Exit codes") : readme.index("## API key")]
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE))
    assert rows == {str(int(code)): meaning for code, meaning in EXIT_CODE_MEANINGS.items()}
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


def test_score_help_puts_the_everyday_options_first_and_explains_scoring_types(
    environ: dict[str, str],
) -> None:
    r = run_cli(["score", "--help"], environ)
    assert r.code == 0
    groups = re.findall(r"^(\S[^\n:]*):$", r.out, re.MULTILINE)
    assert groups[:3] == ["positional arguments", "options", "everyday"]
    everyday = r.out.split("\neveryday:\n")[1].split("\n\n")[0]
    for option in ("--dry-run", "--sandbox", "--output", "--open"):
        assert option in everyday
    assert "lightning (the default" in r.out and "titan (" in r.out


def test_help_command_shows_a_commands_help(environ: dict[str, str]) -> None:
    r = run_cli(["help", "score"], environ)
    assert r.code == 0 and r.out == run_cli(["score", "--help"], environ).out
    r = run_cli(["help", "mappings", "forget"], environ)
    assert r.code == 0 and r.out.startswith("usage: csvscore mappings forget")
    line = assert_one_error_line(run_cli(["help", "scor"], environ))
    assert "Did you mean score?" in line


@pytest.mark.parametrize(
    ("argv", "says", "see"),
    [
        (["scor", "x.csv"], "'scor' is not a command. Did you mean score?", "csvscore --help"),
        (
            ["score", "{contacts}", "--sandbx"],
            "--sandbx: no such option. Did you mean --sandbox?",
            "csvscore score --help",
        ),
        (
            ["score", "{contacts}", "--scoring-type", "titen"],
            "--scoring-type: 'titen' is not one of lightning, titan. Did you mean titan?",
            "csvscore score --help",
        ),
        (
            ["mappings", "lst"],
            "'lst' is not a command. Did you mean list?",
            "csvscore mappings --help",
        ),
        (["map", "{contacts}", "--jsn"], "--jsn: no such option. Did you mean --json?", "map"),
    ],
)
def test_typos_get_a_suggestion_and_point_at_the_commands_own_help(
    argv: list[str], says: str, see: str, contacts: Path, environ: dict[str, str]
) -> None:
    line = assert_one_error_line(run_cli([a.format(contacts=contacts) for a in argv], environ))
    assert says in line
    assert f"(see `{see if see != 'map' else 'csvscore map --help'}`)" in line


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_code(shell: str, environ: dict[str, str]) -> None:
    r = run_cli(["completion", shell], environ)
    assert r.code == 0 and "csvscore" in r.out and "_ARGCOMPLETE" in r.out


def test_completion_completes_commands_and_options(tmp_path: Path) -> None:
    """What the shell code does on Tab: run csvscore with the line, read the candidates."""
    out = tmp_path / "candidates"

    def complete(line: str) -> list[str]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("_ARC")},
            "_ARGCOMPLETE": "1",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        }
        subprocess.run(
            [sys.executable, "-m", "csvscore"], env=env, check=False, timeout=60,
            stdin=subprocess.DEVNULL, capture_output=True,
        )  # fmt: skip
        return out.read_text().split()

    assert complete("csvscore sco") == ["score"]
    assert complete("csvscore score x.csv --sandb") == ["--sandbox"]
    assert "lightning" in complete("csvscore score x.csv --scoring-type ")


def test_account_sandbox_shows_the_simulators_figures_and_needs_no_key(
    environ: dict[str, str],
) -> None:
    r = run_cli(["account", "--sandbox"], environ)
    assert r.code == ExitCode.OK, r.err
    assert "the built-in sandbox (free; not your TitanX account)" in r.out
    assert re.search(r"Credits remaining:\s+1000000", r.out)
    r = run_cli(["account", "--sandbox", "--json"], environ)
    assert json.loads(r.out)["quota"]["creditsRemaining"] == 1000000


def test_login_key_stdin_refused_says_so_without_sending_the_user_to_login(
    secret_sandbox: Sandbox, tmp_path: Path, environ: dict[str, str]
) -> None:
    r = run_cli(
        ["login", "--key-stdin", "--base-url", secret_sandbox.url], environ, "tx-wrong-0000\n"
    )
    line = assert_one_error_line(r, ExitCode.AUTH)
    assert line == "Error: TitanX refused the API key (HTTP 401). Nothing was stored."
